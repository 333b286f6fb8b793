"""The sending application of the MUSIC test: a small STDP network of NESTML models whose neurons'
spikes leave through a ``music_event_out_proxy``, one MUSIC channel per neuron.

``python music_sender.py manual MODULE.so OUT.json``: plain PyNEST with the manual workflow's module.
``python music_sender.py jitnest - OUT.json``: ``import jitnest as nest`` and plain names.
Started by the ``music`` launcher (tests/mpi/test_music.py); writes its own spikes and weights.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "networks"))
import stdp_network  # noqa: E402 -- the STDP network of the tests without MPI, smaller here

NEURONS = 20
SIMULATED_MS = 200.0


def run(nest, neuron: str, synapse: str, module: str | None) -> dict:
    pre, post, _, recorder = stdp_network.build(nest, neuron, synapse, module, pre_size=NEURONS // 2,
                                                post_size=NEURONS // 2, indegree=5)
    neurons = pre + post
    out = nest.Create("music_event_out_proxy", params={"port_name": "spikes_out"})
    for channel, node in enumerate(neurons):
        nest.Connect(node, out, "one_to_one", {"music_channel": channel})
    nest.Simulate(SIMULATED_MS)
    events = recorder.get("events")
    first = neurons.tolist()[0]
    connections = nest.GetConnections(synapse_model=synapse).get(["source", "target", "weight"])
    return {
        "ids": neurons.tolist(),
        # (MUSIC channel, spike time)
        "spikes": sorted((int(s) - first, float(t)) for s, t in zip(events["senders"], events["times"])),
        "weights": sorted(zip(connections["source"], connections["target"], connections["weight"])),
    }


def main() -> None:
    mode, module, out = sys.argv[1:4]
    # (NESTML's STDP synapse under both names: a bare "stdp_synapse" would be NEST's built-in one,
    # whose weights differ from NESTML's in the last bits)
    nest, neuron, synapse = stdp_network.flavour(mode)
    result = run(nest, neuron, synapse, module if mode == "manual" else None)
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
