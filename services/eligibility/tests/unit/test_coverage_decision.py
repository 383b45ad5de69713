"""The coverage decision lives in the domain, not in the 271 reader: the reader says what the payer said, the
domain decides status, next action and which rejections may simply be sent again."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import pytest
from eligibility.domain.benefits import (
    BenefitsSnapshot,
    CarveOut,
    CoverageStatus,
    EligibilityResult,
    NextAction,
    PayerAnswer,
    Rejection,
    ResultStatus,
)
from eligibility.domain.coverage import active_on, assess, primary
from rcm_shared.x12.code_tables import reject_reason

from .conftest import decided


def rejection(code: str, follow_up: str = "C", level: str = "subscriber") -> Rejection:
    description, category = reject_reason(code)
    return Rejection(code, level, description, category, follow_up_code=follow_up)


@pytest.mark.parametrize(("code", "follow_up", "action", "retryable"), [
    ("75", "C", NextAction.CORRECT_AND_RESEND, False),  # member not found: fix the member
    ("42", "R", NextAction.RETRY_LATER, True),  # the payer could not answer now
    ("42", "N", NextAction.CONTACT_PAYER, False),  # ... but says not to send it again
    ("51", "C", NextAction.CONTACT_PAYER, False),  # provider not on file: a call, not a correction
    ("57", "W", NextAction.RETRY_LATER, True),  # wait 30 days and resubmit
    ("9Z", "", NextAction.CONTACT_PAYER, False),  # a code we do not know
])
def test_a_rejection_without_coverage_decides_the_next_action(code: str, follow_up: str, action: NextAction,
                                                                retryable: bool) -> None:
    result = assess(PayerAnswer(trace_number="T1", rejections=(rejection(code, follow_up),)))
    assert (result.status, result.next_action) == (ResultStatus.REJECTED, action)
    assert result.rejections[0].retryable is retryable


def test_coverage_outranks_a_benefit_level_rejection_and_a_carve_out_sends_us_on() -> None:
    active = BenefitsSnapshot(CoverageStatus.ACTIVE)
    assert assess(PayerAnswer(rejections=(rejection("AG", level="benefit"),), snapshot=active)).status \
        is ResultStatus.ACTIVE
    carved = BenefitsSnapshot(CoverageStatus.ACTIVE, carve_outs=(CarveOut("PR", "BH PLAN", "BH1"),))
    assert assess(PayerAnswer(snapshot=carved)).next_action is NextAction.CHECK_OTHER_PAYER
    inactive = BenefitsSnapshot(CoverageStatus.INACTIVE)
    assert assess(PayerAnswer(snapshot=inactive)).next_action is NextAction.COLLECT_NEW_COVERAGE
    assert assess(PayerAnswer(snapshot=BenefitsSnapshot(CoverageStatus.UNKNOWN))).next_action \
        is NextAction.CONTACT_PAYER


def test_the_decision_keeps_everything_the_payer_said() -> None:
    answer = PayerAnswer(trace_number="T9", member_id="M1", is_dependent=True, transaction_control="0007",
                         snapshot=BenefitsSnapshot(CoverageStatus.ACTIVE, coverage_begin=date(2026, 1, 1)))
    result = assess(answer)
    assert all(getattr(result, f.name) == getattr(answer, f.name) for f in fields(PayerAnswer))


def test_no_readable_answer_is_unknown_contact_the_payer() -> None:
    assert primary([]) == EligibilityResult(status=ResultStatus.UNKNOWN, next_action=NextAction.CONTACT_PAYER)


def test_stored_coverage_covers_a_date_inside_the_stated_period_only() -> None:
    assert active_on(True, date(2026, 1, 1), date(2026, 12, 31), date(2026, 6, 1))
    assert not active_on(True, date(2026, 1, 1), date(2026, 12, 31), date(2027, 1, 1))
    assert not active_on(False, None, None, date(2026, 6, 1))
    assert active_on(True, None, None, date(2026, 6, 1))


def test_the_271_reader_itself_decides_nothing() -> None:
    from eligibility.edi.x12_271 import read_271

    from .test_x12_271 import HEADER, interchange_271, subscriber

    text = interchange_271(*HEADER, *subscriber(aaa="AAA*N**75*C"))
    (answer,) = read_271(text)
    assert not hasattr(answer, "status") and answer.rejections[0].code == "75"
    assert decided(text)[0].status is ResultStatus.REJECTED
