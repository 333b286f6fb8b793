"""Looking into and tidying a cache folder: entries, intermediates, clear and prune.

Removal is safe against other processes using the cache at the same time: an entry (or
intermediate) is removed under its per-key build lock, by renaming it out of the way first (so
another process sees it whole or not at all) and deleting it afterwards. Builds in progress are
never touched. Lock files and inline NESTML sources (``sources/``) are kept.

Entries are read here without ``ModuleCache.lookup``, which would mark them used. Nothing here
prints: the command line (``jitnest.cli``) formats what these functions return.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import filelock

from .store import ARTIFACT_KINDS, LAST_USED, MANIFEST, ArtifactStore, ModuleCache


def disk_usage(path: Path) -> int:
    """Bytes allocated on disk under ``path`` (symlinks are not followed)."""
    total = 0
    with contextlib.suppress(OSError):
        info = path.lstat()
        total += _allocated(info)
        if path.is_dir() and not path.is_symlink():
            for base, dirs, files in os.walk(path):
                for name in dirs + files:
                    with contextlib.suppress(OSError):
                        total += _allocated(os.lstat(os.path.join(base, name)))
    return total


def _allocated(info: os.stat_result) -> int:
    blocks = getattr(info, "st_blocks", None)
    return blocks * 512 if blocks is not None else info.st_size


def last_used(directory: Path) -> float:
    """When an entry was last used: its ``last_used`` stamp, else when it was published."""
    for path in (directory / LAST_USED, directory):
        with contextlib.suppress(OSError):
            return path.stat().st_mtime
    return 0.0


@dataclass
class Entry:
    """A published module entry as found on disk (``manifest`` is None if unreadable)."""

    key: str
    directory: Path
    manifest: dict | None
    size: int
    last_used: float

    @property
    def created(self) -> float | None:
        value = (self.manifest or {}).get("created")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def toolchain(self) -> dict:
        return (self.manifest or {}).get("toolchain") or {}

    @property
    def model_names(self) -> list[str]:
        return [m.get("name", "?") for m in (self.manifest or {}).get("models", [])]


def read_entry(directory: Path) -> Entry:
    manifest = None
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads((directory / MANIFEST).read_text())
        manifest = loaded if isinstance(loaded, dict) else None
    return Entry(directory.name, directory, manifest, disk_usage(directory), last_used(directory))


def entries(root: Path) -> list[Entry]:
    """Every entry folder under ``root/modules``, complete or not, by key."""
    modules = root / "modules"
    if not modules.is_dir():
        return []
    return [read_entry(d) for d in sorted(modules.iterdir()) if d.is_dir() and not d.is_symlink()]


def find(root: Path, prefix: str) -> list[Entry]:
    """The entries whose key starts with ``prefix`` (case-insensitive)."""
    prefix = prefix.strip().lower()
    return [e for e in entries(root) if e.key.lower().startswith(prefix)] if prefix else []


@dataclass
class Artifact:
    """A complete intermediate (generated code or a precompiled header)."""

    kind: str
    directory: Path
    size: int
    created: float


def artifacts(root: Path) -> list[Artifact]:
    """Complete intermediate artifacts, oldest first."""
    found = []
    for kind in ARTIFACT_KINDS:
        store = root / kind
        if not store.is_dir():
            continue
        for directory in store.iterdir():
            if directory.name.startswith(".") or not directory.is_dir() or directory.is_symlink():
                continue
            found.append(Artifact(kind, directory, disk_usage(directory), last_used(directory)))
    return sorted(found, key=lambda a: a.created)


def _delete(path: Path) -> int:
    """Delete a file or a directory tree (symlinks are not followed); returns the bytes freed."""
    size = disk_usage(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    return size


def _delete_unless_locked(path: Path, lock: filelock.FileLock) -> int | None:
    """Delete ``path`` under ``lock`` (taken without waiting); None if its holder, a build or
    creation in progress, owns ``path``."""
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        return None
    try:
        return _delete(path)
    finally:
        lock.release()


def remove_entry(cache: ModuleCache, key: str, unless_used_after: float | None = None) -> int | None:
    """Remove entry ``key``; returns the bytes freed, or None if it was gone or used meanwhile."""
    with cache.lock(key):
        directory = cache.entry_dir(key)
        if not directory.is_dir():
            return None
        if unless_used_after is not None and last_used(directory) > unless_used_after:
            return None  # another process used it after we chose it: it is not least recently used any more
        size = disk_usage(directory)
        cache.discard(key)
        return size


def _remove_idle_tmp(cache: ModuleCache) -> tuple[int, int]:
    """Remove leftovers in tmp/ whose key nobody is building; returns (bytes freed, builds left alone)."""
    freed = busy = 0
    tmp = cache.root / "tmp"
    for path in sorted(tmp.iterdir()) if tmp.is_dir() else []:
        size = _delete_unless_locked(path, cache.lock_file(path.name.split(".", 1)[0]))
        if size is None:
            busy += 1  # a build in progress: its directory is not ours to remove
        else:
            freed += size
    return freed, busy


def remove_artifact(directory: Path) -> int | None:
    """Remove one artifact under its store's lock, renaming it away first; returns the bytes freed."""
    store = ArtifactStore(directory.parent.parent, directory.parent.name)
    with store.lock(directory.name):
        if not directory.is_dir():
            return None
        size = disk_usage(directory)
        store.discard(directory.name)
        return size


def _remove_idle_artifact_tmp(root: Path) -> tuple[int, int]:
    """Remove artifacts' leftovers nobody is creating; returns (bytes freed, creations left alone)."""
    freed = busy = 0
    for kind in ARTIFACT_KINDS:
        tmp = root / kind / ".tmp"
        if not tmp.is_dir():
            continue
        store = ArtifactStore(root, kind)
        for path in sorted(tmp.iterdir()):
            size = _delete_unless_locked(path, store.lock_file(path.name.split(".", 1)[0]))
            if size is None:
                busy += 1
            else:
                freed += size
    return freed, busy


def builds_in_progress(cache: ModuleCache) -> int:
    """How many module builds hold their lock now (they may be using intermediates they looked up)."""
    tmp = cache.root / "tmp"
    return sum(cache.is_locked(path.name.split(".", 1)[0]) for path in (tmp.iterdir() if tmp.is_dir() else []))


def _empty_dir(directory: Path) -> int:
    return sum(_delete(path) for path in directory.iterdir()) if directory.is_dir() else 0


@dataclass
class Removal:
    """What ``clear`` or ``prune`` did."""

    modules: int = 0
    freed: int = 0
    removed: list[str] = field(default_factory=list)  # "module KEY (label)", "<kind> KEY"
    busy: int = 0  # builds in progress left alone
    kept_intermediates: bool = False  # builds in progress may be using them


def clear(root: Path) -> Removal:
    """Remove every module, intermediate, the parse cache, logs and idle leftovers."""
    cache = ModuleCache(root)
    report = Removal()
    for entry in entries(root):
        size = remove_entry(cache, entry.key)
        if size is not None:
            report.modules += 1
            report.freed += size
    report.kept_intermediates = builds_in_progress(cache) > 0
    for artifact in [] if report.kept_intermediates else artifacts(root):
        report.freed += remove_artifact(artifact.directory) or 0
    tmp_freed, busy = _remove_idle_tmp(cache)
    artifact_tmp_freed, artifacts_busy = _remove_idle_artifact_tmp(root)
    report.busy = busy + artifacts_busy
    report.freed += tmp_freed + artifact_tmp_freed + _empty_dir(root / "logs") + _empty_dir(root / "models")
    return report


def prune(root: Path, limit: int, short_key: int = 12) -> Removal:
    """Remove intermediates (oldest first), then modules (least recently used first), until
    ``root`` holds at most ``limit`` bytes."""
    cache = ModuleCache(root)
    total = disk_usage(root)
    report = Removal()
    report.kept_intermediates = builds_in_progress(cache) > 0
    for artifact in [] if report.kept_intermediates else artifacts(root):
        if total <= limit:
            break
        freed = remove_artifact(artifact.directory)
        if freed is not None:
            report.removed.append(f"{ARTIFACT_KINDS[artifact.kind]} {artifact.directory.name[:short_key]}")
            total -= freed
    for entry in sorted(entries(root), key=lambda e: e.last_used):
        if total <= limit:
            break
        freed = remove_entry(cache, entry.key, unless_used_after=entry.last_used)
        if freed is not None:
            report.removed.append(f"module {entry.key[:short_key]} ({(entry.manifest or {}).get('label', '?')})")
            report.modules += 1
            total -= freed
    return report
