"""pytest plugin (``-p jitnest_import_hook``): ``import nest`` means jitnest in this test process.

Loaded by ``-p`` before any conftest, so NEST's own conftest.py and every test module that runs
``import nest`` get the import hook's stand-in instead of PyNEST.
"""

from __future__ import annotations

import sys

import jitnest.hooks

jitnest.hooks.install()


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001 -- pytest hook signature
    # A test that put PyNEST back would make the rest of the file run without jitnest: say so.
    if not jitnest.hooks.is_installed():
        sys.stderr.write("jitnest_import_hook: sys.modules['nest'] is no longer jitnest's stand-in\n")


def pytest_collection_modifyitems(session, config, items):  # noqa: ARG001 -- pytest hook signature
    # Every test module that imported nest must hold the stand-in, or this run would test PyNEST.
    standin = jitnest.hooks.standin()
    for item in items:
        module = getattr(item, "module", None)
        nest = getattr(module, "nest", standin)
        if isinstance(nest, type(sys)) and nest.__name__ == "nest" and nest is not standin:
            raise RuntimeError(f"{module.__name__} imported PyNEST itself, not jitnest's stand-in")
