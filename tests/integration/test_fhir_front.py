"""The FHIR front on real PostgreSQL and the broker, with claims and remittance running in this process: an
integrator with one base URL reads a Claim and then its ExplanationOfBenefit (the claim went through claims'
837P, remittance kept its copy and posted the payer's 835); the front merges the CapabilityStatements, keeps the
Bundle links on itself, passes refusals through, refuses writes and unknown types, and says so when a service is
down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from claims.adapters.clearinghouse import SandboxClearinghouse
from claims.bootstrap import build_app as build_claims
from claims.config import ClaimsSettings
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit
from rcm_shared.contracts import EligibilityCheckedV1, VisitAuthorizationDeterminedV1, envelope_for, topics
from rcm_shared.contracts.authorizations import ProviderCredentialingV1
from rcm_shared.db.types import new_id
from rcm_shared.fhir.front import build_front
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes
from remittance.bootstrap import build_app as build_remittance
from remittance.config import RemittanceSettings
from remittance.edi.era_writer import DraftAdjustment, DraftClaim, DraftLine, DraftTransaction, write_835

pytestmark = pytest.mark.integration
FRONT = "http://fhir.example"
DOS = fixed_clock().today() - timedelta(days=3)
NPI, GROUP_NPI = "1234567893", "1245319599"
ADDRESS = {"line1": "100 MAIN ST", "city": "HARTFORD", "state": "CT", "postal_code": "06103"}
SERVICES = {"claims": "http://claims.internal", "remittance": "http://remittance.internal",
            "eligibility": "http://eligibility.internal"}  # eligibility: not running here (a service down)


def era_paying(pcn: str, charge: Decimal, paid: Decimal, share: Decimal) -> bytes:
    contractual = charge - paid - share
    claim = DraftClaim(pcn, "1", charge, paid, share, payer_claim_number="PAYER-FRONT", lines=(
        DraftLine("90837", charge, paid, adjustments=(DraftAdjustment("CO", "45", contractual),
                                                      DraftAdjustment("PR", "3", share))),))
    return write_835([[DraftTransaction(claims=(claim,), trace_number="TRACEFRONT1", payer_name="SANDBOX HEALTH PLAN",
                                        payer_id="1999999999")]], interchange_control_number=4242).encode()


async def test_one_base_url_reads_a_claim_and_its_explanation_of_benefit(  # type: ignore[no-untyped-def]
        broker, databases, tmp_path: Path) -> None:
    claims_app = build_claims(settings_for(ClaimsSettings, databases.create("front-claims"), broker,
                                           submission_interval_seconds=3600, response_poll_seconds=3600),
                              clearinghouse=SandboxClearinghouse(tmp_path / "ch"), clock=fixed_clock())
    remittance_app = build_remittance(settings_for(RemittanceSettings, databases.create("front-rem"), broker))
    async with running(claims_app) as claims, running(remittance_app) as remittance:
        mounts: dict[str, httpx.AsyncBaseTransport] = {SERVICES["claims"]: httpx.ASGITransport(app=claims_app),
                  SERVICES["remittance"]: httpx.ASGITransport(app=remittance_app)}
        upstream = httpx.AsyncClient(mounts=mounts,
                                     transport=_Unreachable())
        front_app = build_front(SERVICES, client=upstream, refresh_seconds=0)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=front_app), base_url=FRONT) as front:
            # a claim through claims' 837P; remittance keeps its copy and posts the payer's 835
            made = await claims.post("/v1/visits", json=VISIT, headers=auth())
            assert made.status_code == 201, made.text
            await _announce_facts(broker.bootstrap, made.json()["visit_id"], "pt-FR-1")

            async def scrubbed() -> dict[str, Any] | None:
                items = (await claims.get("/v1/claims", params={"status": "scrubbed"}, headers=auth())).json()
                return items["items"][0] if items["items"] else None

            claim_json = await eventually(scrubbed, what="the claim scrubbed")
            assert (await claims.post("/v1/submission-batches", headers=auth())).json()["batches_sent"] == 1

            async def copied() -> bool:
                held = await remittance.get("/v1/ledger/trial-balance", headers=auth())
                return "gross_charges" in held.json()["accounts"]

            await eventually(copied, what="remittance's copy of the claim")
            charge = Decimal(str(claim_json["total_charge"]))
            posted = await remittance.post("/v1/eras", headers={**auth(), "content-type": "application/edi-x12"},
                                           content=era_paying(claim_json["patient_control_number"], charge,
                                                              charge - Decimal("40.00"), Decimal("25.00")))
            assert posted.status_code == 202, posted.text
            claim_id = claim_json["claim_id"]

            # the integrator: one base URL, the Claim, then its ExplanationOfBenefit
            read = await front.get(f"/fhir/r4/Claim/{claim_id}", headers=auth())
            assert read.status_code == 200 and read.headers["content-type"].startswith("application/fhir+json")
            assert Claim.model_validate(read.json()).id == claim_id

            async def explained() -> dict[str, Any] | None:
                got = await front.get("/fhir/r4/ExplanationOfBenefit", params={"claim": f"Claim/{claim_id}"},
                                      headers=auth())
                return got.json() if got.status_code == 200 and got.json().get("entry") else None

            bundle = await eventually(explained, what="the claim's ExplanationOfBenefit through the front")
            (entry,) = bundle["entry"]
            eob = ExplanationOfBenefit.model_validate(entry["resource"])
            assert eob.claim.reference == f"Claim/{claim_id}" and eob.patient.reference == "Patient/pt-FR-1"
            assert entry["fullUrl"] == f"{FRONT}/fhir/r4/ExplanationOfBenefit/{eob.id}", "links stay on the front"
            assert all(link["url"].startswith(f"{FRONT}/fhir/r4/") for link in bundle["link"])
            paid = {t.category.coding[0].code: t.amount.value for t in eob.total or []}
            assert paid["paidtoprovider"] == charge - Decimal("40.00") and paid["memberliability"] == Decimal("25")
            page = (await front.get("/fhir/r4/Claim", params={"_count": 1, "patient": "pt-FR-1"},
                                    headers=auth())).json()
            assert page["link"][0]["url"].startswith(f"{FRONT}/fhir/r4/Claim?")

            # one CapabilityStatement for what the running services serve
            capability = await front.get("/fhir/r4/metadata")
            assert capability.status_code == 200
            statement = CapabilityStatement.model_validate(capability.json())
            assert {r.type for r in statement.rest[0].resource or []} == {
                "Claim", "ClaimResponse", "ExplanationOfBenefit", "PaymentReconciliation"}
            assert capability.json()["implementation"]["url"] == f"{FRONT}/fhir/r4"

            # refusals are the owner's, passed through; the front adds none of its own data
            assert (await front.get(f"/fhir/r4/Claim/{claim_id}")).status_code == 401
            other = await front.get(f"/fhir/r4/Claim/{claim_id}", headers=auth("practice-b"))
            assert other.status_code == 404 and other.json()["resourceType"] == "OperationOutcome"
            wrong = await front.get(f"/fhir/r4/ExplanationOfBenefit/{eob.id}", headers=auth(scopes=["claims:read"]))
            assert wrong.status_code == 403
            bad = await front.get("/fhir/r4/Claim", params={"patinet": "x"}, headers=auth())
            assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == ["patinet"]
            for method, path, status in (("POST", "/fhir/r4/Claim", 405), ("DELETE", f"/fhir/r4/Claim/{claim_id}", 405),
                                         ("GET", "/fhir/r4/Patient/pt-FR-1", 404), ("GET", "/fhir/r4/claim", 404)):
                refused = await front.request(method, path, headers=auth())
                assert refused.status_code == status and refused.json()["resourceType"] == "OperationOutcome", path
            # eligibility is down: its types are not known, and a known type whose service stops answering is a 503
            assert (await front.get("/fhir/r4/Coverage", headers=auth())).status_code == 404
            front_app.state.owners.by_type["Coverage"] = SERVICES["eligibility"]
            down = await front.get("/fhir/r4/Coverage", headers=auth())
            assert down.status_code == 503 and down.json()["issue"][0]["code"] == "transient"
            assert (await front.get("/readyz")).status_code == 200
        await upstream.aclose()


VISIT = {
    "external_visit_id": "FR-1", "patient_id": "pt-FR-1", "date_of_service": DOS.isoformat(),
    "patient": {"first_name": "ALEX", "last_name": "SAMPLE", "birth_date": "1988-04-12", "gender": "F",
                "address": ADDRESS},
    "coverage": {"payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN", "member_id": "SBX000001"},
    "service_kind": "psychotherapy", "psychotherapy_minutes": 53, "diagnoses": ["F41.1"],
    "rendering": {"npi": NPI, "first_name": "JO", "last_name": "RIVERA", "credential": "LCSW"},
    "billing_provider": {"npi": GROUP_NPI, "name": "RIVERSIDE COUNSELING", "tax_id": "123456789",
                         "address": ADDRESS}}


async def _announce_facts(bootstrap: str, visit_id: str, patient_id: str) -> None:
    """What authorizations and eligibility announce about the visit: claims scrubs from its copy of them."""
    determined = VisitAuthorizationDeterminedV1(
        visit_id=visit_id, practice_id="practice-a", patient_id=patient_id, payer_id="SBXHP", date_of_service=DOS,
        sequence=1, determined_at=datetime.now(UTC), authorization_required=False, authorization_number=None,
        missing_reason=None, rendering_npi=NPI, providers=[
            ProviderCredentialingV1(role="rendering", npi=NPI, allowed=True, reason="enrolled"),
            ProviderCredentialingV1(role="billing", npi=GROUP_NPI, allowed=True, reason="enrolled")])
    checked = EligibilityCheckedV1(check_id=new_id(), practice_id="practice-a", patient_id=patient_id,
                                   payer_id="SBXHP", as_of=DOS, active=True, coverage_from=DOS.replace(day=1),
                                   coverage_to=None)
    await publish_envelopes(bootstrap, topics.VISIT_AUTHORIZATION_DETERMINED, [
        envelope_for(determined, source="authorizations", subject=visit_id, practice_id="practice-a")])
    await publish_envelopes(bootstrap, topics.ELIGIBILITY_CHECKED, [
        envelope_for(checked, source="eligibility", subject=checked.check_id, practice_id="practice-a")])


class _Unreachable(httpx.AsyncBaseTransport):
    """Every host the test does not run: the connection is refused."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)
