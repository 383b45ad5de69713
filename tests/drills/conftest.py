"""The drills (issue 9): fault, replay, bad-input, auth and fuzz drills kept as tests.

Scale: small in ``make test``; ``RCM_DRILL_SCALE=full`` (``make drills``) for the real counts. Each drill prints
one line ``DRILL <name>: key=value ...`` with a plain ``print``. Output stays captured (the services' JSON logs
would bury the figures); this file collects every DRILL line a test printed, passing or failing, in setup, call
or teardown, and lists them in a "drill figures" section of the terminal summary.
"""

from __future__ import annotations

import os

import pytest

DRILL_SCALE = os.environ.get("RCM_DRILL_SCALE", "small")
FULL = DRILL_SCALE == "full"
_LINES: dict[tuple[str, str], None] = {}  # (test, line), in the order printed; a dict drops repeats


@pytest.fixture
def drill_scale() -> str:
    """``small`` (``make test``) or ``full`` (``make drills``)."""
    return DRILL_SCALE


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/drills/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.drill)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for _, text in report.sections:
        for line in text.splitlines():
            if line.startswith("DRILL "):
                _LINES[(report.nodeid, line)] = None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _LINES:
        terminalreporter.section(f"drill figures (scale: {DRILL_SCALE})")
        for _, line in _LINES:
            terminalreporter.write_line(line)
