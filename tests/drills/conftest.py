"""The drills (issue 9): fault, replay, bad-input, auth and fuzz drills kept as tests.

Scale: small in ``make test``; ``RCM_DRILL_SCALE=full`` (``make drills``) for the real counts. Each drill prints
one line ``DRILL <name>: key=value ...`` with a plain ``print``. Output stays captured (the services' JSON logs
would bury the figures); this file collects every DRILL line a test printed, passing or failing, in setup, call
or teardown, and lists them in a "drill figures" section of the terminal summary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from rcm_cli import platform as embedded
from rcm_shared.broker import EmbeddedBroker, free_port
from rcm_shared.testing.databases import TestDatabases

DRILL_SCALE = os.environ.get("RCM_DRILL_SCALE", "small")
FULL = DRILL_SCALE == "full"
_LINES: dict[tuple[str, str], None] = {}  # (test, line), in the order printed; a dict drops repeats


@pytest.fixture
def drill_scale() -> str:
    """``small`` (``make test``) or ``full`` (``make drills``)."""
    return DRILL_SCALE


@pytest.fixture
def drill_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[embedded.RunningPlatform]:
    """The platform as ``rcm up`` runs it (the issuer, the supervised broker and every service as processes) on
    real PostgreSQL, each service with a database of its own. Reconciliation runs every 2 s for visits and claims
    older than 5 s, so its gauges can be read at the end of a drill."""
    dbs = TestDatabases()
    broker = EmbeddedBroker.start(log_path=tmp_path / "broker.log")
    ports: dict[str, int] = {}
    while len(set(ports.values())) < len(embedded.SERVICES):
        ports = {name: free_port() for name in embedded.SERVICES}
    urls = {name: dbs.create(name) for name in embedded.SERVICES}
    monkeypatch.setenv("RCM_VAR_DIR", str(tmp_path))
    started = embedded.start_platform(tmp_path, ports=ports, database_urls=urls, broker=broker, extra_env={
        "RCM_RECONCILIATION_AFTER_SECONDS": "5", "RCM_RECONCILIATION_POLL_SECONDS": "2"},
        ready_timeout=240)  # every service importing at once on a busy 2-core machine can take more than 90 s
    try:
        yield started
    finally:
        started.stop()
        dbs.drop_all()


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
