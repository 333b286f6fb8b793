"""The receiving application of the MUSIC test: plain PyNEST, a ``music_event_in_proxy`` per MUSIC
channel, each driving a parrot neuron that a spike recorder watches.

``python music_receiver.py OUT.json``; started by the ``music`` launcher (tests/mpi/test_music.py).
Writes the spikes it received as (MUSIC channel, time at the parrot).
"""

import json
import sys

import nest
from music_sender import NEURONS, SIMULATED_MS


def main() -> None:
    nest.resolution = 0.1
    proxies = nest.Create("music_event_in_proxy", NEURONS, params={"port_name": "spikes_in"})
    for channel, proxy in enumerate(proxies):
        proxy.music_channel = channel
    parrots = nest.Create("parrot_neuron", NEURONS)
    nest.Connect(proxies, parrots, "one_to_one", {"delay": 1.0})
    recorder = nest.Create("spike_recorder")
    nest.Connect(parrots, recorder)
    nest.Simulate(SIMULATED_MS)
    events = recorder.get("events")
    first = parrots.tolist()[0]
    with open(sys.argv[1], "w") as handle:
        json.dump({"spikes": sorted((int(s) - first, float(t)) for s, t in zip(events["senders"], events["times"]))},
                  handle)


if __name__ == "__main__":
    main()
