"""Content fingerprints of installed file trees (NESTML, ODE-toolbox, NEST's headers).

A cache key must change whenever a file that produced the cached thing changes, also when the
version string does not: an editable NESTML, a patched file, a NEST rebuilt from other sources.
So keys take a hash of the *contents* of the files, not of a version.

``tree_fingerprint(roots)`` is the SHA-256 over every file under ``roots`` (relative path and
bytes; ``__pycache__`` and ``.pyc`` files are skipped: Python writes them on import, and they
follow from the sources). Hashing ~12 MB on every run would cost a warm run tens of
milliseconds, so the result is remembered in the cache folder (``fingerprints.json``) under a
digest of every file's path, size, modification time, change time and inode: the files are
only listed and ``stat``-ed on a warm run (~10 ms for NESTML, ODE-toolbox and NEST's headers).
A write to a file changes its change time even where a tool restores the modification time
(``cp -p``, ``tar``, ``rsync -t``), so a changed file is always hashed again. Callers compute
each fingerprint once per process.

Standard library only (and ``jitnest.files`` for the shared file; ``integrity`` checks it is the
user's own before trusting it).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from ..files import write_atomically
from .integrity import check_private

STORE = "fingerprints.json"
_MAX_REMEMBERED = 64  # fingerprints kept in the store (a few per installation; older ones dropped)


def _files(root: str) -> list[tuple[str, os.stat_result]]:
    """(path relative to ``root``, stat) of every file under ``root``, sorted; symlinks followed
    to files (what the compiler or Python would read), not into directories. (Runs on every warm
    run: relative paths are built as the walk goes, not with os.path.relpath.)"""
    found: list[tuple[str, os.stat_result]] = []
    pending = [("", root)]
    while pending:
        prefix, directory = pending.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    name = entry.name
                    if entry.is_dir(follow_symlinks=False):
                        if name != "__pycache__":
                            pending.append((f"{prefix}{name}/", entry.path))
                    elif not name.endswith(".pyc"):
                        try:
                            found.append((prefix + name, entry.stat()))
                        except OSError:  # a dangling symlink: nothing to read
                            continue
        except OSError:
            continue
    found.sort(key=lambda item: item[0])
    return found


def _content_hash(roots: Sequence[str], listing: list[list[tuple[str, os.stat_result]]]) -> str:
    digest = hashlib.sha256()
    for index, (root, files) in enumerate(zip(roots, listing)):
        digest.update(f"root {index} {len(files)}\0".encode())
        for relative, _ in files:
            digest.update(relative.encode() + b"\0")
            with open(os.path.join(root, relative), "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()


def _stat_digest(roots: Sequence[str], listing: list[list[tuple[str, os.stat_result]]]) -> str:
    lines = []
    for root, files in zip(roots, listing):
        lines.append(os.path.abspath(root))
        lines += [f"{relative}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ctime_ns}\0{info.st_ino}"
                  for relative, info in files]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def tree_fingerprint(roots: Sequence[str | os.PathLike], store_dir: Path | None = None) -> str:
    """SHA-256 of the relative paths and contents of every file under ``roots`` (in that order).

    Independent of where the trees are (a copy elsewhere has the same fingerprint). With
    ``store_dir``, the result is remembered there (see the module's docstring) and looked up by
    the files' stats; a missing root counts as empty.
    """
    roots = [str(root) for root in roots]
    listing = [_files(root) for root in roots]
    return _remembered(store_dir, _stat_digest(roots, listing), lambda: _content_hash(roots, listing))


def remembered_by_stats(files: Sequence[str | os.PathLike], compute: Callable[[], str],
                        store_dir: Path | None = None) -> str:
    """``compute()``, remembered in ``store_dir`` under the stats of ``files`` (missing ones count
    as missing): for what is slow to find out and changes only when those files do, e.g. the
    versions of packages, which pip cannot change without rewriting their ``__init__.py``."""
    lines = ["watched"]
    for file in map(str, files):
        try:
            info = os.stat(file)
            lines.append(f"{os.path.abspath(file)}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ctime_ns}"
                         f"\0{info.st_ino}")
        except OSError:
            lines.append(f"{file}\0missing")
    return _remembered(store_dir, hashlib.sha256("\n".join(lines).encode()).hexdigest(), compute)


def _remembered(store_dir: Path | None, stats: str, compute: Callable[[], str]) -> str:
    store = store_dir / STORE if store_dir is not None else None
    known: dict[str, str] = {}
    if store is not None:
        try:
            if store.exists():  # it decides which cached module a key finds: it must be the user's own
                check_private(store, "remembered fingerprints of installed files", store_dir)
            loaded = json.loads(store.read_text())
            known = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            known = {}
    value = known.get(stats)
    if not isinstance(value, str):
        value = compute()
        if store is not None:
            known = {k: v for k, v in list(known.items())[-(_MAX_REMEMBERED - 1):] if isinstance(v, str)}
            known[stats] = value
            try:
                write_atomically(store, json.dumps(known))
            except OSError:  # a read-only cache still gives the right answer, only slower
                pass
    return value
