"""Which integration events announce what a claim recorded: each domain event becomes a ``claim_transitions`` row
(the claim's history: ``transition``) and, except the draft, one ``claim-status-changed`` (``announcements``, the
unit of work's mapper). Subjects are claim ids, never PHI."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from rcm_shared.contracts import ClaimStatusChangedV1
from rcm_shared.observability import metrics
from rcm_shared.unit_of_work import Announcement

from claims.domain import events as ev
from claims.domain.model import Claim, ClaimStatus

SOURCE = "claims"
CLAIM_REJECTIONS = Counter("rcm_claim_rejections_total", "Claims rejected by the clearinghouse or payer, by reason",
                           ["reason"])


def recorded_changes(practice_id: str, claim: Claim) -> tuple[list[dict[str, Any]], list[ClaimStatusChangedV1]]:
    """The claim's recorded events as ``claim_transitions`` rows and ``claim-status-changed`` payloads (and
    counted in the metrics)."""
    transitions: list[dict[str, Any]] = []
    changes: list[ClaimStatusChangedV1] = []
    for event in claim.pull_events():
        reasons = list(getattr(event, "error_codes", ()) or getattr(event, "reason_codes", ()) or ())
        transitions.append(dict(claim_id=claim.claim_id, from_status=event.previous_status, to_status=event.status,
                                reason=",".join(reasons)[:200] or None, at=event.occurred_at))
        if isinstance(event, ev.ClaimDrafted):
            continue
        changes.append(ClaimStatusChangedV1(
            claim_id=claim.claim_id, practice_id=practice_id, previous_status=event.previous_status,
            status=event.status, reason_codes=reasons))
        metrics.BUSINESS_EVENTS.labels(SOURCE, f"claim_{event.status}").inc()
        if event.status == ClaimStatus.REJECTED.value:
            for code in reasons or ["unspecified"]:  # status / reason codes, never patient data
                CLAIM_REJECTIONS.labels(code[:20]).inc()
    return transitions, changes


def transition(event: ev.ClaimEvent) -> dict[str, Any]:
    """The ``claim_transitions`` row of one recorded event (the claim's history)."""
    reasons = list(getattr(event, "error_codes", ()) or getattr(event, "reason_codes", ()) or ())
    return dict(claim_id=event.claim_id, from_status=event.previous_status, to_status=event.status,
                reason=",".join(reasons)[:200] or None, at=event.occurred_at)


def announcements(event: ev.ClaimEvent) -> list[Announcement]:
    """The unit of work's event mapper: ``claim-status-changed`` for every move but the draft (and the metrics)."""
    if isinstance(event, ev.ClaimDrafted):
        return []
    reasons = list(getattr(event, "error_codes", ()) or getattr(event, "reason_codes", ()) or ())
    metrics.BUSINESS_EVENTS.labels(SOURCE, f"claim_{event.status}").inc()
    if event.status == ClaimStatus.REJECTED.value:
        for code in reasons or ["unspecified"]:  # status / reason codes, never patient data
            CLAIM_REJECTIONS.labels(code[:20]).inc()
    return [(ClaimStatusChangedV1(claim_id=event.claim_id, practice_id=event.practice_id,
                                  previous_status=event.previous_status, status=event.status, reason_codes=reasons),
             event.claim_id)]
