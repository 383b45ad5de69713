"""An ERA re-sent under a new trace number posts nothing twice: each claim it repeats is held as a duplicate
payment for a person to settle; reversals, re-issues, other payers and corrected claims still post. On
PostgreSQL and the broker."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from rcm_shared.contracts import ClaimLineV1, ClaimSubmittedV1, envelope_for, topics
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic
from remittance.bootstrap import build_app
from remittance.config import RemittanceSettings
from remittance.edi.era_writer import (
    DraftAdjustment,
    DraftClaim,
    DraftLine,
    DraftProviderAdjustment,
    DraftTransaction,
    write_835,
)

pytestmark = pytest.mark.integration
# what remittance handed to patient-billing, the one owner of patient A/R
TRANSFERRED = "patient_responsibility_transferred"

A = DraftAdjustment
HEADERS = {**auth(), "content-type": "application/edi-x12"}
PRIMARY = ("SANDBOX HEALTH PLAN", "1999999999")
SECONDARY = ("MEDIGAP SUPPLEMENT", "1888888888")


def copy(claim_id: str, pcn: str, charge: str = "180", frequency: str = "1") -> ClaimSubmittedV1:
    return ClaimSubmittedV1(
        claim_id=claim_id, visit_id=f"v-{claim_id}", practice_id="practice-a", patient_id=f"pt-{claim_id}",
        payer_id="SBXHP", patient_control_number=pcn, frequency_code=frequency, total_charge=D(charge),
        date_of_service=date(2026, 10, 15), rendering_npi="1234567893", batch_id="b-1",
        interchange_control_number="000000001",
        lines=[ClaimLineV1(line_number=1, procedure_code="90837", units=1, charge=D(charge))])


def paid(pcn: str, amount: str, share: str = "28", payer_claim_number: str | None = None, status: str = "1",
         sign: int = 1) -> DraftClaim:
    """A 180.00 claim paid ``amount`` with a ``share`` copay, the rest contractual (negated for a reversal)."""
    s = D(sign)
    contractual = D("180") - D(amount) - D(share)
    return DraftClaim(pcn, status, s * D("180"), s * D(amount), s * D(share),
                      payer_claim_number=payer_claim_number or f"P-{pcn}", lines=() if sign < 0 else (
                          DraftLine("90837", D("180"), D(amount), adjustments=(
                              A("CO", "45", contractual), A("PR", "3", D(share)))),),
                      adjustments=(A("CO", "45", -contractual), A("PR", "3", -D(share))) if sign < 0 else ())


def era(trace: str, *claims: DraftClaim, payer: tuple[str, str] = PRIMARY, icn: int | None = None) -> bytes:
    return write_835([[DraftTransaction(claims=claims, trace_number=trace, payer_name=payer[0], payer_id=payer[1])]],
                     interchange_control_number=icn or int(trace[-4:])).encode()


async def post(client: Any, content: bytes, expect: str = "posted") -> dict[str, Any]:
    response = await client.post("/v1/eras", content=content, headers=HEADERS)
    assert response.status_code == 202, response.text
    era_id = response.json()["era_id"]

    async def done() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/v1/eras/{era_id}", headers=auth())).json()
        return body if body["status"] != "received" else None

    body = await eventually(done, what="the ERA processed")
    assert body["status"] == expect, body
    return body


async def balances(client: Any) -> dict[str, str]:
    tb = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
    assert tb["balanced"] is True
    return {account: row["balance"] for account, row in tb["accounts"].items() if row["balance"] != "0.00"}


async def copies_stored(client: Any, broker: Any, *claims: ClaimSubmittedV1) -> None:
    """New claim copies, stored with their charges booked."""

    async def charged() -> D:
        tb = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
        return D(tb["accounts"].get("gross_charges", {}).get("credits", "0"))

    total = await charged() + sum((c.total_charge for c in claims), D(0))
    await publish_envelopes(broker.bootstrap, topics.CLAIM_SUBMITTED, [
        envelope_for(c, source="claims", subject=c.claim_id, practice_id="practice-a") for c in claims])

    async def booked() -> bool:
        return await charged() == total

    await eventually(booked, what="claim copies and charges")


async def resolve(client: Any, exception_id: str, decision: str, status: int = 200) -> dict[str, Any]:
    response = await client.post(f"/v1/era-exceptions/{exception_id}/resolution", headers=auth(),
                                 json={"decision": decision, "note": "checked with the payer"})
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_era_resent_under_a_new_trace_is_held_claim_by_claim_and_settled_by_a_person(  # type: ignore[no-untyped-def]
        broker, databases) -> None:
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker))
    async with running(app) as client:
        await copies_stored(client, broker, copy("c-1", "PCN-1"), copy("c-2", "PCN-2"), copy("c-3", "PCN-3"),
                            copy("c-4", "PCN-4"))
        claims = (paid("PCN-1", "112"), paid("PCN-2", "100", share="40"), paid("PCN-3", "0", share="0"),
                  paid("PCN-4", "50", share="0"))
        await post(client, era("TRACE0001", *claims))
        books = await balances(client)
        assert books["undeposited_era"] == "262.00" and books[TRANSFERRED] == "68.00"

        # The same payments again: a new trace number and a new envelope (a new file to every other check).
        resent = await post(client, era("TRACE0002", *claims, icn=77), expect="exception")
        assert resent["summary"]["duplicate_claim_payments"] == 4 and resent["summary"]["claims_posted"] == 0
        assert {p["basis"] for p in resent["postings"]} == {"duplicate_held"}
        after = await balances(client)
        assert after == {**books, "undeposited_era": "524.00", "overpayment_suspense": "-262.00"}, \
            "the cash is where the bank will show it; nothing moved on the claims or to the patients"
        queue = (await client.get("/v1/era-exceptions", headers=auth())).json()["items"]
        held = {e["detail"]["claim_id"]: e for e in queue if e["kind"] == "duplicate_claim_payment"}
        assert sorted(held) == ["c-1", "c-2", "c-3", "c-4"], "a repeated denial (c-3) is held too"
        first = {p["claim_id"]: p["posting_id"] for p in (await client.get(
            f"/v1/eras/{resent['era_id']}", headers=auth())).json()["postings"]}
        assert {c: e["detail"]["posting_id"] for c, e in held.items()} == first
        assert held["c-1"]["detail"]["paid"] == "112.00"
        assert held["c-1"]["detail"]["decisions"] == ["not_received", "recouped", "refunded", "apply"]
        posted_events = await read_topic(broker.bootstrap, topics.CLAIM_PAYMENT_POSTED, expect=4)
        assert sorted(r.key for r in posted_events) == [b"c-1", b"c-2", b"c-3", b"c-4"], "claims hear of it once"
        assert len(await read_topic(broker.bootstrap, topics.PATIENT_RESPONSIBILITY_ASSESSED, expect=2)) == 2

        # Each held overpayment is a work item due on the payer's refund deadline (rules/posting.yaml: 60 days).
        items = (await client.get("/v1/work-items", headers=auth(), params={"queue": "era_exceptions"})).json()
        due = {i["subject_id"]: i for i in items["items"] if i["category"] == "duplicate_claim_payment"}
        assert set(due) == {e["exception_id"] for e in held.values()}
        raised_on = date.fromisoformat(held["c-1"]["raised_at"][:10])
        assert {i["due_on"] for i in due.values()} == {(raised_on + timedelta(days=60)).isoformat()}

        # A person settles each one.
        refunded = await resolve(client, held["c-1"]["exception_id"], "refunded")
        assert refunded["released_to"] == "cash" and refunded["by"] == "test-user"
        await resolve(client, held["c-1"]["exception_id"], "refunded", status=409)
        refused = await resolve(client, held["c-2"]["exception_id"], "keep_it", status=422)
        assert refused["errors"][0]["field"] == "body.decision"
        applied = await resolve(client, held["c-2"]["exception_id"], "apply")
        assert applied["posting_id"]
        await resolve(client, held["c-3"]["exception_id"], "not_received")
        await resolve(client, held["c-4"]["exception_id"], "not_received")
        final = await balances(client)
        assert "overpayment_suspense" not in final
        assert final["cash"] == "-112.00", "c-1's second payment was refunded to the payer"
        assert final["undeposited_era"] == "474.00", "262 twice, less c-4's 50 that never reached the bank"
        assert final[TRANSFERRED] == "108.00", "c-2's copay of 40 billed again, by a person's decision"
        assert (await client.get("/v1/era-exceptions", headers=auth())).json()["items"] == []
        assert [i for i in (await client.get("/v1/work-items", headers=auth(), params={
            "queue": "era_exceptions"})).json()["items"] if i["category"] == "duplicate_claim_payment"] == [], \
            "settled through the old route: their items closed with them"
        settled = (await client.get("/v1/era-exceptions?status=resolved", headers=auth())).json()["items"]
        assert {e["detail"]["resolution"]["decision"] for e in settled} == {"refunded", "apply", "not_received"}
        posted_events = await read_topic(broker.bootstrap, topics.CLAIM_PAYMENT_POSTED, expect=5)
        assert sorted(r.key for r in posted_events) == [b"c-1", b"c-2", b"c-2", b"c-3", b"c-4"]


async def test_reversals_reissues_other_payers_and_corrected_claims_still_post(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker))
    async with running(app) as client:
        await copies_stored(client, broker, copy("c-1", "PCN-1"), copy("c-2", "PCN-2"))
        first = await post(client, era("TRACE0001", paid("PCN-1", "112"), paid("PCN-2", "112")))

        # The payer takes back c-1's payment and re-issues it with the same amounts and claim number.
        body = await post(client, era("TRACE0002", paid("PCN-1", "112", sign=-1, status="22"),
                                      paid("PCN-1", "112")))
        assert [p["basis"] for p in body["postings"]] == ["reversal", "primary"]
        # Another payer pays the same amounts on c-2 (a secondary payer).
        body = await post(client, era("TRACE0003", paid("PCN-2", "112", status="2"), payer=SECONDARY))
        assert [p["basis"] for p in body["postings"]] == ["primary"]
        # A corrected claim (frequency 7) of c-1, paid later with the same lines: a claim of its own.
        await copies_stored(client, broker, copy("c-1r", "PCN-1R", frequency="7"))
        body = await post(client, era("TRACE0004", paid("PCN-1R", "112", payer_claim_number="P-PCN-1")))
        assert [p["basis"] for p in body["postings"]] == ["primary"]
        assert (await client.get("/v1/era-exceptions", headers=auth())).json()["items"] == []

        posted = await read_topic(broker.bootstrap, topics.CLAIM_PAYMENT_POSTED, expect=6)
        outcomes = sorted((r.key.decode(), json.loads(r.value)["data"]["outcome"]) for r in posted)
        assert outcomes == [("c-1", "paid"), ("c-1", "paid"), ("c-1", "reversed"), ("c-1r", "paid"),
                            ("c-2", "paid"), ("c-2", "paid")]
        [reversal] = [json.loads(r.value) for r in posted if json.loads(r.value)["data"]["outcome"] == "reversed"]
        assert reversal["schemaversion"] == 2
        original = next(p["posting_id"] for p in first["postings"] if p["claim_id"] == "c-1")
        assert (reversal["data"]["trace_number"], reversal["data"]["reverses_posting_id"]) == ("TRACE0002", original)


async def test_a_resent_payment_holds_its_provider_adjustments_with_its_claims(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker))
    async with running(app) as client:
        await copies_stored(client, broker, copy("c-1", "PCN-1"))
        plbs = (DraftProviderAdjustment("L6", D("-5.00"), "INTEREST"), DraftProviderAdjustment("WO", D("12.00"), "P-9"))

        def payment(trace: str, icn: int) -> bytes:
            return write_835([[DraftTransaction(claims=(paid("PCN-1", "112"),), provider_adjustments=plbs,
                                                trace_number=trace, payer_name=PRIMARY[0], payer_id=PRIMARY[1])]],
                             interchange_control_number=icn).encode()

        await post(client, payment("TRACE0001", 1))
        books = await balances(client)
        assert (books["undeposited_era"], books["interest_income"], books["plb_recovery"]) == ("105.00", "-5.00",
                                                                                             "12.00")
        await post(client, payment("TRACE0002", 2), expect="exception")
        after = await balances(client)
        assert after == {**books, "undeposited_era": "210.00", "overpayment_suspense": "-105.00"}, \
            "the whole repeated payment (BPR02 = 112 + 5 - 12) is held; interest and recovery are not booked twice"
        queue = {e["kind"]: e for e in (await client.get("/v1/era-exceptions", headers=auth())).json()["items"]}
        assert sorted(queue) == ["duplicate_claim_payment", "duplicate_provider_adjustments"]
        assert queue["duplicate_provider_adjustments"]["detail"]["amount"] == "7.00"
        await resolve(client, queue["duplicate_claim_payment"]["exception_id"], "not_received")
        await resolve(client, queue["duplicate_provider_adjustments"]["exception_id"], "not_received")
        assert await balances(client) == books, "nothing arrived twice: the books are as after the first payment"
