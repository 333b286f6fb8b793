"""Plan: which modules a recorded network needs (``combinations``).

Input: the NESTML models the recording uses (``models.ModelInfo``), accumulated call by call in
``Requirements``. Output: a ``Plan``, a set of ``Unit``s, each one module to generate and compile
(a neuron with the synapses that read its state, or a model alone), with NESTML's pairing options.
A pure function of what was recorded: equal recordings give equal plans, so equal cache keys.

May import: ``jitnest.models`` (model descriptions), ``jitnest.generate.registration`` (NEST's twin
suffixes) and the base modules. Not NEST.
"""
