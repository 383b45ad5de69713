"""Claims' FHIR R4 reads against real PostgreSQL and the real broker: Claim and ClaimResponse as fhir.resources
accepts them, searches with paging links, OperationOutcome errors, practice isolation, scopes and the audit trail."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from claims.adapters.clearinghouse import SandboxClearinghouse
from claims.bootstrap import build_app
from claims.config import ClaimsSettings
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.claimresponse import ClaimResponse
from rcm_shared.contracts import ClaimPaymentPostedV1, envelope_for, topics
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes

from .conftest import announce, checked, determined
from .test_claim_flow import CREDENTIALED, DOS, visit

pytestmark = pytest.mark.integration
FHIR = "application/fhir+json"


async def test_claims_and_claim_responses_as_fhir(broker, databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(ClaimsSettings, databases.create("claims-fhir"), broker,
                            submission_interval_seconds=3600, response_poll_seconds=3600)
    app = build_app(settings, clearinghouse=SandboxClearinghouse(tmp_path / "ch"), clock=fixed_clock())
    async with running(app) as client:
        posted = []
        for n in range(3):
            made = await client.post("/v1/visits", json=visit(f"F-{n}"), headers=auth())
            assert made.status_code == 201, made.text
            posted.append(made.json())
        first = posted[0]
        await announce(broker.bootstrap, determined(first["visit_id"], "pt-F-0", "SBXHP", DOS,
                                                    rendering_npi="1234567893", credentialed=CREDENTIALED),
                       checked("pt-F-0", "SBXHP", DOS))

        async def scrubbed() -> dict[str, Any] | None:
            items = (await client.get("/v1/claims", params={"status": "scrubbed"}, headers=auth())).json()["items"]
            return items[0] if items else None

        claim_json = await eventually(scrubbed, what="the first claim scrubbed")
        claim_id = claim_json["claim_id"]

        # a Claim before it is sent: draft, with its diagnoses and lines
        read = await client.get(f"/fhir/r4/Claim/{claim_id}", headers=auth())
        assert read.status_code == 200 and read.headers["content-type"].startswith(FHIR), read.text
        resource = read.json()
        claim = Claim.model_validate(resource)
        assert claim.status == "draft" and claim.use == "claim"
        assert resource["patient"] == {"reference": "Patient/pt-F-0"}
        assert resource["insurance"][0]["coverage"] == {"reference": "Coverage/pt-F-0.SBXHP"}
        assert resource["insurance"][0]["preAuthRef"] == ["AUTH-77"]
        assert resource["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"] == "F41.1"
        (item,) = resource["item"]
        assert item["productOrService"]["coding"][0]["code"] == "90837"
        assert item["locationCodeableConcept"]["coding"][0]["code"] == "11"
        assert Decimal(str(resource["total"]["value"])) == Decimal(str(claim_json["total_charge"]))
        assert "SAMPLE" not in read.text and "SBX000001" not in read.text, "no names or member ids"
        assert (await client.get(f"/fhir/r4/ClaimResponse/{claim_id}", headers=auth())).status_code == 404, \
            "no answer from the payer yet"

        # sent, then paid by an 835 (posted by remittance): active, and a ClaimResponse with the adjudication
        assert (await client.post("/v1/submission-batches", headers=auth())).json()["batches_sent"] == 1
        paid = ClaimPaymentPostedV1(
            posting_id="p-1", era_id="e-1", claim_id=claim_id, practice_id="practice-a", outcome="paid",
            claim_status_code="1", charge=Decimal("200.00"), paid=Decimal("150.00"),
            patient_responsibility=Decimal("30.00"), contractual_adjustment=Decimal("20.00"),
            payer_claim_number="PAYER-9")
        await publish_envelopes(broker.bootstrap, topics.CLAIM_PAYMENT_POSTED, [
            envelope_for(paid, source="remittance", subject=claim_id, practice_id="practice-a")])

        async def answered() -> dict[str, Any] | None:
            got = await client.get(f"/fhir/r4/ClaimResponse/{claim_id}", headers=auth())
            return got.json() if got.status_code == 200 else None

        response = await eventually(answered, what="the claim's ClaimResponse")
        answer = ClaimResponse.model_validate(response)
        assert answer.outcome == "complete" and answer.request.reference == f"Claim/{claim_id}"
        totals = {t["category"]["coding"][0]["code"]: Decimal(str(t["amount"]["value"])) for t in response["total"]}
        assert totals == {"submitted": Decimal(str(claim_json["total_charge"])), "benefit": Decimal("150.00"),
                          "memberliability": Decimal("30.00")}
        assert response["identifier"] == [{"system": "urn:rcm:payer-claim-number", "value": "PAYER-9"}]
        now_claim = (await client.get(f"/fhir/r4/Claim/{claim_id}", headers=auth())).json()
        assert now_claim["status"] == "active"
        assert {"system": "urn:rcm:payer-claim-number", "value": "PAYER-9"} in now_claim["identifier"]
        found = (await client.get("/fhir/r4/ClaimResponse", params={"request": f"Claim/{claim_id}",
                                                                    "outcome": "complete"}, headers=auth())).json()
        assert [e["resource"]["id"] for e in found["entry"]] == [claim_id]
        none = (await client.get("/fhir/r4/ClaimResponse", params={"outcome": "error"}, headers=auth())).json()
        assert none.get("entry") is None

        # search: by patient, status, dates; paging with next links that keep the search
        by_patient = await client.get("/fhir/r4/Claim", params={"patient": "Patient/pt-F-1"}, headers=auth())
        bundle = Bundle.model_validate(by_patient.json())
        assert bundle.type == "searchset" and len(bundle.entry or []) == 1
        entry = by_patient.json()["entry"][0]
        assert entry["resource"]["patient"]["reference"] == "Patient/pt-F-1"
        assert entry["fullUrl"].endswith(f"/fhir/r4/Claim/{entry['resource']['id']}")
        drafts = (await client.get("/fhir/r4/Claim", params={"status": "draft"}, headers=auth())).json()
        assert len(drafts["entry"]) == 2 and all(e["resource"]["status"] == "draft" for e in drafts["entry"])
        on_the_day = (await client.get("/fhir/r4/Claim", params=[("service-date", DOS.isoformat()),
                                                                 ("created", "ge2000-01-01")],
                                       headers=auth())).json()
        assert len(on_the_day["entry"]) == 3
        before = (await client.get("/fhir/r4/Claim", params={"service-date": f"lt{DOS.isoformat()}"},
                                   headers=auth())).json()
        assert before.get("entry") is None
        page = (await client.get("/fhir/r4/Claim", params={"_count": 2}, headers=auth())).json()
        assert len(page["entry"]) == 2
        following = next(link["url"] for link in page["link"] if link["relation"] == "next")
        rest = (await client.get(following, headers=auth())).json()
        assert not any(link["relation"] == "next" for link in rest["link"])
        ids = [e["resource"]["id"] for e in page["entry"] + rest["entry"]]
        assert len(ids) == len(set(ids)) == 3

        # errors: an OperationOutcome naming the parameter, never the value sent
        for params in ({"patinet": "pt-F-1"}, {"status": "paid"}, {"service-date": "yesterday"}, {"_count": "-7"},
                       {"created": "ne2026-01-01"}):
            bad = await client.get("/fhir/r4/Claim", params=params, headers=auth())
            assert bad.status_code == 400 and bad.headers["content-type"].startswith(FHIR), params
            issue = bad.json()["issue"][0]
            assert issue["expression"] == [next(iter(params))]
            assert next(iter(params.values())) not in issue["diagnostics"]
        bad = await client.get("/fhir/r4/ClaimResponse", params={"request": "Patient/x"}, headers=auth())
        assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"

        capability = (await client.get("/fhir/r4/metadata")).json()
        assert {r["type"] for r in capability["rest"][0]["resource"]} == {"Claim", "ClaimResponse"}

        # another practice: not found (and audited as such); no token or the wrong scope: no data
        other = await client.get(f"/fhir/r4/Claim/{claim_id}", headers=auth("practice-b"))
        assert other.status_code == 404 and other.json()["resourceType"] == "OperationOutcome"
        assert (await client.get("/fhir/r4/Claim", headers=auth("practice-b"))).json().get("entry") is None
        assert (await client.get(f"/fhir/r4/ClaimResponse/{claim_id}", headers=auth("practice-b"))).status_code == 404
        assert (await client.get("/fhir/r4/Claim")).status_code == 401
        wrong = await client.get(f"/fhir/r4/Claim/{claim_id}", headers=auth(scopes=["remittance:read"]))
        assert wrong.status_code == 403 and "F41.1" not in wrong.text
        trail = (await client.get("/v1/audit-events", params={"object_type": "claim"}, headers=auth())).json()
        assert any(e["object_id"] == claim_id and e["outcome"] == "success" for e in trail["items"])
        theirs = (await client.get("/v1/audit-events", params={"object_type": "claim"},
                                   headers=auth("practice-b"))).json()
        assert any(e["object_id"] == claim_id and e["outcome"] == "not_found" for e in theirs["items"])
