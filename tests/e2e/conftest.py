"""The platform as separate processes (the issuer, the broker, every service) on real PostgreSQL, for the tests
of this directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rcm_cli import platform as embedded
from rcm_shared.broker import EmbeddedBroker, free_port
from rcm_shared.testing.databases import TestDatabases
from rcm_shared.testing.fixtures import ISSUER_URL_ENV


@pytest.fixture
def running_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[embedded.RunningPlatform]:
    dbs = TestDatabases()
    broker = EmbeddedBroker.start(log_path=tmp_path / "broker.log")
    ports = {name: free_port() for name in embedded.SERVICES}
    urls = {name: dbs.create(name) for name in embedded.SERVICES}
    monkeypatch.setenv("RCM_VAR_DIR", str(tmp_path))
    started = embedded.start_platform(tmp_path, ports=ports, database_urls=urls, broker=broker)
    monkeypatch.setenv(ISSUER_URL_ENV, started.issuer_url)  # auth() asks the running issuer
    try:
        yield started
    finally:
        started.stop()
        dbs.drop_all()
