"""Where NESTML models come from, and what a name in Create/Connect means.

Search order, first hit wins: single files and inline sources added through the API (latest
first), folders added through the API (latest first), folders in ``JITNEST_MODEL_PATH``
(``os.pathsep``-separated, in order), NESTML's own model library. Files are indexed by the
``model <name>:`` lines they contain; nothing is parsed until a model is named.

Naming rule (NESTML's suffix convention): ``X_nestml`` always means NESTML model ``X``; a bare
``X`` means NEST's built-in ``X`` where one exists, else NESTML model ``X``.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ..cache.integrity import check_private, private_dir
from ..cache.store import cache_root
from ..config import settings
from ..files import write_atomically
from .options import ModelOptions

NESTML_SUFFIX = "_nestml"
_MODEL_LINE = re.compile(r"^\s*model\s+([A-Za-z_]\w*)\s*:", re.MULTILINE)


@dataclass(frozen=True)
class ModelSource:
    """A NESTML model: its name and the file that defines it."""

    name: str
    file: Path


def nestml_library_dirs() -> list[Path]:
    """NESTML's model library, installed as data files under ``<prefix>/models``."""
    candidates = [Path(sys.prefix) / "models", Path(sys.base_prefix) / "models"]
    return [c for c in dict.fromkeys(candidates) if c.is_dir()]


def models_in_file(path: Path) -> list[str]:
    try:
        return _MODEL_LINE.findall(path.read_text(errors="replace"))
    except OSError:
        return []


class ModelPath:
    """The ordered set of places NESTML models are looked up in."""

    def __init__(self, sources_dir: Path | None = None) -> None:
        self._explicit: dict[str, ModelSource] = {}
        self._folders: list[Path] = []
        self._index: dict[str, ModelSource] | None = None
        self._sources_dir = sources_dir
        self.options = ModelOptions()  # the user's per-model options (models.options)

    # --- adding models ------------------------------------------------------------------

    def add_folder(self, folder: str | os.PathLike) -> None:
        path = Path(folder).expanduser().resolve()
        if not path.is_dir():
            raise FileNotFoundError(f"NESTML model folder does not exist: {path}")
        self._folders.insert(0, path)
        self._index = None

    def add_file(self, file: str | os.PathLike) -> list[str]:
        path = Path(file).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"NESTML model file does not exist: {path}")
        names = models_in_file(path)
        if not names:
            raise ValueError(f"{path} defines no NESTML model (no line 'model <name>:')")
        for name in names:
            self._explicit[name] = ModelSource(name, path)
        return names

    def add_source(self, text: str) -> list[str]:
        """Register NESTML source text (e.g. from a notebook cell); returns its model names.

        The text is stored under its SHA-256, so the same text always maps to the same file and
        changed text to a new one (and so to a new module: a stale build is never reused).
        """
        if self._sources_dir is None:
            root = cache_root()
            self._sources_dir = private_dir(root, root / "sources")
        else:
            self._sources_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        digest = hashlib.sha256(text.encode()).hexdigest()
        names = _MODEL_LINE.findall(text)
        if not names:
            raise ValueError("the NESTML source defines no model (no line 'model <name>:')")
        path = self._sources_dir / f"{names[0]}-{digest[:16]}.nestml"
        if not path.exists():
            write_atomically(path, text)
        check_private(path, "an inline NESTML source (it is compiled)", self._sources_dir.parent)
        return self.add_file(path)

    # --- lookup -------------------------------------------------------------------------

    def folders(self) -> list[Path]:
        return [*self._folders, *settings().model_path, *nestml_library_dirs()]

    def _build_index(self) -> dict[str, ModelSource]:
        index: dict[str, ModelSource] = {}
        for folder in self.folders():
            if not folder.is_dir():
                continue
            for file in sorted(folder.rglob("*.nestml")):
                for name in models_in_file(file):
                    index.setdefault(name, ModelSource(name, file.resolve()))
        return index

    def find(self, name: str) -> ModelSource | None:
        """The NESTML model called exactly ``name`` (no suffix handling), or None."""
        if name in self._explicit:
            return self._explicit[name]
        if self._index is None:
            self._index = self._build_index()
        return self._index.get(name)

    def all_names(self) -> list[str]:
        if self._index is None:
            self._index = self._build_index()
        return sorted(set(self._index) | set(self._explicit))


def strip_suffix(name: str) -> str | None:
    """``X`` for ``X_nestml``, else None."""
    if name.endswith(NESTML_SUFFIX) and len(name) > len(NESTML_SUFFIX):
        return name[: -len(NESTML_SUFFIX)]
    return None
