"""Reporting benchmark: the read model fed a poll at a time, then the KPI board and A/R aging read from it, on
PostgreSQL.

Run: ``uv run python services/reporting/bench_reporting.py`` (about 30-60 s on 2 cores). Prints a table; exits 0.
CLAIMS claims of one practice, each submitted, posted (paid, with patient responsibility; one in ten denied, with
its denial) and its status changed: four events a claim, handed to the consumer's batch handler in polls of 500 as
the service runs them (facts kept, each touched claim's row recomputed, one transaction a poll). Then the board and
the aging, computed from every row of the practice at read time, best of 3. Wall-clock time; PostgreSQL from
``RCM_TEST_POSTGRES_DSN``, a fresh database dropped at the end.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from decimal import Decimal

from rcm_shared.contracts import (
    ClaimLineV1,
    ClaimPaymentPostedV2,
    ClaimStatusChangedV1,
    ClaimSubmittedV1,
    DenialRaisedV1,
    EventEnvelope,
    EventPayload,
    envelope_for,
)
from rcm_shared.messaging import batch_dispatcher
from rcm_shared.testing.databases import TestDatabases
from rcm_shared.testing.fixtures import fixed_clock
from reporting.bootstrap import build_runtime, build_services, fact_rules
from reporting.config import ReportingSettings
from reporting.service_layer import reports
from reporting.service_layer.handlers import message_map
from reporting.service_layer.reports import Window

CLAIMS, POLL, PRACTICE = 5000, 500, "practice-a"
NPIS = ["1234567893", "1245319599", "1003000126", "1679576722"]


def claim_events(i: int, today: object) -> list[tuple[EventEnvelope, EventPayload]]:
    claim_id = f"c-{i}"
    dos = today - timedelta(days=1 + i % 120)  # type: ignore[operator]
    denied = i % 10 == 0
    payloads: list[EventPayload] = [
        ClaimSubmittedV1(claim_id=claim_id, visit_id=f"v-{i}", practice_id=PRACTICE, patient_id=f"pt-{i % 900}",
                         payer_id=f"PAYER{i % 5}", patient_control_number=f"PCN{i}", frequency_code="1",
                         total_charge=Decimal("150.00"), date_of_service=dos, rendering_npi=NPIS[i % 4],
                         program="outpatient", batch_id="b", interchange_control_number="1",
                         lines=[ClaimLineV1(line_number=1, procedure_code="90837", units=1,
                                            charge=Decimal("150.00"))]),
        ClaimPaymentPostedV2(posting_id=f"p-{i}", era_id="era", claim_id=claim_id, practice_id=PRACTICE,
                             outcome="denied" if denied else "paid", claim_status_code="1",
                             charge=Decimal("150.00"), paid=Decimal("0" if denied else "100.00"),
                             patient_responsibility=Decimal("0" if denied else "20.00"),
                             contractual_adjustment=Decimal("30.00")),
        ClaimStatusChangedV1(claim_id=claim_id, practice_id=PRACTICE, previous_status="submitted",
                             status="denied" if denied else "paid"),
    ]
    if denied:
        payloads.append(DenialRaisedV1(denial_id=f"d-{i}", claim_id=claim_id, practice_id=PRACTICE,
                                       payer_id=f"PAYER{i % 5}", era_id="era", category="coding",
                                       reason_codes=["16"], amount=Decimal("150.00"),
                                       suggested_action="correct_and_resubmit", queue="coding"))
    return [(envelope_for(p, source="bench", subject=claim_id, practice_id=PRACTICE), p) for p in payloads]


async def best_of(runs: int, job: object) -> tuple[float, float]:
    """Best wall-clock and best CPU time of this process (the database's share is in the wall time only; on a
    loaded machine the CPU time is the steadier figure)."""
    wall = cpu = float("inf")
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        await job()  # type: ignore[operator]
        wall, cpu = min(wall, time.perf_counter() - started), min(cpu, time.process_time() - started_cpu)
    return wall, cpu


async def main() -> None:
    databases = TestDatabases()
    clock = fixed_clock()
    try:
        services = build_services(ReportingSettings(database_url=databases.create("bench_reporting"),
                                                    run_workers=False), clock)
        runtime = build_runtime(services)
        await runtime.migrate()
        handler = batch_dispatcher(message_map(services.uows, fact_rules(services.rules, clock), clock))
        events = [e for i in range(CLAIMS) for e in claim_events(i, clock.today())]
        started, started_cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(events), POLL):
            async with services.db.sessions() as session, session.begin():
                await handler(session, events[start:start + POLL])
        projected, projected_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        window = Window.of(clock, None, None, None)

        async def board() -> None:
            async with services.db.sessions() as session:
                await reports.board(session, PRACTICE, window, services.rules)

        async def aging() -> None:
            async with services.db.sessions() as session:
                await reports.ar_aging(session, PRACTICE, window, "payer", services.rules)

        async def trend() -> None:  # what the console's KPI board page adds to the board: 13 weekly points
            async with services.db.sessions() as session:
                await reports.trend(session, PRACTICE, window, "week", services.rules)

        (board_s, board_cpu), (aging_s, aging_cpu) = await best_of(3, board), await best_of(3, aging)
        trend_s, trend_cpu = await best_of(1, trend)
        print(f"{'metric':<52} {'value':>12}  unit")
        print(f"{'events projected (polls of 500)':<52} {len(events) / projected:>12,.0f}  events/s")
        print(f"{'events projected per CPU second of the service':<52} {len(events) / projected_cpu:>12,.0f}  events/s")
        print(f"{'claims in the read model':<52} {CLAIMS:>12,}  claims")
        print(f"{'KPI board, every KPI (best of 3)':<52} {board_s * 1000:>12,.0f}  ms")
        print(f"{'KPI board, CPU of the service (best of 3)':<52} {board_cpu * 1000:>12,.0f}  ms")
        print(f"{'A/R aging by payer (best of 3)':<52} {aging_s * 1000:>12,.0f}  ms")
        print(f"{'A/R aging, CPU of the service (best of 3)':<52} {aging_cpu * 1000:>12,.0f}  ms")
        print(f"{'KPI trend by week, 13 points (the console board)':<52} {trend_s * 1000:>12,.0f}  ms")
        print(f"{'KPI trend, CPU of the service':<52} {trend_cpu * 1000:>12,.0f}  ms")
        await runtime.db.dispose()
    finally:
        databases.drop_all()


if __name__ == "__main__":
    asyncio.run(main())
