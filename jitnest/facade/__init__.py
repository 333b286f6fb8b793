"""The ``nest`` namespace: PyNEST's functions and attributes as jitnest offers them.

* ``module``: the module type of ``jitnest`` and of the import hook's stand-in (attribute lookup:
  jitnest's own functions, kernel attributes forwarded to the kernel, then PyNEST's objects
  wrapped according to their call policy, see ``record.calls``).
* ``functions``: network building (Create, Connect, models, parameters, GetConnections).
* ``kernel``: simulation, kernel status and attributes, ``needs_kernel`` for any other function.
* ``collections``: ``nest.NodeCollection(ids)`` as a proxy; PyNEST methods that must accept proxies.

Contract: with built-in models only, every function returns what PyNEST returns and raises what
PyNEST raises, apart from NodeCollections and SynapseCollections being proxies (``isinstance``
still holds). May import every jitnest package; nothing but ``hooks`` and the package root
imports it.
"""
