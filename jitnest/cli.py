"""``jitnest cache ...``: look into and tidy the module cache.

Subcommands::

    jitnest cache list [--json]               one row per cached module
    jitnest cache info KEY [--json]           an entry's full provenance (KEY: a unique key prefix)
    jitnest cache clear [--yes]               remove every module, intermediate, the parse cache and logs
    jitnest cache prune --max-size SIZE       remove intermediates, then least recently used modules,
                                              until the cache fits in SIZE

Intermediates are the generated code and precompiled NEST headers kept to make builds faster;
removing them never changes a result, only the time the next cold build takes.

``--cache-dir DIR`` (before or after the subcommand) overrides ``JITNEST_CACHE_DIR``.

Removal is safe against other processes using the cache at the same time: an entry (or
intermediate) is removed under its per-key build lock, by renaming it out of the way first (so
another process sees it whole or not at all) and deleting it afterwards. Builds in progress are
never touched. Lock files and inline NESTML sources (``sources/``) are kept.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import filelock
import platformdirs

from .cache import LAST_USED, MANIFEST, ModuleCache, sha256_file

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_SHORT_KEY = 12
# Intermediate artifact stores (cache.ArtifactStore): <kind>/<key>/ when complete, <kind>/.<key>.lock,
# <kind>/.tmp/<key>.* while being created. They only speed up builds: prune removes them first.
_ARTIFACT_KINDS = {"generated": "generated code", "pch": "precompiled NEST headers"}


class _Usage(Exception):
    """A problem with what the user asked for: printed as one line, exit status 1."""


# --- sizes and times ------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """Bytes in ``text``: a number with an optional K, M, G or T suffix (powers of 1024), e.g. 500M, 2G."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (examples: 500M, 2G, 1.5G, 800K, 0)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_size(size: int) -> str:
    """``du -h`` style: 512B, 756K, 1.2M, 3.4G."""
    value = float(size)
    for unit in ("B", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            if unit == "B":
                return f"{int(value)}B"
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_age(seconds: float) -> str:
    """``45s``, ``12m``, ``3h``, ``5d``."""
    seconds = max(0.0, seconds)
    for unit, length, next_length in (("s", 1, 60), ("m", 60, 3600), ("h", 3600, 86400)):
        if seconds < next_length:
            return f"{int(seconds // length)}{unit}"
    return f"{int(seconds // 86400)}d"


def _disk_usage(path: Path) -> int:
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


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(timestamp))


# --- reading the cache (never through ModuleCache.lookup, which would mark entries used) ------


@dataclass
class _Entry:
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

    def summary(self) -> dict:
        manifest = self.manifest or {}
        return {
            "key": self.key,
            "directory": str(self.directory),
            "label": manifest.get("label"),
            "models": self.model_names,
            "size_bytes": self.size,
            "created": _iso(self.created),
            "last_used": _iso(self.last_used),
            "nestml_version": manifest.get("nestml_version"),
            "nest_version": self.toolchain.get("nest_version"),
            "compiler": _compiler(self.toolchain),
            "cxx_version": self.toolchain.get("cxx_version"),
            "jitnest_version": manifest.get("jitnest_version"),
            "complete": self.manifest is not None,
        }


def last_used(directory: Path) -> float:
    """When an entry was last used: its ``last_used`` stamp, else when it was published."""
    for path in (directory / LAST_USED, directory):
        with contextlib.suppress(OSError):
            return path.stat().st_mtime
    return 0.0


def _read_entry(directory: Path) -> _Entry:
    manifest = None
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads((directory / MANIFEST).read_text())
        manifest = loaded if isinstance(loaded, dict) else None
    return _Entry(directory.name, directory, manifest, _disk_usage(directory), last_used(directory))


def _entries(root: Path) -> list[_Entry]:
    modules = root / "modules"
    if not modules.is_dir():
        return []
    return [_read_entry(d) for d in sorted(modules.iterdir()) if d.is_dir() and not d.is_symlink()]


def _compiler(toolchain: dict) -> str | None:
    """``g++ 12.2.0`` from the toolchain identity's compiler path and version line."""
    cxx = toolchain.get("cxx")
    if not cxx:
        return None
    versions = re.findall(r"\d+(?:\.\d+)+", str(toolchain.get("cxx_version", "")))
    return f"{Path(cxx).name} {versions[-1]}" if versions else Path(cxx).name


def _find(root: Path, prefix: str) -> _Entry:
    prefix = prefix.strip().lower()
    if not prefix:
        raise _Usage("give a key or key prefix (see `jitnest cache list`)")
    entries = [e for e in _entries(root) if e.key.lower().startswith(prefix)]
    if not entries:
        raise _Usage(f"no cache entry with a key starting with {prefix!r} in {root}")
    if len(entries) > 1:
        keys = ", ".join(e.key[:_SHORT_KEY] for e in entries)
        raise _Usage(f"{prefix!r} is ambiguous: it starts {len(entries)} keys ({keys}); give more of the key")
    return entries[0]


# --- removing (under the per-key lock, rename away first, then delete) -------------------------


def _delete(path: Path) -> int:
    """Delete a file or a directory tree (symlinks are not followed); returns the bytes freed."""
    size = _disk_usage(path)
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


def _remove_entry(cache: ModuleCache, key: str, unless_used_after: float | None = None) -> int | None:
    """Remove entry ``key``; returns the bytes freed, or None if it was gone or used meanwhile."""
    with cache._lock(key):
        directory = cache.entry_dir(key)
        if not directory.is_dir():
            return None
        if unless_used_after is not None and last_used(directory) > unless_used_after:
            return None  # another process used it after we chose it: it is not least recently used any more
        size = _disk_usage(directory)
        cache._discard(key)
        return size


def _remove_idle_tmp(cache: ModuleCache) -> tuple[int, int]:
    """Remove leftovers in tmp/ whose key nobody is building; returns (bytes freed, builds left alone)."""
    freed = busy = 0
    tmp = cache.root / "tmp"
    for path in sorted(tmp.iterdir()) if tmp.is_dir() else []:
        key = path.name.split(".", 1)[0]
        size = _delete_unless_locked(path, filelock.FileLock(str(cache.root / "locks" / f"{key}.lock")))
        if size is None:
            busy += 1  # a build in progress: its directory is not ours to remove
        else:
            freed += size
    return freed, busy


@dataclass
class _Artifact:
    kind: str
    directory: Path
    size: int
    created: float


def _artifacts(root: Path) -> list[_Artifact]:
    """Complete intermediate artifacts (generated code, precompiled headers), oldest first."""
    found = []
    for kind in _ARTIFACT_KINDS:
        store = root / kind
        if not store.is_dir():
            continue
        for directory in store.iterdir():
            if directory.name.startswith(".") or not directory.is_dir() or directory.is_symlink():
                continue
            found.append(_Artifact(kind, directory, _disk_usage(directory), last_used(directory)))
    return sorted(found, key=lambda a: a.created)


def _artifact_lock(store: Path, key: str) -> filelock.FileLock:
    """The lock ``cache.ArtifactStore.get_or_create`` holds while it creates ``key``."""
    return filelock.FileLock(str(store / f".{key}.lock"))


def _remove_artifact(directory: Path) -> int | None:
    """Remove one artifact under its store's lock, renaming it away first; returns the bytes freed."""
    store, key = directory.parent, directory.name
    with _artifact_lock(store, key):
        if not directory.is_dir():
            return None
        size = _disk_usage(directory)
        (store / ".tmp").mkdir(exist_ok=True, mode=0o700)
        trash = store / ".tmp" / f"{key}.removed.{os.getpid()}.{time.time_ns()}"
        os.rename(directory, trash)
        shutil.rmtree(trash, ignore_errors=True)
        return size


def _remove_idle_artifact_tmp(root: Path) -> tuple[int, int]:
    """Remove artifacts' leftovers nobody is creating; returns (bytes freed, creations left alone)."""
    freed = busy = 0
    for kind in _ARTIFACT_KINDS:
        tmp = root / kind / ".tmp"
        if not tmp.is_dir():
            continue
        for path in sorted(tmp.iterdir()):
            size = _delete_unless_locked(path, _artifact_lock(root / kind, path.name.split(".", 1)[0]))
            if size is None:
                busy += 1
            else:
                freed += size
    return freed, busy


def _builds_in_progress(cache: ModuleCache) -> int:
    """How many module builds hold their lock now (they may be using intermediates they looked up)."""
    tmp = cache.root / "tmp"
    return sum(cache._is_locked(path.name.split(".", 1)[0]) for path in (tmp.iterdir() if tmp.is_dir() else []))


def _empty_dir(directory: Path) -> int:
    return sum(_delete(path) for path in directory.iterdir()) if directory.is_dir() else 0


# --- subcommands -------------------------------------------------------------------------------


def _cmd_list(root: Path, args: argparse.Namespace) -> int:
    entries = sorted(_entries(root), key=lambda e: e.last_used, reverse=True)
    total = _disk_usage(root) if root.exists() else 0
    artifacts = {kind: {"count": 0, "size_bytes": 0} for kind in _ARTIFACT_KINDS}
    for artifact in _artifacts(root):
        artifacts[artifact.kind]["count"] += 1
        artifacts[artifact.kind]["size_bytes"] += artifact.size
    if args.json:
        print(json.dumps({"cache_dir": str(root), "total_bytes": total, "artifacts": artifacts,
                          "entries": [e.summary() for e in entries]}, indent=2))
        return 0
    print(f"jitnest module cache {root}: {len(entries)} module{'s' if len(entries) != 1 else ''}, "
          f"{format_size(total)} in all")
    intermediates = [f"{_ARTIFACT_KINDS[kind]}: {a['count']} ({format_size(a['size_bytes'])})"
                     for kind, a in artifacts.items() if a["count"]]
    if intermediates:
        print(f"intermediates (speed up builds, pruned first): {'; '.join(intermediates)}")
    if not entries:
        return 0
    now = time.time()
    rows = [("KEY", "SIZE", "AGE", "USED", "NESTML", "NEST", "COMPILER", "UNIT: MODELS")]
    for e in entries:
        manifest = e.manifest or {}
        created = e.created if e.created is not None else e.last_used
        what = (f"{manifest.get('label', '?')}: {', '.join(e.model_names)}" if e.manifest is not None
                else "(incomplete: no readable manifest)")
        rows.append((e.key[:_SHORT_KEY], format_size(e.size), format_age(now - created),
                     format_age(now - e.last_used) + " ago", str(manifest.get("nestml_version", "?")),
                     str(e.toolchain.get("nest_version", "?")), _compiler(e.toolchain) or "?", what))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    return 0


def _cmd_info(root: Path, args: argparse.Namespace) -> int:
    entry = _find(root, args.key)
    manifest = entry.manifest
    module = entry.directory / manifest["module_file"] if manifest and manifest.get("module_file") else None
    actual = None
    if module is not None:
        with contextlib.suppress(OSError):
            actual = sha256_file(module)
    verified = bool(manifest and actual is not None and actual == manifest.get("module_sha256"))
    if args.json:
        print(json.dumps({"key": entry.key, "path": str(entry.directory),
                          "module": str(module) if module else None, "size_bytes": entry.size,
                          "last_used": _iso(entry.last_used), "verified": verified, "manifest": manifest},
                         indent=2, sort_keys=True))
        return 0
    print(f"key        {entry.key}")
    print(f"path       {entry.directory}")
    if manifest is None:
        print("manifest   missing or unreadable: this entry is incomplete and will be rebuilt when needed")
        return 0
    state = "matches the manifest" if verified else (
        "MISSING" if actual is None else "DOES NOT MATCH the manifest (it will be rebuilt, never loaded)")
    print(f"module     {module}  (SHA-256 {state})")
    print(f"unit       {manifest.get('label')}")
    for model in manifest.get("models", []):
        print(f"  {model.get('kind', '?'):8} {model.get('name')}  (from {model.get('source_model')})")
    print("sources")
    for source in manifest.get("sources", []):
        print(f"  {source.get('model')}: {source.get('path')}\n    sha256 {source.get('sha256')}")
    toolchain = entry.toolchain
    print(f"versions   NESTML {manifest.get('nestml_version')}, NEST {toolchain.get('nest_version')} "
          f"(built {toolchain.get('nest_build_stamp')}), jitnest {manifest.get('jitnest_version')}")
    print(f"compiler   {toolchain.get('cxx')}: {toolchain.get('cxx_version')}")
    print(f"flags      {' '.join(toolchain.get('extra_flags') or []) or '(none added)'}")
    print(f"built      {_iso(entry.created)} in {manifest.get('build_seconds')} s "
          f"(NESTML {manifest.get('generation_seconds')} s)")
    print(f"last used  {_iso(entry.last_used)}")
    print(f"size       {format_size(entry.size)}")
    print(f"manifest   {entry.directory / MANIFEST}:")
    print(json.dumps(manifest, indent=2, sort_keys=True))
    return 0


def _cmd_clear(root: Path, args: argparse.Namespace) -> int:
    if not root.is_dir():
        print(f"nothing to clear: {root} does not exist")
        return 0
    entries = _entries(root)
    if not args.yes:
        what = (f"{len(entries)} cached module{'s' if len(entries) != 1 else ''}, generated code, precompiled "
                f"headers, the model parse cache, build logs and leftovers of killed builds from {root}")
        if not sys.stdin.isatty():
            print(f"jitnest cache clear: refusing to remove {what} without confirmation; "
                  "run it again with --yes", file=sys.stderr)
            return 2
        answer = input(f"Remove {what}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("nothing removed")
            return 1
    cache = ModuleCache(root)
    freed = removed = 0
    for entry in entries:
        size = _remove_entry(cache, entry.key)
        if size is not None:
            removed += 1
            freed += size
    building = _builds_in_progress(cache)
    for artifact in [] if building else _artifacts(root):
        freed += _remove_artifact(artifact.directory) or 0
    tmp_freed, busy = _remove_idle_tmp(cache)
    artifact_tmp_freed, artifacts_busy = _remove_idle_artifact_tmp(root)
    busy += artifacts_busy
    freed += tmp_freed + artifact_tmp_freed + _empty_dir(root / "logs") + _empty_dir(root / "models")
    print(f"removed {removed} module{'s' if removed != 1 else ''}, generated code, precompiled headers, "
          f"the parse cache and logs: {format_size(freed)} freed from {root}")
    if busy:
        print(f"left {busy} build{'s' if busy != 1 else ''} in progress alone (in {root / 'tmp'})")
    if building:
        print("kept generated code and precompiled headers: builds in progress may be using them")
    return 0


def _cmd_prune(root: Path, args: argparse.Namespace) -> int:
    try:
        limit = parse_size(args.max_size)
    except ValueError as error:
        raise _Usage(str(error)) from None
    if not root.is_dir():
        print(f"nothing to prune: {root} does not exist")
        return 0
    cache = ModuleCache(root)
    total = _disk_usage(root)
    before = total
    removed: list[str] = []
    # Intermediates first (they only make later builds faster), oldest first; then modules, least recently used first.
    building = _builds_in_progress(cache)
    for artifact in [] if building else _artifacts(root):
        if total <= limit:
            break
        freed = _remove_artifact(artifact.directory)
        if freed is not None:
            removed.append(f"{_ARTIFACT_KINDS[artifact.kind]} {artifact.directory.name[:_SHORT_KEY]}")
            total -= freed
    modules = 0
    for entry in sorted(_entries(root), key=lambda e: e.last_used):
        if total <= limit:
            break
        freed = _remove_entry(cache, entry.key, unless_used_after=entry.last_used)
        if freed is not None:
            removed.append(f"module {entry.key[:_SHORT_KEY]} ({(entry.manifest or {}).get('label', '?')})")
            modules += 1
            total -= freed
    total = _disk_usage(root)
    print(f"removed {modules} least recently used module{'s' if modules != 1 else ''} and "
          f"{len(removed) - modules} intermediate{'s' if len(removed) - modules != 1 else ''} "
          f"({format_size(max(0, before - total))}); {root} now holds {format_size(total)} "
          f"(limit {format_size(limit)})")
    for what in removed:
        print(f"  removed {what}")
    if building:
        print("kept generated code and precompiled headers: builds in progress may be using them")
    if total > limit:
        print("the cache is still above the limit: what is left is not modules (parse cache, logs, builds in "
              "progress) or was used while pruning; `jitnest cache clear` removes the rest")
    return 0


# --- entry point -------------------------------------------------------------------------------


def _default_root() -> Path:
    """The cache directory the rest of jitnest uses (not created here, unlike ``cache.cache_root``)."""
    return Path(os.environ.get("JITNEST_CACHE_DIR") or platformdirs.user_cache_dir("jitnest"))


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cache-dir", metavar="DIR", default=argparse.SUPPRESS,
                        help="the cache directory (default: $JITNEST_CACHE_DIR, else the user cache dir)")
    parser = argparse.ArgumentParser(prog="jitnest cache", parents=[common],
                                     description="Inspect and tidy jitnest's cache of compiled NEST modules.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    listing = commands.add_parser("list", parents=[common], help="one row per cached module")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    info = commands.add_parser("info", parents=[common], help="an entry's full provenance (its manifest)")
    info.add_argument("key", metavar="KEY", help="the entry's key, or a unique prefix of it")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    clear = commands.add_parser("clear", parents=[common],
                                help="remove every module, the parse cache, build logs and leftovers")
    clear.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    prune = commands.add_parser("prune", parents=[common],
                                help="remove least recently used modules until the cache fits in SIZE")
    prune.add_argument("--max-size", required=True, metavar="SIZE",
                       help="the size to shrink the cache to, e.g. 500M or 2G (K, M, G, T: powers of 1024)")
    return parser


def cache_command(argv: list[str]) -> int:
    """``jitnest cache ...``; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error already printed by argparse
        return stop.code if isinstance(stop.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    root = Path(args.cache_dir).expanduser() if getattr(args, "cache_dir", None) else _default_root()
    handler = {"list": _cmd_list, "info": _cmd_info, "clear": _cmd_clear, "prune": _cmd_prune}[args.command]
    try:
        return handler(root, args)
    except _Usage as problem:
        print(f"jitnest cache {args.command}: {problem}", file=sys.stderr)
        return 1
