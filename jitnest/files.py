"""Files that other processes may read while they are written: whole or absent, never half.

Every file jitnest shares between processes (parse results, inline sources, tool versions,
provenance records) is written through ``write_atomically``: into a temporary file beside the
target, flushed, then renamed over it, so a reader sees the old content or the new, and a writer
killed mid-way leaves at most a temporary file that nothing reads. Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: str | os.PathLike, content: str | bytes, mode: int = 0o600) -> Path:
    """Replace ``path`` with ``content`` in one rename; returns the path. ``mode`` is the new file's."""
    target = Path(path)
    data = content.encode() if isinstance(content, str) else content
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
