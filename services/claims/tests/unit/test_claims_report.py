"""The claims report's figures from plain facts (domain/kpi.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from claims.domain.kpi import ClaimsReportFacts, claims_report


def test_first_pass_rate_median_lag_and_rejections_per_claim_submitted() -> None:
    facts = ClaimsReportFacts(
        by_status={"submitted": 3, "held": 1}, first_pass={"scrubbed": 3, "held": 1, "awaiting_facts": 4},
        service_and_submission=[(date(2026, 3, 1), datetime(2026, 3, 4, 9, tzinfo=UTC)),
                                (date(2026, 3, 1), datetime(2026, 3, 2, 9, tzinfo=UTC)),
                                (date(2026, 3, 1), datetime(2026, 3, 11, 9, tzinfo=UTC))],
        rejection_reasons=["A7,562", None], submitted=4)
    report = claims_report(facts)
    assert report["first_pass_clean_claim_rate"] == 0.75, "waiting for facts is not a scrub outcome"
    assert report["days_from_service_to_submission_median"] == 3
    assert report["rejection_rate"] == 0.5
    assert report["rejections_by_reason"] == {"A7": 1, "562": 1, "unspecified": 1}
    assert report["claims_by_status"] == {"submitted": 3, "held": 1}


def test_no_claims_no_rates() -> None:
    report = claims_report(ClaimsReportFacts({}, {}, [], [], 0))
    assert (report["first_pass_clean_claim_rate"], report["days_from_service_to_submission_median"],
            report["rejection_rate"]) == (None, None, None)
