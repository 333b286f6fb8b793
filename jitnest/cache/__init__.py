"""The cache: content-addressed storage that is complete or absent, built once per key.

* ``store``: ``ModuleCache`` (published modules with manifests), ``ArtifactStore`` (intermediates:
  generated code, precompiled headers), ``cache_root``.
* ``keys``: the hash of everything that changes a cached thing; ``fingerprints``: the contents of
  installed file trees (NESTML, NEST's headers) in a key, cheap on warm runs.
* ``integrity``: nothing foreign is compiled, loaded or trusted (owner and permission checks).
* ``locks``: build locks whose holder says who it is, for those who wait.
* ``maintenance``: listing, clearing and pruning a cache folder (used by ``jitnest cache``).

May import: ``jitnest.config``, ``jitnest.errors``, ``jitnest.files``, ``jitnest.log`` and
third-party libraries (filelock). Never NEST, NESTML or any other jitnest package:
``jitnest cache ...`` and ``import jitnest.cache`` must not start NEST.
"""
