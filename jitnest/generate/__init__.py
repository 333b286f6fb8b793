"""Generate: NESTML's C++ code for a unit, and jitnest's registration file for the module.

* ``nestml_client``: the one narrow door to NESTML: requests to the worker process (a shared fork
  server, or one process per request, each bounded by ``JITNEST_NESTML_TIMEOUT``), with NESTML's
  log kept for errors.
* ``worker_process``: one worker process per request, with the environment the worker needs.
* ``answers``: a request's answer, or the crash or time-out instead of one.
* ``identity``: what produced NESTML's output (NESTML's and ODE-toolbox's files, the worker), for keys.
* ``codegen``: a unit's generated code, once per key, in the generated-code store.
* ``transform``: guarded, exact rewrites of NESTML's code that make it faster and smaller,
  applied between generation and the module's sources (one module per transformation).
* ``registration``: the module's sources and its registration file (``templates/``), which
  registers exactly the unit's models and only the synapse twins the network names.

Input is plain data (files, pairs, weight/delay variables), so this package knows nothing of
units or plans. May import: ``cache`` and the base modules. Never NEST; never NESTML itself
(only the worker process imports it).
"""
