"""Units into published NEST modules: generate (NESTML), compile (CMake), publish (cache).

``UnitBuilder.build_plan`` builds every unit of a plan in parallel; each unit becomes one module
whose name is derived from its cache key, so a rebuilt module never reuses the file name of an
older one (NEST issue 3802: reloading a rebuilt library from the same path can keep running the
old code).

The key covers everything that changes the binary: the unit (models, post and vt ports, weight and
delay variables, the models' NESTML options, twins), each model's source text, NESTML and
ODE-toolbox as installed (the contents of their files, ``nestml_client.nestml_identity``), the
toolchain identity (compiler, flags, NEST version and build stamp, the contents of NEST's headers,
header origin) and jitnest's own generator inputs (``GENERATOR_VERSION``, jitnest's version, the
worker's source, the registration module and its templates, the CMake project and the commands
that run it, the code transformations enabled with their source).

Several processes may build the same plan at once (the ranks of an MPI job): ``build_sync``
decides which of them builds (``JITNEST_BUILD_SYNC``) and brings a failure to all of them.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .._version import __version__ as jitnest_version
from ..cache import keys
from ..cache.store import ArtifactStore, CacheEntry, ModuleCache
from ..config import settings
from ..errors import BuildError
from ..generate import codegen, nestml_client, registration, transform
from ..plan.combinations import Plan, Unit
from ..processes import ProcessTimeout
from . import build_sync
from .cmake_build import build_command, configure_command, first_compiler_errors, project_files, run_logged
from .pch import ensure_pch
from .progress import Progress
from .toolchain import Toolchain

GENERATOR_VERSION = 2


def generator_files(toolchain: Toolchain) -> list[Path]:
    """jitnest's files that turn generated code into a module: the registration module and its
    templates, the whole runtime CMake project and the module that runs CMake."""
    return [*registration.generator_files(), *project_files(toolchain)]


def generator_identity(toolchain: Toolchain) -> str:
    """jitnest's own inputs to a module: its version, the worker's source, ``generator_files`` and the
    code transformations enabled."""
    project = Path(toolchain.cmake_project_dir)  # names relative to it: keys do not depend on where jitnest is
    files = [(str(f.relative_to(project) if f.is_relative_to(project) else f.name), f.read_text())
             for f in generator_files(toolchain)]
    return keys.stable_hash([GENERATOR_VERSION, jitnest_version, nestml_client.worker_identity(), files,
                             transform.identity()])


def codegen_key(unit: Unit, toolchain: Toolchain) -> str:
    """Key of NESTML's output for ``unit`` (see ``keys.codegen_key``)."""
    return keys.codegen_key(unit.without_twins().describe(), nestml_client.nestml_identity(),
                            nestml_client.worker_identity(), toolchain.nest_version)


def unit_key(unit: Unit, toolchain: Toolchain) -> str:
    """Key of ``unit``'s compiled module."""
    return keys.module_key(unit.describe(), nestml_client.nestml_identity(), toolchain.identity(),
                           generator_identity(toolchain))


def _sites(unit: Unit, sites_of: dict[str, list]) -> list:
    """The user's first line naming each of ``unit``'s models."""
    return [site for model in unit.models for site in sites_of.get(model.name, [])[:1]]


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


class UnitBuilder:
    """Builds the units of a plan into the cache, in parallel."""

    def __init__(self, toolchain: Toolchain, cache: ModuleCache, jobs: int | None = None) -> None:
        self.toolchain = toolchain
        self.cache = cache
        self.generated = ArtifactStore(cache.root, "generated")
        self.pch = ArtifactStore(cache.root, "pch")
        self.jobs = jobs or settings().build_jobs
        self.use_pch = settings().use_pch

    def build_plan(self, plan: Plan, sites_of: dict[str, list] | None = None,
                   progress: Progress | None = None) -> dict[Unit, BuiltUnit]:
        """Every unit of ``plan`` as a published module; raises BuildError for the first failure.

        Units build in parallel; the shared precompiled header (needed only by cold builds) is
        built alongside NESTML's code generation, which leaves a core free.
        """
        units = plan.sorted_units()
        if not units:
            return {}
        keys_of = {unit: unit_key(unit, self.toolchain) for unit in units}
        sites_of = sites_of or {}
        sync = build_sync.PlanSync(self.cache)
        if sync.follower:  # an MPI rank other than 0 under JITNEST_BUILD_SYNC=mpi: rank 0 builds
            entries = sync.follow({keys_of[u]: (u.label, _sites(u, sites_of)) for u in units})
            return {u: BuiltUnit(u, entries[keys_of[u]], False) for u in units if keys_of[u] in entries}
        labels = ", ".join(u.label for u in units)
        with sync.leading(keys_of.values()), \
                build_sync.reporting_termination(labels, [s for u in units for s in _sites(u, sites_of)]):
            return self._build_units(units, keys_of, sites_of, progress)

    def _build_units(self, units: list[Unit], keys_of: dict[Unit, str], sites_of: dict[str, list],
                     progress: Progress | None) -> dict[Unit, BuiltUnit]:
        # Only whether an entry is published decides about the header here; get_or_build verifies it.
        cold = [u for u in units if not self.cache.is_published(keys_of[u])]
        own_progress = progress is None
        progress = progress or Progress(len(units), labels=[u.label for u in units])
        compile_jobs = max(1, self.jobs // max(1, len(cold)))
        results: dict[Unit, BuiltUnit] = {}
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(units), self.jobs) + 1) as pool:
                pch = pool.submit(ensure_pch, self.toolchain, self.pch) if cold and self.use_pch else None
                futures = {pool.submit(self.build_unit, unit, keys_of[unit], compile_jobs, progress, sites_of, pch):
                           unit for unit in units}
                for future in concurrent.futures.as_completed(futures):
                    results[futures[future]] = future.result()
        finally:
            if own_progress:
                progress.close()
        return results

    def build_unit(self, unit: Unit, key: str, compile_jobs: int = 1, progress: Progress | None = None,
                   sites_of: dict[str, list] | None = None,
                   pch: concurrent.futures.Future | None = None) -> BuiltUnit:
        """``unit`` as a published module under ``key`` (``unit_key(unit, toolchain)``)."""
        started = time.monotonic()
        report = progress or Progress(1, quiet=True)
        sites_of = sites_of or {}
        seen_failure = build_sync.failure_token(self.cache.root, key)

        def build(work: Path) -> dict:
            # Under the key's lock: a build that failed while this process waited is not repeated.
            failed = build_sync.failure_while_waiting(self.cache.root, key, seen_failure, _sites(unit, sites_of))
            if failed is not None:
                raise failed
            return self._build_into(work, unit, key, compile_jobs, report, sites_of, pch)

        entry, built_here = self.cache.get_or_build(
            key, build, on_wait=lambda holder: report.stage(unit.label, f"waiting for its build by {holder}"),
            what=unit.label)
        if built_here:
            build_sync.clear_failure(self.cache.root, key)
        report.finished(unit.label, time.monotonic() - started, cached=not built_here)
        return BuiltUnit(unit, entry, built_here)

    def _configure(self, work: Path, module_name: str, source_dir: Path, sources: list[str],
                   pch: concurrent.futures.Future | None, log: list[str]
                   ) -> tuple[subprocess.CompletedProcess, Path | None]:
        """Configure the module's CMake build in ``work/build``, logging to ``log``; returns
        (result, PCH header).

        Waits for the shared precompiled header first: whether there is one changes the flags.
        """
        pch_header = pch.result() if pch is not None else None
        definitions = {"JITNEST_MODULE_NAME": module_name, "JITNEST_SOURCE_DIR": str(source_dir),
                       "JITNEST_SOURCES": ";".join(sources)}
        if pch_header is not None:
            definitions["JITNEST_PCH_HEADER"] = str(pch_header)
        completed = run_logged(configure_command(self.toolchain, work / "build", definitions), log, work)
        return completed, pch_header

    def _fail(self, unit: Unit, key: str, what: str, log: list[str], sites_of: dict[str, list]) -> BuildError:
        log_path = self.cache.keep_failed_log(key, "\n".join(log))
        message = f"building {unit.label} failed: {what}"
        build_sync.record_failure(self.cache.root, key, message, str(log_path))  # for processes waiting for it
        return BuildError(message, str(log_path), _sites(unit, sites_of))

    def _build_into(self, work: Path, unit: Unit, key: str, compile_jobs: int, progress: Progress,
                    sites_of: dict[str, list], pch: concurrent.futures.Future | None) -> dict:
        module_name = keys.module_name_for(key)
        generated_dir = work / "generated"
        generated_dir.mkdir()
        log: list[str] = [f"jitnest build of {unit.label} (key {key})"]
        started = time.monotonic()
        # The source list is fixed before NESTML runs (the neuron's .cpp is compiled through a
        # wrapper of a fixed name), so CMake configures while NESTML generates, on the idle core.
        sources = ([registration.NEURON_WRAPPER] if unit.neuron is not None else []) + [f"{module_name}.cpp"]
        pairs, weights, delays = unit.nestml_pairs()
        configure_log: list[str] = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as background:
            configuring = background.submit(self._configure, work, module_name, generated_dir, sources, pch,
                                            configure_log)
            try:
                source_dir, generated, generated_now = codegen.generate(
                    self.generated, codegen_key(unit, self.toolchain), sorted({m.file for m in unit.models}),
                    pairs, weights, delays, f"v{self.toolchain.nest_version}", paired_only=unit.is_combination,
                    on_start=lambda: progress.stage(unit.label, "generating code with NESTML"),
                    codegen_opts=unit.codegen_options(), models=[m.name for m in unit.models])
            except codegen.GenerationFailed as failure:
                log.append(failure.log)
                raise self._fail(unit, key, str(failure), log, sites_of) from None
            generation_seconds = time.monotonic() - started
            models = registration.select_models(generated, unit.is_combination)
            # NESTML's files, made faster and smaller where guards allow (generate/transform).
            transformed_dir = work / "transformed"
            transformations = transform.stage(source_dir / "src", transformed_dir, models)
            twins = registration.write_module_sources(
                transformed_dir, generated_dir, module_name, unit.label, unit.neuron is not None, models,
                {s.name: unit.twins_of(s.name) for s in unit.synapses},
                self.toolchain.registers_single_synapse_variants)
            shutil.rmtree(transformed_dir)
            try:
                configured, pch_header = configuring.result()
            except ProcessTimeout as timeout:
                log.extend(configure_log)
                raise self._fail(unit, key, f"CMake did not finish configuring within {timeout.seconds:g} s "
                                 "(JITNEST_COMPILE_TIMEOUT); its processes were killed", log, sites_of) from None
        log.extend(configure_log)
        if configured.returncode != 0:
            errors = first_compiler_errors(configured.stdout + configured.stderr)
            raise self._fail(unit, key, f"CMake could not configure the module build:\n{errors}", log, sites_of)
        with_pch = " (precompiled NEST headers)" if pch_header else ""
        progress.stage(unit.label, f"compiling {len(sources)} files{with_pch}")
        build_dir = work / "build"
        try:
            compiled = run_logged(build_command(self.toolchain, build_dir, compile_jobs), log, work)
        except ProcessTimeout as timeout:
            raise self._fail(unit, key, f"the C++ compiler did not finish within {timeout.seconds:g} s "
                             "(JITNEST_COMPILE_TIMEOUT); its processes were killed", log, sites_of) from None
        if compiled.returncode != 0:
            errors = first_compiler_errors(compiled.stdout + compiled.stderr)
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
            "transformations": transformations,
            "nestml_version": nestml_client.nestml_version(),
            "jitnest_version": jitnest_version,
            "toolchain": self.toolchain.identity(),
            "generation_seconds": round(generation_seconds, 3),
            "generated_now": generated_now,
            "precompiled_header": str(pch_header) if pch_header else None,
            "build_seconds": round(time.monotonic() - started, 3),
            "created": time.time(),
        }
