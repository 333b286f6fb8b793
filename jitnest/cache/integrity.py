"""Nothing foreign: what jitnest compiles, loads or trusts from its cache folder is the user's own.

A cache that another user can write to lets that user run code as you: a module's shared library
runs its initialisers when NEST loads it, the precompiled NEST header is force-included into every
compile, generated sources are compiled, NESTML's worker executes the compiled templates kept in
``templates/`` (Jinja2 bytecode), and parse results, file fingerprints and tool versions decide
what is built and which cached module a key finds.

So before any of them is used, jitnest checks that it, and every folder from the cache root down
to it, belongs to the current user and is not writable by group or others; the cache root itself is
checked whenever it is looked up (``store.cache_root``), and so is a folder jitnest finds already
there (``mkdir`` keeps the mode of an existing folder). A failed check raises
``UnsafeCacheError`` naming the path and the fix: ``chmod go-w`` for loose permissions, removing
the cache (or another ``JITNEST_CACHE_DIR``) for a path that belongs to someone else. Nothing is
repaired silently: permissions loosened by someone else may mean the content was changed.

Standard library only (and ``jitnest.errors``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import UnsafeCacheError

_LOOSE = stat.S_IWGRP | stat.S_IWOTH


def check_private(path: Path, what: str, root: Path | None = None, verb: str = "use") -> os.stat_result:
    """Raise UnsafeCacheError unless ``path`` belongs to this user and only this user may write
    it; ``what`` says what it is (for the message), ``root`` is the cache folder (named in the
    advice). Returns its stat."""
    info = path.stat()
    if info.st_uid != os.getuid():
        where = root if root is not None else path
        raise UnsafeCacheError(
            f"refusing to {verb} {path} ({what}): it belongs to uid {info.st_uid}, not to you (uid {os.getuid()}); "
            f"code or data another user put into jitnest's cache would run as you. Remove {where} "
            "(jitnest rebuilds what it needs), or set JITNEST_CACHE_DIR to a folder of your own.")
    if info.st_mode & _LOOSE:
        raise UnsafeCacheError(
            f"refusing to {verb} {path} ({what}): it is writable by other users (mode "
            f"{stat.filemode(info.st_mode)}), so its content may not be yours. If nobody else changed it, fix "
            f"with: chmod go-w {path}{' (or chmod -R go-w ' + str(root) + ')' if root is not None else ''}; "
            f"otherwise remove {root if root is not None else path}.")
    return info


def check_path(root: Path, path: Path, what: str, verb: str = "use") -> None:
    """``check_private`` for ``path`` and every folder between ``root`` (exclusive: the root is
    checked by ``store.cache_root``) and it."""
    relative = path.relative_to(root)
    current = root
    for part in relative.parts:
        current = current / part
        check_private(current, what if current == path else "a folder of jitnest's cache", root, verb)


def check_tree(root: Path, path: Path, what: str) -> None:
    """``check_path`` for ``path``, then ``check_private`` for everything below it (symlinks are
    checked where they point: that is what a compiler or loader reads)."""
    check_path(root, path, what)
    if not path.is_dir():
        return
    for base, directories, files in os.walk(path):
        for name in directories + files:
            check_private(Path(base) / name, what, root)


def private_dir(root: Path, path: Path, what: str = "a folder of jitnest's cache") -> Path:
    """``path`` under ``root``, created 0700 if missing, checked (also when it existed before)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    check_path(root, path, what)
    return path
