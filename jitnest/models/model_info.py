"""What jitnest knows about a NESTML model without building it.

A model file is parsed (in the NESTML worker) the first time its model is named, so syntax
errors surface at the user's Create/Connect line. Parse results are cached on disk keyed by the
file's content, the model options that change a description (see ``models.options``), NESTML's
installed files (``nestml_client.nestml_identity``) and the worker's own source, so a warm run
never starts NESTML.

``load_paired`` describes what a neuron gains when NESTML pairs it with a synapse (the variables it
moves or copies into the neuron as ``<var>__for_<synapse>_nestml``), by NESTML's own pairing in the
worker, cached the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..cache import keys
from ..cache.integrity import check_private, private_dir
from ..cache.store import ModuleCache, cache_root
from ..call_site import CallSite
from ..errors import BuildError, ModelProblem, NestmlModelError
from ..files import sha256_file, write_atomically
from ..generate import nestml_client
from . import options as model_options
from .model_path import NESTML_SUFFIX, ModelSource


@dataclass(frozen=True, eq=False)
class ModelInfo:
    """A parsed NESTML model (neuron or synapse), as the worker describes it.

    Two infos are equal when they describe the same model from the same source text.
    """

    name: str
    file: str
    line: int
    kind: str
    input_ports: tuple[dict, ...] = ()
    post_ports: tuple[str, ...] = ()
    weight_variable: str | None = None
    delay_variable: str | None = None
    parameters: tuple[dict, ...] = ()
    state: tuple[dict, ...] = ()
    defaults: dict = field(default_factory=dict)
    unevaluated: tuple[dict, ...] = ()
    recordables: tuple[str, ...] = ()
    moved_to_neuron: tuple[str, ...] = ()  # synapse state NESTML moves into the paired neuron
    source_sha256: str = ""
    vt_ports: tuple[str, ...] = ()  # spike ports fed by a volume_transmitter (third factor)
    continuous_post_ports: tuple[str, ...] = ()  # continuous ports among post_ports
    weight_variable_source: str | None = None  # "option", "emit_spike" or "guess"
    receptor_types: dict | None = None  # neurons: as NEST reports it (None: the model reports no such key)
    continuous_inputs: dict | None = None  # neurons: likewise
    variables: tuple[str, ...] = ()  # neurons: state variables and inline expressions (a post port may read one)
    options: dict = field(default_factory=dict)  # the user's model options (models.options)

    def _identity(self) -> tuple[str, str, str, str]:
        return (self.name, self.kind, self.source_sha256, json.dumps(self.options, sort_keys=True))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelInfo) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    @property
    def is_synapse(self) -> bool:
        return self.kind == "synapse"

    @property
    def reads_postsynaptic_state(self) -> bool:
        """A synapse that NESTML must generate together with its postsynaptic neuron: it reads the
        neuron's spikes or variables (post ports), or has third-factor ports (NESTML takes
        ``vt_ports`` only as part of a neuron–synapse pair)."""
        return self.is_synapse and bool(self.post_ports or self.vt_ports)

    def post_port_variable(self, port: str) -> str:
        """The neuron variable a continuous post port reads (by default the port's name)."""
        return self.options.get("post_port_variables", {}).get(port, port)

    def codegen_options(self) -> dict:
        """This model's contribution to the NESTML options of every unit it is generated in."""
        return model_options.unit_codegen_options(self.options)

    @classmethod
    def from_worker(cls, model: dict, source_sha256: str, options: dict | None = None) -> ModelInfo:
        options = options or {}
        post_ports = tuple(model.get("post_ports", ()) or ())
        paired = bool(post_ports or model.get("vt_ports"))
        return cls(
            name=model["name"],
            file=model["file"],
            line=int(model.get("line") or 0),
            kind=model["kind"],
            input_ports=tuple(model.get("input_ports", ())),
            post_ports=post_ports,
            weight_variable=model.get("weight_variable") or model.get("weight_variable_guess"),
            delay_variable=model.get("delay_variable"),
            parameters=tuple(model.get("parameters", ())),
            state=tuple(model.get("state", ())),
            defaults=dict(model.get("value_nest_units", {})),
            unevaluated=tuple(model.get("unevaluated", ())),
            recordables=tuple(model.get("recordables", ())),
            moved_to_neuron=tuple(model.get("moved_to_neuron", ()) if paired else ()),
            source_sha256=source_sha256,
            vt_ports=tuple(model.get("vt_ports", ()) or ()),
            continuous_post_ports=tuple(model.get("continuous_post_ports", ()) or ()),
            weight_variable_source=model.get("weight_variable_source"),
            receptor_types=model.get("receptor_types"),
            continuous_inputs=model.get("continuous_inputs"),
            variables=tuple([d.get("nest_name") or d["name"] for d in model.get("state", ())]
                            + list(model.get("inline_expressions", ()))),
            options=dict(options),
        )


def _worker_identity() -> str:
    return keys.stable_hash([nestml_client.nestml_identity(), nestml_client.worker_identity()])


def _cache_file(source_sha256: str, options: dict | None = None) -> Path:
    root = cache_root()
    directory = private_dir(root, root / "models")
    worker = _worker_identity() if not options else keys.stable_hash([_worker_identity(), options])
    return directory / f"{keys.parse_key(source_sha256, worker)}.json"


_memory: dict[tuple[str, str], ModelInfo] = {}


def parse_is_cached(file: Path) -> bool:
    """Whether ``file``'s current content has been parsed before (then ``load`` needs no NESTML)."""
    return _cache_file(sha256_file(file)).is_file()


def load(source: ModelSource, site: CallSite | None = None, options: dict | None = None) -> ModelInfo:
    """Describe ``source``'s model with the user's ``options`` (``models.options``); raise
    NestmlModelError (naming file, line and ``site``)."""
    source_sha256 = sha256_file(source.file)
    options = options or {}
    described_with = model_options.description_options(options)
    memo_key = (source.name, source_sha256, json.dumps(options, sort_keys=True))
    if memo_key in _memory:
        return _memory[memo_key]
    # (options change only the description of the model they belong to: the request names that one)
    request_options = {source.name: described_with} if described_with else {}
    cache_file = _cache_file(source_sha256, request_options)
    models: list[dict] | None = None
    if cache_file.is_file():
        # a description decides what is generated and how names, defaults and ports are treated
        check_private(cache_file, "a cached NESTML parse result", cache_file.parents[1])
        try:
            models = json.loads(cache_file.read_text())["models"]
        except (OSError, ValueError, KeyError):
            models = None
    if models is None:
        try:
            result = nestml_client.parse([str(source.file)], request_options)
        except nestml_client.WorkerCrash as crash:  # also a time-out: the model is not known to be wrong
            log_path = ModuleCache().keep_failed_log(f"parse-{source_sha256}", crash.log)
            raise BuildError(f"parsing {source.file} (model '{source.name}') failed: {crash}", str(log_path),
                             [site] if site is not None else []) from None
        if not result.ok:
            problems = result.problems() or [ModelProblem(str(source.file), None, result.log.strip()[-2000:])]
            raise NestmlModelError(source.name, problems, site)
        models = result.answer["models"]
        write_atomically(cache_file, json.dumps({"file": str(source.file), "models": models}))
    for model in models:
        if model["name"] == source.name:
            try:
                model_options.check_kind(source.name, options, model["kind"] == "synapse")
            except ValueError as error:
                raise NestmlModelError(source.name, [ModelProblem(str(source.file), model.get("line"),
                                                                  str(error))], site) from None
            info = ModelInfo.from_worker(model, source_sha256, options)
            _memory[memo_key] = info
            return info
    raise NestmlModelError(source.name, [ModelProblem(str(source.file), None,
                                                      f"the file does not define model '{source.name}'")], site)


@dataclass(frozen=True)
class PairedVariables:
    """What a neuron gains when NESTML pairs it with one synapse: declarations and default values
    of the variables named ``<var>__for_<synapse>_nestml`` (moved state, copied parameters), and
    the ones it records. Names are NEST's."""

    parameters: tuple[dict, ...] = ()
    state: tuple[dict, ...] = ()
    defaults: dict = field(default_factory=dict)
    unevaluated: tuple[dict, ...] = ()
    recordables: tuple[str, ...] = ()

    @classmethod
    def from_worker(cls, paired_neuron: dict, synapse: str) -> PairedVariables:
        suffix = f"__for_{synapse}{NESTML_SUFFIX}"

        def own(name: str) -> bool:
            return name.endswith(suffix)

        def of(declarations: list[dict]) -> tuple[dict, ...]:
            return tuple(d for d in declarations if own(d.get("nest_name") or d["name"]))

        return cls(
            parameters=of(paired_neuron.get("parameters", [])),
            state=of(paired_neuron.get("state", [])),
            defaults={k: v for k, v in paired_neuron.get("value_nest_units", {}).items() if own(k)},
            unevaluated=tuple(u for u in paired_neuron.get("unevaluated", []) if own(u["name"])),
            recordables=tuple(r for r in paired_neuron.get("recordables", []) if own(r)),
        )


_paired_memory: dict[str, PairedVariables] = {}


def pair_spec(synapse: ModelInfo) -> dict:
    """NESTML's entry for ``synapse`` in ``neuron_synapse_pairs``: its post ports (a continuous one as
    ``[port, neuron variable]``) and vt ports."""
    spec: dict = {"post_ports": [[p, synapse.post_port_variable(p)] if p in synapse.continuous_post_ports else p
                                 for p in synapse.post_ports]}
    if synapse.vt_ports:
        spec["vt_ports"] = list(synapse.vt_ports)
    return spec


def pair_request(neuron: ModelInfo, synapse: ModelInfo) -> dict:
    """The NESTML options of a pair of ``neuron`` with ``synapse`` alone (as ``plan.Unit`` gives them)."""
    return {
        "neuron": neuron.name, "synapses": {synapse.name: pair_spec(synapse)},
        "weight_variable": {synapse.name: synapse.weight_variable} if synapse.weight_variable else {},
        "delay_variable": {synapse.name: synapse.delay_variable} if synapse.delay_variable else {},
        "strictly_synaptic_vars": ({synapse.name: list(synapse.options["strictly_synaptic_vars"])}
                                   if synapse.options.get("strictly_synaptic_vars") else {}),
    }


def load_paired(neuron: ModelInfo, synapse: ModelInfo, site: CallSite | None = None) -> PairedVariables:
    """What ``neuron`` gains when paired with ``synapse`` (NESTML's pairing, run by the worker once
    per sources and options; cached on disk). Raises NestmlModelError if NESTML cannot pair them."""
    request = pair_request(neuron, synapse)
    files = sorted({neuron.file, synapse.file})
    key = keys.stable_hash([_worker_identity(), neuron.source_sha256, synapse.source_sha256, request])
    if key in _paired_memory:
        return _paired_memory[key]
    directory = cache_root() / "models"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    cache_file = directory / f"pair-{key}.json"
    described: dict | None = None
    if cache_file.is_file():
        try:
            described = json.loads(cache_file.read_text())["neuron"]
        except (OSError, ValueError, KeyError):
            described = None
    if described is None:
        result = nestml_client.describe_pair(files, request)
        if not result.ok:
            problems = result.problems() or [ModelProblem(neuron.file, None, result.log.strip()[-2000:])]
            raise NestmlModelError(f"{neuron.name} paired with {synapse.name}", problems, site)
        described = result.answer["neuron"]
        write_atomically(cache_file, json.dumps({"request": request, "neuron": described}))
    paired = PairedVariables.from_worker(described, synapse.name)
    _paired_memory[key] = paired
    return paired
