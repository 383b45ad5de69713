"""Where an ERA's posting time goes: ``remittance.service_layer.posting.post_era`` in this process, on a
fresh PostgreSQL database, plain (best of two) and once under cProfile.

The service code is called as the era-posting consumer calls it (``receive_era`` stores the file in one
transaction; ``post_era`` parses, balances and posts it in the next), without the relay, broker and
consumer around it, so the difference from the end-to-end number is the plumbing. The parse-only figure
(the streaming reader with strict balancing, no database) is measured on the same bytes.

``matched=True`` first books a copy of a submitted claim for every CLP of the ERA (same patient control
number, one line per SVC with its procedure and charge, a fee schedule of one contracted rate per procedure
under the charges, dates of service spread over 60 days), so every claim takes the matched path: payment,
adjustments, patient responsibility, denials with their pattern check, underpayments and the outbox events.
Without it every claim is unapplied cash, as in the platform bench.

Standalone: ``uv run python bench/era_profile.py [--claims 10000] [--matched] [--runs 3] [--profile]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import pstats
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from rcm_shared.contracts import EraReceivedV1, envelope_for
from rcm_shared.db.database import Database
from rcm_shared.db.migrations import upgrade_to_head
from rcm_shared.db.types import new_id, utcnow
from rcm_shared.testing.databases import TestDatabases
from remittance.adapters.orm import metadata, platform, submitted_claims
from remittance.bootstrap import MIGRATIONS, load_rulebook, units_of_work
from remittance.config import RemittanceSettings
from remittance.domain.commands import ReceiveEra
from remittance.domain.model import ClaimPayment
from remittance.edi.era_reader import iter_remittance
from remittance.service_layer import intake
from remittance.service_layer.handlers import message_map
from sqlalchemy import event, insert

RULES = load_rulebook()

# Buckets for self time (cProfile "tottime"), matched on the file a function lives in.
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("waiting on PostgreSQL (epoll)", ("'poll' of 'select.epoll'", "selectors.py")),
    ("socket send/recv to PostgreSQL", ("of '_socket.socket' objects",)),
    ("greenlet switches (SQLAlchemy asyncio bridge)", ("'greenlet.greenlet'",)),
    ("asyncpg driver", ("/asyncpg/",)),
    ("SQLAlchemy (statement compile, execute, rows)", ("/sqlalchemy/",)),
    ("asyncio event loop", ("/asyncio/",)),
    ("835 reader + balancing (remittance.edi.era_reader)", ("remittance/edi/era_reader",)),
    ("posting rules, journal (remittance.domain)", ("remittance/domain/",)),
    ("post_era and helpers (remittance.service_layer, .adapters)", ("remittance/service_layer/",
                                                                   "remittance/adapters/")),
    ("kernel (rcm_shared: x12 tokens, outbox, ids)", ("rcm_shared/",)),
    ("decimal / json / uuid / other", ("",)),
)


@dataclass
class EraProfile:
    claims: int
    parse_seconds: float
    post_seconds: float
    profiled_seconds: float
    statements: int  # SQL statements sent by the plain run (cursor executions, counted by an engine event)
    buckets: list[tuple[str, float]] = field(default_factory=list)
    top: list[tuple[str, int, float, float]] = field(default_factory=list)
    matched: bool = False
    runs: list[float] = field(default_factory=list)  # every plain run, seconds

    @property
    def ms_per_claim(self) -> float:
        return self.post_seconds * 1000 / self.claims


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    return name if filename == "~" else f"{filename}:{line}({name})"


def _bucket(key: tuple[str, int, str]) -> str:
    where = _where(key)
    for label, needles in BUCKETS:
        if any(n and n in where for n in needles):
            return label
    return BUCKETS[-1][0]


def summarise(profile: cProfile.Profile, top: int = 12) -> tuple[list[tuple[str, float]],
                                                                 list[tuple[str, int, float, float]]]:
    """Self time per bucket, and our functions by cumulative time (coroutine call counts include resumptions)."""
    stats = pstats.Stats(profile)
    raw = stats.stats  # type: ignore[attr-defined]
    totals: dict[str, float] = {}
    for key, (_cc, _ncalls, tottime, _cumtime, _callers) in raw.items():
        totals[_bucket(key)] = totals.get(_bucket(key), 0.0) + tottime
    ours = [(key, ncalls, tottime, cumtime) for key, (_cc, ncalls, tottime, cumtime, _c) in raw.items()
            if "remittance/" in key[0] or "rcm_shared/" in key[0]]
    ours.sort(key=lambda item: item[3], reverse=True)
    rows = [(_where(key).split("/src/", 1)[-1], ncalls, tottime, cumtime) for key, ncalls, tottime, cumtime in ours]
    ordered = sorted(totals.items(), key=lambda item: item[1], reverse=True)
    return ordered, rows[:top]


async def _receive(db: Database, practice_id: str, content: bytes) -> tuple[EraReceivedV1, object]:
    async with units_of_work(db)() as uow:
        era, _ = await intake.receive_era(uow, ReceiveEra(practice_id, content, "bench.835", "bulk"))
    event = EraReceivedV1(era_id=era.era_id, practice_id=practice_id,
                          file_sha256=hashlib.sha256(content).hexdigest(), size_bytes=len(content),
                          received_via="bulk")
    return event, envelope_for(event, source="remittance", subject=era.era_id, practice_id=practice_id)


async def _seed_claims(db: Database, practice_id: str, content: bytes) -> None:
    """Our copy of a submitted claim for every CLP, so the ERA takes the matched path (no charge entries:
    only the posting is timed)."""
    rows = []
    first = date(2026, 9, 1)
    payments = [r for r in iter_remittance(content) if isinstance(r, ClaimPayment)]
    # A fee schedule: one contracted rate per procedure, under what the practice charges (80 % of the
    # lowest charge billed for it), so lines the payer cut below it are flagged as underpaid.
    lowest: dict[str, Decimal] = {}
    for record in payments:
        for line in record.lines:
            code = line.procedure.code
            lowest[code] = min(lowest.get(code, line.charge), line.charge)
    fee_schedule = {code: str((charge * Decimal("0.8")).quantize(Decimal("0.01"))) for code, charge in lowest.items()}
    for record in payments:
        lines = [{"line_number": n, "procedure_code": line.procedure.code, "modifiers": list(line.procedure.modifiers),
                  "units": 1, "charge": str(line.charge), "contracted_rate": fee_schedule[line.procedure.code]}
                 for n, line in enumerate(record.lines, 1)]
        rows.append({"claim_id": new_id(), "practice_id": practice_id,
                     "patient_control_number": record.patient_control_number, "patient_id": f"pt-{record.ordinal}",
                     "payer_id": "SBXHP", "visit_id": new_id(), "total_charge": record.charge,
                     "date_of_service": first + timedelta(days=record.ordinal % 60), "rendering_npi": "1234567893",
                     "program": "outpatient", "lines": lines, "submitted_at": utcnow()})
    async with db.transaction() as session:
        for start in range(0, len(rows), 2000):
            await session.execute(insert(submitted_claims), rows[start:start + 2000])


async def _post(db: Database, practice_id: str, content: bytes, profile: cProfile.Profile | None,
                matched: bool = False) -> float:
    if matched:
        await _seed_claims(db, practice_id, content)
    event, envelope = await _receive(db, practice_id, content)
    handler = message_map(units_of_work(db), RULES)[EraReceivedV1]  # as the era-posting consumer calls it
    started = time.perf_counter()
    if profile is not None:
        profile.enable()
    try:
        async with db.transaction() as session:
            await handler(session, envelope, event)
    finally:
        if profile is not None:
            profile.disable()
    return time.perf_counter() - started


async def _run(database_url: str, content: bytes, matched: bool = False, runs: int = 2,
               profiled: bool = True) -> EraProfile:
    db = Database(RemittanceSettings(database_url=database_url), metadata, platform)
    try:
        await upgrade_to_head(db.engine, MIGRATIONS)
        parse = float("inf")
        for _ in range(3):  # best of three: the reader's own speed, not the first call's warm-up
            started = time.perf_counter()
            claims = sum(1 for r in iter_remittance(content, strict=True) if type(r).__name__ == "ClaimPayment")
            parse = min(parse, time.perf_counter() - started)
        # Two practices: the same bytes are a new file (and a new payment trace) for each.
        statements = [0]

        def count(*_args: object) -> None:
            statements[0] += 1

        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        # Best of two plain runs (each a new file for its own practice): one slow run on a shared machine
        # should not be the number.
        timings = []
        for i in range(runs):
            if matched:  # the seeding's statements are not the posting's
                event.remove(db.engine.sync_engine, "before_cursor_execute", count)
                await _seed_claims(db, f"profile-plain-{i}", content)
                event.listen(db.engine.sync_engine, "before_cursor_execute", count)
            timings.append(await _post(db, f"profile-plain-{i}", content, None))
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        statements[0] //= runs
        profile = cProfile.Profile()
        profiled_seconds = (await _post(db, "profile-cprofile", content, profile, matched)) if profiled else 0.0
    finally:
        await db.dispose()
    buckets, top = summarise(profile) if profiled else ([], [])
    return EraProfile(claims, parse, min(timings), profiled_seconds, statements[0], buckets, top, matched, timings)


def measure(content: bytes, *, matched: bool = False, runs: int = 2, profiled: bool = True) -> EraProfile:
    databases = TestDatabases()
    try:
        url = databases.create("remittance-profile")
        return asyncio.run(_run(url, content, matched, runs, profiled))
    finally:
        databases.drop_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=10_000, help="size of the x12sdk ERA (cached in var/bench)")
    parser.add_argument("--matched", action="store_true", help="seed submitted claims so every CLP matches")
    parser.add_argument("--runs", type=int, default=3, help="plain runs; the best is reported")
    parser.add_argument("--profile", action="store_true", help="also one run under cProfile")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "remittance"))
    from bench_remittance import generated

    p = measure(generated(args.claims, 3).read_bytes(), matched=args.matched, runs=args.runs, profiled=args.profile)
    kind = "matched" if p.matched else "unmatched (unapplied cash)"
    print(f"{p.claims:,}-claim ERA, {kind}: post_era best of {len(p.runs)}: {p.post_seconds:.2f} s "
          f"= {p.claims / p.post_seconds:,.0f} claims/s (runs: {', '.join(f'{t:.2f}' for t in p.runs)}); "
          f"{p.statements:,} SQL statements; strict parse alone {p.parse_seconds:.2f} s")
    if args.profile:
        total = sum(seconds for _label, seconds in p.buckets) or 1.0
        print(f"under cProfile: {p.profiled_seconds:.2f} s")
        for label, spent in p.buckets:
            print(f"  {spent:7.2f} s  {spent / total:5.1%}  {label}")
        for where, _ncalls, _tottime, cumtime in p.top:
            print(f"  {cumtime:7.2f} s  {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
