"""Remittance's FHIR codec, without a database: an EOB (CARIN Blue Button professional shape) with or without the
payer's claim number, cancelled once reversed, with what the patient was billed; a PaymentReconciliation whose
unmatched payments have no claim or EOB; all accepted by fhir.resources."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from rcm_shared.fhir.api import validated
from remittance.edi import fhir

AT = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def eob(**kw: Any) -> dict[str, Any]:
    fields: dict[str, Any] = dict(
        posting_id="p-1", claim_id="c-1", patient_id="pt-1", payer_id="SBXHP", date_of_service=date(2026, 11, 2),
        rendering_npi="1234567893", lines=[{"procedure_code": "90837", "modifiers": ["95"], "units": 1,
                                            "charge": "180.00"}],
        claim_status_code="1", charge=Decimal("180.00"), paid=Decimal("112.00"),
        patient_responsibility=Decimal("28.00"), payer_claim_number="PAYER-1", patient_control_number="PCN-1",
        posted_at=AT, detail={"patient_billed": {"deductible": "0.00", "coinsurance": "8.00", "copay": "20.00",
                                                 "other": "0.00"}},
        reversed=False, trace_number="TRACE1", payment_date=date(2026, 11, 29))
    fields.update(kw)
    return validated(fhir.explanation_of_benefit(**fields))


def totals(resource: dict[str, Any]) -> dict[str, Decimal]:
    return {t["category"]["coding"][0]["code"]: Decimal(str(t["amount"]["value"])) for t in resource["total"]}


def test_an_eob_in_the_carin_professional_shape() -> None:
    resource = eob()
    assert resource["meta"]["profile"] == [fhir.CARIN_EOB_PROFESSIONAL] and resource["status"] == "active"
    assert resource["identifier"][0] == {"type": {"coding": [{"system": fhir.CARIN_IDENTIFIER_TYPE, "code": "uc"}]},
                                         "system": "urn:rcm:payer-claim-number", "value": "PAYER-1"}
    assert totals(resource) == {"submitted": Decimal("180"), "paidtoprovider": Decimal("112"),
                                "memberliability": Decimal("28"), "copay": Decimal("20"),
                                "coinsurance": Decimal("8")}, "a zero deductible is not listed"
    assert resource["payment"]["date"] == "2026-11-29" and resource["payment"]["identifier"]["value"] == "TRACE1"
    assert resource["item"][0]["modifier"][0]["coding"][0]["code"] == "95"
    assert resource["careTeam"][0]["role"]["coding"][0]["code"] == "performing"


def test_without_the_payers_claim_number_and_reversed() -> None:
    resource = eob(payer_claim_number=None, reversed=True, claim_status_code="4", detail={}, trace_number=None,
                   payment_date=None, lines=[])
    assert resource["identifier"] == [{"type": {"coding": [{"system": fhir.CARIN_IDENTIFIER_TYPE, "code": "uc"}]},
                                       "system": "urn:rcm:patient-control-number", "value": "PCN-1"}]
    assert resource["status"] == "cancelled" and resource["disposition"] == "denied"
    assert "item" not in resource and set(resource["payment"]) == {"type", "amount"}


def test_a_payment_reconciliation_with_matched_and_unmatched_claim_payments() -> None:
    resource = validated(fhir.payment_reconciliation(
        payment_id="pay-1", payer_id="SBXHP", trace_number="TRACE1", total_paid=Decimal("224.00"), method="ACH",
        payment_date=None, posted_at=AT, details=[
            {"posting_id": "p-1", "claim_id": "c-1", "paid": Decimal("112.00"), "eob": True},
            {"posting_id": "p-2", "claim_id": None, "paid": Decimal("112.00"), "eob": False}]))
    assert resource["paymentDate"] == "2026-11-30", "the posting day when the 835 gives none"
    matched, waiting = resource["detail"]
    assert matched["request"] == {"reference": "Claim/c-1"}
    assert matched["response"] == {"reference": "ExplanationOfBenefit/p-1"}
    assert "request" not in waiting and "response" not in waiting
