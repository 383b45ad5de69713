"""Which answers of an automatic check (nightly batch, re-check) need a person, and what they should do.

``attention_for(result)`` turns an ``EligibilityResult`` (or ``None``: no readable answer) into an ``Attention``
or ``None`` when nothing is to be done (active coverage; a carve-out, which is followed by a check of the named
payer automatically). Details are the standard's code descriptions only, never member data.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from eligibility.domain.benefits import EligibilityResult, NextAction, ResultStatus


class WorkItemKind(enum.StrEnum):
    REJECTED = "rejected"  # the payer refused the inquiry (AAA: member not found, bad member id, provider ...)
    INACTIVE_COVERAGE = "inactive_coverage"
    PAYER_UNAVAILABLE = "payer_unavailable"  # no answer, AAA 42/80, or the batch was never accepted / answered
    NO_CLEAR_ANSWER = "no_clear_answer"  # a 271 that says neither active nor inactive, or that cannot be read
    NO_INSURANCE_ON_FILE = "no_insurance_on_file"  # a check is due but we hold no member details to send one
    UNSENDABLE_REQUEST = "unsendable_request"  # the member details on file cannot be written into a 270


@dataclass(frozen=True, slots=True)
class Attention:
    kind: WorkItemKind
    next_action: str
    reason_codes: tuple[str, ...] = ()
    detail: str = ""


def attention_for(result: EligibilityResult | None) -> Attention | None:
    if result is None:
        return Attention(WorkItemKind.NO_CLEAR_ANSWER, NextAction.CONTACT_PAYER.value,
                         detail="the payer's answer could not be read")
    if result.next_action == NextAction.CHECK_OTHER_PAYER:
        return None
    codes = tuple(r.code for r in result.rejections if r.level != "benefit")
    detail = "; ".join(dict.fromkeys(r.description for r in result.rejections if r.level != "benefit"))
    if result.status == ResultStatus.ACTIVE:
        return None
    if result.status == ResultStatus.REJECTED:
        kind = WorkItemKind.PAYER_UNAVAILABLE if result.next_action == NextAction.RETRY_LATER else \
            WorkItemKind.REJECTED
        return Attention(kind, result.next_action.value, codes, detail)
    if result.status == ResultStatus.INACTIVE:
        return Attention(WorkItemKind.INACTIVE_COVERAGE, result.next_action.value, codes,
                         "coverage is not active on the date asked")
    return Attention(WorkItemKind.NO_CLEAR_ANSWER, result.next_action.value, codes,
                     detail or "the payer said neither active nor inactive")


NO_INSURANCE = Attention(WorkItemKind.NO_INSURANCE_ON_FILE, "check_coverage",
                         detail="a re-check is due but no member details are on file: run a coverage check")


def unsendable(where: str) -> Attention:
    """The member details on file cannot be written into a 270 (``where``: the segment and element)."""
    return Attention(WorkItemKind.UNSENDABLE_REQUEST, NextAction.CORRECT_AND_RESEND.value, detail=where[:200])


def payer_unavailable(detail: str) -> Attention:
    return Attention(WorkItemKind.PAYER_UNAVAILABLE, NextAction.RETRY_LATER.value, detail=detail)
