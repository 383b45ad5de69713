"""Remittance's FHIR R4 reads on PostgreSQL and the broker: ExplanationOfBenefit (CARIN Blue Button where it fits)
and PaymentReconciliation as fhir.resources accepts them, a reversal cancelling its EOB, searches with paging
links, OperationOutcome errors, practice isolation, scopes and the audit trail."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit
from fhir.resources.R4B.paymentreconciliation import PaymentReconciliation
from rcm_shared.testing.fixtures import auth, running, settings_for
from remittance.bootstrap import build_app
from remittance.config import RemittanceSettings
from remittance.edi.fhir import CARIN_EOB_PROFESSIONAL

from .test_duplicate_payments import copies_stored, copy, era, paid, post

pytestmark = pytest.mark.integration
FHIR = "application/fhir+json"


def amounts(resource: dict[str, Any]) -> dict[str, D]:
    return {t["category"]["coding"][0]["code"]: D(str(t["amount"]["value"])) for t in resource["total"]}


async def test_eobs_and_payment_reconciliations_as_fhir(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(RemittanceSettings, databases.create("rem-fhir"), broker))
    async with running(app) as client:
        await copies_stored(client, broker, copy("c-1", "PCN-1"), copy("c-2", "PCN-2"))
        first = await post(client, era("TRACE0001", paid("PCN-1", "112"), paid("PCN-2", "112")))
        # the payer takes back c-1's payment and re-issues it
        await post(client, era("TRACE0002", paid("PCN-1", "112", sign=-1, status="22"), paid("PCN-1", "112")))
        original = next(p["posting_id"] for p in first["postings"] if p["claim_id"] == "c-1")

        found = await client.get("/fhir/r4/ExplanationOfBenefit", params={"claim": "Claim/c-1"}, headers=auth())
        assert found.status_code == 200 and found.headers["content-type"].startswith(FHIR), found.text
        Bundle.model_validate(found.json())
        eobs = {e["resource"]["id"]: e["resource"] for e in found.json()["entry"]}
        assert len(eobs) == 2, "the original and the re-issue; the reversal is the original's cancellation"
        assert eobs[original]["status"] == "cancelled"
        (reissue,) = [r for r in eobs.values() if r["status"] == "active"]
        eob = ExplanationOfBenefit.model_validate(reissue)
        assert eob.outcome == "complete" and eob.claim.reference == "Claim/c-1"
        assert reissue["meta"]["profile"] == [CARIN_EOB_PROFESSIONAL]
        assert reissue["identifier"][0]["type"]["coding"][0]["code"] == "uc"
        assert reissue["identifier"][0]["value"] == "P-PCN-1"
        assert reissue["patient"] == {"reference": "Patient/pt-c-1"}
        assert reissue["insurance"] == [{"focal": True, "coverage": {"reference": "Coverage/pt-c-1.SBXHP"}}]
        assert reissue["billablePeriod"] == {"start": "2026-10-15", "end": "2026-10-15"}
        assert amounts(reissue) == {"submitted": D("180"), "paidtoprovider": D("112"), "memberliability": D("28"),
                                    "copay": D("28")}
        assert reissue["payment"]["identifier"]["value"] == "TRACE0002"
        assert reissue["item"][0]["productOrService"]["coding"][0]["code"] == "90837"
        read = await client.get(f"/fhir/r4/ExplanationOfBenefit/{reissue['id']}", headers=auth())
        assert read.status_code == 200 and read.json() == reissue

        # search: patient, status, dates, paging
        theirs = (await client.get("/fhir/r4/ExplanationOfBenefit", params={"patient": "pt-c-2"},
                                   headers=auth())).json()
        assert [e["resource"]["claim"]["reference"] for e in theirs["entry"]] == ["Claim/c-2"]
        active = (await client.get("/fhir/r4/ExplanationOfBenefit", params={"status": "active"},
                                   headers=auth())).json()
        assert len(active["entry"]) == 2
        on_day = (await client.get("/fhir/r4/ExplanationOfBenefit",
                                   params=[("service-date", "ge2026-10-15"), ("service-date", "le2026-10-15"),
                                           ("created", "ge2000-01-01")], headers=auth())).json()
        assert len(on_day["entry"]) == 3
        later = (await client.get("/fhir/r4/ExplanationOfBenefit", params={"service-date": "gt2026-10-15"},
                                  headers=auth())).json()
        assert later.get("entry") is None
        page = (await client.get("/fhir/r4/ExplanationOfBenefit", params={"_count": 2}, headers=auth())).json()
        following = next(link["url"] for link in page["link"] if link["relation"] == "next")
        rest = (await client.get(following, headers=auth())).json()
        ids = [e["resource"]["id"] for e in page["entry"] + rest["entry"]]
        assert len(ids) == len(set(ids)) == 3
        assert any(link["relation"] == "previous" for link in rest["link"])

        # PaymentReconciliation: one per 835 payment, by its trace number
        recs = (await client.get("/fhir/r4/PaymentReconciliation", params={"identifier": "TRACE0001"},
                                 headers=auth())).json()
        (entry,) = recs["entry"]
        rec = PaymentReconciliation.model_validate(entry["resource"])
        assert rec.paymentAmount.value == D("224") and rec.paymentIdentifier.value == "TRACE0001"
        details = entry["resource"]["detail"]
        assert sorted(d["request"]["reference"] for d in details) == ["Claim/c-1", "Claim/c-2"]
        assert f"ExplanationOfBenefit/{original}" in {d["response"]["reference"] for d in details}
        second = (await client.get("/fhir/r4/PaymentReconciliation", params={"identifier": "TRACE0002"},
                                   headers=auth())).json()["entry"][0]["resource"]
        assert len(second["detail"]) == 2 and sum(1 for d in second["detail"] if "response" in d) == 1, \
            "the reversal is a detail of its payment, with no EOB of its own"
        read_rec = await client.get(f"/fhir/r4/PaymentReconciliation/{rec.id}", headers=auth())
        assert read_rec.status_code == 200 and read_rec.json() == entry["resource"]
        all_recs = (await client.get("/fhir/r4/PaymentReconciliation", params={"status": "active"},
                                     headers=auth())).json()
        assert len(all_recs["entry"]) == 2

        # errors
        for path, params in (("ExplanationOfBenefit", {"patient": "Patient/bad id"}),
                             ("ExplanationOfBenefit", {"claim": "Patient/c-1"}),
                             ("ExplanationOfBenefit", {"status": "draft"}),
                             ("ExplanationOfBenefit", {"provider": "NPI-1234"}),
                             ("PaymentReconciliation", {"patient": "pt-c-1"}),
                             ("PaymentReconciliation", {"created": "2026-13-45"})):
            bad = await client.get(f"/fhir/r4/{path}", params=params, headers=auth())
            assert bad.status_code == 400 and bad.headers["content-type"].startswith(FHIR), (path, params)
            assert bad.json()["issue"][0]["expression"] == [next(iter(params))]
            assert next(iter(params.values())) not in bad.text
        capability = (await client.get("/fhir/r4/metadata")).json()
        assert {r["type"] for r in capability["rest"][0]["resource"]} == {"ExplanationOfBenefit",
                                                                          "PaymentReconciliation"}

        # another practice, no token, the wrong scope
        other = await client.get(f"/fhir/r4/ExplanationOfBenefit/{original}", headers=auth("practice-b"))
        assert other.status_code == 404 and other.json()["resourceType"] == "OperationOutcome"
        assert (await client.get(f"/fhir/r4/PaymentReconciliation/{rec.id}",
                                 headers=auth("practice-b"))).status_code == 404
        assert (await client.get("/fhir/r4/ExplanationOfBenefit", headers=auth("practice-b"))).json().get(
            "entry") is None
        assert (await client.get("/fhir/r4/ExplanationOfBenefit")).status_code == 401
        wrong = await client.get(f"/fhir/r4/ExplanationOfBenefit/{original}", headers=auth(scopes=["claims:read"]))
        assert wrong.status_code == 403 and "pt-c-1" not in wrong.text
        trail = (await client.get("/v1/audit-events", params={"object_type": "explanation_of_benefit"},
                                  headers=auth())).json()
        assert any(e["object_id"] == reissue["id"] and e["outcome"] == "success" for e in trail["items"])
        refused = (await client.get("/v1/audit-events", params={"object_type": "explanation_of_benefit"},
                                    headers=auth("practice-b"))).json()
        assert any(e["object_id"] == original and e["outcome"] == "not_found" for e in refused["items"])
