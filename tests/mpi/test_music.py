"""MUSIC (NEST's coupling of simulations): a jitnest-built NESTML model beside MUSIC proxies.

Two applications under the ``music`` launcher: a NEST sender whose NESTML STDP network sends every
neuron's spikes through a ``music_event_out_proxy``, and a plain NEST receiver with a
``music_event_in_proxy`` per channel. The sender runs once with the manual NESTML workflow's
module and once through ``import jitnest as nest``: the sender's node IDs, spikes and weights and
what the receiver received must be identical.

Needs NEST built with MPI and MUSIC (``scripts/run.sh test-music`` sets up that environment) and
the ``music`` launcher (Debian: music-bin); elsewhere these tests are skipped, with the reason.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mpi_helpers import MPIRUN, NETWORKS, mpirun_prefix, nest_built_with


def _sender_module():
    """The sender's constants (network size, simulated time): its module imports NEST only when run."""
    spec = importlib.util.spec_from_file_location("music_sender", NETWORKS / "music_sender.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SENDER = _sender_module()


MUSIC = shutil.which("music")
pytestmark = [
    pytest.mark.mpi, pytest.mark.slow,
    pytest.mark.skipif(not nest_built_with("MUSIC"), reason="NEST here is built without MUSIC: run the MUSIC test with "
                                                      "scripts/run.sh test-music"),
    pytest.mark.skipif(MUSIC is None or MPIRUN is None,
                       reason="no music launcher or mpirun on PATH (Debian: apt-get install music-bin openmpi-bin)"),
]

# Each application is a small executable that starts Python: the music launcher runs an application's
# binary with the configuration file as its argument (it did not pass on ``args=`` here).
CONFIG = """stoptime={stop_s}
[sender]
  binary={sender}
  np=1
[receiver]
  binary={receiver}
  np=1
sender.spikes_out -> receiver.spikes_in [{width}]
"""


def _application(path: Path, *command: object) -> Path:
    path.write_text("#!/bin/sh\nexec " + " ".join(f"'{part}'" for part in command) + "\n")
    path.chmod(0o755)
    return path


def _run_music(tmp_path: Path, mode: str, module: str) -> dict:
    folder = tmp_path / mode
    folder.mkdir()
    config = folder / "coupled.music"
    sender = _application(folder / "sender", sys.executable, NETWORKS / "music_sender.py", mode, module,
                          folder / "sender.json")
    receiver = _application(folder / "receiver", sys.executable, NETWORKS / "music_receiver.py",
                            folder / "receiver.json")
    config.write_text(CONFIG.format(stop_s=SENDER.SIMULATED_MS / 1000, sender=sender, receiver=receiver,
                                    width=SENDER.NEURONS))
    command = mpirun_prefix(2, timeout=600) + [MUSIC, str(config)]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(NETWORKS), os.environ.get("PYTHONPATH", "")]),
                   "JITNEST_CACHE_DIR": str(tmp_path / "cache")}
    completed = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=660, cwd=str(folder),
                               env=environment, check=False)
    assert completed.returncode == 0, f"music failed ({completed.returncode}):\n{completed.stdout[-3000:]}\n" \
                                      f"{completed.stderr[-5000:]}"
    return {part: json.loads((folder / f"{part}.json").read_text()) for part in ("sender", "receiver")}


def test_jitnest_model_beside_music_proxies_equals_manual_workflow(manual_stdp_module, tmp_path):
    manual = _run_music(tmp_path, "manual", str(manual_stdp_module))
    jit = _run_music(tmp_path, "jitnest", "-")

    sent, received = _by_channel(manual["sender"]["spikes"]), _by_channel(manual["receiver"]["spikes"])
    assert sum(map(len, sent.values())) > 200, "the network must be active for the comparison to mean anything"
    # Every spike arrives on its channel a fixed delay later (MUSIC's latency plus the parrots' delay),
    # except those sent too close to the end to arrive before it.
    offsets = {round(r - s, 6) for channel, times in received.items() for s, r in zip(sent[channel], times)}
    assert len(offsets) == 1 and min(offsets) > 0, f"received spikes are not the sent ones, shifted: {offsets}"
    assert all(len(received.get(channel, [])) >= len(times) - 2 for channel, times in sent.items())

    assert jit["sender"]["ids"] == manual["sender"]["ids"]
    assert jit["sender"]["spikes"] == manual["sender"]["spikes"]
    assert jit["receiver"] == manual["receiver"]
    assert jit["sender"]["weights"] == manual["sender"]["weights"]  # after STDP, bit for bit
    assert len({w[2] for w in manual["sender"]["weights"]}) > 5, "STDP must have changed the weights"


def _by_channel(spikes: list) -> dict[int, list[float]]:
    channels: dict[int, list[float]] = {}
    for channel, time in spikes:
        channels.setdefault(channel, []).append(time)
    return channels
