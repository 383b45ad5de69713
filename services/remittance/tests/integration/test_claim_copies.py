"""GET /v1/claim-copies: which of the claims a caller names remittance holds a copy of (claims' reconciliation asks),
for the caller's practice only; a request naming no claim, too many, or an id that is not one is a 422."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from rcm_shared.testing.fixtures import auth, running
from remittance.adapters.orm import submitted_claims
from remittance.bootstrap import build_app
from remittance.config import RemittanceSettings
from sqlalchemy import insert

pytestmark = pytest.mark.integration


def copy(claim_id: str, practice_id: str) -> dict[str, object]:
    return dict(claim_id=claim_id, practice_id=practice_id, patient_control_number=f"PCN{claim_id}",
                patient_id="pt-1", payer_id="SBXHP", visit_id=f"v-{claim_id}", total_charge=Decimal("150.00"),
                date_of_service=date(2026, 11, 20), rendering_npi="1234567893", program=None, lines=[],
                submitted_at=datetime(2026, 12, 1, 15, 0, tzinfo=UTC))


async def test_claim_copies_answers_which_claims_it_holds_for_the_callers_practice(databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(RemittanceSettings(database_url=databases.create("remit_copies"), run_workers=False))
    async with running(app) as client:
        async with app.state.db.transaction() as session:
            await session.execute(insert(submitted_claims), [copy("c-1", "practice-a"), copy("c-2", "practice-a"),
                                                             copy("c-9", "practice-b")])
        r = await client.get("/v1/claim-copies", params=[("claim_id", c) for c in ("c-1", "c-3", "c-9")],
                             headers=auth("practice-a"))
        assert r.status_code == 200, r.text
        assert r.json() == {"items": [{"claim_id": "c-1", "submitted_at": "2026-12-01T15:00:00+00:00"}]}

        for params in ([], [("claim_id", "x' OR 1")], [("claim_id", f"c-{n}") for n in range(201)]):
            r = await client.get("/v1/claim-copies", params=params, headers=auth("practice-a"))
            assert r.status_code == 422, (params[:1], r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "claim_id" in r.text
        r = await client.get("/v1/claim-copies", params={"claim_id": "c-1"},
                             headers=auth("practice-a", scopes=["claims:read"]))
        assert r.status_code == 403
