"""Topic names: kebab-case, past tense. Each topic has a dead-letter twin ``<topic>.dlq``."""

from __future__ import annotations

VISIT_COMPLETED = "visit-completed"
CLAIM_SUBMITTED = "claim-submitted"
CLAIM_STATUS_CHANGED = "claim-status-changed"
ERA_RECEIVED = "era-received"
CLAIM_PAYMENT_POSTED = "claim-payment-posted"
DENIAL_RAISED = "denial-raised"
PATIENT_RESPONSIBILITY_ASSESSED = "patient-responsibility-assessed"
PATIENT_BALANCE_CHANGED = "patient-balance-changed"
ELIGIBILITY_CHECKED = "eligibility-checked"
AUTHORIZATION_CHANGED = "authorization-changed"
VISIT_SCHEDULED = "visit-scheduled"
VISIT_AUTHORIZATION_DETERMINED = "visit-authorization-determined"
WORK_ITEM_OPENED = "work-item-opened"
WORK_ITEM_RESOLVED = "work-item-resolved"
PATIENT_CHARGE_POSTED = "patient-charge-posted"
PATIENT_PAYMENT_RECEIVED = "patient-payment-received"
PATIENT_PLAN_CHANGED = "patient-plan-changed"
STATEMENT_ISSUED = "statement-issued"
GFE_ISSUED = "gfe-issued"
GFE_THRESHOLD_APPROACHED = "gfe-threshold-approached"
GFE_DISPUTE_OPENED = "gfe-dispute-opened"
MESSAGE_EXCHANGED = "message-exchanged"

ALL_TOPICS: tuple[str, ...] = (
    VISIT_COMPLETED,
    CLAIM_SUBMITTED,
    CLAIM_STATUS_CHANGED,
    ERA_RECEIVED,
    CLAIM_PAYMENT_POSTED,
    DENIAL_RAISED,
    PATIENT_RESPONSIBILITY_ASSESSED,
    PATIENT_BALANCE_CHANGED,
    ELIGIBILITY_CHECKED,
    AUTHORIZATION_CHANGED,
    VISIT_SCHEDULED,
    VISIT_AUTHORIZATION_DETERMINED,
    WORK_ITEM_OPENED,
    WORK_ITEM_RESOLVED,
    PATIENT_CHARGE_POSTED,
    PATIENT_PAYMENT_RECEIVED,
    PATIENT_PLAN_CHANGED,
    STATEMENT_ISSUED,
    GFE_ISSUED,
    GFE_THRESHOLD_APPROACHED,
    GFE_DISPUTE_OPENED,
    MESSAGE_EXCHANGED,
)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


def all_topics_with_dead_letters() -> list[str]:
    return [*ALL_TOPICS, *(dead_letter_topic(t) for t in ALL_TOPICS)]
