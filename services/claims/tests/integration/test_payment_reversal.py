"""A payer's reversal (CLP02 22) reopens a paid claim into the reversed work queue, and its history says why;
the re-issue that follows settles it again. On PostgreSQL and the broker, with the events remittance sends."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from claims.adapters.clearinghouse import SandboxClearinghouse
from claims.bootstrap import build_app
from claims.config import ClaimsSettings
from rcm_shared.contracts import ClaimPaymentPostedV1, ClaimPaymentPostedV2, envelope_for, topics
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic

from .conftest import announce, checked, determined
from .test_claim_flow import DOS, visit

pytestmark = pytest.mark.integration


def posted(model: type[ClaimPaymentPostedV1], claim_id: str, posting_id: str, outcome: str, paid: str,
           patient: str, **extra: Any) -> Any:
    return model(posting_id=posting_id, era_id=f"era-{posting_id}", claim_id=claim_id, practice_id="practice-a",
                 outcome=outcome, claim_status_code="22" if outcome == "reversed" else "1",
                 charge=Decimal("-200.00") if outcome == "reversed" else Decimal("200.00"), paid=Decimal(paid),
                 patient_responsibility=Decimal(patient), contractual_adjustment=Decimal("0.00"),
                 payer_claim_number="PAYER-1", **extra)


async def test_a_reversed_payment_reopens_the_claim_in_a_work_queue_with_its_reason(  # type: ignore[no-untyped-def]
        broker, databases, tmp_path: Path) -> None:
    settings = settings_for(ClaimsSettings, databases.create("claims"), broker, submission_interval_seconds=3600,
                            response_poll_seconds=3600)
    app = build_app(settings, clearinghouse=SandboxClearinghouse(tmp_path / "ch"))
    async with running(app) as client:
        recorded = await client.post("/v1/visits", json=visit("R-1"), headers=auth())
        assert recorded.status_code == 201
        await announce(broker.bootstrap, checked("pt-R-1", "SBXHP", DOS),
                       determined(recorded.json()["visit_id"], "pt-R-1", "SBXHP", DOS, rendering_npi="1234567893",
                                  credentialed={"1234567893", "1245319599"}))

        async def scrubbed() -> list[dict[str, Any]] | None:
            items: list[dict[str, Any]] = (await client.get("/v1/claims", params={"status": "scrubbed"},
                                                            headers=auth())).json()["items"]
            return items or None

        claim_id = (await eventually(scrubbed, what="a clean claim"))[0]["claim_id"]
        assert (await client.post("/v1/submission-batches", headers=auth())).json()["batches_sent"] == 1

        async def settle(*events: Any, status: str) -> dict[str, Any]:
            await publish_envelopes(broker.bootstrap, topics.CLAIM_PAYMENT_POSTED, [
                envelope_for(e, source="remittance", subject=claim_id, practice_id="practice-a") for e in events])

            async def reached() -> dict[str, Any] | None:
                body: dict[str, Any] = (await client.get(f"/v1/claims/{claim_id}", headers=auth())).json()
                return body if body["status"] == status else None

            return await eventually(reached, what=f"the claim {status}")

        # Paid (a v1 event, as remittance sent before v2), then the payer takes the payment back (v2).
        await settle(posted(ClaimPaymentPostedV1, claim_id, "p-1", "paid", "150.00", "30.00"), status="paid")
        reversal = posted(ClaimPaymentPostedV2, claim_id, "p-2", "reversed", "-150.00", "-30.00",
                          trace_number="EFT20261201", reverses_posting_id="p-1")
        body = await settle(reversal, status="reversed")
        assert (Decimal(body["paid"]), Decimal(body["patient_responsibility"])) == (0, 0)
        last = body["history"][-1]
        assert (last["from_status"], last["to_status"]) == ("paid", "reversed")
        assert last["reason"] == "payment_reversed,era:era-p-2,trace:EFT20261201"
        queue = (await client.get("/v1/claims", params={"status": "reversed"}, headers=auth())).json()["items"]
        assert [c["claim_id"] for c in queue] == [claim_id], "a biller sees it in the reversed queue"

        # The same reversal delivered again under a new event id changes nothing; the re-issue settles it.
        await settle(reversal, posted(ClaimPaymentPostedV2, claim_id, "p-3", "paid", "160.00", "20.00",
                                      trace_number="EFT20261201"), status="paid")
        body = (await client.get(f"/v1/claims/{claim_id}", headers=auth())).json()
        assert (Decimal(body["paid"]), Decimal(body["patient_responsibility"])) == (Decimal("160"), Decimal("20"))
        assert [h["to_status"] for h in body["history"]][-3:] == ["paid", "reversed", "paid"]

        changes = await read_topic(broker.bootstrap, topics.CLAIM_STATUS_CHANGED, expect=7)
        reopened = [json.loads(r.value)["data"] for r in changes if json.loads(r.value)["data"]["status"] == "reversed"]
        assert [c["reason_codes"] for c in reopened] == [["payment_reversed", "era:era-p-2", "trace:EFT20261201"]]
