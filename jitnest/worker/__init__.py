"""Out-of-process NESTML front end for jitnest: one JSON request in, one JSON response out.

This package is the only code of jitnest that imports ``pynestml``. NESTML keeps global state
(``FrontendConfiguration``, ``Logger``, symbol tables, predefined units), so every request runs in a
process on which NESTML never ran before: a fresh one, or a child forked from the fork server
(:mod:`.server`)::

    python -m jitnest.worker  < request.json  > response.json
    python -m jitnest.worker --serve SOCKET [--idle SECONDS] [--detached]

The requests, the responses and the process contract are described in :mod:`.protocol`.

Package contract
----------------
* Imports: the standard library, pynestml and what NESTML itself is made of (odetoolbox, sympy,
  jinja2, and antlr4, the runtime of NESTML's parser, which :mod:`.patches` hooks into), and of
  jitnest only ``jitnest.config`` (its settings; standard library and platformdirs). Never PyNEST
  (``nest``); inside the package, relative imports only. At module level the modules import only
  the standard library, ``jitnest.config`` and each other: NESTML and its dependencies are
  imported inside functions, so importing a module of the package is cheap and prints nothing.
  (``python -m jitnest.worker`` also imports ``jitnest/__init__.py`` first, which must
  therefore neither import NEST nor print on stdout.)
* NESTML's global state stays inside these processes: a process runs NESTML for one request only
  (the fork server imports NESTML but never runs it), and nothing of NESTML's state or objects
  leaves a process except as JSON.
* This package (``__init__``) imports nothing, so importing one module (e.g. :mod:`.patches`)
  loads only what that module imports.

Modules
-------
``__main__``     the command line (one request, or ``--serve``)
``protocol``     process contract on stdin/stdout, request dispatch
``messages``     error entries and responses, ``RequestError``, reading request fields
``server``       the fork server
``patches``      changes made to NESTML, ANTLR and Jinja2 in the worker process
``validation``   NESTML configuration, parsing, validation (CoCos), collection of NESTML's errors
``describe``     op ``parse``: the description of each model (neurons and synapses)
``defaults``     default values of parameters, state variables and internals in NEST units
``evaluator``    evaluation of NESTML expressions with C++ semantics (used by ``defaults``)
``recordables``  state variables added for kernels; what a multimeter can record
``names``        names NEST uses for NESTML models and variables
``generation``   op ``generate``: request options, then the pipeline
``pipeline``     NESTML's code generation after validation, with the synapses in a forked child
``output``       what a generation leaves in the target directory: log, timestamps, model list
"""
