"""Submission: scrubbed claims become 837P files (one practice and payer each), queued, and are sent to the
clearinghouse; a file refused for good sends its claims back to the rejected work queue."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from prometheus_client import Counter
from rcm_shared.clock import Clock
from rcm_shared.contracts import (
    ClaimLineV1,
    ClaimStatusChangedV1,
    ClaimSubmittedV1,
)
from rcm_shared.db.bulk import insert_many
from rcm_shared.db.database import Database
from rcm_shared.db.types import new_id, utcnow
from rcm_shared.messaging import stage_event, stage_events
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.claim_document import to_document
from claims.adapters.clearinghouse import (
    Clearinghouse,
    ClearinghouseUnavailable,
    refusal_status,
)
from claims.adapters.event_mapper import SOURCE, recorded_changes
from claims.adapters.orm import (
    batch_chunks,
    batches,
    claim_transitions,
    claims,
    platform,
)
from claims.adapters.repository import SqlBatchRepository, next_control_number, readable_claim, save_claim
from claims.domain.batch import BatchStatus, SubmissionBatch
from claims.domain.model import (
    Claim,
    ClaimStatus,
    Finding,
    Severity,
)
from claims.domain.rulebook import Rulebook
from claims.edi.x12_837 import Interchange837P, InterchangeHeader, Receiver, Submitter

log = logging.getLogger(__name__)
REFUSED_BATCHES = Counter("rcm_submission_batches_refused_total",
                          "837P files the clearinghouse refused for good on upload, by HTTP status", ["status"])
UNREADABLE_DOCUMENT = "DOCUMENT_UNREADABLE"
SUBMISSION_LOCK = 837_001


@dataclass(frozen=True)
class SubmissionSettings:
    submitter_id: str
    receiver_id: str
    usage_indicator: str
    # Clearinghouses and payers cap the size of a file; a run writes as many files as the claims need.
    # Memory does not depend on it: files are written and sent a page of claims at a time.
    max_claims_per_file: int = 5000


SUBMISSION_PAGE = 500  # claims read, written and marked submitted together (the unit of memory)


async def batch_ready_claims(db: Database, config: SubmissionSettings, rules: Rulebook, *, clock: Clock,
                             page: int = SUBMISSION_PAGE) -> list[str]:
    """Scrubbed claims -> 837P files (one practice and payer each, at most ``config.max_claims_per_file``
    claims), queued; every file in its own transaction with its claims marked submitted and their events.

    Claims are read ``page`` at a time; each page's text is stored as one piece of the file and the page's
    claims are marked submitted in bulk before the next page is read, so memory stays flat however many
    claims are waiting and however large a file is allowed to be."""
    created: list[str] = []
    while True:
        async with db.transaction() as session:
            batch_id = await _write_next_batch(session, config, rules, page, clock.now())
        if batch_id is None:
            return created
        created.append(batch_id)


async def _write_next_batch(session: AsyncSession, config: SubmissionSettings, rules: Rulebook, page: int,
                            now: datetime) -> str | None:
    if session.get_bind().dialect.name == "postgresql":
        # One batcher at a time (the periodic job and an operator's "submit now" may meet): no claim is
        # batched twice and control numbers stay a gap-free sequence.
        await session.execute(select(func.pg_advisory_xact_lock(SUBMISSION_LOCK)))
    while True:
        oldest = (await session.execute(select(claims.c.practice_id, claims.c.payer_id).where(
            claims.c.status == ClaimStatus.SCRUBBED.value).order_by(claims.c.created_at, claims.c.claim_id)
            .limit(1))).first()
        if oldest is None:
            return None
        practice_id, payer_id = oldest
        waiting = (select(claims.c.claim_id, claims.c.practice_id, claims.c.patient_id, claims.c.document).where(
            claims.c.practice_id == practice_id, claims.c.payer_id == payer_id,
            claims.c.status == ClaimStatus.SCRUBBED.value).order_by(claims.c.created_at, claims.c.claim_id))
        # the first page is read before a control number is taken: a payer whose waiting claims are all
        # unreadable gets no (empty) file, and the numbers stay gap-free
        _, pending = await _readable_page(session, waiting.limit(min(page, config.max_claims_per_file)))
        if pending:
            break
    icn = await next_control_number(session, "interchange")
    batch_id = new_id()
    header = InterchangeHeader(
        sender_id=config.submitter_id, receiver_id=config.receiver_id, interchange_control_number=icn,
        group_control_number=icn, created=now,
        submitter=Submitter("RCM PLATFORM", config.submitter_id, "BILLING OFFICE", "8005550199"),
        receiver=Receiver("CLEARINGHOUSE", config.receiver_id), usage_indicator=config.usage_indicator)
    interchange = Interchange837P(header)
    seq = 0
    while True:
        if not pending:
            if interchange.claim_count >= config.max_claims_per_file:
                break
            # a page's claims leave "scrubbed" (submitted, or held when unreadable) before the next page is
            # read, so each read starts where the last ended
            read, pending = await _readable_page(session, waiting.limit(
                min(page, config.max_claims_per_file - interchange.claim_count)))
            if not read:
                break
            if not pending:
                continue
        text = interchange.add([c for _, c in pending])
        await session.execute(insert(batch_chunks).values(batch_id=batch_id, seq=seq,
                                                          content=text.encode("ascii", "replace")))
        seq += 1
        await _mark_submitted(session, rules, practice_id, payer_id, batch_id, f"{icn:09d}", pending, now)
        pending = []
    await session.execute(insert(batch_chunks).values(batch_id=batch_id, seq=seq,
                                                      content=interchange.close().encode("ascii")))
    await session.execute(insert(batches).values(
        batch_id=batch_id, practice_id=practice_id, payer_id=payer_id, interchange_control_number=icn,
        file_name=f"837P_{payer_id}_{icn:09d}.x12", claim_count=interchange.claim_count, status="queued",
        attempts=0, created_at=utcnow()))
    return batch_id


async def _readable_page(session: AsyncSession, query: Any) -> tuple[int, list[tuple[str, Claim]]]:
    """A page of scrubbed claims: how many rows were read, and (patient id, claim) for the readable ones.

    An unreadable one is held with a DOCUMENT_UNREADABLE finding, in this transaction: it leaves the
    submission queue for the held work queue (visible, and counted) instead of failing every run."""
    rows = (await session.execute(query)).all()
    readable: list[tuple[str, Claim]] = []
    for row in rows:
        claim = readable_claim(row, "batch")
        if claim is not None:
            readable.append((row.patient_id, claim))
        else:
            await _hold_unreadable(session, row.practice_id, row.claim_id, ClaimStatus.SCRUBBED.value)
    return len(rows), readable


async def _hold_unreadable(session: AsyncSession, practice_id: str, claim_id: str, previous: str) -> None:
    # The aggregate cannot be built, so its guard cannot run: the columns move, with the transition and the
    # status-changed event, as the aggregate's hold would have moved them.
    finding = Finding(UNREADABLE_DOCUMENT, Severity.ERROR,
                      "The stored claim could not be read back; rebuild it from its visit", "document")
    now = utcnow()
    await session.execute(update(claims).where(claims.c.claim_id == claim_id).values(
        status=ClaimStatus.HELD.value, findings=[finding.as_dict()], version=claims.c.version + 1, updated_at=now))
    await session.execute(insert(claim_transitions).values(claim_id=claim_id, from_status=previous,
                                                           to_status=ClaimStatus.HELD.value,
                                                           reason=UNREADABLE_DOCUMENT, at=now))
    await stage_event(session, platform, ClaimStatusChangedV1(
        claim_id=claim_id, practice_id=practice_id, previous_status=previous, status=ClaimStatus.HELD.value,
        reason_codes=[UNREADABLE_DOCUMENT]), source=SOURCE, subject=claim_id, practice_id=practice_id)


async def _mark_submitted(session: AsyncSession, rules: Rulebook, practice_id: str, payer_id: str, batch_id: str,
                          icn: str, page: list[tuple[str, Claim]], now: datetime) -> None:
    """A page of claims -> submitted: one UPDATE (executemany), one insert of transitions and one of outbox
    rows for the whole page, instead of five statements per claim. ``now``: submitted_at, from which status
    inquiries count."""
    updates: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []
    events: list[tuple[Any, str]] = []
    for patient_id, claim in page:
        claim.mark_submitted(batch_id, icn)
        rows, changes = recorded_changes(practice_id, claim)
        transitions += rows
        events += [(change, claim.claim_id) for change in changes]
        updates.append({"b_claim_id": claim.claim_id, "b_status": claim.status.value,
                        "b_document": to_document(claim)})
        events.append((ClaimSubmittedV1(
            claim_id=claim.claim_id, visit_id=claim.visit_id, practice_id=practice_id, patient_id=patient_id,
            payer_id=payer_id, patient_control_number=claim.patient_control_number,
            frequency_code=claim.frequency_code, total_charge=claim.total_charge,
            date_of_service=claim.date_of_service, rendering_npi=claim.rendering_provider.npi, program=claim.program,
            batch_id=batch_id, interchange_control_number=icn,
            lines=[ClaimLineV1(line_number=i, procedure_code=ln.procedure_code, modifiers=list(ln.modifiers),
                               units=ln.units, charge=ln.charge,
                               contracted_rate=_contracted(rules, payer_id, claim.date_of_service, ln))
                   for i, ln in enumerate(claim.lines, 1)],
        ), claim.claim_id))
    await session.execute(
        update(claims).where(claims.c.claim_id == bindparam("b_claim_id")).values(
            status=bindparam("b_status"), document=bindparam("b_document"), version=claims.c.version + 1,
            batch_id=batch_id, submitted_at=now, updated_at=now),
        updates)
    await insert_many(session, claim_transitions, transitions)
    await stage_events(session, platform, events, source=SOURCE, practice_id=practice_id)


def _contracted(rules: Rulebook, payer_id: str, day: date, line: Any) -> Decimal | None:
    fee = rules.fee(payer_id, day, line.procedure_code, line.modifiers)
    return fee.contracted if fee is not None else None


async def _stored_file(db: Database, batch_id: str) -> AsyncIterator[bytes]:
    """A batch's 837P file, read back one piece (one short query) at a time."""
    seq = -1
    while True:
        async with db.sessions() as session:
            row = (await session.execute(select(batch_chunks.c.seq, batch_chunks.c.content).where(
                batch_chunks.c.batch_id == batch_id, batch_chunks.c.seq > seq)
                .order_by(batch_chunks.c.seq).limit(1))).first()
        if row is None:
            return
        seq = row.seq
        yield bytes(row.content)


async def send_queued_batches(db: Database, clearinghouse: Clearinghouse) -> int:
    """Send what is queued; an outage leaves batches queued (the file name makes a resend detectable)."""
    async with db.sessions() as session:
        queued = (await session.execute(select(batches.c.batch_id, batches.c.file_name).where(
            batches.c.status == "queued").order_by(batches.c.created_at).limit(100))).all()
    sent = 0
    for batch in queued:
        try:
            receipt = await clearinghouse.submit(batch.file_name, _stored_file(db, batch.batch_id))
        except ClearinghouseUnavailable as exc:
            status = refusal_status(exc)
            if status is not None:
                # refused for good (too large, malformed ...): resending cannot help, and the batches behind
                # it must not wait on it; its claims go back to the rejected work queue to be sent again
                REFUSED_BATCHES.labels(str(status)).inc()
                log.error("batch refused by the clearinghouse", extra={"batch_id": batch.batch_id,
                                                                        "status": status})
                async with db.transaction() as session:
                    repository, refused = await _loaded(session, batch.batch_id)
                    if refused.status is BatchStatus.QUEUED:  # not settled by another sender meanwhile
                        refused.refused(str(exc))
                        await repository.save(refused)
                        await settle_batch(session, batch.batch_id, f"HTTP{status}")
                continue
            async with db.transaction() as session:
                repository, failed = await _loaded(session, batch.batch_id)
                if failed.status is BatchStatus.QUEUED:
                    failed.send_failed(str(exc))
                    await repository.save(failed)
            break  # the clearinghouse is down: try the rest next round, in order
        async with db.transaction() as session:
            repository, delivered = await _loaded(session, batch.batch_id)
            if delivered.status is not BatchStatus.QUEUED:
                continue  # the periodic job and "submit now" sent it at once: the file name made it one submission
            delivered.sent(receipt.submitted_at)
            await repository.save(delivered)
        sent += 1
    return sent


async def _loaded(session: AsyncSession, batch_id: str) -> tuple[SqlBatchRepository, SubmissionBatch]:
    """The batch, locked for this transaction, and where to save it."""
    repository = SqlBatchRepository(session)
    batch = await repository.get(batch_id)
    assert batch is not None, "a queued batch is never deleted"
    return repository, batch


async def settle_batch(session: AsyncSession, batch_id: str, reason: str) -> int:
    """The claims of a batch that will never be processed (refused on upload, or rejected by a 999 or a TA1: the
    batch's own move is the caller's): each still submitted is rejected with ``reason``, which puts it in the
    rejected work queue, from where a correction sends it again as a new original. Returns the claims rejected."""
    rows = (await session.execute(select(claims.c.claim_id, claims.c.practice_id, claims.c.patient_id,
                                         claims.c.document).where(
        claims.c.batch_id == batch_id, claims.c.status == ClaimStatus.SUBMITTED.value))).all()
    rejected = 0
    for row in rows:
        claim = readable_claim(row, "settle")
        if claim is None:
            await _hold_unreadable(session, row.practice_id, row.claim_id, ClaimStatus.SUBMITTED.value)
            continue
        claim.reject((reason,))
        await save_claim(session, row.practice_id, claim, row.patient_id, new=False)
        rejected += 1
    return rejected
