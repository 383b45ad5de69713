"""Patient billing's FHIR R4 reads on PostgreSQL and the broker: Account (per responsible party, its balance) and
Invoice (self-pay charges with their sliding-scale discount, assessed responsibility with its CARCs, a voided
visit's charge cancelled) as fhir.resources accepts them; searches with paging links, OperationOutcome errors,
practice isolation, scopes and the audit trail."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fhir.resources.R4B.account import Account
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.invoice import Invoice
from patient_billing.bootstrap import build_app
from patient_billing.config import PatientBillingSettings
from patient_billing.edi.fhir import ACCOUNT_BALANCE
from rcm_shared.contracts import topics
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes

from .test_ledger_books import assessed
from .test_self_pay_and_corrections import self_pay

pytestmark = pytest.mark.integration
FHIR = "application/fhir+json"


def balance(account: dict[str, Any]) -> Decimal:
    (extension,) = [e for e in account["extension"] if e["url"] == ACCOUNT_BALANCE]
    amount = next(e for e in extension["extension"] if e["url"] == "amount")
    return Decimal(str(amount["valueMoney"]["value"]))


async def test_accounts_and_invoices_as_fhir(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(PatientBillingSettings, databases.create("pb-fhir"), broker)
    async with running(build_app(settings)) as client:
        income = await client.post("/v1/patients/pt-sp/income-assessments", headers=auth(), json={
            "household_size": 3, "annual_income": "30000.00", "proof_received_on": "2026-09-01"})
        assert income.status_code == 201, income.text
        await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED, [
            self_pay("v-1", "pt-sp", date(2026, 10, 1)),  # tier B: 160.00 less 96.00
            self_pay("v-2", "pt-sp", date(2026, 8, 1), code="90791"),  # before the proof: 200.00
            self_pay("v-3", "pt-sp", date(2026, 10, 8)), self_pay("v-3", "pt-sp", date(2026, 10, 8), voided=True)])
        await publish_envelopes(broker.bootstrap, topics.PATIENT_RESPONSIBILITY_ASSESSED, [
            assessed("pt-kid", "20.00", "a-kid", date(2026, 10, 1), deductible="30.00")])

        async def ledger_ready() -> list[dict[str, Any]] | None:
            got = (await client.get("/fhir/r4/Invoice", headers=auth())).json()
            entries = got.get("entry") or []
            return entries if len(entries) == 4 and any(
                e["resource"]["status"] == "cancelled" for e in entries) else None

        await eventually(ledger_ready, what="three self-pay charges (one voided) and an assessment")
        named = await client.post("/v1/patients/pt-kid/guarantors", headers=auth(), json={
            "guarantor_id": "gu-parent", "relationship": "child", "effective_from": "2026-09-01", "family": True})
        assert named.status_code == 201, named.text
        paid = await client.post("/v1/patients/pt-sp/payments", headers=auth(),
                                 json={"amount": "200.00", "method": "card"})
        assert paid.status_code == 201, paid.text

        # Invoices: the discounted charge still open, the older one paid, the voided one cancelled
        found = await client.get("/fhir/r4/Invoice", params={"patient": "Patient/pt-sp"}, headers=auth())
        assert found.status_code == 200 and found.headers["content-type"].startswith(FHIR)
        Bundle.model_validate(found.json())
        invoices = [e["resource"] for e in found.json()["entry"]]
        for resource in invoices:
            Invoice.model_validate(resource)
        by_net = sorted((r["status"], Decimal(str(r["totalGross"]["value"])), Decimal(str(r["totalNet"]["value"])))
                        for r in invoices)
        assert by_net == [("balanced", Decimal("200.00"), Decimal("200.00")),
                          ("cancelled", Decimal("160.00"), Decimal("64.00")),
                          ("issued", Decimal("160.00"), Decimal("64.00"))]
        issued = next(r for r in invoices if r["status"] == "issued")
        assert issued["subject"] == {"reference": "Patient/pt-sp"}
        assert issued["recipient"] == {"reference": "Patient/pt-sp"}
        discount = issued["lineItem"][0]["priceComponent"][1]
        assert discount["type"] == "discount" and "tier B" in discount["code"]["text"]
        read = await client.get(f"/fhir/r4/Invoice/{issued['id']}", headers=auth())
        assert read.status_code == 200 and read.json() == issued
        for status, count in (("issued", 2), ("balanced", 1), ("cancelled", 1)):
            got = (await client.get("/fhir/r4/Invoice", params={"status": status}, headers=auth())).json()
            assert len(got.get("entry") or []) == count, status
        kid = (await client.get("/fhir/r4/Invoice", params={"patient": "pt-kid"}, headers=auth())).json()
        (responsibility,) = [e["resource"] for e in kid["entry"]]
        carcs = {li["chargeItemCodeableConcept"]["coding"][0]["code"]: li["priceComponent"][0]["amount"]["value"]
                 for li in responsibility["lineItem"]}
        assert {k: Decimal(str(v)) for k, v in carcs.items()} == {"1": Decimal("30.00"), "3": Decimal("20.00")}
        dated = (await client.get("/fhir/r4/Invoice", params=[("date", "ge2000-01-01"), ("date", "le2999-12-31")],
                                  headers=auth())).json()
        assert len(dated["entry"]) == 4
        assert (await client.get("/fhir/r4/Invoice", params={"date": "lt2000-01-01"},
                                 headers=auth())).json().get("entry") is None
        page = (await client.get("/fhir/r4/Invoice", params={"_count": 3}, headers=auth())).json()
        following = next(link["url"] for link in page["link"] if link["relation"] == "next")
        rest = (await client.get(following, headers=auth())).json()
        ids = [e["resource"]["id"] for e in page["entry"] + rest["entry"]]
        assert len(ids) == len(set(ids)) == 4

        # Accounts: the child's own and the family account its parent guarantees, with their balances
        accounts = (await client.get("/fhir/r4/Account", params={"patient": "pt-kid"}, headers=auth())).json()
        kid_accounts = {e["resource"]["guarantor"][0]["party"]["reference"]: e["resource"]
                        for e in accounts["entry"]}
        assert set(kid_accounts) == {"Patient/pt-kid", "RelatedPerson/gu-parent"}
        family = Account.model_validate(kid_accounts["RelatedPerson/gu-parent"])
        assert family.status == "active" and [s.reference for s in family.subject or []] == ["Patient/pt-kid"]
        assert balance(kid_accounts["RelatedPerson/gu-parent"]) == Decimal("50.00"), "the open item moved"
        assert balance(kid_accounts["Patient/pt-kid"]) == Decimal("0.00")
        sp = (await client.get("/fhir/r4/Account", params={"patient": "pt-sp", "status": "active"},
                               headers=auth())).json()
        (sp_account,) = [e["resource"] for e in sp["entry"]]
        assert balance(sp_account) == Decimal("64.00")
        assert issued["account"] == {"reference": f"Account/{sp_account['id']}"}
        on_account = (await client.get("/fhir/r4/Invoice", params={"account": f"Account/{sp_account['id']}"},
                                       headers=auth())).json()
        assert len(on_account["entry"]) == 3
        read_account = await client.get(f"/fhir/r4/Account/{sp_account['id']}", headers=auth())
        assert read_account.status_code == 200 and read_account.json() == sp_account
        assert (await client.get("/fhir/r4/Account", params={"status": "inactive"},
                                 headers=auth())).json().get("entry") is None

        # errors
        for path, params in (("Invoice", {"status": "draft"}), ("Invoice", {"account": "Patient/x"}),
                             ("Invoice", {"created": "ge2026-01-01"}), ("Account", {"guarantor": "gu-parent"}),
                             ("Account", {"_page": "bm90LWpzb24"})):
            bad = await client.get(f"/fhir/r4/{path}", params=params, headers=auth())
            assert bad.status_code == 400 and bad.headers["content-type"].startswith(FHIR), (path, params)
            assert bad.json()["issue"][0]["expression"] == [next(iter(params))]
            assert next(iter(params.values())) not in bad.text
        capability = (await client.get("/fhir/r4/metadata")).json()
        assert {r["type"] for r in capability["rest"][0]["resource"]} == {"Account", "Invoice"}

        # another practice, no token, the wrong scope
        other = await client.get(f"/fhir/r4/Account/{sp_account['id']}", headers=auth("practice-b"))
        assert other.status_code == 404 and other.json()["resourceType"] == "OperationOutcome"
        assert (await client.get(f"/fhir/r4/Invoice/{issued['id']}", headers=auth("practice-b"))).status_code == 404
        assert (await client.get("/fhir/r4/Invoice", headers=auth("practice-b"))).json().get("entry") is None
        assert (await client.get("/fhir/r4/Invoice")).status_code == 401
        wrong = await client.get(f"/fhir/r4/Invoice/{issued['id']}", headers=auth(scopes=["claims:read"]))
        assert wrong.status_code == 403 and "pt-sp" not in wrong.text
        trail = (await client.get("/v1/audit-events", params={"object_type": "invoice"}, headers=auth())).json()
        assert any(e["object_id"] == issued["id"] and e["outcome"] == "success" for e in trail["items"])
        refused = (await client.get("/v1/audit-events", params={"object_type": "patient_account"},
                                    headers=auth("practice-b"))).json()
        assert any(e["object_id"] == sp_account["id"] and e["outcome"] == "not_found" for e in refused["items"])
