"""The audit trail through the API, on PostgreSQL: every read (lists included) and every refusal is a row, the
request id is bounded, and the trail is read with audit:read, practice by practice, page by page."""

from __future__ import annotations

from typing import Any

import pytest
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.identity import claims_for, new_signing_key, sign
from remittance.bootstrap import build_app
from remittance.config import RemittanceSettings
from sqlalchemy import text

pytestmark = pytest.mark.integration
ERA_ID = "4f9a1c1e-0000-4000-8000-000000000001"


async def trail(client: Any, practice: str = "practice-a", **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/audit-events", params={"limit": 500, **params},
                                headers=auth(practice, ["audit:read"]))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_reads_lists_and_refusals_are_audited_and_the_trail_is_readable(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(RemittanceSettings, databases.create("rem_audit"), broker, run_workers=False)
    async with running(build_app(settings)) as client:
        for path in ("/v1/eras", "/v1/era-exceptions", "/v1/unapplied-cash"):
            assert (await client.get(path, headers={**auth(), "x-request-id": "ehr-req-0001"})).status_code == 200
        assert (await client.get(f"/v1/eras/{ERA_ID}", headers=auth())).status_code == 404  # not ours, or none
        assert (await client.get("/v1/eras")).status_code == 401
        stranger = sign(claims_for(scopes=["remittance:read"], subject="mallory"), key=new_signing_key())
        assert (await client.get("/v1/eras", headers={"Authorization": f"Bearer {stranger}"})).status_code == 401
        assert (await client.get("/v1/eras", headers=auth(scopes=["claims:read"]))).status_code == 403

        rows = await trail(client)
        lists = {r["object_type"]: r for r in rows if r["action"] == "list" and r["outcome"] == "success"}
        assert {"era", "era_exception", "unapplied_cash"} <= set(lists)
        assert lists["era"]["actor"] == "test-user" and lists["era"]["request_id"] == "ehr-req-0001"
        assert any(r["object_type"] == "era" and r["object_id"] == ERA_ID and r["outcome"] == "not_found"
                   for r in rows)
        forbidden = [r for r in rows if r["outcome"] == "forbidden"]
        assert [(r["actor"], r["object_type"]) for r in forbidden] == [("test-user", "era")]

        # A 401 has no verified actor and no practice: it is kept as anonymous, never with the token.
        async with app_db(client).sessions() as session:
            anonymous = (await session.execute(text(
                "SELECT actor, practice_id, outcome FROM audit_log WHERE outcome = 'unauthenticated'"))).all()
        assert [tuple(r) for r in anonymous] == [("anonymous", "", "unauthenticated")] * 2

        # Another practice sees none of this; its own reads are its own.
        assert {r["object_type"] for r in await trail(client, "practice-b")} <= {"audit_event"}

        # Reading the trail is audited too, and filters and pages work.
        assert any(r["object_type"] == "audit_event" for r in await trail(client, object_type="audit_event"))
        only = await trail(client, object_type="era", outcome="not_found")
        assert [r["object_id"] for r in only] == [ERA_ID]
        assert await trail(client, actor="nobody-at-all") == []
        pages, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 2, "object_type": "era"}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/v1/audit-events", params=params, headers=auth(scopes=["audit:read"]))).json()
            pages += [r["event_id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == sorted(pages, reverse=True) and len(pages) == len(set(pages)) >= 3
        no_scope = await client.get("/v1/audit-events", headers=auth(scopes=["remittance:read"]))
        assert no_scope.status_code == 403


async def test_a_long_or_odd_request_id_is_replaced_not_stored(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(RemittanceSettings, databases.create("rem_reqid"), broker, run_workers=False)
    async with running(build_app(settings)) as client:
        for given in ("x" * 300, "Margaret Holloway", "id\twith\ttabs", "ok-id:1.2_3"):
            response = await client.get("/v1/eras", headers={**auth(), "x-request-id": given})
            assert response.status_code == 200
            echoed = response.headers["x-request-id"]
            assert echoed == given if given == "ok-id:1.2_3" else (echoed != given and len(echoed) == 36)
        stored = {r["request_id"] for r in await trail(client, object_type="era")}
        assert "ok-id:1.2_3" in stored
        assert all(len(r) <= 64 and " " not in r for r in stored)


def app_db(client: Any) -> Any:
    return client._transport.app.state.db


async def test_no_data_leaves_when_its_audit_row_cannot_be_written(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(RemittanceSettings, databases.create("rem_noaudit"), broker, run_workers=False)
    async with running(build_app(settings)) as client:
        assert (await client.get("/v1/ledger/trial-balance", headers=auth())).status_code == 200
        async with app_db(client).transaction() as session:
            await session.execute(text("ALTER TABLE audit_log RENAME TO audit_log_away"))
        response = await client.get("/v1/ledger/trial-balance", headers=auth())
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "accounts" not in response.json()
