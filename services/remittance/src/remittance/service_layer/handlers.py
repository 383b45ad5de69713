"""Use cases of remittance: take in ERAs, post them exactly once and balanced, classify and route denials.

Exactly once, three ways: the same file bytes are refused at intake (sha256 per practice); the same
payment (payer + TRN trace) posts nothing the second time (unique key on era_payments); and the consumer's
inbox makes a redelivered era-received a no-op. A transaction that does not balance is posted not at all:
it goes to the exception queue with the exact mismatch.

Speed (a 10,000-claim ERA in a few seconds): a transaction's claims, the balances forwarded to a next payer,
the postings its reversals take back and the denial history are each read in a few queries, not per claim;
postings, journal lines, denials, underpayments and outbox rows are written in bulk (COPY on PostgreSQL),
each chunk while the next one is worked out, all in the consumer's one transaction.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from rcm_shared.clearinghouse import MailboxUnavailable
from rcm_shared.contracts import (
    ClaimPaymentPostedV2,
    ClaimSubmittedV1,
    DenialRaisedV1,
    EraReceivedV1,
    EventEnvelope,
    PatientResponsibilityAssessedV1,
)
from rcm_shared.contracts.base import EventPayload
from rcm_shared.db.bulk import insert_many
from rcm_shared.db.database import Database
from rcm_shared.db.types import new_id, new_ids, utcnow
from rcm_shared.http.errors import ProblemError
from rcm_shared.messaging import PermanentEventError, stage_event, stage_events
from rcm_shared.observability import metrics
from rcm_shared.x12 import X12SyntaxError
from sqlalchemy import Table, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.adapters.era_mailbox import EraSource
from remittance.adapters.orm import (
    claim_keys,
    claim_postings,
    denials,
    deposits,
    era_exceptions,
    era_payments,
    eras,
    journal,
    platform,
    submitted_claims,
    underpayments,
)
from remittance.domain.denials import (
    ContractedRate,
    DenialClassifier,
    DenialOccurrence,
    DenialPatternWatch,
    DenialRules,
    UnderpaymentCheck,
)
from remittance.domain.duplicates import (
    APPLY,
    Adjudication,
    DuplicatePaymentRules,
    DuplicateWatch,
    duplicate_rules_on,
    load_duplicate_payments,
)
from remittance.edi.era_reader import iter_remittance
from remittance.domain.model import (
    REVERSAL_STATUS,
    ZERO,
    ClaimPayment,
    ProviderAdjustment,
    RemittanceHeader,
    RemittanceSummary,
)
from remittance.domain.posting import (
    ACCOUNTS,
    SECONDARY_PAYER_AR,
    UNAPPLIED_CASH,
    UNDEPOSITED_ERA,
    ClaimFacts,
    ClaimLineFacts,
    ClaimPosting,
    JournalEntry,
    JournalLine,
    PatientResponsibility,
    PostedClaim,
    RemittancePosting,
    load_coordination,
    load_plb_accounts,
    transfer,
)
from remittance.domain.reconciliation import Deposit, EraPayment, reconcile

SOURCE = "remittance"
log = logging.getLogger("rcm.remittance")
CENT = Decimal("0.01")
CHUNK = 1000  # ids per IN (...) lookup
# claim_postings.unapplied: 0 posted to its claim; 1 unapplied cash waiting for a claim copy; 2 unapplied cash
# posted later (a new posting row carries it); 3 held as a duplicate payment; 4 a held duplicate a person settled.
HELD_DUPLICATE = 3
HOLD_SETTLED = 4
SEND_EVERY = 1000  # claims: their rows are written while the next ones are posted
YIELD_EVERY = 25  # claims between turns of the event loop while a write is in progress


class _IdPool:
    """Row ids for the bulk paths (``new_ids``: one read of randomness per thousand ids, not one per id)."""

    def __init__(self) -> None:
        self._ids: list[str] = []

    def __call__(self) -> str:
        if not self._ids:
            self._ids = new_ids(1024)
        return self._ids.pop()


_next_id = _IdPool()


def _c(amount: Decimal) -> Decimal:
    """Event payloads carry amounts to the cent ("28.00", not "28")."""
    return amount.quantize(CENT)


@cache
def denial_rules() -> DenialRules:
    return DenialRules.from_yaml(resources.files("remittance.domain").joinpath("rules/denials.yaml").read_text())


@cache
def denial_classifier() -> DenialClassifier:
    """One classifier for every ERA: it remembers the rule block per date and the category per CARC/RARCs."""
    return DenialClassifier(denial_rules())


@cache
def _posting_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        resources.files("remittance.domain").joinpath("rules/posting.yaml").read_text())
    return data


@cache
def posting_rules() -> RemittancePosting:
    data = _posting_data()
    return RemittancePosting(load_plb_accounts(data), load_coordination(data))


@cache
def duplicate_payment_rules() -> tuple[DuplicatePaymentRules, ...]:
    return load_duplicate_payments(_posting_data(), ACCOUNTS)


@dataclass(frozen=True)
class ReceiveEra:
    practice_id: str
    content: bytes
    file_name: str | None
    received_via: Literal["api", "clearinghouse", "bulk"]


@dataclass
class EraIntake:
    era_id: str
    duplicate: bool
    status: str


async def receive_era(session: AsyncSession, command: ReceiveEra) -> EraIntake:
    """Store the file and announce it; the same bytes twice are recognised and not posted again."""
    sha = hashlib.sha256(command.content).hexdigest()
    existing = (await session.execute(select(eras.c.era_id, eras.c.status).where(
        eras.c.practice_id == command.practice_id, eras.c.file_sha256 == sha))).first()
    if existing is not None:
        return EraIntake(existing.era_id, True, existing.status)
    era_id = new_id()
    await session.execute(insert(eras).values(
        era_id=era_id, practice_id=command.practice_id, file_sha256=sha, file_name=command.file_name,
        content=command.content, size_bytes=len(command.content), received_via=command.received_via,
        status="received", received_at=utcnow(), summary={}))
    await stage_event(session, platform, EraReceivedV1(
        era_id=era_id, practice_id=command.practice_id, file_sha256=sha, size_bytes=len(command.content),
        received_via=command.received_via), source=SOURCE, subject=era_id, practice_id=command.practice_id)
    return EraIntake(era_id, False, "received")


async def remember_submitted_claim(session: AsyncSession, envelope: EventEnvelope, event: ClaimSubmittedV1) -> None:
    """Keep a local copy of what we billed (to match CLPs) and book the charge: Dr payer A/R, Cr charges."""
    await lock_claim_keys(session, event.practice_id, [event.patient_control_number])  # before reading: see there
    existing = (await session.execute(select(submitted_claims.c.claim_id).where(
        submitted_claims.c.claim_id == event.claim_id))).first()
    lines = [{"line_number": ln.line_number, "procedure_code": ln.procedure_code, "modifiers": ln.modifiers,
              "units": ln.units, "charge": str(ln.charge),
              "contracted_rate": str(ln.contracted_rate) if ln.contracted_rate is not None else None}
             for ln in event.lines]
    values = dict(practice_id=event.practice_id, patient_control_number=event.patient_control_number,
                  patient_id=event.patient_id, payer_id=event.payer_id, visit_id=event.visit_id,
                  total_charge=event.total_charge, date_of_service=event.date_of_service,
                  rendering_npi=event.rendering_npi, program=event.program, lines=lines, submitted_at=utcnow())
    if existing is not None:
        await session.execute(update(submitted_claims).where(submitted_claims.c.claim_id == event.claim_id)
                              .values(**values))
        return
    await session.execute(insert(submitted_claims).values(claim_id=event.claim_id, **values))
    await _write_entries(session, event.practice_id, None, [posting_rules().charge(_facts(event.claim_id, values))])
    await _apply_waiting_payments(session, envelope, event.practice_id, event.patient_control_number)


async def lock_claim_keys(session: AsyncSession, practice_id: str, patient_control_numbers: Iterable[str]) -> None:
    """Take the claim keys (practice, patient control number) for the rest of the transaction, waiting for any
    transaction that holds one of them.

    The claim-copy consumer and ERA posting run in separate transactions; without this, each could read
    before the other committed (write skew): the ERA finds no copy and posts unapplied cash, the copy finds no
    unapplied cash, and the payment waits for ever. Everything that matches 835 money to a claim copy takes
    the keys first, then reads; PostgreSQL (READ COMMITTED) gives each later statement a snapshot that
    includes whatever the holder committed. The keys of one call go in sorted order; a deadlock with a
    transaction that took its keys in another order (a consumer poll of many claim copies) is broken by
    PostgreSQL and the event retried alone (docs/decisions.md). The upsert locks the row on PostgreSQL; on SQLite
    every transaction already holds the database's write lock (BEGIN IMMEDIATE), and it is a cheap write."""
    keys = sorted(set(patient_control_numbers))
    if not keys:
        return
    upsert = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(claim_keys)
    statement = upsert.on_conflict_do_update(index_elements=[claim_keys.c.practice_id,
                                                             claim_keys.c.patient_control_number],
                                             set_={"touched_at": upsert.excluded.touched_at})
    now = utcnow()
    for start in range(0, len(keys), CHUNK):
        await session.execute(statement, [{"practice_id": practice_id, "patient_control_number": key,
                                           "touched_at": now} for key in keys[start:start + CHUNK]])


def _facts(claim_id: str, row: Any) -> ClaimFacts:
    data = row if isinstance(row, dict) else row._mapping
    return ClaimFacts(claim_id, data["patient_control_number"], tuple(
        ClaimLineFacts(int(ln["line_number"]), ln["procedure_code"], Decimal(str(ln["charge"])),
                       tuple(ln.get("modifiers") or ()), Decimal(str(ln.get("units", 1))))
        for ln in data["lines"]))


def _journal_rows(practice_id: str, posting_id: str | None, entries: Iterable[JournalEntry],
                  now: datetime) -> list[dict[str, Any]]:
    rows = []
    for entry in entries:
        if entry.total_debits != entry.total_credits:  # the domain guarantees it; the books must never drift
            raise ValueError("unbalanced journal entry refused")
        entry_id = _next_id()
        for line in entry.lines:
            rows.append({"entry_id": entry_id, "posting_id": posting_id, "practice_id": practice_id,
                         "account": line.account, "debit": line.debit, "credit": line.credit,
                         "claim_id": line.claim_id, "memo": entry.kind, "at": now})
    return rows


async def _write_entries(session: AsyncSession, practice_id: str, posting_id: str | None,
                         entries: list[JournalEntry]) -> None:
    rows = _journal_rows(practice_id, posting_id, entries, utcnow())
    if rows:
        await session.execute(insert(journal), rows)


@dataclass
class _Batch:
    """Rows and events of one 835 transaction, written in bulk (COPY on PostgreSQL) in the caller's
    transaction: a 10,000-claim ERA is otherwise tens of thousands of single-row round trips.

    ``send`` starts writing what is collected so far while posting goes on: the database inserts and
    indexes one chunk while this process works out the next (one write at a time on the connection, in
    order, so outbox rows keep their order). Nothing else may use the session until ``settle`` returned.
    ``touched``: claims with a posting in the batch, so a later reversal or settlement of one of them in
    the same transaction flushes first and reads it back."""

    postings: list[dict[str, Any]] = field(default_factory=list)
    journal: list[dict[str, Any]] = field(default_factory=list)
    denials: list[dict[str, Any]] = field(default_factory=list)
    underpayments: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[EventPayload, str]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    touched: set[str] = field(default_factory=set)
    pending: asyncio.Task[None] | None = None

    async def send(self, session: AsyncSession, practice_id: str, causation: EventEnvelope | None) -> None:
        """Start writing everything collected so far (after the previous write finished)."""
        await self.settle()
        tables = [(claim_postings, self.postings), (journal, self.journal), (denials, self.denials),
                  (underpayments, self.underpayments), (era_exceptions, self.exceptions)]
        events = self.events
        self.postings, self.journal, self.denials, self.underpayments, self.exceptions, self.events = \
            [], [], [], [], [], []
        for name, count in self.counts.items():
            metrics.BUSINESS_EVENTS.labels(SOURCE, name).inc(count)
        self.counts.clear()
        self.touched.clear()
        self.pending = asyncio.create_task(_write(session, tables, events, practice_id, causation))
        await asyncio.sleep(0)  # let it put its first rows on the wire

    async def settle(self, *, quiet: bool = False) -> None:
        """Wait for the write in progress; ``quiet`` when already failing (the transaction rolls back)."""
        task, self.pending = self.pending, None
        if task is None:
            return
        try:
            await task
        except Exception:
            if not quiet:
                raise

    async def flush(self, session: AsyncSession, practice_id: str, causation: EventEnvelope | None) -> None:
        """Write everything collected and wait for it."""
        await self.send(session, practice_id, causation)
        await self.settle()


async def _write(session: AsyncSession, tables: list[tuple[Table, list[dict[str, Any]]]],
                 events: list[tuple[EventPayload, str]], practice_id: str, causation: EventEnvelope | None) -> None:
    for table, rows in tables:
        await insert_many(session, table, rows)
    await stage_events(session, platform, events, source=SOURCE, practice_id=practice_id, causation=causation)


@dataclass
class _Transaction:
    header: RemittanceHeader
    claims: list[ClaimPayment] = field(default_factory=list)


_collector_paused = 0  # post_era calls running with the cyclic collector paused (see _collector_paused_while)
_collector_was_enabled = False


@contextmanager
def _collector_paused_while() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an ERA posts.

    Posting a 10,000-claim ERA keeps a few hundred thousand small objects alive at once (the transaction's
    parsed claims, our claim copies, rows waiting to be written). Each time they grow by a quarter the
    collector walks all of them again, looking for cycles they hardly ever form (measured: 6 full
    collections, ~1 s of a ~4.5 s post). Reference counting still frees everything that is not a cycle;
    cycles made meanwhile are found by the first collection afterwards. Counted, so overlapping posts
    resume it once, when the last one ends; a collector someone else disabled stays disabled."""
    global _collector_paused, _collector_was_enabled
    if _collector_paused == 0:
        _collector_was_enabled = gc.isenabled()
        gc.disable()
    _collector_paused += 1
    try:
        yield
    finally:
        _collector_paused -= 1
        if _collector_paused == 0 and _collector_was_enabled:
            gc.enable()


async def post_era(session: AsyncSession, envelope: EventEnvelope, event: EraReceivedV1) -> None:
    with _collector_paused_while():
        await _post_era(session, envelope, event)


async def _post_era(session: AsyncSession, envelope: EventEnvelope, event: EraReceivedV1) -> None:
    row = (await session.execute(select(eras).where(eras.c.era_id == event.era_id,
                                                    eras.c.practice_id == event.practice_id))).first()
    if row is None:
        raise PermanentEventError("era-received for an ERA this service does not hold")
    if row.status != "received":
        return  # already processed (aggregate guard behind the inbox)
    summary: dict[str, Any] = {"transactions": 0, "claims_posted": 0, "claims_unapplied": 0, "denials": 0,
                               "exceptions": 0, "duplicates": 0, "duplicate_claim_payments": 0, "total_paid": "0.00"}
    total_paid = Decimal("0")
    current: _Transaction | None = None
    try:
        for record in iter_remittance(row.content, strict=True):  # strict: every field checked before posting
            if isinstance(record, RemittanceHeader):
                current = _Transaction(record)
            elif isinstance(record, ClaimPayment):
                assert current is not None
                current.claims.append(record)
            elif isinstance(record, RemittanceSummary):
                assert current is not None
                summary["transactions"] += 1
                outcome = await _post_transaction(session, event, envelope, current, record)
                for key, value in outcome.items():
                    summary[key] = summary.get(key, 0) + value
                if outcome.get("claims_posted") or outcome.get("claims_unapplied") or \
                        outcome.get("duplicate_claim_payments"):
                    total_paid += current.header.total_paid
                current = None
    except X12SyntaxError as exc:
        await _exception(session, event, "unparseable", exc.as_dict())
        await session.execute(update(eras).where(eras.c.era_id == event.era_id).values(
            status="exception", processed_at=utcnow(), summary={"error": exc.as_dict()}))
        return
    summary["total_paid"] = str(total_paid)
    # Claims held as duplicate payments wait for a person like an exception does.
    waiting = summary["exceptions"] + summary["duplicate_claim_payments"]
    status = "posted" if not waiting else ("exception" if not summary["claims_posted"] else "partial")
    if summary["duplicates"] and not summary["claims_posted"] and not summary["exceptions"]:
        status = "duplicate"
    await session.execute(update(eras).where(eras.c.era_id == event.era_id).values(
        status=status, processed_at=utcnow(), summary=summary))


async def _exception(session: AsyncSession, event: EraReceivedV1, kind: str, detail: dict[str, Any]) -> None:
    await session.execute(insert(era_exceptions).values(
        exception_id=_next_id(), era_id=event.era_id, practice_id=event.practice_id, kind=kind, detail=detail,
        status="open", raised_at=utcnow()))
    metrics.BUSINESS_EVENTS.labels(SOURCE, f"era_exception_{kind}").inc()


async def _post_transaction(session: AsyncSession, event: EraReceivedV1, envelope: EventEnvelope,
                            tx: _Transaction, summary: RemittanceSummary) -> dict[str, int]:
    header = tx.header
    payer_id = (header.payer.identifier if header.payer and header.payer.identifier else "") or \
        header.payer_identifier or header.sender_id
    issues = list(summary.balance_issues) + [i for c in tx.claims for i in c.balance_issues]
    if issues:
        # Never half-posted: the whole transaction waits in the exception queue with each exact mismatch.
        await _exception(session, event, "unbalanced", {
            "transaction_control_number": header.transaction_control_number, "trace_number": header.trace_number,
            "issues": [{"rule": str(getattr(i.rule, "value", i.rule)), "claim_ordinal": i.claim_ordinal,
                        "patient_control_number": i.patient_control_number, "line_ordinal": i.line_ordinal,
                        "expected": str(i.expected), "actual": str(i.actual)} for i in issues]})
        return {"exceptions": 1}
    duplicate = (await session.execute(select(era_payments.c.payment_id).where(
        era_payments.c.practice_id == event.practice_id, era_payments.c.payer_id == payer_id,
        era_payments.c.trace_number == header.trace_number))).first()
    if duplicate is not None:
        await _exception(session, event, "duplicate_payment", {
            "trace_number": header.trace_number, "payer_id": payer_id, "first_payment_id": duplicate.payment_id})
        return {"duplicates": 1}
    payment_id = _next_id()
    # The claims this payment is for, taken before their copies and postings are read (see lock_claim_keys).
    await lock_claim_keys(session, event.practice_id, [c.patient_control_number for c in tx.claims])
    await session.execute(insert(era_payments).values(
        payment_id=payment_id, era_id=event.era_id, practice_id=event.practice_id, payer_id=payer_id,
        trace_number=header.trace_number, total_paid=header.total_paid, method=header.payment_method or "NON",
        payment_date=header.payment_date, claim_count=len(tx.claims), posted_at=utcnow()))
    ours_by_pcn = await _our_claims(session, event.practice_id, [c.patient_control_number for c in tx.claims])
    batch = _Batch()
    posting = _PostingRun(event.era_id, event.practice_id, payment_id, payer_id, envelope, utcnow(),
                          header.trace_number)
    try:
        done = await _post_claims(session, posting, [(c, ours_by_pcn.get(c.patient_control_number))
                                                     for c in tx.claims], batch)
        if summary.provider_adjustments and done.held and done.held == len(tx.claims):
            _hold_provider_adjustments(posting, header, summary.provider_adjustments, batch)
        elif summary.provider_adjustments:
            batch.journal.extend(_journal_rows(event.practice_id, None, posting_rules().post_provider_adjustments(
                summary.provider_adjustments, header.trace_number), posting.now))
        await batch.flush(session, event.practice_id, envelope)
    finally:
        await batch.settle(quiet=True)  # never leave a write running on the connection
    matched = sum(1 for c in tx.claims if c.patient_control_number in ours_by_pcn)
    return {"claims_posted": matched - done.held, "claims_unapplied": len(tx.claims) - matched,
            "denials": done.raised, "duplicate_claim_payments": done.held}


def _hold_provider_adjustments(run: _PostingRun, header: RemittanceHeader, adjustments: list[ProviderAdjustment],
                               batch: _Batch) -> None:
    """A payment whose every claim repeats one already posted is a repeated payment as a whole: its PLBs are held
    with its claims (the hold then carries exactly BPR02), not booked to their accounts a second time."""
    rules = duplicate_rules_on(duplicate_payment_rules(), header.payment_date)
    batch.journal.extend(_journal_rows(run.practice_id, None, posting_rules().hold_provider_adjustments(
        adjustments, header.trace_number, rules.hold_account), run.now))
    batch.exceptions.append(dict(
        exception_id=_next_id(), era_id=run.era_id, practice_id=run.practice_id,
        kind="duplicate_provider_adjustments", status="open", raised_at=run.now, detail={
            "payment_id": run.payment_id, "trace_number": header.trace_number, "payer_id": run.payer_id,
            "held_in": rules.hold_account, "amount": str(_c(sum((a.amount for a in adjustments), ZERO))),
            "adjustments": [{"provider_identifier": a.provider_identifier, "reason": a.reason,
                             "reference": a.reference, "amount": str(_c(a.amount))} for a in adjustments],
            "decisions": list(rules.decisions)}))
    batch.counts["duplicate_provider_adjustments_held"] += 1


def _among(column: Any, values: list[str]) -> Any:
    """``column IN (...)`` with the values written into the statement: a prepared statement with a thousand
    parameters gets a generic plan from its sixth run on, which on PostgreSQL scans the whole table (seen:
    0.05 s per query becoming 1 s)."""
    return column.in_(bindparam("values", values, expanding=True, literal_execute=True))


# What posting a matched claim reads of our copy (not its charge total, payer or timestamps: less to decode).
_MATCH_COLUMNS = (submitted_claims.c.claim_id, submitted_claims.c.patient_control_number, submitted_claims.c.patient_id,
                  submitted_claims.c.visit_id, submitted_claims.c.date_of_service, submitted_claims.c.rendering_npi,
                  submitted_claims.c.program, submitted_claims.c.lines)


async def _our_claims(session: AsyncSession, practice_id: str, pcns: list[str]) -> dict[str, Any]:
    """Our claim copies for a transaction's CLPs, in a few queries instead of one per claim."""
    found: dict[str, Any] = {}
    unique = sorted(set(pcns))
    for start in range(0, len(unique), CHUNK):
        for row in (await session.execute(select(*_MATCH_COLUMNS).where(
                submitted_claims.c.practice_id == practice_id,
                _among(submitted_claims.c.patient_control_number, unique[start:start + CHUNK])))).all():
            found[row.patient_control_number] = row
    return found


async def _our_claim(session: AsyncSession, practice_id: str, patient_control_number: str) -> Any:
    return (await session.execute(select(submitted_claims).where(
        submitted_claims.c.practice_id == practice_id,
        submitted_claims.c.patient_control_number == patient_control_number))).first()


@dataclass(frozen=True)
class _PostingRun:
    """What every claim of one 835 transaction shares."""

    era_id: str
    practice_id: str
    payment_id: str
    payer_id: str
    envelope: EventEnvelope | None  # None: a periodic job or a person, caused by no event
    now: datetime
    trace_number: str | None  # TRN02 of the 835 payment


async def _payment_run(session: AsyncSession, era_id: str, practice_id: str, payment_id: str,
                       envelope: EventEnvelope | None) -> _PostingRun:
    """The run of a payment posted earlier (a late claim copy, a person's decision)."""
    payment = (await session.execute(select(era_payments.c.payer_id, era_payments.c.trace_number).where(
        era_payments.c.payment_id == payment_id))).one()
    return _PostingRun(era_id, practice_id, payment_id, payment.payer_id, envelope, utcnow(), payment.trace_number)


async def _held_for_next_payer(session: AsyncSession, practice_id: str, claim_ids: list[str]) -> dict[str, Decimal]:
    """What secondary_payer_ar holds per claim: balances earlier payers forwarded (crossover)."""
    held: dict[str, Decimal] = {}
    unique = sorted(set(claim_ids))
    for start in range(0, len(unique), CHUNK):
        for claim_id, debit, credit in (await session.execute(
                select(journal.c.claim_id, func.sum(journal.c.debit), func.sum(journal.c.credit)).where(
                    journal.c.practice_id == practice_id, journal.c.account == SECONDARY_PAYER_AR,
                    _among(journal.c.claim_id, unique[start:start + CHUNK])).group_by(journal.c.claim_id))).all():
            held[claim_id] = Decimal(debit or 0) - Decimal(credit or 0)
    return held


def _standing(practice_id: str, claim_ids: list[str]) -> tuple[Any, ...]:
    """Postings that stand on these claims: matched (not unapplied, not held), not reversals, not reversed."""
    p = claim_postings.c
    return (p.practice_id == practice_id, _among(p.claim_id, claim_ids), p.unapplied == 0,
            p.claim_status_code != REVERSAL_STATUS, p.reversed_by_posting_id.is_(None))


async def _reversible_postings(session: AsyncSession, practice_id: str,
                               claim_ids: list[str]) -> dict[str, list[tuple[PostedClaim, Any]]]:
    """The claims' postings a reversal may reverse (matched, not reversals, not reversed yet), newest first,
    each with its journal entries as they were written."""
    found: dict[str, list[tuple[PostedClaim, Any]]] = {}
    unique = sorted(set(claim_ids))
    for start in range(0, len(unique), CHUNK):
        rows = (await session.execute(select(claim_postings).where(
            *_standing(practice_id, unique[start:start + CHUNK])).order_by(claim_postings.c.posted_at.desc()))).all()
        if not rows:
            continue
        entries: dict[str, dict[str, list[JournalLine]]] = defaultdict(lambda: defaultdict(list))
        kinds: dict[str, str] = {}
        for line in (await session.execute(select(journal).where(
                _among(journal.c.posting_id, [r.posting_id for r in rows])).order_by(journal.c.id))).all():
            entries[line.posting_id][line.entry_id].append(
                JournalLine(line.account, line.debit, line.credit, line.claim_id))
            kinds[line.entry_id] = line.memo or "entry"
        for row in rows:
            billed = (row.detail or {}).get("patient_billed")
            if billed is None:  # posted before patient_billed was recorded: what the 835 said went to the patient
                billed = {"other": str(row.patient_responsibility)}
            original = PostedClaim(
                row.posting_id, row.claim_id, row.charge, row.paid,
                tuple(JournalEntry(kinds[entry_id], row.posting_id, tuple(lines))
                      for entry_id, lines in entries[row.posting_id].items()),
                PatientResponsibility(**{k: Decimal(v) for k, v in billed.items()}))
            found.setdefault(row.claim_id, []).append((original, row))
    return found


def _pick_original(reversal: ClaimPayment, candidates: list[tuple[PostedClaim, Any]]) -> tuple[PostedClaim, Any] | None:
    """The posting a CLP02 22 takes back: same amounts negated, the same payer claim number first."""
    same_amounts = [c for c in candidates if c[0].paid == -reversal.paid and c[0].charge == -reversal.charge]
    for candidate in same_amounts:
        if candidate[1].payer_claim_number == (reversal.payer_claim_number or None):
            return candidate
    return same_amounts[0] if same_amounts else None


async def _standing_postings(session: AsyncSession, practice_id: str,
                             claim_ids: list[str]) -> dict[str, list[tuple[str, Adjudication]]]:
    """The claims' postings that stand (matched, not reversals, not reversed), as a duplicate is judged."""
    found: dict[str, list[tuple[str, Adjudication]]] = {}
    unique = sorted(set(claim_ids))
    p = claim_postings.c
    for start in range(0, len(unique), CHUNK):
        for row in (await session.execute(select(
                p.posting_id, p.claim_id, p.claim_status_code, p.payer_claim_number, p.charge, p.paid,
                p.patient_responsibility, p.detail, era_payments.c.payer_id)
                .join(era_payments, era_payments.c.payment_id == p.payment_id)
                .where(*_standing(practice_id, unique[start:start + CHUNK])))).all():
            lines = Adjudication.lines_from_data((row.detail or {}).get("adjudicated_lines"))
            found.setdefault(row.claim_id, []).append((row.posting_id, Adjudication(
                row.payer_id, row.claim_status_code, row.payer_claim_number, row.charge, row.paid,
                row.patient_responsibility, lines)))
    return found


@dataclass
class _Posted:
    raised: int = 0  # denials
    held: int = 0  # claim payments held as duplicates


async def _post_claims(session: AsyncSession, run: _PostingRun, pairs: list[tuple[ClaimPayment, Any]],
                       batch: _Batch, *, hold_duplicates: bool = True) -> _Posted:
    """Post a transaction's CLPs (each with our claim copy or None) into ``batch``.

    The state a claim's posting reads (balances forwarded to the next payer, postings a reversal takes back,
    postings a duplicate would repeat, the denial history for pattern alerts) is read once for the whole
    transaction, not per claim. ``hold_duplicates`` False: a person decided this payment is not a duplicate."""
    rules = posting_rules()
    coordination_statuses = frozenset().union(*(b.next_payer_statuses for b in rules.coordination))
    matched = [(claim, ours) for claim, ours in pairs if ours is not None]
    held = await _held_for_next_payer(session, run.practice_id, [
        ours.claim_id for claim, ours in matched if claim.status_code in coordination_statuses])
    originals = await _reversible_postings(session, run.practice_id, [
        ours.claim_id for claim, ours in matched if claim.is_reversal])
    watch = await _denial_watch(session, run.practice_id, [ours.date_of_service for claim, ours in matched
                                                            if not claim.is_reversal])
    standing = DuplicateWatch(duplicate_payment_rules(), await _standing_postings(
        session, run.practice_id, [ours.claim_id for claim, ours in matched]) if hold_duplicates else None)
    posted = _Posted()
    for done, (claim, ours) in enumerate(pairs, 1):
        if not done % SEND_EVERY:
            await batch.send(session, run.practice_id, run.envelope)
        elif not done % YIELD_EVERY and batch.pending is not None:
            await asyncio.sleep(0)  # the write in progress needs the event loop now and then
        if ours is None:
            _post_unapplied(run, claim, batch)
            continue
        claim_id = ours.claim_id
        if claim_id in batch.touched and (claim.is_reversal or claim.status_code in coordination_statuses):
            # posted earlier in this transaction: write it, then read the claim's state again
            await batch.flush(session, run.practice_id, run.envelope)
            held.update(await _held_for_next_payer(session, run.practice_id, [claim_id]))
            originals.update(await _reversible_postings(session, run.practice_id, [claim_id]))
        batch.touched.add(claim_id)
        if claim.is_reversal:
            original = _pick_original(claim, originals.get(claim_id, []))
            if original is not None:
                originals[claim_id].remove(original)
                standing.reversed(claim_id, original[0].posting_id)
                await _post_reversal(session, run, claim, ours, original, batch)
                continue
        adjudication = Adjudication.of(claim, run.payer_id)
        repeats = standing.duplicate_of(claim_id, adjudication, ours.date_of_service) if hold_duplicates else None
        if repeats is not None:
            _hold_duplicate(run, claim, ours, repeats, batch)
            posted.held += 1
            continue
        posting_id, raised = _post_matched(run, claim, ours, held.get(claim_id, ZERO), watch, adjudication, batch)
        if not claim.is_reversal:
            standing.posted(claim_id, posting_id, adjudication)
        posted.raised += raised
    return posted


def _hold_duplicate(run: _PostingRun, claim: ClaimPayment, ours: Any, repeats: str, batch: _Batch) -> None:
    """A payment the claim already holds a standing posting for: the money is held, the claim and the patient
    are untouched, and one exception asks a person to decide (see resolve_duplicate_payment)."""
    rules = duplicate_rules_on(duplicate_payment_rules(), ours.date_of_service)
    result = posting_rules().hold_duplicate(claim, ours.claim_id, rules.hold_account)
    posting_id, exception_id = _next_id(), _next_id()
    where = {"transaction_control_number": claim.transaction_control_number, "claim_ordinal": claim.ordinal}
    batch.postings.append(_posting_row(run, claim, result, posting_id, HELD_DUPLICATE, {
        "duplicate_of": repeats, "exception_id": exception_id, "held_in": rules.hold_account, "clp": where}))
    batch.journal.extend(_journal_rows(run.practice_id, posting_id, result.entries, run.now))
    batch.exceptions.append(dict(
        exception_id=exception_id, era_id=run.era_id, practice_id=run.practice_id, kind="duplicate_claim_payment",
        status="open", raised_at=run.now, detail={
            "posting_id": posting_id, "duplicate_of": repeats, "claim_id": ours.claim_id,
            "patient_control_number": claim.patient_control_number, "claim_status_code": claim.status_code,
            "payer_claim_number": claim.payer_claim_number or None, "payer_id": run.payer_id,
            "paid": str(_c(claim.paid)), "held_in": rules.hold_account, "decisions": list(rules.decisions)}))
    batch.counts["duplicate_claim_payment_held"] += 1


def _posting_row(run: _PostingRun, claim: ClaimPayment, result: ClaimPosting, posting_id: str,
                 unapplied: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    billed = result.patient_billed
    detail: dict[str, Any] = {"outcome": result.outcome, "discrepancies": list(result.discrepancies),
                              "line_matches": [list(m) for m in result.line_matches], "basis": result.basis}
    if result.claim_id is not None:
        detail["patient_billed"] = {"deductible": str(_c(billed.deductible)),
                                    "coinsurance": str(_c(billed.coinsurance)), "copay": str(_c(billed.copay)),
                                    "other": str(_c(billed.other))}
        if result.held_for_next_payer:
            detail["held_for_next_payer"] = str(_c(result.held_for_next_payer))
    return dict(
        posting_id=posting_id, era_id=run.era_id, payment_id=run.payment_id, practice_id=run.practice_id,
        claim_id=result.claim_id, patient_control_number=claim.patient_control_number,
        claim_status_code=claim.status_code, charge=claim.charge, paid=claim.paid,
        patient_responsibility=result.patient_responsibility.total, payer_claim_number=claim.payer_claim_number or None,
        unapplied=unapplied, posted_at=run.now, reversed_by_posting_id=None, detail={**detail, **(extra or {})})


def _post_unapplied(run: _PostingRun, claim: ClaimPayment, batch: _Batch) -> None:
    """Money for a claim we do not know (yet): Dr undeposited ERA / Cr unapplied cash until a copy arrives."""
    result = posting_rules().post_claim(claim, None)
    posting_id = _next_id()
    batch.postings.append(_posting_row(run, claim, result, posting_id, 1))
    batch.journal.extend(_journal_rows(run.practice_id, posting_id, result.entries, run.now))
    batch.counts["unapplied_payment"] += 1


def _stage_claim_events(run: _PostingRun, claim: ClaimPayment, ours: Any, posting_id: str, result: ClaimPosting,
                        batch: _Batch, reverses: str | None = None) -> None:
    # model_construct (here and for denials): every field is given, from values already typed and checked
    # (Decimal amounts to the cent, ids, codes from the parsed 835), so validating thousands of payloads
    # again per ERA changes nothing; the integration tests read the staged events back through the contracts.
    assert result.outcome != "held_duplicate", "a held duplicate tells the claim nothing"
    batch.events.append((ClaimPaymentPostedV2.model_construct(
        posting_id=posting_id, era_id=run.era_id, claim_id=ours.claim_id, practice_id=run.practice_id,
        outcome=result.outcome if result.outcome != "unapplied" else "paid",
        claim_status_code=claim.status_code, charge=_c(claim.charge), paid=_c(claim.paid),
        patient_responsibility=_c(result.patient_responsibility.total),
        contractual_adjustment=_c(result.contractual_adjustment), payer_claim_number=claim.payer_claim_number or None,
        trace_number=run.trace_number or None, reverses_posting_id=reverses,
    ), ours.claim_id))
    billed = result.patient_billed
    if billed.total != 0:  # held for the next payer: nothing to the patient yet; a reversal sends it negative
        batch.events.append((PatientResponsibilityAssessedV1.model_construct(
            assessment_id=posting_id, posting_id=posting_id, claim_id=ours.claim_id, patient_id=ours.patient_id,
            practice_id=run.practice_id, date_of_service=ours.date_of_service, deductible=_c(billed.deductible),
            coinsurance=_c(billed.coinsurance), copay=_c(billed.copay), other=_c(billed.other), total=_c(billed.total),
        ), ours.claim_id))


def _post_matched(run: _PostingRun, claim: ClaimPayment, ours: Any, held: Decimal, watch: DenialPatternWatch,
                  adjudication: Adjudication, batch: _Batch) -> tuple[str, int]:
    """Post one CLP to our claim: journal, posting row, events, underpayments, denials. Returns the posting
    id and the denials raised."""
    result = posting_rules().post_claim(claim, _facts(ours.claim_id, ours), held_for_this_payer=held,
                                        as_of=ours.date_of_service)
    posting_id = _next_id()
    extra: dict[str, Any] = {}
    # A next payer that settles and forwards again (CLP02 20/21) names the carrier after it, too.
    forwards_again = result.basis == "crossover_settlement" and claim.status_code in \
        posting_rules().coordination_on(ours.date_of_service).forwarded_statuses
    crossover = claim.names.get("TT") if result.held_for_next_payer > 0 or forwards_again else None
    if crossover is not None:  # the crossover carrier (a payer, not a person) the balance was forwarded to
        extra["forwarded_to"] = {"name": crossover.last_name, "identifier": crossover.identifier}
    if claim.is_reversal:  # no posting of ours to take back: the negated amounts go through the rules
        extra["reverses"] = None
    else:  # what a later payment is compared with, to tell a duplicate (domain/duplicates.py)
        extra["adjudicated_lines"] = adjudication.lines_as_data()
    batch.postings.append(_posting_row(run, claim, result, posting_id, 0, extra))
    batch.journal.extend(_journal_rows(run.practice_id, posting_id, result.entries, run.now))
    _stage_claim_events(run, claim, ours, posting_id, result, batch)
    if claim.is_reversal:
        return posting_id, 0
    if result.basis == "primary":  # a next payer's allowed amount is not comparable with our contract
        _flag_underpayments(run, posting_id, claim, ours, batch)
    return posting_id, _raise_denials(run, posting_id, claim, ours, watch, batch)


async def _post_reversal(session: AsyncSession, run: _PostingRun, claim: ClaimPayment, ours: Any,
                         original: tuple[PostedClaim, Any], batch: _Batch) -> None:
    """CLP02 22: the original posting's entries reversed, what it billed the patient taken back, its open
    denials and underpayments closed; a re-issue that follows posts as new."""
    posted, row = original
    await batch.settle()  # the updates below use the session
    result = posting_rules().reverse(claim, posted)
    posting_id = _next_id()
    batch.postings.append(_posting_row(run, claim, result, posting_id, 0, {"reverses": posted.posting_id}))
    batch.journal.extend(_journal_rows(run.practice_id, posting_id, result.entries, run.now))
    _stage_claim_events(run, claim, ours, posting_id, result, batch, reverses=posted.posting_id)
    await session.execute(update(claim_postings).where(claim_postings.c.posting_id == posted.posting_id)
                          .values(reversed_by_posting_id=posting_id))
    await session.execute(update(denials).where(
        denials.c.practice_id == run.practice_id, denials.c.claim_id == posted.claim_id, denials.c.status == "open",
        or_(denials.c.posting_id == posted.posting_id,
            and_(denials.c.posting_id.is_(None), denials.c.era_id == row.era_id))).values(status="reversed"))
    await session.execute(update(underpayments).where(
        underpayments.c.posting_id == posted.posting_id, underpayments.c.status == "open").values(status="reversed"))
    batch.counts["payment_reversed"] += 1


@lru_cache(maxsize=4096)
def _underpayment_check(rates: tuple[tuple[str, str, tuple[str, ...]], ...]) -> UnderpaymentCheck:
    """A fee schedule has few distinct rates, so few distinct sets of them per claim: one check per set,
    shared by every claim whose lines carry it (the check holds no state between claims)."""
    return UnderpaymentCheck(ContractedRate(code, Decimal(rate), modifiers) for code, rate, modifiers in rates)


def _flag_underpayments(run: _PostingRun, posting_id: str, claim: ClaimPayment, ours: Any, batch: _Batch) -> None:
    """Paid below the payer's contracted rate (carried on the claim copy from the fee schedule): flag it."""
    rates = tuple((ln["procedure_code"], ln["contracted_rate"], tuple(ln.get("modifiers") or ()))
                  for ln in ours.lines if ln.get("contracted_rate"))
    if not rates:
        return
    for short in _underpayment_check(rates).check(claim):
        batch.underpayments.append(dict(
            underpayment_id=_next_id(), practice_id=run.practice_id, posting_id=posting_id, claim_id=ours.claim_id,
            payer_id=run.payer_id, line_ordinal=short.line_ordinal, procedure_code=short.procedure_code,
            expected=short.expected, allowed=short.allowed, shortfall=short.shortfall, status="open",
            raised_at=run.now))
        batch.counts["underpayment"] += 1


async def _apply_waiting_payments(session: AsyncSession, envelope: EventEnvelope | None, practice_id: str,
                                  patient_control_number: str) -> None:
    """A claim copy arrived after its ERA (topics are not ordered with each other): move the unapplied cash
    onto the claim and post it as it would have been. The caller holds the claim key (lock_claim_keys)."""
    waiting = (await session.execute(select(claim_postings).where(
        claim_postings.c.practice_id == practice_id, claim_postings.c.unapplied == 1,
        claim_postings.c.patient_control_number == patient_control_number))).all()
    if not waiting:
        return
    ours = await _our_claim(session, practice_id, patient_control_number)
    for posting in waiting:
        content = (await session.execute(select(eras.c.content).where(eras.c.era_id == posting.era_id))).scalar_one()
        payment = next((r for r in iter_remittance(content, strict=True) if isinstance(r, ClaimPayment)
                        and r.patient_control_number == patient_control_number
                        and r.status_code == posting.claim_status_code and r.paid == posting.paid), None)
        if payment is None:
            continue
        reference = posting.payer_claim_number or patient_control_number
        release = transfer("unapplied_release", reference, UNAPPLIED_CASH, UNDEPOSITED_ERA, payment.paid, None,
                           payment.status_code, "matched a late claim copy")
        await _write_entries(session, practice_id, posting.posting_id, [release] if release else [])
        await session.execute(update(claim_postings).where(claim_postings.c.posting_id == posting.posting_id)
                              .values(unapplied=2))  # 2: resolved by a later match
        batch = _Batch()
        try:
            run = await _payment_run(session, posting.era_id, practice_id, posting.payment_id, envelope)
            await _post_claims(session, run, [(payment, ours)], batch)
            await batch.flush(session, practice_id, envelope)
        finally:
            await batch.settle(quiet=True)


async def apply_waiting_payments(session: AsyncSession, limit: int = 200) -> int:
    """Sweep: post unapplied cash whose claim copy is here now; returns the claim keys applied.

    The claim key serializes the claim-copy consumer and ERA posting, so a copy and its payment always meet
    as they arrive. This is the safety net behind that, with a bounded delay (``unapplied_rematch_seconds``):
    payments left waiting by a version without the key, or by any path not foreseen."""
    waiting = (await session.execute(select(claim_postings.c.practice_id, claim_postings.c.patient_control_number)
                                     .where(claim_postings.c.unapplied == 1, exists().where(
                                         submitted_claims.c.practice_id == claim_postings.c.practice_id,
                                         submitted_claims.c.patient_control_number
                                         == claim_postings.c.patient_control_number))
                                     .distinct().limit(limit))).all()
    for practice_id, patient_control_number in sorted(waiting):
        await lock_claim_keys(session, practice_id, [patient_control_number])
        await _apply_waiting_payments(session, None, practice_id, patient_control_number)  # reads again, locked
    if waiting:
        metrics.BUSINESS_EVENTS.labels(SOURCE, "unapplied_rematched_by_sweep").inc(len(waiting))
        log.warning("unapplied cash matched by the sweep", extra={"claim_keys": len(waiting)})
    return len(waiting)


@dataclass(frozen=True)
class ResolveDuplicatePayment:
    practice_id: str
    exception_id: str
    decision: str
    resolved_by: str
    note: str | None = None


async def resolve_duplicate_payment(session: AsyncSession, command: ResolveDuplicatePayment) -> dict[str, Any]:
    """A person's decision on money held as a duplicate payment (``duplicate_payments`` in rules/posting.yaml):
    a claim payment (``duplicate_claim_payment``) or the PLBs of a payment whose every claim was a repeat
    (``duplicate_provider_adjustments``).

    ``refunded`` / ``recouped`` / ``not_received`` (or whatever the rules name): the hold is released to the
    decision's account (cash, plb_recovery, undeposited_era) and the claim is left as it is. ``apply``: it was
    not a duplicate after all; the hold goes back to undeposited_era and the payment (or the PLBs) is posted
    as any would be (for a claim: with its events to claims and patient billing). Settled once: a second
    decision on the same exception is a 409."""
    row = (await session.execute(select(era_exceptions).where(
        era_exceptions.c.exception_id == command.exception_id,
        era_exceptions.c.practice_id == command.practice_id))).first()
    if row is None:
        raise ProblemError(404, "not-found", "No such ERA exception")
    if row.kind not in ("duplicate_claim_payment", "duplicate_provider_adjustments"):
        raise ProblemError(409, "not-a-duplicate-payment", "Only money held as a duplicate payment is settled here")
    held = ours = None
    if row.kind == "duplicate_claim_payment":
        held = (await session.execute(select(claim_postings).where(
            claim_postings.c.posting_id == row.detail["posting_id"]))).one()
        ours = await _our_claim(session, command.practice_id, held.patient_control_number)
    rules = duplicate_rules_on(duplicate_payment_rules(), ours.date_of_service if ours is not None else None)
    if command.decision not in rules.decisions:
        raise ProblemError(422, "validation", "Request is invalid", errors=[{
            "field": "body.decision", "code": "enum", "message": f"must be one of {', '.join(rules.decisions)}"}])
    if held is not None:
        await lock_claim_keys(session, command.practice_id, [held.patient_control_number])
    settled = await session.execute(update(era_exceptions).where(
        era_exceptions.c.exception_id == row.exception_id, era_exceptions.c.status == "open").values(status="resolved"))
    if settled.rowcount != 1:  # type: ignore[attr-defined]
        raise ProblemError(409, "already-resolved", "This exception was already settled")
    held_in = row.detail.get("held_in", rules.hold_account)  # where it was held then, whatever the rules say now
    to_account = UNDEPOSITED_ERA if command.decision == APPLY else rules.resolutions[command.decision]
    posted_as = None
    if held is not None:
        release = posting_rules().release_hold(held.paid, held.payer_claim_number or held.patient_control_number,
                                               held.claim_id, held_in, to_account)
        await _write_entries(session, command.practice_id, held.posting_id, [release] if release else [])
        await session.execute(update(claim_postings).where(claim_postings.c.posting_id == held.posting_id).values(
            unapplied=HOLD_SETTLED, detail={**held.detail, "settled": command.decision}))
        posted_as = await _apply_held_payment(session, held, ours) if command.decision == APPLY else None
    else:  # PLBs: the hold is their negated total (a recovery reduced the payment, so it was debited)
        trace = row.detail["trace_number"]
        adjustments = [ProviderAdjustment(a["provider_identifier"], None, a["reason"], a["reference"],
                                          Decimal(a["amount"])) for a in row.detail["adjustments"]]
        release = posting_rules().release_hold(-sum((a.amount for a in adjustments), ZERO), trace, None, held_in,
                                               to_account)
        entries = [release] if release else []
        if command.decision == APPLY:
            entries += posting_rules().post_provider_adjustments(adjustments, trace)
        await _write_entries(session, command.practice_id, None, entries)
    resolution = {"decision": command.decision, "released_to": to_account, "by": command.resolved_by,
                  "at": utcnow().isoformat(), "note": command.note, "posting_id": posted_as}
    await session.execute(update(era_exceptions).where(era_exceptions.c.exception_id == row.exception_id).values(
        detail={**row.detail, "resolution": resolution}))
    metrics.BUSINESS_EVENTS.labels(SOURCE, f"{row.kind}_{command.decision}").inc()
    return {"exception_id": row.exception_id, "status": "resolved", **resolution}


async def _apply_held_payment(session: AsyncSession, held: Any, ours: Any) -> str:
    """Post a held payment to its claim after all (the CLP read again from the stored 835). Returns the new
    posting's id."""
    where = held.detail["clp"]
    content = (await session.execute(select(eras.c.content).where(eras.c.era_id == held.era_id))).scalar_one()
    payment = next(r for r in iter_remittance(content, strict=True) if isinstance(r, ClaimPayment)
                   and r.transaction_control_number == where["transaction_control_number"]
                   and r.ordinal == where["claim_ordinal"])
    batch = _Batch()
    try:
        run = await _payment_run(session, held.era_id, held.practice_id, held.payment_id, None)
        await _post_claims(session, run, [(payment, ours)], batch, hold_duplicates=False)
        posting_id: str = batch.postings[-1]["posting_id"]  # one claim: its row is still in the batch
        await batch.flush(session, held.practice_id, None)
    finally:
        await batch.settle(quiet=True)
    return posting_id


async def _denial_watch(session: AsyncSession, practice_id: str, dates_of_service: list[date]) -> DenialPatternWatch:
    """The pattern watch for a transaction's denials, with the stored history from the earliest window on
    (one query instead of one per denial)."""
    rules = denial_rules()
    watch = DenialPatternWatch(rules)
    if not dates_of_service:
        return watch
    since = min(watch.window_start(day) for day in dates_of_service)
    rows = (await session.execute(select(denials.c.raised_at, denials.c.claim_id, denials.c.category,
                                         denials.c.date_of_service).where(
        denials.c.practice_id == practice_id, denials.c.date_of_service >= since))).all()
    # A denial row keeps the claim, not the visit; a claim is one visit's bill, so claims count visits.
    return DenialPatternWatch(rules, [DenialOccurrence(r.date_of_service, r.category, r.claim_id or "",
                                                       r.claim_id or "") for r in rows])


def _raise_denials(run: _PostingRun, posting_id: str, claim: ClaimPayment, ours: Any, watch: DenialPatternWatch,
                   batch: _Batch) -> int:
    found = denial_classifier().classify(claim, as_of=ours.date_of_service)
    for denial in found:
        alert = watch.raise_and_check(DenialOccurrence(ours.date_of_service, denial.category, ours.claim_id,
                                                       ours.claim_id), as_of=ours.date_of_service)
        denial_id = _next_id()
        line = next((ln for ln in ours.lines
                     if denial.procedure_code and ln["procedure_code"] == denial.procedure_code), None)
        line_number = int(line["line_number"]) if line else None
        batch.denials.append(dict(
            denial_id=denial_id, practice_id=run.practice_id, claim_id=ours.claim_id, era_id=run.era_id,
            posting_id=posting_id, payer_id=run.payer_id, line_number=line_number,
            procedure_code=denial.procedure_code, rendering_npi=ours.rendering_npi, program=ours.program,
            category=denial.category, group_code=denial.group_code, reason_codes=list(denial.reason_codes),
            remark_codes=list(denial.remark_codes), amount=denial.amount, suggested_action=denial.suggested_action,
            queue=denial.queue, pattern_alert=1 if alert else 0, status="open",
            date_of_service=ours.date_of_service, raised_at=run.now))
        batch.events.append((DenialRaisedV1.model_construct(
            denial_id=denial_id, claim_id=ours.claim_id, practice_id=run.practice_id, patient_id=ours.patient_id,
            payer_id=run.payer_id, era_id=run.era_id, line_number=line_number, category=denial.category,
            group_code=denial.group_code, reason_codes=list(denial.reason_codes),
            remark_codes=list(denial.remark_codes), amount=_c(denial.amount), suggested_action=denial.suggested_action,
            queue=denial.queue, pattern_alert=alert,
        ), ours.claim_id))
        batch.counts[f"denial_{denial.category}"] += 1
    return len(found)


async def import_deposits(session: AsyncSession, practice_id: str, rows: list[tuple[str, Decimal, date]]
                          ) -> dict[str, Any]:
    """Record bank deposits (a re-imported line is recognised) and reconcile everything still open."""
    imported = 0
    for reference, amount, day in rows:
        exists = (await session.execute(select(deposits.c.deposit_id).where(
            deposits.c.practice_id == practice_id, deposits.c.reference == reference, deposits.c.amount == amount,
            deposits.c.deposit_date == day))).first()
        if exists is None:
            await session.execute(insert(deposits).values(
                deposit_id=new_id(), practice_id=practice_id, reference=reference, amount=amount, deposit_date=day,
                imported_at=utcnow()))
            imported += 1
    result = await reconcile_deposits(session, practice_id)
    return {"imported": imported, **result}


async def reconcile_deposits(session: AsyncSession, practice_id: str) -> dict[str, Any]:
    open_deposits = [Deposit(r.deposit_id, r.reference, r.amount, r.deposit_date) for r in (await session.execute(
        select(deposits).where(deposits.c.practice_id == practice_id, deposits.c.matched_payment_id.is_(None))
    )).all()]
    open_payments = [EraPayment(r.payment_id, r.trace_number, r.total_paid) for r in (await session.execute(
        select(era_payments).where(era_payments.c.practice_id == practice_id, era_payments.c.deposit_id.is_(None),
                                   era_payments.c.total_paid > 0))).all()]
    result = reconcile(open_deposits, open_payments)
    for deposit, payment in result.matched:
        await session.execute(update(deposits).where(deposits.c.deposit_id == deposit.deposit_id)
                              .values(matched_payment_id=payment.payment_id))
        await session.execute(update(era_payments).where(era_payments.c.payment_id == payment.payment_id)
                              .values(deposit_id=deposit.deposit_id))
        entry = posting_rules().deposit(deposit.amount, payment.trace_number)  # Dr cash / Cr undeposited ERA
        await _write_entries(session, practice_id, None, [entry] if entry else [])
    return {
        "matched": [{"deposit_id": d.deposit_id, "payment_id": p.payment_id, "amount": str(d.amount)}
                    for d, p in result.matched],
        "unmatched_deposits": [{"deposit_id": d.deposit_id, "reference": d.reference, "amount": str(d.amount),
                                "deposit_date": d.deposit_date.isoformat()} for d in result.unmatched_deposits],
        "unmatched_payments": [{"payment_id": p.payment_id, "trace_number": p.trace_number, "amount": str(p.amount)}
                               for p in result.unmatched_payments],
    }


async def pick_up_eras(db: Database, source: EraSource) -> int:
    """Take every ERA waiting in the clearinghouse mailbox (bulk: a folder of many files works the same).

    Intake commits before the file is removed; when the removal fails the file comes again next round and
    intake recognises the same bytes, so nothing is lost and nothing posts twice."""
    taken = 0
    seen: set[str] = set()  # a file whose removal failed is not taken again in the same round
    while items := await source.waiting(skip=seen):
        for item in items:
            seen.add(item.name)
            async with db.transaction() as session:
                await receive_era(session, ReceiveEra(item.practice_id, item.read(), item.name, "clearinghouse"))
            try:
                await item.done()
            except MailboxUnavailable:
                log.warning("era pickup: removal failed; the file comes again",
                            extra={"error": "MailboxUnavailable"})
            taken += 1
    return taken
