"""Use cases for completed visits (visit-completed from claims): an insured visit makes the patient's share wait
for the payer; a self-pay visit is charged to its responsible party at once, priced here (fee schedule, then the
sliding-scale tier the patient's proof of income gives on the date of service). The event's ``self_pay_charge``
(claims' old price) is not read: patient billing owns self-pay prices."""

from __future__ import annotations

from datetime import datetime

from rcm_shared.contracts import VisitCompletedV1
from rcm_shared.db.types import new_id

from patient_billing.domain.commands import AwaitInsurance, ChargeSelfPayVisit
from patient_billing.domain.ledger import EntryKind, JournalEntry
from patient_billing.domain.pricing import PricingRules, tier_on
from patient_billing.service_layer import corrections, ledger
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork


async def visit_completed(uow: PatientBillingUnitOfWork, event: VisitCompletedV1, rules: PricingRules, *,
                          at: datetime) -> None:
    if event.voided or event.replaces_visit_id:
        await corrections.visit_corrected(uow, event, rules, at=at)
        return
    if event.billing_model == "insurance":
        await ledger.await_insurance(uow, AwaitInsurance(event.practice_id, event.patient_id, event.date_of_service,
                                                    event.program, event.rendering_npi))
    elif event.billing_model == "self_pay":
        await charge_self_pay_visit(uow, self_pay_visit(event), rules, at=at)


def self_pay_visit(event: VisitCompletedV1) -> ChargeSelfPayVisit:
    return ChargeSelfPayVisit(event.practice_id, event.visit_id, event.patient_id, event.date_of_service,
                              tuple(s.procedure_code for s in event.services), event.rendering_credential,
                              event.program, event.rendering_npi)


async def charge_self_pay_visit(uow: PatientBillingUnitOfWork, command: ChargeSelfPayVisit, rules: PricingRules, *,
                                at: datetime) -> JournalEntry | None:
    """The full fee (Dr A/R, Cr self-pay revenue), then the sliding-scale discount as an adjustment on that charge
    (Dr adjustments, Cr A/R), each naming the rule that set it. Once per visit."""
    source = f"visit:{command.visit_id}"
    if await uow.accounts.has_source(command.practice_id, source):
        return None
    price = rules.fees.price(command.procedure_codes, command.credential, command.program, command.date_of_service)
    assessment = tier_on(await uow.patients.assessments(command.practice_id, command.patient_id),
                         command.date_of_service)
    account = await uow.accounts.for_patient(command.practice_id, command.patient_id, command.date_of_service)
    detail = {"price_rule": price.rule, "appointment_type": price.appointment_type,
              "intake": "true" if price.intake else "false", "fee_rules": rules.fees.version}
    charge = account.post_charge(
        entry_id=new_id(), source_id=source, patient_id=command.patient_id, service_date=command.date_of_service,
        amount=price.amount, at=at, kind=EntryKind.CHARGE, visit_id=command.visit_id, program=command.program,
        clinician=command.clinician, detail=detail)
    if assessment is not None:
        policy = next(p for p in rules.sliding_scale.policies if p.policy_id == assessment.policy_id)
        tier = next(t for t in policy.tiers if t.name == assessment.tier)
        discount = price.amount - policy.discounted(price.amount, tier)
        if discount > 0:
            account.adjust(entry_id=new_id(), source_id=f"sliding-scale:{command.visit_id}", amount=discount,
                           on=command.date_of_service, at=at, item_id=charge.entry_id, visit_id=command.visit_id,
                           reason=f"sliding-scale tier {tier.name} ({policy.policy_id}, {tier.percent_of_fee}% of fee)")
    await uow.keep(account)
    return charge
