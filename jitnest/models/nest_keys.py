"""NEST's own keys of every synapse model, derived from NEST itself (not a hand-kept list).

Besides its declared variables, a NESTML synapse in NEST has the keys every NEST synapse model has:
``weight``, ``delay``, ``receptor_type``, ``weight_recorder``, and read-only ones such as
``num_connections`` or ``synapse_modelid``. jitnest takes them from a built-in synapse without
variables of its own, ``static_synapse``:

* the keys and their default values: ``nest.GetDefaults("static_synapse")`` in this process;
* which of them ``SetDefaults``/``CopyModel`` accept: NEST refuses a read-only key with
  ``UnaccessedDictionaryEntry``. Trying that would change the kernel's state (a ``CopyModel``
  adds a model, ``SetDefaults`` of ``delay`` marks the delay as set by the user), so it is tried
  once in a separate process and kept on disk per NEST version and build.

Contract: ``synapse_keys()`` returns what NEST reports for ``static_synapse`` (values) and the
keys NEST accepts in ``SetDefaults`` of it; it never changes this process's kernel.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from .. import processes
from ..cache import keys as keys_module
from ..cache.store import cache_root
from ..files import write_atomically
from ..log import get_logger
from ..pynest import REAL

_log = get_logger(__name__)
BASE_SYNAPSE = "static_synapse"
PROBE_SECONDS = 300.0  # a fresh NEST per key: seconds on a busy machine; bounded all the same

# Tries each key of static_synapse's defaults in SetDefaults with its own default value (a fresh
# kernel per key); prints the keys NEST accepted as JSON.
_PROBE = """
import json, nest
defaults = nest.GetDefaults({model!r})
accepted = []
for key, value in defaults.items():
    nest.ResetKernel()
    try:
        nest.SetDefaults({model!r}, {{key: value}})
    except nest.NESTErrors.UnaccessedDictionaryEntry:
        continue
    except Exception:
        pass  # accepted as a key (e.g. weight_recorder refuses the empty default as a value)
    accepted.append(key)
print(json.dumps(sorted(accepted)))
"""


@dataclass(frozen=True)
class SynapseKeys:
    """NEST's keys of every synapse model: ``defaults`` (as ``static_synapse`` reports them) and
    ``writable`` (those ``SetDefaults``/``CopyModel`` accept)."""

    defaults: dict[str, Any]
    writable: frozenset[str]


@functools.lru_cache(maxsize=1)
def synapse_keys() -> SynapseKeys:
    defaults = dict(REAL.GetDefaults(BASE_SYNAPSE))
    return SynapseKeys(defaults, frozenset(_writable(sorted(defaults))))


def _writable(keys: list[str]) -> list[str]:
    """The keys of ``keys`` that NEST accepts in SetDefaults (asked once per NEST, see the module)."""
    identity = keys_module.stable_hash([REAL.__version__, str(REAL.__file__), sys.executable])[:16]
    cache_file = cache_root() / "nest" / f"synapse-keys-{identity}.json"
    try:
        cached = json.loads(cache_file.read_text())
        if cached["keys"] == keys:
            return cached["writable"]
    except (OSError, ValueError, KeyError):
        pass
    try:
        completed = processes.run([sys.executable, "-c", _PROBE.format(model=BASE_SYNAPSE)], timeout=PROBE_SECONDS,
                                  env=_probe_environment())
        output, problem = completed.stdout, completed.stderr
    except processes.ProcessTimeout as error:
        output, problem = error.stdout, f"{error}\n{error.stderr}"
    try:
        writable = json.loads(output.strip().splitlines()[-1])
    except (IndexError, ValueError):
        _log.warning("could not ask NEST which synapse keys it accepts (%s); assuming weight, delay, "
                     "receptor_type and weight_recorder", problem.strip()[-500:])
        return [k for k in ("delay", "receptor_type", "weight", "weight_recorder") if k in keys]
    cache_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(cache_file, json.dumps({"keys": keys, "writable": writable}))
    return writable


def _probe_environment() -> dict[str, str]:
    """Without NEST's banner; under mpirun, as a process of its own, not a copy of this rank."""
    return {**processes.outside_mpi_job(os.environ), "PYNEST_QUIET": "1"}
