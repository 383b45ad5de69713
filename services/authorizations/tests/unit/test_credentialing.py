from __future__ import annotations

from datetime import date

import pytest
from authorizations.domain.credentialing import CredentialingReason, CredentialingRegistry

CLINICIAN = "1111111111"
SUPERVISOR = "1222222222"
REGISTRY = CredentialingRegistry.from_dict({
    "enrollments": [
        {"npi": CLINICIAN, "payer_id": "ACME", "plan": "", "effective_from": "2026-01-01",
         "effective_to": "2026-06-30"},
        {"npi": CLINICIAN, "payer_id": "ACME", "plan": "", "effective_from": "2026-08-01"},
        {"npi": CLINICIAN, "payer_id": "BLUE", "plan": "MEDICAL", "effective_from": "2025-01-01"},
        {"npi": SUPERVISOR, "payer_id": "BLUE", "plan": "BH-CARVEOUT", "effective_from": "2025-01-01"},
        {"npi": SUPERVISOR, "payer_id": "STRICT", "plan": "", "effective_from": "2025-01-01"},
    ],
    "supervisions": [
        {"supervisee_npi": "1333333333", "supervisor_npi": SUPERVISOR, "effective_from": "2026-02-01",
         "effective_to": "2026-02-28"},
        {"supervisee_npi": CLINICIAN, "supervisor_npi": SUPERVISOR, "effective_from": "2025-01-01"},
    ],
    "supervision_policies": [
        {"payer_id": "BLUE", "allows_supervisor_billing": True, "effective_from": "2025-01-01"},
        {"payer_id": "STRICT", "allows_supervisor_billing": False, "effective_from": "2025-01-01"},
    ],
})


@pytest.mark.parametrize(
    ("dos", "allowed", "reason"),
    [
        (date(2025, 12, 31), False, CredentialingReason.ENROLLMENT_NOT_IN_FORCE),
        (date(2026, 1, 1), True, CredentialingReason.ENROLLED),  # first day counts
        (date(2026, 6, 30), True, CredentialingReason.ENROLLED),  # last day counts
        (date(2026, 7, 1), False, CredentialingReason.ENROLLMENT_NOT_IN_FORCE),  # gap in enrollment
        (date(2026, 7, 31), False, CredentialingReason.ENROLLMENT_NOT_IN_FORCE),
        (date(2026, 8, 1), True, CredentialingReason.ENROLLED),
    ],
)
def test_enrollment_edge_days(dos: date, allowed: bool, reason: CredentialingReason) -> None:
    decision = REGISTRY.is_credentialed(CLINICIAN, "ACME", "ANY-PLAN", dos)
    assert (decision.allowed, decision.reason) == (allowed, reason)
    assert decision.billing_npi == (CLINICIAN if allowed else None)


def test_carve_out_plan_billed_under_supervisor_when_payer_allows() -> None:
    decision = REGISTRY.is_credentialed(CLINICIAN, "BLUE", "BH-CARVEOUT", date(2026, 3, 1))
    assert decision.allowed and decision.billing_npi == SUPERVISOR
    assert decision.reason is CredentialingReason.BILLED_UNDER_SUPERVISOR
    assert REGISTRY.is_credentialed(CLINICIAN, "BLUE", "MEDICAL", date(2026, 3, 1)).billing_npi == CLINICIAN


def test_supervision_dates_are_inclusive_and_payer_policy_matters() -> None:
    supervisee = "1333333333"
    assert REGISTRY.is_credentialed(supervisee, "BLUE", "BH-CARVEOUT", date(2026, 2, 28)).allowed
    after = REGISTRY.is_credentialed(supervisee, "BLUE", "BH-CARVEOUT", date(2026, 3, 1))
    assert not after.allowed and after.reason is CredentialingReason.NOT_ENROLLED_WITH_PAYER
    strict = REGISTRY.is_credentialed(CLINICIAN, "STRICT", "", date(2026, 3, 1))
    assert not strict.allowed and strict.reason is CredentialingReason.NOT_ENROLLED_WITH_PAYER


def test_plan_mismatch_and_supervisor_not_enrolled() -> None:
    registry = CredentialingRegistry.from_dict({
        "enrollments": [{"npi": CLINICIAN, "payer_id": "BLUE", "plan": "MEDICAL", "effective_from": "2025-01-01"}],
    })
    decision = registry.is_credentialed(CLINICIAN, "BLUE", "BH-CARVEOUT", date(2026, 3, 1))
    assert decision.reason is CredentialingReason.NOT_ENROLLED_IN_PLAN
    unenrolled_supervisor = REGISTRY.is_credentialed(CLINICIAN, "BLUE", "OTHER-PLAN", date(2026, 3, 1))
    assert unenrolled_supervisor.reason is CredentialingReason.SUPERVISOR_NOT_ENROLLED


def test_bad_registry_data_is_refused() -> None:
    with pytest.raises(ValueError, match="allows_supervisor_billing"):
        CredentialingRegistry.from_dict({"supervision_policies": [
            {"payer_id": "X", "allows_supervisor_billing": "yes", "effective_from": "2025-01-01"}]})
