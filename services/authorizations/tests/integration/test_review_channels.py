"""The Da Vinci PAS and X12 278 channels over HTTPS against the sandbox payer's HTTP face (FastAPI on uvicorn,
a free port, a self-signed certificate), answering from the same rules as the in-process sandbox: the adapters
alone, then the service routed per payer (payer -> pas-fhir | x12-278) end to end."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from authorizations.adapters.utilization_review import (
    PasFhirUtilizationReview,
    ReviewUnavailable,
    X12HttpsUtilizationReview,
)
from authorizations.bootstrap import build_app, load_sandbox_reviewer
from authorizations.config import AuthorizationsSettings
from authorizations.domain.model import AuthorizationRequest, RequestedService
from authorizations.domain.review import ReviewStatus
from authorizations.edi.pas import build_pas_response, read_pas_request
from authorizations.edi.pas_resources import PROFILE_CLAIM
from authorizations.edi.x12_278 import read_278
from authorizations.edi.x217_structure import validate_278
from authorizations.entrypoints.schemas import AuthorizationRequestIn
from authorizations.sandbox.payer_app import build_sandbox_payer_app
from fastapi import FastAPI
from rcm_shared.contracts import topics
from rcm_shared.testing.clearinghouse import free_socket, serve_https, stop_https
from rcm_shared.testing.fixtures import TEST_INSTANT, auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import read_topic
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

pytestmark = pytest.mark.integration
TOKEN = "sandbox-payer-token"
TODAY = fixed_clock().today()  # the practice's date at the tests' instant
REQUEST = AuthorizationRequest(
    payer_id="SBXPAS", payer_name="SANDBOX PAS PLAN", requester_npi="1234567893", requester_name="CALM CLINIC",
    member_id="SBX000061", subscriber_last_name="EXAMPLE", subscriber_first_name="ROBIN",
    subscriber_birth_date=date(1988, 8, 8), subscriber_gender="F", rendering_npi="1245319599",
    rendering_last_name="RIVERA", rendering_first_name="SAM", diagnosis_codes=("F331",),
    services=(RequestedService("90837", 8),), start=TODAY, end=TODAY + timedelta(days=45), trace_number="PAS61",
)
PHI = ("SBX000061", "ROBIN", "EXAMPLE", "F331", "F33.1", "1988")


@dataclass
class PayerSite:
    app: FastAPI
    base_url: str
    cert: Path

    def pas(self, **kw: object) -> PasFhirUtilizationReview:
        args: dict[str, object] = {"originator": "9RCMPLATFM", "bearer_token": TOKEN, "timeout": 5.0,
                                   "verify": str(self.cert)}
        args.update(kw)
        return PasFhirUtilizationReview(f"{self.base_url}/fhir", **args)  # type: ignore[arg-type]

    def x12(self, **kw: object) -> X12HttpsUtilizationReview:
        args: dict[str, object] = {"bearer_token": TOKEN, "timeout": 5.0, "verify": str(self.cert)}
        args.update(kw)
        return X12HttpsUtilizationReview(f"{self.base_url}/x12/278", InterchangeParties("RCMPLATFORM", "SBXUMO"),
                                         **args)  # type: ignore[arg-type]

    @property
    def received(self) -> list[tuple[str, bytes]]:
        return list(self.app.state.received)


@pytest.fixture(scope="module")
def payer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PayerSite]:
    app = build_sandbox_payer_app(load_sandbox_reviewer(), bearer_token=TOKEN)
    server, thread, sock, cert, port = serve_https(app, tmp_path_factory.mktemp("tls"))
    yield PayerSite(app, f"https://127.0.0.1:{port}", cert)
    stop_https(server, thread, sock)


@pytest.fixture
def payer(payer_server: PayerSite) -> PayerSite:
    payer_server.app.state.received.clear()
    return payer_server


def control() -> ControlNumbers:
    return ControlNumbers(41, 41, 1, TEST_INSTANT)


# ------------------------------------------------------------------------------------------ PAS adapter


async def test_pas_submit_round_trip_reads_the_claim_response(payer: PayerSite, caplog: pytest.LogCaptureFixture
                                                              ) -> None:
    caplog.set_level(logging.DEBUG)
    exchange = await payer.pas().submit(REQUEST, control())
    assert exchange.channel == "pas-fhir" and exchange.response is not None
    answer = exchange.response
    assert (answer.status, answer.action, answer.trace_number) == (ReviewStatus.APPROVED, "A1", "PAS61")
    assert answer.certification_number.startswith("SBX") and answer.approved_units == 8
    assert answer == load_sandbox_reviewer().review(REQUEST, "9RCMPLATFM"), "the same rules as the 278 sandbox"
    ((media, body),) = payer.received
    assert media == "application/fhir+json"
    sent = json.loads(body)
    assert json.loads(exchange.request_body) == sent
    assert sent["entry"][0]["resource"]["meta"]["profile"] == [PROFILE_CLAIM]
    assert read_pas_request(sent) == (REQUEST, "9RCMPLATFM")
    assert json.loads(exchange.response_body)["resourceType"] == "Bundle"
    for secret in PHI:
        assert secret not in caplog.text
    assert "PAS61" in caplog.text, "the trace number (not PHI) says which request"


async def test_pas_denied_pended_and_rejected_answers(payer: PayerSite) -> None:
    client = payer.pas()
    denied = (await client.submit(replace(REQUEST, services=(RequestedService("90899", 1),)), control())).response
    assert denied is not None and (denied.status, denied.reason_code) == (ReviewStatus.DENIED, "SBX01")
    pended = (await client.submit(replace(REQUEST, payer_id="SBXUM"), control())).response
    assert pended is not None and (pended.status, pended.reason_code) == (ReviewStatus.PENDED, "SBX03")
    refused = (await client.submit(replace(REQUEST, member_id="SBX999999"), control())).response
    assert refused is not None and refused.status is ReviewStatus.REJECTED
    assert [(r.loop, r.reason_code, r.fix) for r in refused.rejections] == [("2010C", "75", "member_id")]


async def test_pas_bundle_the_payer_cannot_read_comes_back_as_a_rejection(payer: PayerSite) -> None:
    exchange = await payer.pas().submit(replace(REQUEST, services=()), control())
    assert exchange.response is not None and exchange.response.status is ReviewStatus.REJECTED
    assert [(r.reason_code, r.reason) for r in exchange.response.rejections] == [("33", "Input errors")]
    assert json.loads(exchange.response_body)["resourceType"] == "OperationOutcome"


async def test_pas_failures_are_unavailable_and_name_no_phi(payer: PayerSite, tmp_path: Path) -> None:
    with pytest.raises(ReviewUnavailable) as wrong_token:
        await payer.pas(bearer_token="not-the-token").submit(REQUEST, control())
    assert wrong_token.value.error_code == "HTTP401" and "not-the-token" not in str(wrong_token.value)
    with pytest.raises(ReviewUnavailable) as untrusted:
        await payer.pas(verify=True).submit(REQUEST, control())  # the system trust store: self-signed is refused
    assert untrusted.value.error_code == "TransportError"
    closed = free_socket()
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(ReviewUnavailable) as unreachable:
        await PasFhirUtilizationReview(f"https://127.0.0.1:{port}/fhir", originator="9RCMPLATFM", timeout=2.0,
                                       verify=str(payer.cert)).submit(REQUEST, control())
    assert unreachable.value.error_code == "TransportError"
    for error in (wrong_token.value, untrusted.value, unreachable.value):
        assert not any(secret in str(error) for secret in PHI)


# ------------------------------------------------------------------------------------------ X12 278 adapter


async def test_x12_278_over_https_round_trip(payer: PayerSite) -> None:
    exchange = await payer.x12().submit(replace(REQUEST, payer_id="SBXEDI"), control())
    assert exchange.channel == "x12-278" and exchange.response is not None
    assert exchange.response.status is ReviewStatus.APPROVED and exchange.response.trace_number == "PAS61"
    ((media, body),) = payer.received
    assert media == "application/edi-x12" and body.decode() == exchange.request_body
    assert validate_278(exchange.request_body) == [] and validate_278(exchange.response_body) == []
    assert read_278(exchange.request_body) == replace(REQUEST, payer_id="SBXEDI")
    with pytest.raises(ReviewUnavailable) as refused:
        await payer.x12(bearer_token=None).submit(REQUEST, control())
    assert refused.value.error_code == "HTTP401"


# ------------------------------------------------------------------------------------------ routed service


def _routes_file(folder: Path, base_url: str) -> Path:
    """This deployment's own utilization_review.yaml, in its rules folder (RCM_RULES_DIR)."""
    path = folder / "utilization_review.yaml"
    path.write_text(f"""
version: "test-1"
decides: which channel carries each payer's prior-authorization requests (this test's deployment)
routes:
  - {{payer_id: "*", channel: sandbox}}
  - {{payer_id: SBXPAS, channel: pas-fhir, endpoint: "{base_url}/fhir"}}
  - {{payer_id: SBXUM, channel: pas-fhir, endpoint: "{base_url}/fhir"}}
  - {{payer_id: SBXEDI, channel: x12-278, endpoint: "{base_url}/x12/278", receiver_id: SBXUMO}}
follow_up:
  - {{payer_id: "*", pended_days: 5}}
decision_reasons:
  "*": {{SBX03: "Clinical review"}}
""")
    return path


def body_for(payer_id: str, patient_id: str) -> dict[str, object]:
    return {"patient_id": patient_id, "payer_id": payer_id, "payer_name": "SANDBOX PLAN",
            "requester_npi": "1234567893", "requester_name": "CALM CLINIC", "member_id": "SBX000061",
            "subscriber_first_name": "ROBIN", "subscriber_last_name": "EXAMPLE", "rendering_npi": "1245319599",
            "rendering_first_name": "SAM", "rendering_last_name": "RIVERA", "diagnoses": ["F33.1"],
            "services": [{"cpt_code": "90837", "units": 8}], "start": TODAY.isoformat(),
            "end": (TODAY + timedelta(days=45)).isoformat()}


async def test_service_routes_each_payer_to_its_channel(payer: PayerSite, broker, databases,  # type: ignore[no-untyped-def]
                                                        tmp_path: Path) -> None:
    settings = settings_for(AuthorizationsSettings, databases.create("auth"), broker,
                            rules_dir=str(_routes_file(tmp_path, payer.base_url).parent),
                            utilization_review_tokens={"*": TOKEN}, utilization_review_ca_bundle=str(payer.cert))
    async with running(build_app(settings, clock=fixed_clock())) as client:
        by_pas = (await client.post("/v1/authorization-requests", json=body_for("SBXPAS", "pt-61"),
                                    headers=auth())).json()
        by_x12 = (await client.post("/v1/authorization-requests", json=body_for("SBXEDI", "pt-62"),
                                    headers=auth())).json()
        in_process = (await client.post("/v1/authorization-requests", json=body_for("SBXHP", "pt-63"),
                                        headers=auth())).json()
        assert [(o["channel"], o["decision"]) for o in (by_pas, by_x12, in_process)] == [
            ("pas-fhir", "approved"), ("x12-278", "approved"), ("sandbox", "approved")]
        assert [m for m, _ in payer.received] == ["application/fhir+json", "application/edi-x12"]
        for outcome, patient in ((by_pas, "pt-61"), (by_x12, "pt-62")):
            listed = (await client.get(f"/v1/patients/{patient}/authorizations", headers=auth())).json()["items"]
            assert [(a["number"], a["approved_units"], a["status"]) for a in listed] == [
                (outcome["certification_number"], 8, "approved")]

        # A pended PAS review, then the payer's PAS answer arriving later.
        pended = (await client.post("/v1/authorization-requests", json=body_for("SBXUM", "pt-64"),
                                    headers=auth())).json()
        assert (pended["channel"], pended["decision"], pended["reason"]) == ("pas-fhir", "pended", "Clinical review")
        assert pended["follow_up_on"] == (TODAY + timedelta(days=5)).isoformat()
        request = AuthorizationRequestIn.model_validate(body_for("SBXUM", "pt-64")).to_domain(pended["trace_number"])
        final = build_pas_response(request, load_sandbox_reviewer().final_review(request, "9RCMPLATFM"),
                                   created=TEST_INSTANT)
        decided = await client.post("/v1/authorization-responses", content=json.dumps(final), headers={
            **auth(), "Content-Type": "application/fhir+json"})
        assert decided.status_code == 200, decided.text
        assert decided.json()["decision"] == "approved" and decided.json()["authorization"]["approved_units"] == 8

        changes = await read_topic(broker.bootstrap, topics.AUTHORIZATION_CHANGED, expect=4)
        assert sorted(json.loads(r.value)["data"]["patient_id"] for r in changes) == ["pt-61", "pt-62", "pt-63",
                                                                                     "pt-64"]

        payer.app.state.received.clear()
        down = settings_for(AuthorizationsSettings, databases.create("auth"), broker,
                            rules_dir=str(_routes_file(tmp_path, payer.base_url).parent),
                            utilization_review_tokens={"*": "wrong"}, utilization_review_ca_bundle=str(payer.cert))
    async with running(build_app(down, clock=fixed_clock())) as client:
        refused = await client.post("/v1/authorization-requests", json=body_for("SBXPAS", "pt-65"), headers=auth())
        assert refused.status_code == 503 and refused.json()["error_code"] == "HTTP401"
        assert "SBX000061" not in refused.text
