"""The patient documents on real PostgreSQL, the broker and a local SMTP server (aiosmtpd): a statement run for a
practice (a family account emailed a portal link with no PHI in it, a single patient's statement in the print-vendor
file), asked twice and resumed without anything twice; statements read back as JSON and PDF, field by field; links
that expire; a superbill whose codes are the claim's; a Good Faith Estimate whose clock, dispute watch and dispute
hold work end to end."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import socket
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from patient_billing.adapters.documents.payment_links import HostedPageLinks
from patient_billing.adapters.documents.repository import DocumentsRepository
from patient_billing.adapters.documents.tables import claim_insurance
from patient_billing.adapters.payment_processor import StripeProcessor
from patient_billing.bootstrap import build_app
from patient_billing.config import PatientBillingSettings
from patient_billing.sandbox.server import sandbox_processor
from patient_billing.service_layer import statements as use_cases
from pypdf import PdfReader
from rcm_shared.contracts import (
    ClaimPaymentPostedV2,
    EventEnvelope,
    PatientResponsibilityAssessedV1,
    VisitCompletedV1,
    decode_payload,
    envelope_for,
    topics,
)
from rcm_shared.contracts.claims import CodedService
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic
from sqlalchemy import select

pytestmark = pytest.mark.integration
NPI = "1234567893"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def visit(visit_id: str, patient: str, dos: date, *, model: str = "self_pay", code: str = "90837",
          modifiers: tuple[str, ...] = (), pos: str = "11", diagnoses: tuple[str, ...] = ("F41.1",)) -> Any:
    return envelope_for(VisitCompletedV1(
        visit_id=visit_id, practice_id="practice-a", patient_id=patient, billing_model=model,  # type: ignore[arg-type]
        payer_id="SBXHP" if model == "insurance" else None, date_of_service=dos, rendering_npi=NPI,
        rendering_credential="LCSW", program="adult-outpatient",
        services=[CodedService(procedure_code=code, modifiers=list(modifiers))], place_of_service=pos,
        diagnosis_codes=list(diagnoses)), source="claims", subject=visit_id, practice_id="practice-a")


def text_of(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


async def directory(client: Any) -> None:
    puts = [
        ("/v1/practice-profile", {"name": "Riverside Counseling Group", "address_lines": [
            "120 Main Street, Suite 4", "Springfield, IL 62701"], "phone": "(217) 555-0142", "npi": "1245319599",
            "tax_id": "123456789"}),
        (f"/v1/clinicians/{NPI}", {"name": "Morgan Lee", "credential": "LCSW", "license_number": "149.012345",
                                  "license_state": "IL"}),
        ("/v1/people/pt-parent", {"name": "Dana Parent", "address_lines": ["48 Elm Court", "Springfield, IL 62704"],
                                  "email": "dana@example.com"}),
        ("/v1/people/pt-child", {"name": "Robin Parent", "date_of_birth": "2012-05-06",
                                 "address_lines": ["48 Elm Court", "Springfield, IL 62704"]}),
        ("/v1/people/pt-solo", {"name": "Casey Solo", "address_lines": ["9 Oak Lane", "Decatur, IL 62521"]}),
    ]
    for path, body in puts:
        r = await client.put(path, headers=auth(), json=body)
        assert r.status_code == 200, r.text


async def balance_of(client: Any, patient: str) -> Decimal | None:
    r = await client.get(f"/v1/patients/{patient}/account", headers=auth())
    return Decimal(r.json()["balance"]) if r.status_code == 200 else None


async def test_a_statement_run_states_each_guarantor_once_and_delivers_by_email_or_print(  # type: ignore[no-untyped-def]
        broker, databases, tmp_path: Path) -> None:
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    clock = fixed_clock()  # the practice's today: 2026-12-02; the cycle: 2026-12-01
    settings = settings_for(PatientBillingSettings, databases.create("pb"), broker, smtp_host="127.0.0.1",
                            smtp_port=port, print_dir=str(tmp_path / "print"), statement_batch=1)
    try:
        with sandbox_processor() as sandbox:  # the payment links are the sandbox processor's hosted pages
            processor = StripeProcessor(sandbox.api_key, sandbox.webhook_secret, api_base=sandbox.url,
                                        max_network_retries=0)
            async with running(build_app(settings, clock, processor=processor)) as client:
                await directory(client)
                assert (await client.post("/v1/patients/pt-child/guarantors", headers=auth(), json={
                    "guarantor_id": "pt-parent", "relationship": "child", "effective_from": "2026-01-01",
                    "family": True})).status_code == 201
                await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED, [
                    visit("v-child-1", "pt-child", date(2026, 11, 10), modifiers=("95",), pos="10"),
                    visit("v-parent-1", "pt-parent", date(2026, 11, 12), model="insurance"),
                    visit("v-solo-1", "pt-solo", date(2026, 10, 1), model="insurance")])

                async def waiting_for_the_payer() -> bool | None:  # the visit first, then what the payer decided
                    r = await client.get("/v1/patients/pt-solo/account", headers=auth())
                    return True if r.status_code == 200 else None

                await eventually(waiting_for_the_payer, what="the insured visit pending")
                await publish_envelopes(broker.bootstrap, topics.PATIENT_RESPONSIBILITY_ASSESSED, [envelope_for(
                    PatientResponsibilityAssessedV1(
                        assessment_id="as-1", posting_id="po-1", claim_id="claim-solo", patient_id="pt-solo",
                        practice_id="practice-a", date_of_service=date(2026, 10, 1), deductible=Decimal("50.00"),
                        coinsurance=Decimal("0"), copay=Decimal("20.00"), total=Decimal("70.00")),
                    source="remittance", subject="claim-solo", practice_id="practice-a")])
                paid_claim = ClaimPaymentPostedV2(
                    posting_id="po-1", era_id="era-1", claim_id="claim-solo", practice_id="practice-a", outcome="paid",
                    claim_status_code="1", charge=Decimal("200.00"), paid=Decimal("80.00"),
                    patient_responsibility=Decimal("70.00"), contractual_adjustment=Decimal("50.00"))
                await publish_envelopes(broker.bootstrap, topics.CLAIM_PAYMENT_POSTED, [envelope_for(
                    paid_claim, source="remittance", subject="claim-solo", practice_id="practice-a")])

                async def books_ready() -> bool | None:
                    ok = await balance_of(client, "pt-parent") == Decimal("160.00") and \
                        await balance_of(client, "pt-solo") == Decimal("70.00")
                    return ok or None

                await eventually(books_ready, what="the self-pay charge and the assessed responsibility")
                paid = await client.post("/v1/patients/pt-parent/payments", headers=auth(), json={
                    "amount": "20.00", "method": "card", "received_on": "2026-11-20"})
                assert paid.status_code == 201

                services = client._transport.app.state.services  # type: ignore[attr-defined]

                async def plan_facts_kept() -> bool | None:  # remittance's claim payment, on its own consumer group
                    async with services.db.sessions() as session:
                        found = (await session.execute(select(claim_insurance.c.paid_cents))).scalar()
                    return True if found == 8_000 else None

                await eventually(plan_facts_kept, what="what the plan paid kept")

                started = await client.post("/v1/statement-runs", headers=auth(), json={"statement_date": "2026-11-30"})
                assert started.status_code == 202, started.text
                run = started.json()
                assert run["statement_date"] == "2026-11-30" and run["total"] == 2

                async def run_done() -> dict[str, Any] | None:
                    body = (await client.get(f"/v1/statement-runs/{run['run_id']}", headers=auth())).json()
                    return body if body["status"] == "completed" else None

                done = await eventually(run_done, what="the statement run completed")
                assert (done["issued"], done["emailed"], done["progress"]) == (2, 1, 1.0)
                # the same cycle again: the same run, nothing stated or sent twice
                again = await client.post("/v1/statement-runs", headers=auth(), json={"statement_date": "2026-11-30"})
                assert again.json()["run_id"] == run["run_id"] and again.json()["created"] is False
                resumed = await client.post(f"/v1/statement-runs/{run['run_id']}/resume", headers=auth())
                assert resumed.status_code == 202 and resumed.json()["issued"] == 2
                assert len(inbox.messages) == 1
                issued = await read_topic(broker.bootstrap, topics.STATEMENT_ISSUED, expect=3, timeout=3)
                assert len(issued) == 2, "one statement-issued per guarantor, never twice"

                # the family account: emailed, no PHI in the message, the portal link opens the PDF until it expires
                parent = await client.get("/v1/patients/pt-parent/account", headers=auth())
                parent_account = parent.json()["account_id"]
                listed = (await client.get(f"/v1/accounts/{parent_account}/statements", headers=auth())).json()["items"]
                assert len(listed) == 1 and listed[0]["delivery"] == "email"
                family = listed[0]
                assert Decimal(family["amount_due"]) == Decimal("140.00") and family["due_date"] == "2026-12-21"
                shown = family["shown"]
                assert [(ln["patient_name"], ln["service_date"], ln["open_cents"]) for ln in shown["lines"]] == [
                    ("Robin Parent", "2026-11-10", 14_000)]
                assert shown["pending_visits"] == [{"service_date": "2026-11-12", "patient_name": "Dana Parent"}]
                recipients, message = inbox.messages[0]
                assert recipients == ["dana@example.com"]
                for phi in ("Dana", "Robin", "140.00", "11/10", "2026-11-10", "90837", "F41.1", "Riverside"):
                    assert phi not in message, f"{phi!r} in the email"
                token = re.search(r"/documents/([A-Za-z0-9_-]+)", message)
                assert token is not None and shown["portal_url"].endswith(token.group(1))
                pdf = (await client.get(f"/v1/statements/{family['statement_id']}/pdf", headers=auth()))
                assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
                text = text_of(pdf.content)
                for field in ["Riverside Counseling Group", "Dana Parent", "48 Elm Court", "Robin Parent", "11/10/2026",
                              "Session, self-pay (90837-95)", "$160.00", "$140.00", "-$20.00", "11/12/2026",
                              "Amount due: $140.00", "December 21, 2026", shown["payment_url"], "0-30 days",
                              "120+ days"]:
                    assert field in text, f"{field!r} missing from the family statement"
                link = await client.get(f"/v1/document-links/{token.group(1)}", headers=auth())
                assert link.status_code == 200 and link.content == pdf.content
                assert (await client.get(f"/v1/document-links/{token.group(1)}", headers=auth("practice-b"))
                        ).status_code == 404
                pay = (await client.get(f"/v1/payment-links/{family['payment_link_id']}", headers=auth())).json()
                assert Decimal(pay["amount_due"]) == Decimal("140.00") and pay["account_id"] == parent_account
                assert shown["payment_url"].endswith(f"/pay/{family['payment_link_id']}")
                page = await asyncio.to_thread(httpx.get, shown["payment_url"], timeout=10)
                assert page.status_code == 200, "the statement's link opens the processor's hosted page"
                clock.advance(timedelta(days=60))
                expired = await client.get(f"/v1/document-links/{token.group(1)}", headers=auth())
                assert expired.status_code == 410 and expired.json()["errors"][0]["field"] == "token"

                # the single patient with no email: in the print-vendor file, with what the plan paid and adjusted
                solo = (await client.get(f"/v1/statement-runs/{run['run_id']}", headers=auth())).json()["print_file"]
                with zipfile.ZipFile(solo) as archive:
                    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
                    assert [(r["name"], r["address_1"], r["amount_due"]) for r in rows] == [
                        ("Casey Solo", "9 Oak Lane", "$70.00")]
                    text = text_of(archive.read(rows[0]["pdf"]))
                for field in ["Casey Solo", "10/01/2026", "$200.00", "$80.00", "$50.00", "$70.00", "deductible",
                              "copay", "Amount due: $70.00"]:
                    assert field in text, f"{field!r} missing from the printed statement"
                audit = await client.get(f"/v1/statements/{rows[0]['statement_id']}", headers=auth())
                assert audit.status_code == 200
    finally:
        smtp.stop()


async def test_superbill_codes_are_the_claims_and_a_good_faith_estimate_is_watched_and_disputed(  # type: ignore[no-untyped-def]
        broker, databases, tmp_path: Path) -> None:
    clock = fixed_clock()  # the practice's today: Wednesday 2026-12-02
    settings = settings_for(PatientBillingSettings, databases.create("pb"), broker, print_dir=str(tmp_path),
                            statement_batch=1)
    links = HostedPageLinks(settings.payment_processor_url)
    async with running(build_app(settings, clock, payment_links=links)) as client:
        services = client._transport.app.state.services  # type: ignore[attr-defined]
        await directory(client)
        # a cost question asked on Monday 2026-11-02: the estimate covers from then; issued at once
        estimate = await client.post("/v1/patients/pt-solo/estimates", headers=auth(), json={
            "trigger": "requested", "asked_on": "2026-11-02", "issue_now": True, "diagnoses": ["F41.1"],
            "services": [{"provider_npi": NPI, "procedure_code": "90837", "description": "Psychotherapy, 60 min",
                          "quantity": 1, "unit_charge": "100.00"}]})
        assert estimate.status_code == 201, estimate.text
        gfe = estimate.json()
        assert (gfe["status"], gfe["due_by"], gfe["covers_to"]) == ("issued", "2026-11-05", "2027-11-01")
        pdf = await client.get(f"/v1/estimates/{gfe['estimate_id']}/pdf", headers=auth())
        text = text_of(pdf.content)
        for field in ["Casey Solo", "1245319599", "123456789", NPI, "90837", "$100.00", "F41.1",
                      "120 calendar days"]:
            assert field in text, f"{field!r} missing from the estimate"
        # the work queue: one asked for on the day before Thanksgiving is late by now, a booking 3 weeks out is due
        await client.post("/v1/patients/pt-child/estimates", headers=auth(), json={
            "trigger": "requested", "asked_on": "2026-11-25", "services": [
                {"provider_npi": NPI, "procedure_code": "90791", "description": "Intake", "quantity": 1,
                 "unit_charge": "200.00"}]})
        await client.post("/v1/patients/pt-parent/estimates", headers=auth(), json={
            "trigger": "scheduled", "asked_on": "2026-12-01", "first_service_date": "2026-12-28", "services": [
                {"provider_npi": NPI, "procedure_code": "90834", "description": "Psychotherapy, 45 min",
                 "quantity": 12, "unit_charge": "120.00"}]})
        queue = (await client.get("/v1/estimates/due", headers=auth())).json()["items"]
        assert [(i["patient_id"], i["queue_state"], i["due_by"]) for i in queue] == [
            ("pt-child", "late", "2026-12-01"), ("pt-parent", "due", "2026-12-04")]

        # self-pay sessions at 160.00 each against an estimate of 100.00: warned at 480 (380 over), flagged at 640
        days = [date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)]
        for n, day in enumerate(days):
            await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED, [
                visit(f"v-solo-{n}", "pt-solo", day, diagnoses=("F41.1", "F32.1"))])

            async def charged(expected: Decimal = Decimal(160 * (n + 1))) -> bool | None:
                return True if await balance_of(client, "pt-solo") == expected else None

            await eventually(charged, what=f"session {n + 1} charged")
        signals = await read_topic(broker.bootstrap, topics.GFE_THRESHOLD_APPROACHED, expect=2)
        states = [decode_payload(EventEnvelope.from_bytes(r.value)).state for r in signals]  # type: ignore[attr-defined]
        assert states == ["approaching", "reached"]
        assert {r.key for r in signals} == {gfe["estimate_id"].encode()}

        # the superbill of one visit carries the claim's coding as visit-completed announced it
        bill = await client.post("/v1/patients/pt-solo/superbills", headers=auth(), json={"visit_id": "v-solo-0"})
        assert bill.status_code == 201, bill.text
        shown = bill.json()["shown"]
        assert shown["visits"][0]["services"] == [{"procedure_code": "90837", "modifiers": [], "units": 1}]
        assert shown["visits"][0]["diagnoses"] == ["F41.1", "F32.1"] and shown["visits"][0]["place_of_service"] == "11"
        assert (await client.post("/v1/patients/pt-solo/superbills", headers=auth(), json={
            "visit_id": "v-solo-0"})).json()["superbill_id"] == bill.json()["superbill_id"], "the same superbill"
        period = await client.post("/v1/patients/pt-solo/superbills", headers=auth(), json={
            "from": "2026-11-01", "to": "2026-11-30", "variant": "cms1500"})
        assert period.status_code == 201 and len(period.json()["shown"]["visits"]) == 4
        text = text_of((await client.get(f"/v1/superbills/{bill.json()['superbill_id']}/pdf", headers=auth())).content)
        for field in ["Riverside Counseling Group", "1245319599", "12-3456789", "Morgan Lee", "LCSW",
                      "IL 149.012345", NPI, "Casey Solo", "9 Oak Lane", "11/09/2026", "90837", "F41.1", "F32.1",
                      "$160.00", "Signature"]:
            assert field in text, f"{field!r} missing from the superbill"
        missing = await client.post("/v1/patients/pt-nobody/superbills", headers=auth(), json={"visit_id": "v-x"})
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "visit_id"

        # the patient disputes the bill: 440.00 held, the statement shows it but does not demand it
        dispute = await client.post(f"/v1/estimates/{gfe['estimate_id']}/disputes", headers=auth(), json={
            "provider_npi": NPI, "bill_date": "2026-12-01", "disputed_amount": "440.00"})
        assert dispute.status_code == 201, dispute.text
        async with services.db.sessions() as session:  # collections (dunning) skip the account while it is open
            flagged = await DocumentsRepository(session).collections_dispute_reason(
                "practice-a", dispute.json()["account_id"])
        assert flagged == f"gfe-dispute:{dispute.json()['dispute_id']}"
        opened = await read_topic(broker.bootstrap, topics.GFE_DISPUTE_OPENED, expect=1)
        assert len(opened) == 1
        too_much = await client.post(f"/v1/estimates/{gfe['estimate_id']}/disputes", headers=auth(), json={
            "provider_npi": NPI, "bill_date": "2026-12-01", "disputed_amount": "440.00"})
        assert too_much.status_code == 422, "one open dispute per provider"
        run, made = await use_cases.start_run(services.uows, services.documents, "practice-a", date(2026, 12, 1))
        assert made and run.total == 1
        partial = await use_cases.run_statements(services.uows, services.documents, "practice-a", run.run_id,
                                                 max_batches=0)
        assert partial.status == "running" and partial.issued == 0, "stopped before stating anyone"
        finished = await use_cases.run_statements(services.uows, services.documents, "practice-a", run.run_id)
        assert (finished.status, finished.issued) == ("completed", 1)
        solo_account = (await client.get("/v1/patients/pt-solo/account", headers=auth())).json()["account_id"]
        statement = (await client.get(f"/v1/accounts/{solo_account}/statements", headers=auth())).json()["items"][0]
        assert statement["shown"]["not_demanded_cents"] == {"gfe_dispute": 44_000}
        assert Decimal(statement["amount_due"]) == Decimal("200.00")
        resolved = await client.post(f"/v1/gfe-disputes/{dispute.json()['dispute_id']}/resolution", headers=auth(),
                                     json={"resolution": "bill reduced to the estimate"})
        assert resolved.json()["status"] == "resolved"
        async with services.db.sessions() as session:
            assert await DocumentsRepository(session).collections_dispute_reason(
                "practice-a", dispute.json()["account_id"]) is None
        # the plan of care changed: version 2 issued, superseding version 1 (both kept)
        replanned = await client.post(f"/v1/estimates/{gfe['estimate_id']}/reissue", headers=auth(), json={
            "diagnoses": ["F41.1"], "services": [{"provider_npi": NPI, "procedure_code": "90837",
                                                  "description": "Psychotherapy, 60 min", "quantity": 8,
                                                  "unit_charge": "160.00"}]})
        assert replanned.status_code == 201, replanned.text
        v2 = replanned.json()
        assert (v2["version"], v2["replaces_estimate_id"], v2["status"]) == (2, gfe["estimate_id"], "issued")
        versions = (await client.get("/v1/patients/pt-solo/estimates", headers=auth())).json()["items"]
        assert sorted((e["version"], e["status"]) for e in versions) == [(1, "superseded"), (2, "issued")]
        assert (await client.post(f"/v1/estimates/{gfe['estimate_id']}/reissue", headers=auth(), json={
            "services": [{"provider_npi": NPI, "procedure_code": "90837", "description": "x", "quantity": 1,
                          "unit_charge": "1.00"}]})).status_code == 422, "a superseded estimate is not re-issued"
        assert len(await read_topic(broker.bootstrap, topics.GFE_ISSUED, expect=2)) == 2
        # a dispute after the 120 days of the bill is refused, naming the field
        clock.advance(timedelta(days=121))
        late = await client.post(f"/v1/estimates/{v2['estimate_id']}/disputes", headers=auth(), json={
            "provider_npi": NPI, "bill_date": "2026-12-01", "disputed_amount": "100.00"})
        assert late.status_code == 422 and late.json()["errors"][0]["field"] == "bill_date"
