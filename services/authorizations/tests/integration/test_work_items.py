"""Renewals due as work items on PostgreSQL and the broker: the periodic sync opens one item per authorization
needing a renewal (due on the day to submit by), closes it when the problem goes away (a successor continues the
coverage), and a person's resolution is announced like the system's."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from authorizations.bootstrap import build_app
from authorizations.config import AuthorizationsSettings
from rcm_shared.contracts import topics
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, read_topic

pytestmark = pytest.mark.integration
TODAY = fixed_clock().today()


async def renewals(client: Any, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/work-items", headers=auth(),
                                params={"queue": "authorization_renewals", **params})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


async def authorize(client: Any, number: str, patient: str, start: int, end: int, units: int = 4) -> None:
    created = await client.post("/v1/authorizations", headers=auth(), json={
        "number": number, "patient_id": patient, "payer_id": "SBXHP", "cpt_codes": ["90837"],
        "approved_units": units, "start": (TODAY + timedelta(days=start)).isoformat(),
        "end": (TODAY + timedelta(days=end)).isoformat()})
    assert created.status_code == 201, created.text


async def test_renewals_due_are_opened_closed_and_worked_as_work_items(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(AuthorizationsSettings, databases.create("auth"), broker, work_item_sync_seconds=0.3)
    app = build_app(settings, clock=fixed_clock())
    async with running(app) as client:
        await authorize(client, "AUTH-1", "pt-1", -30, 10)
        await authorize(client, "AUTH-2", "pt-2", -30, 12)
        await authorize(client, "AUTH-9", "pt-9", -30, 200, units=40)  # far from any threshold

        async def two() -> list[dict[str, Any]] | None:
            found = await renewals(client)
            return found if len(found) == 2 else None

        items = await eventually(two, what="two renewal items")
        assert all(i["subject_type"] == "authorization" and i["due_on"] is not None for i in items)
        assert all(i["payer_id"] == "SBXHP" and i["priority"] in ("urgent", "high") for i in items)
        first = next(i for i in items if i["due_on"] == min(j["due_on"] for j in items))
        assert await renewals(client, sort="due") and (await renewals(client, sort="due"))[0]["item_id"] == \
            first["item_id"]

        # a successor continues AUTH-1's coverage: its item closes by itself
        await authorize(client, "AUTH-1B", "pt-1", 10, 100, units=20)
        work = (await client.get("/v1/work-queue", headers=auth())).json()
        assert [t["authorization_number"] for t in work["renewals_due"]] == ["AUTH-2"]

        async def one() -> list[dict[str, Any]] | None:
            found = await renewals(client)
            return found if len(found) == 1 else None

        remaining = await eventually(one, what="the renewed authorization's item closed")
        closed = await renewals(client, state="resolved")
        assert [c["resolution_code"] for c in closed] == ["no_longer_due"]
        assert closed[0]["subject_id"] != remaining[0]["subject_id"]

        # the other one: a person requests the renewal, naming the request
        item = remaining[0]
        bad = await client.post(f"/v1/work-items/{item['item_id']}/actions", headers=auth(),
                                json={"action": "resolve", "resolution_code": "released"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.resolution_code"
        done = await client.post(f"/v1/work-items/{item['item_id']}/actions", headers=auth(), json={
            "action": "resolve", "resolution_code": "renewal_requested", "reference": "REQ-1",
            "version": item["version"]})
        assert done.status_code == 200, done.text
        assert done.json()["trail"][-1]["detail"] == {"resolution_code": "renewal_requested", "reference": "REQ-1"}

        resolved = [json.loads(r.value)["data"] for r in await read_topic(
            broker.bootstrap, topics.WORK_ITEM_RESOLVED, expect=2)]
        assert {(e["service"], e["resolution_code"]) for e in resolved} >= {
            ("authorizations", "no_longer_due"), ("authorizations", "renewal_requested")}
