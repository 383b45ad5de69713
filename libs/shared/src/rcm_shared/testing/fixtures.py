"""Pytest plugin shared by every test suite: the real broker, real PostgreSQL, tokens, running services."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import hypothesis
import pytest
from fastapi import FastAPI

from rcm_shared.broker import EmbeddedBroker
from rcm_shared.clock import FixedClock
from rcm_shared.config import ServiceSettings
from rcm_shared.http.auth import ALL_SCOPES
from rcm_shared.testing import identity
from rcm_shared.testing.databases import TestDatabases

# Set by an end-to-end harness that runs the real issuer: tests then ask it for tokens, as a client would.
ISSUER_URL_ENV = "RCM_TEST_ISSUER_URL"


def pytest_configure(config: pytest.Config) -> None:
    # Property tests judge correctness, never speed (speed is `make bench`'s): no per-example deadline, which on a
    # loaded 2-core CI machine fails a correct test when one example waits for the CPU (seen: the reporting
    # any-order test failed once in six runs under a load of 14, passed 5,000 examples alone).
    hypothesis.settings.register_profile("rcm", deadline=None)
    hypothesis.settings.load_profile("rcm")
    # Every service built in this test process trusts the test key pair's public half (and nothing else).
    # The platform's processes in end-to-end tests do not inherit it: they trust the issuer's JWKS URL.
    os.environ["RCM_JWKS"] = identity.public_jwks()


class ExternalBroker:
    """A Kafka the tests do not own: only its address; it is neither started nor stopped here."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """A fresh broker per test (Tansu starts in milliseconds): no test sees another's topics or groups."""
    external = os.environ.get("RCM_TEST_KAFKA_BOOTSTRAP")
    if external:  # run the suite against a real Kafka when one is given (host:port, as given)
        yield ExternalBroker(external)  # type: ignore[misc]
        return
    log = Path(tmp_path_factory.mktemp("broker")) / "tansu.log"
    started = EmbeddedBroker.start(log_path=log)
    yield started
    started.stop()


@pytest.fixture(scope="session")
def databases() -> Iterator[TestDatabases]:
    dbs = TestDatabases()
    yield dbs
    dbs.drop_all()


# The instant the tests run at unless they say otherwise: 01:08 UTC, when UTC's date (a UTC machine's too) is already
# tomorrow while the practice (America/New_York) is still in the evening before. Tests fix the instant and compute
# their expectations from the same clock as the service, never from the machine's date.
TEST_INSTANT = datetime(2026, 12, 3, 1, 8, tzinfo=UTC)


def fixed_clock(at: datetime = TEST_INSTANT) -> FixedClock:
    return FixedClock(at)


def settings_for(cls: type[ServiceSettings], database_url: str, broker: EmbeddedBroker,
                 **overrides: object) -> ServiceSettings:
    # A consumer-group prefix per test: each test's consumers start from a clean group.
    overrides.setdefault("consumer_group_prefix", f"t{uuid.uuid4().hex[:8]}")
    return cls(database_url=database_url, kafka_bootstrap_servers=broker.bootstrap, outbox_poll_seconds=0.05,
               consumer_retry_base_seconds=0.01, consumer_max_attempts=3,
               kafka_session_timeout_ms=2000, **overrides)  # type: ignore[arg-type]


def token(practice_id: str = "practice-a", scopes: list[str] | None = None, subject: str = "test-user") -> str:
    """A bearer token for ``practice_id`` with ``scopes`` (default: every scope)."""
    issuer = os.environ.get(ISSUER_URL_ENV)
    if issuer:
        return issued_token(issuer, practice_id, scopes, subject)
    wanted = scopes if scopes is not None else ALL_SCOPES
    return identity.sign(identity.claims_for(practice_id=practice_id, scopes=wanted, subject=subject))


def issued_token(issuer: str, practice_id: str, scopes: list[str] | None, subject: str) -> str:
    """Ask a running issuer (development login, the practice-owner role: all its scopes, or ``scopes``)."""
    form = {"grant_type": "urn:rcm:params:oauth:grant-type:development-login", "username": subject,
            "role": "practice-owner", "practice": practice_id}
    if scopes is not None:
        form["scope"] = " ".join(scopes)
    response = httpx.post(f"{issuer}/token", data=form, timeout=10)
    response.raise_for_status()
    issued: str = response.json()["access_token"]
    return issued


def auth(practice_id: str = "practice-a", scopes: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(practice_id, scopes)}"}


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan (migrations, relay, consumers) and give an HTTP client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
