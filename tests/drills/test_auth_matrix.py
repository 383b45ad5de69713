"""Drill: the auth matrix. Every guarded route of every service, read from the apps themselves (not a hand list),
is probed with no token, an expired one, alg=none, the wrong audience, the wrong issuer, a signature by a key the
issuer does not publish, a token lacking the route's scope, and (as another practice) with practice A's ids. Each
must be refused with the right status and without data, and each refusal must leave an audit row.

The six services run in this process on real PostgreSQL; claims runs its workers so practice A has a real claim,
reporting runs its workers so that claim reaches its read model.
`make drills` (RCM_DRILL_SCALE=full) adds tampered, algorithm-confusion and not-yet-valid tokens.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from joserfc import jwt
from joserfc.jwk import OctKey
from rcm_cli.platform import SERVICES
from rcm_shared.config import ServiceSettings
from rcm_shared.http.audit import audit_spec, guarded
from rcm_shared.http.auth import ALL_SCOPES, ScopeGuard
from rcm_shared.testing.fixtures import auth, running, settings_for, token
from rcm_shared.testing.identity import TEST_KEY, claims_for, new_signing_key, sign
from rcm_shared.testing.kafka import eventually
from sqlalchemy import func, select

pytestmark = pytest.mark.integration
FULL = os.environ.get("RCM_DRILL_SCALE", "small") == "full"
A, B = "practice-a", "practice-b"
# Routes a third party calls with its own authentication instead of our tokens: the card processor's webhooks,
# verified by their signature (each is probed unsigned below: refused).
SIGNED = {"/v1/processor-events"}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"  # valid for every path pattern, belongs to no one
TODAY = date.today()


# ------------------------------------------------------------------------------------------------ the apps


def settings_class(module: str) -> type[ServiceSettings]:
    config = importlib.import_module(f"{module}.config")
    classes = [c for _, c in inspect.getmembers(config, inspect.isclass)
               if issubclass(c, ServiceSettings) and c is not ServiceSettings and c.__module__ == config.__name__]
    assert len(classes) == 1, f"{module}.config should define one settings class"
    return classes[0]


@dataclass
class Service:
    name: str
    app: FastAPI
    client: httpx.AsyncClient
    seeded: dict[str, str] = field(default_factory=dict)  # path parameter name -> practice A's id

    def routes(self) -> list[Any]:
        # Read from the app, as its OpenAPI document is: every route that needs a token.
        return [r for r in iter_route_contexts(self.app.routes) if guarded(r)]


@pytest.fixture
async def services(broker, databases) -> AsyncIterator[dict[str, Service]]:  # type: ignore[no-untyped-def]
    async with AsyncExitStack() as stack:
        out: dict[str, Service] = {}
        for name in SERVICES:
            module = name.replace("-", "_")
            settings = settings_for(settings_class(module), databases.create(f"drill_{module}"), broker,
                                    run_workers=name in ("claims", "reporting"))
            app = importlib.import_module(f"{module}.bootstrap").build_app(settings)
            out[name] = Service(name, app, await stack.enter_async_context(running(app)))
        yield out


# ------------------------------------------------------------------------------------------------ practice A's data


async def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, response.text
    body: dict[str, Any] = response.json()
    return body


async def seed_practice_a(services: dict[str, Service]) -> set[str]:
    """Practice A's records in every service; returns strings that only practice A's data contains."""
    pb, au, el = services["patient-billing"], services["authorizations"], services["eligibility"]
    cl, rm = services["claims"], services["remittance"]
    await ok(await pb.client.post("/v1/patients/pa-drill-1/payments", headers=auth(A),
                                  json={"amount": "17.31", "method": "check", "reference": "REF-A-DRILL"}))
    pb.seeded["patient_id"] = "pa-drill-1"
    await ok(await au.client.post("/v1/authorizations", headers=auth(A), json={
        "number": "AUTH-A-DRILL", "patient_id": "pa-drill-2", "payer_id": "SBXHP", "cpt_codes": ["90837"],
        "approved_units": 7, "start": (TODAY - timedelta(days=30)).isoformat(),
        "end": (TODAY + timedelta(days=30)).isoformat()}))
    au.seeded["patient_id"] = "pa-drill-2"
    checked = await ok(await el.client.post("/v1/coverage-checks", headers=auth(A), json={
        "patient_id": "pa-drill-3", "payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN",
        "provider_npi": "1245319599", "provider_name": "RIVERSIDE COUNSELING GROUP",
        "subscriber": {"first_name": "ALEX", "last_name": "SAMPLE", "member_id": "SBX000001",
                       "birth_date": "1988-04-12"}, "service_date": (TODAY - timedelta(days=3)).isoformat()}))
    el.seeded["patient_id"] = "pa-drill-3"
    el.seeded["check_id"] = checked["check_id"]  # FHIR CoverageEligibilityResponse/{check_id}
    el.seeded["coverage_id"] = "pa-drill-3.SBXHP"  # FHIR Coverage/{coverage_id}
    run = await el.client.post("/v1/batch-runs", headers=auth(A), json={})
    if run.status_code in (200, 201):
        el.seeded["run_id"] = str(run.json()["run"]["run_id"])
    visit = await ok(await cl.client.post("/v1/visits", headers=auth(A), json={
        "external_visit_id": "drill-a-1", "patient_id": "pa-drill-4",
        "patient": {"first_name": "ALEX", "last_name": "SAMPLE", "birth_date": "1988-04-12", "gender": "U",
                    "address": {"line1": "100 MAIN ST", "city": "HARTFORD", "state": "CT", "postal_code": "06103"}},
        "coverage": {"payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN", "member_id": "SBX000001"},
        "date_of_service": (TODAY - timedelta(days=3)).isoformat(), "service_kind": "psychotherapy",
        "psychotherapy_minutes": 53, "modality": "in_person", "patient_at_home": False, "diagnoses": ["F41.1"],
        "rendering": {"npi": "1234567893", "first_name": "JORDAN", "last_name": "RIVERA", "credential": "LCSW"},
        "billing_provider": {"npi": "1245319599", "name": "RIVERSIDE COUNSELING GROUP", "tax_id": "123456789",
                             "address": {"line1": "100 MAIN ST", "city": "HARTFORD", "state": "CT",
                                         "postal_code": "06103"}}}))

    async def built() -> str | None:
        items = (await ok(await cl.client.get("/v1/claims", params={"visit_id": visit["visit_id"]},
                                              headers=auth(A))))["items"]
        return str(items[0]["claim_id"]) if items else None

    cl.seeded["claim_id"] = await eventually(built, what="practice A's claim")
    from remittance.edi.era_writer import DraftClaim, DraftLine, DraftTransaction, write_835

    era = write_835([[DraftTransaction(claims=(DraftClaim("PCN-A-DRILL", "1", Decimal("150"), Decimal("100"),
                                                          Decimal("0"), lines=(DraftLine("90837", Decimal("150"),
                                                                                          Decimal("100")),)),),
                                       trace_number="TRACEADRILL1")]], interchange_control_number=4242).encode()
    intake = await ok(await rm.client.post("/v1/eras", content=era,
                                           headers={**auth(A), "content-type": "application/edi-x12"}))
    rm.seeded["era_id"] = intake["era_id"]
    # Reporting reads the topics (its workers run): practice A's claim reaches its fact rows.
    rp = services["reporting"]
    rp.seeded["kpi"] = "first_pass_clean_rate"

    async def reported() -> bool:
        rows = (await ok(await rp.client.get("/v1/claims", params={"ids": cl.seeded["claim_id"]},
                                             headers=auth(A))))["items"]
        return bool(rows)

    await eventually(reported, what="practice A's claim in reporting")
    return {"REF-A-DRILL", "AUTH-A-DRILL", "pa-drill-", visit["visit_id"], cl.seeded["claim_id"],
            intake["era_id"], "PCN-A-DRILL", "TRACEADRILL1", "17.31"}


# ------------------------------------------------------------------------------------------------ the probes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def all_but(scope: str) -> list[str]:
    return [s for s in ALL_SCOPES if s != scope]


def refusals(scope: str) -> dict[str, tuple[Callable[[], dict[str, str]], int]]:
    """Probe name -> (headers, the status it must get)."""
    everything = list(ALL_SCOPES)

    def none_alg() -> dict[str, str]:
        header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": TEST_KEY.kid}).encode())
        return bearer(f"{header}.{_b64(json.dumps(claims_for(scopes=everything)).encode())}.")

    probes: dict[str, tuple[Callable[[], dict[str, str]], int]] = {
        "no-token": (lambda: {}, 401),
        "expired": (lambda: bearer(sign(claims_for(scopes=everything, ttl_seconds=-120))), 401),
        "alg-none": (none_alg, 401),
        "wrong-audience": (lambda: bearer(sign(claims_for(scopes=everything, aud="another-platform"))), 401),
        "wrong-issuer": (lambda: bearer(sign(claims_for(scopes=everything, iss="https://idp.evil.example"))), 401),
        "wrong-signature": (lambda: bearer(sign(claims_for(scopes=everything), key=new_signing_key())), 401),
        "missing-scope": (lambda: auth(A, all_but(scope)), 403),
    }
    if FULL:
        def tampered() -> dict[str, str]:
            head, payload, signature = sign(claims_for(practice_id=B, scopes=everything)).split(".")
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            claims["practice_id"] = A
            return bearer(f"{head}.{_b64(json.dumps(claims).encode())}.{signature}")

        def confused() -> dict[str, str]:
            public = json.dumps(TEST_KEY.as_dict(private=False)).encode()
            return bearer(jwt.encode({"alg": "HS256", "kid": TEST_KEY.kid}, claims_for(scopes=everything),
                                     OctKey.import_key(public), algorithms=["HS256"]))

        probes.update({
            "tampered": (tampered, 401), "hs256-with-public-key": (confused, 401),
            "not-yet-valid": (lambda: bearer(sign(claims_for(scopes=everything, nbf=2_000_000_000 * 2))), 401),
            "garbage": (lambda: bearer("a.b.c"), 401),
            "other-practice-header": (lambda: {**auth(A), "X-Practice-Id": B}, 403),
        })
    return probes


def required_scope(route: Any) -> str:
    def walk(dependant: Any) -> str | None:
        for d in dependant.dependencies:
            if isinstance(d.call, ScopeGuard):
                return d.call.required_scope
            found = walk(d)
            if found:
                return found
        return None

    scope = walk(route.dependant)
    assert scope, route.path
    return scope


def url_for(route: Any, seeded: dict[str, str], *, own: bool) -> str:
    def value(match: re.Match[str]) -> str:
        return seeded.get(match.group(1), UNKNOWN_ID) if own else UNKNOWN_ID

    return re.sub(r"\{(\w+)\}", value, route.path)


async def call(client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str]) -> httpx.Response:
    # A well-formed empty JSON body: what is refused must be refused for who asks, not for what was sent.
    return await client.request(method, url, headers={**headers, "content-type": "application/json"},
                                content=b"{}" if method in ("POST", "PUT", "PATCH") else None)


def leaked(response: httpx.Response, secrets: set[str]) -> bool:
    text = response.text
    return any(s in text for s in secrets)


async def audit_rows(service: Service, outcome: str) -> int:
    table = service.app.state.db.tables.audit_log
    async with service.app.state.db.sessions() as session:
        return int((await session.scalar(select(func.count()).select_from(table).where(table.c.outcome == outcome)))
                   or 0)


async def test_every_route_refuses_every_bad_caller_and_leaks_nothing(services: dict[str, Service]) -> None:
    secrets = await seed_practice_a(services)
    as_b = bearer(token(B, subject="user-of-b"))  # practice B's staff, holding every scope
    probes = refused = empty = leaks = routes = 0
    failures: list[str] = []
    for service in services.values():
        unguarded = [r.path for r in iter_route_contexts(service.app.routes)
                     if (r.path or "").startswith(("/v1", "/fhir/r4/")) and not guarded(r)
                     and r.path != "/fhir/r4/metadata"  # the CapabilityStatement: no data, discovered without a token
                     and r.path not in SIGNED]
        assert not unguarded, f"{service.name} serves {unguarded} without a token"
        for path in SIGNED & {r.path for r in iter_route_contexts(service.app.routes)}:
            unsigned = await service.client.post(path, content=b'{"id": "evt_1", "type": "payment_intent.succeeded"}')
            assert unsigned.status_code == 400, f"{service.name} {path} took an unsigned event"
        for route in service.routes():
            assert route.path.startswith(("/v1/", "/fhir/r4/")), route.path
            assert audit_spec(route) is not None or route.path == "/v1/audit-events", \
                f"{service.name} {route.path} does not say what it touches (audited(...))"
            routes += 1
            scope = required_scope(route)
            before = {o: await audit_rows(service, o) for o in ("unauthenticated", "forbidden", "not_found")}
            expected = {"unauthenticated": 0, "forbidden": 0, "not_found": 0}
            for method in sorted(route.methods - {"HEAD"}):
                for probe, (headers, status) in refusals(scope).items():
                    response = await call(service.client, method, url_for(route, service.seeded, own=True),
                                          headers())
                    probes += 1
                    if response.status_code == status:
                        refused += 1
                        expected["unauthenticated" if status == 401 else "forbidden"] += 1
                    else:
                        failures.append(f"{service.name} {method} {route.path} {probe}: {response.status_code}")
                    if leaked(response, secrets) or "items" in response.text:
                        leaks += 1
                        failures.append(f"{service.name} {method} {route.path} {probe}: data in the refusal")
                if "{" in route.path:
                    # Practice B, holding every scope, names practice A's record: not found (a patient-scoped
                    # list may answer empty instead, as it does for any unknown patient), nothing of A's shown.
                    url = url_for(route, service.seeded, own=True)
                    response = await call(service.client, method, url, as_b)
                    probes += 1
                    shown = leaked(response, {s for s in secrets if s not in url})
                    # a write with the probe's empty body is refused (422) before any record is looked up
                    if response.status_code == 404 or (method in ("POST", "PUT", "PATCH")
                                                       and response.status_code == 422):
                        refused += 1
                        expected["not_found"] += response.status_code == 404
                    elif method == "GET" and response.status_code == 200 and not shown:
                        empty += 1
                    else:
                        failures.append(f"{service.name} {method} {route.path} other-practice: "
                                        f"{response.status_code}")
                    if shown:
                        leaks += 1
                        failures.append(f"{service.name} {method} {route.path} other-practice: A's data shown")
                elif method == "GET":
                    response = await call(service.client, method, url_for(route, {}, own=False), as_b)
                    probes += 1
                    shown = leaked(response, secrets) if route.path != "/v1/audit-events" else any(
                        item["actor"] != "user-of-b" for item in response.json()["items"])
                    empty += not shown
                    if shown:
                        leaks += 1
                        failures.append(f"{service.name} GET {route.path} other-practice: A's data listed")
            for outcome, count in expected.items():
                written = await audit_rows(service, outcome) - before[outcome]
                if written != count:
                    failures.append(f"{service.name} {route.path}: {written} audit rows {outcome}, {count} refusals")
    # refused: 401 / 403 / 404 (or a 422 before any lookup); empty: practice B's own, empty answer.
    print(f"DRILL auth-matrix: services={len(services)} routes={routes} probes={probes} refused={refused} "
          f"empty={empty} leaks={leaks}")
    assert not failures, "\n".join(failures[:40])
    assert leaks == 0 and refused + empty == probes
