"""Counting a poll of completed visits against yearly session caps (fake unit of work): one alert per benefit
year and kind, the threshold from the rules, voided and corrected visits not counted, other visits ignored."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from eligibility.domain.model import BenefitsOnFile
from eligibility.domain.rulebook import EligibilityRules
from eligibility.domain.session_limits import SessionLimitRules
from eligibility.service_layer.session_limits import count_completed_visits
from rcm_shared.contracts import CodedService, EligibilityCheckedV1, VisitCompletedV1

from .conftest import rules_file, shipped_rules
from .fakes import FakeUnitOfWork

RULES = shipped_rules()
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def capped(uow: FakeUnitOfWork, patient_id: str = "pt-1", limit: int = 10, remaining: int | None = None) -> None:
    uow.benefits.rows[("practice-a", patient_id, "SBXHP")] = BenefitsOnFile(
        "practice-a", patient_id, "SBXHP", f"chk-{patient_id}", True, date(2026, 1, 5), date(2026, 1, 1), None, {},
        limit, remaining, None, NOW)


def visit(visit_id: str, day: int, patient_id: str = "pt-1", **changes: Any) -> VisitCompletedV1:
    values: dict[str, Any] = {"visit_id": visit_id, "practice_id": "practice-a", "patient_id": patient_id,
                              "billing_model": "insurance", "payer_id": "SBXHP", "date_of_service": date(2026, 3, day),
                              "rendering_npi": "1234567893", "services": [CodedService(procedure_code="90837")],
                              **changes}
    return VisitCompletedV1(**values)


def alerts(uow: FakeUnitOfWork) -> list[tuple[str, str, int]]:
    return [(a["patient_id"], a["kind"], a["remaining"]) for a in uow.session_limits.alerts]


async def count(uow: FakeUnitOfWork, *visits: VisitCompletedV1, rules: EligibilityRules = RULES) -> None:
    async with uow:
        await count_completed_visits(uow, visits, rules)


async def test_a_poll_is_counted_at_once_and_alerts_come_in_visit_order(uow: FakeUnitOfWork) -> None:
    capped(uow, limit=5)
    capped(uow, "pt-2", limit=20)
    await count(uow, *(visit(f"v-{n}", n) for n in range(1, 6)), visit("v-other", 1, "pt-2"))

    assert alerts(uow) == [("pt-1", "nearly_reached", 3), ("pt-1", "reached", 0)]
    events = uow.outbox.payloads(EligibilityCheckedV1)
    assert [(e.visits_remaining, e.session_limit_alert, e.check_id) for e in events] == [
        (3, True, "chk-pt-1"), (0, True, "chk-pt-1")]
    assert events[0].coverage_from == date(2026, 1, 1) and events[0].as_of == date(2026, 3, 2)


async def test_each_alert_is_raised_once_however_often_visits_arrive(uow: FakeUnitOfWork) -> None:
    capped(uow, limit=5)
    await count(uow, *(visit(f"v-{n}", n) for n in range(1, 4)))
    await count(uow, visit("v-3", 3), visit("v-4", 4))  # a redelivered visit and the next one
    await count(uow, visit("v-5", 5), visit("v-6", 6))
    assert [k for _, k, _ in alerts(uow)] == ["nearly_reached", "reached", "exceeded"]
    assert len(uow.outbox.payloads(EligibilityCheckedV1)) == 3


async def test_the_threshold_is_the_rules_for_the_payer_and_date(uow: FakeUnitOfWork) -> None:
    early = SessionLimitRules.from_rules(rules_file("session_limits.yaml", {"thresholds": [
        {"payer_id": "*", "effective_from": "2024-01-01", "alert_at_remaining": 3},
        {"payer_id": "SBXHP", "effective_from": "2026-01-01", "alert_at_remaining": 6}]}))
    rules = EligibilityRules(RULES.freshness, RULES.payer_limits, RULES.nightly_batch, early, RULES.telehealth)
    capped(uow, limit=10)
    await count(uow, *(visit(f"v-{n}", n) for n in range(1, 5)), rules=rules)
    assert alerts(uow) == [("pt-1", "nearly_reached", 6)]


async def test_the_payers_own_count_is_stricter_when_it_says_less_is_left(uow: FakeUnitOfWork) -> None:
    capped(uow, limit=20, remaining=2)  # the 271 said 2 visits left on 5 January
    await count(uow, visit("v-1", 1))
    assert alerts(uow) == [("pt-1", "nearly_reached", 1)]


async def test_voided_replaced_self_pay_and_uncapped_visits_raise_nothing(uow: FakeUnitOfWork) -> None:
    capped(uow, limit=5)  # alerts from 3 left
    await count(uow, visit("v-1", 1), visit("v-2", 2, voided=True), visit("v-sp", 3, billing_model="self_pay"),
                visit("v-x", 4, payer_id=None), visit("v-free", 5, "pt-nolimit"))
    assert alerts(uow) == [], "one counted visit of three"
    await count(uow, visit("v-1b", 1, replaces_visit_id="v-1"))
    assert alerts(uow) == [], "a correction replaces the visit it corrects: still one"
    assert uow.session_limits.visits[("practice-a", "v-1")].voided
    assert ("practice-a", "v-free") in uow.session_limits.visits, "kept, for first-visit questions"
    await count(uow, visit("v-3", 3))
    assert alerts(uow) == [("pt-1", "nearly_reached", 3)], "v-1b and v-3: two of five"
