"""Running scripts under mpirun for the MPI tests, and merging what each rank wrote.

The MPI tests need NEST built with MPI (``scripts/run.sh test-mpi`` sets up such an environment)
and an ``mpirun``; elsewhere they are skipped, with the reason. Whether NEST has MPI is read from
its ``config.h`` without importing NEST, so that collecting these tests costs nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

NETWORKS = Path(__file__).resolve().parent / "networks"
STDP = NETWORKS / "stdp_mpi.py"
# where STDP's network is created and connected (the user's lines that errors name)
STDP_NETWORK = Path(__file__).resolve().parents[1] / "networks" / "stdp_network.py"
PYNN = NETWORKS / "pynn_mpi.py"


def nest_built_with(feature: str) -> bool:
    """Whether the importable NEST's ``config.h`` says ``#define HAVE_<feature> 1`` (MPI, MUSIC, ...)."""
    spec = importlib.util.find_spec("nest")
    if spec is None or not spec.submodule_search_locations:
        return False
    config = Path(list(spec.submodule_search_locations)[0], "include", "nest", "config.h")
    try:
        return f"#define HAVE_{feature} 1" in config.read_text()
    except OSError:
        return False


HAVE_MPI = nest_built_with("MPI")
MPIRUN = shutil.which("mpirun")
needs_mpi = [
    pytest.mark.mpi,
    pytest.mark.skipif(not HAVE_MPI, reason="NEST here is built without MPI (nest.build_info['have_mpi'] is "
                                            "False): run the MPI tests with scripts/run.sh test-mpi"),
    pytest.mark.skipif(MPIRUN is None, reason="no mpirun on PATH (Debian: apt-get install openmpi-bin)"),
]


def mpirun_prefix(processes: int, timeout: float = 600) -> list[str]:
    """mpirun for ``processes`` ranks on this machine: more ranks than cores, no binding to cores
    (two ranks bound to the same core would take turns), as root if need be. After ``timeout``
    seconds mpirun itself aborts the job, so that no test can hang the suite (and no rank outlives it)."""
    command = [MPIRUN or "mpirun", "--oversubscribe", "--bind-to", "none", "--timeout", str(int(timeout))]
    if os.geteuid() == 0:
        command.append("--allow-run-as-root")
    return command + ["-np", str(processes)]


def mpirun(processes: int, *args: str, env: dict | None = None, timeout: float = 600, check: bool = True,
           output_dir: Path | None = None, contexts: list[dict] | None = None) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` on ``processes`` ranks (the test session's cache, ``env`` added).

    ``output_dir``: each rank's stdout and stderr also go to files there (see ``rank_output``).
    ``contexts``: one environment per rank instead (mpirun's MPMD form: rank i gets ``contexts[i]``),
    e.g. a cache folder per "node". After ``timeout`` seconds mpirun aborts the job (and the test fails).
    """
    command = mpirun_prefix(processes, timeout)
    if output_dir is not None:
        command[1:1] = ["--output-filename", str(output_dir)]
    program = [sys.executable, *args]
    if contexts is None:
        command += program
    else:
        assert len(contexts) == processes
        command = command[:command.index("-np")]
        for number, context in enumerate(contexts):
            if number:
                command.append(":")
            command += ["-np", "1"] + [part for k, v in context.items() for part in ("-x", f"{k}={v}")] + program
    # The margin lets mpirun's own limit end the ranks first; this one only guards against mpirun itself.
    # errors="replace": the ranks' output interleaves, which can split a UTF-8 character of a progress bar.
    completed = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=timeout + 60,
                               cwd=str(ROOT), env={**os.environ, **(env or {})}, check=False)
    if "time limit for job execution has been reached" in completed.stdout + completed.stderr:
        raise AssertionError(f"mpirun: the job ran over its {timeout:.0f} s and was aborted:\n"
                             f"{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}")
    if check and completed.returncode != 0:
        raise AssertionError(f"mpirun failed ({completed.returncode}):\n{completed.stdout[-3000:]}\n"
                             f"{completed.stderr[-5000:]}")
    return completed


def rank_output(output_dir: Path, rank: int, stream: str = "stderr") -> str:
    """What rank ``rank`` wrote to ``stream`` (mpirun --output-filename: <dir>/1/rank.<rank>/<stream>)."""
    found = list(output_dir.glob(f"*/rank.{rank}/{stream}"))
    return found[0].read_text() if found else ""


def jitnest_error(text: str) -> str:
    """The last jitnest error printed in ``text`` (a traceback's final exception), up to its end."""
    starts = [m.start() for m in re.finditer(r"^jitnest\.errors\.\w+: ", text, re.M)]
    assert starts, f"no jitnest error in:\n{text[-3000:]}"
    block = text[starts[-1]:].splitlines()
    # The message ends where mpirun's own notices, another traceback or a notice of jitnest's begin.
    end = next((i for i, line in enumerate(block) if line.startswith(("-----", "Traceback", "[INFO]", "[jitnest]"))),
               len(block))
    return "\n".join(block[:end]).rstrip()


def merged(out_dir: Path) -> dict:
    """The ranks' files of stdp_mpi.py merged: what one would see gathering from all ranks."""
    ranks = [json.loads(p.read_text()) for p in sorted(out_dir.glob("rank-*.json"))]
    assert ranks, f"no rank wrote into {out_dir}"
    return {
        "ranks": len(ranks),
        "processes": {r["processes"] for r in ranks},
        "virtual_processes": {r["virtual_processes"] for r in ranks},
        "ids": [r["ids"] for r in ranks],
        "spikes": sorted(tuple(s) for r in ranks for s in r["spikes"]),
        "connections": sorted(tuple(c) for r in ranks for c in r["connections"]),
        "synapse_models": sorted({m for r in ranks for m in r["synapse_models"]}),
        "neuron_models": sorted({r["neuron_model"] for r in ranks}),
        "modules": [r.get("modules") for r in ranks],
        "real_synapse_models": [r.get("real_synapse_models") for r in ranks],
    }


def assert_same_network(jit: dict, manual: dict, processes: int) -> None:
    """jitnest's gathered results equal plain NEST's on the same number of ranks."""
    assert jit["ranks"] == manual["ranks"] == processes
    assert jit["processes"] == manual["processes"] == {processes}
    assert jit["virtual_processes"] == manual["virtual_processes"]
    assert len(manual["spikes"]) > 1000, "the network must be active for the comparison to mean anything"
    assert all(ids == manual["ids"][0] for ids in manual["ids"] + jit["ids"]), "node IDs differ between ranks or runs"
    assert jit["spikes"] == manual["spikes"]
    assert [c[:2] for c in jit["connections"]] == [c[:2] for c in manual["connections"]]
    assert jit["connections"] == manual["connections"]  # weights after STDP, bit for bit
    assert len({c[2] for c in manual["connections"]}) > 10, "STDP must have changed the weights"
