"""Which integration events (``rcm_shared.contracts``) announce eligibility's domain events: the one place where
a Kafka payload is built. The unit of work calls ``announce`` for every event its aggregates recorded and stages
the result in the outbox, in the same transaction as the change.

* ``CoverageChecked`` -> ``eligibility-checked`` (keyed by the check id): every check, real time, nightly batch or
  re-check, with the coverage period the payer stated (``coverage_from`` / ``coverage_to``: claims scrubs a date
  of service against them).
* ``SessionLimitAlertRaised`` -> ``eligibility-checked`` with ``session_limit_alert`` (keyed by the check id of
  the benefits on file).
* ``VisitScheduled`` -> ``visit-scheduled`` (keyed by the appointment id; authorizations forecasts from it).
"""

from __future__ import annotations

from typing import Any

from rcm_shared.contracts import EligibilityCheckedV1, VisitScheduledV1
from rcm_shared.unit_of_work import Announcement

from eligibility.domain.benefits import ResultStatus
from eligibility.domain.events import CoverageChecked, SessionLimitAlertRaised, VisitScheduled
from eligibility.domain.model import mental_health_visits


def announce(event: Any) -> list[Announcement]:
    if isinstance(event, CoverageChecked):
        return [(_checked(event), event.check_id)]
    if isinstance(event, SessionLimitAlertRaised):
        return [(EligibilityCheckedV1(
            check_id=event.check_id, practice_id=event.practice_id, patient_id=event.patient_id,
            payer_id=event.payer_id, as_of=event.as_of, active=event.active, visits_remaining=event.visits_remaining,
            session_limit_alert=True, coverage_from=event.coverage_begin, coverage_to=event.coverage_end),
            event.check_id)]
    if isinstance(event, VisitScheduled):
        return [(VisitScheduledV1(
            visit_id=event.visit_id, practice_id=event.practice_id, patient_id=event.patient_id,
            payer_id=event.payer_id, service_date=event.service_date, cpt_code=event.cpt_code,
            cancelled=event.cancelled, first_visit=event.first_visit), event.visit_id)]
    return []


def _checked(event: CoverageChecked) -> EligibilityCheckedV1:
    result = event.result
    snapshot = result.snapshot
    benefit = snapshot.mental_health_benefit() if snapshot else None
    terms = benefit.for_network(True) if benefit else None
    deductible = terms.deductible_individual.remaining if terms and terms.deductible_individual else None
    carve = next((c.identifier for c in result.carve_outs if c.identifier), None)
    _, remaining = mental_health_visits(result)
    return EligibilityCheckedV1(
        check_id=event.check_id, practice_id=event.practice_id, patient_id=event.patient_id,
        payer_id=event.payer_id, as_of=event.service_date, active=result.status == ResultStatus.ACTIVE,
        copay=terms.copay if terms else None, coinsurance_percent=terms.coinsurance_percent if terms else None,
        deductible_remaining=deductible, visits_remaining=remaining, carve_out_payer_id=carve,
        coverage_from=snapshot.coverage_begin if snapshot else None,
        coverage_to=snapshot.coverage_end if snapshot else None)
