"""The SQL of remittance's write side, one repository per aggregate or record family, each on the unit of work's
session: ERAs (intake), claim copies (and their claim keys), postings (payments, the journal, denials and
underpayments they raise), ERA exceptions, bank deposits.

Reads on the posting path take a whole 835 transaction's claims at once (a few queries, not one per claim)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rcm_shared.db.types import new_id, utcnow
from sqlalchemy import and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.adapters.bulk_writer import journal_rows, next_id
from remittance.adapters.orm import (
    claim_keys,
    claim_postings,
    denials,
    deposits,
    era_exceptions,
    era_payments,
    eras,
    journal,
    submitted_claims,
    underpayments,
)
from remittance.domain.denials import DenialOccurrence
from remittance.domain.duplicates import Adjudication
from remittance.domain.era import Era
from remittance.domain.model import REVERSAL_STATUS
from remittance.domain.posting import JournalEntry, JournalLine, PatientResponsibility, PostedClaim
from remittance.domain.reconciliation import Deposit, EraPayment

CHUNK = 1000  # ids per IN (...) lookup
# claim_postings.unapplied: 0 posted to its claim; 1 unapplied cash waiting for a claim copy; 2 unapplied cash
# posted later (a new posting row carries it); 3 held as a duplicate payment; 4 a held duplicate a person settled.
POSTED = 0
UNAPPLIED = 1
UNAPPLIED_RESOLVED = 2
HELD_DUPLICATE = 3
HOLD_SETTLED = 4


def among(column: Any, values: list[str]) -> Any:
    """``column IN (...)`` with the values written into the statement: a prepared statement with a thousand
    parameters gets a generic plan from its sixth run on, which on PostgreSQL scans the whole table (seen:
    0.05 s per query becoming 1 s)."""
    return column.in_(bindparam("values", values, expanding=True, literal_execute=True))


class SqlEraRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_fingerprint(self, practice_id: str, sha256: str) -> Era | None:
        row = (await self._session.execute(select(eras.c.era_id, eras.c.status, eras.c.summary).where(
            eras.c.practice_id == practice_id, eras.c.file_sha256 == sha256))).first()
        return Era(row.era_id, practice_id, sha256, row.status, row.summary or {}) if row is not None else None

    async def add(self, era: Era, content: bytes, file_name: str | None, via: str) -> None:
        await self._session.execute(insert(eras).values(
            era_id=era.era_id, practice_id=era.practice_id, file_sha256=era.file_sha256, file_name=file_name,
            content=content, size_bytes=len(content), received_via=via, status=era.status, received_at=utcnow(),
            summary=era.summary))

    async def get(self, practice_id: str, era_id: str) -> tuple[Era, bytes] | None:
        row = (await self._session.execute(select(eras.c.era_id, eras.c.file_sha256, eras.c.status, eras.c.summary,
                                                  eras.c.content).where(
            eras.c.era_id == era_id, eras.c.practice_id == practice_id))).first()
        if row is None:
            return None
        return Era(row.era_id, practice_id, row.file_sha256, row.status, row.summary or {}), row.content

    async def content(self, era_id: str) -> bytes:
        content: bytes = (await self._session.execute(select(eras.c.content).where(eras.c.era_id == era_id))
                          ).scalar_one()
        return content

    async def save(self, era: Era) -> None:
        await self._session.execute(update(eras).where(eras.c.era_id == era.era_id).values(
            status=era.status, processed_at=utcnow(), summary=era.summary))


# What posting a matched claim reads of our copy (not its charge total or timestamps: less to decode).
_MATCH_COLUMNS = (submitted_claims.c.claim_id, submitted_claims.c.patient_control_number, submitted_claims.c.patient_id,
                  submitted_claims.c.payer_id, submitted_claims.c.visit_id, submitted_claims.c.date_of_service,
                  submitted_claims.c.rendering_npi, submitted_claims.c.program, submitted_claims.c.lines)


class SqlClaimCopyRepository:
    """Our copies of the claims we billed (from claim-submitted), and the claim keys that serialize matching."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock_keys(self, practice_id: str, patient_control_numbers: Iterable[str]) -> None:
        """Take the claim keys (practice, patient control number) for the rest of the transaction, waiting for
        any transaction that holds one of them.

        The claim-copy consumer and ERA posting run in separate transactions; without this, each could read
        before the other committed (write skew): the ERA finds no copy and posts unapplied cash, the copy finds
        no unapplied cash, and the payment waits for ever. Everything that matches 835 money to a claim copy
        takes the keys first, then reads; PostgreSQL (READ COMMITTED) gives each later statement a snapshot
        that includes whatever the holder committed. The keys of one call go in sorted order; a deadlock with a
        transaction that took its keys in another order (a consumer poll of many claim copies) is broken by
        PostgreSQL and the event retried alone (docs/decisions.md). The upsert locks the row on PostgreSQL; on
        SQLite every transaction already holds the database's write lock (BEGIN IMMEDIATE), and it is a cheap
        write."""
        keys = sorted(set(patient_control_numbers))
        if not keys:
            return
        upsert = (pg_insert if self._session.get_bind().dialect.name == "postgresql" else sqlite_insert)(claim_keys)
        statement = upsert.on_conflict_do_update(index_elements=[claim_keys.c.practice_id,
                                                                 claim_keys.c.patient_control_number],
                                                 set_={"touched_at": upsert.excluded.touched_at})
        now = utcnow()
        for start in range(0, len(keys), CHUNK):
            await self._session.execute(statement, [{"practice_id": practice_id, "patient_control_number": key,
                                                     "touched_at": now} for key in keys[start:start + CHUNK]])

    async def remember(self, claim_id: str, values: dict[str, Any]) -> bool:
        """Keep (or refresh) a claim copy; True when it is new."""
        existing = (await self._session.execute(select(submitted_claims.c.claim_id).where(
            submitted_claims.c.claim_id == claim_id))).first()
        if existing is not None:
            await self._session.execute(update(submitted_claims).where(submitted_claims.c.claim_id == claim_id)
                                        .values(**values))
            return False
        await self._session.execute(insert(submitted_claims).values(claim_id=claim_id, **values))
        return True

    async def for_posting(self, practice_id: str, pcns: list[str]) -> dict[str, Any]:
        """Our claim copies for a transaction's CLPs, in a few queries instead of one per claim."""
        found: dict[str, Any] = {}
        unique = sorted(set(pcns))
        for start in range(0, len(unique), CHUNK):
            for row in (await self._session.execute(select(*_MATCH_COLUMNS).where(
                    submitted_claims.c.practice_id == practice_id,
                    among(submitted_claims.c.patient_control_number, unique[start:start + CHUNK])))).all():
                found[row.patient_control_number] = row
        return found

    async def one(self, practice_id: str, patient_control_number: str) -> Any:
        return (await self._session.execute(select(submitted_claims).where(
            submitted_claims.c.practice_id == practice_id,
            submitted_claims.c.patient_control_number == patient_control_number))).first()

    async def by_claim_id(self, practice_id: str, claim_id: str) -> Any:
        return (await self._session.execute(select(submitted_claims).where(
            submitted_claims.c.practice_id == practice_id, submitted_claims.c.claim_id == claim_id))).first()

    async def keys_with_waiting_cash(self, limit: int) -> list[tuple[str, str]]:
        """Claim keys with unapplied cash whose claim copy is here now."""
        rows = (await self._session.execute(
            select(claim_postings.c.practice_id, claim_postings.c.patient_control_number)
            .where(claim_postings.c.unapplied == UNAPPLIED, exists().where(
                submitted_claims.c.practice_id == claim_postings.c.practice_id,
                submitted_claims.c.patient_control_number == claim_postings.c.patient_control_number))
            .distinct().limit(limit))).all()
        return sorted((r[0], r[1]) for r in rows)


def _standing(practice_id: str, claim_ids: list[str]) -> tuple[Any, ...]:
    """Postings that stand on these claims: matched (not unapplied, not held), not reversals, not reversed."""
    p = claim_postings.c
    return (p.practice_id == practice_id, among(p.claim_id, claim_ids), p.unapplied == POSTED,
            p.claim_status_code != REVERSAL_STATUS, p.reversed_by_posting_id.is_(None))


class SqlPostingRepository:
    """Payments (one per 835 transaction), claim postings, their journal entries, and the denials and
    underpayments they raised."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def payment_with_trace(self, practice_id: str, payer_id: str, trace_number: str) -> str | None:
        row = (await self._session.execute(select(era_payments.c.payment_id).where(
            era_payments.c.practice_id == practice_id, era_payments.c.payer_id == payer_id,
            era_payments.c.trace_number == trace_number))).first()
        return row.payment_id if row is not None else None

    async def add_payment(self, payment_id: str, era_id: str, practice_id: str, payer_id: str, trace_number: str,
                          total_paid: Decimal, method: str, payment_date: date | None, claim_count: int) -> None:
        await self._session.execute(insert(era_payments).values(
            payment_id=payment_id, era_id=era_id, practice_id=practice_id, payer_id=payer_id,
            trace_number=trace_number, total_paid=total_paid, method=method, payment_date=payment_date,
            claim_count=claim_count, posted_at=utcnow()))

    async def payment(self, payment_id: str) -> Any:
        return (await self._session.execute(select(era_payments.c.payer_id, era_payments.c.trace_number).where(
            era_payments.c.payment_id == payment_id))).one()

    async def write_entries(self, practice_id: str, posting_id: str | None, entries: Sequence[JournalEntry]) -> None:
        rows = journal_rows(practice_id, posting_id, entries, utcnow())
        if rows:
            await self._session.execute(insert(journal), rows)

    async def held_for_next_payer(self, practice_id: str, claim_ids: list[str], account: str) -> dict[str, Decimal]:
        """What ``account`` (secondary_payer_ar) holds per claim: balances earlier payers forwarded."""
        held: dict[str, Decimal] = {}
        unique = sorted(set(claim_ids))
        for start in range(0, len(unique), CHUNK):
            for claim_id, debit, credit in (await self._session.execute(
                    select(journal.c.claim_id, func.sum(journal.c.debit), func.sum(journal.c.credit)).where(
                        journal.c.practice_id == practice_id, journal.c.account == account,
                        among(journal.c.claim_id, unique[start:start + CHUNK])).group_by(journal.c.claim_id))).all():
                held[claim_id] = Decimal(debit or 0) - Decimal(credit or 0)
        return held

    async def reversible(self, practice_id: str, claim_ids: list[str]) -> dict[str, list[tuple[PostedClaim, Any]]]:
        """The claims' postings a reversal may reverse (matched, not reversals, not reversed yet), newest first,
        each with its journal entries as they were written."""
        found: dict[str, list[tuple[PostedClaim, Any]]] = {}
        unique = sorted(set(claim_ids))
        for start in range(0, len(unique), CHUNK):
            rows = (await self._session.execute(select(claim_postings).where(
                *_standing(practice_id, unique[start:start + CHUNK])).order_by(claim_postings.c.posted_at.desc())
            )).all()
            if not rows:
                continue
            entries: dict[str, dict[str, list[JournalLine]]] = defaultdict(lambda: defaultdict(list))
            kinds: dict[str, str] = {}
            for line in (await self._session.execute(select(journal).where(
                    among(journal.c.posting_id, [r.posting_id for r in rows])).order_by(journal.c.id))).all():
                entries[line.posting_id][line.entry_id].append(
                    JournalLine(line.account, line.debit, line.credit, line.claim_id))
                kinds[line.entry_id] = line.memo or "entry"
            for row in rows:
                billed = (row.detail or {}).get("patient_billed")
                if billed is None:  # posted before patient_billed was recorded: what the 835 gave the patient
                    billed = {"other": str(row.patient_responsibility)}
                original = PostedClaim(
                    row.posting_id, row.claim_id, row.charge, row.paid,
                    tuple(JournalEntry(kinds[entry_id], row.posting_id, tuple(lines))
                          for entry_id, lines in entries[row.posting_id].items()),
                    PatientResponsibility(**{k: Decimal(v) for k, v in billed.items()}))
                found.setdefault(row.claim_id, []).append((original, row))
        return found

    async def standing(self, practice_id: str, claim_ids: list[str]) -> dict[str, list[tuple[str, Adjudication]]]:
        """The claims' postings that stand (matched, not reversals, not reversed), as a duplicate is judged."""
        found: dict[str, list[tuple[str, Adjudication]]] = {}
        unique = sorted(set(claim_ids))
        p = claim_postings.c
        for start in range(0, len(unique), CHUNK):
            for row in (await self._session.execute(select(
                    p.posting_id, p.claim_id, p.claim_status_code, p.payer_claim_number, p.charge, p.paid,
                    p.patient_responsibility, p.detail, era_payments.c.payer_id)
                    .join(era_payments, era_payments.c.payment_id == p.payment_id)
                    .where(*_standing(practice_id, unique[start:start + CHUNK])))).all():
                lines = Adjudication.lines_from_data((row.detail or {}).get("adjudicated_lines"))
                found.setdefault(row.claim_id, []).append((row.posting_id, Adjudication(
                    row.payer_id, row.claim_status_code, row.payer_claim_number, row.charge, row.paid,
                    row.patient_responsibility, lines)))
        return found

    async def claims_by_reference(self, practice_id: str, references: Iterable[str]) -> dict[str, str]:
        """Our claim ids by what a PLB reference may name: a payer claim number (CLP07) or a patient control number."""
        refs = sorted(set(references))
        found = {r.payer_claim_number: r.claim_id for r in (await self._session.execute(select(
            claim_postings.c.payer_claim_number, claim_postings.c.claim_id).where(
            claim_postings.c.practice_id == practice_id, claim_postings.c.claim_id.is_not(None),
            claim_postings.c.payer_claim_number.in_(refs)))).all()}
        found.update({r.patient_control_number: r.claim_id for r in (await self._session.execute(select(
            submitted_claims.c.patient_control_number, submitted_claims.c.claim_id).where(
            submitted_claims.c.practice_id == practice_id, submitted_claims.c.patient_control_number.in_(refs)))
        ).all()})
        return found

    async def denial_history(self, practice_id: str, since: date, by: str = "category") -> list[DenialOccurrence]:
        """Denials of services since ``since``, keyed (the occurrence's category) by their category or payer."""
        key = denials.c.category if by == "category" else denials.c.payer_id
        rows = (await self._session.execute(select(denials.c.claim_id, key.label("key"),
                                                   denials.c.date_of_service).where(
            denials.c.practice_id == practice_id, denials.c.date_of_service >= since))).all()
        # A denial row keeps the claim, not the visit; a claim is one visit's bill, so claims count visits.
        return [DenialOccurrence(r.date_of_service, r.key or "", r.claim_id or "", r.claim_id or "") for r in rows]

    async def mark_reversed(self, practice_id: str, original: Any, claim_id: str, by_posting_id: str) -> list[str]:
        """A posting taken back: it points at its reversal; its open denials and underpayments close. Returns the
        denials closed."""
        await self._session.execute(update(claim_postings).where(
            claim_postings.c.posting_id == original.posting_id).values(reversed_by_posting_id=by_posting_id))
        raised_by_it = (denials.c.practice_id == practice_id, denials.c.claim_id == claim_id,
                        denials.c.status == "open", or_(denials.c.posting_id == original.posting_id, and_(
                            denials.c.posting_id.is_(None), denials.c.era_id == original.era_id)))
        closed = list((await self._session.execute(select(denials.c.denial_id).where(*raised_by_it))).scalars())
        await self._session.execute(update(denials).where(*raised_by_it).values(status="reversed"))
        await self._session.execute(update(underpayments).where(
            underpayments.c.posting_id == original.posting_id, underpayments.c.status == "open"
        ).values(status="reversed"))
        return closed

    async def unapplied_for(self, practice_id: str, patient_control_number: str) -> list[Any]:
        return list((await self._session.execute(select(claim_postings).where(
            claim_postings.c.practice_id == practice_id, claim_postings.c.unapplied == UNAPPLIED,
            claim_postings.c.patient_control_number == patient_control_number))).all())

    async def get(self, posting_id: str) -> Any:
        return (await self._session.execute(select(claim_postings).where(
            claim_postings.c.posting_id == posting_id))).one()

    async def set_unapplied(self, posting_id: str, state: int, detail: dict[str, Any] | None = None) -> None:
        values: dict[str, Any] = {"unapplied": state}
        if detail is not None:
            values["detail"] = detail
        await self._session.execute(update(claim_postings).where(claim_postings.c.posting_id == posting_id)
                                    .values(**values))


class SqlExceptionRepository:
    """The ERA exception queue: what could not be posted, and payments held as duplicates."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, era_id: str, practice_id: str, kind: str, detail: dict[str, Any]) -> str:
        exception_id = next_id()
        await self._session.execute(insert(era_exceptions).values(
            exception_id=exception_id, era_id=era_id, practice_id=practice_id, kind=kind, detail=detail,
            status="open", raised_at=utcnow()))
        return exception_id

    async def get(self, practice_id: str, exception_id: str) -> Any:
        return (await self._session.execute(select(era_exceptions).where(
            era_exceptions.c.exception_id == exception_id, era_exceptions.c.practice_id == practice_id))).first()

    async def settle(self, exception_id: str) -> bool:
        """Open -> resolved, once; False when it was settled already."""
        settled = await self._session.execute(update(era_exceptions).where(
            era_exceptions.c.exception_id == exception_id, era_exceptions.c.status == "open"
        ).values(status="resolved"))
        return bool(settled.rowcount == 1)  # type: ignore[attr-defined]

    async def set_detail(self, exception_id: str, detail: dict[str, Any]) -> None:
        await self._session.execute(update(era_exceptions).where(era_exceptions.c.exception_id == exception_id)
                                    .values(detail=detail))


class SqlDepositRepository:
    """Bank deposits and the ERA payments they are matched with."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_if_new(self, practice_id: str, reference: str, amount: Decimal, day: date,
                         at: datetime | None = None) -> bool:
        found = (await self._session.execute(select(deposits.c.deposit_id).where(
            deposits.c.practice_id == practice_id, deposits.c.reference == reference, deposits.c.amount == amount,
            deposits.c.deposit_date == day))).first()
        if found is not None:
            return False
        await self._session.execute(insert(deposits).values(
            deposit_id=new_id(), practice_id=practice_id, reference=reference, amount=amount, deposit_date=day,
            imported_at=at or utcnow()))
        return True

    async def open_deposits(self, practice_id: str) -> list[Deposit]:
        return [Deposit(r.deposit_id, r.reference, r.amount, r.deposit_date) for r in (await self._session.execute(
            select(deposits).where(deposits.c.practice_id == practice_id, deposits.c.matched_payment_id.is_(None))
        )).all()]

    async def open_payments(self, practice_id: str) -> list[EraPayment]:
        return [EraPayment(r.payment_id, r.trace_number, r.total_paid) for r in (await self._session.execute(
            select(era_payments).where(era_payments.c.practice_id == practice_id, era_payments.c.deposit_id.is_(None),
                                       era_payments.c.total_paid > 0))).all()]

    async def match(self, deposit_id: str, payment_id: str) -> None:
        await self._session.execute(update(deposits).where(deposits.c.deposit_id == deposit_id)
                                    .values(matched_payment_id=payment_id))
        await self._session.execute(update(era_payments).where(era_payments.c.payment_id == payment_id)
                                    .values(deposit_id=deposit_id))
