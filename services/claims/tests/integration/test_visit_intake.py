"""POST /v1/visits under concurrency (group commit, rcm_shared.http.group_commit) on real PostgreSQL: requests in
flight are recorded together, yet each keeps its own answer, refusal, audit row, idempotency and events; a batch
that fails as a whole is tried again request by request, and nothing of the failing one is kept."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from claims.bootstrap import build_app
from claims.config import ClaimsSettings
from claims.domain.commands import RecordVisit
from rcm_shared.http.group_commit import GroupCommit
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from .test_claim_flow import visit

pytestmark = pytest.mark.integration


async def test_concurrent_visits_each_keep_their_answer_audit_key_and_events(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(ClaimsSettings, databases.create("claims"), broker, submission_interval_seconds=3600,
                            response_poll_seconds=3600, run_workers=False, intake_writers=1)
    app = build_app(settings, clock=fixed_clock())
    async with running(app) as client:
        headers = auth()

        async def post(external_id: str, key: str | None, **changes: Any) -> Any:
            body = {**visit(external_id), **changes}
            return await client.post("/v1/visits", json=body,
                                     headers={**headers, **({"Idempotency-Key": key} if key else {})})

        answers = await asyncio.gather(
            *(post(f"V-{n}", f"key-{n}") for n in range(40)),
            post("V-0", "key-0"),  # the same request again (same key, same body), in flight with the first
            post("V-1", "another-key"),  # the same visit under another key: already recorded
            post("V-early", "key-early", date_of_service="1950-06-01"),  # refused by the domain alone
            post("V-0", "key-0", psychotherapy_minutes=30),  # the key again with another body
        )
        statuses = Counter(r.status_code for r in answers)
        assert statuses == {201: 41, 409: 1, 422: 2}, [r.text for r in answers if r.status_code != 201]
        first, again = answers[0], answers[40]
        assert again.json() == first.json(), "a repeated key answers what the first request stored"
        assert answers[41].json()["visit_id"] == answers[1].json()["visit_id"]
        assert answers[42].json()["errors"][0]["field"] == "date_of_service"
        assert answers[43].json()["errors"][0]["field"] == "header.Idempotency-Key"

        db = app.state.db
        async with db.sessions() as session:
            count = (await session.execute(text("SELECT count(*) FROM visits"))).scalar_one()
            claims = (await session.execute(text("SELECT count(*) FROM claims WHERE status = 'awaiting_facts'"))
                      ).scalar_one()
            events = dict((await session.execute(text(
                "SELECT event_type, count(*) FROM outbox GROUP BY event_type"))).all())
            keys = (await session.execute(select(func.count()).select_from(db.tables.idempotency_keys))).scalar_one()
            audit = Counter((await session.execute(text(
                "SELECT outcome FROM audit_log WHERE object_type = 'visit'"))).scalars())
            audited_ids = set((await session.execute(text(
                "SELECT object_id FROM audit_log WHERE object_type = 'visit' AND outcome = 'success'"))).scalars())
        assert (count, claims, keys) == (40, 40, 40)
        assert sum(v for k, v in events.items() if k == "visit.completed") == 40
        assert sum(v for k, v in events.items() if k == "claim.status-changed") == 40
        # every request audited once: the 40 recorded with their visit, the replay and the refusals by the middleware
        assert audit == {"success": 41, "conflict": 1, "invalid": 2}
        assert {r.json()["visit_id"] for r in answers[:40]} <= audited_ids


async def test_a_batch_that_fails_is_tried_again_request_by_request(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(ClaimsSettings, databases.create("claims"), broker, submission_interval_seconds=3600,
                            response_poll_seconds=3600, run_workers=False)
    app = build_app(settings, clock=fixed_clock())
    services = app.state.services
    real = services.intake._write  # the use case the bootstrap wired
    batches: list[int] = []

    async def failing_after_writing(session: AsyncSession, commands: Sequence[RecordVisit]) -> Any:
        batches.append(len(commands))
        done = await real(session, commands)  # written, then the whole transaction fails
        if any(c.external_visit_id == "POISON" for c in commands):
            raise RuntimeError("the database refused the batch")
        return done

    app.state.services = dataclasses.replace(services, intake=GroupCommit(services.db, failing_after_writing,
                                                                          writers=1))
    async with running(app) as client:
        answers = await asyncio.gather(*(client.post("/v1/visits", json=visit(external_id), headers=auth())
                                         for external_id in ["V-a", "V-b", "POISON", "V-c", "V-d", "V-e"]))
        assert [r.status_code for r in answers] == [201, 201, 500, 201, 201, 201]
        assert max(batches) > 1, "requests in flight went together"
        async with app.state.db.sessions() as session:
            kept = set((await session.execute(text("SELECT external_visit_id FROM visits"))).scalars())
            outbox = (await session.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
        assert kept == {"V-a", "V-b", "V-c", "V-d", "V-e"}, "nothing of the failing request is kept"
        assert outbox == 10, "each kept visit: visit-completed and its claim's claim-status-changed"
