"""Where an ERA's posting time goes: ``remittance.service_layer.handlers.post_era`` in this process, on a
fresh PostgreSQL database, plain (best of two) and once under cProfile.

The service code is called as the era-posting consumer calls it (``receive_era`` stores the file in one
transaction; ``post_era`` parses, balances and posts it in the next), without the relay, broker and
consumer around it, so the difference from the end-to-end number is the plumbing. The parse-only figure
(the streaming reader with strict balancing, no database) is measured on the same bytes.
"""

from __future__ import annotations

import asyncio
import cProfile
import hashlib
import pstats
import time
from dataclasses import dataclass, field

from rcm_shared.contracts import EraReceivedV1, envelope_for
from rcm_shared.db.database import Database
from rcm_shared.db.migrations import upgrade_to_head
from rcm_shared.testing.databases import TestDatabases
from remittance.adapters.orm import metadata, platform
from remittance.bootstrap import MIGRATIONS
from remittance.config import RemittanceSettings
from remittance.domain.era_reader import iter_remittance
from remittance.service_layer import handlers
from sqlalchemy import event

# Buckets for self time (cProfile "tottime"), matched on the file a function lives in.
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("waiting on PostgreSQL (epoll)", ("'poll' of 'select.epoll'", "selectors.py")),
    ("socket send/recv to PostgreSQL", ("of '_socket.socket' objects",)),
    ("greenlet switches (SQLAlchemy asyncio bridge)", ("'greenlet.greenlet'",)),
    ("asyncpg driver", ("/asyncpg/",)),
    ("SQLAlchemy (statement compile, execute, rows)", ("/sqlalchemy/",)),
    ("asyncio event loop", ("/asyncio/",)),
    ("835 reader + balancing (remittance.domain.era_reader)", ("remittance/domain/era_reader",)),
    ("posting rules, journal (remittance.domain)", ("remittance/domain/",)),
    ("post_era and helpers (remittance.service_layer)", ("remittance/service_layer/",)),
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
    async with db.transaction() as session:
        intake = await handlers.receive_era(session, handlers.ReceiveEra(practice_id, content, "bench.835", "bulk"))
    event = EraReceivedV1(era_id=intake.era_id, practice_id=practice_id,
                          file_sha256=hashlib.sha256(content).hexdigest(), size_bytes=len(content),
                          received_via="bulk")
    return event, envelope_for(event, source="remittance", subject=intake.era_id, practice_id=practice_id)


async def _post(db: Database, practice_id: str, content: bytes, profile: cProfile.Profile | None) -> float:
    event, envelope = await _receive(db, practice_id, content)
    started = time.perf_counter()
    if profile is not None:
        profile.enable()
    try:
        async with db.transaction() as session:
            await handlers.post_era(session, envelope, event)  # type: ignore[arg-type]
    finally:
        if profile is not None:
            profile.disable()
    return time.perf_counter() - started


async def _run(database_url: str, content: bytes) -> EraProfile:
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
        plain = min([await _post(db, f"profile-plain-{i}", content, None) for i in range(2)])
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        statements[0] //= 2
        profile = cProfile.Profile()
        profiled = await _post(db, "profile-cprofile", content, profile)
    finally:
        await db.dispose()
    buckets, top = summarise(profile)
    return EraProfile(claims, parse, plain, profiled, statements[0], buckets, top)


def measure(content: bytes) -> EraProfile:
    databases = TestDatabases()
    try:
        url = databases.create("remittance-profile")
        return asyncio.run(_run(url, content))
    finally:
        databases.drop_all()
