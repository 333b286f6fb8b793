"""Generate: NESTML's C++ code for a unit, and jitnest's registration file for the module.

* ``nestml_client``: the one narrow door to NESTML: requests to the worker process (a shared fork
  server, or one process per request, each bounded by ``JITNEST_NESTML_TIMEOUT``), with NESTML's
  log kept for errors.
* ``answers``: a request's answer, or the crash or time-out instead of one.
* ``identity``: what produced NESTML's output (NESTML's and ODE-toolbox's files, the worker), for keys.
* ``codegen``: a unit's generated code, once per key, in the generated-code store.
* ``registration``: the module's sources and its registration file (``templates/``), which
  registers exactly the unit's models and only the synapse twins the network names.

Input is plain data (files, pairs, weight/delay variables), so this package knows nothing of
units or plans. May import: ``cache`` and the base modules. Never NEST; never NESTML itself
(only the worker process imports it).
"""
