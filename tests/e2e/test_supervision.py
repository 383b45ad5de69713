"""`rcm up` supervises what it starts: a service or the broker killed with SIGKILL is restarted (the broker on the
same port, so the services' bootstrap address still holds), counted, shown by `rcm status`, and the platform is
ready again. Runs the real processes on the embedded default (SQLite files, the embedded broker)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rcm_cli import platform as embedded
from rcm_shared.broker import free_port
from rcm_shared.testing.fixtures import ISSUER_URL_ENV, auth
from typer.testing import CliRunner

pytestmark = pytest.mark.e2e


@pytest.fixture
def supervised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[embedded.RunningPlatform]:
    monkeypatch.setenv("RCM_VAR_DIR", str(tmp_path))
    ports: dict[str, int] = {}
    while len(set(ports.values())) < len(embedded.SERVICES):
        ports = {name: free_port() for name in embedded.SERVICES}
    started = embedded.start_platform(tmp_path, ports=ports)
    monkeypatch.setenv(ISSUER_URL_ENV, started.issuer_url)  # auth() asks the running issuer
    try:
        yield started
    finally:
        started.stop()


def status_table(root: Path) -> str:
    from rcm_cli import main

    main.VAR = root
    result = CliRunner().invoke(main.app, ["status"], env={"COLUMNS": "200"})
    return result.output


def test_a_killed_service_and_a_killed_broker_come_back_and_the_platform_is_ready_again(
        supervised: embedded.RunningPlatform) -> None:
    urls = supervised.urls()
    headers = auth("practice-supervision")
    bootstrap = supervised.broker.bootstrap
    victim = supervised.processes["claims"]
    os.kill(victim.pid, signal.SIGKILL)
    supervised.wait_restarted("claims")
    assert supervised.processes["claims"].pid != victim.pid
    assert httpx.get(f"{urls['claims']}/v1/claims", headers=headers).status_code == 200

    broker_pid = supervised.broker.process.pid
    os.kill(broker_pid, signal.SIGKILL)
    supervised.wait_restarted("broker")
    assert supervised.broker.process.pid != broker_pid
    assert supervised.broker.bootstrap == bootstrap, "the broker came back on the services' bootstrap address"
    embedded.wait_ready(supervised)  # every service's /readyz checks the broker

    state = json.loads(supervised.state_file().read_text())
    by_name = {p["name"]: p for p in state["processes"]}
    assert (by_name["claims"]["restarts"], by_name["broker"]["restarts"]) == (1, 1)
    assert by_name["claims"]["pid"] == supervised.processes["claims"].pid
    assert all(p["restarts"] == 0 for name, p in by_name.items() if name not in ("claims", "broker"))
    assert set(by_name) == {"issuer", "broker", embedded.PROCESSOR, embedded.FHIR, *embedded.SERVICES}
    assert state["broker_pid"] == supervised.broker.process.pid

    log = (supervised.root / "log" / "supervisor.log").read_text().splitlines()
    restarted = [json.loads(line) for line in log if '"process restarted"' in line]
    assert [(r["process"], r["restarts"]) for r in restarted] == [("claims", 1), ("broker", 1)]

    table = status_table(supervised.root)
    assert "claims" in table and "broker" in table and "issuer" in table and table.count("ready") >= 7, table
    assert "not ready" not in table and "down" not in table, table


def test_status_says_when_no_platform_runs(tmp_path: Path) -> None:
    from rcm_cli import main

    main.VAR = tmp_path
    result = CliRunner().invoke(main.app, ["status"])
    assert result.exit_code != 0
