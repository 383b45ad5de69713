"""The reconciliation check on real PostgreSQL: insured visits with no claim and submitted claims remittance holds no
copy of, once the grace period has passed, counted into ``rcm_reconciliation_gaps``; remittance asked through the
``RemittanceCopies`` port (a fake here; over HTTP in the drill)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from claims.adapters.orm import claims, visits
from claims.bootstrap import build_app
from claims.config import ClaimsSettings
from claims.service_layer.reconciliation import Gaps, reconcile
from prometheus_client import REGISTRY
from rcm_shared.db.bulk import insert_many
from rcm_shared.testing.fixtures import running

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 3, 1, 8, tzinfo=UTC)
HOUR_AGO = NOW - timedelta(hours=1)


@dataclass
class FakeRemittance:
    copies: set[str] = field(default_factory=set)
    reachable: bool = True
    asked: list[tuple[str, list[str]]] = field(default_factory=list)

    async def held(self, practice_id: str, claim_ids: list[str]) -> set[str] | None:
        self.asked.append((practice_id, claim_ids))
        return self.copies & set(claim_ids) if self.reachable else None


def visit(visit_id: str, billing_model: str, received_at: datetime) -> dict[str, Any]:
    return dict(visit_id=visit_id, practice_id="practice-a", external_visit_id=f"ext-{visit_id}", patient_id="pt-1",
                billing_model=billing_model, payer_id="SBXHP" if billing_model == "insurance" else None,
                date_of_service=date(2026, 11, 20), document={}, received_at=received_at)


def claim(claim_id: str, visit_id: str, status: str, submitted_at: datetime | None) -> dict[str, Any]:
    return dict(claim_id=claim_id, practice_id="practice-a", visit_id=visit_id, patient_id="pt-1", payer_id="SBXHP",
                patient_control_number=f"PCN-{claim_id}", status=status, frequency_code="1",
                total_charge=Decimal("150.00"), date_of_service=date(2026, 11, 20), rendering_npi="1234567893",
                fingerprint=f"fp-{claim_id}", document={}, findings=[], paid=Decimal("0.00"),
                patient_responsibility=Decimal("0.00"), created_at=HOUR_AGO, submitted_at=submitted_at,
                updated_at=HOUR_AGO, version=1)


def gauge(check: str) -> float | None:
    return REGISTRY.get_sample_value("rcm_reconciliation_gaps", {"service": "claims", "check": check})


async def test_visits_without_a_claim_and_claims_without_a_remittance_copy_are_counted_after_the_grace(
        databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = ClaimsSettings(database_url=databases.create("claims_reconciliation"), run_workers=False,
                              clearinghouse_dir=tmp_path)
    remittance = FakeRemittance(copies={"c-1"})
    app = build_app(settings, copies=remittance)
    async with running(app):
        db = app.state.db
        async with db.transaction() as session:
            await insert_many(session, visits, [
                visit("v-1", "insurance", HOUR_AGO), visit("v-2", "insurance", HOUR_AGO),
                visit("v-lost", "insurance", HOUR_AGO),  # its visit-completed never reached the claim builder
                visit("v-new", "insurance", NOW - timedelta(minutes=2)),  # within the grace: not yet a gap
                visit("v-self", "self_pay", HOUR_AGO),  # no claim expected
            ])
            await insert_many(session, claims, [
                claim("c-1", "v-1", "submitted", HOUR_AGO),
                claim("c-2", "v-2", "accepted", HOUR_AGO),  # remittance never applied its claim-submitted
            ])

        gaps = await reconcile(db, remittance, now=NOW, after=timedelta(minutes=15), lookback=timedelta(days=30))
        assert gaps == Gaps(visits_without_claim=1, submitted_claims_without_copy=1)
        assert remittance.asked == [("practice-a", ["c-1", "c-2"])]
        assert gauge("visits_without_claim") == 1
        assert gauge("submitted_claims_without_remittance_copy") == 1

        remittance.copies.add("c-2")  # remittance caught up (the relay published again, say)
        gaps = await reconcile(db, remittance, now=NOW, after=timedelta(minutes=15), lookback=timedelta(days=30))
        assert gaps.submitted_claims_without_copy == 0
        assert gauge("submitted_claims_without_remittance_copy") == 0

        remittance.reachable = False  # unknown is not "all clear": the gauge keeps what it last knew
        async with db.transaction() as session:
            await insert_many(session, claims, [claim("c-3", "v-lost", "submitted", HOUR_AGO)])
        gaps = await reconcile(db, remittance, now=NOW, after=timedelta(minutes=15), lookback=timedelta(days=30))
        assert gaps == Gaps(visits_without_claim=0, submitted_claims_without_copy=None)
        assert gauge("visits_without_claim") == 0
        assert gauge("submitted_claims_without_remittance_copy") == 0
