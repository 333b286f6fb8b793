# FindNESTHeaders: locate the headers of an installed NEST 3 and how to compile against them.
#
# Inputs (cache variables, all optional):
#   NEST_CONFIG          path to nest-config of a source-built NEST
#   NEST_PYTHON_PACKAGE  directory of the imported `nest` Python package (pip wheel layout)
# Results:
#   NESTHeaders_FOUND, NEST_INCLUDE_DIRS, NEST_COMPILE_DEFINITIONS, NEST_HEADERS_ORIGIN
#
# A source-built NEST has a trustworthy nest-config. The pip wheel's nest-config prints the
# wheel's build-time temp paths, so for the wheel the headers are taken from the package
# (<site-packages>/nest/include/nest), and the wheel was built with the old libstdc++ ABI:
# modules must be compiled with _GLIBCXX_USE_CXX11_ABI=0 or their symbols do not resolve.

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
    set(NEST_COMPILE_DEFINITIONS "_GLIBCXX_USE_CXX11_ABI=0")
    set(NEST_HEADERS_ORIGIN "python-wheel")
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NESTHeaders REQUIRED_VARS NEST_INCLUDE_DIRS NEST_HEADERS_ORIGIN)
