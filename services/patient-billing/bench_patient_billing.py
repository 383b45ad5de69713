"""Patient-billing benchmark: aging and balances of a practice with 1,000,000 ledger entries, on PostgreSQL.

Run: ``uv run python services/patient-billing/bench_patient_billing.py [--entries N]`` (about 1-2 minutes on 2 cores,
most of it loading). The practice's books are loaded with SQL (the same tables the service writes): 50,000
responsible-party accounts, each with 12 self-pay charges of 150.00 over 13 months and 8 payments of 150.00, every
entry with its two balanced lines (2,000,000 lines), the four newest charges of each account still open
(200,000 open items across 4 programs and 20 clinicians). Then, through the service's own reads
(``service_layer/views.py``, what the HTTP routes answer), best of 5 each: aging for the practice, by program, by
clinician; the balances report; the first page of accounts owing. A payment is then posted through the use case
(the account loads its open items, not its journal) and the books are checked with the trial balance (timed too:
it reads all 2,000,000 lines). Wall-clock time; PostgreSQL from ``RCM_TEST_POSTGRES_DSN``, a fresh database dropped
at the end. Prints a table; exits 1 if the aging and balances reads miss the 1 s target.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from patient_billing.adapters.orm import metadata
from patient_billing.bootstrap import build_runtime, build_services
from patient_billing.config import PatientBillingSettings
from patient_billing.domain.commands import RecordPayment
from patient_billing.service_layer import ledger, views
from rcm_shared.testing.databases import TestDatabases
from rcm_shared.testing.fixtures import fixed_clock
from sqlalchemy import Connection, Index, text

PRACTICE = "practice-bench"
PER_ACCOUNT, CHARGES, OPEN = 20, 12, 4  # entries per account: 12 charges then 8 payments; the 4 newest charges open
FEE = 15_000
TARGET_SECONDS = 1.0

LOAD = [
    # accounts and their one member (each patient their own guarantor)
    """INSERT INTO billing_accounts (account_id, practice_id, guarantor_id, kind, balance_cents, updated_at)
       SELECT 'acct-' || a, CAST(:p AS varchar), 'pt-' || a, 'individual', {open} * {fee}, now()
       FROM generate_series(0, {accounts} - 1) a""",
    """INSERT INTO account_members (practice_id, patient_id, effective_from, account_id, relationship)
       SELECT CAST(:p AS varchar), 'pt-' || a, DATE '1900-01-01', 'acct-' || a, 'self'
       FROM generate_series(0, {accounts} - 1) a""",
    # entries: k < 12 a charge (the newest last), else a payment
    """INSERT INTO journal_entries (entry_id, practice_id, account_id, kind, source_id, effective_date, posted_at,
                                    patient_id, visit_id, reasons, detail)
       SELECT 'e-' || g, CAST(:p AS varchar), 'acct-' || (g / {per}),
              CASE WHEN g % {per} < {charges} THEN 'charge' ELSE 'payment' END,
              CASE WHEN g % {per} < {charges} THEN 'visit:v-' || g ELSE 'payment:pay-' || g END,
              CAST(:today AS date) - ((g / {per}) % 30
                  + (CASE WHEN g % {per} < {charges} THEN {charges} - 1 - g % {per} ELSE 0 END) * 33),
              now(), 'pt-' || (g / {per}), CASE WHEN g % {per} < {charges} THEN 'v-' || g END, '[]', '{{}}'
       FROM generate_series(0, {entries} - 1) g""",
    """INSERT INTO journal_lines (entry_id, practice_id, ledger, account_id, debit_cents, credit_cents)
       SELECT 'e-' || g, CAST(:p AS varchar),
              CASE WHEN side = 1 THEN 'patient_ar' WHEN g % {per} < {charges} THEN 'self_pay_revenue'
                   ELSE 'patient_cash' END,
              CASE WHEN side = 1 THEN 'acct-' || (g / {per}) END,
              CASE WHEN (side = 1) = (g % {per} < {charges}) THEN {fee} ELSE 0 END,
              CASE WHEN (side = 1) = (g % {per} < {charges}) THEN 0 ELSE {fee} END
       FROM generate_series(0, {entries} - 1) g CROSS JOIN (VALUES (1), (2)) AS s(side)""",
    """INSERT INTO patient_payments (payment_id, practice_id, account_id, entry_id, amount_cents, refunded_cents,
                                     reversed)
       SELECT substr(source_id, 9), CAST(:p AS varchar), account_id, entry_id, {fee}, 0, false FROM journal_entries
       WHERE practice_id = :p AND kind = 'payment'""",
    """INSERT INTO open_items (item_id, practice_id, account_id, patient_id, service_date, kind, amount_cents,
                               open_cents, visit_id, program, clinician)
       SELECT entry_id, CAST(:p AS varchar), account_id, patient_id, effective_date, 'charge', {fee}, {fee}, visit_id,
              (ARRAY['adult-outpatient', 'anxiety-clinic', 'child-family', 'iop'])
                  [1 + (substr(account_id, 6)::int % 4)],
              '10000000' || lpad(((substr(entry_id, 3)::bigint / {per} + substr(entry_id, 3)::bigint) % 20)::text,
                                 2, '0')
       FROM journal_entries WHERE practice_id = :p AND kind = 'charge'
         AND (substr(entry_id, 3)::bigint % {per}) >= {charges} - {open}""",
    "ANALYZE",
]


async def best_of(times: int, read: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(times):
        started = time.perf_counter()
        result = await read()
        best = min(best, time.perf_counter() - started)
    return best, result


async def main(entries: int) -> int:
    accounts = entries // PER_ACCOUNT
    databases = TestDatabases()
    try:
        clock = fixed_clock()
        services = build_services(PatientBillingSettings(database_url=databases.create("bench_patient_billing"),
                                                         run_workers=False), clock)
        await build_runtime(services).migrate()
        today = clock.today()
        params = {"p": PRACTICE, "today": today}
        sizes = {"accounts": accounts, "entries": accounts * PER_ACCOUNT, "per": PER_ACCOUNT, "charges": CHARGES,
                 "open": OPEN, "fee": FEE}
        started = time.perf_counter()
        # Bulk load as a restore would: the tables' secondary indexes dropped first, built again after (same
        # definitions, from the service's own metadata), instead of maintained row by row.
        indexed = [t for t in metadata.sorted_tables if t.name in ("journal_entries", "journal_lines", "open_items",
                                                                  "patient_payments")]
        async with services.db.engine.begin() as connection:
            for table in indexed:
                for index in table.indexes:
                    await connection.execute(text(f"DROP INDEX {index.name}"))
        async with services.db.sessions() as session, session.begin():
            for statement in LOAD[:-1]:
                step = time.perf_counter()
                await session.execute(text(statement.format(**sizes)), params)
                print(f"  load: {time.perf_counter() - step:6.1f} s  {statement.split()[2]}", flush=True)
        async with services.db.engine.begin() as connection:
            for table in indexed:
                for index in table.indexes:
                    step = time.perf_counter()
                    await connection.run_sync(_create(index))
                    print(f"  index: {time.perf_counter() - step:6.1f} s  {index.name}", flush=True)
        async with services.db.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(LOAD[-1]))
        loaded = time.perf_counter() - started

        async def read(fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
            async with services.db.sessions() as session:
                return await fn(session, PRACTICE, *args)

        results: list[tuple[str, float, str]] = []
        for by in ("practice", "program", "clinician"):
            seconds, aging = await best_of(5, lambda by=by: read(views.aging, today, by))  # type: ignore[misc]
            results.append((f"aging by {by}", seconds, f"{len(aging['groups'])} groups, open {aging['open']}"))
        seconds, balances = await best_of(5, lambda: read(views.balances))
        results.append(("balances report", seconds,
                        f"{balances['accounts_owing']:,} accounts owe {balances['owed']}"))
        seconds, page = await best_of(5, lambda: _accounts_page(services))
        results.append(("accounts owing, first page of 100", seconds, f"{len(page)} rows"))

        started = time.perf_counter()
        async with services.uows() as uow:
            await ledger.record_payment(uow, RecordPayment(PRACTICE, "pt-7", "bench-pay", 25_000, "card", today),
                                        at=datetime.now(UTC))
        posting = time.perf_counter() - started
        seconds, books = await best_of(1, lambda: read(views.trial_balance))
        await services.db.dispose()
    finally:
        databases.drop_all()
    print(f"loaded {accounts * PER_ACCOUNT:,} ledger entries ({accounts * PER_ACCOUNT * 2:,} lines, "
          f"{accounts * OPEN:,} open items, {accounts:,} accounts) in {loaded:.1f} s")
    print(f"{f'read ({accounts * PER_ACCOUNT:,}-entry practice, PostgreSQL)':<44} {'seconds':>8}  result")
    for name, secs, what in results:
        print(f"{name:<44} {secs:>8.3f}  {what}")
    print(f"{'a payment posted through the use case':<44} {posting:>8.3f}  one account's open items loaded")
    print(f"{'trial balance (every line)':<44} {seconds:>8.3f}  balanced={books['balanced']} "
          f"sub_ledger_agrees={books['sub_ledger_agrees']}")
    worst = max(secs for _, secs, _ in results)
    print(f"aging and balances: slowest read {worst:.3f} s (target < {TARGET_SECONDS:.0f} s)")
    if not (books["balanced"] and books["sub_ledger_agrees"]):
        print("the loaded books do not agree")
        return 1
    return 0 if worst < TARGET_SECONDS else 1


def _create(index: Index) -> Callable[[Connection], None]:
    def create(connection: Connection) -> None:
        index.create(connection)

    return create


async def _accounts_page(services: Any) -> list[dict[str, Any]]:
    async with services.db.sessions() as session:
        items, _ = await views.accounts_page(session, PRACTICE, min_balance_cents=1, after=None, limit=100)
    return items


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    sys.exit(asyncio.run(main(parser.parse_args().entries)))
