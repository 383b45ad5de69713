"""The coverage decision: what a payer's answer means for the practice, and what to do next.

The 271 reader (``edi.x12_271``) only says what the payer said (``PayerAnswer``: benefits, carve-outs, AAA
rejections with the standard's meanings). Here that answer becomes an ``EligibilityResult``:

* a carve-out (mental health handled by another payer) on coverage that is not inactive: ask the named payer next;
* a rejection above the benefit level with no clear coverage: rejected, and the next action follows from what
  the rejection is about (its category) and what the payer allows (its follow-up action);
* otherwise the coverage status: active (nothing to do), inactive (collect new coverage; or the carve-out payer),
  unknown (contact the payer).

``active_on(begin, end, active, day)`` says whether stored coverage covers a date of service.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from datetime import date

from rcm_shared.x12 import code_tables

from eligibility.domain.benefits import (
    BenefitsSnapshot,
    CoverageStatus,
    EligibilityResult,
    NextAction,
    PayerAnswer,
    Rejection,
    ResultStatus,
)

# What the front desk does about each kind of rejection, when the payer's follow-up action does not say more.
_BY_CATEGORY: dict[str, NextAction] = {
    code_tables.PAYER_UNAVAILABLE: NextAction.RETRY_LATER,
    code_tables.MEMBER_ID: NextAction.CORRECT_AND_RESEND,
    code_tables.MEMBER_NOT_FOUND: NextAction.CORRECT_AND_RESEND,
    code_tables.MEMBER_DATA: NextAction.CORRECT_AND_RESEND,
    code_tables.PROVIDER: NextAction.CORRECT_AND_RESEND,
    code_tables.PROVIDER_NOT_ELIGIBLE: NextAction.CONTACT_PAYER,
    code_tables.DATES: NextAction.CORRECT_AND_RESEND,
    code_tables.REQUEST_DATA: NextAction.CORRECT_AND_RESEND,
    code_tables.OTHER: NextAction.CONTACT_PAYER,
}


def _follow_up(rejection: Rejection) -> str:
    return code_tables.follow_up_action(rejection.follow_up_code)[1]


def is_retryable(category: str, follow_up: str) -> bool:
    """May the same inquiry simply be sent again later? Never when the payer says not to resubmit."""
    if follow_up == code_tables.DO_NOT_RESUBMIT:
        return False
    return category == code_tables.PAYER_UNAVAILABLE or follow_up == code_tables.WAIT


def next_action_for(category: str, follow_up: str) -> NextAction:
    """The next action for a rejection of ``category`` with the payer's follow-up action category."""
    if follow_up == code_tables.DO_NOT_RESUBMIT:
        return NextAction.CONTACT_PAYER
    if category == code_tables.PAYER_UNAVAILABLE or follow_up == code_tables.WAIT:
        return NextAction.RETRY_LATER
    return _BY_CATEGORY.get(category, NextAction.CONTACT_PAYER)


def _decide(snapshot: BenefitsSnapshot | None, rejections: Sequence[Rejection]) -> tuple[ResultStatus, NextAction]:
    blocking = [r for r in rejections if r.level != "benefit"]
    if snapshot is not None and snapshot.carve_outs and snapshot.coverage_status != CoverageStatus.INACTIVE:
        status = ResultStatus.ACTIVE if snapshot.coverage_status == CoverageStatus.ACTIVE else ResultStatus.UNKNOWN
        return status, NextAction.CHECK_OTHER_PAYER
    if blocking and (snapshot is None or snapshot.coverage_status == CoverageStatus.UNKNOWN):
        first = blocking[0]
        return ResultStatus.REJECTED, next_action_for(first.category, _follow_up(first))
    if snapshot is None:
        return ResultStatus.UNKNOWN, NextAction.CONTACT_PAYER
    if snapshot.coverage_status == CoverageStatus.ACTIVE:
        return ResultStatus.ACTIVE, NextAction.NONE
    if snapshot.coverage_status == CoverageStatus.INACTIVE:
        if snapshot.carve_outs:
            return ResultStatus.INACTIVE, NextAction.CHECK_OTHER_PAYER
        return ResultStatus.INACTIVE, NextAction.COLLECT_NEW_COVERAGE
    return ResultStatus.UNKNOWN, NextAction.CONTACT_PAYER


def assess(answer: PayerAnswer) -> EligibilityResult:
    """Our decision on one patient's answer."""
    rejections = tuple(replace(r, retryable=is_retryable(r.category, _follow_up(r))) for r in answer.rejections)
    status, action = _decide(answer.snapshot, rejections)
    said = {f.name: getattr(answer, f.name) for f in fields(PayerAnswer)}
    return EligibilityResult(**{**said, "rejections": rejections}, status=status, next_action=action)


def assess_all(answers: Iterable[PayerAnswer]) -> list[EligibilityResult]:
    return [assess(answer) for answer in answers]


def primary(results: Sequence[EligibilityResult]) -> EligibilityResult:
    """The result a check is filed under: the first patient loop, or 'unknown, contact the payer' when the payer's
    answer could not be read."""
    return results[0] if results else EligibilityResult()


def active_on(active: bool, begin: date | None, end: date | None, day: date) -> bool:
    """Stored coverage covers ``day``: active when checked, and ``day`` inside the period the payer stated."""
    return active and (begin is None or begin <= day) and (end is None or day <= end)
