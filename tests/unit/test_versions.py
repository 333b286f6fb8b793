"""Version drift: jitnest reaches into NESTML's and NEST's internals only with versions it was
tested with; otherwise (or with JITNEST_OPTIMISE=0) it takes its plain path and says so once.

The plain path's results are compared with the optimised path's in
tests/differential/test_plain_path.py; here: the decisions, the messages, and that the worker's
plain path leaves NESTML's lexer alone (in fresh processes: ANTLR's state is per process).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from jitnest.compile import toolchain
from jitnest.generate import identity

IAF_PSC_EXP = Path(sys.prefix) / "models" / "neurons" / "iaf_psc_exp_neuron.nestml"


@pytest.fixture
def warnings_of_jitnest(monkeypatch):
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("jitnest")
    logger.addHandler(handler)
    monkeypatch.setattr(identity, "_warned", set())
    monkeypatch.setattr(toolchain, "_warned_nest", set())
    yield records
    logger.removeHandler(handler)


def test_an_untested_nestml_takes_the_plain_path_and_says_so_once(monkeypatch, warnings_of_jitnest) -> None:
    assert identity.nestml_version() in identity.TESTED_NESTML and identity.nestml_optimised()
    optimised_identity = identity.nestml_identity()
    monkeypatch.setattr(identity, "nestml_version", lambda: "9.1.0")
    assert not identity.nestml_optimised() and not identity.nestml_optimised()
    (warning,) = [r.getMessage() for r in warnings_of_jitnest]
    assert "NESTML 9.1.0 is not a version jitnest was tested with (9.0.0)" in warning
    assert identity.nestml_identity() != optimised_identity, "the plain path's output is cached apart"


def test_an_untested_nest_registers_every_twin_and_says_so_once(warnings_of_jitnest) -> None:
    include_dir = str(Path(toolchain.REAL.__file__).parent / "include" / "nest")
    assert toolchain.single_variant_registration(include_dir, "3.10.0")
    assert not toolchain.single_variant_registration(include_dir, "3.11.0")
    assert not toolchain.single_variant_registration(include_dir, "3.11.0")
    (warning,) = [r.getMessage() for r in warnings_of_jitnest]
    assert "NEST 3.11.0 is not a version jitnest was tested with (3.10.x)" in warning


def test_the_plain_path_is_a_setting(monkeypatch, warnings_of_jitnest) -> None:
    include_dir = str(Path(toolchain.REAL.__file__).parent / "include" / "nest")
    monkeypatch.setenv("JITNEST_OPTIMISE", "0")
    assert not identity.nestml_optimised()
    assert not toolchain.single_variant_registration(include_dir, "3.10.0")
    assert warnings_of_jitnest == [], "asked for, so nothing to warn about"


_LEXER_PATCHED = r"""
import json, sys, tempfile
from jitnest.worker.validation import _configure_nestml
from antlr4.atn.LexerATNSimulator import LexerATNSimulator
_configure_nestml([sys.argv[1]], tempfile.mkdtemp(), optimise=sys.argv[2] == "1")
print(json.dumps(getattr(LexerATNSimulator.matchATN, "_jitnest_cache", False)))
"""


@pytest.mark.parametrize("optimise", [True, False])
def test_the_plain_path_leaves_nestmls_lexer_alone(optimise) -> None:
    completed = subprocess.run([sys.executable, "-c", _LEXER_PATCHED, str(IAF_PSC_EXP), str(int(optimise))],
                               capture_output=True, text=True, timeout=300, check=True, cwd=ROOT)
    assert json.loads(completed.stdout.strip().splitlines()[-1]) is optimise
