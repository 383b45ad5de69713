"""SQL of the patient documents: the directory (letterhead, clinicians, people), the facts kept from other
services (claims' visit coding, remittance's claim payments), statement runs and statements, holds, links,
superbills, Good Faith Estimates and their disputes. One class on one session; the use cases call it through the
unit of work's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters.documents.tables import (
    balance_holds,
    claim_insurance,
    clinicians,
    document_links,
    estimates,
    gfe_disputes,
    people,
    practice_profiles,
    statement_runs,
    statements,
    superbills,
    visit_codings,
)
from patient_billing.adapters.orm import accounts, credits, entries, lines, open_items, pending_insurance
from patient_billing.adapters.payments_orm import balance_disputes
from patient_billing.domain.ledger import Credit, EntryKind, Ledger, OpenItem, ReasonLine
from patient_billing.domain.statements import Hold, Movement
from patient_billing.domain.superbills import CodedLine, VisitCoding


class DocumentsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- directory -------------------------------------------------------------------------------------------------
    async def _upsert(self, table: Any, keys: dict[str, Any], values: dict[str, Any]) -> None:
        where = [table.c[k] == v for k, v in keys.items()]
        found = (await self.session.execute(select(*[table.c[k] for k in keys]).where(*where)
                                            .with_for_update())).first()
        if found is None:
            await self.session.execute(insert(table).values(**keys, **values))
        else:
            await self.session.execute(update(table).where(*where).values(**values))

    async def put_practice(self, practice_id: str, **values: Any) -> None:
        await self._upsert(practice_profiles, {"practice_id": practice_id}, values)

    async def practice(self, practice_id: str) -> Any:
        return (await self.session.execute(select(practice_profiles).where(
            practice_profiles.c.practice_id == practice_id))).first()

    async def put_clinician(self, practice_id: str, npi: str, **values: Any) -> None:
        await self._upsert(clinicians, {"practice_id": practice_id, "npi": npi}, values)

    async def clinicians(self, practice_id: str, npis: Iterable[str]) -> dict[str, Any]:
        rows = (await self.session.execute(select(clinicians).where(
            clinicians.c.practice_id == practice_id, clinicians.c.npi.in_(sorted(set(npis)))))).all()
        return {r.npi: r for r in rows}

    async def put_person(self, practice_id: str, person_id: str, **values: Any) -> None:
        await self._upsert(people, {"practice_id": practice_id, "person_id": person_id}, values)

    async def people(self, practice_id: str, person_ids: Iterable[str]) -> dict[str, Any]:
        ids = sorted(set(person_ids))
        if not ids:
            return {}
        rows = (await self.session.execute(select(people).where(
            people.c.practice_id == practice_id, people.c.person_id.in_(ids)))).all()
        return {r.person_id: r for r in rows}

    # -- facts from claims and remittance -------------------------------------------------------------------------
    async def keep_visit_coding(self, practice_id: str, coding: VisitCoding, *, payer_id: str | None,
                                program: str | None, at: datetime) -> None:
        await self._upsert(visit_codings, {"practice_id": practice_id, "visit_id": coding.visit_id}, dict(
            patient_id=coding.patient_id, date_of_service=coding.date_of_service,
            billing_model=coding.billing_model, payer_id=payer_id, rendering_npi=coding.rendering_npi,
            program=program, services=[{"procedure_code": s.procedure_code, "modifiers": list(s.modifiers),
                                        "units": s.units} for s in coding.services],
            diagnoses=list(coding.diagnoses), place_of_service=coding.place_of_service, voided=False,
            received_at=at))

    async def void_visit_coding(self, practice_id: str, visit_id: str) -> None:
        await self.session.execute(update(visit_codings).where(
            visit_codings.c.practice_id == practice_id, visit_codings.c.visit_id == visit_id).values(voided=True))

    async def visit_codings(self, practice_id: str, *, visit_id: str | None = None, patient_id: str | None = None,
                            from_date: date | None = None, to_date: date | None = None) -> list[VisitCoding]:
        query = select(visit_codings).where(visit_codings.c.practice_id == practice_id,
                                            visit_codings.c.voided.is_(False))
        if visit_id is not None:
            query = query.where(visit_codings.c.visit_id == visit_id)
        if patient_id is not None:
            query = query.where(visit_codings.c.patient_id == patient_id)
        if from_date is not None:
            query = query.where(visit_codings.c.date_of_service >= from_date)
        if to_date is not None:
            query = query.where(visit_codings.c.date_of_service <= to_date)
        rows = (await self.session.execute(query.order_by(visit_codings.c.date_of_service,
                                                          visit_codings.c.visit_id))).all()
        return [_coding(r) for r in rows]

    async def codings_of_patients(self, practice_id: str, patient_ids: Iterable[str]) -> dict[Any, VisitCoding]:
        """The visits of these patients by visit id and by (patient, date of service), for describing items."""
        ids = sorted(set(patient_ids))
        if not ids:
            return {}
        rows = (await self.session.execute(select(visit_codings).where(
            visit_codings.c.practice_id == practice_id, visit_codings.c.patient_id.in_(ids),
            visit_codings.c.voided.is_(False)))).all()
        out: dict[Any, VisitCoding] = {}
        for r in rows:
            coding = _coding(r)
            out[r.visit_id] = coding
            out[(r.patient_id, r.date_of_service)] = coding
        return out

    async def keep_claim_insurance(self, practice_id: str, claim_id: str, charge: int, paid: int, adjusted: int,
                                   at: datetime) -> None:
        await self._upsert(claim_insurance, {"practice_id": practice_id, "claim_id": claim_id}, dict(
            charge_cents=charge, paid_cents=paid, adjusted_cents=adjusted, updated_at=at))

    async def forget_claim_insurance(self, practice_id: str, claim_id: str) -> None:
        await self.session.execute(delete(claim_insurance).where(
            claim_insurance.c.practice_id == practice_id, claim_insurance.c.claim_id == claim_id))

    async def claim_insurance(self, practice_id: str, claim_ids: Iterable[str]) -> dict[str, Any]:
        ids = sorted(set(claim_ids))
        if not ids:
            return {}
        rows = (await self.session.execute(select(claim_insurance).where(
            claim_insurance.c.practice_id == practice_id, claim_insurance.c.claim_id.in_(ids)))).all()
        return {r.claim_id: r for r in rows}

    # -- the ledger, read for documents (never written here) ------------------------------------------------------
    async def accounts_to_state(self, practice_id: str, *, after: str | None, limit: int) -> list[Any]:
        """Accounts with a balance (owed, or a credit owed back) or a visit waiting for a payer, in id order."""
        waiting = select(pending_insurance.c.account_id).where(pending_insurance.c.practice_id == practice_id)
        query = select(accounts).where(accounts.c.practice_id == practice_id,
                                       or_(accounts.c.balance_cents != 0, accounts.c.account_id.in_(waiting)))
        if after is not None:
            query = query.where(accounts.c.account_id > after)
        return list((await self.session.execute(query.order_by(accounts.c.account_id).limit(limit))).all())

    async def count_accounts_to_state(self, practice_id: str) -> int:
        waiting = select(pending_insurance.c.account_id).where(pending_insurance.c.practice_id == practice_id)
        return int((await self.session.execute(select(func.count()).select_from(accounts).where(
            accounts.c.practice_id == practice_id,
            or_(accounts.c.balance_cents != 0, accounts.c.account_id.in_(waiting))))).scalar_one())

    async def account_row(self, practice_id: str, account_id: str) -> Any:
        return (await self.session.execute(select(accounts).where(
            accounts.c.practice_id == practice_id, accounts.c.account_id == account_id))).first()

    async def open_items_of(self, account_ids: Sequence[str]) -> dict[str, list[OpenItem]]:
        out: dict[str, list[OpenItem]] = {a: [] for a in account_ids}
        rows = (await self.session.execute(select(open_items).where(open_items.c.account_id.in_(account_ids)))).all()
        for r in rows:
            out[r.account_id].append(OpenItem(r.item_id, r.patient_id, r.service_date, r.amount_cents, r.open_cents,
                                              EntryKind(r.kind), r.visit_id, r.claim_id, r.program, r.clinician))
        return out

    async def credits_of(self, account_ids: Sequence[str]) -> dict[str, list[Credit]]:
        out: dict[str, list[Credit]] = {a: [] for a in account_ids}
        rows = (await self.session.execute(select(credits).where(credits.c.account_id.in_(account_ids)))).all()
        for r in rows:
            out[r.account_id].append(Credit(r.credit_id, r.patient_id, r.received_on, r.remaining_cents))
        return out

    async def pending_of(self, account_ids: Sequence[str]) -> dict[str, list[tuple[str, date]]]:
        out: dict[str, list[tuple[str, date]]] = {a: [] for a in account_ids}
        rows = (await self.session.execute(select(pending_insurance).where(
            pending_insurance.c.account_id.in_(account_ids)))).all()
        for r in rows:
            out[r.account_id].append((r.patient_id, r.service_date))
        return out

    async def debit_entries(self, entry_ids: Sequence[str]) -> dict[str, Any]:
        if not entry_ids:
            return {}
        rows = (await self.session.execute(select(
            entries.c.entry_id, entries.c.reasons, entries.c.visit_id, entries.c.detail).where(
            entries.c.entry_id.in_(entry_ids)))).all()
        return {r.entry_id: r for r in rows}

    async def movements(self, account_ids: Sequence[str], since: date, through: date) -> dict[str, list[Movement]]:
        """Payments, refunds, adjustments, write-offs and reversals dated in the period, with what each did to the
        account's patient A/R."""
        out: dict[str, list[Movement]] = {a: [] for a in account_ids}
        change = func.sum(lines.c.debit_cents - lines.c.credit_cents)
        rows = (await self.session.execute(
            select(lines.c.account_id, entries.c.effective_date, entries.c.kind, entries.c.detail,
                   change.label("change"))
            .join(entries, entries.c.entry_id == lines.c.entry_id)
            .where(lines.c.account_id.in_(account_ids), lines.c.ledger == Ledger.PATIENT_AR.value,
                   entries.c.kind.in_(["payment", "refund", "adjustment", "write_off", "reversal"]),
                   entries.c.effective_date > since, entries.c.effective_date <= through)
            .group_by(lines.c.account_id, entries.c.entry_id))).all()  # entry_id: the key (json is not grouped)
        for r in rows:
            detail = r.detail or {}
            words = {"payment": f"Payment received, thank you ({detail.get('method', 'payment')})",
                     "refund": "Refund sent to you", "adjustment": "Adjustment",
                     "write_off": "Balance written off", "reversal": "Correction"}
            reason = detail.get("reason", "")
            description = words.get(r.kind, r.kind) + (f": {reason}" if reason and r.kind == "adjustment" else "")
            out[r.account_id].append(Movement(r.effective_date, r.kind, int(r.change), description))
        return out

    async def visit_ledger(self, practice_id: str, visit_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Per visit: (charged after its adjustments, still open), from the ledger."""
        if not visit_ids:
            return {}
        rows = (await self.session.execute(select(entries.c.entry_id, entries.c.visit_id, entries.c.kind,
                                                  entries.c.detail).where(
            entries.c.practice_id == practice_id, entries.c.visit_id.in_(visit_ids)))).all()
        reversed_ids = set((await self.session.execute(select(entries.c.reverses_entry_id).where(
            entries.c.practice_id == practice_id, entries.c.visit_id.in_(visit_ids),
            entries.c.reverses_entry_id.is_not(None)))).scalars())
        amounts = dict((await self.session.execute(
            select(lines.c.entry_id, func.sum(lines.c.debit_cents - lines.c.credit_cents))
            .where(lines.c.entry_id.in_([r.entry_id for r in rows]), lines.c.ledger == Ledger.PATIENT_AR.value)
            .group_by(lines.c.entry_id))).all())
        charge_items = {r.entry_id: r.visit_id for r in rows if r.kind in ("charge", "fee")
                        and r.entry_id not in reversed_ids}
        open_now = dict((await self.session.execute(select(open_items.c.item_id, open_items.c.open_cents).where(
            open_items.c.item_id.in_(list(charge_items))))).all()) if charge_items else {}
        out: dict[str, tuple[int, int]] = {}
        for r in rows:
            if r.entry_id in reversed_ids or r.kind == "reversal":
                continue
            charged, still = out.get(r.visit_id, (0, 0))
            if r.kind in ("charge", "fee"):
                charged += int(amounts.get(r.entry_id, 0))
                still += int(open_now.get(r.entry_id, 0))
            elif r.kind in ("adjustment",):
                charged += int(amounts.get(r.entry_id, 0))  # negative
            out[r.visit_id] = (charged, still)
        return out

    async def patient_charges(self, practice_id: str, patient_id: str) -> list[tuple[str, date, int, str]]:
        """Self-pay charges of a patient with their clinician: (NPI, date of service, net charged, visit id)."""
        codings = {c.visit_id: c for c in await self.visit_codings(practice_id, patient_id=patient_id)}
        ledger = await self.visit_ledger(practice_id, list(codings))
        return [(codings[v].rendering_npi, codings[v].date_of_service, charged, v)
                for v, (charged, _) in ledger.items() if v in codings and charged > 0]

    # -- holds ----------------------------------------------------------------------------------------------------
    async def active_holds(self, account_ids: Sequence[str]) -> dict[str, list[Hold]]:
        out: dict[str, list[Hold]] = {a: [] for a in account_ids}
        rows = (await self.session.execute(select(balance_holds).where(
            balance_holds.c.account_id.in_(account_ids), balance_holds.c.released_at.is_(None)))).all()
        for r in rows:
            out[r.account_id].append(Hold(r.kind, r.item_id, r.amount_cents))
        return out

    async def place_hold(self, **values: Any) -> None:
        await self.session.execute(insert(balance_holds).values(**values))

    async def release_holds(self, practice_id: str, source_id: str, at: datetime) -> None:
        await self.session.execute(update(balance_holds).where(
            balance_holds.c.practice_id == practice_id, balance_holds.c.source_id == source_id,
            balance_holds.c.released_at.is_(None)).values(released_at=at))

    async def collections_dispute_reason(self, practice_id: str, account_id: str) -> str | None:
        """The open dispute flag collections reads for the account (payments' ``balance_disputes``), if any."""
        return (await self.session.execute(select(balance_disputes.c.reason).where(
            balance_disputes.c.practice_id == practice_id, balance_disputes.c.account_id == account_id,
            balance_disputes.c.resolved_on.is_(None)))).scalar()

    # -- statement runs and statements ----------------------------------------------------------------------------
    async def run_for_cycle(self, practice_id: str, statement_date: date, *, lock: bool = False) -> Any:
        query = select(statement_runs).where(statement_runs.c.practice_id == practice_id,
                                             statement_runs.c.statement_date == statement_date)
        return (await self.session.execute(query.with_for_update() if lock else query)).first()

    async def run(self, practice_id: str, run_id: str, *, lock: bool = False) -> Any:
        query = select(statement_runs).where(statement_runs.c.practice_id == practice_id,
                                             statement_runs.c.run_id == run_id)
        return (await self.session.execute(query.with_for_update() if lock else query)).first()

    async def runs(self, practice_id: str, limit: int = 50) -> list[Any]:
        return list((await self.session.execute(select(statement_runs).where(
            statement_runs.c.practice_id == practice_id).order_by(statement_runs.c.statement_date.desc())
            .limit(limit))).all())

    async def add_run(self, **values: Any) -> None:
        await self.session.execute(insert(statement_runs).values(**values))

    async def update_run(self, run_id: str, **values: Any) -> None:
        await self.session.execute(update(statement_runs).where(statement_runs.c.run_id == run_id).values(**values))

    async def stated_accounts(self, practice_id: str, statement_date: date, account_ids: Sequence[str]) -> set[str]:
        return set((await self.session.execute(select(statements.c.account_id).where(
            statements.c.practice_id == practice_id, statements.c.statement_date == statement_date,
            statements.c.account_id.in_(account_ids)))).scalars())

    async def add_statement(self, **values: Any) -> None:
        await self.session.execute(insert(statements).values(**values))

    async def statement(self, practice_id: str, statement_id: str, *, with_pdf: bool = False) -> Any:
        cols = [c for c in statements.c if with_pdf or c.name != "pdf"]
        return (await self.session.execute(select(*cols).where(
            statements.c.practice_id == practice_id, statements.c.statement_id == statement_id))).first()

    async def statement_by_payment_link(self, practice_id: str, link_id: str) -> Any:
        return (await self.session.execute(select(*[c for c in statements.c if c.name != "pdf"]).where(
            statements.c.practice_id == practice_id, statements.c.payment_link_id == link_id))).first()

    async def statements_of_run(self, run_id: str, *, delivery: str | None = None, unsent: bool = False,
                                after: str | None = None, limit: int = 100) -> list[Any]:
        query = select(*[c for c in statements.c if c.name != "pdf"]).where(statements.c.run_id == run_id)
        if delivery is not None:
            query = query.where(statements.c.delivery == delivery)
        if unsent:
            query = query.where(statements.c.emailed_at.is_(None))
        if after is not None:
            query = query.where(statements.c.statement_id > after)
        return list((await self.session.execute(query.order_by(statements.c.statement_id).limit(limit))).all())

    async def pdf_of(self, statement_id: str) -> bytes:
        return bytes((await self.session.execute(select(statements.c.pdf).where(
            statements.c.statement_id == statement_id))).scalar_one())

    async def statements_of_account(self, practice_id: str, account_id: str) -> list[Any]:
        return list((await self.session.execute(select(*[c for c in statements.c if c.name != "pdf"]).where(
            statements.c.practice_id == practice_id, statements.c.account_id == account_id)
            .order_by(statements.c.statement_date.desc()))).all())

    async def mark_emailed(self, statement_id: str, at: datetime) -> None:
        await self.session.execute(update(statements).where(statements.c.statement_id == statement_id).values(
            emailed_at=at))

    async def document(self, kind: str, practice_id: str, document_id: str, *, with_pdf: bool = False) -> Any:
        """A stored statement, superbill or estimate by kind."""
        read = {"statement": self.statement, "superbill": self.superbill, "estimate": self.estimate}[kind]
        return await read(practice_id, document_id, with_pdf=with_pdf)

    # -- links ----------------------------------------------------------------------------------------------------
    async def add_link(self, **values: Any) -> None:
        await self.session.execute(insert(document_links).values(**values))

    async def link(self, token: str) -> Any:
        return (await self.session.execute(select(document_links).where(document_links.c.token == token))).first()

    async def link_for(self, document_type: str, document_id: str) -> Any:
        return (await self.session.execute(select(document_links).where(
            document_links.c.document_type == document_type, document_links.c.document_id == document_id)
            .order_by(document_links.c.expires_at.desc()).limit(1))).first()

    # -- superbills -----------------------------------------------------------------------------------------------
    async def add_superbill(self, **values: Any) -> None:
        await self.session.execute(insert(superbills).values(**values))

    async def superbill(self, practice_id: str, superbill_id: str, *, with_pdf: bool = False) -> Any:
        cols = [c for c in superbills.c if with_pdf or c.name != "pdf"]
        return (await self.session.execute(select(*cols).where(
            superbills.c.practice_id == practice_id, superbills.c.superbill_id == superbill_id))).first()

    async def superbills_of(self, practice_id: str, patient_id: str) -> list[Any]:
        return list((await self.session.execute(select(*[c for c in superbills.c if c.name != "pdf"]).where(
            superbills.c.practice_id == practice_id, superbills.c.patient_id == patient_id)
            .order_by(superbills.c.issued_at.desc()))).all())

    # -- Good Faith Estimates -------------------------------------------------------------------------------------
    async def add_estimate(self, **values: Any) -> None:
        await self.session.execute(insert(estimates).values(**values))

    async def estimate(self, practice_id: str, estimate_id: str, *, lock: bool = False, with_pdf: bool = False
                       ) -> Any:
        cols = [c for c in estimates.c if with_pdf or c.name != "pdf"]
        query = select(*cols).where(estimates.c.practice_id == practice_id, estimates.c.estimate_id == estimate_id)
        return (await self.session.execute(query.with_for_update() if lock else query)).first()

    async def update_estimate(self, estimate_id: str, **values: Any) -> None:
        await self.session.execute(update(estimates).where(estimates.c.estimate_id == estimate_id).values(**values))

    async def estimates_due(self, practice_id: str) -> list[Any]:
        return list((await self.session.execute(select(*[c for c in estimates.c if c.name != "pdf"]).where(
            estimates.c.practice_id == practice_id, estimates.c.status == "due")
            .order_by(estimates.c.due_by, estimates.c.estimate_id))).all())

    async def issued_estimates_covering(self, practice_id: str, patient_id: str, day: date, *, lock: bool = False
                                        ) -> list[Any]:
        query = select(*[c for c in estimates.c if c.name != "pdf"]).where(
            estimates.c.practice_id == practice_id, estimates.c.patient_id == patient_id,
            estimates.c.status == "issued", estimates.c.covers_from <= day, estimates.c.covers_to >= day)
        return list((await self.session.execute(query.with_for_update() if lock else query)).all())

    async def estimates_of(self, practice_id: str, patient_id: str) -> list[Any]:
        return list((await self.session.execute(select(*[c for c in estimates.c if c.name != "pdf"]).where(
            estimates.c.practice_id == practice_id, estimates.c.patient_id == patient_id)
            .order_by(estimates.c.created_at.desc()))).all())

    async def add_dispute(self, **values: Any) -> None:
        await self.session.execute(insert(gfe_disputes).values(**values))

    async def dispute(self, practice_id: str, dispute_id: str, *, lock: bool = False) -> Any:
        query = select(gfe_disputes).where(gfe_disputes.c.practice_id == practice_id,
                                           gfe_disputes.c.dispute_id == dispute_id)
        return (await self.session.execute(query.with_for_update() if lock else query)).first()

    async def open_dispute_for(self, practice_id: str, estimate_id: str, provider_npi: str) -> Any:
        return (await self.session.execute(select(gfe_disputes).where(
            gfe_disputes.c.practice_id == practice_id, gfe_disputes.c.estimate_id == estimate_id,
            gfe_disputes.c.provider_npi == provider_npi, gfe_disputes.c.status == "open"))).first()

    async def update_dispute(self, dispute_id: str, **values: Any) -> None:
        await self.session.execute(update(gfe_disputes).where(gfe_disputes.c.dispute_id == dispute_id).values(
            **values))


def _coding(r: Any) -> VisitCoding:
    return VisitCoding(r.visit_id, r.patient_id, r.date_of_service, r.rendering_npi,
                       tuple(CodedLine(s["procedure_code"], tuple(s.get("modifiers", ())), int(s.get("units", 1)))
                             for s in r.services), tuple(r.diagnoses), r.place_of_service, r.billing_model)


def reasons_of(row: Any) -> tuple[ReasonLine, ...]:
    return tuple(ReasonLine(r["category"], r["carc"], int(r["amount_cents"]), r.get("explanation", ""))
                 for r in (row.reasons or []))

