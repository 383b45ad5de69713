"""Supervisor billing through events, claims and authorizations running on real PostgreSQL and the broker: the
credentialing registry (authorizations) decides whether a clinician the payer has not enrolled may be billed under
a supervisor and which NPIs the claim names, and announces it (visit-authorization-determined) for each visit claims
completes; claims keeps the answer in its projection and its 837P names exactly those NPIs, read back from the file
the clearinghouse received and validated by pyx12. Claims asks nobody: while authorizations is down its claims wait,
and are scrubbed when the answer arrives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from authorizations.bootstrap import build_app as build_authorizations
from authorizations.config import AuthorizationsSettings
from claims.adapters.clearinghouse import SandboxClearinghouse
from claims.bootstrap import build_app as build_claims
from claims.config import ClaimsSettings
from claims.edi.x12_837_reader import read_837p
from rcm_shared.contracts import EligibilityCheckedV1, envelope_for, topics
from rcm_shared.db.types import new_id
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes
from rcm_shared.testing.x12 import pyx12_errors

pytestmark = pytest.mark.integration
DOS = fixed_clock().today() - timedelta(days=3)
ADDRESS = {"line1": "100 MAIN ST", "city": "HARTFORD", "state": "CT", "postal_code": "06103"}
GROUP_NPI = "1245319599"
SUPERVISOR_NPI = "1003000126"  # LCSW, enrolled with every payer below
SUPERVISED_NPI = "1679576722"  # pre-licensed, under supervision, enrolled with none
SUPERVISOR = {"npi": SUPERVISOR_NPI, "first_name": "DANA", "last_name": "STONE", "credential": "LCSW"}


def claims_in(text: str) -> list[dict[str, Any]]:
    return [c for g in read_837p(text)["groups"] for t in g["transactions"] for c in t["claims"]]


def visit(external_id: str, payer_id: str, credential: str, **coverage: Any) -> dict[str, Any]:
    return {
        "external_visit_id": external_id, "patient_id": f"pt-{external_id}",
        "patient": {"first_name": "ALEX", "last_name": "SAMPLE", "birth_date": "1988-04-12", "gender": "F",
                    "address": ADDRESS},
        "coverage": {"payer_id": payer_id, "payer_name": f"{payer_id} PLAN", "member_id": "MBR000001", **coverage},
        "date_of_service": DOS.isoformat(), "service_kind": "psychotherapy", "psychotherapy_minutes": 53,
        "diagnoses": ["F41.1"],
        "rendering": {"npi": SUPERVISED_NPI, "first_name": "JO", "last_name": "NOVAK", "credential": credential},
        "supervising": SUPERVISOR,
        "billing_provider": {"npi": GROUP_NPI, "name": "RIVERSIDE COUNSELING", "tax_id": "123456789",
                             "address": ADDRESS},
    }


async def set_up_the_registry(registry: httpx.AsyncClient) -> None:
    for npi in (GROUP_NPI, SUPERVISOR_NPI):
        for payer in ("ACME", "SBXBH", "SBXHP"):
            enrolled = await registry.post("/v1/credentialing/enrollments", headers=auth(), json={
                "npi": npi, "payer_id": payer, "effective_from": "2020-01-01"})
            assert enrolled.status_code == 201, enrolled.text
    # the supervision, and the practice's own policy for SBXHP (no payer default for it): supervisor billing
    supervision = await registry.post("/v1/credentialing/supervisions", headers=auth(), json={
        "supervisee_npi": SUPERVISED_NPI, "supervisor_npi": SUPERVISOR_NPI, "effective_from": "2024-01-01",
        "payer_id": "SBXHP", "allows_supervisor_billing": True})
    assert supervision.status_code == 201, supervision.text


@asynccontextmanager
async def claims_and_the_registry(broker: Any, databases: Any, tmp_path: Path
                                  ) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Authorizations and claims running on one broker: (registry, claims). Eligibility's checks are announced
    by the test (every patient covered)."""
    authorizations = build_authorizations(settings_for(AuthorizationsSettings, databases.create("auth"), broker),
                                          clock=fixed_clock())
    claims = build_claims(claims_settings(databases, broker),
                          clearinghouse=SandboxClearinghouse(tmp_path / "clearinghouse"), clock=fixed_clock())
    async with running(authorizations) as registry, running(claims) as client:
        await set_up_the_registry(registry)
        yield registry, client


def claims_settings(databases: Any, broker: Any) -> Any:
    return settings_for(ClaimsSettings, databases.create("claims"), broker, submission_interval_seconds=3600,
                        response_poll_seconds=3600)


async def post_visit(client: httpx.AsyncClient, broker: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Post a visit, and announce eligibility's check of its patient (covered)."""
    posted = await client.post("/v1/visits", json=body, headers=auth())
    assert posted.status_code == 201, posted.text
    coverage = EligibilityCheckedV1(check_id=new_id(), practice_id="practice-a", patient_id=body["patient_id"],
                                    payer_id=body["coverage"]["payer_id"], as_of=DOS, active=True,
                                    coverage_from=date(2020, 1, 1))
    await publish_envelopes(broker.bootstrap, topics.ELIGIBILITY_CHECKED, [
        envelope_for(coverage, source="eligibility", subject=coverage.check_id, practice_id="practice-a")])
    result: dict[str, Any] = posted.json()
    return result


async def test_a_supervised_clinician_is_billed_under_the_npis_the_registry_decides(
        broker, databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with claims_and_the_registry(broker, databases, tmp_path) as (_, client):
        # ACME (rules/supervision_policies.yaml in authorizations): LMSW billed under the supervisor as rendering.
        # SBXBH: the supervised clinician stays rendering (2310B), the supervisor goes in 2310D.
        # SBXHP, by the practice's policy: the supervisor as rendering (the registry used to allow this while claims
        # sent the supervised clinician's NPI). ACME does not take an LCSW-A under supervision: held, never sent.
        # ACME requires a prior authorization (authorizations' rules, its one home since issue 10): each visit has one.
        with_auth = {"prior_authorization_number": "A-9"}
        cases = (("S-1", "ACME", "LMSW", with_auth), ("S-2", "SBXBH", "LMSW", with_auth),
                 ("S-3", "ACME", "LCSW-A", with_auth), ("S-4", "SBXHP", "LMSW", with_auth))
        for external_id, payer, credential, extra in cases:
            await post_visit(client, broker, visit(external_id, payer, credential, **extra))

        async def four_claims() -> dict[str, dict[str, Any]] | None:
            items = (await client.get("/v1/claims", headers=auth())).json()["items"]
            if len(items) < 4 or any(c["status"] == "awaiting_facts" for c in items):
                return None
            return {c["payer_id"] + ("-held" if c["status"] == "held" else ""): c for c in items}

        built = await eventually(four_claims, what="four claims built")
        assert {k: v["status"] for k, v in built.items()} == {
            "ACME": "scrubbed", "SBXBH": "scrubbed", "SBXHP": "scrubbed", "ACME-held": "held"}, built
        held = built["ACME-held"]
        assert [(f["code"], f["field"]) for f in held["findings"] if f["severity"] == "error"] == [
            ("PROVIDER_NOT_CREDENTIALED", "rendering.npi")]
        assert "credential_not_billable_under_supervisor" in held["findings"][0]["message"]

        submitted = (await client.post("/v1/submission-batches", headers=auth())).json()
        assert submitted == {"batches_created": 3, "batches_sent": 3}
        sent = {path.name.split("_")[1]: path.read_text()
                for path in (tmp_path / "clearinghouse" / "outbound").iterdir()}
        for text in sent.values():
            assert pyx12_errors(text) == []

        (acme,) = claims_in(sent["ACME"])
        assert acme["rendering"]["npi"] == SUPERVISOR_NPI and acme["rendering"]["last_name"] == "STONE"
        assert acme["supervising"] is None
        assert SUPERVISED_NPI not in sent["ACME"], "the clinician ACME has not enrolled is not on its claim"
        assert "NM1*82*1*STONE*DANA****XX*1003000126~" in sent["ACME"]

        (carve_out,) = claims_in(sent["SBXBH"])
        assert carve_out["rendering"]["npi"] == SUPERVISED_NPI
        assert carve_out["supervising"]["npi"] == SUPERVISOR_NPI
        assert "NM1*DQ*1*STONE*DANA****XX*1003000126~" in sent["SBXBH"]

        (practice_policy,) = claims_in(sent["SBXHP"])
        assert (practice_policy["rendering"]["npi"], practice_policy["supervising"]) == (SUPERVISOR_NPI, None)
        assert SUPERVISED_NPI not in sent["SBXHP"]

        scrubbed = (await client.get(f"/v1/claims/{built['ACME']['claim_id']}", headers=auth())).json()
        assert scrubbed["status"] == "submitted"


async def test_while_authorizations_is_down_claims_wait_visibly_and_are_scrubbed_when_the_answer_arrives(
        broker, databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    claims = build_claims(claims_settings(databases, broker),
                          clearinghouse=SandboxClearinghouse(tmp_path / "clearinghouse"), clock=fixed_clock())
    async with running(claims) as client:
        # billed under the supervisor (ACME), but held for a Z code as principal diagnosis
        held_visit = await post_visit(client, broker, {
            **visit("S-9", "ACME", "LMSW", prior_authorization_number="A-9"), "diagnoses": ["Z63.0"]})
        await post_visit(client, broker, visit("S-10", "SBXBH", "LMSW", prior_authorization_number="A-10"))

        async def waiting_for_authorizations() -> list[dict[str, Any]] | None:
            items = (await client.get("/v1/claims", params={"status": "awaiting_facts"}, headers=auth())).json()
            ready = [c for c in items["items"] if c["awaiting_facts"] == ["authorization_determination"]]
            return ready if len(ready) == 2 else None

        waiting = await eventually(waiting_for_authorizations, what="both claims waiting for authorizations only")
        assert all(c["awaiting_since"] is not None and c["findings"] == [] for c in waiting)
        # a biller's "scrub again" cannot hurry it: the claim keeps waiting, nothing is guessed
        again = await client.post(f"/v1/claims/{waiting[0]['claim_id']}/scrub", headers=auth())
        assert again.status_code == 200 and again.json()["status"] == "awaiting_facts", again.text
        report = (await client.get("/v1/reports/awaiting-facts", headers=auth())).json()
        assert report["awaiting"] == 2 and report["newest_fact_age_seconds"]["authorization_determination"] is None

        # authorizations comes up: it reads the visits claims completed and answers each; claims scrubs them
        authorizations = build_authorizations(settings_for(AuthorizationsSettings, databases.create("auth"), broker),
                                              clock=fixed_clock())
        async with running(authorizations) as registry:
            await set_up_the_registry(registry)

            async def settled() -> dict[str, dict[str, Any]] | None:
                items = (await client.get("/v1/claims", headers=auth())).json()["items"]
                if any(c["status"] == "awaiting_facts" for c in items):
                    return None
                return {c["visit_id"]: c for c in items}

            by_visit = await eventually(settled, timeout=40, what="both claims scrubbed")
        held = by_visit[held_visit["visit_id"]]
        assert held["status"] == "held"
        assert {f["code"] for f in held["findings"] if f["severity"] == "error"} == {"PRINCIPAL_DIAGNOSIS_NOT_ALLOWED"}
        assert [c["status"] for v, c in by_visit.items() if v != held_visit["visit_id"]] == ["scrubbed"]
