"""The console over the real read model (PostgreSQL, the broker): sign-in with CSRF, the KPI board and its trends,
a figure opened to its claims and a claim's story, A/R aging to the claims of a bucket, a clinician who sees only
their own figures, an operator who switches practice and sees nothing of the other, and queue actions sent to the
owner service with the person's own token (the owners answer through a recording transport here; the browser test
in tests/e2e drives the real ones)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from rcm_shared.testing.fixtures import running, settings_for
from rcm_shared.testing.identity import claims_for, sign
from reporting.adapters.console_session import ConsoleSessions
from reporting.adapters.owner_services import Answer, OwnerServices
from reporting.bootstrap import build_app
from reporting.config import ReportingSettings
from sqlalchemy import select

from .test_read_model import ALICE, BOB, CLOCK, PRACTICE, publish_all, scenario

pytestmark = pytest.mark.integration
ROLE_SCOPES = {
    "biller": ["claims:read", "claims:write", "remittance:read", "eligibility:read", "eligibility:write",
               "reporting:read"],
    "clinician": ["reporting:own"],
    "billing-company-operator": ["claims:read", "claims:write", "remittance:read", "reporting:read"],
    "practice-owner": ["claims:read", "reporting:read", "eligibility:read", "eligibility:write"],
}


class SigningIssuer:
    """The issuer's development login, signing with the test key the app trusts."""

    async def sign_in(self, username: str, role: str, practices: list[str], npi: str | None) -> Answer:
        many = role == "billing-company-operator"
        extra: dict[str, Any] = {"practices": practices} if many else {}
        if npi:
            extra["npi"] = npi
        claims = claims_for(practice_id=None if many else practices[0], scopes=ROLE_SCOPES[role], subject=username,
                            roles=[role], **extra)
        return Answer(200, {"access_token": sign(claims), "expires_in": 3600})

    async def close(self) -> None:
        pass


class Owners:
    """What the owner services were asked, and their answers in their own shapes (claims, eligibility on the
    work-item kernel)."""

    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        path, host = request.url.path, request.url.host
        if path == "/v1/work-queues":
            if host == "eligibility":
                return httpx.Response(200, json=[{"queue": "coverage_problems", "state": "open", "count": 1}])
            return httpx.Response(404, json={"title": "Not Found"})
        if host == "claims" and path == "/v1/claims":
            held = [{"claim_id": "c-held", "payer_id": "SBXHP", "date_of_service": "2026-11-20",
                     "total_charge": "150.00", "findings": [{"code": "E1", "message": "rendering not enrolled"}],
                     "status": "held"}]
            return httpx.Response(200, json={"items": held if request.url.params.get("status") == "held" else [],
                                             "next_cursor": None})
        if host == "claims" and path == "/v1/claims/c-held/scrub":
            return httpx.Response(200, json={"claim_id": "c-held", "status": "scrubbed"})
        if host == "eligibility" and path == "/v1/work-items":
            return httpx.Response(200, json={"items": [{
                "item_id": "wi-1", "queue": "coverage_problems", "subject_type": "claim", "subject_id": "c-2",
                "summary": "coverage inactive", "state": "open", "priority": "high", "payer_id": "SBXHP",
                "clinician_npi": ALICE, "amount": "150.00", "due_on": None, "age_days": 2, "assignee": None,
                "version": 3}], "next_cursor": None})
        if host == "eligibility" and path == "/v1/work-items/wi-1/actions":
            return httpx.Response(200, json={"item_id": "wi-1", "state": "resolved", "version": 4})
        if host == "remittance":
            return httpx.Response(200, json={"items": [], "next_cursor": None})
        return httpx.Response(404, json={"title": "Not Found"})


@pytest.fixture
async def console(broker, databases) -> AsyncIterator[tuple[httpx.AsyncClient, Owners, Any]]:  # type: ignore[no-untyped-def]
    urls = {s: f"http://{s}" for s in ("claims", "remittance", "eligibility", "authorizations", "patient-billing")}
    app = build_app(settings_for(ReportingSettings, databases.create("reporting_console"), broker, service_urls=urls),
                    clock=CLOCK)
    owners = Owners()
    app.state.console = (OwnerServices(urls, httpx.AsyncClient(transport=httpx.MockTransport(owners))),
                         SigningIssuer(), ConsoleSessions(b"k" * 32, None))
    async with running(app) as client:
        await publish_all(broker.bootstrap, scenario())
        yield client, owners, app


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert found, "the form carries a CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, role: str, practice: str, npi: str = "") -> None:
    client.cookies.clear()
    page = await client.get("/console/sign-in")
    answer = await client.post("/console/sign-in", data={
        "csrf_token": csrf(page), "username": username, "role": role, "practice": practice, "npi": npi,
        "next": "/console"})
    assert answer.status_code == 303, answer.text


async def settled(client: httpx.AsyncClient) -> None:
    from rcm_shared.testing.kafka import eventually

    async def projected() -> bool:
        page = await client.get("/console/kpis/denial_rate")
        return "c-2" in page.text and "33.3%" in page.text

    await eventually(projected, what="the events projected")


async def test_sign_in_needs_the_forms_csrf_token_and_sets_a_strict_http_only_cookie(console) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = console
    assert (await client.get("/console/kpis")).headers["location"].startswith("/console/sign-in")
    page = await client.get("/console/sign-in")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    forged = await client.post("/console/sign-in", data={"csrf_token": "0" * 64, "username": "u", "role": "biller",
                                                         "practice": PRACTICE})
    assert forged.status_code == 403 and "rcm_console=" not in forged.headers.get("set-cookie", "")
    cross_site = await client.post("/console/sign-in", headers={"Origin": "https://evil.example"}, data={
        "csrf_token": csrf(page), "username": "u", "role": "biller", "practice": PRACTICE})
    assert cross_site.status_code == 403
    bad = await client.post("/console/sign-in", data={"csrf_token": csrf(page), "username": "dr",
                                                      "role": "clinician", "practice": PRACTICE})
    assert bad.status_code == 400 and "NPI" in bad.text and 'aria-invalid="true"' in bad.text
    answer = await client.post("/console/sign-in", data={"csrf_token": csrf(page), "username": "bea",
                                                         "role": "biller", "practice": PRACTICE})
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("rcm_console="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    board = await client.get("/console/kpis")
    assert board.status_code == 200 and "KPI board" in board.text
    out = await client.post("/console/sign-out", data={"csrf_token": csrf(board)})
    assert out.status_code == 303
    assert (await client.get("/console/kpis")).status_code == 303


async def test_the_board_opens_to_a_denied_claims_story_and_aging_to_a_buckets_claims(console) -> None:  # type: ignore[no-untyped-def]
    client, _, app = console
    await sign_in(client, "bea", "biller", PRACTICE)
    await settled(client)
    board = await client.get("/console/kpis")
    assert "First-pass clean claims" in board.text and "33.3%" in board.text
    assert board.text.count("<svg") == 8 and 'class="goal"' in board.text, "a trend chart per rate KPI"
    assert "Trouble" in board.text, "judgements in words, not colour alone"
    denied = await client.get("/console/kpis/denial_rate")
    assert 'href="/console/claims/c-2"' in denied.text and "c-1" not in denied.text
    base = await client.get("/console/kpis/denial_rate", params={"show": "base"})
    assert all(f'/console/claims/{c}"' in base.text for c in ("c-1", "c-2", "c-3"))
    story = await client.get("/console/claims/c-2")
    assert "coding" in story.text and "$150.00" in story.text and "submitted → denied" in story.text
    by_clinician = await client.get("/console/denials", params={"by": "clinician"})
    assert ALICE in by_clinician.text and "50.00%" in by_clinician.text
    group = await client.get("/console/kpis/denial_rate", params={"by": "clinician", "group": BOB})
    assert "c-2" not in group.text, "Bob's group has no denied claim"
    aging = await client.get("/console/aging", params={"by": "clinician"})
    assert "Payers owe" in aging.text and "$150.00" in aging.text
    bucket = await client.get("/console/aging/claims", params={"owed_by": "payer", "group": BOB, "bucket": "61-90",
                                                               "by": "clinician"})
    assert "/console/claims/c-4" in bucket.text and "/console/claims/c-2" not in bucket.text
    summary = await client.get("/console/clinicians", params={"month": CLOCK.today().strftime("%Y-%m")})
    assert summary.status_code == 200 and "Clinician summary" in summary.text
    audit = app.state.db.tables.audit_log
    async with app.state.db.sessions() as session:
        rows = (await session.execute(select(audit.c.object_type, audit.c.actor, audit.c.practice_id).where(
            audit.c.object_type.like("console_%")))).all()
    assert {("console_kpi_board", "bea", PRACTICE), ("console_claim", "bea", PRACTICE)} <= set(rows)


async def test_a_clinician_sees_their_own_figures_and_nothing_else(console) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = console
    await sign_in(client, "bea", "biller", PRACTICE)
    await settled(client)
    await sign_in(client, "dr-alice", "clinician", PRACTICE, npi=ALICE)
    home = await client.get("/console")
    assert home.headers["location"] == "/console/me"
    month = (CLOCK.today().replace(day=1)).strftime("%Y-%m")
    mine = await client.get("/console/me", params={"month": month})
    assert ALICE in mine.text and BOB not in mine.text and "KPI board" not in mine.text
    assert (await client.get("/console/kpis")).status_code == 403
    assert (await client.get("/console/aging")).status_code == 403
    assert (await client.get("/console/queues")).status_code == 403
    assert (await client.get("/console/claims/c-3")).status_code == 404, "Bob's claim"
    api = await client.get("/v1/my-figures", params={"month": month},
                           headers={"Authorization": f"Bearer {client.cookies['rcm_console']}"})
    assert api.status_code == 200 and api.json()["clinician"]["clinician_npi"] == ALICE
    no_npi = sign(claims_for(practice_id=PRACTICE, scopes=["reporting:own"]))
    nobody = await client.get("/v1/my-figures", headers={"Authorization": f"Bearer {no_npi}"})
    assert nobody.status_code == 200 and nobody.json()["clinician"] is None


async def test_an_operator_switches_practice_and_sees_nothing_of_the_other(console) -> None:  # type: ignore[no-untyped-def]
    client, owners, _ = console
    await sign_in(client, "op", "billing-company-operator", f"{PRACTICE} practice-z")
    await settled(client)
    board = await client.get("/console/kpis")
    assert '<option value="practice-z"' in board.text
    switched = await client.post("/console/practice", data={"csrf_token": csrf(board), "practice": "practice-z",
                                                            "next": "/console/kpis"})
    assert switched.status_code == 303
    other = await client.get("/console/kpis/denial_rate", params={"show": "base"})
    assert "c-1" not in other.text and "c-2" not in other.text and "No claims" in other.text
    assert (await client.get("/console/claims/c-2")).status_code == 404
    await client.get("/console/queues")
    assert {r.headers["x-practice-id"] for r in owners.calls} == {"practice-z"}
    refused = await client.post("/console/practice", data={"csrf_token": csrf(board), "practice": "practice-q"})
    assert refused.status_code == 403


async def test_queue_actions_go_to_the_owner_with_the_persons_token(console) -> None:  # type: ignore[no-untyped-def]
    client, owners, _ = console
    await sign_in(client, "bea", "biller", PRACTICE)
    index = await client.get("/console/queues")
    assert "Held claims" in index.text and "kernel:eligibility:coverage_problems" in index.text
    assert "kernel:eligibility:eligibility" in index.text, "eligibility's known queues are listed, empty too"
    assert "/console/queues/eligibility\"" not in index.text, "eligibility moved onto the kernel: its own shape gone"
    held = await client.get("/console/queues/held-claims")
    assert "rendering not enrolled" in held.text and "Scrub again" in held.text
    done = await client.post("/console/queues/held-claims/items/c-held", data={"csrf_token": csrf(held),
                                                                              "action": "scrub"})
    assert done.status_code == 303 and "scrubbed" in done.headers["location"]
    scrub = next(r for r in owners.calls if r.url.path == "/v1/claims/c-held/scrub")
    assert scrub.headers["authorization"] == f"Bearer {client.cookies['rcm_console']}"
    assert scrub.headers["x-practice-id"] == PRACTICE
    kernel = await client.get("/console/queues/kernel:eligibility:coverage_problems", params={"sort": "amount"})
    assert "coverage inactive" in kernel.text
    listed = next(r for r in owners.calls if r.url.path == "/v1/work-items")
    assert listed.url.params["queue"] == "coverage_problems" and listed.url.params["sort"] == "amount"
    resolved = await client.post("/console/queues/kernel:eligibility:coverage_problems/items/wi-1", data={
        "csrf_token": csrf(kernel), "action": "resolve", "resolution_code": "coverage_updated", "version": "3"})
    assert resolved.status_code == 303 and "Resolved" in resolved.headers["location"]
    body = json.loads(next(r for r in owners.calls if r.url.path.endswith("/actions")).content)
    assert body == {"action": "resolve", "resolution_code": "coverage_updated", "version": 3}
    forged = await client.post("/console/queues/held-claims/items/c-held", data={"action": "scrub"})
    assert forged.status_code == 403
