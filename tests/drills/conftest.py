"""The drills (issue 9): fault, replay, bad-input, auth and fuzz drills kept as tests.

Scale: small in ``make test``; ``RCM_DRILL_SCALE=full`` (``make drills``) for the real counts. Each drill prints
one line ``DRILL <name>: key=value ...``. ``make drills`` runs pytest with ``-s`` so the lines appear as they
are printed; under ``make test`` (output captured) this file repeats every DRILL line of a passing or failing
test in the terminal summary, so the figures are never lost.
"""

from __future__ import annotations

import os

import pytest

DRILL_SCALE = os.environ.get("RCM_DRILL_SCALE", "small")
FULL = DRILL_SCALE == "full"
_LINES: list[str] = []


@pytest.fixture
def drill_scale() -> str:
    """``small`` (``make test``) or ``full`` (``make drills``)."""
    return DRILL_SCALE


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/drills/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.drill)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for _, text in report.sections:
        _LINES.extend(line for line in text.splitlines() if line.startswith("DRILL "))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _LINES:
        terminalreporter.section(f"drill figures (scale: {DRILL_SCALE})")
        for line in _LINES:
            terminalreporter.write_line(line)
