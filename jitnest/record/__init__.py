"""Record: the session that journals the user's calls and keeps the real kernel in step.

* ``calls``: the one table of call policies (pass through, applied and recorded, recorded, needs
  the kernel, simulates) and the session's states.
* ``session``: the state machine (live / pending / time passed); ``materialize`` builds the plan
  (``compile``), resets the kernel, installs the modules and replays the journal.
* ``journal``: recorded calls, each with the user's call site, replayable in order.
* ``proxies``: NodeCollection/SynapseCollection proxies (wrapt) that work before the build and
  survive rebuilds; they depend on the session through a small ``Protocol``.
* ``names``: translation between the user's model names and the generated ones, once built.
* ``prebuild``: builds between notebook cells.

May import: ``models``, ``plan``, ``compile``, ``generate``, ``cache`` and the base modules
(``config``, ``errors``, ``files``, ``log``, ``call_site``, ``pynest``). Not ``facade``.
"""
