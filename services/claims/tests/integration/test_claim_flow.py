"""Claims against real PostgreSQL and the real broker: visit -> clean claim -> pyx12-clean 837P -> 999 ->
payment -> denial -> correction as a replacement (frequency 7)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from claims.adapters.clearinghouse import SandboxClearinghouse
from claims.bootstrap import build_app
from claims.config import ClaimsSettings
from claims.service_layer import responses
from rcm_shared.contracts import ClaimPaymentPostedV1, envelope_for, topics
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic
from rcm_shared.testing.x12 import pyx12_errors

from .conftest import announce, checked, determined

pytestmark = pytest.mark.integration
DOS = fixed_clock().today() - timedelta(days=3)
CREDENTIALED = {"1234567893", "1245319599"}
ADDRESS = {"line1": "100 MAIN ST", "city": "HARTFORD", "state": "CT", "postal_code": "06103"}


def visit(external_id: str, *, minutes: int = 53, npi: str = "1234567893", **extra: object) -> dict[str, object]:
    return {
        "external_visit_id": external_id, "patient_id": f"pt-{external_id}",
        "patient": {"first_name": "ALEX", "last_name": "SAMPLE", "birth_date": "1988-04-12", "gender": "F",
                    "address": ADDRESS},
        "coverage": {"payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN", "member_id": "SBX000001"},
        "date_of_service": DOS.isoformat(), "service_kind": "psychotherapy", "psychotherapy_minutes": minutes,
        "diagnoses": ["F41.1"],
        "rendering": {"npi": npi, "first_name": "JO", "last_name": "RIVERA", "credential": "LCSW"},
        "billing_provider": {"npi": "1245319599", "name": "RIVERSIDE COUNSELING", "tax_id": "123456789",
                             "address": ADDRESS},
        **extra,
    }


async def test_visit_to_clean_837p_to_payment_and_correction(broker, databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(ClaimsSettings, databases.create("claims"), broker, submission_interval_seconds=3600,
                            response_poll_seconds=3600)
    clearinghouse = SandboxClearinghouse(tmp_path / "clearinghouse")
    app = build_app(settings, clearinghouse=clearinghouse, clock=fixed_clock())
    async with running(app) as client:
        posted = await client.post("/v1/visits", json=visit("E-1"), headers={**auth(), "Idempotency-Key": "k1"})
        assert posted.status_code == 201, posted.text
        assert [s["procedure_code"] for s in posted.json()["coded_services"]] == ["90837"]
        again = await client.post("/v1/visits", json=visit("E-1"), headers=auth())
        assert again.status_code == 409
        held = await client.post("/v1/visits", json=visit("E-2", npi="1679576722"), headers=auth())
        assert held.status_code == 201

        # Nothing is known about either visit yet: both claims wait, visibly, for what they need.
        waiting = (await client.get("/v1/claims", params={"status": "awaiting_facts"}, headers=auth())).json()
        assert len(waiting["items"]) == 2
        assert waiting["items"][0]["awaiting_facts"] == ["authorization_determination", "eligibility_check"]
        assert waiting["items"][0]["waited_seconds"] is not None
        report = (await client.get("/v1/reports/awaiting-facts", headers=auth())).json()
        assert report["awaiting"] == 2 and report["by_missing_fact"] == {"authorization_determination": 2,
                                                                          "eligibility_check": 2}
        # authorizations and eligibility announce them (as they would after visit-completed / a coverage check)
        for body, npi in ((posted.json(), "1234567893"), (held.json(), "1679576722")):
            patient = f"pt-{body['external_visit_id']}"
            await announce(broker.bootstrap,
                           determined(body["visit_id"], patient, "SBXHP", DOS, rendering_npi=npi,
                                      credentialed=CREDENTIALED),
                           checked(patient, "SBXHP", DOS))

        async def claims_by_status() -> dict[str, list[dict[str, object]]] | None:
            items = (await client.get("/v1/claims", headers=auth())).json()["items"]
            if len(items) < 2 or any(c["status"] == "awaiting_facts" for c in items):
                return None
            out: dict[str, list[dict[str, object]]] = {}
            for item in items:
                out.setdefault(item["status"], []).append(item)
            return out

        by_status = await eventually(claims_by_status, what="two claims built")
        assert len(by_status.get("scrubbed", [])) == 1, [c["findings"] for c in by_status["held"]]
        assert "PROVIDER_NOT_CREDENTIALED" in {f["code"] for f in by_status["held"][0]["findings"]}
        clean = by_status["scrubbed"][0]
        assert [ln["place_of_service"] for ln in clean["lines"]] == ["11"], "each line says where it was delivered"

        submitted = await client.post("/v1/submission-batches", headers=auth())
        assert submitted.json() == {"batches_created": 1, "batches_sent": 1}
        files = list((tmp_path / "clearinghouse" / "outbound").iterdir())
        assert len(files) == 1
        text = files[0].read_text()
        assert "REF*G1*AUTH-77" in text
        assert pyx12_errors(text) == []

        events = await read_topic(broker.bootstrap, topics.CLAIM_SUBMITTED, expect=1)
        assert json.loads(events[0].value)["data"]["claim_id"] == clean["claim_id"]
        assert events[0].key == clean["claim_id"].encode()

        # No answer yet: a 276 asks the payer; the sandbox answers with a 277 (pending, in process).
        asked = await responses.inquire_claim_status(
            app.state.db, clearinghouse, app.state.submission, responses.StatusInquiryPolicy(0, 7),
            clock=app.state.clock)
        assert asked == 1
        assert await responses.collect_acknowledgments(app.state.db, clearinghouse) == 2  # the 999 and the 277
        body = (await client.get(f"/v1/claims/{clean['claim_id']}", headers=auth())).json()
        assert body["status_inquiries"][0]["status_codes"] == ["P1:20"]
        assert body["status"] == "submitted", "a 999 accepts the file; only a 277CA or the 835 moves the claim"

        # The payer denies it (an 835 posted by remittance); the biller corrects and resubmits in one call.
        denial = ClaimPaymentPostedV1(
            posting_id="p-1", era_id="e-1", claim_id=clean["claim_id"], practice_id="practice-a", outcome="denied",
            claim_status_code="1", charge=Decimal("200.00"), paid=Decimal("0.00"),
            patient_responsibility=Decimal("0.00"), contractual_adjustment=Decimal("0.00"),
            payer_claim_number="PAYER-123")
        await publish_envelopes(broker.bootstrap, topics.CLAIM_PAYMENT_POSTED, [
            envelope_for(denial, source="remittance", subject=clean["claim_id"], practice_id="practice-a")])

        async def denied() -> dict[str, object] | None:
            body = (await client.get(f"/v1/claims/{clean['claim_id']}", headers=auth())).json()
            return body if body["status"] == "denied" else None

        await eventually(denied, what="the claim denied")
        corrected = await client.post(f"/v1/claims/{clean['claim_id']}/corrections", json={"diagnoses": ["F41.9"]},
                                      headers=auth())
        assert corrected.status_code == 201, corrected.text
        replacement = corrected.json()
        assert replacement["frequency_code"] == "7"
        assert replacement["status"] == "scrubbed"
        assert (await client.post("/v1/submission-batches", headers=auth())).json()["batches_sent"] == 1
        second = sorted((tmp_path / "clearinghouse" / "outbound").iterdir())[-1].read_text()
        assert ":B:7*" in second.split("CLM*")[1].split("~")[0], "frequency 7 in CLM05-3"
        assert "REF*F8*PAYER-123" in second, second
        assert pyx12_errors(second) == []

        # The clearinghouse's 277CA rejects the replacement: it lands in the rejections queue and the report.
        pcn = replacement["patient_control_number"]
        (tmp_path / "clearinghouse" / "inbound" / "277CA_1.x12").write_text(
            "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*RCMPLATFORM    *261122*0900*^*00501*000000555*0*T*:~"
            "GS*HN*CLEARINGHOUSE*RCMPLATFORM*20261122*0900*556*X*005010X214~ST*277*0001*005010X214~"
            "BHT*0085*08*TRACE1*20261122*0900*TH~HL*1**20*1~NM1*AY*2*CLEARINGHOUSE*****46*CH0001~"
            "HL*2*1*21*1~NM1*41*2*RIVERSIDE*****46*SUB123~HL*3*2*19*1~NM1*85*2*RIVERSIDE*****XX*1245319599~"
            f"HL*4*3*PT~NM1*QC*1*SAMPLE*ALEX~TRN*2*{pcn}~STC*A7:21:IL*20261122*U*200~SE*12*0001~GE*1*556~"
            "IEA*1*000000555~")
        await responses.collect_acknowledgments(app.state.db, clearinghouse)
        rejected = (await client.get("/v1/claims", params={"status": "rejected"}, headers=auth())).json()["items"]
        assert [c["claim_id"] for c in rejected] == [replacement["claim_id"]]
        report = (await client.get("/v1/reports/claims", headers=auth())).json()
        assert report["rejections_by_reason"] == {"A7:21:IL": 1}

        bad = await client.post("/v1/visits", json=visit("E-3", minutes=10, diagnoses=["NOT-ICD"]), headers=auth())
        # A visit that cannot be billed is kept as a record with findings, not refused, not a 500.
        assert bad.status_code == 201, bad.text
        assert "PSYCHOTHERAPY_UNDER_MINIMUM" in {f["code"] for f in bad.json()["coding_findings"]}
        assert bad.json()["coded_services"] == []
        unknown_field = await client.post("/v1/visits", json={**visit("E-4"), "ssn": "1"}, headers=auth())
        assert unknown_field.status_code == 422
        assert unknown_field.json()["errors"][0]["field"] == "body.(unknown field)", "a client's key is not echoed"


async def test_the_filing_limit_runs_out_at_the_practices_midnight_not_utcs(broker, databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # SBXHP files within 90 days (payers.yaml defaults). For a visit on 1 September the last day is 30 November:
    # at 23:59 that day in New York (04:59 on 1 December in UTC) the claim still goes out; two minutes later it is
    # 1 December in New York too, and the claim is held.
    clock = fixed_clock(datetime(2026, 12, 1, 4, 59, tzinfo=UTC))
    settings = settings_for(ClaimsSettings, databases.create("claims"), broker, submission_interval_seconds=3600,
                            response_poll_seconds=3600)
    app = build_app(settings, clearinghouse=SandboxClearinghouse(tmp_path / "clearinghouse"), clock=clock)
    last_day = {"date_of_service": "2026-09-01"}
    async with running(app) as client:

        async def claim_of(external_id: str, first_name: str) -> dict[str, Any] | None:
            patient = {**visit(external_id)["patient"], "first_name": first_name}  # not a duplicate of the other
            visit_id = (await client.post("/v1/visits", json=visit(external_id, patient=patient, **last_day),
                                          headers=auth())).json()["visit_id"]
            await announce(broker.bootstrap, determined(visit_id, f"pt-{external_id}", "SBXHP", date(2026, 9, 1),
                                                        rendering_npi="1234567893", credentialed=CREDENTIALED),
                           checked(f"pt-{external_id}", "SBXHP", date(2026, 9, 1)))

            async def built() -> dict[str, Any] | None:
                items = (await client.get("/v1/claims", params={"visit_id": visit_id}, headers=auth())).json()
                claim = items["items"][0] if items["items"] else None
                return claim if claim and claim["status"] != "awaiting_facts" else None

            return await eventually(built, what=f"the claim of {external_id}")

        before = await claim_of("E-before-midnight", "ALEX")
        assert before is not None and before["status"] == "scrubbed", before
        assert [f["code"] for f in before["findings"]] == ["TIMELY_FILING_NEAR"]
        clock.advance(timedelta(minutes=2))
        after = await claim_of("E-after-midnight", "SAM")
        assert after is not None and after["status"] == "held"
        assert [f["code"] for f in after["findings"]] == ["TIMELY_FILING_EXPIRED"]
