"""Command line of the worker: ``python -m jitnest.worker [--serve SOCKET [--idle SECONDS] [--detached]]``.

Without arguments: one request on stdin, one response on stdout (:func:`.protocol.main`). With
``--serve SOCKET``: the fork server (:func:`.server.serve`); ``--idle SECONDS`` must follow the
socket directly, ``--detached`` may come anywhere after it. Exits with the code those return.
"""

from __future__ import annotations

import sys

from .protocol import main as answer_one_request
from .server import serve


def main() -> int:
    """Run the worker as its command line says; return the exit code."""
    if sys.argv[1:2] == ["--serve"]:
        idle = float(sys.argv[4]) if sys.argv[3:4] == ["--idle"] else None
        return serve(sys.argv[2], idle, detached="--detached" in sys.argv)
    return answer_one_request()


if __name__ == "__main__":
    sys.exit(main())
