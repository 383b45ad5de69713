"""Claims' stores: the ``Claim`` aggregate (a JSON document plus the columns queues filter on) and the scrubber's
projection of other services' facts. SQL lives here; the use cases see claims and facts."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from rcm_shared.contracts import EventEnvelope, EventPayload
from rcm_shared.db import sequences
from rcm_shared.db.bulk import insert_many
from rcm_shared.db.types import utcnow
from rcm_shared.messaging import stage_events
from sqlalchemy import ColumnElement, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.claim_document import claim_from_document, to_document
from claims.adapters.event_mapper import SOURCE, recorded_changes, transition
from claims.adapters.orm import (
    batches,
    claim_transitions,
    claims,
    control_numbers,
    coverage_checks,
    platform,
    visit_determinations,
    visits,
)
from claims.adapters.work_queue import follow_claims
from claims.domain.batch import BatchStatus, SubmissionBatch
from claims.domain.events import ClaimEvent
from claims.domain.exceptions import ClaimUnreadable
from claims.domain.facts import AuthorizationDetermination, CoverageCheck, ProviderDecision
from claims.domain.model import Claim, ClaimStatus
from claims.domain.scrubbing import claim_fingerprint

log = logging.getLogger(__name__)
UNREADABLE_CLAIMS = Counter("rcm_claim_documents_unreadable_total",
                            "Stored claim documents that could not be read back, by where it happened", ["where"])
#: claims whose services the payer has (or will have): a new claim with the same fingerprint is a duplicate
NOT_SENT = ("held", "rejected", "voided", "corrected", "draft", "closed", "awaiting_facts")


def among(column: ColumnElement[Any], values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN (...)`` with the values written into the statement (a long bound list is planned generically
    by PostgreSQL from its sixth run in a session)."""
    name = getattr(column, "name", "values")
    return column.in_(bindparam(f"among_{name}", list(values), expanding=True, literal_execute=True))


def readable_claim(row: Any, where: str) -> Claim | None:
    """The claim in a stored document, or None when it cannot be read back (counted and logged by id only: the
    document itself holds PHI)."""
    try:
        claim = claim_from_document(row.document)
    except Exception as exc:  # whatever a damaged document raises (KeyError, TypeError, ValueError ...)
        UNREADABLE_CLAIMS.labels(where).inc()
        log.error("claim document unreadable, skipped",
                  extra={"claim_id": row.claim_id, "where": where, "error": type(exc).__name__})
        return None
    # whose claim comes from the row (documents written before 2026-12-02 do not carry it)
    claim.practice_id = getattr(row, "practice_id", None) or claim.practice_id
    claim.patient_id = getattr(row, "patient_id", None) or claim.patient_id
    return claim


async def load_claim(session: AsyncSession, practice_id: str, claim_id: str, *,
                     lock: bool = False) -> tuple[Claim, Any] | None:
    """The claim and its row (None: no such claim in this practice); a damaged document is ClaimUnreadable (a
    409, never a 500; submission runs hold such a claim with a finding)."""
    query = select(claims).where(claims.c.claim_id == claim_id, claims.c.practice_id == practice_id)
    row = (await session.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        return None
    claim = readable_claim(row, "load")
    if claim is None:
        raise ClaimUnreadable()
    return claim, row


async def save_claim(session: AsyncSession, practice_id: str, claim: Claim, patient_id: str, *, new: bool,
                     causation: EventEnvelope | None = None) -> None:
    """Persist the aggregate and turn its recorded events into transitions and outbox rows."""
    await save_claims(session, practice_id, [(claim, patient_id)], new=new, causation=causation)


async def next_control_number(session: AsyncSession, name: str) -> int:
    return await sequences.next_control_number(session, control_numbers, name)


def claim_columns(practice_id: str, claim: Claim, patient_id: str) -> dict[str, Any]:
    return dict(
        practice_id=practice_id, visit_id=claim.visit_id, patient_id=patient_id, payer_id=claim.payer.payer_id,
        patient_control_number=claim.patient_control_number, status=claim.status.value,
        frequency_code=claim.frequency_code, total_charge=claim.total_charge, date_of_service=claim.date_of_service,
        rendering_npi=claim.rendering_provider.npi, program=claim.program, fingerprint=claim_fingerprint(claim),
        payer_claim_number=claim.payer_claim_number, replaces_claim_id=claim.replaces_claim_id,
        document=to_document(claim), findings=[f.as_dict() for f in claim.findings], paid=claim.paid,
        patient_responsibility=claim.patient_responsibility, awaiting_since=claim.awaiting_since,
        updated_at=utcnow())


async def save_claims(session: AsyncSession, practice_id: str, changed: Sequence[tuple[Claim, str]], *,
                      new: bool, causation: EventEnvelope | None = None) -> None:
    """Persist claims of one practice (``(claim, patient_id)``) in bulk: one INSERT or UPDATE (executemany), one
    insert of their transitions and one of their outbox rows."""
    if not changed:
        return
    rows = [claim_columns(practice_id, claim, patient_id) for claim, patient_id in changed]
    if new:
        now = utcnow()
        await session.execute(insert(claims), [{**row, "claim_id": claim.claim_id, "created_at": now, "version": 1}
                                               for row, (claim, _) in zip(rows, changed, strict=True)])
    else:
        names = list(rows[0])
        await session.execute(
            update(claims).where(claims.c.claim_id == bindparam("b_claim_id")).values(
                version=claims.c.version + 1, **{name: bindparam(f"b_{name}") for name in names}),
            [{"b_claim_id": claim.claim_id, **{f"b_{k}": v for k, v in row.items()}}
             for row, (claim, _) in zip(rows, changed, strict=True)])
    transitions: list[dict[str, Any]] = []
    announcements: list[tuple[EventPayload, str]] = []
    moved = [(claim, list(claim.events)) for claim, _ in changed]
    for claim, _ in changed:
        history, changes = recorded_changes(practice_id, claim)
        transitions += history
        announcements += [(change, claim.claim_id) for change in changes]
    await insert_many(session, claim_transitions, transitions)
    if announcements:
        await stage_events(session, platform, announcements, source=SOURCE, practice_id=practice_id,
                           causation=causation)
    await follow_claims(session, practice_id, moved)


async def claims_for_visits(session: AsyncSession, visit_ids: Collection[str],
                            statuses: Collection[ClaimStatus]) -> list[Any]:
    """Rows of the claims of these visits in these statuses, locked for this transaction in claim order (so two
    writers never wait on each other in a circle)."""
    if not visit_ids:
        return []
    return list((await session.execute(select(claims).where(
        among(claims.c.visit_id, visit_ids), among(claims.c.status, [s.value for s in statuses]))
        .order_by(claims.c.claim_id).with_for_update())).all())


async def claims_for_patients(session: AsyncSession, keys: Collection[tuple[str, str, str]],
                              statuses: Collection[ClaimStatus]) -> list[Any]:
    """Rows of the claims of these (practice, patient, payer) in these statuses, locked as above."""
    if not keys:
        return []
    rows = (await session.execute(select(claims).where(
        among(claims.c.practice_id, {practice for practice, _, _ in keys}),
        among(claims.c.patient_id, {patient for _, patient, _ in keys}),
        among(claims.c.status, [s.value for s in statuses]))
        .order_by(claims.c.claim_id).with_for_update())).all()
    return [r for r in rows if (r.practice_id, r.patient_id, r.payer_id) in keys]


async def sent_fingerprints(session: AsyncSession, practice_ids: Collection[str],
                            fingerprints: Collection[str]) -> dict[tuple[str, str], set[str]]:
    """(practice, fingerprint) -> the ids of the claims with it the payer has or will have."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    if not fingerprints:
        return out
    rows = (await session.execute(select(claims.c.practice_id, claims.c.fingerprint, claims.c.claim_id).where(
        among(claims.c.practice_id, practice_ids), among(claims.c.fingerprint, fingerprints),
        claims.c.status.notin_(NOT_SENT)))).all()
    for row in rows:
        out[(row.practice_id, row.fingerprint)].add(row.claim_id)
    return out


# ---------------------------------------------------------------- the projection


def _upsert(session: AsyncSession, table: Any) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


async def keep_determinations(session: AsyncSession, answers: Iterable[dict[str, Any]]) -> set[str]:
    """Keep the newest answer per visit (by ``sequence``; an older or repeated one changes nothing). Returns the
    visits whose answer is new."""
    newest: dict[str, dict[str, Any]] = {}
    for answer in answers:
        kept = newest.get(answer["visit_id"])
        if kept is None or answer["sequence"] > kept["sequence"]:
            newest[answer["visit_id"]] = answer
    if not newest:
        return set()
    stored = dict((await session.execute(select(visit_determinations.c.visit_id, visit_determinations.c.sequence)
                                         .where(among(visit_determinations.c.visit_id, newest)))).all())
    fresh = [a for v, a in newest.items() if stored.get(v, 0) < a["sequence"]]
    if fresh:
        statement = _upsert(session, visit_determinations)
        await session.execute(statement.on_conflict_do_update(
            index_elements=[visit_determinations.c.visit_id],
            set_={name: statement.excluded[name] for name in fresh[0] if name != "visit_id"},
            where=visit_determinations.c.sequence < statement.excluded.sequence), fresh)
    return {a["visit_id"] for a in fresh}


def _determination(row: Any) -> AuthorizationDetermination:
    return AuthorizationDetermination(
        visit_id=row.visit_id, sequence=row.sequence, authorization_required=row.authorization_required,
        authorization_number=row.authorization_number, missing_reason=row.missing_reason,
        providers=tuple(ProviderDecision(p["role"], p["npi"], p["allowed"], p["reason"], p.get("billing_npi"))
                        for p in row.providers),
        rendering_npi=row.rendering_npi, supervising_npi=row.supervising_npi)


async def determinations(session: AsyncSession, visit_ids: Collection[str]) -> dict[str, AuthorizationDetermination]:
    if not visit_ids:
        return {}
    rows = (await session.execute(select(visit_determinations).where(
        among(visit_determinations.c.visit_id, visit_ids)))).all()
    return {row.visit_id: _determination(row) for row in rows}


async def keep_coverage_checks(session: AsyncSession, checks: Sequence[dict[str, Any]]) -> None:
    """Keep each check once (a session-limit alert repeats its check's id and facts)."""
    unique = list({c["check_id"]: c for c in checks}.values())
    if unique:
        await session.execute(_upsert(session, coverage_checks).on_conflict_do_nothing(
            index_elements=[coverage_checks.c.check_id]), unique)


async def coverage_checks_for(session: AsyncSession, keys: Collection[tuple[str, str, str]]
                              ) -> dict[tuple[str, str, str], list[CoverageCheck]]:
    """(practice, patient, payer) -> the checks on file."""
    out: dict[tuple[str, str, str], list[CoverageCheck]] = defaultdict(list)
    if not keys:
        return out
    rows = (await session.execute(select(coverage_checks).where(
        among(coverage_checks.c.practice_id, {practice for practice, _, _ in keys}),
        among(coverage_checks.c.patient_id, {patient for _, patient, _ in keys})))).all()
    for row in rows:
        key = (row.practice_id, row.patient_id, row.payer_id)
        if key in keys:
            out[key].append(CoverageCheck(row.check_id, row.as_of, row.active, row.coverage_from, row.coverage_to,
                                          row.checked_at))
    return out


async def projection_freshness(session: AsyncSession) -> dict[str, datetime | None]:
    """When the newest fact of each kind arrived (None: none yet)."""
    from sqlalchemy import func

    return {
        "authorization_determination": await session.scalar(select(func.max(visit_determinations.c.received_at))),
        "eligibility_check": await session.scalar(select(func.max(coverage_checks.c.received_at))),
    }


# ---------------------------------------------------------------- repositories of the unit of work


class SqlClaimRepository:
    """Claims, loaded with their row locks where a use case will change them; written with their history (the
    ``claim_transitions`` rows of the events recorded since the last write). Their announcements are the unit of
    work's: it pulls the events at commit."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._written: dict[int, int] = {}  # id(claim) -> events already written as transitions

    async def get(self, practice_id: str, claim_id: str, *, lock: bool = False) -> Claim | None:
        loaded = await load_claim(self.session, practice_id, claim_id, lock=lock)
        return loaded[0] if loaded else None

    async def for_visits(self, visit_ids: Collection[str], statuses: Collection[ClaimStatus]) -> list[Claim]:
        return _readable(await claims_for_visits(self.session, visit_ids, statuses), "determination")

    async def for_patients(self, keys: Collection[tuple[str, str, str]],
                           statuses: Collection[ClaimStatus]) -> list[Claim]:
        return _readable(await claims_for_patients(self.session, keys, statuses), "eligibility")

    async def sent_fingerprints(self, practice_ids: Collection[str],
                                fingerprints: Collection[str]) -> dict[tuple[str, str], set[str]]:
        return await sent_fingerprints(self.session, practice_ids, fingerprints)

    async def add(self, claims_: Sequence[Claim]) -> None:
        await self._write(claims_, new=True)

    async def save(self, claims_: Sequence[Claim]) -> None:
        await self._write(claims_, new=False)

    async def _write(self, changed: Sequence[Claim], *, new: bool) -> None:
        if not changed:
            return
        rows = [claim_columns(claim.practice_id, claim, claim.patient_id) for claim in changed]
        if new:
            now = utcnow()
            await insert_many(self.session, claims, [{**row, "claim_id": claim.claim_id, "created_at": now,
                                                      "version": 1} for row, claim in zip(rows, changed, strict=True)])
        else:
            names = list(rows[0])
            await self.session.execute(
                update(claims).where(claims.c.claim_id == bindparam("b_claim_id")).values(
                    version=claims.c.version + 1, **{name: bindparam(f"b_{name}") for name in names}),
                [{"b_claim_id": claim.claim_id, **{f"b_{k}": v for k, v in row.items()}}
                 for row, claim in zip(rows, changed, strict=True)])
        history: list[dict[str, Any]] = []
        moved: dict[str, list[tuple[Claim, list[ClaimEvent]]]] = defaultdict(list)
        for claim in changed:
            done = self._written.get(id(claim), 0)
            history += [transition(event) for event in claim.events[done:]]
            moved[claim.practice_id].append((claim, claim.events[done:]))
            self._written[id(claim)] = len(claim.events)
        await insert_many(self.session, claim_transitions, history)
        for practice_id, claims_moved in moved.items():
            await follow_claims(self.session, practice_id, claims_moved)


def _readable(rows: Iterable[Any], where: str) -> list[Claim]:
    # an unreadable one is held by the submission run that meets it
    return [claim for row in rows if (claim := readable_claim(row, where)) is not None]


class SqlFactsRepository:
    """The scrubber's projection: authorizations' determinations and eligibility's checks."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def keep_determinations(self, answers: Iterable[dict[str, Any]]) -> set[str]:
        return await keep_determinations(self.session, answers)

    async def determinations(self, visit_ids: Collection[str]) -> dict[str, AuthorizationDetermination]:
        return await determinations(self.session, visit_ids)

    async def keep_coverage_checks(self, checks: Sequence[dict[str, Any]]) -> None:
        await keep_coverage_checks(self.session, checks)

    async def coverage_checks_for(self, keys: Collection[tuple[str, str, str]]
                                  ) -> dict[tuple[str, str, str], list[CoverageCheck]]:
        return await coverage_checks_for(self.session, keys)


class SqlVisitRepository:
    """Signed visits as the EHR sent them (the record; never read back by a use case)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recorded_many(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(practice, external visit id) -> the visit recorded with it, for those already recorded."""
        if not keys:
            return {}
        rows = (await self.session.execute(select(visits.c.practice_id, visits.c.external_visit_id,
                                                  visits.c.visit_id).where(
            among(visits.c.practice_id, {p for p, _ in keys}),
            among(visits.c.external_visit_id, {e for _, e in keys})))).all()
        return {(r.practice_id, r.external_visit_id): r.visit_id for r in rows
                if (r.practice_id, r.external_visit_id) in keys}

    async def add(self, rows: Sequence[dict[str, Any]]) -> None:
        await insert_many(self.session, visits, rows)


class SqlBatchRepository:
    """837P batches (the file itself is in pieces, written by the submission run)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, batch_id: str) -> SubmissionBatch | None:
        row = (await self.session.execute(select(batches).where(batches.c.batch_id == batch_id)
                                          .with_for_update())).first()
        return _batch(row) if row else None

    async def by_interchange(self, interchange_control_number: int) -> list[SubmissionBatch]:
        rows = (await self.session.execute(select(batches).where(
            batches.c.interchange_control_number == interchange_control_number).with_for_update())).all()
        return [_batch(row) for row in rows]

    async def save(self, batch: SubmissionBatch) -> None:
        await self.session.execute(update(batches).where(batches.c.batch_id == batch.batch_id).values(
            status=batch.status.value, attempts=batch.attempts, last_error=batch.last_error,
            submitted_at=batch.submitted_at, interchange_ack=batch.interchange_ack,
            interchange_note=batch.interchange_note))


def _batch(row: Any) -> SubmissionBatch:
    return SubmissionBatch(row.batch_id, BatchStatus(row.status), row.attempts, row.last_error, row.submitted_at,
                           row.interchange_ack, row.interchange_note)
