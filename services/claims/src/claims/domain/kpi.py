"""The claims report's figures (``GET /v1/reports/claims``), computed from plain facts: first-pass clean-claim rate,
days from service to submission, rejection rate and reasons. No I/O; ``service_layer/views.py`` reads the facts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class ClaimsReportFacts:
    by_status: Mapping[str, int]  # claims of the practice by status
    first_pass: Mapping[str, int]  # original claims (frequency 1) by where their first scrub left them
    service_and_submission: Iterable[tuple[date, datetime]]  # each submitted claim's date of service and submission
    rejection_reasons: Iterable[str | None]  # each rejection's reason codes, comma-separated
    submitted: int  # claims ever submitted


def claims_report(facts: ClaimsReportFacts) -> dict[str, Any]:
    """First-pass clean-claim rate: of the original claims the scrubber decided, the share it passed the first time.
    Median days from the date of service to submission. Rejection rate: rejections per claim submitted."""
    scrubbed = facts.first_pass.get("scrubbed", 0)
    decided = scrubbed + facts.first_pass.get("held", 0)
    lags = sorted((submitted_at.date() - service).days for service, submitted_at in facts.service_and_submission)
    reasons = list(facts.rejection_reasons)
    by_reason: dict[str, int] = {}
    for reason in reasons:
        for code in (reason or "unspecified").split(","):
            by_reason[code] = by_reason.get(code, 0) + 1
    return {"claims_by_status": dict(facts.by_status),
            "first_pass_clean_claim_rate": round(scrubbed / decided, 4) if decided else None,
            "days_from_service_to_submission_median": lags[len(lags) // 2] if lags else None,
            "rejection_rate": round(len(reasons) / facts.submitted, 4) if facts.submitted else None,
            "rejections_by_reason": by_reason}
