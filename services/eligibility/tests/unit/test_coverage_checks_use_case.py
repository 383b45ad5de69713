"""Real-time coverage checks with a fake unit of work and the sandbox payer: what is kept and what is announced."""

from __future__ import annotations

from datetime import date

import pytest
from eligibility.domain.benefits import Member, NextAction, PayerRef, ProviderRef, ResultStatus
from eligibility.domain.commands import CheckCoverage
from eligibility.domain.exceptions import PayerDidNotAnswer, PayerUnavailable, UnsendableInquiry
from eligibility.domain.model import CheckOrigin
from eligibility.service_layer.coverage_checks import PayerLink, check_coverage
from rcm_shared.contracts import EligibilityCheckedV1

from .conftest import NOW, PARTIES, sandbox_payer, shipped_rules
from .fakes import FakeUnitOfWork

DAY = date(2026, 12, 2)
PHRASES = shipped_rules().telehealth


def command(member_id: str, patient_id: str = "pt-1", born: date | None = date(1988, 4, 12)) -> CheckCoverage:
    return CheckCoverage(practice_id="practice-a", patient_id=patient_id, payer=PayerRef("SBXHP", "SANDBOX"),
                         provider=ProviderRef("1234567893", "RIVERSIDE COUNSELING"),
                         subscriber=Member("SAMPLE", "ALEX", born, member_id), service_date=DAY)


async def test_an_active_answer_is_kept_on_file_and_announced_with_its_coverage_period(uow: FakeUnitOfWork) -> None:
    outcome = await check_coverage(uow, sandbox_payer(), PHRASES, command("SBX000001"), now=NOW)

    assert outcome.results[0].status is ResultStatus.ACTIVE and outcome.follow_up_check_ids == []
    (check,) = uow.checks.rows
    assert (check.check_id, check.origin, check.primary.status) == (outcome.check_id, CheckOrigin.REQUEST,
                                                                    ResultStatus.ACTIVE)
    benefits = uow.benefits.rows[("practice-a", "pt-1", "SBXHP")]
    assert benefits.active and benefits.checked_on == DAY and benefits.coverage_begin == date(2025, 1, 1)
    assert uow.insurance.rows[("practice-a", "pt-1", "SBXHP")].subscriber.member_id == "SBX000001"
    (event,) = uow.outbox.payloads(EligibilityCheckedV1)
    assert (event.check_id, event.active, event.as_of) == (outcome.check_id, True, DAY)
    assert (event.coverage_from, event.coverage_to) == (date(2025, 1, 1), None)
    assert event.copay is not None and not event.session_limit_alert
    assert uow.outbox.staged[0][2] == outcome.check_id, "keyed by the check id, never the patient"


async def test_an_inactive_member_is_kept_inactive_with_the_end_of_coverage(uow: FakeUnitOfWork) -> None:
    outcome = await check_coverage(uow, sandbox_payer(), PHRASES, command("SBX000002", born=date(1975, 9, 3)),
                                   now=NOW)
    assert outcome.results[0].next_action is NextAction.COLLECT_NEW_COVERAGE
    (event,) = uow.outbox.payloads(EligibilityCheckedV1)
    assert event.active is False and event.coverage_to == date(2025, 12, 31)
    assert uow.benefits.rows[("practice-a", "pt-1", "SBXHP")].active is False


async def test_a_carve_out_is_followed_at_once_and_both_checks_are_announced(uow: FakeUnitOfWork) -> None:
    outcome = await check_coverage(uow, sandbox_payer(), PHRASES, command("SBX000003", born=date(1992, 1, 20)),
                                   now=NOW)
    assert outcome.results[0].next_action is NextAction.CHECK_OTHER_PAYER
    (follow_up,) = outcome.follow_up_check_ids
    first, second = uow.checks.rows
    assert (second.check_id, second.payer_id, second.follows_check_id) == (follow_up, "SBXBH", first.check_id)
    assert [e.payer_id for e in uow.outbox.payloads(EligibilityCheckedV1)] == ["SBXHP", "SBXBH"]
    assert ("practice-a", "pt-1", "SBXBH") in uow.insurance.rows, "the carve-out payer's member details are kept"


async def test_a_rejection_is_announced_but_leaves_the_benefits_on_file_alone(uow: FakeUnitOfWork) -> None:
    await check_coverage(uow, sandbox_payer(), PHRASES, command("SBX000001"), now=NOW)
    outcome = await check_coverage(uow, sandbox_payer(), PHRASES, command("SBX123456"), now=NOW)
    assert outcome.results[0].status is ResultStatus.REJECTED
    assert uow.benefits.rows[("practice-a", "pt-1", "SBXHP")].active is True, "a rejection says nothing of coverage"
    assert [e.active for e in uow.outbox.payloads(EligibilityCheckedV1)] == [True, False]


class Garbled:
    async def exchange(self, request_270: str) -> str:
        return "ISA*00*not a 271"


async def test_an_unreadable_answer_is_kept_and_announced_as_unknown(uow: FakeUnitOfWork) -> None:
    outcome = await check_coverage(uow, PayerLink(Garbled(), PARTIES), PHRASES, command("SBX000001"), now=NOW)
    assert outcome.results == [] and outcome.unreadable_response is not None
    (check,) = uow.checks.rows
    assert check.primary.status is ResultStatus.UNKNOWN and check.primary.next_action is NextAction.CONTACT_PAYER
    assert uow.benefits.rows == {}
    assert [e.active for e in uow.outbox.payloads(EligibilityCheckedV1)] == [False]


class Down:
    async def exchange(self, request_270: str) -> str:
        raise PayerUnavailable("CORE endpoint answered HTTP 503", error_code="HTTP503")


async def test_a_payer_that_does_not_answer_leaves_nothing_behind(uow: FakeUnitOfWork) -> None:
    with pytest.raises(PayerDidNotAnswer):
        await check_coverage(uow, PayerLink(Down(), PARTIES), PHRASES, command("SBX000001"), now=NOW)
    assert uow.checks.rows == [] and uow.insurance.rows == {} and uow.outbox.staged == []


async def test_values_a_270_cannot_carry_are_refused_naming_the_element(uow: FakeUnitOfWork) -> None:
    with pytest.raises(UnsendableInquiry) as refused:
        await check_coverage(uow, sandbox_payer(), PHRASES, command(""), now=NOW)
    assert "NM109" in str(refused.value) and "SAMPLE" not in str(refused.value)
    assert uow.checks.rows == [] and uow.outbox.staged == []
