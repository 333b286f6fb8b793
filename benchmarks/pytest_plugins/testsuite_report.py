"""pytest plugin (``-p testsuite_report``): one JSON line per test outcome, for nest_testsuite.py.

The file is named by ``NEST_TESTSUITE_REPORT``. Outcomes follow pytest's terminal summary:
passed, failed, skipped, xfailed, xpassed, error (a failing setup or teardown, or a module that
does not collect). Each line also says whether ``nest`` was jitnest's stand-in in this process.
"""

from __future__ import annotations

import json
import os
import sys

_MESSAGE_LIMIT = 4000


def _is_jitnest() -> bool:
    return bool(getattr(sys.modules.get("nest"), "__jitnest_standin__", False))


def _write(nodeid: str, outcome: str, when: str, duration: float, message: str = "") -> None:
    path = os.environ.get("NEST_TESTSUITE_REPORT")
    if not path:
        return
    record = {"nodeid": nodeid, "outcome": outcome, "when": when, "duration": round(duration, 4),
              "jitnest": _is_jitnest(), "message": message[-_MESSAGE_LIMIT:]}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def _outcome(report) -> str | None:
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.passed:
            return "xpassed" if xfail else "passed"
        if report.skipped:
            return "xfailed" if xfail else "skipped"
        return "failed"
    if report.failed:
        return "error"
    if report.skipped and report.when == "setup":
        return "xfailed" if xfail else "skipped"
    return None


def pytest_runtest_logreport(report) -> None:
    outcome = _outcome(report)
    if outcome is not None:
        message = report.longreprtext if outcome in ("failed", "error") else ""
        _write(report.nodeid, outcome, report.when, report.duration, message)


def pytest_collectreport(report) -> None:
    if report.failed:
        _write(report.nodeid or "<collection>", "error", "collect", 0.0, report.longreprtext)
