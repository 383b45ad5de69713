"""Balances held for a secondary payer, listed and totalled per crossover carrier, on PostgreSQL and the broker."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from rcm_shared.contracts import ClaimLineV1, ClaimSubmittedV1, envelope_for, topics
from rcm_shared.db.types import utcnow
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes
from remittance.adapters.orm import platform
from remittance.bootstrap import build_app
from remittance.config import RemittanceSettings
from remittance.edi.era_writer import DraftAdjustment, DraftClaim, DraftLine, DraftTransaction, write_835
from remittance.service_layer import views
from sqlalchemy import select

pytestmark = pytest.mark.integration

A = DraftAdjustment
PRIMARY = ("SANDBOX HEALTH PLAN", "1999999999")
MEDIGAP = ("MEDIGAP SUPPLEMENT", "MGS01")
MEDICAID = ("STATE MEDICAID", "MCD01")
TERTIARY = ("TERTIARY PLAN", "TP01")


def submitted(claim_id: str, pcn: str, charge: str) -> ClaimSubmittedV1:
    return ClaimSubmittedV1(
        claim_id=claim_id, visit_id=f"v-{claim_id}", practice_id="practice-a", patient_id=f"pt-{claim_id}",
        payer_id="SBXHP", patient_control_number=pcn, frequency_code="1", total_charge=D(charge),
        date_of_service=date(2026, 10, 15), rendering_npi="1234567893", batch_id="b-1",
        interchange_control_number="000000001",
        lines=[ClaimLineV1(line_number=1, procedure_code="90837", units=1, charge=D(charge))])


def era(trace: str, payer: tuple[str, str], *claims: DraftClaim) -> bytes:
    return write_835([[DraftTransaction(claims=claims, trace_number=trace, payer_name=payer[0], payer_id=payer[1])]],
                     interchange_control_number=int(trace[-4:])).encode()


def crossover(pcn: str, charge: str, paid: str, contractual: str, share: str, carrier: tuple[str, str]) -> DraftClaim:
    """The primary pays and forwards the claim (CLP02 19) with the patient share to ``carrier``."""
    return DraftClaim(pcn, "19", D(charge), D(paid), D(share), payer_claim_number=f"P-{pcn}",
                      crossover_carrier=carrier, lines=(DraftLine("90837", D(charge), D(paid), adjustments=(
                          A("CO", "45", D(contractual)), A("PR", "2", D(share)))),))


async def post(client: Any, content: bytes) -> dict[str, Any]:
    response = await client.post("/v1/eras", content=content, headers={**auth(), "content-type": "application/edi-x12"})
    assert response.status_code == 202, response.text
    era_id = response.json()["era_id"]

    async def done() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/v1/eras/{era_id}", headers=auth())).json()
        return body if body["status"] != "received" else None

    body = await eventually(done, what="the ERA posted")
    assert body["status"] == "posted", body
    return body


async def listing(client: Any, practice: str = "practice-a") -> dict[str, dict[str, Any]]:
    response = await client.get("/v1/secondary-balances", headers=auth(practice))
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return {item["patient_control_number"]: item for item in response.json()["items"]}


async def report(client: Any, practice: str = "practice-a") -> dict[str, Any]:
    response = await client.get("/v1/reports/secondary-balances", headers=auth(practice))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def carriers(body: dict[str, Any]) -> dict[str, tuple[int, str, str, str]]:
    return {row["crossover_carrier"]["identifier"]: (row["claims"], row["held"], row["settled"], row["remaining"])
            for row in body["by_carrier"]}


async def test_crossovers_are_listed_until_the_next_payer_settles_them(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker))
    async with running(app) as client:
        claims = [submitted("c-short", "PCN-SHORT", "180"), submitted("c-full", "PCN-FULL", "150"),
                  submitted("c-again", "PCN-AGAIN", "100"), submitted("c-plain", "PCN-PLAIN", "120")]
        await publish_envelopes(broker.bootstrap, topics.CLAIM_SUBMITTED, [
            envelope_for(c, source="claims", subject=c.claim_id, practice_id="practice-a") for c in claims])

        async def charges_booked() -> bool:
            tb = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
            return bool(tb["accounts"].get("payer_ar", {}).get("balance") == "550.00")

        await eventually(charges_booked, what="claim copies and charges")
        assert await listing(client) == {}

        # The primary forwards three claims (two to the Medigap plan, one to Medicaid) and pays one outright.
        first = await post(client, era("TRACE0001", PRIMARY,
                                       crossover("PCN-SHORT", "180", "112", "40", "28", MEDIGAP),
                                       crossover("PCN-FULL", "150", "100", "30", "20", MEDIGAP),
                                       crossover("PCN-AGAIN", "100", "70", "10", "20", MEDICAID),
                                       DraftClaim("PCN-PLAIN", "1", D("120"), D("90"), D("30"), adjustments=(
                                           A("PR", "2", D("30")),))))
        held = await listing(client)
        assert sorted(held) == ["PCN-AGAIN", "PCN-FULL", "PCN-SHORT"], "the plain primary payment holds nothing"
        short = held["PCN-SHORT"]
        crossover_posting = next(p for p in first["postings"] if p["claim_id"] == "c-short")
        assert short["claim_id"] == "c-short" and short["primary_payer_id"] == "SBXHP"
        assert short["crossover_carrier"] == {"name": "MEDIGAP SUPPLEMENT", "identifier": "MGS01"}
        assert short["crossover_posting_id"] == crossover_posting["posting_id"]
        assert short["forwarded_by_payer_id"] == "1999999999"
        assert (short["held"], short["settled"], short["remaining"], short["state"]) == ("28.00", "0.00", "28.00",
                                                                                          "waiting")
        assert (short["days_waiting"], short["stale"], short["stale_after_days"]) == (0, False, 45)
        assert short["discrepancies"] == []
        summary = await report(client)
        assert carriers(summary) == {"MCD01": (1, "20.00", "0.00", "20.00"), "MGS01": (2, "48.00", "0.00", "48.00")}
        assert (summary["total"]["claims"], summary["total"]["remaining"]) == (3, "68.00")

        # Pages of one follow the cursor through all three, in claim id order.
        seen, cursor = [], None
        while True:
            page = (await client.get("/v1/secondary-balances", params={"limit": 1, **({"cursor": cursor} if cursor
                                     else {})}, headers=auth())).json()
            seen += [item["claim_id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ["c-again", "c-full", "c-short"]
        bad = await client.get("/v1/secondary-balances", params={"cursor": "%%%"}, headers=auth())
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "query.cursor"

        # The Medigap plan settles one in full and the other short (it says the primary's impact was 157, not
        # 152, so it settles 23 of the 28 held): the full one is gone, the short one stays with what remains.
        await post(client, era("TRACE0002", ("MEDIGAP SUPPLEMENT", "1888888888"),
                               DraftClaim("PCN-FULL", "2", D("150"), D("20"), D("0"), payer_claim_number="S-FULL",
                                          adjustments=(A("OA", "23", D("130")),)),
                               DraftClaim("PCN-SHORT", "2", D("180"), D("15"), D("8"), payer_claim_number="S-SHORT",
                                          adjustments=(A("OA", "23", D("157")), A("PR", "2", D("8"))))))
        # Medicaid settles its part and forwards the rest to a third payer (CLP02 20, NM1*TT again).
        await post(client, era("TRACE0003", ("STATE MEDICAID", "1777777777"),
                               DraftClaim("PCN-AGAIN", "20", D("100"), D("10"), D("10"), payer_claim_number="M-AGAIN",
                                          crossover_carrier=TERTIARY, adjustments=(
                                              A("OA", "23", D("80")), A("PR", "2", D("10"))))))
        held = await listing(client)
        assert sorted(held) == ["PCN-AGAIN", "PCN-SHORT"], "the claim settled to the cent left the list"
        short = held["PCN-SHORT"]
        assert (short["held"], short["settled"], short["remaining"], short["state"]) == ("28.00", "23.00", "5.00",
                                                                                          "short")
        assert short["discrepancies"] == ["settles 23.00 of 28.00 forwarded to this payer"]
        again = held["PCN-AGAIN"]
        assert again["crossover_carrier"] == {"name": "TERTIARY PLAN", "identifier": "TP01"}
        assert again["forwarded_by_payer_id"] == "1777777777"
        assert (again["held"], again["settled"], again["remaining"], again["state"]) == ("20.00", "10.00", "10.00",
                                                                                          "waiting")
        summary = await report(client)
        assert carriers(summary) == {"MGS01": (1, "28.00", "23.00", "5.00"), "TP01": (1, "20.00", "10.00", "10.00")}
        tb = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
        assert tb["accounts"]["secondary_payer_ar"]["balance"] == summary["total"]["remaining"] == "15.00"

        # Another practice sees none of it (and its read is audited like any other).
        assert await listing(client, "practice-b") == {}
        other = await report(client, "practice-b")
        assert other["by_carrier"] == [] and other["total"]["claims"] == 0

        # Looked at two months on, both are stale (the threshold is 45 days in rules/posting.yaml).
        db = app.state.db
        async with db.sessions() as session:
            later = utcnow() + timedelta(days=60)
            page = await views.secondary_balances(session, "practice-a", as_of=later, limit=10, after=None,
                                                  rules=app.state.services.rules)
            assert {(i["claim_id"], i["days_waiting"] >= 60, i["stale"]) for i in page.items} == {
                ("c-again", True, True), ("c-short", True, True)}
            late_report = await views.secondary_balance_report(session, "practice-a", as_of=later,
                                                               rules=app.state.services.rules)
            assert (late_report["total"]["stale_claims"], late_report["total"]["stale_remaining"]) == (2, "15.00")
            audited = (await session.execute(select(platform.audit_log.c.practice_id).where(
                platform.audit_log.c.object_type == "secondary_balance"))).scalars().all()
        assert {"practice-a", "practice-b"} <= set(audited)
