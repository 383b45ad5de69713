"""Claims' FHIR codec, without a database: every claim status has one FHIR Claim.status, a claim as billed and the
payer's answers (accepted, rejected with its codes, paid, partially paid) are resources fhir.resources accepts,
and nothing in them names the patient."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from claims.domain.model import ClaimStatus, ReportedProviders
from claims.edi import fhir
from hypothesis import given
from hypothesis import strategies as st
from rcm_shared.fhir.api import validated

from .conftest import CHILD, SUPERVISOR_NPI, claim, clinician

AT = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def test_every_claim_status_is_one_fhir_status() -> None:
    for status in ClaimStatus:
        assert [name for name, ours in fhir.CLAIM_STATUSES.items() if status in ours] == [
            fhir.fhir_claim_status(status.value)]
    assert set(fhir.CLAIM_STATUSES) == {"draft", "active", "cancelled", "entered-in-error"}
    assert fhir.fhir_claim_status("voided") == fhir.fhir_claim_status("corrected") == "cancelled"


ALNUM = "0123456789ABCDEFGHJKLMNPQRSTVWXYZ"


@given(st.sampled_from("ABCDEFGHIJKLMNOPQRSTVWXYZ"), st.sampled_from("0123456789"),
       st.text(ALNUM, min_size=1, max_size=5))
def test_icd10_is_written_with_its_dot(letter: str, digit: str, rest: str) -> None:
    code = letter + digit + rest
    dotted = fhir.icd10_dotted(code)
    assert dotted.replace(".", "") == code and fhir.icd10_dotted(dotted) == dotted
    assert ("." in dotted) == (len(code) > 3) and (len(code) <= 3 or dotted[3] == ".")


def test_a_replacement_claim_for_a_child_with_a_supervisor() -> None:
    supervisor = clinician("psychologist", SUPERVISOR_NPI)
    c = claim(patient=CHILD, replaces_claim_id="c-0", payer_claim_number="PCN-PAYER-1", frequency_code="7")
    c.report_providers(ReportedProviders(clinician(), supervisor, "billed_under_supervisor"))
    c.patient_id = "pt-child"
    resource = validated(fhir.claim(c, created_at=AT, updated_at=AT))
    assert resource["related"][0]["claim"] == {"reference": "Claim/c-0"}
    assert [m["role"]["coding"][0]["code"] for m in resource["careTeam"]] == ["primary", "supervisor"]
    assert [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in resource["diagnosis"]] == ["F41.1", "F32.1"]
    assert resource["item"][0]["diagnosisSequence"] == [1, 2]
    assert resource["patient"] == {"reference": "Patient/pt-child"}
    text = json.dumps(resource)
    assert "DOE" not in text and "W123456789" not in text and "1980" not in text, "no names, member ids, births"


@pytest.mark.parametrize(("answer", "outcome", "paid"), [
    ("accepted", "queued", None), ("rejected", "error", None), ("paid", "complete", "complete"),
    ("partially_paid", "partial", "partial"), ("denied", "complete", "complete"), ("reversed", "complete", "complete")])
def test_each_answer_of_the_payer_is_a_claim_response(answer: str, outcome: str, paid: str | None) -> None:
    resource = validated(fhir.claim_response(
        claim_id="c-1", patient_id="pt-1", payer_id="ACME", billing_npi="1234567893", answer=answer,
        answered_at=AT, reason="A7:21:IL,A3:19" if answer == "rejected" else None, total_charge=Decimal("200.00"),
        paid=Decimal("150.00"), patient_responsibility=Decimal("30.00"), payer_claim_number=None, status=answer))
    assert resource["outcome"] == outcome and resource["request"] == {"reference": "Claim/c-1"}
    assert (resource.get("payment") or {}).get("type", {}).get("coding", [{}])[0].get("code") == paid
    if answer == "rejected":
        assert [e["code"]["coding"][0]["code"] for e in resource["error"]] == ["A7:21:IL", "A3:19"]
    else:
        assert "error" not in resource
