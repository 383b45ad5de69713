"""Patient billing's FHIR codec, without a database: Account with its balance (R5's Account.balance extension) and
its guarantor as a Patient or a RelatedPerson; Invoices for a charge with a discount, a fee, an assessed
responsibility; their status; all accepted by fhir.resources."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from patient_billing.edi import fhir
from rcm_shared.fhir.api import validated

AT = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def invoice(**kw: Any) -> dict[str, Any]:
    fields: dict[str, Any] = dict(
        entry_id="e-1", kind="charge", account_id="a-1", guarantor_id="pt-1", account_patients={"pt-1"},
        patient_id="pt-1", service_date=date(2026, 11, 2), posted_at=AT, amount_cents=16000, reasons=[],
        detail={"appointment_type": "psychotherapy-60"}, discounts=[(9600, "sliding-scale tier B")],
        status="issued", claim_id=None)
    fields.update(kw)
    return validated(fhir.invoice(**fields))


def test_an_account_and_who_guarantees_it() -> None:
    own = validated(fhir.account(account_id="a-1", guarantor_id="pt-1", kind="individual", balance_cents=-3050,
                                 updated_at=AT, patients=[("pt-1", date(2026, 1, 1), None)]))
    assert own["guarantor"][0]["party"] == {"reference": "Patient/pt-1"}
    balance = {e["url"]: e for e in own["extension"][0]["extension"]}
    assert own["extension"][0]["url"] == fhir.ACCOUNT_BALANCE
    assert Decimal(str(balance["amount"]["valueMoney"]["value"])) == Decimal("-30.50"), "a credit balance"
    family = validated(fhir.account(account_id="a-2", guarantor_id="gu-1", kind="family", balance_cents=0,
                                    updated_at=AT, patients=[("pt-2", date(2026, 3, 1), None),
                                                             ("pt-3", date(2026, 2, 1), None)]))
    assert family["guarantor"][0]["party"] == {"reference": "RelatedPerson/gu-1"}
    assert family["guarantor"][0]["period"] == {"start": "2026-02-01"}
    assert [s["reference"] for s in family["subject"]] == ["Patient/pt-2", "Patient/pt-3"]


def test_invoices_for_a_charge_a_fee_and_an_assessed_responsibility() -> None:
    charge = invoice()
    assert (Decimal(str(charge["totalGross"]["value"])), Decimal(str(charge["totalNet"]["value"]))) == (
        Decimal("160"), Decimal("64"))
    assert [c["type"] for c in charge["lineItem"][0]["priceComponent"]] == ["base", "discount"]
    fee = invoice(kind="fee", detail={"outcome": "late_cancel"}, discounts=[], amount_cents=5000)
    assert fee["lineItem"][0]["chargeItemCodeableConcept"]["text"] == "late cancel fee"
    owed = invoice(kind="responsibility", claim_id="c-9", discounts=[], amount_cents=5000, detail={}, reasons=[
        {"category": "deductible", "carc": "1", "amount_cents": 3000, "explanation": "deductible"},
        {"category": "copay", "carc": "3", "amount_cents": 2000, "explanation": "copay"}])
    assert [(li["chargeItemCodeableConcept"]["coding"][0]["code"], li["chargeItemCodeableConcept"]["text"])
            for li in owed["lineItem"]] == [("1", "deductible"), ("3", "copay")]
    assert owed["identifier"] == [{"system": "urn:rcm:claim-id", "value": "c-9"}]
    cancelled = invoice(status="cancelled", guarantor_id="gu-1")
    assert cancelled["cancelledReason"] == "reversed"
    assert cancelled["recipient"] == {"reference": "RelatedPerson/gu-1"}


def test_an_invoice_is_issued_while_open_balanced_when_not_cancelled_when_reversed() -> None:
    assert fhir.invoice_status(reversed_=False, open_cents=100) == "issued"
    assert fhir.invoice_status(reversed_=False, open_cents=0) == "balanced"
    assert fhir.invoice_status(reversed_=False, open_cents=None) == "balanced"
    assert fhir.invoice_status(reversed_=True, open_cents=100) == "cancelled"
