"""What comes back from the clearinghouse and payers: TA1s and 999s settle batches, 277CAs accept or reject each
claim, 277s answer the status inquiries (276) claims sends for claims with no answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from rcm_shared.clearinghouse import HEAD_BYTES, implementation_of, is_interchange_acknowledgment, transaction_set_id
from rcm_shared.clock import Clock
from rcm_shared.db.database import Database
from rcm_shared.db.types import new_id, utcnow
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.clearinghouse import (
    Clearinghouse,
    ClearinghouseUnavailable,
)
from claims.adapters.orm import (
    acknowledgments,
    claims,
    status_inquiries,
)
from claims.adapters.repository import SqlBatchRepository, next_control_number, readable_claim, save_claim
from claims.domain.batch import BatchStatus
from claims.domain.model import (
    ClaimStatus,
)
from claims.edi.acknowledgments import InterchangeAcknowledgment, read_277ca, read_999, read_ta1
from claims.edi.claim_status import StatusInquiry, build_276, read_277
from claims.edi.x12_837 import InterchangeHeader, Receiver, Submitter
from claims.service_layer.submission import SubmissionSettings, settle_batch

log = logging.getLogger(__name__)
UNREADABLE_RESPONSES = Counter("rcm_clearinghouse_unreadable_responses_total",
                               "Returned files claims could not read (left in the mailbox), by kind", ["kind"])


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
                    repository = SqlBatchRepository(session)
                    # only a batch still waiting for its 999 moves (one a TA1 already rejected stays so)
                    waiting = [b for b in await repository.by_interchange(int(group.group_control_number))
                               if b.status is BatchStatus.SUBMITTED]
                    codes = [c for t in group.transactions for c in t.reason_codes] or [group.status]
                    for batch in waiting:
                        if group.accepted:
                            batch.accept()
                        else:
                            # the whole group was refused: none of its claims reached the payer, so they go to the
                            # rejected queue (a correction resends each as a new original), not wait as submitted
                            batch.reject()
                            await settle_batch(session, batch.batch_id, f"999:{codes[0]}")
                        await repository.save(batch)
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
    repository = SqlBatchRepository(session)
    found = await repository.by_interchange(int(answer.interchange_control_number))
    if not found:
        return  # not one of our 837P batches (e.g. a 276 file): the summary keeps what it said
    batch = found[0]
    batch.note_interchange(answer.status, answer.note_code)
    if answer.rejected and batch.open:
        batch.reject(f"TA1 {answer.note_code}: {answer.note}")
        await settle_batch(session, batch.batch_id, f"TA1:{answer.note_code or 'R'}")
    await repository.save(batch)


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
