"""Command line: run an unmodified PyNEST script with ``import nest`` meaning jitnest.

    python -m jitnest script.py [args]       like ``python script.py [args]``
    python -m jitnest folder_or.zip [args]   like ``python folder_or.zip [args]`` (runs its __main__.py)
    python -m jitnest -m module [args]       like ``python -m module [args]``
    python -m jitnest cache ...              manage the module cache (see ``jitnest.cli``)

Contract: apart from ``import nest``, the program runs as under plain ``python``: the same
``sys.path[0]`` (the script's folder, symbolic links resolved; the current folder for ``-m``),
``__file__``, ``__name__``, ``__spec__``, ``sys.argv`` and ``sys.modules["__main__"]``; the same
exit status (``SystemExit`` codes and messages; 1 with a traceback of the program's own frames
for an uncaught exception; 2 for a script that cannot be opened; death by SIGINT for an uncaught
KeyboardInterrupt) and the same error lines for a missing script or module.
"""

from __future__ import annotations

import builtins
import io
import os
import pkgutil
import runpy
import signal
import sys
import types
import zipfile
from collections.abc import Callable
from importlib.machinery import SourceFileLoader
from typing import Any

_USAGE = __doc__.split("\n\n")[1]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if args[0] == "cache":
        from .cli import cache_command  # never imports NEST (its banner would corrupt --json output)

        return cache_command(args[1:])
    if args[0] == "-m":
        if len(args) < 2:
            print(f"Argument expected for the -m option\n{_USAGE}", file=sys.stderr)
            return 2
        return _run_module(args[1], args[2:])
    return _run_path(args[0], args[1:])


def _install_hook() -> None:
    from .hooks import install

    install()


def _run_path(path: str, args: list[str]) -> int:
    """``python path args``: a script file, or a folder or zip file holding ``__main__.py``.

    Not ``runpy.run_path``: it sets ``__file__`` to the path as typed (CPython: absolute) and
    ``sys.argv[0]`` to the same string (CPython: as typed), and swaps in a temporary ``__main__``
    module for the run, where CPython's stays in ``sys.modules`` (pickle and multiprocessing look the
    program up there). So this does what CPython does, step by step.
    """
    sys.argv = [path, *args]
    absolute = _absolute(path)
    if os.path.isdir(path) or _is_zip(path):
        # CPython puts the folder (zip) itself first on sys.path, as an absolute path, and runs the
        # module __main__ found there (also under -P).
        importer = pkgutil.get_importer(absolute)
        spec = importer.find_spec("__main__") if importer is not None else None
        if spec is None:
            print(f"{sys.executable}: can't find '__main__' module in {absolute!r}", file=sys.stderr)
            return 1
        _set_path0(absolute, replace=not sys.flags.safe_path)
        _install_hook()
        return _run_as_main(spec.loader.get_code("__main__"), __file__=spec.origin, __cached__=spec.cached,
                            __loader__=spec.loader, __package__="", __spec__=spec)
    try:
        with io.open_code(absolute) as handle:
            code = pkgutil.read_code(handle)  # a compiled .pyc, as CPython accepts
            if code is None:
                handle.seek(0)
                code = compile(handle.read(), absolute, "exec", dont_inherit=True)
    except OSError as error:
        print(f"{sys.executable}: can't open file {absolute!r}: [Errno {error.errno}] {error.strerror}",
              file=sys.stderr)
        return 2
    except SyntaxError as error:  # reported without a traceback, as CPython reports it
        error.__traceback__ = None
        sys.excepthook(type(error), error, None)
        return 1
    if not sys.flags.safe_path:  # under -P CPython puts no folder first
        _set_path0(os.path.dirname(os.path.realpath(absolute)), replace=True)
    _install_hook()
    return _run_as_main(code, __file__=absolute, __cached__=None, __loader__=SourceFileLoader("__main__", absolute),
                        __package__=None, __spec__=None)


def _set_path0(folder: str, replace: bool) -> None:
    """``-m jitnest`` put the current folder first on sys.path (nothing under -P): the program's goes there."""
    if replace:
        sys.path[0] = folder
    else:
        sys.path.insert(0, folder)


def _run_as_main(code: types.CodeType, **attributes: Any) -> int:
    """Run ``code`` in a new module ``__main__`` that stays in sys.modules, as CPython runs a program."""
    module = types.ModuleType("__main__")
    module.__dict__.update(__builtins__=builtins, **attributes)
    sys.modules["__main__"] = module
    return _guarded(lambda: exec(code, module.__dict__), lambda frame_code: frame_code is code)


def _run_module(name: str, args: list[str]) -> int:
    """``python -m name args``: sys.path[0] stays the current folder, as ``-m jitnest`` left it.

    ``runpy._run_module_as_main`` is what CPython itself runs for ``-m``: the module runs in the
    ``__main__`` module, sys.argv[0] becomes its file, and a missing module gives CPython's message
    and status. It runs in whatever ``sys.modules["__main__"]`` is, so it gets a new one first
    (``runpy.run_module`` would differ: a temporary ``__main__``, other frames in tracebacks).
    """
    sys.argv = ["-m", *args]  # as CPython's until runpy sets argv[0]
    _install_hook()  # before runpy imports the module's parent packages (they may import nest)
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module
    as_main = runpy._run_module_as_main  # noqa: SLF001 -- CPython's own entry point for -m
    return _guarded(lambda: as_main(name), lambda code: code is as_main.__code__)


def _absolute(path: str) -> str:
    """The path as CPython makes a program's path absolute: joined to the current folder, not normalised
    (``./x.py`` gives ``/cwd/./x.py``), so that ``__file__`` and messages are the same strings."""
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), path)


def _is_zip(path: str) -> bool:
    return os.path.isfile(path) and zipfile.is_zipfile(path)


def _guarded(run: Callable[[], object], is_first_frame: Callable[[types.CodeType], bool]) -> int:
    """Run the program; an uncaught exception ends it as it would end ``python program``.

    SystemExit passes through (the interpreter prints its message and exits with its code). Other
    exceptions are reported by ``sys.excepthook`` (which the program may have replaced) with the
    traceback from the frame CPython's own traceback starts with (the program's code, or runpy's
    for ``-m``), not jitnest's frames, and give status 1; an uncaught KeyboardInterrupt ends the
    process by SIGINT, as CPython does.
    """
    try:
        run()
    except SystemExit:
        raise
    except BaseException as error:  # noqa: BLE001 -- reported like the interpreter reports it
        entry = error.__traceback__
        while entry is not None and not is_first_frame(entry.tb_frame.f_code):
            entry = entry.tb_next
        # set on the exception too: the default hook prints the exception's own __traceback__
        traceback = error.__traceback__ = entry or error.__traceback__
        sys.excepthook(type(error), error, traceback)
        if isinstance(error, KeyboardInterrupt):
            _die_by_sigint()
        return 1
    return 0


def _die_by_sigint() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
