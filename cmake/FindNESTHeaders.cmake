# FindNESTHeaders: locate the headers of an installed NEST 3 and how to compile against them.
#
# Inputs (cache variables, all optional):
#   NEST_CONFIG            path to nest-config of a CMake-installed NEST
#   NEST_PYTHON_PACKAGE    directory of the imported `nest` Python package (pip layout)
#   NEST_CXX11_ABI         ON/OFF: the libstdc++ ABI NEST was compiled with (jitnest reads it from
#                          the kernel library's symbols); unset: OFF for headers inside the package
#                          (the PyPI wheel), the compiler's default for nest-config
#   NEST_MPI_INCLUDE_DIRS  MPI's include folders, for a NEST built with MPI (its headers include <mpi.h>)
# Results:
#   NESTHeaders_FOUND, NEST_INCLUDE_DIRS (MPI's folders included), NEST_COMPILE_DEFINITIONS,
#   NEST_HEADERS_ORIGIN
#
# A CMake-installed NEST has a trustworthy nest-config. The pip wheel's nest-config (and that of a
# NEST pip-built from its sdist) prints build-time temp paths, so for these the headers are taken
# from the package (<site-packages>/nest/include/nest). The PyPI wheel was built with the old
# libstdc++ ABI, a NEST built from source with the new one: a module of the other ABI does not load
# (NEST reports it as "file not found"), so the ABI comes from NEST_CXX11_ABI, not from the layout.

set(NEST_INCLUDE_DIRS "")
set(NEST_COMPILE_DEFINITIONS "")
set(NEST_HEADERS_ORIGIN "")

if(NEST_CONFIG AND EXISTS "${NEST_CONFIG}")
  execute_process(COMMAND "${NEST_CONFIG}" --includes
                  OUTPUT_VARIABLE _nest_includes OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _nest_rc ERROR_QUIET)
  if(_nest_rc EQUAL 0)
    separate_arguments(_nest_include_flags UNIX_COMMAND "${_nest_includes}")
    foreach(_flag IN LISTS _nest_include_flags)
      string(REGEX REPLACE "^-I" "" _dir "${_flag}")
      if(IS_DIRECTORY "${_dir}" AND EXISTS "${_dir}/nest_extension_interface.h")
        list(APPEND NEST_INCLUDE_DIRS "${_dir}")
      endif()
    endforeach()
  endif()
  if(NEST_INCLUDE_DIRS)
    set(NEST_HEADERS_ORIGIN "nest-config")
  endif()
endif()

if(NOT NEST_INCLUDE_DIRS AND NEST_PYTHON_PACKAGE)
  set(_wheel_include "${NEST_PYTHON_PACKAGE}/include/nest")
  if(EXISTS "${_wheel_include}/nest_extension_interface.h")
    set(NEST_INCLUDE_DIRS "${_wheel_include}")
    set(NEST_HEADERS_ORIGIN "python-package")
  endif()
endif()

if(DEFINED NEST_CXX11_ABI)
  if(NEST_CXX11_ABI)
    set(NEST_COMPILE_DEFINITIONS "_GLIBCXX_USE_CXX11_ABI=1")
  else()
    set(NEST_COMPILE_DEFINITIONS "_GLIBCXX_USE_CXX11_ABI=0")
  endif()
elseif(NEST_HEADERS_ORIGIN STREQUAL "python-package")
  set(NEST_COMPILE_DEFINITIONS "_GLIBCXX_USE_CXX11_ABI=0")
endif()

if(NEST_INCLUDE_DIRS AND NEST_MPI_INCLUDE_DIRS)
  list(APPEND NEST_INCLUDE_DIRS ${NEST_MPI_INCLUDE_DIRS})
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NESTHeaders REQUIRED_VARS NEST_INCLUDE_DIRS NEST_HEADERS_ORIGIN)
