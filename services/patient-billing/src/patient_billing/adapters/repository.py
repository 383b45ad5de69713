"""Load and save responsible-party accounts (the one aggregate), and read journal entries back.

An account loads with its open items, unapplied credits, refundable payments and pending-insurance markers, never
its whole journal: posting stays as fast with a million entries as with ten. Saving writes the new journal entries
and lines and rewrites only the items, credits and payments the aggregate touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from rcm_shared.db.types import new_id, utcnow
from sqlalchemy import Table, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters.orm import (
    accounts,
    credits,
    entries,
    financial_consents,
    income_assessments,
    lines,
    members,
    open_items,
    payments,
    pending_insurance,
    posting_order,
)
from patient_billing.domain.ledger import (
    Credit,
    EntryKind,
    JournalEntry,
    Ledger,
    Line,
    Membership,
    OpenItem,
    PaymentRecord,
    ReasonLine,
    ResponsibleAccount,
)
from patient_billing.domain.pricing import IncomeAssessment

#: A patient who pays for themselves is covered by their own account from the beginning of time.
SELF_FROM = date(1900, 1, 1)


class SqlAccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._seen: dict[str, ResponsibleAccount] = {}
        self._stored: set[str] = set()
        self._new_members: dict[str, list[Membership]] = {}

    # -- loading
    async def get(self, practice_id: str, account_id: str) -> ResponsibleAccount | None:
        if account_id in self._seen:
            return self._seen[account_id]
        row = (await self.session.execute(select(accounts).where(
            accounts.c.practice_id == practice_id, accounts.c.account_id == account_id).with_for_update())).first()
        return None if row is None else await self._load(row)

    async def by_guarantor(self, practice_id: str, guarantor_id: str) -> ResponsibleAccount | None:
        row = (await self.session.execute(select(accounts).where(
            accounts.c.practice_id == practice_id, accounts.c.guarantor_id == guarantor_id).with_for_update())).first()
        if row is None:
            return None
        return self._seen.get(row.account_id) or await self._load(row)

    async def account_id_for(self, practice_id: str, patient_id: str, on: date) -> str | None:
        """The account a patient's bills go to on ``on`` (the membership in force that started last)."""
        return (await self.session.execute(
            select(members.c.account_id).where(
                members.c.practice_id == practice_id, members.c.patient_id == patient_id,
                members.c.effective_from <= on,
                (members.c.effective_to.is_(None)) | (members.c.effective_to >= on))
            .order_by(members.c.effective_from.desc()).limit(1))).scalar()

    async def for_patient(self, practice_id: str, patient_id: str, on: date) -> ResponsibleAccount:
        """The responsible account for a patient's movement dated ``on``; a patient nobody else is named for pays
        for themselves (their own account, made on first use)."""
        account_id = await self.account_id_for(practice_id, patient_id, on)
        if account_id is not None:
            account = await self.get(practice_id, account_id)
            assert account is not None
            return account
        return await self.open_account(practice_id, patient_id, [Membership(patient_id, "self", SELF_FROM)])

    async def open_account(self, practice_id: str, guarantor_id: str, covering: Iterable[Membership] = (),
                           kind: str = "individual") -> ResponsibleAccount:
        """The guarantor's account (made once, even by concurrent requests), with ``covering`` added."""
        await self.session.execute(_insert_ignoring_conflict(self.session, accounts).values(
            account_id=new_id(), practice_id=practice_id, guarantor_id=guarantor_id, kind=kind, balance_cents=0,
            updated_at=utcnow()))
        account = await self.by_guarantor(practice_id, guarantor_id)
        assert account is not None
        for membership in covering:
            if membership not in account.members:
                account.members.append(membership)
                self._new_members.setdefault(account.account_id, []).append(membership)
        if kind == "family" and account.kind != "family":
            account.kind = "family"
        return account

    async def end_membership(self, practice_id: str, patient_id: str, before: date) -> None:
        """The patient's current membership ends the day before ``before`` (a new guarantor takes over)."""
        await self.session.execute(update(members).where(
            members.c.practice_id == practice_id, members.c.patient_id == patient_id,
            members.c.effective_from < before, members.c.effective_to.is_(None)).values(
            effective_to=date.fromordinal(before.toordinal() - 1)))
        await self.session.execute(delete(members).where(
            members.c.practice_id == practice_id, members.c.patient_id == patient_id,
            members.c.effective_from >= before))
        for account in self._seen.values():
            account.members = [m for m in account.members if not (m.patient_id == patient_id
                                                                   and m.effective_from >= before)]

    async def _load(self, row: Any) -> ResponsibleAccount:
        account_id = row.account_id
        s = self.session
        member_rows = (await s.execute(select(members).where(members.c.account_id == account_id))).all()
        item_rows = (await s.execute(select(open_items).where(open_items.c.account_id == account_id))).all()
        credit_rows = (await s.execute(select(credits).where(credits.c.account_id == account_id))).all()
        payment_rows = (await s.execute(select(payments).where(
            payments.c.account_id == account_id, payments.c.reversed.is_(False),
            payments.c.refunded_cents < payments.c.amount_cents))).all()
        pending_rows = (await s.execute(select(pending_insurance).where(
            pending_insurance.c.account_id == account_id))).all()
        account = ResponsibleAccount(
            account_id, row.practice_id, row.guarantor_id, row.kind,
            members=[Membership(m.patient_id, m.relationship, m.effective_from, m.effective_to) for m in member_rows],
            open_items=[OpenItem(i.item_id, i.patient_id, i.service_date, i.amount_cents, i.open_cents,
                                 EntryKind(i.kind), i.visit_id, i.claim_id, i.program, i.clinician)
                        for i in item_rows],
            credits=[Credit(c.credit_id, c.patient_id, c.received_on, c.remaining_cents,
                            (c.for_patient_id, c.for_service_date) if c.for_patient_id and c.for_service_date
                            else None) for c in credit_rows],
            payments={p.payment_id: PaymentRecord(p.payment_id, p.entry_id, p.amount_cents, p.refunded_cents,
                                                  p.reversed) for p in payment_rows},
            pending_insurance={(p.patient_id, p.service_date): (p.program, p.clinician) for p in pending_rows},
            balance=row.balance_cents)
        self._seen[account_id] = account
        self._stored.add(account_id)
        return account

    # -- journal reads
    async def has_source(self, practice_id: str, source_id: str) -> bool:
        if any(source_id in a.posted_sources for a in self._seen.values()):
            return True
        return bool((await self.session.execute(select(exists().where(
            entries.c.practice_id == practice_id, entries.c.source_id == source_id)))).scalar())

    async def entry(self, practice_id: str, entry_id: str) -> JournalEntry | None:
        row = (await self.session.execute(select(entries).where(
            entries.c.practice_id == practice_id, entries.c.entry_id == entry_id))).first()
        if row is None:
            return None
        line_rows = (await self.session.execute(select(lines).where(lines.c.entry_id == entry_id)
                                                .order_by(lines.c.line_id))).all()
        return _journal_entry(row, line_rows)

    async def is_reversed(self, practice_id: str, entry_id: str) -> bool:
        return bool((await self.session.execute(select(exists().where(
            entries.c.practice_id == practice_id, entries.c.reverses_entry_id == entry_id)))).scalar())

    async def entries_for_visit(self, practice_id: str, visit_id: str) -> list[JournalEntry]:
        """Every entry posted for a visit (charges, fees, their reversals), oldest first."""
        rows = (await self.session.execute(select(entries).where(
            entries.c.practice_id == practice_id, entries.c.visit_id == visit_id)
            .order_by(entries.c.posted_at, posting_order()))).all()
        found = []
        for row in rows:
            line_rows = (await self.session.execute(select(lines).where(lines.c.entry_id == row.entry_id)
                                                    .order_by(lines.c.line_id))).all()
            found.append(_journal_entry(row, line_rows))
        return found

    # -- saving
    async def save(self, account: ResponsibleAccount) -> None:
        s = self.session
        account_id = account.account_id
        await s.execute(update(accounts).where(accounts.c.account_id == account_id).values(
            balance_cents=account.balance, kind=account.kind, updated_at=utcnow()))
        new_members = self._new_members.pop(account_id, [])
        for m in new_members:
            await s.execute(_insert_ignoring_conflict(s, members).values(
                practice_id=account.practice_id, patient_id=m.patient_id, effective_from=m.effective_from,
                effective_to=m.effective_to, account_id=account_id, relationship=m.relationship))
        if account.new_entries:
            await s.execute(insert(entries), [_entry_row(e) for e in account.new_entries])
            await s.execute(insert(lines), [
                {"entry_id": e.entry_id, "practice_id": e.practice_id, "ledger": line.ledger.value,
                 "account_id": line.account_id, "debit_cents": line.debit, "credit_cents": line.credit}
                for e in account.new_entries for line in e.lines])
            account.new_entries = []
        await self._rewrite(open_items, open_items.c.item_id, account.touched_items, [
            {"item_id": i.item_id, "practice_id": account.practice_id, "account_id": account_id,
             "patient_id": i.patient_id, "service_date": i.service_date, "kind": i.kind.value,
             "amount_cents": i.amount, "open_cents": i.open, "visit_id": i.visit_id, "claim_id": i.claim_id,
             "program": i.program, "clinician": i.clinician}
            for i in account.open_items if i.item_id in account.touched_items])
        await self._rewrite(credits, credits.c.credit_id, account.touched_credits, [
            {"credit_id": c.credit_id, "practice_id": account.practice_id, "account_id": account_id,
             "patient_id": c.patient_id, "received_on": c.received_on, "remaining_cents": c.remaining,
             "for_patient_id": c.for_visit[0] if c.for_visit else None,
             "for_service_date": c.for_visit[1] if c.for_visit else None}
            for c in account.credits if c.credit_id in account.touched_credits])
        await self._rewrite(payments, payments.c.payment_id, account.touched_payments, [
            {"payment_id": p.payment_id, "practice_id": account.practice_id, "account_id": account_id,
             "entry_id": p.entry_id, "amount_cents": p.amount, "refunded_cents": p.refunded, "reversed": p.reversed}
            for p in account.payments.values() if p.payment_id in account.touched_payments])
        if account.pending_changed:
            await s.execute(delete(pending_insurance).where(pending_insurance.c.account_id == account_id))
            if account.pending_insurance:
                await s.execute(insert(pending_insurance), [
                    {"practice_id": account.practice_id, "patient_id": p, "service_date": d,
                     "account_id": account_id, "program": program, "clinician": clinician}
                    for (p, d), (program, clinician) in sorted(account.pending_insurance.items())])
        account.touched_items, account.touched_credits, account.touched_payments = set(), set(), set()
        account.pending_changed = False

    async def _rewrite(self, table: Table, key: Any, touched: set[str], rows: list[dict[str, Any]]) -> None:
        if not touched:
            return
        await self.session.execute(delete(table).where(key.in_(sorted(touched))))
        if rows:
            await self.session.execute(insert(table), rows)


def _insert_ignoring_conflict(session: AsyncSession, table: Table) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    module = sqlite if dialect == "sqlite" else postgresql
    return module.insert(table).on_conflict_do_nothing()


def _entry_row(e: JournalEntry) -> dict[str, Any]:
    return {"entry_id": e.entry_id, "practice_id": e.practice_id, "account_id": e.account_id, "kind": e.kind.value,
            "source_id": e.source_id, "effective_date": e.effective_date, "posted_at": e.posted_at,
            "patient_id": e.patient_id, "visit_id": e.visit_id, "claim_id": e.claim_id,
            "reverses_entry_id": e.reverses_entry_id,
            "reasons": [{"category": r.category, "carc": r.carc, "amount_cents": r.amount,
                         "explanation": r.explanation} for r in e.reasons],
            "detail": e.detail}


def _journal_entry(row: Any, line_rows: Iterable[Any]) -> JournalEntry:
    return JournalEntry(
        row.entry_id, row.practice_id, row.account_id, EntryKind(row.kind), row.source_id, row.effective_date,
        row.posted_at,
        tuple(Line(Ledger(r.ledger), r.debit_cents, r.credit_cents, r.account_id) for r in line_rows),
        patient_id=row.patient_id, visit_id=row.visit_id, claim_id=row.claim_id,
        reverses_entry_id=row.reverses_entry_id,
        reasons=tuple(ReasonLine(r["category"], r["carc"], r["amount_cents"], r["explanation"])
                      for r in row.reasons or []),
        detail=dict(row.detail or {}))


class SqlPatientFactsRepository:
    """What pricing needs to know of a patient: income assessments (sliding scale) and signed financial policies."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_assessment(self, practice_id: str, assessment: IncomeAssessment) -> None:
        await self.session.execute(insert(income_assessments).values(
            assessment_id=assessment.assessment_id, practice_id=practice_id, patient_id=assessment.patient_id,
            household_size=assessment.household_size, annual_income_cents=assessment.annual_income,
            proof_received_on=assessment.proof_received_on, proof_expires_on=assessment.proof_expires_on,
            tier=assessment.tier, policy_id=assessment.policy_id, percent_of_fee=assessment.percent_of_fee,
            recorded_at=utcnow()))

    async def assessments(self, practice_id: str, patient_id: str) -> list[IncomeAssessment]:
        rows = (await self.session.execute(select(income_assessments).where(
            income_assessments.c.practice_id == practice_id, income_assessments.c.patient_id == patient_id))).all()
        return [IncomeAssessment(r.assessment_id, r.patient_id, r.household_size, r.annual_income_cents,
                                 r.proof_received_on, r.proof_expires_on, r.tier, r.policy_id, r.percent_of_fee)
                for r in rows]

    async def add_consent(self, practice_id: str, patient_id: str, signed_on: date) -> None:
        await self.session.execute(_insert_ignoring_conflict(self.session, financial_consents).values(
            practice_id=practice_id, patient_id=patient_id, signed_on=signed_on, recorded_at=utcnow()))

    async def consent_signed_on(self, practice_id: str, patient_id: str, by: date) -> date | None:
        """The earliest signature on or before ``by``."""
        found: date | None = (await self.session.execute(select(func.min(financial_consents.c.signed_on)).where(
            financial_consents.c.practice_id == practice_id, financial_consents.c.patient_id == patient_id,
            financial_consents.c.signed_on <= by))).scalar()
        return found
