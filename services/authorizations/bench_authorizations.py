"""Authorizations benchmark: visits applied from visit-completed, a poll at a time, on PostgreSQL.

Run: ``uv run python services/authorizations/bench_authorizations.py`` (about 10-20 s on 2 cores). Prints a table;
exits 0. Each poll of 500 visits goes through the consumer's batch handler as the service runs it: units consumed on
the patients' ledgers, every visit answered (visit-authorization-determined staged in the outbox), in one
transaction. 800 patients with one payer that requires an authorization, each with one on file, and the clinicians
enrolled, so every answer carries an authorization and three credentialing decisions. Wall-clock time (the database
is half the work); PostgreSQL from ``RCM_TEST_POSTGRES_DSN``, a fresh database dropped at the end.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta

from authorizations.bootstrap import build_runtime, build_services
from authorizations.config import AuthorizationsSettings
from authorizations.domain.commands import RecordAuthorization, RecordEnrollment
from authorizations.service_layer import credentialing, ledger
from authorizations.service_layer.handlers import message_map
from rcm_shared.contracts import CodedService, EventEnvelope, VisitCompletedV1, envelope_for
from rcm_shared.messaging import batch_dispatcher
from rcm_shared.testing.databases import TestDatabases
from rcm_shared.testing.fixtures import fixed_clock
from sqlalchemy import event

POLLS, POLL, PATIENTS = 10, 500, 800
CLINICIAN, GROUP = "1234567893", "1245319599"


def poll(number: int, today: date) -> list[tuple[EventEnvelope, VisitCompletedV1]]:
    out = []
    for n in range(POLL):
        i = number * POLL + n
        payload = VisitCompletedV1(
            visit_id=f"v-{i}", practice_id="practice-a", patient_id=f"pt-{i % PATIENTS}", billing_model="insurance",
            payer_id="SBXHP", date_of_service=today - timedelta(days=1 + i % 60),
            rendering_npi=CLINICIAN, rendering_credential="LCSW", billing_npi=GROUP,
            services=[CodedService(procedure_code="90837")])
        out.append((envelope_for(payload, source="claims", subject=payload.visit_id, practice_id="practice-a"),
                    payload))
    return out


async def main() -> None:
    databases = TestDatabases()
    try:
        services = build_services(AuthorizationsSettings(database_url=databases.create("bench_authorizations"),
                                                         run_workers=False), fixed_clock())
        await build_runtime(services).migrate()
        clock, rules = services.clock, services.rules
        today = clock.today()
        async with services.uows() as uow:
            for npi in (CLINICIAN, GROUP):
                await credentialing.record_enrollment(uow, RecordEnrollment(
                    "practice-a", npi, "SBXHP", "", today - timedelta(days=900)), rules=rules, today=today,
                    at=clock.now())
            for p in range(PATIENTS):
                await ledger.record_authorization(uow, RecordAuthorization(
                    "practice-a", f"AUTH-{p}", f"pt-{p}", "SBXHP", ("90837",), 30, today - timedelta(days=90),
                    today + timedelta(days=90)), rules=rules, today=today, at=clock.now())
        handle = batch_dispatcher(message_map(services.uows, rules, clock))
        statements: list[int] = []
        event.listen(services.db.engine.sync_engine, "before_cursor_execute",
                     lambda *args: statements.__setitem__(0, statements[0] + 1) if statements else None)
        polls = [poll(n, today) for n in range(POLLS)]
        per_poll = []
        started = time.perf_counter()
        for items in polls:
            statements[:] = [0]
            async with services.db.sessions() as session, session.begin():
                await handle(session, items)
            per_poll.append(statements[0])
        seconds = time.perf_counter() - started
        await services.db.dispose()
    finally:
        databases.drop_all()
    visits = POLLS * POLL
    print(f"{'bench':<52} {'visits':>8} {'seconds':>8} {'visits/s':>9}")
    print(f"{'visits applied and answered (polls of 500, PostgreSQL)':<52} {visits:>8,} {seconds:>8.2f} "
          f"{visits / seconds:>9,.0f}")
    print(f"statements per poll: {min(per_poll)}-{max(per_poll)} (however many visits a poll holds)")


if __name__ == "__main__":
    asyncio.run(main())
