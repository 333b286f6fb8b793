"""Models: what a model name the user wrote means, before anything is built.

* ``model_path``: where NESTML models come from (API additions, ``JITNEST_MODEL_PATH``, NESTML's
  library) and the ``X_nestml`` naming rule.
* ``model_info``: a parsed model's description (ports, variables, defaults, recordables), parsed
  by the NESTML worker once per file content and cached on disk.
* ``naming``: resolution of names (built-in, NESTML, CopyModel alias, ``_hpc``/``_lbl`` twin).
* ``parameters``: defaults and per-node values of unbuilt NESTML nodes (the C++ parameter store).
* ``node_ids``: node IDs as runs of (first ID, size, model): what ``Create`` returns knows its IDs.

May import: ``generate`` (the NESTML client, to parse), ``cache``, the base modules and the
C++ store ``jitnest._core``. Not ``record``, ``plan``, ``compile`` or ``facade``.
"""
