"""The module cache: content-addressed, published atomically, built once per key.

Layout under the cache root (``JITNEST_CACHE_DIR``, else the user cache dir), created 0700::

    modules/<key>/            a published entry: <module>.so, manifest.json, generated/, build.log
    models/<sha>.json         parsed model descriptions (see model_info)
    sources/<sha>.nestml      inline NESTML sources registered from notebooks
    locks/<key>.lock          per-key file locks (released by the OS if a builder dies), and while
                              held <key>.lock.holder: who builds it, since when (see locks)
    tmp/<key>.<pid>.<rand>/   builds in progress; renamed into modules/ when complete
    logs/                     logs of failed builds, kept for the user
    generated/, pch/          intermediates: NESTML's output, precompiled NEST headers (ArtifactStore)
    templates/                NESTML's templates as compiled by Jinja2 (see jitnest.worker)
    servers/                  sockets, PID files and logs of shared NESTML servers (generate.nestml_client)

Contract: an entry under ``modules/`` is complete or absent. A build writes into ``tmp/`` and
is published with one ``rename``; a build killed mid-way leaves only a ``tmp/`` directory,
which later builds ignore and remove. Before an entry is used its manifest is checked: the
module file's SHA-256 must match, else the entry is moved aside and rebuilt, never loaded.
Nothing foreign is used (``integrity``): the cache root, its folders, a module entry, an
intermediate artifact (generated code, the precompiled header) must belong to the current user
and not be writable by others, or jitnest refuses with ``UnsafeCacheError`` (never rebuilds over
it: someone else may have changed it).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import filelock

from ..config import settings
from ..errors import CacheIntegrityError, UnsafeCacheError
from ..files import sha256_file
from .integrity import check_private, check_tree, private_dir
from .locks import holding

MANIFEST = "manifest.json"
LAST_USED = "last_used"  # touched at each successful lookup; `jitnest cache prune` removes LRU first
# Intermediate artifact stores: <kind>/<key>/ when complete, <kind>/.<key>.lock, <kind>/.tmp/<key>.*
# while being created. They only speed up builds: prune removes them first.
ARTIFACT_KINDS = {"generated": "generated code", "pch": "precompiled NEST headers"}


def cache_root() -> Path:
    """The cache directory, created private to the user if missing; raises UnsafeCacheError if it
    belongs to someone else or others may write to it (everything jitnest caches is under it)."""
    root = settings().cache_dir
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    check_private(root, "jitnest's cache folder")
    return root


@dataclass(frozen=True)
class CacheEntry:
    """A published, verified module: its directory and manifest."""

    key: str
    directory: Path
    manifest: dict

    @property
    def module_path(self) -> Path:
        return self.directory / self.manifest["module_file"]


class ModuleCache:
    """Build-once, publish-atomically storage of compiled modules under one root."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else cache_root()
        for sub in ("modules", "locks", "tmp", "logs"):
            private_dir(self.root, self.root / sub)

    def entry_dir(self, key: str) -> Path:
        return self.root / "modules" / key

    def is_published(self, key: str) -> bool:
        """Whether an entry for ``key`` exists (cheap; not verified: ``lookup`` does that)."""
        return (self.entry_dir(key) / MANIFEST).is_file()

    def lookup(self, key: str) -> CacheEntry | None:
        """The verified entry for ``key``, or None if absent. Raises CacheIntegrityError if unsafe."""
        directory = self.entry_dir(key)
        manifest_path = directory / MANIFEST
        if not manifest_path.is_file():
            return None
        check_private(directory, "a cached module", self.root, verb="load")
        check_private(manifest_path, "a cached module's manifest", self.root, verb="load")
        try:
            manifest = json.loads(manifest_path.read_text())
            module = directory / manifest["module_file"]
            check_private(module, "a cached module: loading a shared library runs its code", self.root,
                          verb="load")
            if sha256_file(module) != manifest["module_sha256"]:
                raise CacheIntegrityError(f"{module} does not match the SHA-256 in its manifest")
        except (OSError, ValueError, KeyError) as error:
            raise CacheIntegrityError(f"cache entry {directory} is incomplete or corrupt: {error}") from error
        self.mark_used(key)
        return CacheEntry(key, directory, manifest)

    def mark_used(self, key: str) -> None:
        """Stamp ``key``'s entry as used now (best effort: a read-only cache is still usable)."""
        with contextlib.suppress(OSError):
            (self.entry_dir(key) / LAST_USED).touch()

    def discard(self, key: str) -> None:
        """Move a bad entry out of the way (rename is atomic; deletion may then take its time)."""
        _rename_away_and_delete(self.entry_dir(key), self.root / "tmp" / f"{key}.discarded")

    def lock_file(self, key: str) -> filelock.FileLock:
        """The per-key lock a build holds (released by the OS if its holder dies)."""
        return filelock.FileLock(str(self.root / "locks" / f"{key}.lock"))

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        with self.lock_file(key):
            yield

    def get_or_build(self, key: str, build: Callable[[Path], dict], on_wait: Callable[[str], None] | None = None,
                     what: str | None = None) -> tuple[CacheEntry, bool]:
        """The entry for ``key``, building it with ``build(tmp_dir) -> manifest`` if needed.

        Returns ``(entry, built_here)``. Under the per-key lock a concurrent process that
        built the same key first is seen, so each key is built once. ``build`` must write the
        module file and return the manifest (this method adds the module's SHA-256). If it
        raises, nothing is published and the exception propagates. While another process builds
        the key, this one waits, logs for whom (see ``locks``) and calls ``on_wait(holder)``;
        ``what`` names the module in those messages.
        """
        try:
            entry = self.lookup(key)
            if entry is not None:
                return entry, False
        except CacheIntegrityError:
            pass  # re-checked under the lock below, where it is safe to replace it
        with holding(self.lock_file(key), f"the module of {what or key[:16]}", on_wait):
            try:
                entry = self.lookup(key)
                if entry is not None:
                    return entry, False
            except UnsafeCacheError:
                raise  # someone else's: not ours to replace
            except CacheIntegrityError:
                self.discard(key)
            self._remove_stale_builds(key)
            work = Path(tempfile.mkdtemp(prefix=f"{key}.{os.getpid()}.", dir=self.root / "tmp"))
            try:
                manifest = build(work)
                manifest["module_sha256"] = sha256_file(work / manifest["module_file"])
                (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
                os.chmod(work, 0o700)
                os.rename(work, self.entry_dir(key))
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
            entry = self.lookup(key)
            assert entry is not None
            return entry, True

    def is_locked(self, key: str) -> bool:
        """Whether some process holds ``key``'s build lock now."""
        lock = self.lock_file(key)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            return True
        lock.release()
        return False

    def _remove_stale_builds(self, key: str) -> None:
        """Remove leftovers of killed builds of ``key`` (we hold its lock, so none is running)."""
        for leftover in (self.root / "tmp").glob(f"{key}.*"):
            shutil.rmtree(leftover, ignore_errors=True)

    def keep_failed_log(self, key: str, log_text: str) -> Path:
        path = self.root / "logs" / f"{key[:16]}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        path.write_text(log_text)
        return path

    def entries(self) -> list[CacheEntry]:
        """All published entries that pass verification."""
        found = []
        for directory in sorted((self.root / "modules").iterdir()):
            with contextlib.suppress(CacheIntegrityError):
                entry = self.lookup(directory.name)
                if entry is not None:
                    found.append(entry)
        return found


class ArtifactStore:
    """Build-once, publish-atomically directories by key, for intermediate artifacts.

    Used for generated code (reused when only compiler flags change) and the precompiled NEST
    header (shared by every module built with the same toolchain). Same guarantees as the module
    cache: an artifact directory is complete or absent; concurrent processes build it once.
    """

    COMPLETE = ".complete"

    def __init__(self, root: Path, kind: str) -> None:
        self.cache_root = root
        self.kind = kind
        self.root = private_dir(root, root / kind)
        private_dir(root, self.root / ".tmp")

    def path(self, key: str) -> Path:
        return self.root / key

    def lock_file(self, key: str) -> filelock.FileLock:
        return filelock.FileLock(str(self.root / f".{key}.lock"))

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Held while ``key`` is created or removed."""
        with self.lock_file(key):
            yield

    def discard(self, key: str) -> None:
        """Rename ``key``'s directory away, then delete it (call under ``lock(key)``)."""
        _rename_away_and_delete(self.path(key), self.root / ".tmp" / f"{key}.removed")

    def get(self, key: str) -> Path | None:
        """The complete artifact ``key``, checked to be the user's own throughout (its files are
        compiled or force-included into compiles); None if absent."""
        directory = self.path(key)
        if not (directory / self.COMPLETE).is_file():
            return None
        check_tree(self.cache_root, directory, ARTIFACT_KINDS.get(self.kind, self.kind))
        return directory

    def get_or_create(self, key: str, create: Callable[[Path], None], what: str | None = None) -> Path:
        """The artifact directory for ``key``, created by ``create(tmp_dir)`` if missing (``what``
        names it in the messages of a process that waits for another's creation)."""
        found = self.get(key)
        if found is not None:
            return found
        with holding(self.lock_file(key), what or f"{ARTIFACT_KINDS.get(self.kind, self.kind)} {key[:16]}"):
            found = self.get(key)
            if found is not None:
                return found
            if self.path(key).exists():  # a complete marker is missing: leftovers, never used
                shutil.rmtree(self.path(key), ignore_errors=True)
            for leftover in (self.root / ".tmp").glob(f"{key}.*"):
                shutil.rmtree(leftover, ignore_errors=True)
            work = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=self.root / ".tmp"))
            try:
                create(work)
                (work / self.COMPLETE).write_text(str(time.time()))
                os.rename(work, self.path(key))
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
        return self.path(key)


def _rename_away_and_delete(directory: Path, trash_prefix: Path) -> None:
    """Rename ``directory`` to a unique name starting with ``trash_prefix`` (atomic: other processes
    see it whole or not at all), then delete it (which may take its time); nothing if it is gone."""
    if directory.exists():
        trash = trash_prefix.with_name(f"{trash_prefix.name}.{os.getpid()}.{time.time_ns()}")
        os.rename(directory, trash)
        shutil.rmtree(trash, ignore_errors=True)
