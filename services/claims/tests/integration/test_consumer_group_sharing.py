"""Two claims processes in one consumer group share the scrubber's work: the group spreads the partitions of
visit-authorization-determined and eligibility-checked over both, each event is applied by one of them, and every
claim is scrubbed exactly once. (Two apps here, each with its own consumers, relay and connection pool, on one
PostgreSQL database and the real broker: what two processes of the deployment are.)"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from claims.adapters.clearinghouse import SandboxClearinghouse
from claims.adapters.orm import claim_transitions, claims
from claims.bootstrap import build_app
from claims.config import ClaimsSettings
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually
from sqlalchemy import func, select, text

from .conftest import announce, checked, determined
from .test_claim_flow import DOS, visit

pytestmark = pytest.mark.integration
VISITS = 40


def facts_consumer(app: Any) -> Any:
    (consumer,) = [c for c in app.state.runtime.consumers if c.name == "claim-facts"]
    return consumer


def assignment(app: Any) -> set[tuple[str, int]]:
    client = facts_consumer(app)._consumer
    return {(tp.topic, tp.partition) for tp in client.assignment()} if client is not None else set()


async def test_two_claims_processes_share_the_partitions_and_scrub_each_claim_once(  # type: ignore[no-untyped-def]
        broker, databases, tmp_path: Path) -> None:
    url = databases.create("claims")
    group = f"t{uuid.uuid4().hex[:8]}"

    def one_process(name: str) -> Any:
        settings = settings_for(ClaimsSettings, url, broker, submission_interval_seconds=3600,
                                response_poll_seconds=3600, consumer_group_prefix=group)
        return build_app(settings, clearinghouse=SandboxClearinghouse(tmp_path / name), clock=fixed_clock())

    first, second = one_process("one"), one_process("two")
    async with running(first) as client, running(second):

        async def spread() -> tuple[set[tuple[str, int]], set[tuple[str, int]]] | None:
            a, b = assignment(first), assignment(second)
            return (a, b) if a and b and not a & b and len(a | b) == 8 else None

        mine, theirs = await eventually(spread, timeout=40, what="the group's 8 partitions spread over both")

        visits = []
        for n in range(VISITS):
            body = visit(f"G-{n}")
            body["coverage"] = {**body["coverage"], "member_id": f"SBX{n:06d}"}  # not duplicates of each other
            posted = await client.post("/v1/visits", json=body, headers=auth())
            assert posted.status_code == 201, posted.text
            visits.append((posted.json()["visit_id"], body["patient_id"]))
        for visit_id, patient_id in visits:
            await announce(broker.bootstrap,
                           determined(visit_id, patient_id, "SBXHP", DOS, rendering_npi="1234567893",
                                      credentialed={"1234567893", "1245319599"}),
                           checked(patient_id, "SBXHP", DOS))

        async def all_scrubbed() -> dict[str, int] | None:
            async with first.state.db.sessions() as session:
                by_status = dict((await session.execute(select(claims.c.status, func.count())
                                                        .group_by(claims.c.status))).all())
            return by_status if by_status == {"scrubbed": VISITS} else None

        await eventually(all_scrubbed, timeout=60, what="every claim scrubbed")
        async with first.state.db.sessions() as session:
            scrubs = (await session.execute(select(claim_transitions.c.claim_id, func.count()).where(
                claim_transitions.c.to_status == "scrubbed").group_by(claim_transitions.c.claim_id))).all()
            inbox = (await session.execute(text(
                "SELECT topic, partition, count(*) AS events, count(DISTINCT event_id) AS distinct_events "
                "FROM inbox WHERE consumer = :group GROUP BY topic, partition"),
                {"group": f"{group}.claim-facts"})).all()
        assert len(scrubs) == VISITS and {n for _, n in scrubs} == {1}, "each claim scrubbed once, by one process"
        assert sum(r.events for r in inbox) == 2 * VISITS == sum(r.distinct_events for r in inbox), \
            "each determination and check applied once"
        worked = {(r.topic, r.partition) for r in inbox}
        assert worked & mine and worked & theirs, "both processes applied events from their own partitions"
