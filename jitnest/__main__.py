"""Command line: ``python -m jitnest script.py [args]`` runs a script with ``import nest`` → jitnest.

``jitnest cache ...`` subcommands manage the module cache (see ``jitnest.cli``).
"""

from __future__ import annotations

import runpy
import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if args[0] == "cache":
        from .cli import cache_command  # never imports NEST (its banner would corrupt --json output)

        return cache_command(args[1:])
    from .hooks import install

    install()
    script = args[0]
    sys.argv = args
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
