from __future__ import annotations

from datetime import date

import pytest
from authorizations.domain.credentialing import CredentialingReason, CredentialingRegistry, supervision_policies

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


SUPERVISEE = "1444444444"


def supervised_registry(*policies: dict[str, object], payer_defaults: list[dict[str, object]] | None = None
                        ) -> CredentialingRegistry:
    registry = CredentialingRegistry.from_dict({
        "enrollments": [{"npi": SUPERVISOR, "payer_id": "ACME", "plan": "", "effective_from": "2025-01-01"}],
        "supervisions": [{"supervisee_npi": SUPERVISEE, "supervisor_npi": SUPERVISOR, "effective_from": "2025-01-01"}],
        "supervision_policies": list(policies),
    })
    registry.payer_defaults = supervision_policies({"supervision_policies": payer_defaults or []})
    return registry


def test_the_policy_says_which_npis_the_claim_names() -> None:
    as_rendering = supervised_registry({"payer_id": "ACME", "allows_supervisor_billing": True,
                                        "effective_from": "2025-01-01"})
    decision = as_rendering.is_credentialed(SUPERVISEE, "ACME", "", date(2026, 3, 1), "LMSW")
    assert (decision.allowed, decision.billing_npi, decision.rendering_npi, decision.supervising_npi) == (
        True, SUPERVISOR, SUPERVISOR, None), "2310B is the supervisor, the supervisee is not named"
    as_supervising = supervised_registry({"payer_id": "ACME", "allows_supervisor_billing": True,
                                          "report_supervisor_as": "supervising", "effective_from": "2025-01-01"})
    decision = as_supervising.is_credentialed(SUPERVISEE, "ACME", "", date(2026, 3, 1), "LMSW")
    assert (decision.rendering_npi, decision.supervising_npi) == (SUPERVISEE, SUPERVISOR), "2310B + 2310D"
    enrolled = as_supervising.is_credentialed(SUPERVISOR, "ACME", "", date(2026, 3, 1), "LCSW")
    assert (enrolled.reason, enrolled.rendering_npi, enrolled.supervising_npi) == (
        CredentialingReason.ENROLLED, SUPERVISOR, None)


def test_supervisor_billing_only_for_the_credentials_the_payer_names() -> None:
    registry = supervised_registry({"payer_id": "ACME", "allows_supervisor_billing": True,
                                    "credentials": ["lmsw", "LPC-A"], "effective_from": "2025-01-01"})
    assert registry.is_credentialed(SUPERVISEE, "ACME", "", date(2026, 3, 1), "LMSW").allowed
    for credential in ("LMFT-A", ""):  # not listed, or not said: never a guess
        refused = registry.is_credentialed(SUPERVISEE, "ACME", "", date(2026, 3, 1), credential)
        assert (refused.allowed, refused.reason, refused.rendering_npi) == (
            False, CredentialingReason.CREDENTIAL_NOT_BILLABLE_UNDER_SUPERVISOR, None)


def test_the_practices_own_policy_comes_before_the_payer_default() -> None:
    default = [{"payer_id": "ACME", "allows_supervisor_billing": True, "effective_from": "2023-01-01"}]
    assert supervised_registry(payer_defaults=default).is_credentialed(
        SUPERVISEE, "ACME", "", date(2026, 3, 1), "LMSW").allowed
    refused_by_contract = supervised_registry(
        {"payer_id": "ACME", "allows_supervisor_billing": False, "effective_from": "2025-01-01"},
        payer_defaults=default)
    assert not refused_by_contract.is_credentialed(SUPERVISEE, "ACME", "", date(2026, 3, 1), "LMSW").allowed


def test_packaged_payer_defaults_are_read() -> None:
    from authorizations.bootstrap import load_rulebook

    acme = next(p for p in load_rulebook().supervision_defaults if p.payer_id == "ACME")
    assert acme.allows_supervisor_billing and acme.credentials == {"LMSW", "LPC-A", "LMFT-A"}
    assert acme.effective_from == date(2023, 1, 1) and acme.report_supervisor_as.value == "rendering"
    with pytest.raises(ValueError, match="report_supervisor_as"):
        supervision_policies({"supervision_policies": [{"payer_id": "X", "allows_supervisor_billing": True,
                                                        "effective_from": "2025-01-01",
                                                        "report_supervisor_as": "billing"}]})
