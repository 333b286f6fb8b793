"""The manual NESTML workflow, done the way a user does it today: the baseline jitnest is compared to.

1. NESTML's ``generate_target`` with hand-written neuron–synapse pairs and ``suffix="_nestml"``.
   (On the pip wheel NESTML's own build step then fails because the wheel's nest-config prints
   bogus paths; code generation has succeeded by then, so the error is caught and reported.)
2. ``g++`` by hand with the flags that work against the wheel (old libstdc++ ABI), one process
   per .cpp file in parallel, then a link step. Against a NEST built from source (new ABI) or with
   MPI (its headers include <mpi.h>), the flags a user would add for it: no old-ABI flag, MPI's
   include folders from ``mpicxx --showme:compile``.
3. The user then writes ``nest.Install("/abs/path/<module>.so")`` and the mangled model names.

This file shares no code with jitnest on purpose: a differential test that used jitnest's own
pipeline for its baseline could not catch jitnest's mistakes.

Usage: ``python manual_workflow.py OUT_DIR MODULE_NAME NEURON[,NEURON...] [SYNAPSE:POST_PORT:WEIGHT_VAR@NEURON ...]``
or ``python manual_workflow.py OUT_DIR MODULE_NAME --spec SPEC.json``, where SPEC.json holds what a user
passes to NESTML by hand: ``{"files": [...], "codegen_opts": {...}}`` (a file is an absolute path, or
``neurons/NAME`` / ``synapses/NAME`` of NESTML's model library). Several pairs and models go into one
module, as a user would group them.
Prints one JSON line: module path and the seconds spent generating and compiling.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def spec_from_arguments(neurons: list[str], synapses: list[tuple[str, str, str, str]]) -> dict:
    """The ``--spec`` form of the positional arguments."""
    files = [f"neurons/{n}" for n in neurons] + sorted({f"synapses/{s[0]}" for s in synapses})
    pairs: dict[str, dict] = {}
    for synapse, port, _, neuron in synapses:
        pairs.setdefault(neuron, {})[synapse] = {"post_ports": [port]}
    return {"files": files, "codegen_opts": {
        "neuron_synapse_pairs": [{"neuron": n, "synapses": s} for n, s in pairs.items()],
        "weight_variable": {s[0]: s[2] for s in synapses},
    }}


def library_file(name: str) -> str:
    """An absolute path as it is; ``neurons/X`` or ``synapses/X`` in NESTML's installed model library."""
    if os.path.isabs(name):
        return name
    return str(Path(sys.prefix) / "models" / f"{name}.nestml")


def generate(out: Path, module: str, spec: dict) -> float:
    os.environ.setdefault("PYTHONHASHSEED", "0")
    from pynestml.frontend.pynestml_frontend import generate_target

    files = [library_file(f) for f in spec["files"]]
    codegen_opts = spec.get("codegen_opts", {})
    started = time.monotonic()
    try:
        generate_target(input_path=files, target_platform="NEST", target_path=str(out / "src"),
                        module_name=module, suffix="_nestml", logging_level="ERROR", codegen_opts=codegen_opts)
    except Exception as error:  # noqa: BLE001 -- NESTML's builder fails on the wheel after generating
        if "is not a directory" not in str(error):
            raise
    return time.monotonic() - started


def nest_build_flags(nest) -> list[str]:
    """The flags this NEST's own build needs: the old-ABI flag for the PyPI wheel (whose kernel
    exports no std::__cxx11 symbols), MPI's include folders for a NEST built with MPI."""
    kernel = next(Path(nest.__file__).parent.glob("nestkernel_api*.so"))
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(kernel)], capture_output=True, text=True,
                             check=True).stdout
    # std::__cxx11:: or the [abi:cxx11] tag; a bare "cxx11" also matches the old ABI's __gnu_cxx::__enable_if
    new_abi = any("4nest" in line and ("St7__cxx11" in line or "B5cxx11" in line) for line in symbols.splitlines())
    flags = [] if new_abi else ["-D_GLIBCXX_USE_CXX11_ABI=0"]
    if nest.build_info.get("have_mpi"):
        flags += subprocess.run(["mpicxx", "--showme:compile"], capture_output=True, text=True,
                                check=True).stdout.split()
    return flags


def compile_module(out: Path, module: str, jobs: int) -> float:
    import boost_headers
    import nest

    nest_include = Path(nest.__file__).parent / "include" / "nest"
    flags = ["-fPIC", "-O2", "-std=c++20", "-fopenmp", "-DNDEBUG", *nest_build_flags(nest),
             f"-I{nest_include}", f"-I{boost_headers.get_include()}", f"-I{out / 'src'}"]
    sources = sorted((out / "src").glob("*.cpp"))
    started = time.monotonic()

    def compile_one(source: Path) -> Path:
        obj = out / (source.stem + ".o")
        subprocess.run(["g++", "-c", *flags, str(source), "-o", str(obj)], check=True)
        return obj

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        objects = list(pool.map(compile_one, sources))
    subprocess.run(["g++", "-shared", "-fopenmp", *map(str, objects), "-o", str(out / f"{module}.so")], check=True)
    return time.monotonic() - started


def main(argv: list[str]) -> None:
    out, module = Path(argv[0]).resolve(), argv[1]
    if argv[2] == "--spec":
        spec = json.loads(Path(argv[3]).read_text())
    else:
        synapses = []
        for text in argv[3:]:
            head, neuron = text.split("@")
            name, port, weight = head.split(":")
            synapses.append((name, port, weight, neuron))
        spec = spec_from_arguments(argv[2].split(","), synapses)
    out.mkdir(parents=True, exist_ok=True)
    generation = generate(out, module, spec)
    compilation = compile_module(out, module, jobs=os.cpu_count() or 1)
    print(json.dumps({"module": str(out / f"{module}.so"), "generate_seconds": generation,
                      "compile_seconds": compilation}))


if __name__ == "__main__":
    main(sys.argv[1:])
