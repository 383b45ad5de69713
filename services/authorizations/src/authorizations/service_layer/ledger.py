"""The unit ledger's use cases: visits consume units (a poll of ``visit-completed`` at a time), authorizations are
recorded, and every visit whose answer changes with them is announced."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from rcm_shared.db.types import new_id

from authorizations.domain.commands import ApplyVisit, RecordAuthorization
from authorizations.domain.model import Authorization, AuthorizationStatus, VisitFacts
from authorizations.domain.rulebook import Rulebook
from authorizations.domain.unit_ledger import AuthorizationAnswer, UnitLedger
from authorizations.service_layer.determinations import decide_visits, open_visits
from authorizations.service_layer.unit_of_work import AuthorizationsUnitOfWork


async def apply_visits(uow: AuthorizationsUnitOfWork, visits: Sequence[ApplyVisit], *, rules: Rulebook, today: date,
                       at: datetime) -> None:
    """Completed, corrected and voided visits, in the order they arrived: each takes (or moves, or gives back) its
    unit, then every visit they affected is answered once. One ledger load and one save per practice."""
    by_practice: dict[str, list[ApplyVisit]] = defaultdict(list)
    for visit in visits:
        by_practice[visit.practice_id].append(visit)
    for practice_id, applied in by_practice.items():
        groups = {(v.patient_id, v.payer_id) for v in applied}
        known = {v.visit_id for v in applied} | {v.replaces_visit_id for v in applied if v.replaces_visit_id}
        ledger = await uow.ledgers.get(practice_id, groups, rules.ledger, visit_ids=known)
        for visit in applied:
            facts = VisitFacts(visit.patient_id, visit.payer_id, visit.date_of_service, visit.cpt_code)
            if visit.voided:
                ledger.void(visit.visit_id, facts)
            else:
                ledger.complete(visit.visit_id, facts, visit.providers)
            if visit.replaces_visit_id:
                ledger.void(visit.replaces_visit_id, facts)
        # the visits applied are answered whatever their date, with the open visits whose units they moved
        await settle(uow, ledger, rules=rules, today=today, at=at, also=[v.visit_id for v in applied])


async def record_authorization(uow: AuthorizationsUnitOfWork, command: RecordAuthorization, *, rules: Rulebook,
                               today: date, at: datetime) -> str:
    """Record (or update, by number) an authorization; returns its id. Visits it now covers (or no longer covers)
    take (or give back) units, and their answers are announced."""
    authorization = Authorization(number=command.number, patient_id=command.patient_id, payer_id=command.payer_id,
                                  cpt_codes=frozenset(command.cpt_codes), approved_units=command.approved_units,
                                  start=command.start, end=command.end, status=AuthorizationStatus(command.status))
    ledger = await uow.ledgers.get(command.practice_id, {(command.patient_id, command.payer_id)}, rules.ledger,
                                   numbers=[command.number])
    authorization_id = ledger.record(authorization, new_id=new_id())
    await settle(uow, ledger, rules=rules, today=today, at=at)
    return authorization_id


async def settle(uow: AuthorizationsUnitOfWork, ledger: UnitLedger, *, rules: Rulebook, today: date, at: datetime,
                 also: Sequence[str] = ()) -> None:
    """Announce what the changes did to the units, keep it, and answer again the open visits whose unit or missing
    reason moved (and the visits ``also``, whatever their date)."""
    ledger.settle(today)
    await uow.ledgers.save(ledger)
    uow.add(ledger)
    moved = open_visits(ledger, ledger.changed_answers, rules.determinations.open_since(today))
    ledger.changed_answers.clear()
    await decide_visits(uow, ledger, [*also, *moved], rules=rules, at=at)


async def authorization_lookup(uow: AuthorizationsUnitOfWork, practice_id: str, visit_id: str, facts: VisitFacts, *,
                               rules: Rulebook) -> AuthorizationAnswer:
    """Which authorization would cover this visit, or why none would (the HTTP lookup, for people and tools):
    the visit simulated on the patient's ledger, nothing kept. Claims does not ask: it keeps what
    visit-authorization-determined says."""
    ledger = await uow.ledgers.get(practice_id, {(facts.patient_id, facts.payer_id)}, rules.ledger,
                                   visit_ids=[visit_id], lock=False)
    return ledger.simulate(visit_id, facts)
