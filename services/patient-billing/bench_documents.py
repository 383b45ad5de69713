"""Statement-run benchmark: a practice of 2,000 guarantors stated in one run on PostgreSQL, memory sampled.

Run: ``uv run python services/patient-billing/bench_documents.py [--guarantors N]``. The practice is loaded with SQL
into the ledger's own tables: each guarantor an account with a name and mailing address, two open self-pay charges
coded by claims (visit codings) and one assessed responsibility with its CARC reasons and the plan's payment, a
payment in the period, every fifth account also a visit pending insurance. Then the run, through the use cases the
API calls (``start_run``, ``run_statements``): every statement built, its payment link made, rendered to PDF,
stored with its content, ``statement-issued`` staged in the outbox, and the print-vendor file written. The process's
resident memory is sampled as the run goes (flat: statements are made 100 at a time and not kept). Prints a table;
exits 1 if the run takes 60 s or more.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

from patient_billing.bootstrap import build_document_kit, build_runtime, build_services
from patient_billing.config import PatientBillingSettings
from patient_billing.service_layer import statements
from rcm_shared.testing.databases import TestDatabases
from rcm_shared.testing.fixtures import fixed_clock
from sqlalchemy import text

PRACTICE = "practice-bench"
TARGET_SECONDS = 60.0

LOAD = [
    """INSERT INTO practice_profiles (practice_id, name, address_lines, phone, npi, tax_id, updated_at)
       VALUES (CAST(:p AS varchar), 'Riverside Counseling Group',
               '["120 Main Street, Suite 4", "Springfield, IL 62701"]',
               '(217) 555-0142', '1245319599', '123456789', now())""",
    """INSERT INTO billing_accounts (account_id, practice_id, guarantor_id, kind, balance_cents, updated_at)
       SELECT 'acct-' || lpad(a::text, 6, '0'), CAST(:p AS varchar), 'pt-' || a, 'individual',
              16000 + 16000 + 7000 - 2000, now()
       FROM generate_series(0, :n - 1) a""",
    """INSERT INTO account_members (practice_id, patient_id, effective_from, account_id, relationship)
       SELECT CAST(:p AS varchar), 'pt-' || a, DATE '1900-01-01', 'acct-' || lpad(a::text, 6, '0'), 'self'
       FROM generate_series(0, :n - 1) a""",
    """INSERT INTO people (practice_id, person_id, name, date_of_birth, address_lines, email, updated_at)
       SELECT CAST(:p AS varchar), 'pt-' || a, 'Guarantor ' || a, DATE '1980-01-01' + a,
              CAST('["' || a || ' Elm Court", "Springfield, IL 62704"]' AS json), NULL, now()
       FROM generate_series(0, :n - 1) a""",
    # two self-pay charges (60 and 30 days ago) and one responsibility (45 days ago), 20.00 of the oldest paid
    """INSERT INTO journal_entries (entry_id, practice_id, account_id, kind, source_id, effective_date, posted_at,
                                    patient_id, visit_id, claim_id, reasons, detail)
       SELECT 'e-' || a || '-' || k, CAST(:p AS varchar), 'acct-' || lpad(a::text, 6, '0'),
              CASE k WHEN 2 THEN 'responsibility' WHEN 3 THEN 'payment' ELSE 'charge' END,
              'src-' || a || '-' || k, CAST(:today AS date) - (CASE k WHEN 0 THEN 60 WHEN 1 THEN 30 WHEN 2 THEN 45
                                                                 ELSE 10 END),
              now(), 'pt-' || a, CASE WHEN k < 2 THEN 'v-' || a || '-' || k END,
              CASE WHEN k = 2 THEN 'c-' || a END,
              CAST(CASE WHEN k = 2 THEN '[{"category": "deductible", "carc": "1", "amount_cents": 5000,
                                           "explanation": ""}, {"category": "copay", "carc": "3",
                                           "amount_cents": 2000, "explanation": ""}]' ELSE '[]' END AS json),
              CAST(CASE WHEN k = 3 THEN '{"method": "card"}' ELSE '{}' END AS json)
       FROM generate_series(0, :n - 1) a CROSS JOIN generate_series(0, 3) k""",
    """INSERT INTO journal_lines (entry_id, practice_id, ledger, account_id, debit_cents, credit_cents)
       SELECT entry_id, CAST(:p AS varchar), 'patient_ar', account_id,
              CASE kind WHEN 'payment' THEN 0 WHEN 'responsibility' THEN 7000 ELSE 16000 END,
              CASE kind WHEN 'payment' THEN 2000 ELSE 0 END
       FROM journal_entries WHERE practice_id = :p""",
    """INSERT INTO journal_lines (entry_id, practice_id, ledger, account_id, debit_cents, credit_cents)
       SELECT entry_id, CAST(:p AS varchar), CASE kind WHEN 'payment' THEN 'patient_cash' WHEN 'responsibility'
                                THEN 'insurance_transfer' ELSE 'self_pay_revenue' END, NULL,
              CASE kind WHEN 'payment' THEN 2000 ELSE 0 END,
              CASE kind WHEN 'payment' THEN 0 WHEN 'responsibility' THEN 7000 ELSE 16000 END
       FROM journal_entries WHERE practice_id = :p""",
    """INSERT INTO open_items (item_id, practice_id, account_id, patient_id, service_date, kind, amount_cents,
                               open_cents, visit_id, claim_id, program, clinician)
       SELECT entry_id, CAST(:p AS varchar), account_id, patient_id, effective_date, kind,
              CASE kind WHEN 'responsibility' THEN 7000 ELSE 16000 END,
              CASE WHEN kind = 'responsibility' THEN 7000 WHEN entry_id LIKE '%-0' THEN 14000 ELSE 16000 END,
              visit_id, claim_id, 'adult-outpatient', '1234567893'
       FROM journal_entries WHERE practice_id = :p AND kind <> 'payment'""",
    """INSERT INTO visit_codings (practice_id, visit_id, patient_id, date_of_service, billing_model, payer_id,
                                  rendering_npi, program, services, diagnoses, place_of_service, voided, received_at)
       SELECT CAST(:p AS varchar), visit_id, patient_id, effective_date, 'self_pay', NULL, '1234567893',
              'adult-outpatient',
              CAST('[{"procedure_code": "90837", "modifiers": [], "units": 1}]' AS json), CAST('["F41.1"]' AS json),
              '11', false, now()
       FROM journal_entries WHERE practice_id = :p AND visit_id IS NOT NULL""",
    """INSERT INTO claim_insurance (practice_id, claim_id, charge_cents, paid_cents, adjusted_cents, updated_at)
       SELECT CAST(:p AS varchar), 'c-' || a, 20000, 8000, 5000, now() FROM generate_series(0, :n - 1) a""",
    """INSERT INTO pending_insurance (practice_id, patient_id, service_date, account_id, program, clinician)
       SELECT CAST(:p AS varchar), 'pt-' || a, CAST(:today AS date) - 5, 'acct-' || lpad(a::text, 6, '0'), NULL, NULL
       FROM generate_series(0, :n - 1, 5) a""",
]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1_048_576


async def main(guarantors: int, workers: int) -> int:
    databases = TestDatabases()
    print_dir = tempfile.mkdtemp(prefix="bench-print-")
    try:
        clock = fixed_clock()
        settings = PatientBillingSettings(database_url=databases.create("bench_documents"), run_workers=False,
                                          print_dir=print_dir, document_render_workers=workers)
        services = build_services(settings, clock, documents=build_document_kit(settings, clock))
        await build_runtime(services).migrate()
        today = clock.today()
        started = time.perf_counter()
        async with services.db.sessions() as session, session.begin():
            for statement in LOAD:
                await session.execute(text(statement), {"p": PRACTICE, "n": guarantors, "today": today})
            await session.execute(text("ANALYZE"))
        loaded = time.perf_counter() - started

        samples: list[tuple[int, float]] = []

        async def sample_memory(run_id: str) -> None:
            while True:
                async with services.db.sessions() as session:
                    issued = (await session.execute(text("SELECT issued FROM statement_runs WHERE run_id = :r"),
                                                    {"r": run_id})).scalar_one()
                samples.append((int(issued), rss_mb()))
                await asyncio.sleep(1.0)

        run, _ = await statements.start_run(services.uows, services.documents, PRACTICE, today)
        sampler = asyncio.create_task(sample_memory(run.run_id))
        started, cpu = time.perf_counter(), time.process_time()
        done = await statements.run_statements(services.uows, services.documents, PRACTICE, run.run_id)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        sampler.cancel()
        samples.append((done.issued, rss_mb()))
        size = os.stat(done.print_file).st_size
        again = await statements.run_statements(services.uows, services.documents, PRACTICE, run.run_id)
        services.documents.renderer.close()
        await services.db.dispose()
    finally:
        databases.drop_all()
    print(f"loaded {guarantors:,} guarantors (3 open items, a payment, visit codings; every 5th pending) "
          f"in {loaded:.1f} s")
    print(f"render workers: {workers} (RCM_DOCUMENT_RENDER_WORKERS)")
    print(f"statement run: {done.issued:,} statements in {seconds:.1f} s wall ({cpu_seconds:.1f} s CPU in this "
          f"process), {done.issued / seconds:.0f} per second; print file {size / 1_048_576:.1f} MB")
    quarter = [min(samples, key=lambda s, q=q: abs(s[0] - q * done.issued // 4)) for q in (1, 2, 3, 4)]
    print("resident memory as the run went: " + ", ".join(f"{i:,} stated: {m:.0f} MB" for i, m in quarter))
    print(f"the same run again: {again.issued:,} statements (nothing twice)")
    growth = quarter[-1][1] - quarter[0][1]
    print(f"memory growth from the first quarter to the end: {growth:+.0f} MB (flat: < 50 MB)")
    ok = seconds < TARGET_SECONDS and done.issued == guarantors and again.issued == guarantors and growth < 50
    print(f"statement run {'within' if seconds < TARGET_SECONDS else 'OVER'} the {TARGET_SECONDS:.0f} s target")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guarantors", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2, help="RCM_DOCUMENT_RENDER_WORKERS (0: in process)")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.guarantors, args.workers)))
