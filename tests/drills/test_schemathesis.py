"""Drill: schemathesis against every service's OpenAPI, in process, with a valid token: no 5xx, ever.

Each service runs as its real app (migrations on a PostgreSQL database of its own, the broker up so /readyz is
honest) on one event loop in a background thread; schemathesis generates requests from the app's own OpenAPI
(bodies, query and path parameters, multipart and X12 bodies), both valid and deliberately invalid (schemathesis'
positive and negative modes), and each is sent through the ASGI transport.
Workers (relay, consumers) are off: this drill is about what an HTTP request can do.

Scale: ``RCM_DRILL_SCALE=full`` sends up to 1,000 examples per operation, ``make test`` up to 40 (fixed seed);
``RCM_DRILL_SCHEMATHESIS_EXAMPLES`` overrides. Hypothesis stops early on operations with few distinct inputs.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rcm_shared.config import ServiceSettings
from rcm_shared.testing.fixtures import auth, running, settings_for
from schemathesis import GenerationMode

pytestmark = [pytest.mark.integration, pytest.mark.drill]
FULL = os.environ.get("RCM_DRILL_SCALE", "small") == "full"
EXAMPLES = int(os.environ.get("RCM_DRILL_SCHEMATHESIS_EXAMPLES", "1000" if FULL else "40"))


def _claims(settings: ServiceSettings, root: Path) -> FastAPI:
    from claims.adapters.clearinghouse import SandboxClearinghouse
    from claims.bootstrap import build_app

    return build_app(settings, clearinghouse=SandboxClearinghouse(root / "clearinghouse"))


def _remittance(settings: ServiceSettings, root: Path) -> FastAPI:
    from remittance.bootstrap import build_app

    return build_app(settings)


def _patient_billing(settings: ServiceSettings, root: Path) -> FastAPI:
    from patient_billing.adapters.payment_processor import StripeProcessor
    from patient_billing.bootstrap import build_app
    from patient_billing.sandbox.server import sandbox_processor

    # card payments, cards on file and payment links ask the card processor: the sandbox one, on a local port
    sandbox = SANDBOXES.enter_context(sandbox_processor())
    return build_app(settings, processor=StripeProcessor(sandbox.api_key, sandbox.webhook_secret,
                                                         api_base=sandbox.url, max_network_retries=0))


def _eligibility(settings: ServiceSettings, root: Path) -> FastAPI:
    from eligibility.bootstrap import build_app

    return build_app(settings)


def _authorizations(settings: ServiceSettings, root: Path) -> FastAPI:
    from authorizations.bootstrap import build_app

    return build_app(settings)


def _reporting(settings: ServiceSettings, root: Path) -> FastAPI:
    from reporting.bootstrap import build_app

    return build_app(settings)


def _webhooks(settings: ServiceSettings, root: Path) -> FastAPI:
    from webhooks.bootstrap import build_app
    from webhooks.config import WebhooksSettings

    assert isinstance(settings, WebhooksSettings)
    return build_app(settings)  # its delivery worker is off (run_workers=False): nothing is sent anywhere


def _settings_class(service: str) -> type[ServiceSettings]:
    from authorizations.config import AuthorizationsSettings
    from claims.config import ClaimsSettings
    from eligibility.config import EligibilitySettings
    from patient_billing.config import PatientBillingSettings
    from remittance.config import RemittanceSettings
    from reporting.config import ReportingSettings
    from webhooks.config import WebhooksSettings

    return {"claims": ClaimsSettings, "remittance": RemittanceSettings, "patient-billing": PatientBillingSettings,
            "eligibility": EligibilitySettings, "authorizations": AuthorizationsSettings,
            "reporting": ReportingSettings, "webhooks": WebhooksSettings}[service]


SANDBOXES = ExitStack()  # the sandbox card processor patient billing's app talks to, stopped with its app


SERVICES: dict[str, Callable[[ServiceSettings, Path], FastAPI]] = {
    "claims": _claims, "remittance": _remittance, "patient-billing": _patient_billing,
    "eligibility": _eligibility, "authorizations": _authorizations, "reporting": _reporting,
    "webhooks": _webhooks,
}


class LoopThread:
    """One event loop in a thread: the app's lifespan and every request run on it (asyncpg connections belong
    to the loop that opened them), while hypothesis drives examples from the test's thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def served(request: pytest.FixtureRequest, broker, databases, tmp_path: Path  # type: ignore[no-untyped-def]
           ) -> Iterator[tuple[FastAPI, httpx.AsyncClient, LoopThread]]:
    service: str = request.param
    folders = {"claims": {"clearinghouse_dir": tmp_path / "clearinghouse"},
               "remittance": {"era_pickup_dir": tmp_path / "era-mailbox"}}.get(service, {})
    settings = settings_for(_settings_class(service), databases.create(f"st_{service}"), broker, run_workers=False,
                            **folders)
    app = SERVICES[service](settings, tmp_path)
    loop = LoopThread()
    context: AbstractAsyncContextManager[httpx.AsyncClient] = running(app)
    client = loop.run(context.__aenter__(), timeout=120)
    try:
        yield app, client, loop
    finally:
        loop.run(context.__aexit__(None, None, None), timeout=60)
        loop.close()
        SANDBOXES.close()


def _request(client: httpx.AsyncClient, kwargs: dict[str, Any]) -> httpx.Request | None:
    """The request, its body encoded now: a multipart part httpx cannot encode is the client's problem, and
    must not surface inside the app as if the server had failed. None: not sendable."""
    data, files = kwargs.get("data"), kwargs.get("files")
    request: dict[str, Any] = {"headers": kwargs.get("headers"), "params": kwargs.get("params"),
                               "cookies": kwargs.get("cookies") or None}
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    if files:
        request["files"] = files
        if isinstance(data, dict):
            request["data"] = data
    elif isinstance(data, bytes | str):
        request["content"] = data
    elif isinstance(data, dict):
        request["data"] = data
    url = kwargs["url"].removeprefix("http://test")
    try:
        built = client.build_request(kwargs["method"], url, **request)
        built.read()
    except (TypeError, ValueError, AttributeError):
        return None
    return built


@pytest.mark.parametrize("served", list(SERVICES), indirect=True)
def test_no_operation_answers_a_server_error(served: tuple[FastAPI, httpx.AsyncClient, LoopThread]) -> None:
    app, client, loop = served
    schema = schemathesis.openapi.from_dict(app.openapi())
    token = auth(practice_id="drill-practice")
    operations = [result.ok() for result in schema.get_all_operations()]
    examples = 0
    server_errors: list[str] = []
    unsendable: list[str] = []

    for operation in operations:
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not FULL,
                  phases=[Phase.explicit, Phase.generate],  # no shrinking: each 5xx is reported as it came
                  suppress_health_check=list(HealthCheck))
        @given(case=st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                              operation.as_strategy(GenerationMode.NEGATIVE)))
        def check(case: schemathesis.Case) -> None:
            nonlocal examples
            kwargs = case.as_transport_kwargs(base_url="http://test", headers=token)
            request = _request(client, kwargs)
            if request is None:
                unsendable.append(case.path)
                return
            response = loop.run(client.send(request))
            examples += 1
            if response.status_code >= 500:
                server_errors.append(f"{case.method} {case.path} -> {response.status_code}")
                if os.environ.get("RCM_DRILL_DEBUG"):
                    print(case.as_curl_command())

        check()

    service = app.title
    print(f"DRILL schemathesis: service={service.replace(' ', '_')} operations={len(operations)} "
          f"examples={examples} unsendable={len(unsendable)} server_errors={len(server_errors)}")
    assert not server_errors, sorted(set(server_errors))
