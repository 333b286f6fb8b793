"""``python -m jitnest program`` runs a program exactly as ``python program`` does, apart from ``import nest``.

Each case runs the same program both ways in fresh processes, from the same folder, and compares
what the program sees (sys.path[0], __file__, __name__, __package__, __spec__, sys.argv,
sys.modules["__main__"]), the exit status and stderr. Compiles nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

# Two fresh processes (plain python and python -m jitnest) per case, each importing NEST: seconds each.
pytestmark = pytest.mark.slow

REPORT = """
import json, sys
import helper  # a sibling module: found only if the program's folder is sys.path[0]
print(json.dumps({
    "path0": sys.path[0], "file": globals().get("__file__"), "name": __name__, "package": __package__,
    "spec": getattr(__spec__, "name", None), "argv": sys.argv, "cached": globals().get("__cached__"),
    "main_module_is_this": sys.modules["__main__"].__dict__ is globals(), "helper": helper.VALUE,
    "loader": type(globals().get("__loader__")).__name__,
}))
"""
NEST_CHECK = "import nest; print('NEST IS', 'jitnest' if getattr(nest, '__jitnest_standin__', False) else 'nest')\n"


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYNEST_QUIET": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, *command], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=environment, check=False)


def _both(command: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """``python command`` and ``python -m jitnest command`` (``-m x`` becomes ``-m jitnest -m x``)."""
    return _run(command, cwd), _run(["-m", "jitnest", *command], cwd)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """tmp/proj/{script, helper}.py, tmp/pkg/{__init__, mod, helper, __main__}.py, a folder tmp/app and a
    zip tmp/app.zip holding __main__.py and helper.py, and tmp/work/link.py, a link to the script."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "helper.py").write_text("VALUE = 'proj helper'\n")
    (proj / "script.py").write_text(REPORT)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("VALUE = 'pkg helper'\n")
    (pkg / "mod.py").write_text(REPORT.replace("import helper ", "from . import helper "))
    (pkg / "__main__.py").write_text(REPORT.replace("import helper ", "from . import helper "))
    app = tmp_path / "app"
    app.mkdir()
    (app / "__main__.py").write_text(REPORT)
    (app / "helper.py").write_text("VALUE = 'app helper'\n")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "link.py").symlink_to(proj / "script.py")
    with zipfile.ZipFile(tmp_path / "app.zip", "w") as archive:
        archive.writestr("__main__.py", REPORT)
        archive.writestr("helper.py", "VALUE = 'zip helper'\n")
    return tmp_path


@pytest.mark.parametrize("command, cwd", [
    (["proj/script.py", "a", "--b"], "."),
    (["../proj/script.py"], "work"),
    (["script.py", "x"], "proj"),
    (["link.py"], "work"),  # sys.path[0] is the link target's folder, __file__ the link
    (["./proj/script.py"], "."),  # __file__ is absolute but not normalised, as CPython makes it
    (["app", "d"], "."),
    (["app.zip", "z"], "."),
    (["-m", "pkg.mod", "m1"], "."),
    (["-m", "pkg", "m2"], "."),  # a package: its __main__
])
def test_program_sees_what_plain_python_gives_it(project, command, cwd):
    plain, jit = _both(command, project / cwd)
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["helper"].endswith("helper")
    assert (jit.returncode, jit.stdout, jit.stderr) == (plain.returncode, plain.stdout, plain.stderr)


@pytest.mark.parametrize("tail, status", [
    ("sys.exit(3)", 3),
    ("sys.exit('bye')", 1),  # the message on stderr, status 1
    ("sys.exit()", 0),
    ("raise SystemExit(None)", 0),
    ("def f():\n    raise ValueError('boom')\nf()", 1),  # the traceback shows the program's frames only
    ("import helper\nraise RuntimeError('after import') from KeyError('cause')", 1),
    ("sys.excepthook = lambda *a: print('own hook', a[1], file=sys.stderr)\nraise ValueError('x')", 1),
    ("print('unflushed', end='')\nraise KeyboardInterrupt", -signal.SIGINT),
    ("def broken(:\n    pass", 1),  # a SyntaxError: no traceback for a script, runpy's frames for -m
])
def test_exit_status_and_stderr_are_pythons(project, tail, status):
    (project / "proj" / "ending.py").write_text("import sys\n" + tail + "\n")
    (project / "pkg" / "ending.py").write_text("import sys\n" + tail.replace("import helper", "from . import helper")
                                               + "\n")
    for command in (["proj/ending.py"], ["-m", "pkg.ending"]):
        plain, jit = _both(command, project)
        assert plain.returncode == status, plain.stderr
        # tracebacks too: the program's frames (and for -m runpy's two, as python -m shows them)
        assert (jit.returncode, jit.stdout, jit.stderr) == (plain.returncode, plain.stdout, plain.stderr)


@pytest.mark.parametrize("command", [["no_such_script.py"], ["proj"], ["-m", "no_such_module"],
                                     ["-m", "no_such.sub"]])
def test_missing_program_is_reported_like_python(project, command):
    plain, jit = _both(command, project)
    assert plain.returncode != 0
    assert (jit.returncode, jit.stderr) == (plain.returncode, plain.stderr)


def test_import_nest_means_jitnest_in_all_forms(project):
    (project / "proj" / "uses_nest.py").write_text(NEST_CHECK)
    (project / "pkg" / "uses_nest.py").write_text(NEST_CHECK)
    for command in (["proj/uses_nest.py"], ["-m", "pkg.uses_nest"]):
        plain, jit = _both(command, project)
        assert "NEST IS nest" in plain.stdout, plain.stderr
        assert "NEST IS jitnest" in jit.stdout, jit.stderr
