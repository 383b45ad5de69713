"""The unit ledger's use cases: visits consume units (a poll of ``visit-completed`` at a time), authorizations are
recorded, and every visit whose answer changes with them is announced."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from rcm_shared.db.types import new_id

from authorizations.domain.commands import ApplyVisit, RecordAuthorization
from authorizations.domain.ledger import AuthorizationAnswer, Group, UnitLedger
from authorizations.domain.model import Authorization, AuthorizationStatus, VisitFacts
from authorizations.domain.rulebook import Rulebook
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
        touched: set[Group] = set(groups)
        for visit in applied:
            touched |= _groups_of(ledger, visit.visit_id, visit.replaces_visit_id)
            facts = VisitFacts(visit.patient_id, visit.payer_id, visit.date_of_service, visit.cpt_code)
            if visit.voided:
                ledger.void(visit.visit_id, facts)
            else:
                ledger.complete(visit.visit_id, facts, visit.providers)
            if visit.replaces_visit_id:
                ledger.void(visit.replaces_visit_id, facts)
        # the visits applied are answered whatever their date, with the open visits of every group they touched
        await settle(uow, ledger, touched, rules=rules, today=today, at=at, also=[v.visit_id for v in applied])


def _groups_of(ledger: UnitLedger, *visit_ids: str | None) -> set[Group]:
    """The groups these visits are in before a change (a corrected visit may move to another patient or payer)."""
    found = set()
    for visit_id in visit_ids:
        if visit_id and (visit := ledger.visit(visit_id)) is not None:
            found.add((visit.facts.patient_id, visit.facts.payer_id))
    return found


async def record_authorization(uow: AuthorizationsUnitOfWork, command: RecordAuthorization, *, rules: Rulebook,
                               today: date, at: datetime) -> str:
    """Record (or update, by number) an authorization; returns its id. Visits it now covers (or no longer covers)
    take (or give back) units, and their answers are announced."""
    authorization = Authorization(number=command.number, patient_id=command.patient_id, payer_id=command.payer_id,
                                  cpt_codes=frozenset(command.cpt_codes), approved_units=command.approved_units,
                                  start=command.start, end=command.end, status=AuthorizationStatus(command.status))
    ledger = await uow.ledgers.get(command.practice_id, {(command.patient_id, command.payer_id)}, rules.ledger,
                                   numbers=[command.number])
    before = _group_of_number(ledger, command.number)
    authorization_id = ledger.record(authorization, new_id=new_id())
    await settle(uow, ledger, {(command.patient_id, command.payer_id), *before}, rules=rules, today=today, at=at)
    return authorization_id


def _group_of_number(ledger: UnitLedger, number: str) -> set[Group]:
    if not ledger.has_authorization(number):
        return set()
    auth = ledger.authorization(number)
    return {(auth.patient_id, auth.payer_id)}


async def settle(uow: AuthorizationsUnitOfWork, ledger: UnitLedger, groups: set[Group], *, rules: Rulebook,
                 today: date, at: datetime, also: Sequence[str] = ()) -> None:
    """Announce what a change of ``groups`` did to the units, keep it, and answer their open visits (and the
    visits ``also``) again."""
    ledger.settle(today)
    await uow.ledgers.save(ledger)
    uow.add(ledger)
    await decide_visits(uow, ledger, [*also, *open_visits(ledger, groups, rules.determinations.open_since(today))],
                        rules=rules, at=at)


async def authorization_lookup(uow: AuthorizationsUnitOfWork, practice_id: str, visit_id: str, facts: VisitFacts, *,
                               rules: Rulebook) -> AuthorizationAnswer:
    """Which authorization would cover this visit, or why none would (the HTTP lookup, for people and tools):
    the visit simulated on the patient's ledger, nothing kept. Claims does not ask: it keeps what
    visit-authorization-determined says."""
    ledger = await uow.ledgers.get(practice_id, {(facts.patient_id, facts.payer_id)}, rules.ledger,
                                   visit_ids=[visit_id], lock=False)
    return ledger.simulate(visit_id, facts)
