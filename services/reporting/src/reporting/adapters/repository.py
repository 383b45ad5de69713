"""Writes of the reporting read model, set-wise: a poll of events is a handful of statements.

* ``SqlFactRepository``: the facts kept per event (insert-once by the event's own id: a duplicate or a replay
  changes nothing), the claim histories they make, and the per-claim fact rows recomputed from them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from reporting.adapters.orm import (
    claim_denials,
    claim_facts,
    claim_postings,
    claim_status_changes,
    claim_submissions,
    eligibility_checks,
    patient_charges,
    patient_money,
    visit_determinations,
    visits,
)
from reporting.domain.facts import (
    ClaimFact,
    ClaimHistory,
    Denial,
    Posting,
    StatusChange,
    Submission,
    VisitDelivered,
    histories,
)
from reporting.domain.kpi import CoverageCheck, DeterminedVisit
from reporting.domain.patient_ar import PatientCharge, PatientMoney


def among(column: ColumnElement[Any], values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN (...)`` with the values written into the statement (PostgreSQL plans a long bound list
    generically after a few runs and then scans)."""
    name = getattr(column, "name", "values")
    return column.in_(bindparam(f"among_{name}", list(values), expanding=True, literal_execute=True))


def _claim_key(practice_id: str, claim_id: str) -> int:
    digest = hashlib.blake2b(f"reporting-claim\x1f{practice_id}\x1f{claim_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _insert(session: AsyncSession, table: Table) -> Any:
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert(table)


async def insert_new(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """``INSERT .. ON CONFLICT DO NOTHING``: a fact seen before (same primary key) is kept as it was."""
    if rows:
        await session.execute(_insert(session, table).on_conflict_do_nothing(), list(rows))


async def upsert(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]],
                 where: Any = None) -> None:
    """``INSERT .. ON CONFLICT (primary key) DO UPDATE`` (only where ``where(statement)`` holds, when given)."""
    if not rows:
        return
    key = [c.name for c in table.primary_key.columns]
    statement = _insert(session, table)
    values = {name: statement.excluded[name] for name in rows[0] if name not in key}
    await session.execute(statement.on_conflict_do_update(
        index_elements=[table.c[k] for k in key], set_=values,
        where=where(statement) if where is not None else None), list(rows))


class SqlFactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------------------------------ facts in

    async def add_visits(self, practice_id: str, items: Sequence[VisitDelivered]) -> None:
        """The latest word on each visit wins (a visit's events share its partition, so they arrive in order)."""
        latest = {v.visit_id: {"practice_id": practice_id, **asdict(v)} for v in items}
        await upsert(self.session, visits, list(latest.values()))

    async def add_submissions(self, practice_id: str, items: Sequence[Submission]) -> None:
        """The earliest submission of a claim is kept (a later copy of the event changes nothing)."""
        earliest: dict[str, Submission] = {}
        for s in items:
            if s.claim_id not in earliest or s.submitted_on < earliest[s.claim_id].submitted_on:
                earliest[s.claim_id] = s
        await upsert(self.session, claim_submissions,
                     [{"practice_id": practice_id, **asdict(s)} for s in earliest.values()],
                     where=lambda stmt: stmt.excluded.submitted_on < claim_submissions.c.submitted_on)

    async def add_status_changes(self, practice_id: str, items: Sequence[StatusChange]) -> None:
        await insert_new(self.session, claim_status_changes, [{"practice_id": practice_id, **asdict(c)}
                                                              for c in items])

    async def add_postings(self, practice_id: str, items: Sequence[Posting]) -> None:
        await insert_new(self.session, claim_postings, [{"practice_id": practice_id, **asdict(p)} for p in items])

    async def add_denials(self, practice_id: str, items: Sequence[Denial]) -> None:
        await insert_new(self.session, claim_denials, [{"practice_id": practice_id, **asdict(d)} for d in items])

    async def add_patient_charges(self, practice_id: str, items: Sequence[PatientCharge]) -> None:
        await insert_new(self.session, patient_charges, [{"practice_id": practice_id, **asdict(c)} for c in items])

    async def add_patient_money(self, practice_id: str, items: Sequence[PatientMoney]) -> None:
        await insert_new(self.session, patient_money, [{"practice_id": practice_id, **asdict(m)} for m in items])

    async def add_determinations(self, practice_id: str, items: Sequence[tuple[DeterminedVisit, int]]) -> None:
        """Authorizations' answer per visit: a higher sequence replaces a lower one, never the other way."""
        latest: dict[str, tuple[DeterminedVisit, int]] = {}
        for visit, sequence in items:
            if visit.visit_id not in latest or sequence > latest[visit.visit_id][1]:
                latest[visit.visit_id] = (visit, sequence)
        await upsert(self.session, visit_determinations,
                     [{"practice_id": practice_id, **asdict(v), "sequence": s} for v, s in latest.values()],
                     where=lambda stmt: stmt.excluded.sequence > visit_determinations.c.sequence)

    async def add_eligibility_checks(self, practice_id: str, items: Sequence[CoverageCheck]) -> None:
        await insert_new(self.session, eligibility_checks, [{"practice_id": practice_id, **asdict(c)}
                                                            for c in items])

    # ------------------------------------------------------------------------------------------ claim rows

    async def lock_claims(self, practice_id: str, claim_ids: Collection[str]) -> None:
        """Serialize the recomputation of a claim's row (PostgreSQL; SQLite has one writer anyway): two replicas
        taking in two facts of one claim each would otherwise each read the facts without the other's and the later
        commit would keep a row missing one. Sorted, so two transactions locking overlapping claims wait in line;
        a poll that locks in several rounds and meets another in a circle is rolled back by PostgreSQL's deadlock
        detection and applied again by the consumer."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        keys = sorted({_claim_key(practice_id, c) for c in claim_ids})
        if keys:
            await self.session.execute(text(
                "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"), {"keys": keys})

    async def histories(self, practice_id: str, claim_ids: Collection[str]) -> dict[str, ClaimHistory]:
        if not claim_ids:
            return {}
        return await load_histories(self.session, practice_id, claim_ids)

    async def save_facts(self, practice_id: str, facts: Iterable[ClaimFact]) -> None:
        rows = [{"practice_id": practice_id, **asdict(f)} for f in facts]
        await upsert(self.session, claim_facts, rows)


async def load_histories(session: AsyncSession, practice_id: str, claim_ids: Collection[str] | None = None
                         ) -> dict[str, ClaimHistory]:
    """The stored facts of the named claims (None: every claim of the practice), one history per claim."""
    def where(table: Table) -> list[ColumnElement[bool]]:
        clauses = [table.c.practice_id == practice_id]
        if claim_ids is not None:
            clauses.append(among(table.c.claim_id, claim_ids))
        return clauses

    subs = [Submission(**{k: v for k, v in r._mapping.items() if k != "practice_id"})
            for r in (await session.execute(select(claim_submissions).where(*where(claim_submissions)))).all()]
    changes = [StatusChange(r.event_id, r.claim_id, r.previous_status, r.status, r.at)
               for r in (await session.execute(select(claim_status_changes).where(
                   *where(claim_status_changes)))).all()]
    posts = [Posting(r.posting_id, r.claim_id, r.outcome, r.paid_cents, r.patient_cents, r.contractual_cents,
                     r.posted_on, r.at)
             for r in (await session.execute(select(claim_postings).where(*where(claim_postings)))).all()]
    denials = [Denial(r.denial_id, r.claim_id, r.category, r.amount_cents, r.raised_at)
               for r in (await session.execute(select(claim_denials).where(*where(claim_denials)))).all()]
    return histories(claim_ids or (), subs, changes, posts, denials)
