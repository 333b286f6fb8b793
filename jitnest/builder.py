"""Turn units into installed-ready NEST modules: generate (NESTML), compile (CMake), publish (cache).

Each unit becomes one module whose name is derived from its cache key, so a rebuilt module
never reuses the file name of an older one (NEST issue 3802: reloading a rebuilt library
from the same path can keep running the old code).

The key covers everything that changes the binary: the unit (models, post ports, weight and
delay variables), each model's source text, NESTML's version, the toolchain identity (compiler,
flags, NEST version and build stamp, header origin) and jitnest's own generator inputs (this
module's version, the worker's source, the CMake project and the registration template).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import nestml_adapter
from ._version import __version__ as jitnest_version
from .cache import ArtifactStore, CacheEntry, ModuleCache, stable_hash
from .combinations import TWIN_SUFFIXES, Plan, Unit
from .errors import BuildError
from .progress import Progress
from .toolchain import Toolchain

GENERATOR_VERSION = 2
_TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
_COMPILER_ERROR_LINES = 25
# NESTML is told this module name; jitnest writes the real registration file itself, so the
# generated model sources never depend on the (key-derived) module name and can be reused.
_CODEGEN_MODULE_NAME = "jitnest_generated_module"
_PCH_HEADER = "jitnest_nest_pch.h"
# Compiles the generated neuron .cpp (whose name NESTML chooses) under a name known in advance.
_NEURON_WRAPPER = "jitnest_neuron.cpp"


def _cmake_files(toolchain: Toolchain) -> list[Path]:
    project = Path(toolchain.cmake_project_dir)
    return [project / "FindNESTHeaders.cmake", project / "nest_module" / "CMakeLists.txt",
            project / "nest_module" / _PCH_HEADER]


def _generator_identity(toolchain: Toolchain) -> str:
    files = [nestml_adapter.WORKER, _TEMPLATE_DIR / "module.cpp.jinja", *_cmake_files(toolchain)]
    return stable_hash([GENERATOR_VERSION, jitnest_version] + [f.read_text() for f in files])


def codegen_key(unit: Unit, toolchain: Toolchain) -> str:
    """Key of NESTML's output for ``unit``: independent of compiler and flags, so that a change of
    those recompiles without generating again."""
    return stable_hash({
        "unit": unit.without_twins().describe(),
        "nestml": nestml_adapter.nestml_version(),
        "worker": nestml_adapter.WORKER.read_text(),
        "nest_version": toolchain.nest_version,
    })


def pch_key(toolchain: Toolchain) -> str:
    return stable_hash({"toolchain": toolchain.identity(), "files": [f.read_text() for f in _cmake_files(toolchain)]})


def unit_key(unit: Unit, toolchain: Toolchain) -> str:
    return stable_hash({
        "unit": unit.describe(),
        "nestml": nestml_adapter.nestml_version(),
        "toolchain": toolchain.identity(),
        "generator": _generator_identity(toolchain),
    })


def module_name_for(key: str) -> str:
    return f"jitnest_{key[:20]}_module"


@dataclass(frozen=True)
class BuiltUnit:
    """A unit and its published module; answers the generated name of each model."""

    unit: Unit
    entry: CacheEntry
    built_here: bool

    def generated_name(self, source_model: str, kind: str) -> str:
        for model in self.entry.manifest["models"]:
            if model["source_model"] == source_model and model["kind"] == kind:
                return model["name"]
        raise KeyError(f"module {self.entry.directory} has no {kind} generated from {source_model}")

    @property
    def module_path(self) -> Path:
        return self.entry.module_path


def _pairs_for(unit: Unit) -> tuple[list[dict], dict[str, str], dict[str, str]]:
    if not unit.is_combination:
        pairs: list[dict] = []
    else:
        assert unit.neuron is not None
        pairs = [{"neuron": unit.neuron.name,
                  "synapses": {s.name: {"post_ports": list(s.post_ports)} for s in unit.synapses}}]
    weights = {s.name: s.weight_variable for s in unit.synapses if s.weight_variable}
    delays = {s.name: s.delay_variable for s in unit.synapses if s.delay_variable}
    return pairs, weights, delays


def _select_models(unit: Unit, generated: list[dict]) -> list[dict]:
    """The generated models that belong in this unit's module (NESTML also emits unpaired twins)."""
    chosen = []
    for model in generated:
        paired = bool(model.get("paired"))
        if unit.is_combination and not paired:
            continue  # the neuron alone is a different unit
        chosen.append(model)
    return chosen


def has_expected_registration(header_text: str, synapse: str) -> bool:
    """Whether NESTML's header for ``synapse`` defines the class template ``nest::S::S`` and a
    register function that calls ``register_connection_model< S >( name )`` (what the
    redirect in module.cpp.jinja relies on)."""
    name = re.escape(synapse)
    return all(re.search(pattern, header_text) for pattern in (
        rf"\bnamespace\s+{name}\s*\{{",
        rf"\bclass\s+{name}\s*:\s*public\s+Connection\s*<\s*targetidentifierT\s*>",
        rf"[^:\w]register_connection_model\s*<\s*{name}\s*>\s*\(\s*name\s*\)\s*;",
    ))


def variant_registration(twins: list[str]) -> str:
    """The redirect target of NESTML's ``register_connection_model`` for a synapse with ``twins``."""
    return (f"jitnest_connection_variants< {str('_hpc' in twins).lower()}, "
            f"{str('_lbl' in twins).lower()} >::register_model")


def variant_types_of(synapse: str, twins: list[str]) -> list[str]:
    """The complete C++ connection types registered for ``synapse`` and ``twins``."""
    model = f"nest::{synapse}::{synapse}"
    types = [f"{model}< nest::TargetIdentifierPtrRport >"]
    if "_hpc" in twins:
        types.append(f"{model}< nest::TargetIdentifierIndex >")
    if "_lbl" in twins:
        types.append(f"nest::ConnectionLabel< {model}< nest::TargetIdentifierPtrRport > >")
    return types


def _run_logged(command: list[str], log: list[str], cwd: Path) -> subprocess.CompletedProcess:
    log.append(f"$ {' '.join(command)}")
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    log.append(completed.stdout)
    log.append(completed.stderr)
    return completed


def _first_compiler_errors(text: str) -> str:
    lines = [line for line in text.splitlines() if "error" in line.lower() or line.startswith(" ")]
    errors = [line for line in lines if "error" in line.lower()]
    return "\n".join((errors or lines)[:_COMPILER_ERROR_LINES])


class _GenerationFailed(Exception):
    def __init__(self, message: str, log: str) -> None:
        super().__init__(message)
        self.log = log


class UnitBuilder:
    """Builds the units of a plan into the cache, in parallel."""

    def __init__(self, toolchain: Toolchain, cache: ModuleCache, jobs: int | None = None) -> None:
        self.toolchain = toolchain
        self.cache = cache
        self.generated = ArtifactStore(cache.root, "generated")
        self.pch = ArtifactStore(cache.root, "pch")
        self.jobs = jobs or int(os.environ.get("JITNEST_BUILD_JOBS", "0")) or (os.cpu_count() or 1)
        self.use_pch = os.environ.get("JITNEST_PCH", "1") != "0"
        self._templates = None  # jinja2 is imported only when something is built

    def build_plan(self, plan: Plan, sites_of: dict[str, list] | None = None,
                   progress: Progress | None = None) -> dict[Unit, BuiltUnit]:
        """Every unit of ``plan`` as a published module; raises BuildError for the first failure.

        Units build in parallel; the shared precompiled header (needed only by cold builds) is
        built alongside NESTML's code generation, which leaves a core free.
        """
        units = plan.sorted_units()
        if not units:
            return {}
        progress = progress or Progress(len(units))
        keys = {unit: unit_key(unit, self.toolchain) for unit in units}
        # Only whether an entry is published decides about the header here; get_or_build verifies it.
        cold = [u for u in units if not self.cache.is_published(keys[u])]
        compile_jobs = max(1, self.jobs // max(1, len(cold)))
        results: dict[Unit, BuiltUnit] = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(units), self.jobs) + 1) as pool:
            pch = pool.submit(self.ensure_pch) if cold and self.use_pch else None
            futures = {pool.submit(self.build_unit, unit, keys[unit], compile_jobs, progress, sites_of, pch): unit
                       for unit in units}
            for future in concurrent.futures.as_completed(futures):
                results[futures[future]] = future.result()
        return results

    def ensure_pch(self) -> Path | None:
        """The precompiled NEST header for this toolchain, built once; None if it cannot be built
        (modules then compile without it: slower, same result)."""
        def create(work: Path) -> None:
            header = work / _PCH_HEADER
            shutil.copy(Path(self.toolchain.cmake_project_dir) / "nest_module" / _PCH_HEADER, header)
            log: list[str] = []
            build_dir = work / "build"
            configure = self._cmake_configure(build_dir, {"JITNEST_PCH_BUILD": "ON", "JITNEST_PCH_HEADER": str(header)})
            if (_run_logged(configure, log, work).returncode != 0
                    or _run_logged([self.toolchain.cmake, "--build", str(build_dir)], log, work).returncode != 0):
                raise RuntimeError("\n".join(log))
            os.replace(build_dir / "pch.gch", work / f"{_PCH_HEADER}.gch")
            shutil.rmtree(build_dir, ignore_errors=True)

        try:
            return self.pch.get_or_create(pch_key(self.toolchain), create) / _PCH_HEADER
        except Exception:  # noqa: BLE001 -- an optimisation only; the log is not worth failing a build
            return None

    def _cmake_configure(self, build_dir: Path, definitions: dict[str, str]) -> list[str]:
        command = [self.toolchain.cmake, "-S", str(Path(self.toolchain.cmake_project_dir) / "nest_module"),
                   "-B", str(build_dir)]
        command += [f"-D{k}={v}" for k, v in {**self.toolchain.cmake_definitions(), **definitions}.items()]
        if self.toolchain.ninja:
            command += ["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={self.toolchain.ninja}"]
        return command

    def build_unit(self, unit: Unit, key: str, compile_jobs: int = 1, progress: Progress | None = None,
                   sites_of: dict[str, list] | None = None,
                   pch: concurrent.futures.Future | None = None) -> BuiltUnit:
        """``unit`` as a published module under ``key`` (``unit_key(unit, toolchain)``)."""
        started = time.monotonic()
        report = progress or Progress(1, quiet=True)

        def build(work: Path) -> dict:
            return self._build_into(work, unit, key, compile_jobs, report, sites_of or {}, pch)

        entry, built_here = self.cache.get_or_build(
            key, build, on_wait=lambda: report.stage(unit.label, "waiting for the build of it already under way"))
        report.finished(unit.label, time.monotonic() - started, cached=not built_here)
        return BuiltUnit(unit, entry, built_here)

    def _generate(self, unit: Unit, progress: Progress) -> tuple[Path, list[dict], bool]:
        """NESTML's code for ``unit`` (from the generated-code cache when possible)."""
        key = codegen_key(unit, self.toolchain)
        cached = self.generated.get(key)
        if cached is None:
            progress.stage(unit.label, "generating code with NESTML")
        pairs, weights, delays = _pairs_for(unit)
        files = sorted({m.file for m in unit.models})

        def create(work: Path) -> None:
            try:
                result = nestml_adapter.generate(files, work / "src", _CODEGEN_MODULE_NAME, pairs, weights, delays,
                                                 f"v{self.toolchain.nest_version}", paired_only=unit.is_combination)
            except nestml_adapter.WorkerCrash as crash:
                raise _GenerationFailed(f"NESTML crashed while generating code ({crash})", crash.log) from None
            (work / "nestml.log").write_text(result.log)
            if not result.ok:
                problems = "\n".join(f"  {p}" for p in result.problems())
                raise _GenerationFailed(f"NESTML code generation reported errors:\n{problems}", result.log)
            (work / "models.json").write_text(json.dumps(result.answer["models"]))

        directory = self.generated.get_or_create(key, create)
        return directory, json.loads((directory / "models.json").read_text()), cached is None

    def _configure(self, work: Path, module_name: str, source_dir: Path, sources: list[str],
                   pch: concurrent.futures.Future | None
                   ) -> tuple[list[str], subprocess.CompletedProcess, Path | None]:
        """Configure the module's CMake build in ``work/build``; returns (log, result, PCH header).

        Waits for the shared precompiled header first: whether there is one changes the flags.
        """
        pch_header = pch.result() if pch is not None else None
        definitions = {"JITNEST_MODULE_NAME": module_name, "JITNEST_SOURCE_DIR": str(source_dir),
                       "JITNEST_SOURCES": ";".join(sources)}
        if pch_header is not None:
            definitions["JITNEST_PCH_HEADER"] = str(pch_header)
        log: list[str] = []
        completed = _run_logged(self._cmake_configure(work / "build", definitions), log, work)
        return log, completed, pch_header

    def _write_sources(self, source_dir: Path, target_dir: Path, module_name: str, unit: Unit,
                       models: list[dict]) -> dict[str, list[str]]:
        """The module's sources in ``target_dir``: the models' generated files, the neuron wrapper
        and jitnest's registration file. Returns the twins registered per generated synapse."""
        model_sources = [m["source"] for m in models if m.get("source")]
        for name in [m["header"] for m in models] + model_sources:
            shutil.copy(source_dir / name, target_dir / name)
        if unit.neuron is not None:
            if len(model_sources) != 1:
                raise RuntimeError(f"expected one generated neuron source for {unit.label}, got {model_sources}")
            (target_dir / _NEURON_WRAPPER).write_text(f'#include "{model_sources[0]}"\n')
        includes, variant_types, twins = [], [], {}
        for model in models:
            include = {"header": model["header"], "redirect": None}
            if model["kind"] == "synapse":
                twins[model["name"]] = list(TWIN_SUFFIXES)
                header_text = (target_dir / model["header"]).read_text()
                if self.toolchain.registers_single_synapse_variants and has_expected_registration(
                        header_text, model["name"]):
                    twins[model["name"]] = list(unit.twins_of(model["source_model"]))
                    include["redirect"] = variant_registration(twins[model["name"]])
                    variant_types += variant_types_of(model["name"], twins[model["name"]])
            includes.append(include)
        template = self._environment().get_template("module.cpp.jinja")
        (target_dir / f"{module_name}.cpp").write_text(template.render(
            module_name=module_name, jitnest_version=jitnest_version, unit_label=unit.label,
            includes=includes, variant_types=variant_types, register_calls=[m["register_call"] for m in models]))
        return twins

    def _environment(self) -> object:
        if self._templates is None:
            import jinja2

            self._templates = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATE_DIR)),
                                                 keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
        return self._templates

    def _fail(self, unit: Unit, key: str, what: str, log: list[str], sites_of: dict[str, list]) -> BuildError:
        log_path = self.cache.keep_failed_log(key, "\n".join(log))
        sites = [site for model in unit.models for site in sites_of.get(model.name, [])[:1]]
        return BuildError(f"building {unit.label} failed: {what}", str(log_path), sites)

    def _build_into(self, work: Path, unit: Unit, key: str, compile_jobs: int, progress: Progress,
                    sites_of: dict[str, list], pch: concurrent.futures.Future | None) -> dict:
        module_name = module_name_for(key)
        generated_dir = work / "generated"
        generated_dir.mkdir()
        log: list[str] = [f"jitnest build of {unit.label} (key {key})"]
        started = time.monotonic()
        # The source list is fixed before NESTML runs (the neuron's .cpp is compiled through a
        # wrapper of a fixed name), so CMake configures while NESTML generates, on the idle core.
        sources = ([_NEURON_WRAPPER] if unit.neuron is not None else []) + [f"{module_name}.cpp"]
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as background:
            configuring = background.submit(self._configure, work, module_name, generated_dir, sources, pch)
            try:
                source_dir, generated, generated_now = self._generate(unit, progress)
            except _GenerationFailed as failure:
                log.append(failure.log)
                raise self._fail(unit, key, str(failure), log, sites_of) from None
            generation_seconds = time.monotonic() - started
            models = _select_models(unit, generated)
            twins = self._write_sources(source_dir / "src", generated_dir, module_name, unit, models)
            configure_log, configured, pch_header = configuring.result()
        log.extend(configure_log)
        if configured.returncode != 0:
            errors = _first_compiler_errors(configured.stdout + configured.stderr)
            raise self._fail(unit, key, f"CMake could not configure the module build:\n{errors}", log, sites_of)
        with_pch = " (precompiled NEST headers)" if pch_header else ""
        progress.stage(unit.label, f"compiling {len(sources)} files{with_pch}")
        build_dir = work / "build"
        compiled = _run_logged([self.toolchain.cmake, "--build", str(build_dir), "-j", str(compile_jobs)],
                               log, work)
        if compiled.returncode != 0:
            errors = _first_compiler_errors(compiled.stdout + compiled.stderr)
            raise self._fail(unit, key, f"the C++ compiler failed:\n{errors}", log, sites_of)

        module_file = f"{module_name}.so"
        os.replace(build_dir / module_file, work / module_file)
        shutil.rmtree(build_dir, ignore_errors=True)
        (work / "build.log").write_text("\n".join(log))
        return {
            "key": key,
            "module_name": module_name,
            "module_file": module_file,
            "unit": unit.describe(),
            "label": unit.label,
            "models": [{"name": m["name"], "kind": m["kind"], "source_model": m["source_model"],
                        **({"twins": twins[m["name"]]} if m["name"] in twins else {})}
                       for m in models],
            "sources": [{"model": m.name, "path": m.file, "sha256": m.source_sha256} for m in unit.models],
            "nestml_version": nestml_adapter.nestml_version(),
            "jitnest_version": jitnest_version,
            "toolchain": self.toolchain.identity(),
            "generation_seconds": round(generation_seconds, 3),
            "generated_now": generated_now,
            "precompiled_header": str(pch_header) if pch_header else None,
            "build_seconds": round(time.monotonic() - started, 3),
            "created": time.time(),
        }
