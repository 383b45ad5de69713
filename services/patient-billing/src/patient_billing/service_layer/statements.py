"""Statement runs: one statement per responsible party (guarantor) of a practice for a cycle date.

A run is one per practice and statement date (asking again answers the same run). It states accounts in id order,
``statement_batch`` per transaction, each batch committing its statements, their ``statement-issued`` events (the
outbox) and the run's cursor together: a run stopped anywhere resumes after the last committed account, and an
account is never stated twice for a cycle (a unique key backs this). Then delivery: an email with a portal link for
each guarantor with an address on file (marked sent one by one), and the print-vendor file of the others (rewritten
whole, so a resumed run's file is complete). Every statement is stored as shown: its content and its PDF.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from rcm_shared.contracts import StatementIssuedV1
from rcm_shared.db.types import from_cents, new_id
from sqlalchemy.exc import IntegrityError

from patient_billing.adapters.documents.mailer import statement_ready
from patient_billing.adapters.documents.print_export import PrintItem, write_print_file
from patient_billing.adapters.documents.repository import DocumentsRepository, reasons_of
from patient_billing.domain.document_errors import DocumentFactsMissing, DocumentNotFound
from patient_billing.domain.ledger import EntryKind
from patient_billing.domain.statements import (
    InsuranceFacts,
    ItemFacts,
    Party,
    PracticeHeader,
    Statement,
    build_statement,
    cycle_date,
    dollars,
    previous_cycle_date,
)
from patient_billing.service_layer.document_kit import DocumentKit
from patient_billing.service_layer.unit_of_work import UnitsOfWork


def header_of(profile: Any) -> PracticeHeader:
    return PracticeHeader(profile.practice_id, profile.name, tuple(profile.address_lines), profile.phone,
                          profile.npi, profile.tax_id)


def statement_day(kit: DocumentKit, profile: Any, on: date) -> int:
    return int(profile.statement_day or kit.rules.statements.cycle_on(on).day_of_month)


async def start_run(uows: UnitsOfWork, kit: DocumentKit, practice_id: str, statement_date: date | None = None
                    ) -> tuple[Any, bool]:
    """The run of the practice's cycle (the cycle today falls in, unless a date is given): (run, made now)."""
    async with uows() as uow:
        repo = DocumentsRepository(uow.session)
        profile = await repo.practice(practice_id)
        if profile is None:
            raise DocumentFactsMissing("the practice's profile (name, address, NPI, tax ID) is not on file",
                                       field="practice_id")
        today = kit.clock.today()
        day = statement_date or cycle_date(statement_day(kit, profile, today), today)
        kit.rules.statements.cycle_on(day)
        existing = await repo.run_for_cycle(practice_id, day)
        if existing is not None:
            return existing, False
        total = await repo.count_accounts_to_state(practice_id)
    run_id = new_id()
    try:
        async with uows() as uow:
            await DocumentsRepository(uow.session).add_run(
                run_id=run_id, practice_id=practice_id, statement_date=day, status="running", total=total, issued=0,
                emailed=0, after_account_id=None, print_file=None, started_at=kit.clock.now(), finished_at=None)
    except IntegrityError:  # a concurrent start of the same cycle made the run first: that one stands
        pass
    async with uows() as uow:
        run = await DocumentsRepository(uow.session).run_for_cycle(practice_id, day)
        assert run is not None
        return run, run.run_id == run_id


async def run_statements(uows: UnitsOfWork, kit: DocumentKit, practice_id: str, run_id: str,
                         *, max_batches: int | None = None) -> Any:
    """State every remaining account of the run, then deliver. Safe to call again at any point (resume);
    ``max_batches`` stops early (what a test of resumption uses)."""
    batches = 0
    while max_batches is None or batches < max_batches:
        try:
            more = await _state_batch(uows, kit, practice_id, run_id)
        except IntegrityError:  # another worker stated the same accounts first: its commit stands, go on
            continue
        if not more:
            break
        batches += 1
    else:
        return await _run(uows, practice_id, run_id)
    await deliver(uows, kit, practice_id, run_id)
    return await _run(uows, practice_id, run_id)


async def _run(uows: UnitsOfWork, practice_id: str, run_id: str) -> Any:
    async with uows() as uow:
        run = await DocumentsRepository(uow.session).run(practice_id, run_id)
    if run is None:
        raise DocumentNotFound("no statement run with this id", field="run_id")
    return run


async def _state_batch(uows: UnitsOfWork, kit: DocumentKit, practice_id: str, run_id: str) -> bool:
    """One batch in three steps: read the ledger and build the statements (a short read), lay the PDFs out (no
    transaction open: on SQLite a long one would lock every other writer out), then write the statements, their
    links, their events and the cursor together, unless another worker moved the cursor meanwhile."""
    async with uows() as uow:
        repo = DocumentsRepository(uow.session)
        run = await repo.run(practice_id, run_id)
        if run is None:
            raise DocumentNotFound("no statement run with this id", field="run_id")
        if run.status != "running":
            return False
        rows = await repo.accounts_to_state(practice_id, after=run.after_account_id, limit=kit.statement_batch)
        if not rows:
            await repo.update_run(run_id, status="delivering")
            return False
        done = await repo.stated_accounts(practice_id, run.statement_date, [r.account_id for r in rows])
        todo = [r for r in rows if r.account_id not in done]
        profile = await repo.practice(practice_id)
        drafts = await _statements(repo, kit, profile, run.statement_date, todo) if todo else []
    pdfs = await kit.renderer.render([d.statement for d in drafts])
    async with uows() as uow:
        repo = DocumentsRepository(uow.session)
        current = await repo.run(practice_id, run_id, lock=True)
        if current is None or current.after_account_id != run.after_account_id:
            return True  # another worker stated this batch first: go on from where it left the cursor
        now = kit.clock.now()
        for draft, pdf in zip(drafts, pdfs, strict=True):
            statement = draft.statement
            await repo.add_link(token=draft.token, practice_id=practice_id, document_type="statement",
                                document_id=statement.statement_id,
                                expires_at=end_of(kit, statement.links_expire_on), created_at=now)
            await repo.add_statement(
                statement_id=statement.statement_id, practice_id=practice_id, run_id=run_id,
                account_id=statement.account_id, guarantor_id=statement.guarantor_id,
                statement_date=statement.statement_date, due_date=statement.due_date, balance_cents=statement.balance,
                amount_due_cents=statement.amount_due, content=statement.as_document(), pdf=pdf,
                pdf_sha256=hashlib.sha256(pdf).hexdigest(), payment_link_id=draft.link_id, delivery=draft.delivery,
                emailed_at=None, issued_at=now)
            uow.announce(StatementIssuedV1(
                statement_id=statement.statement_id, run_id=run_id, account_id=statement.account_id,
                practice_id=practice_id, guarantor_id=statement.guarantor_id,
                statement_date=statement.statement_date, due_date=statement.due_date,
                balance=from_cents(statement.balance), amount_due=from_cents(statement.amount_due),
                not_demanded=from_cents(sum(statement.not_demanded.values())), delivery=draft.delivery,
                payment_link_id=draft.link_id), statement.account_id)
        await repo.update_run(run_id, after_account_id=rows[-1].account_id, issued=current.issued + len(drafts))
    return True


@dataclass(frozen=True)
class Draft:
    statement: Statement
    token: str  # the portal link's
    delivery: str  # email | print
    link_id: str | None  # the payment link's


async def _statements(repo: DocumentsRepository, kit: DocumentKit, profile: Any, statement_date: date,
                      rows: Sequence[Any]) -> list[Draft]:
    """Build and link the statements of ``rows`` (accounts), reading the ledger for the whole batch at once."""
    rules = kit.rules.statements
    cycle = rules.cycle_on(statement_date)
    since = previous_cycle_date(statement_day(kit, profile, statement_date), statement_date)
    ids = [r.account_id for r in rows]
    items, account_credits = await repo.open_items_of(ids), await repo.credits_of(ids)
    pending, holds = await repo.pending_of(ids), await repo.active_holds(ids)
    moves = await repo.movements(ids, since, statement_date)
    all_items = [i for its in items.values() for i in its]
    debits = await repo.debit_entries([i.item_id for i in all_items])
    insurance = {c: InsuranceFacts(r.charge_cents, r.paid_cents, r.adjusted_cents)
                 for c, r in (await repo.claim_insurance(profile.practice_id,
                                                         [i.claim_id for i in all_items if i.claim_id])).items()}
    patients = {i.patient_id for i in all_items} | {p for ps in pending.values() for p, _ in ps}
    codings = await repo.codings_of_patients(profile.practice_id, patients)
    people = await repo.people(profile.practice_id, patients | {r.guarantor_id for r in rows})
    names = {pid: p.name for pid, p in people.items()}
    header = header_of(profile)
    made = []
    for row in rows:
        facts = {}
        for item in items[row.account_id]:
            entry = debits.get(item.item_id)
            visit = codings.get(entry.visit_id) if entry is not None and entry.visit_id else None
            visit = visit or codings.get((item.patient_id, item.service_date))
            facts[item.item_id] = ItemFacts(reasons=reasons_of(entry) if entry is not None else (),
                                            description=_describe(item.kind, visit))
        guarantor = people.get(row.guarantor_id)
        statement_id = new_id()
        token = secrets.token_urlsafe(24)
        statement = build_statement(
            statement_id=statement_id, practice=header, account_id=row.account_id, guarantor_id=row.guarantor_id,
            guarantor=Party(guarantor.name, tuple(guarantor.address_lines)) if guarantor else Party("Account holder"),
            statement_date=statement_date, period_start=since, cycle=cycle, open_items=items[row.account_id],
            credits=account_credits[row.account_id], balance=row.balance_cents, pending_visits=pending[row.account_id],
            item_facts=facts, insurance=insurance, holds=holds[row.account_id], activity=moves[row.account_id],
            patient_names=names, rules=rules, payment_url="", portal_url=kit.portal_link(token))
        link_id = None
        if statement.amount_due:
            link = await kit.payment_links.create(practice_id=profile.practice_id, statement_id=statement_id,
                                                  account_id=row.account_id, amount_cents=statement.amount_due,
                                                  expires_on=statement.links_expire_on)
            statement, link_id = replace(statement, payment_url=link.url), link.link_id
        delivery = "email" if guarantor is not None and guarantor.email and kit.mailer is not None else "print"
        made.append(Draft(statement, token, delivery, link_id))
    return made


def _describe(kind: EntryKind, visit: Any) -> str:
    if visit is None or kind not in (EntryKind.CHARGE, EntryKind.RESPONSIBILITY):
        return ""
    codes = ", ".join("-".join([s.procedure_code, *s.modifiers]) for s in visit.services)
    return f"Visit ({codes})" if kind is EntryKind.RESPONSIBILITY else f"Session, self-pay ({codes})"


def end_of(kit: DocumentKit, day: date) -> datetime:
    """The last instant of ``day`` in the practice's time zone (when a link made for that day expires)."""
    return datetime.combine(day, time.max, tzinfo=kit.clock.practice_zone)


async def deliver(uows: UnitsOfWork, kit: DocumentKit, practice_id: str, run_id: str) -> None:
    """Email each statement not yet emailed (a portal link, no PHI), then write the run's print file."""
    async with uows() as uow:
        run = await DocumentsRepository(uow.session).run(practice_id, run_id)
    if run is None or run.status == "completed":
        return
    if kit.mailer is not None:
        while True:
            async with uows() as uow:
                repo = DocumentsRepository(uow.session)
                page = await repo.statements_of_run(run_id, delivery="email", unsent=True, limit=50)
                people = await repo.people(practice_id, [s.guarantor_id for s in page])
                links = {s.statement_id: await repo.link_for("statement", s.statement_id) for s in page}
            if not page:
                break
            for s in page:
                link = links[s.statement_id]
                person = people.get(s.guarantor_id)
                if person is None or not person.email or link is None:
                    continue
                await kit.mailer.send(statement_ready(person.email, kit.portal_link(link.token),
                                                      s.content["links_expire_on"]))
                async with uows() as uow:
                    repo = DocumentsRepository(uow.session)
                    await repo.mark_emailed(s.statement_id, kit.clock.now())
                    current = await repo.run(practice_id, run_id, lock=True)
                    await repo.update_run(run_id, emailed=current.emailed + 1)
    path = Path(kit.print_dir) / practice_id / f"statements-{run.statement_date.isoformat()}-{run_id}.zip"
    await write_print_file(path, _print_items(uows, run_id))
    async with uows() as uow:
        await DocumentsRepository(uow.session).update_run(run_id, status="completed", print_file=str(path),
                                                          finished_at=kit.clock.now())


async def _print_items(uows: UnitsOfWork, run_id: str) -> AsyncIterator[PrintItem]:
    after = None
    while True:
        async with uows() as uow:
            repo = DocumentsRepository(uow.session)
            page = await repo.statements_of_run(run_id, delivery="print", after=after, limit=50)
            pdfs = {s.statement_id: await repo.pdf_of(s.statement_id) for s in page}
        if not page:
            return
        for s in page:
            c = s.content
            yield PrintItem(s.statement_id, c["account_number"], c["guarantor"]["name"],
                            tuple(c["guarantor"]["address_lines"]), dollars(s.amount_due_cents), c["due_date"],
                            pdfs[s.statement_id], s.pdf_sha256)
        after = page[-1].statement_id
