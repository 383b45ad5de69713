"""Codes go into the 837P as they are sent (free text is cleaned, codes are not): one carrying an X12 delimiter
would split a segment, and an id shorter than X12 allows is an error too, either way the whole file, other
patients' claims included, is rejected. So the API refuses them with problem+json naming the field, never
echoing the value (and a payer id longer than its column is a 422, not a database error)."""

from __future__ import annotations

from pathlib import Path

import pytest
from claims.bootstrap import build_app
from claims.config import ClaimsSettings
from rcm_shared.testing.fixtures import auth, running

pytestmark = pytest.mark.integration

ADDRESS = {"line1": "100 MAIN ST", "city": "HARTFORD", "state": "CT", "postal_code": "06103"}


def _visit(**coverage: object) -> dict[str, object]:
    return {
        "external_visit_id": "E-1", "patient_id": "pt-1",
        "patient": {"first_name": "ALEX", "last_name": "SAMPLE", "birth_date": "1988-04-12", "gender": "F",
                    "address": ADDRESS},
        "coverage": {"payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN", "member_id": "SBX000001",
                     **coverage},
        "date_of_service": "2026-11-02", "service_kind": "psychotherapy", "psychotherapy_minutes": 53,
        "diagnoses": ["F41.1"],
        "rendering": {"npi": "1234567893", "first_name": "JO", "last_name": "RIVERA", "credential": "LCSW"},
        "billing_provider": {"npi": "1245319599", "name": "RIVERSIDE COUNSELING", "tax_id": "123456789",
                             "address": ADDRESS},
    }


async def test_codes_that_would_break_the_837p_are_refused_naming_the_field(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = ClaimsSettings(database_url=databases.create("claims_x12_input"), run_workers=False,
                              clearinghouse_dir=str(tmp_path / "ch"), submission_interval_seconds=3600,
                              response_poll_seconds=3600)
    async with running(build_app(settings)) as client:
        refused = [
            (await client.post("/v1/visits", json=_visit(filing_indicator="C~"), headers=auth()),
             "body.coverage.filing_indicator"),
            (await client.post("/v1/visits", json=_visit(payer_id="SBX/../HP"), headers=auth()),
             "body.coverage.payer_id"),
            (await client.post("/v1/visits", json=_visit(payer_id="P" * 41), headers=auth()),
             "body.coverage.payer_id"),
            # too short for X12 (NM109 and N401 are 2 characters at least)
            (await client.post("/v1/visits", json=_visit(member_id="7"), headers=auth()),
             "body.coverage.member_id"),
            (await client.post("/v1/claims/00000000-0000-0000-0000-000000000001/corrections",
                               json={"modifiers": {"1": ["9~"]}}, headers=auth()), "body.modifiers.1.0"),
            (await client.post("/v1/claims/00000000-0000-0000-0000-000000000001/corrections",
                               json={"modifiers": {"1": ["95", "GT", "HO", "AJ", "59"]}}, headers=auth()),
             "body.modifiers.1"),
        ]
        for response, field in refused:
            assert response.status_code == 422, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert [e["field"] for e in response.json()["errors"]] == [field]
            assert "~" not in response.text and "../" not in response.text

        accepted = await client.post("/v1/visits", json=_visit(filing_indicator="MB", payer_id="SBX-HP.1"),
                                     headers=auth())
        assert accepted.status_code == 201, accepted.text
