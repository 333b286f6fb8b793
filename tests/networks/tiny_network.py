"""A tiny NESTML neuron driven above threshold; prints spike count, what was built and the NESTML
requests made (by op, whether a NESTML server answered them or a process of their own), as JSON.

Used by the cache tests (warm reuse, concurrency, killed builds). ``argv[1]`` may name a file
to which the launched subprocesses' command lines are appended (to prove what ran).
"""

import json
import subprocess
import sys
from pathlib import Path

if len(sys.argv) > 1:
    _log = Path(sys.argv[1])
    _original_init = subprocess.Popen.__init__

    def _logging_init(self, args, *rest, **kwargs):
        with _log.open("a") as handle:
            handle.write(json.dumps([str(a) for a in args] if isinstance(args, (list, tuple)) else [args]) + "\n")
        _original_init(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = _logging_init

import jitnest as nest  # noqa: E402
from jitnest.generate import nestml_client  # noqa: E402
from jitnest.record.session import SESSION  # noqa: E402

nest.add_model_file(Path(__file__).resolve().parents[1] / "models" / "tiny_neuron.nestml")
nest.ResetKernel()
neurons = nest.Create("tiny_neuron", 3, params={"I_e": 500.0})
recorder = nest.Create("spike_recorder")
nest.Connect(neurons, recorder)
nest.Simulate(100.0)
print(json.dumps({"events": recorder.get("n_events"), "build": SESSION.last_build,
                  "nestml_requests": nestml_client.requests_made()}))
