"""Charge capture: a signed visit is kept, coded once, and (insured) drafted into its claim in the same
transaction that announces ``visit-completed``. The claim waits for its facts (``awaiting_facts``) until
authorizations and eligibility have announced them; the scrub consumer takes it from there."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rcm_shared.contracts import CodedService, VisitCompletedV1
from rcm_shared.db.types import new_id, utcnow

from claims.domain.coding import ChargeCoder, CodingResult, draft_claim
from claims.domain.commands import RecordVisit
from claims.domain.exceptions import ClaimsDomainError, VisitAlreadyRecorded
from claims.domain.model import Claim, CompletedVisit
from claims.domain.rulebook import Rulebook
from claims.service_layer.scrub import scrub_or_wait
from claims.service_layer.unit_of_work import ClaimsUnitOfWork


@dataclass(frozen=True)
class RecordedVisit:
    visit_id: str
    coding: CodingResult
    self_pay_charge: Decimal | None
    claim_id: str | None


def patient_control_number(claim_id: str) -> str:
    """CLM01: unique, no PHI, short enough for every payer (20 characters)."""
    return "C" + hashlib.sha1(claim_id.encode()).hexdigest()[:19].upper()  # noqa: S324 - an id, not security


def self_pay_charge(command: RecordVisit, coding: CodingResult, rules: Rulebook) -> Decimal | None:
    """What a self-pay visit is charged: the fee the EHR sent, else the practice's self-pay rates (patient-billing
    books it from ``visit-completed``)."""
    if command.billing_model != "self_pay":
        return None
    if command.self_pay_fee is not None:
        return command.self_pay_fee
    rates = [rules.self_pay_rate(command.visit.date_of_service, ln.procedure_code) for ln in coding.lines]
    return sum((r.charge * ln.units for r, ln in zip(rates, coding.lines, strict=True) if r), Decimal("0.00")) or None


async def record_visit(uow: ClaimsUnitOfWork, command: RecordVisit, rules: Rulebook, *, today: date,
                       now: datetime) -> RecordedVisit:
    (outcome,) = await record_visits(uow, [command], rules, today=today, now=now)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


async def record_visits(uow: ClaimsUnitOfWork, commands: Sequence[RecordVisit], rules: Rulebook, *, today: date,
                        now: datetime) -> list[RecordedVisit | ClaimsDomainError]:
    """Record many visits in one unit of work (the requests a group commit brought together): one look-up of the
    visits already recorded, each visit coded, the claims drafted and saved together. A visit the domain refuses
    (already recorded, no ruleset for its date) gets its refusal in its place and nothing is written for it."""
    existing = await uow.visits.recorded_many({(c.practice_id, c.external_visit_id) for c in commands})
    coder = ChargeCoder(rules)
    outcomes: list[RecordedVisit | ClaimsDomainError] = []
    rows: list[dict[str, Any]] = []
    drafted: list[Claim] = []
    announced: list[VisitCompletedV1] = []
    received = utcnow()
    for command in commands:
        key = (command.practice_id, command.external_visit_id)
        if key in existing:
            outcomes.append(VisitAlreadyRecorded(existing[key]))
            continue
        visit_id = new_id()
        visit = replace(command.visit, visit_id=visit_id)
        try:
            coding = coder.code(visit)  # the one coding of this visit
            charge = self_pay_charge(command, coding, rules)
            claim = _draft(command, visit, coding, now)
        except ClaimsDomainError as refused:
            outcomes.append(refused)
            continue
        existing[key] = visit_id  # the same external id again in this batch is a repeat
        parties = command.parties
        rows.append(dict(
            visit_id=visit_id, practice_id=command.practice_id, external_visit_id=command.external_visit_id,
            patient_id=command.patient_id, billing_model=command.billing_model,
            payer_id=parties.payer.payer_id if parties else None, date_of_service=visit.date_of_service,
            document=dict(command.record), received_at=received))
        if claim is not None:
            drafted.append(claim)
        supervising = visit.supervising
        announced.append(VisitCompletedV1(
            visit_id=visit_id, practice_id=command.practice_id, patient_id=command.patient_id,
            billing_model=command.billing_model, payer_id=visit.payer_id, date_of_service=visit.date_of_service,
            rendering_npi=visit.rendering.npi, program=visit.program,
            services=[CodedService(procedure_code=ln.procedure_code, modifiers=list(ln.modifiers), units=ln.units)
                      for ln in coding.lines],
            self_pay_charge=charge, rendering_credential=visit.rendering.credential,
            supervising_npi=supervising.npi if supervising else None,
            supervising_credential=supervising.credential if supervising else None,
            billing_npi=command.billing_npi, place_of_service=coding.place_of_service,
            diagnosis_codes=list(coding.diagnoses)))
        outcomes.append(RecordedVisit(visit_id, coding, charge, claim.claim_id if claim else None))
    await uow.visits.add(rows)
    if drafted:
        await scrub_or_wait(uow, drafted, rules, today=today, at=now)  # they wait for their facts (or have none)
        await uow.claims.add(drafted)
        uow.add(*drafted)
    for event in announced:
        uow.announce(event, event.visit_id)
    return outcomes


def _draft(command: RecordVisit, visit: CompletedVisit, coding: CodingResult, now: datetime) -> Claim | None:
    """An insured visit's claim, drafted from its coding (a self-pay visit has none)."""
    parties = command.parties
    if command.billing_model != "insurance" or parties is None:
        return None
    claim_id = new_id()
    return draft_claim(coding, visit, claim_id=claim_id, patient_control_number=patient_control_number(claim_id),
                       payer=parties.payer, billing_provider=parties.billing_provider, subscriber=parties.subscriber,
                       patient=parties.patient, prior_authorization=parties.prior_authorization,
                       practice_id=command.practice_id, patient_id=command.patient_id, at=now)
