"""Integration-event contracts: one envelope, a versioned payload model per event type, topic constants."""

from __future__ import annotations

from rcm_shared.contracts.authorizations import (
    AuthorizationChangedV1,
    ProviderCredentialingV1,
    VisitAuthorizationDeterminedV1,
)
from rcm_shared.contracts.base import EventPayload
from rcm_shared.contracts.claims import (
    ClaimLineV1,
    ClaimStatusChangedV1,
    ClaimSubmittedV1,
    CodedService,
    VisitCompletedV1,
)
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
from rcm_shared.contracts.registry import REGISTRY, UnknownEventType, decode_payload, envelope_for
from rcm_shared.contracts.remittance import (
    ClaimPaymentPostedV1,
    ClaimPaymentPostedV2,
    DenialRaisedV1,
    EraReceivedV1,
    PatientResponsibilityAssessedV1,
)

__all__ = [
    "REGISTRY",
    "AuthorizationChangedV1",
    "ClaimLineV1",
    "ClaimPaymentPostedV1",
    "ClaimPaymentPostedV2",
    "ClaimStatusChangedV1",
    "ClaimSubmittedV1",
    "CodedService",
    "DenialRaisedV1",
    "EligibilityCheckedV1",
    "EraReceivedV1",
    "EventEnvelope",
    "EventPayload",
    "GoodFaithEstimateDisputeOpenedV1",
    "GoodFaithEstimateIssuedV1",
    "GoodFaithEstimateThresholdApproachedV1",
    "MessageExchangedV1",
    "PatientBalanceChangedV1",
    "PatientChargePostedV1",
    "PatientPaymentReceivedV1",
    "PatientPlanChangedV1",
    "PatientResponsibilityAssessedV1",
    "ProviderCredentialingV1",
    "StatementIssuedV1",
    "UnknownEventType",
    "VisitAuthorizationDeterminedV1",
    "VisitCompletedV1",
    "VisitScheduledV1",
    "decode_payload",
    "envelope_for",
]
