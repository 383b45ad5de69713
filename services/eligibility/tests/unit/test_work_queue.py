"""Which answers of unattended checks need a person: read from real sandbox 271s."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from eligibility.domain.benefits import EligibilityRequest, EligibilityResult, Member, PayerRef, ProviderRef
from eligibility.domain.work_queue import WorkItemKind, attention_for
from eligibility.edi.x12_270 import build_270
from eligibility.sandbox.payer import SandboxPayer
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

from .conftest import decided, shipped_plan_table

CONTROL = ControlNumbers(9, 9, 1, datetime(2026, 3, 2, 10, 0))
PAYER = SandboxPayer(shipped_plan_table())


def answer(member_id: str) -> EligibilityResult:
    request = EligibilityRequest(PayerRef("SBXHP", "SANDBOX HEALTH PLAN"), ProviderRef("1234567893", "CLINIC"),
                                 Member("SAMPLE", "ALEX", None, member_id), date(2026, 3, 2), f"T{member_id}")
    (result,) = decided(PAYER.answer(build_270(request, CONTROL, InterchangeParties("CLINIC", "SBXHP")), CONTROL))
    return result


def test_active_coverage_and_a_carve_out_need_nobody() -> None:
    assert attention_for(answer("SBX000001")) is None
    assert attention_for(answer("SBX000003")) is None  # carved out: the named payer is asked automatically


@pytest.mark.parametrize(("member_id", "kind", "action", "codes"), [
    ("SBX000002", WorkItemKind.INACTIVE_COVERAGE, "collect_new_coverage", ()),
    ("SBX123456", WorkItemKind.REJECTED, "correct_and_resend", ("75",)),
    ("BAD-ID", WorkItemKind.REJECTED, "correct_and_resend", ("72",)),
    ("SBX999999", WorkItemKind.PAYER_UNAVAILABLE, "retry_later", ("42",)),
])
def test_problems_become_work_items_with_codes_and_next_action(member_id: str, kind: WorkItemKind, action: str,
                                                               codes: tuple[str, ...]) -> None:
    attention = attention_for(answer(member_id))
    assert attention is not None
    assert (attention.kind, attention.next_action, attention.reason_codes) == (kind, action, codes)
    assert "SAMPLE" not in attention.detail and member_id not in attention.detail


def test_no_readable_answer_is_a_work_item() -> None:
    attention = attention_for(None)
    assert attention is not None and attention.kind is WorkItemKind.NO_CLEAR_ANSWER
