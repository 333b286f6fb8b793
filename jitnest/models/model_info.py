"""What jitnest knows about a NESTML model without building it.

A model file is parsed (in the NESTML worker) the first time its model is named, so syntax
errors surface at the user's Create/Connect line. Parse results are cached on disk keyed by the
file's content, NESTML's installed files (``nestml_client.nestml_identity``) and the worker's own
source, so a warm run never starts NESTML.
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
from .model_path import ModelSource


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

    def _identity(self) -> tuple[str, str, str]:
        return (self.name, self.kind, self.source_sha256)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelInfo) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    @property
    def is_synapse(self) -> bool:
        return self.kind == "synapse"

    @property
    def reads_postsynaptic_state(self) -> bool:
        """A synapse that NESTML must generate together with its postsynaptic neuron."""
        return self.is_synapse and bool(self.post_ports)

    @classmethod
    def from_worker(cls, model: dict, source_sha256: str) -> ModelInfo:
        return cls(
            name=model["name"],
            file=model["file"],
            line=int(model.get("line") or 0),
            kind=model["kind"],
            input_ports=tuple(model.get("input_ports", ())),
            post_ports=tuple(model.get("post_ports", ()) or ()),
            weight_variable=model.get("weight_variable"),
            delay_variable=model.get("delay_variable"),
            parameters=tuple(model.get("parameters", ())),
            state=tuple(model.get("state", ())),
            defaults=dict(model.get("value_nest_units", {})),
            unevaluated=tuple(model.get("unevaluated", ())),
            recordables=tuple(model.get("recordables", ())),
            moved_to_neuron=tuple(model.get("moved_to_neuron", ()) if model.get("post_ports") else ()),
            source_sha256=source_sha256,
        )


def _worker_identity() -> str:
    return keys.stable_hash([nestml_client.nestml_identity(), nestml_client.worker_identity()])


def _cache_file(source_sha256: str) -> Path:
    root = cache_root()
    directory = private_dir(root, root / "models")
    return directory / f"{keys.parse_key(source_sha256, _worker_identity())}.json"


_memory: dict[tuple[str, str], ModelInfo] = {}


def parse_is_cached(file: Path) -> bool:
    """Whether ``file``'s current content has been parsed before (then ``load`` needs no NESTML)."""
    return _cache_file(sha256_file(file)).is_file()


def load(source: ModelSource, site: CallSite | None = None) -> ModelInfo:
    """Describe ``source``'s model; raise NestmlModelError (naming file, line and ``site``)."""
    source_sha256 = sha256_file(source.file)
    memo_key = (source.name, source_sha256)
    if memo_key in _memory:
        return _memory[memo_key]
    cache_file = _cache_file(source_sha256)
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
            result = nestml_client.parse([str(source.file)])
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
            info = ModelInfo.from_worker(model, source_sha256)
            _memory[memo_key] = info
            return info
    raise NestmlModelError(source.name, [ModelProblem(str(source.file), None,
                                                      f"the file does not define model '{source.name}'")], site)
