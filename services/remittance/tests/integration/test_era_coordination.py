"""Crossover to a secondary payer, its settlement, and a reversal with re-issue, on PostgreSQL and the broker."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from rcm_shared.contracts import ClaimLineV1, ClaimSubmittedV1, envelope_for, topics
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic
from remittance.bootstrap import build_app
from remittance.config import RemittanceSettings
from remittance.edi.era_writer import DraftAdjustment, DraftClaim, DraftLine, DraftTransaction, write_835

pytestmark = pytest.mark.integration
# what remittance handed to patient-billing, the one owner of patient A/R
TRANSFERRED = "patient_responsibility_transferred"

HEADERS = {**auth(), "content-type": "application/edi-x12"}


def submitted(claim_id: str, pcn: str, lines: list[tuple[str, str]]) -> ClaimSubmittedV1:
    return ClaimSubmittedV1(
        claim_id=claim_id, visit_id=f"v-{claim_id}", practice_id="practice-a", patient_id=f"pt-{claim_id}",
        payer_id="SBXHP", patient_control_number=pcn, frequency_code="1",
        total_charge=sum((D(charge) for _code, charge in lines), D(0)), date_of_service=date(2026, 10, 15),
        rendering_npi="1234567893", batch_id="b-1", interchange_control_number="000000001",
        lines=[ClaimLineV1(line_number=n, procedure_code=code, units=1, charge=D(charge))
               for n, (code, charge) in enumerate(lines, 1)])


def era(trace: str, payer: tuple[str, str], *claims: DraftClaim) -> bytes:
    return write_835([[DraftTransaction(claims=claims, trace_number=trace, payer_name=payer[0], payer_id=payer[1])]],
                     interchange_control_number=int(trace[-4:])).encode()


PRIMARY = ("SANDBOX HEALTH PLAN", "1999999999")
SECONDARY = ("MEDIGAP SUPPLEMENT", "1888888888")
A = DraftAdjustment


async def post(client: Any, content: bytes) -> dict[str, Any]:
    response = await client.post("/v1/eras", content=content, headers=HEADERS)
    assert response.status_code == 202, response.text
    era_id = response.json()["era_id"]

    async def done() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/v1/eras/{era_id}", headers=auth())).json()
        return body if body["status"] != "received" else None

    body = await eventually(done, what="the ERA posted")
    assert body["status"] == "posted", body
    return body


async def balances(client: Any) -> dict[str, str]:
    tb = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
    assert tb["balanced"] is True
    return {account: row["balance"] for account, row in tb["accounts"].items()}


async def test_crossover_then_secondary_then_reversal_and_reissue(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker))
    async with running(app) as client:
        claims = [submitted("c-cross", "PCN-CROSS", [("90837", "180")]),
                  submitted("c-rev", "PCN-REV", [("90837", "150"), ("90785", "50")])]
        await publish_envelopes(broker.bootstrap, topics.CLAIM_SUBMITTED, [
            envelope_for(c, source="claims", subject=c.claim_id, practice_id="practice-a") for c in claims])

        async def charges_booked() -> bool:
            return (await balances(client)).get("payer_ar") == "380.00"

        await eventually(charges_booked, what="claim copies and charges")

        # 1. The primary pays and forwards the crossover claim (CLP02 19, NM1*TT); the other claim is paid
        #    with a copay and one line denied for a missing authorization.
        first = await post(client, era("TRACE0001", PRIMARY, DraftClaim(
            "PCN-CROSS", "19", D("180"), D("112"), D("28"), payer_claim_number="P-CROSS",
            crossover_carrier=("MEDIGAP SUPPLEMENT", "MGS01"), lines=(DraftLine(
                "90837", D("180"), D("112"), adjustments=(A("CO", "45", D("40")), A("PR", "3", D("28")))),)),
            DraftClaim(
            "PCN-REV", "1", D("200"), D("100"), D("20"), payer_claim_number="P-REV", lines=(
                DraftLine("90837", D("150"), D("100"), adjustments=(A("CO", "45", D("30")), A("PR", "3", D("20")))),
                DraftLine("90785", D("50"), D("0"), adjustments=(A("CO", "197", D("50")),))))))
        cross = next(p for p in first["postings"] if p["claim_id"] == "c-cross")
        assert cross["held_for_next_payer"] == "28.00"
        assert cross["forwarded_to"] == {"name": "MEDIGAP SUPPLEMENT", "identifier": "MGS01"}
        assert cross["patient_billed"]["copay"] == "0.00"
        books = await balances(client)
        assert books["secondary_payer_ar"] == "28.00"
        assert books[TRANSFERRED] == "20.00", "only the non-crossover claim's copay is the patient's"
        denied = (await client.get("/v1/denials", headers=auth())).json()["items"]
        assert [(d["claim_id"], d["line_number"], d["category"]) for d in denied] == [
            ("c-rev", 2, "authorization_exhausted_or_missing")]

        # 2. The secondary settles what was forwarded: pays 20, leaves 8 coinsurance; CARC 23 repeats the
        #    primary's 112 paid + 40 contractual and is neither booked again nor a denial.
        second = await post(client, era("TRACE0002", SECONDARY, DraftClaim(
            "PCN-CROSS", "2", D("180"), D("20"), D("8"), payer_claim_number="S-CROSS", adjustments=(
                A("OA", "23", D("152")), A("PR", "2", D("8"))))))
        [settled] = second["postings"]
        assert settled["basis"] == "crossover_settlement" and settled["discrepancies"] == []
        books = await balances(client)
        assert books["secondary_payer_ar"] == "0.00"
        assert books[TRANSFERRED] == "28.00", "20 copay of the other claim + the 8 the secondary left"
        assert books["contractual_writeoff"] == "120.00", "40 + 30 + the denied line's 50; not CARC 23's 40 again"
        assert len((await client.get("/v1/denials", headers=auth())).json()["items"]) == 1

        # 3. The primary takes back its payment of the other claim (CLP02 22, negated amounts) and re-issues it.
        third = await post(client, era("TRACE0003", PRIMARY, DraftClaim(
            "PCN-REV", "22", D("-200"), D("-100"), D("-20"), payer_claim_number="P-REV", adjustments=(
                A("CO", "45", D("-30")), A("PR", "3", D("-20")), A("CO", "197", D("-50")))), DraftClaim(
            "PCN-REV", "1", D("200"), D("140"), D("20"), payer_claim_number="P-REV2", lines=(
                DraftLine("90837", D("150"), D("100"), adjustments=(A("CO", "45", D("30")), A("PR", "3", D("20")))),
                DraftLine("90785", D("50"), D("40"), adjustments=(A("CO", "45", D("10")),))))))
        reversal = next(p for p in third["postings"] if p["claim_status_code"] == "22")
        original = next(p for p in first["postings"] if p["claim_id"] == "c-rev")
        assert reversal["reverses"] == original["posting_id"]
        assert reversal["patient_billed"]["copay"] == "-20.00"
        assert (await client.get("/v1/denials", headers=auth())).json()["items"] == [], "the denial went with it"
        closed = (await client.get("/v1/denials?status=reversed", headers=auth())).json()["items"]
        assert [d["claim_id"] for d in closed] == ["c-rev"]
        books = await balances(client)
        assert books["payer_ar"] == "0.00"
        assert books[TRANSFERRED] == "28.00", "8 the secondary left on the crossover claim, 20 from the re-issue"
        assert books["undeposited_era"] == "272.00", "112 + 20 + 140: the reversed 100 left again"
        assert books["contractual_writeoff"] == "80.00", "40 + the re-issue's 30 + 10"

        pr = await read_topic(broker.bootstrap, topics.PATIENT_RESPONSIBILITY_ASSESSED, expect=4)
        totals = sorted((r.key.decode(), json.loads(r.value)["data"]["total"]) for r in pr)
        assert totals == [("c-cross", "8.00"), ("c-rev", "-20.00"), ("c-rev", "20.00"), ("c-rev", "20.00")]
        posted = await read_topic(broker.bootstrap, topics.CLAIM_PAYMENT_POSTED, expect=5)
        outcomes = sorted((r.key.decode(), json.loads(r.value)["data"]["outcome"]) for r in posted)
        assert outcomes == [("c-cross", "paid"), ("c-cross", "paid"), ("c-rev", "paid"),
                            ("c-rev", "partially_paid"), ("c-rev", "reversed")]


async def test_a_payment_reversed_and_reissued_inside_one_era(broker, databases) -> None:  # type: ignore[no-untyped-def]
    """The reversal's original is still in the batch being written: it is written first, then read back."""
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker))
    async with running(app) as client:
        claim = submitted("c-one", "PCN-ONE", [("90834", "150")])
        await publish_envelopes(broker.bootstrap, topics.CLAIM_SUBMITTED, [
            envelope_for(claim, source="claims", subject="c-one", practice_id="practice-a")])

        async def charge_booked() -> bool:
            return (await balances(client)).get("payer_ar") == "150.00"

        await eventually(charge_booked, what="the claim copy and its charge")
        body = await post(client, era("TRACE0009", PRIMARY, DraftClaim(
            "PCN-ONE", "1", D("150"), D("0"), D("0"), payer_claim_number="P-ONE", adjustments=(
                A("CO", "197", D("150")),)), DraftClaim(
            "PCN-ONE", "22", D("-150"), D("0"), D("0"), payer_claim_number="P-ONE", adjustments=(
                A("CO", "197", D("-150")),)), DraftClaim(
            "PCN-ONE", "1", D("150"), D("110"), D("15"), payer_claim_number="P-ONE2", adjustments=(
                A("CO", "45", D("25")), A("PR", "3", D("15"))))))
        by_status = {(p["claim_status_code"], p["paid"]): p for p in body["postings"]}
        original, reversal = by_status[("1", "0.00")], by_status[("22", "0.00")]
        assert reversal["reverses"] == original["posting_id"]
        assert (await client.get("/v1/denials", headers=auth())).json()["items"] == []
        assert len((await client.get("/v1/denials?status=reversed", headers=auth())).json()["items"]) == 1
        books = await balances(client)
        assert (books["payer_ar"], books[TRANSFERRED], books["contractual_writeoff"]) == ("0.00", "15.00", "25.00")
