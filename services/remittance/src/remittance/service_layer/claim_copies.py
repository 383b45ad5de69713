"""Use case: keep a copy of each claim we billed (claim-submitted), to match the 835's CLPs with, and book its
charge (Dr payer A/R, Cr charges). A copy that arrives after its payment releases the unapplied cash waiting for it."""

from __future__ import annotations

from rcm_shared.db.types import utcnow

from remittance.domain.commands import RememberSubmittedClaim
from remittance.domain.rulebook import Rulebook
from remittance.service_layer.posting import claim_facts
from remittance.service_layer.unapplied import apply_waiting_payments_for
from remittance.service_layer.unit_of_work import RemittanceUnitOfWork


async def remember_submitted_claim(uow: RemittanceUnitOfWork, command: RememberSubmittedClaim,
                                   rules: Rulebook) -> None:
    # the claim key before reading: see SqlClaimCopyRepository.lock_keys
    await uow.claim_copies.lock_keys(command.practice_id, [command.patient_control_number])
    lines = [{"line_number": ln.line_number, "procedure_code": ln.procedure_code, "modifiers": list(ln.modifiers),
              "units": ln.units, "charge": str(ln.charge),
              "contracted_rate": str(ln.contracted_rate) if ln.contracted_rate is not None else None}
             for ln in command.lines]
    values = dict(practice_id=command.practice_id, patient_control_number=command.patient_control_number,
                  patient_id=command.patient_id, payer_id=command.payer_id, visit_id=command.visit_id,
                  total_charge=command.total_charge, date_of_service=command.date_of_service,
                  rendering_npi=command.rendering_npi, program=command.program, lines=lines, submitted_at=utcnow())
    if not await uow.claim_copies.remember(command.claim_id, values):
        return  # a copy we had: refreshed, the charge was booked the first time
    await uow.postings.write_entries(command.practice_id, None, [rules.posting.charge(claim_facts(command.claim_id,
                                                                                                  values))])
    await apply_waiting_payments_for(uow, rules, command.practice_id, command.patient_control_number)
