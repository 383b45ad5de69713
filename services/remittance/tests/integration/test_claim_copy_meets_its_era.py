"""An ERA and the copy of the claim it pays, handled at the same moment by the two consumers, always meet.

The interleaving is forced: one side's transaction is held open (its work done, not committed) while the other
side runs. Before the claim keys, the second side read nothing of the first (write skew) and both committed: the
payment stayed in unapplied cash for ever. On PostgreSQL the second side must now wait for the first, which the
tests see in ``pg_stat_activity``; on SQLite every transaction holds the write lock, so it waits as well."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from rcm_shared.contracts import ClaimLineV1, ClaimSubmittedV1, EraReceivedV1, envelope_for
from rcm_shared.db.database import Database
from rcm_shared.db.migrations import upgrade_to_head
from rcm_shared.testing.databases import TestDatabases
from remittance.adapters.orm import claim_postings, metadata, platform, submitted_claims
from remittance.bootstrap import MIGRATIONS, load_rulebook, units_of_work
from remittance.config import RemittanceSettings
from remittance.domain.commands import ReceiveEra
from remittance.edi.era_writer import DraftAdjustment, DraftClaim, DraftLine, DraftTransaction, write_835
from remittance.service_layer import intake, unapplied, views
from remittance.service_layer.handlers import message_map
from sqlalchemy import func, insert, select, text

pytestmark = pytest.mark.integration
# what remittance handed to patient-billing, the one owner of patient A/R
TRANSFERRED = "patient_responsibility_transferred"

PRACTICE = "practice-a"
A = DraftAdjustment
RULES = load_rulebook()


@pytest.fixture(params=["postgresql", "sqlite"])
async def db(request: pytest.FixtureRequest, databases: TestDatabases, tmp_path: Path) -> AsyncIterator[Database]:
    url = databases.create("rem-race") if request.param == "postgresql" else f"sqlite+aiosqlite:///{tmp_path}/r.db"
    database = Database(RemittanceSettings(database_url=url), metadata, platform)
    await upgrade_to_head(database.engine, MIGRATIONS)
    yield database
    await database.dispose()


def claim_copy(pcn: str = "PCN-RACE") -> ClaimSubmittedV1:
    return ClaimSubmittedV1(
        claim_id=f"c-{pcn}", visit_id=f"v-{pcn}", practice_id=PRACTICE, patient_id="pt-1", payer_id="SBXHP",
        patient_control_number=pcn, frequency_code="1", total_charge=D("180"), date_of_service=date(2026, 10, 15),
        rendering_npi="1234567893", batch_id="b-1", interchange_control_number="000000001",
        lines=[ClaimLineV1(line_number=1, procedure_code="90837", units=1, charge=D("180"))])


def era_file(pcn: str = "PCN-RACE", trace: str = "TRACE0001") -> bytes:
    claim = DraftClaim(pcn, "1", D("180"), D("112"), D("28"), payer_claim_number="P-1", lines=(
        DraftLine("90837", D("180"), D("112"), adjustments=(A("CO", "45", D("40")), A("PR", "3", D("28")))),))
    return write_835([[DraftTransaction(claims=(claim,), trace_number=trace, payer_name="SANDBOX HEALTH PLAN",
                                        payer_id="1999999999")]], interchange_control_number=int(trace[-4:])).encode()


async def received(db: Database, content: bytes) -> tuple[Any, EraReceivedV1]:
    async with units_of_work(db)() as uow:
        era, _ = await intake.receive_era(uow, ReceiveEra(PRACTICE, content, "race.835", "api"))
    event = EraReceivedV1(era_id=era.era_id, practice_id=PRACTICE, file_sha256="0" * 64, size_bytes=len(content),
                          received_via="api")
    return envelope_for(event, source="remittance", subject=era.era_id, practice_id=PRACTICE), event


async def handle(db: Database, session: Any, envelope: Any, event: Any) -> None:
    """As the consumer does: the message map's handler for the event, in the consumer's transaction."""
    await message_map(units_of_work(db), RULES)[type(event)](session, envelope, event)


async def post_era(db: Database, envelope: Any, event: EraReceivedV1) -> None:
    async with db.transaction() as session:
        await handle(db, session, envelope, event)


async def remember(db: Database, copy: ClaimSubmittedV1) -> None:
    envelope = envelope_for(copy, source="claims", subject=copy.claim_id, practice_id=PRACTICE)
    async with db.transaction() as session:
        await handle(db, session, envelope, copy)


async def waiting_or_done(db: Database, task: asyncio.Task[None]) -> None:
    """Until ``task`` waits for a lock another transaction holds (PostgreSQL shows it), or finished."""
    if db.engine.dialect.name != "postgresql":
        await asyncio.wait({task}, timeout=0.5)  # SQLite: it waits in BEGIN IMMEDIATE, which nothing shows
        return
    deadline = asyncio.get_running_loop().time() + 20
    while not task.done() and asyncio.get_running_loop().time() < deadline:
        async with db.engine.connect() as conn:
            waiting = (await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"))).scalar_one()
        if waiting:
            return
        await asyncio.sleep(0.02)
    assert task.done(), "the other side neither finished nor waited"


async def while_held_open(db: Database, first: Any, second: Awaitable[None]) -> None:
    """Run ``first(session)`` in a transaction, then ``second`` while that transaction is still open; commit."""
    async with db.transaction() as session:
        await first(session)
        other = asyncio.ensure_future(second)
        await waiting_or_done(db, other)
    await other


async def settled(db: Database) -> dict[str, Any]:
    async with db.sessions() as session:
        waiting = (await session.execute(select(func.count()).select_from(claim_postings).where(
            claim_postings.c.unapplied == 1))).scalar_one()
        matched = (await session.execute(select(claim_postings.c.claim_id, claim_postings.c.paid).where(
            claim_postings.c.unapplied == 0))).all()
        books = await views.trial_balance(session, PRACTICE)
    balances = {account: row["balance"] for account, row in books["accounts"].items()}
    return {"waiting": waiting, "matched": [(c, str(p)) for c, p in matched], "balances": balances,
            "balanced": books["balanced"]}


EXPECTED_BOOKS = {"payer_ar": "0.00", TRANSFERRED: "28.00", "undeposited_era": "112.00", "unapplied_cash": "0.00"}


async def test_a_claim_copy_handled_while_its_era_posts_waits_then_applies_the_payment(db: Database) -> None:
    envelope, event = await received(db, era_file())
    copy = claim_copy()

    async def post_unapplied(session: Any) -> None:
        await handle(db, session, envelope, event)  # no copy yet: the payment goes to unapplied cash

    await while_held_open(db, post_unapplied, remember(db, copy))

    state = await settled(db)
    assert state["waiting"] == 0, "the payment must not stay in unapplied cash"
    assert state["matched"] == [("c-PCN-RACE", "112.00")]
    assert state["balanced"] and {k: state["balances"].get(k, "0.00") for k in EXPECTED_BOOKS} == EXPECTED_BOOKS


async def test_an_era_posted_while_its_claim_copy_is_stored_waits_then_matches_at_once(db: Database) -> None:
    envelope, event = await received(db, era_file())
    copy = claim_copy()

    async def store_copy(session: Any) -> None:
        await handle(db, session, envelope_for(copy, source="claims", subject=copy.claim_id, practice_id=PRACTICE),
                     copy)

    await while_held_open(db, store_copy, post_era(db, envelope, event))

    state = await settled(db)
    assert state["waiting"] == 0
    async with db.sessions() as session:
        ever_unapplied = (await session.execute(select(func.count()).select_from(claim_postings).where(
            claim_postings.c.unapplied != 0))).scalar_one()
    assert ever_unapplied == 0, "the ERA saw the copy committed before it and matched it directly"
    assert state["matched"] == [("c-PCN-RACE", "112.00")]
    assert {k: state["balances"].get(k, "0.00") for k in EXPECTED_BOOKS} == EXPECTED_BOOKS


async def test_the_sweep_applies_a_payment_left_waiting_beside_its_claim_copy(db: Database) -> None:
    """A payment stranded by the old race (copy stored, payment still unapplied) is applied by the sweep."""
    envelope, event = await received(db, era_file())
    await post_era(db, envelope, event)
    copy = claim_copy()
    async with db.transaction() as session:  # the copy as the old code left it: stored, nothing applied
        await session.execute(insert(submitted_claims).values(
            claim_id=copy.claim_id, practice_id=PRACTICE, patient_control_number=copy.patient_control_number,
            patient_id=copy.patient_id, payer_id=copy.payer_id, visit_id=copy.visit_id, total_charge=D("180"),
            date_of_service=copy.date_of_service, rendering_npi=copy.rendering_npi, program=None,
            lines=[{"line_number": 1, "procedure_code": "90837", "modifiers": [], "units": 1, "charge": "180",
                    "contracted_rate": None}], submitted_at=envelope.time))
    assert (await settled(db))["waiting"] == 1

    async with units_of_work(db)() as uow:
        assert await unapplied.apply_waiting_payments(uow, RULES) == 1
    async with units_of_work(db)() as uow:
        assert await unapplied.apply_waiting_payments(uow, RULES) == 0, "applied once"
    state = await settled(db)
    assert state["waiting"] == 0
    assert state["matched"] == [("c-PCN-RACE", "112.00")]
    assert state["balanced"] and state["balances"]["unapplied_cash"] == "0.00"
