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

Removal is safe against other processes using the cache (see ``jitnest.cache.maintenance``,
which does the work; this module parses arguments and formats answers only). It never imports
NEST.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import time
from pathlib import Path

from .cache import maintenance
from .cache.store import ARTIFACT_KINDS, MANIFEST
from .config import settings
from .errors import CacheIntegrityError
from .files import sha256_file

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_SHORT_KEY = 12


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


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(timestamp))


def _summary(entry: maintenance.Entry) -> dict:
    manifest = entry.manifest or {}
    return {
        "key": entry.key,
        "directory": str(entry.directory),
        "label": manifest.get("label"),
        "models": entry.model_names,
        "size_bytes": entry.size,
        "created": _iso(entry.created),
        "last_used": _iso(entry.last_used),
        "nestml_version": manifest.get("nestml_version"),
        "nest_version": entry.toolchain.get("nest_version"),
        "compiler": _compiler(entry.toolchain),
        "cxx_version": entry.toolchain.get("cxx_version"),
        "jitnest_version": manifest.get("jitnest_version"),
        "complete": entry.manifest is not None,
    }


def _compiler(toolchain: dict) -> str | None:
    """``g++ 12.2.0`` from the toolchain identity's compiler path and version line."""
    cxx = toolchain.get("cxx")
    if not cxx:
        return None
    versions = re.findall(r"\d+(?:\.\d+)+", str(toolchain.get("cxx_version", "")))
    return f"{Path(cxx).name} {versions[-1]}" if versions else Path(cxx).name


def _find(root: Path, prefix: str) -> maintenance.Entry:
    if not prefix.strip():
        raise _Usage("give a key or key prefix (see `jitnest cache list`)")
    found = maintenance.find(root, prefix)
    if not found:
        raise _Usage(f"no cache entry with a key starting with {prefix.strip().lower()!r} in {root}")
    if len(found) > 1:
        keys = ", ".join(e.key[:_SHORT_KEY] for e in found)
        raise _Usage(f"{prefix.strip().lower()!r} is ambiguous: it starts {len(found)} keys ({keys}); "
                     "give more of the key")
    return found[0]


# --- subcommands -------------------------------------------------------------------------------


def _cmd_list(root: Path, args: argparse.Namespace) -> int:
    entries = sorted(maintenance.entries(root), key=lambda e: e.last_used, reverse=True)
    total = maintenance.disk_usage(root) if root.exists() else 0
    artifacts = {kind: {"count": 0, "size_bytes": 0} for kind in ARTIFACT_KINDS}
    for artifact in maintenance.artifacts(root):
        artifacts[artifact.kind]["count"] += 1
        artifacts[artifact.kind]["size_bytes"] += artifact.size
    if args.json:
        print(json.dumps({"cache_dir": str(root), "total_bytes": total, "artifacts": artifacts,
                          "entries": [_summary(e) for e in entries]}, indent=2))
        return 0
    print(f"jitnest module cache {root}: {len(entries)} module{'s' if len(entries) != 1 else ''}, "
          f"{format_size(total)} in all")
    intermediates = [f"{ARTIFACT_KINDS[kind]}: {a['count']} ({format_size(a['size_bytes'])})"
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
    entries = maintenance.entries(root)
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
    report = maintenance.clear(root)
    removed, freed, busy, building = report.modules, report.freed, report.busy, report.kept_intermediates
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
    before = maintenance.disk_usage(root)
    report = maintenance.prune(root, limit, _SHORT_KEY)
    removed, modules, building = report.removed, report.modules, report.kept_intermediates
    total = maintenance.disk_usage(root)
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
    return settings().cache_dir


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
    except (_Usage, CacheIntegrityError) as problem:  # e.g. another user's cache: the message says what to do
        print(f"jitnest cache {args.command}: {problem}", file=sys.stderr)
        return 1
