"""Eligibility's FHIR R4 reads, against the sandbox payer and real PostgreSQL: Coverage and
CoverageEligibilityResponse as fhir.resources accepts them, searches with paging links, OperationOutcome errors,
practice isolation and the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from eligibility.bootstrap import build_app
from eligibility.config import EligibilitySettings
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.coverageeligibilityresponse import CoverageEligibilityResponse
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for

from .test_coverage_checks import check_body

pytestmark = pytest.mark.integration
FHIR = "application/fhir+json"


async def test_coverage_and_eligibility_responses_as_fhir(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(EligibilitySettings, databases.create("elig-fhir"), broker), clock=fixed_clock())
    async with running(app) as client:
        for member, patient in (("SBX000001", "pt-1"), ("SBX000004", "pt-4"), ("SBX123456", "pt-9")):
            made = await client.post("/v1/coverage-checks", json=check_body(member, patient), headers=auth())
            assert made.status_code == 201, made.text

        found = await client.get("/fhir/r4/Coverage", params={"patient": "Patient/pt-4"}, headers=auth())
        assert found.status_code == 200 and found.headers["content-type"].startswith(FHIR)
        bundle = Bundle.model_validate(found.json())
        assert bundle.type == "searchset" and len(bundle.entry or []) == 1
        coverage: dict[str, Any] = found.json()["entry"][0]["resource"]
        Coverage.model_validate(coverage)
        assert coverage["id"] == "pt-4.SBXHP" and coverage["status"] == "active"
        assert coverage["beneficiary"] == {"reference": "Patient/pt-4"} and coverage["subscriberId"] == "SBX000004"
        assert coverage["meta"]["profile"] == ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-coverage"]
        assert found.json()["entry"][0]["fullUrl"].endswith("/fhir/r4/Coverage/pt-4.SBXHP")
        read = await client.get("/fhir/r4/Coverage/pt-4.SBXHP", headers=auth())
        assert read.status_code == 200 and read.json() == coverage

        responses = await client.get("/fhir/r4/CoverageEligibilityResponse",
                                     params={"patient": "pt-4", "outcome": "complete"}, headers=auth())
        (entry,) = responses.json()["entry"]
        answer = CoverageEligibilityResponse.model_validate(entry["resource"])
        assert answer.outcome == "complete" and answer.insurance and answer.insurance[0].inforce is True
        benefits = {b.type.coding[0].code: b for item in answer.insurance[0].item or [] for b in item.benefit or []}
        assert benefits["visit"].allowedUnsignedInt == 20 and benefits["visit"].usedUnsignedInt == 18

        rejected = (await client.get("/fhir/r4/CoverageEligibilityResponse", params={"outcome": "error"},
                                     headers=auth())).json()
        (error,) = rejected["entry"]
        assert error["resource"]["patient"]["reference"] == "Patient/pt-9"
        assert error["resource"]["error"][0]["code"]["coding"][0]["code"] == "75"

        first = (await client.get("/fhir/r4/CoverageEligibilityResponse", params={"_count": 2},
                                  headers=auth())).json()
        assert len(first["entry"]) == 2
        following = next(link["url"] for link in first["link"] if link["relation"] == "next")
        rest = (await client.get(following, headers=auth())).json()
        seen = {e["resource"]["id"] for e in first["entry"]} | {e["resource"]["id"] for e in rest["entry"]}
        assert len(seen) == len(first["entry"]) + len(rest["entry"]) >= 3, "pages do not overlap"
        today = (await client.get("/fhir/r4/CoverageEligibilityResponse",
                                  params=[("created", "ge2000-01-01"), ("created", "le2999-12-31")],
                                  headers=auth())).json()
        assert len(today["entry"]) == len(seen)
        none_yet = (await client.get("/fhir/r4/CoverageEligibilityResponse", params={"created": "lt2000-01-01"},
                                     headers=auth())).json()
        assert none_yet.get("entry") is None

        # errors: OperationOutcome naming the parameter, never the value sent
        for params in ({"patinet": "pt-4"}, {"outcome": "maybe"}, {"created": "yesterday"}, {"_count": "-5"},
                       {"_page": "!!"}):
            bad = await client.get("/fhir/r4/CoverageEligibilityResponse", params=params, headers=auth())
            assert bad.status_code == 400 and bad.headers["content-type"].startswith(FHIR), params
            outcome = bad.json()
            assert outcome["resourceType"] == "OperationOutcome"
            assert outcome["issue"][0]["expression"] == [next(iter(params))]
            assert next(iter(params.values())) not in outcome["issue"][0]["diagnostics"]
        missing = await client.get("/fhir/r4/Coverage/pt-1.NOPE", headers=auth())
        assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"

        capability = await client.get("/fhir/r4/metadata")
        assert capability.status_code == 200
        assert {r["type"] for r in capability.json()["rest"][0]["resource"]} == {"Coverage",
                                                                                "CoverageEligibilityResponse"}

        # another practice sees nothing; no token, no data; reads are audited
        other = await client.get("/fhir/r4/Coverage/pt-4.SBXHP", headers=auth("practice-b"))
        assert other.status_code == 404
        assert (await client.get("/fhir/r4/Coverage")).status_code == 401
        trail = (await client.get("/v1/audit-events", params={"object_type": "coverage"}, headers=auth())).json()
        assert any(e["object_id"] == "pt-4.SBXHP" and e["outcome"] == "success" for e in trail["items"])
