"""Which payload model each (event type, schema version) uses, and the envelope builder."""

from __future__ import annotations

from rcm_shared.contracts.authorizations import (
    AuthorizationChangedV1,
    VisitAuthorizationDeterminedV1,
)
from rcm_shared.contracts.base import EventPayload
from rcm_shared.contracts.claims import ClaimStatusChangedV1, ClaimSubmittedV1, VisitCompletedV1
from rcm_shared.contracts.eligibility import EligibilityCheckedV1, VisitScheduledV1
from rcm_shared.contracts.envelope import EventEnvelope
from rcm_shared.contracts.messaging import MessageExchangedV1
from rcm_shared.contracts.patient_billing import (
    GoodFaithEstimateDisputeOpenedV1,
    GoodFaithEstimateIssuedV1,
    GoodFaithEstimateThresholdApproachedV1,
    PatientBalanceChangedV1,
    PatientChargePostedV1,
    PatientPaymentReceivedV1,
    PatientPlanChangedV1,
    StatementIssuedV1,
)
from rcm_shared.contracts.remittance import (
    ClaimPaymentPostedV1,
    ClaimPaymentPostedV2,
    DenialRaisedV1,
    EraReceivedV1,
    PatientResponsibilityAssessedV1,
)
from rcm_shared.contracts.work_items import WorkItemOpenedV1, WorkItemResolvedV1

_MODELS: tuple[type[EventPayload], ...] = (
    VisitCompletedV1,
    ClaimSubmittedV1,
    ClaimStatusChangedV1,
    EraReceivedV1,
    ClaimPaymentPostedV1,
    ClaimPaymentPostedV2,
    DenialRaisedV1,
    PatientResponsibilityAssessedV1,
    PatientBalanceChangedV1,
    EligibilityCheckedV1,
    AuthorizationChangedV1,
    VisitScheduledV1,
    VisitAuthorizationDeterminedV1,
    WorkItemOpenedV1,
    WorkItemResolvedV1,
    PatientChargePostedV1,
    PatientPaymentReceivedV1,
    PatientPlanChangedV1,
    StatementIssuedV1,
    GoodFaithEstimateIssuedV1,
    GoodFaithEstimateThresholdApproachedV1,
    GoodFaithEstimateDisputeOpenedV1,
    MessageExchangedV1,
)

REGISTRY: dict[tuple[str, int], type[EventPayload]] = {(m.event_type, m.schema_version): m for m in _MODELS}


class UnknownEventType(ValueError):
    pass


def envelope_for(
    payload: EventPayload,
    *,
    source: str,
    subject: str,
    practice_id: str,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    traceparent: str | None = None,
) -> EventEnvelope:
    return EventEnvelope(
        type=payload.event_type,
        schema_version=payload.schema_version,
        source=source,
        subject=subject,
        practice_id=practice_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        traceparent=traceparent,
        data=payload.model_dump(mode="json"),
    )


def decode_payload(envelope: EventEnvelope) -> EventPayload:
    model = REGISTRY.get((envelope.type, envelope.schema_version))
    if model is None:
        raise UnknownEventType("no contract for this event type and schema version")
    return model.model_validate(envelope.data)
