"""Money drills (issue 9): an ERA re-sent under a new trace number doubles nothing, and ERAs that arrive at the
same moment as the copies of the claims they pay are matched, every payment, every time.

Remittance runs as in production (its consumers on the real broker, PostgreSQL); the drills play clearinghouse
and claims. ``RCM_DRILL_SCALE=full`` (``make drills``) runs them bigger. Each prints one ``DRILL`` line."""

from __future__ import annotations

import asyncio
import os
import random
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from rcm_shared.contracts import ClaimLineV1, ClaimSubmittedV1, envelope_for, topics
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic
from remittance.adapters.orm import claim_postings, era_exceptions
from remittance.bootstrap import build_app
from remittance.config import RemittanceSettings
from remittance.edi.era_writer import DraftAdjustment, DraftClaim, DraftLine, DraftTransaction, write_835
from sqlalchemy import func, select

pytestmark = pytest.mark.integration
# what remittance handed to patient-billing, the one owner of patient A/R
TRANSFERRED = "patient_responsibility_transferred"

FULL = os.environ.get("RCM_DRILL_SCALE") == "full"
HEADERS = {**auth(), "content-type": "application/edi-x12"}
A = DraftAdjustment


def claim_copy(pcn: str) -> ClaimSubmittedV1:
    return ClaimSubmittedV1(
        claim_id=f"c-{pcn}", visit_id=f"v-{pcn}", practice_id="practice-a", patient_id=f"pt-{pcn}",
        payer_id="SBXHP", patient_control_number=pcn, frequency_code="1", total_charge=D("180"),
        date_of_service=date(2026, 10, 15), rendering_npi="1234567893", batch_id="b-1",
        interchange_control_number="000000001",
        lines=[ClaimLineV1(line_number=1, procedure_code="90837", units=1, charge=D("180"))])


def payment(pcn: str, n: int) -> DraftClaim:
    """A 180.00 claim paid 100 + n cents with a 28.00 copay (amounts differ so nothing matches by accident)."""
    paid = D("100") + D(n % 50) / 100
    return DraftClaim(pcn, "1", D("180"), paid, D("28"), payer_claim_number=f"P-{pcn}", lines=(
        DraftLine("90837", D("180"), paid, adjustments=(A("CO", "45", D("152") - paid), A("PR", "3", D("28")))),))


def era(trace: str, icn: int, claims: list[DraftClaim]) -> bytes:
    return write_835([[DraftTransaction(claims=tuple(claims), trace_number=trace, payer_name="SANDBOX HEALTH PLAN",
                                        payer_id="1999999999")]], interchange_control_number=icn).encode()


async def send_era(client: Any, content: bytes) -> str:
    response = await client.post("/v1/eras", content=content, headers=HEADERS)
    assert response.status_code == 202, response.text
    era_id: str = response.json()["era_id"]
    return era_id


async def processed(client: Any, era_ids: list[str], timeout: float) -> list[dict[str, Any]]:
    async def all_done() -> list[dict[str, Any]] | None:
        bodies = [(await client.get(f"/v1/eras/{e}", headers=auth())).json() for e in era_ids]
        return bodies if all(b["status"] != "received" for b in bodies) else None

    return await eventually(all_done, timeout=timeout, what="the ERAs processed")


async def test_drill_an_era_resent_under_a_new_trace_doubles_nothing(broker, databases) -> None:  # type: ignore[no-untyped-def]
    claims = 400 if FULL else 25
    app = build_app(settings_for(RemittanceSettings, databases.create("drill-dup"), broker))
    async with running(app) as client:
        pcns = [f"DUP{n:05d}" for n in range(claims)]
        await publish_envelopes(broker.bootstrap, topics.CLAIM_SUBMITTED, [
            envelope_for(claim_copy(p), source="claims", subject=f"c-{p}", practice_id="practice-a") for p in pcns])

        async def charged() -> bool:
            tb = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
            return bool(tb["accounts"].get("gross_charges", {}).get("credits") == f"{180 * claims:.2f}")

        await eventually(charged, timeout=60, what="claim copies stored")
        payments = [payment(p, n) for n, p in enumerate(pcns)]
        [first] = await processed(client, [await send_era(client, era("EFT00001", 1, payments))], 60)
        assert first["status"] == "posted"
        books = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()["accounts"]

        # The same payments under a new TRN02 and a new envelope: a new file, a new trace, the same claims.
        [resent] = await processed(client, [await send_era(client, era("EFT00002", 2, payments))], 60)
        after = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
        async with app.state.db.sessions() as session:  # the rows, as a person would count them in SQL
            standing = (await session.execute(select(claim_postings.c.claim_id, func.count()).where(
                claim_postings.c.unapplied == 0).group_by(claim_postings.c.claim_id))).all()
            exceptions = (await session.execute(select(func.count()).select_from(era_exceptions).where(
                era_exceptions.c.kind == "duplicate_claim_payment", era_exceptions.c.status == "open"))).scalar_one()
        doubled = sum(1 for _claim, count in standing if count > 1)
        billed = await read_topic(broker.bootstrap, topics.PATIENT_RESPONSIBILITY_ASSESSED, expect=claims)
        transferred_moved = D(after["accounts"][TRANSFERRED]["balance"]) - D(books[TRANSFERRED]["balance"])
        held = -D(after["accounts"]["overpayment_suspense"]["balance"])
        print(f"DRILL duplicate_payment: claims={claims} resent={claims} postings_doubled={doubled} "
              f"exceptions={exceptions} patient_billed_events={len(billed)} patient_transfer_moved={transferred_moved} "
              f"held_in_suspense={held} era_status={resent['status']} books_balanced={after['balanced']}")
        assert doubled == 0 and exceptions == claims and len(billed) == claims
        assert transferred_moved == 0 and after["balanced"] is True
        assert held == sum((p.paid for p in payments), D(0)), "the second payment is held, to the cent"
        assert resent["status"] == "exception" and resent["summary"]["duplicate_claim_payments"] == claims


async def test_drill_eras_and_their_claim_copies_at_the_same_moment_always_meet(broker, databases) -> None:  # type: ignore[no-untyped-def]
    rounds, per_round = (30, 40) if FULL else (8, 6)
    # The sweep would hide a miss: it runs at start-up (nothing to match yet) and then not again in the drill.
    app = build_app(settings_for(RemittanceSettings, databases.create("drill-race"), broker,
                                 unapplied_rematch_seconds=3600))
    async with running(app) as client:
        rng = random.Random(9)

        async def copies_after(delay: float, pcns: list[str]) -> None:
            await asyncio.sleep(delay)
            await publish_envelopes(broker.bootstrap, topics.CLAIM_SUBMITTED, [
                envelope_for(claim_copy(p), source="claims", subject=f"c-{p}", practice_id="practice-a")
                for p in pcns])

        async def one_round(r: int) -> str:
            pcns = [f"R{r:03d}C{n:03d}" for n in range(per_round)]
            # The ERA and the copies a few milliseconds apart, either way round: who commits first is the race.
            copies = copies_after(rng.uniform(0, 0.25), pcns)
            posted = send_era(client, era(f"EFT{r:05d}", 100 + r, [payment(p, n) for n, p in enumerate(pcns)]))
            _, era_id = await asyncio.gather(copies, posted)
            return era_id

        era_ids = [await one_round(r) for r in range(rounds)]
        await processed(client, era_ids, 120)
        total = rounds * per_round
        db = app.state.db

        async def counts() -> dict[int, int] | None:
            async with db.sessions() as session:
                found = dict((await session.execute(select(claim_postings.c.unapplied, func.count()).group_by(
                    claim_postings.c.unapplied))).all())
            matched = found.get(0, 0)
            return found if matched == total else None

        try:
            found = await eventually(counts, timeout=60, what="every payment matched to its claim")
        except AssertionError:
            async with db.sessions() as session:
                found = dict((await session.execute(select(claim_postings.c.unapplied, func.count()).group_by(
                    claim_postings.c.unapplied))).all())
        tb = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
        unapplied_cash = tb["accounts"].get("unapplied_cash", {}).get("balance", "0.00")
        print(f"DRILL era_meets_claim_copy: rounds={rounds} claims={total} matched={found.get(0, 0)} "
              f"matched_directly={found.get(0, 0) - found.get(2, 0)} matched_after_waiting={found.get(2, 0)} "
              f"left_unapplied={found.get(1, 0)} unapplied_cash={unapplied_cash} books_balanced={tb['balanced']}")
        assert found.get(1, 0) == 0 and found.get(0, 0) == total
        assert D(unapplied_cash) == 0 and tb["balanced"] is True
