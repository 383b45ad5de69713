"""A held claim worked through its work item on PostgreSQL and the broker: the item opens with the claim's facts,
a release that the re-scrub refuses says why (409, nothing moves), an amendment that leaves it unbillable keeps
it held with the findings that stand, the fix releases it and closes the item; each opening and resolution is
announced."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from claims.adapters.clearinghouse import SandboxClearinghouse
from claims.bootstrap import build_app
from claims.config import ClaimsSettings
from rcm_shared.contracts import topics
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, read_topic

from .conftest import announce, checked, determined
from .test_claim_flow import visit

pytestmark = pytest.mark.integration
DOS = fixed_clock().today() - timedelta(days=3)


async def held_items(client: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/work-items", headers=auth(), params={"queue": "held_claims"})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


async def test_a_held_claim_is_fixed_rescrubbed_and_released_through_its_work_item(  # type: ignore[no-untyped-def]
        broker, databases, tmp_path: Path) -> None:
    settings = settings_for(ClaimsSettings, databases.create("claims"), broker, submission_interval_seconds=3600,
                            response_poll_seconds=3600)
    app = build_app(settings, clearinghouse=SandboxClearinghouse(tmp_path / "ch"), clock=fixed_clock())
    async with running(app) as client:
        posted = (await client.post("/v1/visits", json=visit("H-1"), headers=auth())).json()
        claim_id = posted["visit_id"]
        # the payer wants an authorization and none is on file: the claim is held
        await announce(broker.bootstrap, determined(posted["visit_id"], "pt-H-1", "SBXHP", DOS,
                                                    rendering_npi="1234567893", credentialed={"1234567893",
                                                                                              "1245319599"},
                                                    authorization_number=None),
                       checked("pt-H-1", "SBXHP", DOS))
        items = await eventually(lambda: held_items(client), what="the held claim's work item")
        item = items[0]
        claim_id = item["subject_id"]
        assert item["category"] == "AUTHORIZATION_MISSING" and item["clinician_npi"] == "1234567893"
        assert item["payer_id"] == "SBXHP" and item["amount"] is not None and item["subject_type"] == "claim"

        # released as it is: the re-scrub says why not, and nothing moves
        refused = await client.post(f"/v1/work-items/{item['item_id']}/actions", headers=auth(),
                                    json={"action": "resolve", "resolution_code": "released"})
        assert refused.status_code == 409, refused.text
        assert [e["code"] for e in refused.json()["errors"]] == ["AUTHORIZATION_MISSING"]
        assert (await held_items(client))[0]["version"] == item["version"]

        # an amendment naming a line the claim does not have: 422 naming it, nothing written
        bad = await client.post(f"/v1/claims/{claim_id}/amendments", headers=auth(),
                                json={"line_places_of_service": {"5": "02"}})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.line_places_of_service.5"
        empty = await client.post(f"/v1/claims/{claim_id}/amendments", headers=auth(), json={})
        assert empty.status_code == 422

        # the number given, but the line now points at a diagnosis the claim does not list: still held, says why
        still = await client.post(f"/v1/claims/{claim_id}/amendments", headers=auth(), json={
            "prior_authorization_number": "AUTH-9", "diagnosis_pointers": {"1": [2]},
            "line_places_of_service": {"1": "02"}})
        assert still.status_code == 200, still.text
        assert still.json()["status"] == "held"
        assert [f["code"] for f in still.json()["findings"]] == ["POINTER_INVALID"]
        again = (await held_items(client))[0]
        assert again["item_id"] == item["item_id"] and again["occurrences"] == 2
        assert again["category"] == "POINTER_INVALID"

        fixed = await client.post(f"/v1/claims/{claim_id}/amendments", headers=auth(), json={
            "diagnosis_pointers": {"1": [1]}})
        assert fixed.status_code == 200 and fixed.json()["status"] == "scrubbed", fixed.text
        claim = (await client.get(f"/v1/claims/{claim_id}", headers=auth())).json()
        assert claim["lines"][0]["place_of_service"] == "02"  # each line's place of service in the claim's API
        assert await held_items(client) == []
        closed = (await client.get(f"/v1/work-items/{item['item_id']}", headers=auth())).json()
        assert closed["state"] == "resolved" and closed["resolution_code"] == "released"
        late = await client.post(f"/v1/claims/{claim_id}/amendments", headers=auth(),
                                 json={"prior_authorization_number": "AUTH-10"})
        assert late.status_code == 409

        opened = [json.loads(r.value)["data"] for r in await read_topic(broker.bootstrap, topics.WORK_ITEM_OPENED,
                                                                         expect=1)]
        resolved = [json.loads(r.value)["data"] for r in await read_topic(broker.bootstrap,
                                                                           topics.WORK_ITEM_RESOLVED, expect=1)]
        assert any(e["item_id"] == item["item_id"] and e["service"] == "claims" for e in opened)
        assert any(e["item_id"] == item["item_id"] and e["resolution_code"] == "released" for e in resolved)
