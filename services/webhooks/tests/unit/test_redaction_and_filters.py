"""Payloads carry ids and non-PHI facts unless PHI is allowed; the allow-lists (rules/payload_fields.yaml) name only
fields the contracts have, cover every published event type, and never list a PHI field. Filters refuse unknown
event types."""

from __future__ import annotations

import pytest
from rcm_shared.contracts.registry import REGISTRY
from webhooks.bootstrap import load_rulebook
from webhooks.domain.exceptions import UnknownEventType
from webhooks.domain.filters import TEST_EVENT_TYPE, matches, validate_filters
from webhooks.domain.redaction import delivered_event

FIELDS = load_rulebook().payload_fields
#: PHI in our contracts: dates of service / coverage, clinical codes, the clinicians who saw the patient, the
#: patient control number (the practice's account number for the patient), benefit figures of the member.
PHI_FIELDS = {"date_of_service", "service_date", "as_of", "coverage_from", "coverage_to", "services", "lines",
              "cpt_code", "procedure_code", "rendering_npi", "supervising_npi", "billing_npi", "patient_control_number",
              "copay_amount", "deductible_remaining", "visits_remaining", "providers", "authorization_number",
              "end_date", "program", "self_pay_charge", "file_sha256"}
KNOWN = {event_type for event_type, _ in REGISTRY}


def test_every_event_type_has_an_allow_list_of_real_non_phi_fields() -> None:
    assert set(FIELDS.allowed) >= KNOWN, f"missing: {sorted(KNOWN - set(FIELDS.allowed))}"
    for (event_type, _version), _model in REGISTRY.items():
        listed = FIELDS.allowed[event_type]
        assert not listed & PHI_FIELDS, f"{event_type}: PHI listed: {sorted(listed & PHI_FIELDS)}"
    for event_type, listed in FIELDS.allowed.items():
        if event_type == TEST_EVENT_TYPE:
            continue
        fields = set().union(*(m.model_fields for (t, _v), m in REGISTRY.items() if t == event_type))
        assert listed <= fields, f"{event_type}: not in any version of the contract: {sorted(listed - fields)}"


CLAIM = {"specversion": "1.0", "id": "e1", "type": "claim.submitted", "subject": "c1", "practiceid": "practice-a",
         "data": {"claim_id": "c1", "patient_id": "p1", "date_of_service": "2026-11-30", "total_charge": "150.00",
                  "patient_control_number": "PCN-SMITH", "lines": [{"procedure_code": "90837"}]}}


def test_without_phi_only_listed_fields_travel_and_the_event_says_what_was_withheld() -> None:
    event = delivered_event(CLAIM, FIELDS, include_phi=False)
    assert event["data"] == {"claim_id": "c1", "patient_id": "p1", "total_charge": "150.00"}
    assert event["phiwithheld"] is True
    assert event["withheldfields"] == "date_of_service,lines,patient_control_number"
    assert "PCN-SMITH" not in str(event) and "2026-11-30" not in str(event)
    assert {k: v for k, v in event.items() if k not in ("data", "phiwithheld", "withheldfields")} == \
        {k: v for k, v in CLAIM.items() if k != "data"}, "the same CloudEvent, same id"


def test_with_phi_the_event_is_delivered_whole() -> None:
    assert delivered_event(CLAIM, FIELDS, include_phi=True) == CLAIM


def test_an_unlisted_type_carries_ids_only() -> None:
    event = delivered_event({"type": "something.new", "data": {"claim_id": "c1", "note": "x"}}, FIELDS,
                            include_phi=False)
    assert event["data"] == {"claim_id": "c1"}


def test_filters_name_types_families_or_everything() -> None:
    assert validate_filters(["claim.*", "denial.raised", "*", "denial.raised"], KNOWN) == \
        ("claim.*", "denial.raised", "*")
    assert matches(("claim.*",), "claim.submitted") and not matches(("claim.*",), "denial.raised")
    assert matches(("*",), "era.received") and not matches(("*",), TEST_EVENT_TYPE)
    with pytest.raises(UnknownEventType) as refused:
        validate_filters(["claim.submitted", "claim.sumbitted"], KNOWN)
    assert refused.value.field == "event_types[1]"
    with pytest.raises(UnknownEventType):
        validate_filters(["nothing.*"], KNOWN)
    with pytest.raises(UnknownEventType):
        validate_filters([], KNOWN)
