"""Use case of the sliding scale: a patient's household size and income, with the proof received, give a tier of
the written policy until the proof expires (then the full fee, and the patient is due a re-assessment)."""

from __future__ import annotations

from rcm_shared.db.types import new_id

from patient_billing.domain.commands import RecordIncome
from patient_billing.domain.pricing import IncomeAssessment, SlidingScaleRules, assess_income
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork


async def record_income(uow: PatientBillingUnitOfWork, command: RecordIncome, rules: SlidingScaleRules
                        ) -> IncomeAssessment:
    assessment = assess_income(rules, assessment_id=new_id(), patient_id=command.patient_id,
                               household_size=command.household_size, annual_income=command.annual_income,
                               proof_received_on=command.proof_received_on)
    await uow.patients.add_assessment(command.practice_id, assessment)
    return assessment
