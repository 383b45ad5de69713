"""Eligibility's consumers as bootstrap wires them (the kernel's consumer with the message map as its batch
handler), on a SQLite database, no broker: a poll of completed visits is counted in one call and a redelivery is a
no-op; a poll whose batch fails is applied one event at a time, each counted once, and what one event announces
names it as its cause."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from eligibility.adapters.orm import metadata, platform, session_visits
from eligibility.bootstrap import build_runtime, build_services
from eligibility.config import EligibilitySettings
from eligibility.domain.model import BenefitsOnFile
from eligibility.entrypoints.dependencies import EligibilityServices
from eligibility.service_layer import session_limits
from rcm_shared.clock import FixedClock
from rcm_shared.contracts import CodedService, EventEnvelope, VisitCompletedV1, envelope_for, topics
from rcm_shared.messaging import EventConsumer
from rcm_shared.service import ServiceRuntime
from sqlalchemy import event, func, select

from .conftest import sandbox

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[EligibilityServices]:
    settings = EligibilitySettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'elig.db'}",
                                   consumer_retry_base_seconds=0.01)
    built = build_services(settings, gateway=sandbox(), clock=FixedClock(NOW))
    async with built.db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with built.uows() as uow:  # 5 visits a year: alerts from 3 left
        await uow.benefits.save([BenefitsOnFile("practice-a", "pt-1", "SBXHP", "chk-1", True, date(2026, 1, 5), None,
                                                None, {}, 5, None, None, NOW)])
    yield built
    await built.db.dispose()


def visits_consumer(services: EligibilityServices) -> EventConsumer:
    runtime: ServiceRuntime = build_runtime(services)
    (consumer,) = [c for c in runtime.consumers if c.name == "session-limits"]
    return consumer


def record(visit_id: str, offset: int) -> tuple[EventEnvelope, ConsumerRecord[bytes, bytes]]:
    visit = VisitCompletedV1(visit_id=visit_id, practice_id="practice-a", patient_id="pt-1", billing_model="insurance",
                             payer_id="SBXHP", date_of_service=date(2026, 12, 1) - timedelta(days=offset),
                             rendering_npi="1234567893", services=[CodedService(procedure_code="90837")])
    envelope = envelope_for(visit, source="claims", subject=visit_id, practice_id="practice-a")
    value = envelope.to_bytes()
    return envelope, ConsumerRecord(topics.VISIT_COMPLETED, 0, offset, 0, 0, visit_id.encode(), value, None, 0,
                                    len(value), [])


async def counted(services: EligibilityServices) -> int:
    async with services.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(session_visits))).scalar_one())


async def outbox(services: EligibilityServices) -> list[dict[str, Any]]:
    async with services.db.sessions() as session:
        rows = (await session.execute(select(platform.outbox.c.payload).order_by(platform.outbox.c.id))).scalars()
        return [json.loads(bytes(p)) for p in rows]


async def test_a_poll_is_counted_in_one_call_and_a_redelivery_is_a_no_op(services: EligibilityServices,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = session_limits.count_completed_visits

    async def spy(uow: Any, events: Sequence[VisitCompletedV1], rules: Any) -> None:
        calls.append(len(events))
        await real(uow, events, rules)

    monkeypatch.setattr(session_limits, "count_completed_visits", spy)
    polled = [record(f"v-{n}", n)[1] for n in range(4)]
    await visits_consumer(services).handle_records([*polled, polled[1]])
    assert calls == [4] and await counted(services) == 4
    await visits_consumer(services).handle_records(polled)
    assert calls == [4], "the inbox has every one of them"
    alerts = [e for e in await outbox(services) if e["data"]["session_limit_alert"]]
    assert [(a["data"]["visits_remaining"], a.get("causationid")) for a in alerts] == [(3, None)], \
        "announced once; a poll of many names no single cause"


async def test_a_batch_that_fails_is_applied_one_by_one_each_event_once(services: EligibilityServices,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real = session_limits.count_completed_visits

    async def refuses_batches(uow: Any, events: Sequence[VisitCompletedV1], rules: Any) -> None:
        if len(events) > 1:
            raise RuntimeError("a unique key another consumer took first")
        await real(uow, events, rules)

    monkeypatch.setattr(session_limits, "count_completed_visits", refuses_batches)
    polled = [record(f"v-{n}", n) for n in range(3)]
    await visits_consumer(services).handle_records([r for _, r in polled])
    assert await counted(services) == 3
    (alert,) = [e for e in await outbox(services) if e["data"]["session_limit_alert"]]
    assert alert["causationid"] == polled[1][0].id, "the second visit left 3 of 5: it caused the alert"


@pytest.mark.parametrize("size", [40, 400])
async def test_a_poll_costs_the_same_statements_whatever_its_size(services: EligibilityServices, size: int) -> None:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split(maxsplit=1)[0])

    event.listen(services.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        await visits_consumer(services).handle_records([record(f"v-{n}", n % 300)[1] for n in range(size)])
    finally:
        event.remove(services.db.engine.sync_engine, "before_cursor_execute", count)
    assert await counted(services) == size
    # inbox read and write, the visits, the benefits, stored visits and alerts, the alerts raised, the outbox
    assert len(statements) <= 10, statements  # the same for 40 or 400 visits
