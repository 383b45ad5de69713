"""Charge capture: a signed visit is kept, coded once, and (insured) drafted into its claim in the same
transaction that announces ``visit-completed``. The claim waits for its facts (``awaiting_facts``) until
authorizations and eligibility have announced them; the scrub consumer takes it from there."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from rcm_shared.contracts import CodedService, VisitCompletedV1
from rcm_shared.db.types import new_id, utcnow

from claims.domain.coding import ChargeCoder, CodingResult, draft_claim
from claims.domain.commands import RecordVisit
from claims.domain.exceptions import VisitAlreadyRecorded
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
    existing = await uow.visits.recorded(command.practice_id, command.external_visit_id)
    if existing is not None:
        raise VisitAlreadyRecorded(existing)
    visit_id = new_id()
    visit = replace(command.visit, visit_id=visit_id)
    coding = ChargeCoder(rules).code(visit)  # the one coding of this visit
    charge = self_pay_charge(command, coding, rules)
    parties = command.parties
    await uow.visits.add(dict(
        visit_id=visit_id, practice_id=command.practice_id, external_visit_id=command.external_visit_id,
        patient_id=command.patient_id, billing_model=command.billing_model,
        payer_id=parties.payer.payer_id if parties else None, date_of_service=visit.date_of_service,
        document=dict(command.record), received_at=utcnow()))
    claim_id: str | None = None
    if command.billing_model == "insurance" and parties is not None:
        claim_id = new_id()
        claim = draft_claim(coding, visit, claim_id=claim_id, patient_control_number=patient_control_number(claim_id),
                            payer=parties.payer, billing_provider=parties.billing_provider,
                            subscriber=parties.subscriber, patient=parties.patient,
                            prior_authorization=parties.prior_authorization, practice_id=command.practice_id,
                            patient_id=command.patient_id, at=now)
        await scrub_or_wait(uow, [claim], rules, today=today, at=now)  # it waits for its facts (or has none)
        await uow.claims.add([claim])
        uow.add(claim)
    supervising = visit.supervising
    uow.announce(VisitCompletedV1(
        visit_id=visit_id, practice_id=command.practice_id, patient_id=command.patient_id,
        billing_model=command.billing_model, payer_id=visit.payer_id, date_of_service=visit.date_of_service,
        rendering_npi=visit.rendering.npi, program=visit.program,
        services=[CodedService(procedure_code=ln.procedure_code, modifiers=list(ln.modifiers), units=ln.units)
                  for ln in coding.lines],
        self_pay_charge=charge, rendering_credential=visit.rendering.credential,
        supervising_npi=supervising.npi if supervising else None,
        supervising_credential=supervising.credential if supervising else None,
        billing_npi=command.billing_npi), visit_id)
    return RecordedVisit(visit_id, coding, charge, claim_id)
