"""Every neuron model of NESTML's library driven by spikes and currents, for the differential test of
jitnest's code transformations (tests/differential/test_library_transformed.py); run in a fresh process.

``python library_inputs.py OUT.json``: ``import jitnest as nest`` (transformed code, unless
JITNEST_TRANSFORM=0). Each model gets four nodes: Poisson spikes of either sign into its spike port
(or positive spikes into each of its receptors, for a model with ``receptor_types``), spikes of weight
0.0 and -0.0, and a step current, over two ``Simulate`` calls, with a multimeter recording every
recordable at every step. Writes, per model, the spikes and the recorded values (ordered by
``speed_network.spikes_and_recordings``; floats as ``float.hex``: ``==`` does not tell -0.0 from 0.0)
and the transformations jitnest applied to its module.
"""

import json
import sys
from pathlib import Path

from library_walk import library_neurons
from speed_network import spikes_and_recordings

import jitnest as nest

# Weights of the spikes: pA for current-based models, nS (or mV) for the others, so that every model
# fires at some rate without being swamped.
CURRENT_BASED_WEIGHT = 40.0
OTHER_WEIGHT = 4.0
# terub_gpe_neuron's state diverges under stronger input at this resolution, and its GSL solver then
# crawls through ever smaller steps.
WEIGHT = {"terub_gpe_neuron": 0.1}
# The step current's amplitudes (pA) are scaled by 2 (peaks of 800 and 1800 pA, enough for most
# conductance-based models to fire), terub_gpe_neuron's by 0.3.
CURRENT_SCALE = {"terub_gpe_neuron": 0.3}
WITHOUT_CURRENT_PORT = {"ignore_and_fire_neuron"}


def drive(model: str, defaults: dict, nodes) -> None:
    weight = WEIGHT.get(model, CURRENT_BASED_WEIGHT if "_psc_" in model else OTHER_WEIGHT)
    receptors = defaults.get("receptor_types") or {}
    if receptors:
        for receptor in sorted(receptors.values()):
            source = nest.Create("poisson_generator", params={"rate": 3000.0})
            nest.Connect(source, nodes,
                         syn_spec={"weight": weight, "receptor_type": receptor, "delay": 0.5 + receptor / 10})
    else:
        exc = nest.Create("poisson_generator", params={"rate": 8000.0})
        inh = nest.Create("poisson_generator", params={"rate": 3000.0})
        nest.Connect(exc, nodes, syn_spec={"weight": weight, "delay": 1.0})
        nest.Connect(inh, nodes, syn_spec={"weight": -weight, "delay": 0.3})
        zero = nest.Create("spike_generator", params={"spike_times": [5.0, 5.1, 40.0, 40.0, 133.3]})
        nest.Connect(zero, nodes[:2], syn_spec={"weight": 0.0, "delay": 0.5})
        nest.Connect(zero, nodes[1:], syn_spec={"weight": -0.0, "delay": 0.5})
    if model not in WITHOUT_CURRENT_PORT:
        scale = CURRENT_SCALE.get(model, 2.0)
        steps = nest.Create("step_current_generator", params={
            "amplitude_times": [20.0, 75.3, 140.0, 160.1],
            "amplitude_values": [scale * 400.0, scale * -80.0, scale * 900.0, scale * 150.0]})
        nest.Connect(steps, nodes[::2], syn_spec={"delay": 0.7})


def main() -> None:
    nest.ResetKernel()
    nest.resolution = 0.1
    nest.rng_seed = 2718
    models = library_neurons()
    recorders = {}
    for model in models:
        defaults = nest.GetDefaults(model)
        nodes = nest.Create(model, 4)
        drive(model, defaults, nodes)
        spikes = nest.Create("spike_recorder")
        nest.Connect(nodes, spikes)
        keys = sorted(defaults["recordables"])
        meter = nest.Create("multimeter", params={"record_from": keys, "interval": 0.1})
        nest.Connect(meter, nodes)
        recorders[model] = (spikes, meter, keys)
    nest.Simulate(100.0)
    nest.Simulate(100.0)

    transformations = {}
    for module in nest.provenance()["modules"]:
        for model in module["models"]:
            transformations[model["source_model"]] = module["transformations"]
    results = {}
    for model, (spikes, meter, keys) in recorders.items():
        result = spikes_and_recordings(spikes, meter, keys)
        results[model] = {
            "senders": result["senders"], "times": [t.hex() for t in result["times"]],
            "recorded": {key: [float(v).hex() for v in values] for key, values in result["recorded"].items()},
            "transformations": transformations.get(model),
        }
    Path(sys.argv[1]).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
