"""Compile: units into published NEST modules.

* ``toolchain``: compiler, CMake, NEST headers (wheel or source-built ``nest-config``), probed once.
* ``nest_build``: how the imported NEST was built: its C++ ABI (from the kernel's symbols), MPI
  and MPI's headers, whether its nest-config can be trusted.
* ``builder``: ``UnitBuilder`` runs a plan's units in parallel: generate (``generate``), write the
  module's sources, configure and compile (``cmake_build``), publish (``cache``); ``BuiltUnit``.
* ``build_sync``: builds shared by several processes (MPI ranks): who builds, how the others
  learn the outcome (``JITNEST_BUILD_SYNC``).
* ``cmake_build``: the runtime CMake project's commands, logs and error extraction.
* ``pch``: the precompiled NEST header, once per toolchain.
* ``progress``: progress bars and log lines of builds.

May import: ``plan`` (and so the model descriptions it holds), ``generate``, ``cache`` and the
base modules (NEST through ``pynest``, for its headers and version). Not ``record`` or ``facade``.
"""
