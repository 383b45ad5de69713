"""Payer answers and request bodies that do not fit what authorizations keeps, on real PostgreSQL: after the payer
has been asked, a bad answer is recorded as unreadable (a work item), never a 500 that loses the request; a posted
answer that cannot be kept is a 422; input that cannot be stored or sent is refused naming the field; one pended
review takes one decision even when its answer arrives twice at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from authorizations.adapters.orm import authorization_requests
from authorizations.adapters.utilization_review import PasFhirUtilizationReview, X12HttpsUtilizationReview
from authorizations.bootstrap import build_app, load_sandbox_reviewer
from authorizations.config import AuthorizationsSettings
from authorizations.edi.x12_278_response import build_278_response
from authorizations.entrypoints.schemas import AuthorizationRequestIn
from rcm_shared.testing.fixtures import TEST_INSTANT, auth, fixed_clock, running, settings_for
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties
from sqlalchemy import select

pytestmark = pytest.mark.integration
TODAY = fixed_clock().today()  # the practice's date at the tests' instant
BODY: dict[str, Any] = {
    "patient_id": "pt-70", "payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN", "requester_npi": "1245319599",
    "requester_name": "RIVERSIDE COUNSELING", "member_id": "SBX000070", "subscriber_first_name": "CASEY",
    "subscriber_last_name": "EXAMPLE", "subscriber_birth_date": "1991-04-05", "rendering_npi": "1234567893",
    "rendering_first_name": "JO", "rendering_last_name": "RIVERA", "diagnoses": ["F41.1"],
    "services": [{"cpt_code": "90837", "units": 6}], "start": TODAY.isoformat(),
    "end": (TODAY + timedelta(days=60)).isoformat(),
}
PARTIES = InterchangeParties("RCMPLATFORM", "SBXUMO")


def x12_payer(spoil: Callable[[str], str]) -> X12HttpsUtilizationReview:
    """A real-time 278 endpoint answering with the sandbox reviewer's 278 response, spoilt by ``spoil``."""
    reviewer = load_sandbox_reviewer()

    def answer(request: httpx.Request) -> httpx.Response:
        text = reviewer.answer_278(request.content.decode(), ControlNumbers(7, 7, 1, TEST_INSTANT),
                                   InterchangeParties("SBXUMO", "RCMPLATFORM"))
        return httpx.Response(200, text=spoil(text))

    return X12HttpsUtilizationReview("https://payer.test/x12/278", PARTIES, transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(("spoil", "decision"), [
    (lambda text: text.replace("HCR*A1*", "HCR*A1Z*"), "unreadable"),  # HCR01 longer than an action code's 2
    (lambda text: text.replace("HSD*VS*6", "HSD*VS*99999999999"), "unreadable"),  # no integer column holds it
    # A NUL in an element we do not read: the answer stands, its stored copy cannot hold the NUL.
    (lambda text: text.replace("NM1*IL*1*EXAMPLE", "NM1*IL*1*EX\x00AMPLE"), "approved"),
])
async def test_an_answer_that_cannot_be_kept_as_sent_is_still_recorded(
        broker, databases, spoil: Callable[[str], str], decision: str) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker),
                    utilization_review=x12_payer(spoil), clock=fixed_clock())
    async with running(app) as client:
        sent = await client.post("/v1/authorization-requests", json=BODY, headers=auth())
        assert sent.status_code == 201, sent.text
        outcome = sent.json()
        assert outcome["decision"] == decision
        assert "EXAMPLE" not in sent.text and "SBX000070" not in sent.text
        work = (await client.get("/v1/work-queue", headers=auth())).json()["rejected_requests"]
        if decision == "unreadable":
            assert outcome["authorization"] is None
            assert [(w["request_id"], w["status"]) for w in work] == [(outcome["request_id"], "unreadable")]
        else:
            assert outcome["authorization"]["approved_units"] == 6 and work == []
        async with app.state.db.sessions() as session:
            stored = (await session.execute(select(authorization_requests.c.response_body).where(
                authorization_requests.c.request_id == outcome["request_id"]))).scalar_one()
        assert stored.startswith("ISA*") and "\x00" not in stored, "the payer's answer is kept for its support desk"


async def test_a_pas_answer_nested_past_the_parser_is_unreadable_not_a_500(broker, databases) -> None:  # type: ignore[no-untyped-def]
    deep = "[" * 200_000 + "]" * 200_000
    review = PasFhirUtilizationReview("https://payer.test/fhir", originator="9RCMPLATFM", transport=httpx.MockTransport(
        lambda request: httpx.Response(200, text=deep, headers={"Content-Type": "application/fhir+json"})))
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), utilization_review=review,
                    clock=fixed_clock())
    async with running(app) as client:
        sent = await client.post("/v1/authorization-requests", json=BODY, headers=auth())
        assert sent.status_code == 201, sent.text
        assert sent.json()["decision"] == "unreadable"
        posted = await client.post("/v1/authorization-responses", content=deep,
                                   headers={**auth(), "Content-Type": "application/fhir+json"})
        assert posted.status_code == 422 and posted.json()["type"].endswith("/unreadable-response"), posted.text


async def pended_and_final(client: httpx.AsyncClient) -> tuple[dict[str, Any], str]:
    body = {**BODY, "payer_id": "SBXUM"}
    pended = (await client.post("/v1/authorization-requests", json=body, headers=auth())).json()
    assert pended["decision"] == "pended", pended
    request = AuthorizationRequestIn.model_validate(body).to_domain(pended["trace_number"])
    final = load_sandbox_reviewer().final_review(request, "9RCMPLATFM")
    return pended, build_278_response(request, final, ControlNumbers(90, 90, 1, TEST_INSTANT),
                                      InterchangeParties("SBXUMO", "RCMPLATFORM"))


async def test_a_later_answer_that_cannot_be_kept_is_a_422(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), clock=fixed_clock())
    async with running(app) as client:
        pended, answer = await pended_and_final(client)
        for spoilt in (answer.replace("HCR*A6*", "HCR*ZZZ*"), answer.replace("HSD*VS*", "HSD*VS*1E+9", 1),
                       answer.replace("HSD*VS*", "HSD*VS*NaN", 1)):
            refused = await client.post("/v1/authorization-responses", content=spoilt,
                                        headers={**auth(), "Content-Type": "application/edi-x12"})
            assert refused.status_code == 422 and refused.json()["type"].endswith("/unreadable-response"), \
                refused.text
        work = (await client.get("/v1/work-queue", headers=auth())).json()
        assert [p["request_id"] for p in work["pended_reviews"]] == [pended["request_id"]], "still pended"


async def test_one_pended_review_takes_one_decision_when_its_answer_arrives_twice(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), clock=fixed_clock())
    async with running(app) as client:
        _, answer = await pended_and_final(client)
        both = await asyncio.gather(*[client.post("/v1/authorization-responses", content=answer, headers={
            **auth(), "Content-Type": "application/edi-x12"}) for _ in range(2)])
        assert sorted(r.status_code for r in both) == [200, 409], [r.text for r in both]
        decided = [r.json() for r in both if r.status_code == 200]
        listed = (await client.get("/v1/patients/pt-70/authorizations", headers=auth())).json()["items"]
        assert [a["number"] for a in listed] == [decided[0]["certification_number"]]


@pytest.mark.parametrize(("change", "field"), [
    ({"subscriber_first_name": "CA\x00SEY"}, "body.subscriber_first_name"),
    ({"subscriber_last_name": "EXAMPLE*JR"}, "body.subscriber_last_name"),
    ({"payer_id": "SBX\x00HP"}, "body.payer_id"),
    ({"diagnoses": ["F41.1", "not a code"]}, "body.diagnoses.1"),
    ({"dependent": {"first_name": "KIM\x00", "last_name": "EXAMPLE"}}, "body.dependent.first_name"),
])
async def test_a_request_that_cannot_be_stored_or_sent_is_refused_naming_the_field(
        broker, databases, change: dict[str, Any], field: str) -> None:  # type: ignore[no-untyped-def]
    calls: list[httpx.Request] = []

    def payer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503)

    review = X12HttpsUtilizationReview("https://payer.test/x12/278", PARTIES, transport=httpx.MockTransport(payer))
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), utilization_review=review,
                    clock=fixed_clock())
    async with running(app) as client:
        refused = await client.post("/v1/authorization-requests", json={**BODY, **change}, headers=auth())
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field]
        assert "CASEY" not in refused.text and "EXAMPLE" not in refused.text
    assert calls == [], "nothing reached the payer"

