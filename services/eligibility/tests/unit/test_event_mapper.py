"""The one place integration events are built: what each domain event announces."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from eligibility.adapters.event_mapper import announce
from eligibility.domain.benefits import (
    BenefitsSnapshot,
    CoverageStatus,
    EligibilityResult,
    NetworkBenefits,
    NextAction,
    ResultStatus,
    ServiceBenefits,
    VisitLimit,
)
from eligibility.domain.events import CoverageChecked, SessionLimitAlertRaised, VisitScheduled
from rcm_shared.contracts import EligibilityCheckedV1, VisitScheduledV1

DAY = date(2026, 12, 2)


def test_a_check_is_announced_with_its_benefits_and_coverage_period() -> None:
    snapshot = BenefitsSnapshot(CoverageStatus.ACTIVE, coverage_begin=date(2026, 1, 1), coverage_end=date(2026, 12, 31),
                                benefits=(ServiceBenefits("A6", True, in_network=NetworkBenefits(
                                    copay=Decimal("30.00"), visit_limit=VisitLimit(20, 4))),))
    result = EligibilityResult(status=ResultStatus.ACTIVE, next_action=NextAction.NONE, snapshot=snapshot)
    ((payload, subject),) = announce(CoverageChecked("chk-1", "practice-a", "pt-1", "SBXHP", DAY, result))
    assert isinstance(payload, EligibilityCheckedV1) and subject == "chk-1"
    assert (payload.active, payload.as_of, payload.copay, payload.visits_remaining) == (True, DAY, Decimal("30.00"), 4)
    assert (payload.coverage_from, payload.coverage_to) == (date(2026, 1, 1), date(2026, 12, 31))


def test_an_unreadable_answer_is_announced_inactive_with_no_period() -> None:
    ((payload, _),) = announce(CoverageChecked("chk-2", "practice-a", "pt-1", "SBXHP", DAY, EligibilityResult()))
    assert isinstance(payload, EligibilityCheckedV1)
    assert (payload.active, payload.coverage_from, payload.coverage_to, payload.copay) == (False, None, None, None)


def test_a_session_limit_alert_and_a_booked_visit() -> None:
    ((alert, key),) = announce(SessionLimitAlertRaised("practice-a", "pt-1", "SBXHP", "chk-1", True, DAY, 2,
                                                       "nearly_reached", date(2026, 1, 1), None))
    assert isinstance(alert, EligibilityCheckedV1) and key == "chk-1"
    assert (alert.session_limit_alert, alert.visits_remaining, alert.coverage_from) == (True, 2, date(2026, 1, 1))
    ((booked, appointment),) = announce(VisitScheduled("practice-a", "appt-1", "pt-1", "SBXHP", DAY, False, None,
                                                       "90837"))
    assert isinstance(booked, VisitScheduledV1) and appointment == "appt-1"
    assert (booked.cpt_code, booked.service_date, booked.payer_id) == ("90837", DAY, "SBXHP")
    assert announce(object()) == []
