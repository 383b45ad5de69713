"""The sandbox payer answers our own 270s with 271s our reader understands."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from eligibility.domain.benefits import (
    EligibilityRequest,
    EligibilityResult,
    Member,
    NextAction,
    PayerRef,
    ProviderRef,
    ResultStatus,
)
from eligibility.edi.x12_270 import build_270, build_270_batch, build_270_transaction
from eligibility.sandbox.payer import SandboxDataError, SandboxPayer, SandboxPlanTable
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

from .conftest import decided, shipped_plan_table

CONTROL = ControlNumbers(5, 5, 5, datetime(2026, 3, 2, 10, 0))


@pytest.fixture(scope="module")
def payer() -> SandboxPayer:
    return SandboxPayer(shipped_plan_table())


def ask(payer: SandboxPayer, member_id: str, dependent: Member | None = None,
        birth_date: date | None = None) -> EligibilityResult:
    request = EligibilityRequest(
        payer=PayerRef("SBXHP", "SANDBOX HEALTH PLAN"), provider=ProviderRef("1234567893", "CALM CLINIC"),
        subscriber=Member("SAMPLE", "ALEX", birth_date, member_id), service_date=date(2026, 3, 2),
        trace_number=f"T-{member_id}", dependent=dependent,
    )
    (result,) = decided(payer.answer(build_270(request, CONTROL, InterchangeParties("CLINIC", "SBXHP")), CONTROL))
    assert result.trace_number == f"T-{member_id}"
    return result


def test_active_member_with_costs_and_telehealth(payer: SandboxPayer) -> None:
    result = ask(payer, "SBX000001")
    assert result.status is ResultStatus.ACTIVE and result.next_action is NextAction.NONE
    assert result.snapshot is not None and result.snapshot.telehealth_covered is True
    a6 = result.snapshot.benefit("A6")
    assert a6 is not None
    assert a6.in_network.copay == Decimal("30.00")
    deductible = a6.in_network.deductible_individual
    assert deductible is not None and deductible.remaining == Decimal("350.00")
    assert a6.out_of_network.coinsurance_percent == Decimal("40.00")


def test_inactive_member(payer: SandboxPayer) -> None:
    result = ask(payer, "SBX000002")
    assert result.status is ResultStatus.INACTIVE
    assert result.snapshot is not None and result.snapshot.coverage_end == date(2025, 12, 31)


def test_unknown_member_is_aaa_75(payer: SandboxPayer) -> None:
    result = ask(payer, "SBX123456")
    assert result.status is ResultStatus.REJECTED and [r.code for r in result.rejections] == ["75"]


def test_malformed_member_id_is_aaa_72_and_unavailable_is_42(payer: SandboxPayer) -> None:
    assert [r.code for r in ask(payer, "NOTANID").rejections] == ["72"]
    busy = ask(payer, "SBX999999")
    assert busy.next_action is NextAction.RETRY_LATER and busy.rejections[0].retryable


def test_birth_date_mismatch_is_aaa_71(payer: SandboxPayer) -> None:
    assert [r.code for r in ask(payer, "SBX000001", birth_date=date(1950, 1, 1)).rejections] == ["71"]


def test_carve_out_plan_names_behavioral_health_payer(payer: SandboxPayer) -> None:
    result = ask(payer, "SBX000003")
    assert result.next_action is NextAction.CHECK_OTHER_PAYER
    (carve,) = result.carve_outs
    assert carve.name == "SANDBOX BEHAVIORAL HEALTH" and "A6" in carve.service_types


def test_twenty_visit_plan_reports_remaining(payer: SandboxPayer) -> None:
    result = ask(payer, "SBX000004")
    assert result.snapshot is not None
    limit = result.snapshot.benefit("A6").for_network().visit_limit  # type: ignore[union-attr]
    assert limit is not None and (limit.limit, limit.remaining) == (20, 2)
    assert result.snapshot.benefit("A6").in_network.authorization_required is True  # type: ignore[union-attr]


def test_plan_without_telehealth(payer: SandboxPayer) -> None:
    result = ask(payer, "SBX000005")
    assert result.snapshot is not None and result.snapshot.telehealth_covered is False
    assert result.snapshot.benefit("A6").covered is True  # type: ignore[union-attr]


def test_known_and_unknown_dependents(payer: SandboxPayer) -> None:
    known = ask(payer, "SBX000001", dependent=Member("SAMPLE", "ROBIN", date(2012, 6, 30)))
    assert known.is_dependent and known.status is ResultStatus.ACTIVE
    unknown = ask(payer, "SBX000001", dependent=Member("SAMPLE", "KIM", date(2013, 1, 1)))
    assert unknown.status is ResultStatus.REJECTED and unknown.rejections[0].code == "67"


def test_answer_is_deterministic(payer: SandboxPayer) -> None:
    request = build_270(
        EligibilityRequest(PayerRef("SBXHP", "S"), ProviderRef("1234567893", "C"), Member("A", "B", None, "SBX000001"),
                           date(2026, 3, 2), "T1"),
        CONTROL, InterchangeParties("CLINIC", "SBXHP"),
    )
    assert payer.answer(request, CONTROL) == payer.answer(request, CONTROL)


@pytest.mark.parametrize(
    "data",
    [
        {"plans": "nope"},
        {"plans": [], "members": [{"member_id": "X", "plan_id": "missing", "coverage_begin": "2025-01-01"}]},
        {"plans": [{"plan_id": "P", "visits_per_year": "20"}]},
        {"plans": [{"plan_id": "P", "in_network": {"copay": 1.5}}]},
    ],
)
def test_bad_plan_tables_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(SandboxDataError):
        SandboxPlanTable.from_dict(data)


def test_sandbox_answers_x12sdk_generated_270s(payer: SandboxPayer) -> None:
    from x12sdk.generate import generate_270

    text = generate_270(seed=4, members=6, dependent_rate=0.5)
    traces = [line.split("*")[2] for line in text.replace("\n", "").split("~") if line.startswith("TRN*")]
    results = decided(payer.answer(text, CONTROL))
    assert [r.trace_number for r in results] == traces
    assert all(r.status is ResultStatus.REJECTED and r.rejections[0].code == "72" for r in results)  # foreign ids


def test_a_batch_gets_one_answer_per_inquiry_in_order(payer: SandboxPayer) -> None:
    members = ["SBX000004", "SBX123456", "SBX000002", "SBX000001"]
    parties = InterchangeParties("CLINIC", "SBXHP")
    transactions = [build_270_transaction(EligibilityRequest(
        PayerRef("SBXHP", "SANDBOX HEALTH PLAN"), ProviderRef("1234567893", "CALM CLINIC"),
        Member("SAMPLE", "ALEX", None, member_id), date(2026, 3, 2), f"T-{member_id}"), f"{i:04d}",
        CONTROL.created_at, parties) for i, member_id in enumerate(members, 1)]
    answer = payer.answer(build_270_batch(transactions, CONTROL, parties), CONTROL)
    assert answer.count("ST*271*") == len(members)
    results = decided(answer)
    assert [r.trace_number for r in results] == [f"T-{m}" for m in members]
    assert [r.status for r in results] == [ResultStatus.ACTIVE, ResultStatus.REJECTED, ResultStatus.INACTIVE,
                                           ResultStatus.ACTIVE]
