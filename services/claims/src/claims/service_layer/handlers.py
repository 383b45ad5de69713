"""Use cases of claims: corrections, 837P batches, acknowledgments, adjudication (charge capture is ``visits``,
scrubbing from the projection ``scrub``). Each function takes the transaction's session (or the Database when it
must talk to the outside world between transactions); rules come from the domain."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from prometheus_client import Counter
from rcm_shared.clearinghouse import HEAD_BYTES, implementation_of, is_interchange_acknowledgment, transaction_set_id
from rcm_shared.clock import Clock
from rcm_shared.contracts import (
    ClaimLineV1,
    ClaimPaymentPostedV1,
    ClaimPaymentPostedV2,
    ClaimStatusChangedV1,
    ClaimSubmittedV1,
    EligibilityCheckedV1,
    EventEnvelope,
    EventPayload,
    VisitAuthorizationDeterminedV1,
)
from rcm_shared.db import sequences
from rcm_shared.db.bulk import insert_many
from rcm_shared.db.database import Database
from rcm_shared.db.types import new_id, utcnow
from rcm_shared.http.errors import ProblemError
from rcm_shared.messaging import PermanentEventError, stage_event, stage_events
from rcm_shared.messaging.dispatch import TypedBatchHandler
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.claim_document import to_document
from claims.adapters.clearinghouse import (
    Clearinghouse,
    ClearinghouseUnavailable,
    refusal_status,
)
from claims.adapters.event_mapper import recorded_changes
from claims.adapters.orm import (
    acknowledgments,
    batch_chunks,
    batches,
    claim_transitions,
    claims,
    control_numbers,
    platform,
    status_inquiries,
)
from claims.adapters.repository import save_claims
from claims.domain.acknowledgments import InterchangeAcknowledgment, read_277ca, read_999, read_ta1
from claims.domain.claim_status import StatusInquiry, build_276, read_277
from claims.domain.coding import normalize_icd10
from claims.domain.exceptions import ClaimsDomainError, IllegalClaimTransition
from claims.domain.model import (
    Claim,
    ClaimStatus,
    Finding,
    Severity,
)
from claims.domain.rulebook import Rulebook
from claims.domain.x12_837 import Interchange837P, InterchangeHeader, Receiver, Submitter
from claims.service_layer import scrub
from claims.service_layer.scrub import Scrubbable, readable_claim, scrub_or_wait
from claims.service_layer.visits import patient_control_number

SOURCE = "claims"
log = logging.getLogger(__name__)
UNREADABLE_RESPONSES = Counter("rcm_clearinghouse_unreadable_responses_total",
                               "Returned files claims could not read (left in the mailbox), by kind", ["kind"])
REFUSED_BATCHES = Counter("rcm_submission_batches_refused_total",
                          "837P files the clearinghouse refused for good on upload, by HTTP status", ["status"])
UNREADABLE_DOCUMENT = "DOCUMENT_UNREADABLE"
SUBMISSION_LOCK = 837_001


@cache
def rulebook() -> Rulebook:
    folder = resources.files("claims.domain").joinpath("rules")
    return Rulebook.from_yaml(folder.joinpath("coding.yaml").read_text(), folder.joinpath("payers.yaml").read_text(),
                              folder.joinpath("fees.yaml").read_text())


def message_map(rules: Rulebook, clock: Clock) -> Mapping[type[EventPayload], TypedBatchHandler]:
    """Which use case takes which integration event claims consumes a poll at a time (the claim-facts consumer:
    the scrubber's projection)."""
    async def determinations(session: AsyncSession, items: Sequence[tuple[EventEnvelope, Any]]) -> None:
        await scrub.apply_determinations(session, items, rules, today=clock.today(), now=clock.now())

    async def coverage_checks(session: AsyncSession, items: Sequence[tuple[EventEnvelope, Any]]) -> None:
        await scrub.apply_coverage_checks(session, items, rules, today=clock.today(), now=clock.now())

    return {VisitAuthorizationDeterminedV1: determinations, EligibilityCheckedV1: coverage_checks}


# ------------------------------------------------------------------------------------------ claims

async def next_control_number(session: AsyncSession, name: str) -> int:
    return await sequences.next_control_number(session, control_numbers, name)


async def save_claim(session: AsyncSession, practice_id: str, claim: Claim, patient_id: str, *, new: bool,
                     causation: EventEnvelope | None = None) -> None:
    """Persist the aggregate and turn its recorded events into transitions and outbox rows."""
    await save_claims(session, practice_id, [(claim, patient_id)], new=new, causation=causation)


async def load_claim(session: AsyncSession, practice_id: str, claim_id: str, *,
                     lock: bool = False) -> tuple[Claim, Any] | None:
    query = select(claims).where(claims.c.claim_id == claim_id, claims.c.practice_id == practice_id)
    row = (await session.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        return None
    claim = readable_claim(row, "load")
    if claim is None:  # a damaged document: say so (409), never a 500; submission runs hold it with a finding
        raise ProblemError(409, "claim-unreadable", "This claim's stored document cannot be read; rebuild the "
                                                    "claim from its visit")
    return claim, row


async def _scrub(session: AsyncSession, practice_id: str, patient_id: str, claim: Claim, *, clock: Clock) -> None:
    """Scrub from claims' projection (or wait for the facts not on file yet)."""
    await scrub_or_wait(session, [Scrubbable(claim, practice_id, patient_id)], rulebook(), today=clock.today(),
                        at=clock.now())


async def rescrub(session: AsyncSession, practice_id: str, claim_id: str, *, clock: Clock) -> Claim:
    """Run the edits again on a claim (after a fix): from the projection, or it waits for what is missing."""
    loaded = await load_claim(session, practice_id, claim_id, lock=True)
    if loaded is None:
        raise ProblemError(404, "not-found", "No such claim")
    claim, row = loaded
    await _scrub(session, practice_id, row.patient_id, claim, clock=clock)
    await save_claim(session, practice_id, claim, row.patient_id, new=False)
    return claim


@dataclass(frozen=True)
class ClaimCorrection:
    diagnoses: list[str] | None = None
    prior_authorization_number: str | None = None
    member_id: str | None = None
    rendering_npi: str | None = None
    modifiers: dict[int, list[str]] | None = None


async def correct_claim(session: AsyncSession, practice_id: str, claim_id: str,
                        correction: ClaimCorrection, *, clock: Clock) -> Claim:
    """Correct and resubmit in one call: the replacement (frequency 7, REF*F8) is scrubbed at once from the
    projection (the visit's facts are on file by then)."""
    loaded = await load_claim(session, practice_id, claim_id, lock=True)
    if loaded is None:
        raise ProblemError(404, "not-found", "No such claim")
    claim, row = loaded
    changes: dict[str, object] = {}
    if correction.diagnoses:
        changes["diagnoses"] = tuple(normalize_icd10(d) for d in correction.diagnoses)
    if correction.prior_authorization_number:
        changes["prior_authorization"] = correction.prior_authorization_number
    if correction.member_id:
        from dataclasses import replace

        changes["subscriber"] = replace(claim.subscriber, member_id=correction.member_id)
    if correction.rendering_npi:
        from dataclasses import replace

        changes["rendering"] = replace(claim.rendering, npi=correction.rendering_npi)
    if correction.modifiers:
        from dataclasses import replace

        lines = list(claim.lines)
        for number, modifiers in correction.modifiers.items():
            if not 1 <= number <= len(lines):
                raise ProblemError(422, "validation", "Request is invalid", errors=[
                    {"field": f"body.modifiers.{number}", "code": "line", "message": "no such line"}])
            lines[number - 1] = replace(lines[number - 1], modifiers=tuple(modifiers))
        changes["lines"] = tuple(lines)
    replacement_id = new_id()
    replacement = claim.correct(replacement_id, patient_control_number(replacement_id), **changes)  # type: ignore[arg-type]
    await save_claim(session, practice_id, claim, row.patient_id, new=False)
    await _scrub(session, practice_id, row.patient_id, replacement, clock=clock)
    await save_claim(session, practice_id, replacement, row.patient_id, new=True)
    return replacement


async def void_claim(session: AsyncSession, practice_id: str, claim_id: str) -> Claim:
    loaded = await load_claim(session, practice_id, claim_id)
    if loaded is None:
        raise ProblemError(404, "not-found", "No such claim")
    claim, row = loaded
    void_id = new_id()
    void = claim.void(void_id, patient_control_number(void_id))
    await save_claim(session, practice_id, claim, row.patient_id, new=False)
    void.record_scrub([])  # a void repeats what the payer already has: nothing to edit
    await save_claim(session, practice_id, void, row.patient_id, new=True)
    return void


# ------------------------------------------------------------------------------------------ submission

@dataclass(frozen=True)
class SubmissionSettings:
    submitter_id: str
    receiver_id: str
    usage_indicator: str
    # Clearinghouses and payers cap the size of a file; a run writes as many files as the claims need.
    # Memory does not depend on it: files are written and sent a page of claims at a time.
    max_claims_per_file: int = 5000


SUBMISSION_PAGE = 500  # claims read, written and marked submitted together (the unit of memory)


async def batch_ready_claims(db: Database, config: SubmissionSettings, *, clock: Clock,
                             page: int = SUBMISSION_PAGE) -> list[str]:
    """Scrubbed claims -> 837P files (one practice and payer each, at most ``config.max_claims_per_file``
    claims), queued; every file in its own transaction with its claims marked submitted and their events.

    Claims are read ``page`` at a time; each page's text is stored as one piece of the file and the page's
    claims are marked submitted in bulk before the next page is read, so memory stays flat however many
    claims are waiting and however large a file is allowed to be."""
    created: list[str] = []
    while True:
        async with db.transaction() as session:
            batch_id = await _write_next_batch(session, config, page, clock.now())
        if batch_id is None:
            return created
        created.append(batch_id)


async def _write_next_batch(session: AsyncSession, config: SubmissionSettings, page: int,
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
        await _mark_submitted(session, practice_id, payer_id, batch_id, f"{icn:09d}", pending, now)
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


async def _mark_submitted(session: AsyncSession, practice_id: str, payer_id: str, batch_id: str, icn: str,
                          page: list[tuple[str, Claim]], now: datetime) -> None:
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
                               contracted_rate=_contracted(payer_id, claim.date_of_service, ln))
                   for i, ln in enumerate(claim.lines, 1)],
        ), claim.claim_id))
    await session.execute(
        update(claims).where(claims.c.claim_id == bindparam("b_claim_id")).values(
            status=bindparam("b_status"), document=bindparam("b_document"), version=claims.c.version + 1,
            batch_id=batch_id, submitted_at=now, updated_at=now),
        updates)
    await insert_many(session, claim_transitions, transitions)
    await stage_events(session, platform, events, source=SOURCE, practice_id=practice_id)


def _contracted(payer_id: str, day: date, line: Any) -> Decimal | None:
    fee = rulebook().fee(payer_id, day, line.procedure_code, line.modifiers)
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
                    await _settle_batch(session, batch.batch_id, "refused", f"HTTP{status}",
                                        attempts=batches.c.attempts + 1, last_error=str(exc)[:500])
                continue
            async with db.transaction() as session:
                await session.execute(update(batches).where(batches.c.batch_id == batch.batch_id).values(
                    attempts=batches.c.attempts + 1, last_error=str(exc)[:500]))
            break  # the clearinghouse is down: try the rest next round, in order
        async with db.transaction() as session:
            await session.execute(update(batches).where(batches.c.batch_id == batch.batch_id).values(
                status="submitted", attempts=batches.c.attempts + 1, submitted_at=receipt.submitted_at,
                last_error=None))
        sent += 1
    return sent


async def _settle_batch(session: AsyncSession, batch_id: str, status: str, reason: str, **values: Any) -> int:
    """A batch that will never be processed (refused on upload, or its interchange rejected by a TA1): the
    batch takes ``status`` and each of its claims still submitted is rejected with ``reason``, which puts it
    in the rejected work queue, from where a correction sends it again as a new original. Returns the claims
    rejected."""
    await session.execute(update(batches).where(batches.c.batch_id == batch_id).values(status=status, **values))
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


def _response_kind(content: bytes) -> str | None:
    """TA1, 999, 277 (answer to a 276) or 277CA, from the envelope whatever delimiters it declares; None
    otherwise."""
    head = content[:HEAD_BYTES]
    transaction = transaction_set_id(head)
    if transaction is None and is_interchange_acknowledgment(head):
        return "TA1"
    if transaction == "999":
        return "999"
    if transaction == "277":
        return "277" if (implementation_of(head) or "").startswith("005010X212") else "277CA"
    return None


def _read_response(kind: str, text: str) -> Any:
    if kind == "999":
        return read_999(text)
    if kind == "TA1":
        return read_ta1(text)
    return read_277(text) if kind == "277" else read_277ca(text)


async def collect_acknowledgments(db: Database, clearinghouse: Clearinghouse) -> int:
    """TA1s and 999s settle batches; 277CAs accept or reject each claim (by patient control number).

    A file is removed from the mailbox only once what it said is committed. One that claims cannot read stays
    there (for a person, and to be read again) and does not hold up the files after it."""
    files = await clearinghouse.collect_responses()
    for response in files:
        kind = _response_kind(response.content)
        if kind is None:  # not an acknowledgment after all: left for whoever it is for
            continue
        async with db.transaction() as session:
            seen = (await session.execute(select(acknowledgments.c.ack_id).where(
                acknowledgments.c.file_name == response.file_name))).first()
        if seen:
            await _acknowledge(clearinghouse, response.file_name)  # a removal that failed last round
            continue
        text = response.content.decode("utf-8", errors="replace")
        try:
            read = _read_response(kind, text)
        except Exception as exc:  # a reader's error: the file's content is never logged, only its name
            UNREADABLE_RESPONSES.labels(kind).inc()
            log.warning("acknowledgment unreadable, left in the mailbox",
                        extra={"file_name": response.file_name, "kind": kind, "error": type(exc).__name__})
            continue
        async with db.transaction() as session:
            summary: dict[str, Any] = {}
            if kind == "TA1":
                summary = {"interchanges": [a.to_dict() for a in read]}
                for answer in read:
                    await _record_interchange_answer(session, answer)
            elif kind == "999":
                summary = {"groups": [g.to_dict() for g in read]}
                for group in read:
                    if not group.group_control_number.isdigit():
                        continue
                    matching = batches.c.interchange_control_number == int(group.group_control_number)
                    if group.accepted:
                        await session.execute(update(batches).where(
                            matching, batches.c.status == "submitted").values(status="accepted"))
                        continue
                    # the whole group was refused: none of its claims reached the payer, so they go to the
                    # rejected queue (a correction resends each as a new original), not wait as submitted
                    codes = [c for t in group.transactions for c in t.reason_codes] or [group.status]
                    for batch_id in (await session.execute(select(batches.c.batch_id).where(
                            matching, batches.c.status == "submitted"))).scalars().all():
                        await _settle_batch(session, batch_id, "rejected", f"999:{codes[0]}")
            elif kind == "277":
                summary = {"claims": [a.to_dict() for a in read]}
                for answer in read:
                    await session.execute(update(status_inquiries).where(
                        status_inquiries.c.trace_number == answer.trace_number).values(
                        answered_at=utcnow(), status_codes=list(answer.reason_codes)))
            else:
                summary = {"claims": [a.to_dict() for a in read]}
                for ack in read:
                    row = (await session.execute(select(claims).where(
                        claims.c.patient_control_number == ack.patient_control_number))).first()
                    if row is None:
                        continue
                    claim = readable_claim(row, "acknowledgment")
                    if claim is None or claim.status is not ClaimStatus.SUBMITTED:
                        continue
                    if ack.accepted:
                        claim.accept(ack.payer_claim_number or None)
                    else:
                        claim.reject(ack.reason_codes)
                    await save_claim(session, row.practice_id, claim, row.patient_id, new=False)
            await session.execute(insert(acknowledgments).values(
                ack_id=new_id(), file_name=response.file_name, kind=kind, received_at=utcnow(), summary=summary))
        await _acknowledge(clearinghouse, response.file_name)
    return len(files)


async def _record_interchange_answer(session: AsyncSession, answer: InterchangeAcknowledgment) -> None:
    """A TA1 about one of our interchanges: R rejects the batch (nothing in it reached anyone) and sends its
    claims back to the rejected queue; A or E is noted on the batch, whose 999 settles it as usual."""
    batch = (await session.execute(select(batches.c.batch_id, batches.c.status).where(
        batches.c.interchange_control_number == int(answer.interchange_control_number)))).first()
    if batch is None:
        return  # not one of our 837P batches (e.g. a 276 file): the summary keeps what it said
    noted = dict(interchange_ack=answer.status, interchange_note=answer.note_code or None)
    if answer.rejected and batch.status in ("queued", "submitted"):
        await _settle_batch(session, batch.batch_id, "rejected", f"TA1:{answer.note_code or 'R'}",
                            last_error=f"TA1 {answer.note_code}: {answer.note}"[:500], **noted)
    else:
        await session.execute(update(batches).where(batches.c.batch_id == batch.batch_id).values(**noted))


async def _acknowledge(clearinghouse: Clearinghouse, file_name: str) -> None:
    try:
        await clearinghouse.acknowledge(file_name)
    except ClearinghouseUnavailable:
        pass  # committed already; the file comes again and is recognised by name, then removed


@dataclass(frozen=True)
class StatusInquiryPolicy:
    after_days: int
    every_days: int


async def inquire_claim_status(db: Database, clearinghouse: Clearinghouse, config: SubmissionSettings,
                               policy: StatusInquiryPolicy, *, clock: Clock) -> int:
    """276 for claims still without an answer: one file per payer; answers (277) arrive as responses."""
    from datetime import timedelta

    now = clock.now()
    async with db.transaction() as session:
        recent = select(status_inquiries.c.claim_id).where(
            status_inquiries.c.sent_at > now - timedelta(days=policy.every_days))
        rows = (await session.execute(select(claims).where(
            claims.c.status.in_([ClaimStatus.SUBMITTED.value, ClaimStatus.ACCEPTED.value]),
            claims.c.submitted_at <= now - timedelta(days=policy.after_days),
            claims.c.claim_id.notin_(recent)).limit(1000))).all()
        by_payer: dict[str, list[Any]] = {}
        for row in rows:
            by_payer.setdefault(row.payer_id, []).append(row)
        files: list[tuple[str, bytes]] = []
        asked = 0
        for payer_id, group in by_payer.items():
            # the guide requires the patient's birth date (DMG) in a 276: a claim without one cannot be asked
            # about; it waits for its 277CA / 835 (nothing to correct here: the scrubber already let it go)
            askable = [(row, claim) for row in group
                       if (claim := readable_claim(row, "inquiry")) is not None
                       and claim.patient_person.birth_date is not None]
            if not askable:
                continue
            icn = await next_control_number(session, "interchange")
            header = InterchangeHeader(
                sender_id=config.submitter_id, receiver_id=config.receiver_id, interchange_control_number=icn,
                group_control_number=icn, created=now,
                submitter=Submitter("RCM PLATFORM", config.submitter_id, "BILLING OFFICE", "8005550199"),
                receiver=Receiver("CLEARINGHOUSE", config.receiver_id), usage_indicator=config.usage_indicator)
            inquiries = []
            file_name = f"276_{payer_id}_{icn:09d}.x12"
            for row, claim in askable:
                trace = new_id().replace("-", "")[:30].upper()  # X12 text is upper case end to end
                inquiries.append(StatusInquiry.from_claim(claim, trace))
                await session.execute(insert(status_inquiries).values(
                    trace_number=trace, claim_id=row.claim_id, practice_id=row.practice_id, file_name=file_name,
                    sent_at=now))
            files.append((file_name, build_276(inquiries, header).encode()))
            asked += len(inquiries)
    for file_name, content in files:
        # Outside the transaction; an outage means the next round asks again (the rows say when we asked).
        await clearinghouse.submit(file_name, content)
    return asked


async def record_payment(session: AsyncSession, envelope: EventEnvelope, event: ClaimPaymentPostedV1) -> None:
    """claim-payment-posted (v1 and v2): the claim moves to paid, partially paid or denied; a reversal reopens
    it in the reversed work queue, its history naming the reversal, the ERA and (v2) the trace number."""
    loaded = await load_claim(session, event.practice_id, event.claim_id)
    if loaded is None:
        return
    claim, row = loaded
    if event.outcome == "reversed":
        try:
            changed = claim.record_reversal(  # the reversal carries negative amounts
                event.paid, event.patient_responsibility, posting_id=event.posting_id, era_id=event.era_id,
                trace_number=event.trace_number if isinstance(event, ClaimPaymentPostedV2) else None)
        except IllegalClaimTransition:
            raise PermanentEventError("a payment reversal for a claim the payer never received") from None
        if changed:
            await save_claim(session, event.practice_id, claim, row.patient_id, new=False, causation=envelope)
        return
    if claim.status is ClaimStatus.SUBMITTED and event.payer_claim_number:
        claim.accept(event.payer_claim_number)  # the 835 is the acceptance when no 277CA came first
    try:
        claim.record_adjudication(event.paid, event.patient_responsibility,
                                  any_line_denied=event.outcome == "partially_paid",
                                  payer_claim_number=event.payer_claim_number)
    except ClaimsDomainError:
        return  # already settled (a redelivered posting): nothing to move
    await save_claim(session, event.practice_id, claim, row.patient_id, new=False, causation=envelope)
