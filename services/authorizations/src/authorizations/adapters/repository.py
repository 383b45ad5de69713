"""Load and save the aggregates of authorizations, one repository each, in bulk: a poll of visits is a handful of
statements, not a few per visit.

* ``SqlLedgerRepository``: the unit ledger of the (patient, payer) groups a change touches (their authorizations,
  visits and stored allocation), locked per group for the transaction on PostgreSQL;
* ``SqlCredentialingRepository``: a practice's credentialing registry;
* ``SqlDeterminationRepository``: the answers announced per visit (locked while re-decided);
* ``SqlAuthorizationRequestRepository``: prior-authorization requests and their reviews;
* ``SqlScheduleRepository``: the local copy of the schedule (``visit-scheduled``);
* ``SqlConcurrentReviewRepository``: concurrent-review submissions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from rcm_shared.db import sequences
from rcm_shared.db.bulk import insert_many
from rcm_shared.db.types import utcnow
from sqlalchemy import Table, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from authorizations.adapters.orm import (
    authorization_requests,
    authorizations,
    booked_visits,
    concurrent_reviews,
    consumptions,
    control_numbers,
    enrollments,
    ledger_visits,
    missing,
    supervision_policies,
    supervisions,
    visit_determinations,
)
from authorizations.domain.commands import CopyBookedVisit
from authorizations.domain.credentialing import CredentialingRegistry, Enrollment, Supervision, SupervisionPolicy
from authorizations.domain.determination import Determination, VisitDetermination
from authorizations.domain.ledger import MissingAuthorization, MissingReason
from authorizations.domain.model import (
    Authorization,
    AuthorizationRequest,
    AuthorizationStatus,
    PriorAuthorizationRequest,
    RequestDecision,
    VisitFacts,
)
from authorizations.domain.renewals import ConcurrentReview
from authorizations.domain.unit_ledger import (
    AppliedVisit,
    Group,
    LedgerRules,
    StoredAuthorization,
    UnitLedger,
    VisitProviders,
)
from authorizations.edi.pas import read_pas_request
from authorizations.edi.x12_278 import read_278


def among(column: ColumnElement[Any], values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN (...)`` with the values written into the statement: PostgreSQL plans a long bound list
    generically from its sixth run in a session and then scans the table (docs/decisions.md, ERA posting)."""
    name = getattr(column, "name", "values")
    return column.in_(bindparam(f"among_{name}", list(values), expanding=True, literal_execute=True))


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _lock_groups(session: AsyncSession, practice_id: str, groups: Iterable[Group]) -> None:
    """Serialize changes to one patient's units with one payer (PostgreSQL; SQLite has one writer anyway).
    Sorted, so two transactions locking overlapping groups cannot wait on each other in a circle."""
    if not _is_postgres(session):
        return
    keys = sorted({_group_key(practice_id, g) for g in groups})
    if keys:
        await session.execute(text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"),
                              {"keys": keys})


def _group_key(practice_id: str, group: Group) -> int:
    digest = hashlib.blake2b("\x1f".join((practice_id, *group)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _providers(row: Any) -> VisitProviders | None:
    if row.rendering_npi is None:
        return None
    return VisitProviders(row.rendering_npi, row.rendering_credential or "", row.supervising_npi,
                          row.supervising_credential or "", row.billing_npi)


def _applied(row: Any) -> AppliedVisit:
    return AppliedVisit(row.visit_id, row.revision, VisitFacts(row.patient_id, row.payer_id, row.service_date,
                                                               row.cpt_code), row.voided, _providers(row))


def _visit_row(practice_id: str, visit: AppliedVisit) -> dict[str, Any]:
    who = visit.providers
    return {"practice_id": practice_id, "visit_id": visit.visit_id, "patient_id": visit.facts.patient_id,
            "payer_id": visit.facts.payer_id, "service_date": visit.facts.service_date,
            "cpt_code": visit.facts.cpt_code, "revision": visit.revision, "voided": visit.voided,
            "rendering_npi": who.rendering_npi if who else None,
            "rendering_credential": (who.rendering_credential or None) if who else None,
            "supervising_npi": who.supervising_npi if who else None,
            "supervising_credential": (who.supervising_credential or None) if who else None,
            "billing_npi": who.billing_npi if who else None}


def authorization_of(row: Any) -> Authorization:
    return Authorization(number=row.number, patient_id=row.patient_id, payer_id=row.payer_id,
                         cpt_codes=frozenset(row.cpt_codes), approved_units=row.approved_units, start=row.start_date,
                         end=row.end_date, status=AuthorizationStatus(row.status), cancelled_on=row.cancelled_on)


class SqlLedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        # per ledger loaded: what was stored (visit ids, authorization numbers, allocation, findings)
        self._stored: dict[int, tuple[set[str], set[str], dict[str, str], dict[str, MissingAuthorization]]] = {}

    async def get(self, practice_id: str, groups: Iterable[Group], rules: LedgerRules, *,
                  numbers: Iterable[str] = (), visit_ids: Iterable[str] = (), lock: bool = True) -> UnitLedger:
        """The ledger of ``groups``, and of the groups the authorization ``numbers`` and visits ``visit_ids`` are
        in now (a change may move them). ``lock``: held until the transaction ends (writers)."""
        wanted = set(groups)
        if lock:
            await _lock_groups(self.session, practice_id, wanted)
        numbers, visit_ids = set(numbers), set(visit_ids)
        found: set[Group] = set()
        if numbers:
            found |= {(r.patient_id, r.payer_id) for r in (await self.session.execute(
                select(authorizations.c.patient_id, authorizations.c.payer_id).where(
                    authorizations.c.practice_id == practice_id, among(authorizations.c.number, numbers)))).all()}
        if visit_ids:
            found |= {(r.patient_id, r.payer_id) for r in (await self.session.execute(
                select(ledger_visits.c.patient_id, ledger_visits.c.payer_id).where(
                    ledger_visits.c.practice_id == practice_id, among(ledger_visits.c.visit_id, visit_ids)))).all()}
        if lock and found - wanted:
            await _lock_groups(self.session, practice_id, found - wanted)
        wanted |= found
        patients = {patient for patient, _ in wanted}
        auth_rows = [r for r in (await self.session.execute(select(authorizations).where(
            authorizations.c.practice_id == practice_id, among(authorizations.c.patient_id, patients)))).all()
            if (r.patient_id, r.payer_id) in wanted] if patients else []
        visit_rows = [r for r in (await self.session.execute(select(ledger_visits).where(
            ledger_visits.c.practice_id == practice_id, among(ledger_visits.c.patient_id, patients)))).all()
            if (r.patient_id, r.payer_id) in wanted] if patients else []
        ids = [r.visit_id for r in visit_rows]
        allocation: dict[str, str] = {}
        findings: dict[str, MissingAuthorization] = {}
        if ids:
            allocation = {r.visit_id: r.authorization_number for r in (await self.session.execute(select(
                consumptions.c.visit_id, consumptions.c.authorization_number).where(
                consumptions.c.practice_id == practice_id, among(consumptions.c.visit_id, ids)))).all()}
            findings = {r.visit_id: MissingAuthorization(r.visit_id, r.patient_id, r.payer_id, r.service_date,
                                                         r.cpt_code, MissingReason(r.reason))
                        for r in (await self.session.execute(select(missing).where(
                            missing.c.practice_id == practice_id, among(missing.c.visit_id, ids)))).all()}
        ledger = UnitLedger(practice_id, rules, wanted,
                            [StoredAuthorization(r.authorization_id, authorization_of(r)) for r in auth_rows],
                            [_applied(r) for r in visit_rows], allocation)
        self._stored[id(ledger)] = (set(ids), {r.number for r in auth_rows}, allocation, findings)
        return ledger

    async def save(self, ledger: UnitLedger) -> None:
        """Write what changed: visits, authorizations, the allocation and the missing-authorization findings."""
        practice_id = ledger.practice_id
        visit_ids, numbers, allocation, findings = self._stored.setdefault(id(ledger), (set(), set(), {}, {}))
        changed = [v for i in sorted(ledger.changed_visits) if (v := ledger.visit(i)) is not None]
        await insert_many(self.session, ledger_visits,
                          [_visit_row(practice_id, v) for v in changed if v.visit_id not in visit_ids])
        updates = [_visit_row(practice_id, v) for v in changed if v.visit_id in visit_ids]
        if updates:
            await self.session.execute(update(ledger_visits).where(
                ledger_visits.c.practice_id == bindparam("b_practice_id"),
                ledger_visits.c.visit_id == bindparam("b_visit_id")).values(
                {k: bindparam(k) for k in updates[0] if k not in ("practice_id", "visit_id")}),
                [{**u, "b_practice_id": u["practice_id"], "b_visit_id": u["visit_id"]} for u in updates])
        visit_ids.update(v.visit_id for v in changed)
        for number in sorted(ledger.changed_authorizations):
            await self._save_authorization(ledger, number, known=number in numbers)
            numbers.add(number)
        ledger.changed_visits.clear()
        ledger.changed_authorizations.clear()

        allocation_after = ledger.allocations()
        gone = [v for v, n in allocation.items() if allocation_after.get(v) != n]
        if gone:
            await self.session.execute(delete(consumptions).where(
                consumptions.c.practice_id == practice_id, among(consumptions.c.visit_id, gone)))
        stamp = utcnow()
        await insert_many(self.session, consumptions, [
            {"practice_id": practice_id, "visit_id": v, "authorization_number": n, "consumed_at": stamp}
            for v, n in sorted(allocation_after.items()) if allocation.get(v) != n])
        after = {f.visit_id: f for f in ledger.findings()}
        stale = [v for v, f in findings.items() if after.get(v) != f]
        if stale:
            await self.session.execute(delete(missing).where(
                missing.c.practice_id == practice_id, among(missing.c.visit_id, stale)))
        await insert_many(self.session, missing, [
            {"practice_id": practice_id, "visit_id": f.visit_id, "patient_id": f.patient_id, "payer_id": f.payer_id,
             "service_date": f.service_date, "cpt_code": f.cpt_code, "reason": f.reason.value, "found_at": stamp}
            for v, f in sorted(after.items()) if findings.get(v) != f])
        self._stored[id(ledger)] = (visit_ids, numbers, dict(allocation_after), after)

    async def _save_authorization(self, ledger: UnitLedger, number: str, *, known: bool) -> None:
        auth = ledger.authorization(number)
        values = {"patient_id": auth.patient_id, "payer_id": auth.payer_id, "cpt_codes": sorted(auth.cpt_codes),
                  "approved_units": auth.approved_units, "start_date": auth.start, "end_date": auth.end,
                  "status": auth.status.value, "cancelled_on": auth.cancelled_on}
        if known:
            await self.session.execute(update(authorizations).where(
                authorizations.c.practice_id == ledger.practice_id, authorizations.c.number == number).values(values))
        else:
            await self.session.execute(insert(authorizations).values(
                practice_id=ledger.practice_id, number=number, authorization_id=ledger.authorization_id(number),
                created_at=utcnow(), **values))

    async def visits_naming(self, practice_id: str, npis: Collection[str], *, since: date,
                            payer_id: str | None = None) -> list[AppliedVisit]:
        """Live visits from ``since`` on (of ``payer_id``, if given) naming one of ``npis`` as rendering,
        supervising or billing provider."""
        if not npis:
            return []
        query = select(ledger_visits).where(
            ledger_visits.c.practice_id == practice_id, ledger_visits.c.voided.is_(False),
            ledger_visits.c.service_date >= since,
            or_(among(ledger_visits.c.rendering_npi, npis), among(ledger_visits.c.supervising_npi, npis),
                among(ledger_visits.c.billing_npi, npis)))
        if payer_id is not None:
            query = query.where(ledger_visits.c.payer_id == payer_id)
        return [_applied(r) for r in (await self.session.execute(query)).all()]

    async def units_remaining(self, practice_id: str, numbers: Collection[str]) -> dict[str, int]:
        """Units left on these authorizations, as stored."""
        if not numbers:
            return {}
        used = {r.authorization_number: r.used for r in (await self.session.execute(select(
            consumptions.c.authorization_number, func.count().label("used")).where(
            consumptions.c.practice_id == practice_id, among(consumptions.c.authorization_number, numbers)).group_by(
            consumptions.c.authorization_number))).all()}
        return {r.number: r.approved_units - used.get(r.number, 0) for r in (await self.session.execute(select(
            authorizations.c.number, authorizations.c.approved_units).where(
            authorizations.c.practice_id == practice_id, among(authorizations.c.number, numbers)))).all()}


class SqlCredentialingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, practice_id: str, payer_defaults: Sequence[SupervisionPolicy]) -> CredentialingRegistry:
        registry = CredentialingRegistry(payer_defaults=list(payer_defaults))
        for r in (await self.session.execute(select(enrollments).where(
                enrollments.c.practice_id == practice_id))).all():
            registry.enroll(Enrollment(r.npi, r.payer_id, r.plan, r.effective_from, r.effective_to))
        for r in (await self.session.execute(select(supervisions).where(
                supervisions.c.practice_id == practice_id))).all():
            registry.supervise(Supervision(r.supervisee_npi, r.supervisor_npi, r.effective_from, r.effective_to))
        for r in (await self.session.execute(select(supervision_policies).where(
                supervision_policies.c.practice_id == practice_id))).all():
            registry.set_policy(SupervisionPolicy(r.payer_id, r.allows_supervisor_billing, r.effective_from,
                                                  r.effective_to, r.plan))
        return registry

    async def add_enrollment(self, practice_id: str, enrollment: Enrollment) -> None:
        await self.session.execute(insert(enrollments).values(
            practice_id=practice_id, npi=enrollment.npi, payer_id=enrollment.payer_id, plan=enrollment.plan,
            effective_from=enrollment.effective_from, effective_to=enrollment.effective_to))

    async def add_supervision(self, practice_id: str, supervision: Supervision) -> None:
        await self.session.execute(insert(supervisions).values(
            practice_id=practice_id, supervisee_npi=supervision.supervisee_npi,
            supervisor_npi=supervision.supervisor_npi, effective_from=supervision.effective_from,
            effective_to=supervision.effective_to))

    async def add_policy(self, practice_id: str, policy: SupervisionPolicy) -> None:
        await self.session.execute(insert(supervision_policies).values(
            practice_id=practice_id, payer_id=policy.payer_id, plan=policy.plan,
            allows_supervisor_billing=policy.allows_supervisor_billing, effective_from=policy.effective_from,
            effective_to=policy.effective_to))


class SqlDeterminationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._stored: dict[tuple[str, str], int] = {}  # sequence as loaded

    async def get_many(self, practice_id: str, visit_ids: Collection[str]) -> dict[str, VisitDetermination]:
        """The visits' determinations, locked until the transaction ends (two writers never number the same
        answer twice); a visit never determined gets an empty one."""
        found: dict[str, VisitDetermination] = {}
        if visit_ids:
            query = select(visit_determinations).where(
                visit_determinations.c.practice_id == practice_id,
                among(visit_determinations.c.visit_id, visit_ids)).order_by(visit_determinations.c.visit_id)
            if _is_postgres(self.session):
                query = query.with_for_update()
            for r in (await self.session.execute(query)).all():
                found[r.visit_id] = VisitDetermination(practice_id, r.visit_id, r.sequence,
                                                       Determination.from_dict(r.answer))
                self._stored[(practice_id, r.visit_id)] = r.sequence
        return {v: found.get(v) or VisitDetermination(practice_id, v) for v in visit_ids}

    async def save(self, determinations: Sequence[VisitDetermination], at: datetime) -> None:
        new = [d for d in determinations if (d.practice_id, d.visit_id) not in self._stored]
        known = [d for d in determinations if self._stored.get((d.practice_id, d.visit_id), d.sequence) != d.sequence]
        await insert_many(self.session, visit_determinations, [
            {"practice_id": d.practice_id, "visit_id": d.visit_id, "sequence": d.sequence,
             "answer": _answer_json(d), "determined_at": at} for d in new])
        if known:
            await self.session.execute(update(visit_determinations).where(
                visit_determinations.c.practice_id == bindparam("b_practice_id"),
                visit_determinations.c.visit_id == bindparam("b_visit_id")).values(
                sequence=bindparam("sequence"), answer=bindparam("answer"), determined_at=bindparam("at")),
                [{"b_practice_id": d.practice_id, "b_visit_id": d.visit_id, "sequence": d.sequence,
                  "answer": _answer_json(d), "at": at} for d in known])
        for d in determinations:
            self._stored[(d.practice_id, d.visit_id)] = d.sequence


def _answer_json(determination: VisitDetermination) -> dict[str, Any]:
    assert determination.answer is not None
    return determination.answer.to_dict()


def _stored_request(channel: str | None, body: str) -> AuthorizationRequest:
    if channel == "pas-fhir":
        return read_pas_request(json.loads(body))[0]
    return read_278(body)


class SqlAuthorizationRequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_control_number(self) -> int:
        return await sequences.next_control_number(self.session, control_numbers, "278")

    async def add(self, request: PriorAuthorizationRequest) -> None:
        await self.session.execute(insert(authorization_requests).values(
            request_id=request.request_id, practice_id=request.practice_id, patient_id=request.patient_id,
            payer_id=request.payer_id, trace_number=request.trace_number, channel=request.channel,
            request_body=request.request_body, requested_at=request.requested_at, **_review_values(request)))

    async def save(self, request: PriorAuthorizationRequest) -> None:
        await self.session.execute(update(authorization_requests).where(
            authorization_requests.c.request_id == request.request_id).values(_review_values(request)))

    async def get_by_trace(self, practice_id: str, trace_number: str) -> PriorAuthorizationRequest | None:
        """The request answering to ``trace_number``, locked: two deliveries of one answer decide it once."""
        row = (await self.session.execute(select(authorization_requests).where(
            authorization_requests.c.practice_id == practice_id,
            authorization_requests.c.trace_number == trace_number).with_for_update())).first()
        if row is None:
            return None
        return PriorAuthorizationRequest(
            request_id=row.request_id, practice_id=row.practice_id, patient_id=row.patient_id,
            request=_stored_request(row.channel, row.request_body), channel=row.channel or "sandbox",
            request_body=row.request_body, requested_at=row.requested_at, response_body=row.response_body,
            decision=RequestDecision(row.decision), action_code=row.action_code,
            authorization_number=row.authorization_number, reason=row.reason, rejections=list(row.rejections or []),
            follow_up_on=row.follow_up_on, decided_at=row.decided_at)


def _review_values(request: PriorAuthorizationRequest) -> dict[str, Any]:
    return {"response_body": request.response_body, "decision": request.decision.value,
            "action_code": request.action_code, "authorization_number": request.authorization_number,
            "reason": request.reason, "rejections": request.rejections or None, "follow_up_on": request.follow_up_on,
            "decided_at": request.decided_at}


class SqlScheduleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def copy(self, visits: Sequence[CopyBookedVisit], at: datetime) -> None:
        """Upsert the booked visits (the last event for an appointment wins: events of one appointment arrive in
        order, keyed by its id)."""
        latest: dict[tuple[str, str], CopyBookedVisit] = {(v.practice_id, v.visit_id): v for v in visits}
        rows = [{"practice_id": v.practice_id, "visit_id": v.visit_id, "patient_id": v.patient_id,
                 "payer_id": v.payer_id, "service_date": v.service_date, "cpt_code": v.cpt_code,
                 "cancelled": v.cancelled, "updated_at": at} for v in latest.values()]
        if rows:
            await self.session.execute(_upsert(self.session, booked_visits, ("practice_id", "visit_id"), rows[0]),
                                       rows)


def _upsert(session: AsyncSession, table: Table, key: tuple[str, ...], sample: Mapping[str, Any]) -> Any:
    """``INSERT .. ON CONFLICT (key) DO UPDATE``: two writers of the same new row both succeed."""
    index = [table.c[k] for k in key]
    dialect = postgresql if _is_postgres(session) else sqlite
    statement = dialect.insert(table)
    return statement.on_conflict_do_update(index_elements=index, set_={
        name: statement.excluded[name] for name in sample if name not in key})


class SqlConcurrentReviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, practice_id: str, review: ConcurrentReview) -> bool:
        """Record a submission; the same reference twice is recorded once (returns False)."""
        exists = (await self.session.execute(select(concurrent_reviews.c.reference).where(
            concurrent_reviews.c.practice_id == practice_id,
            concurrent_reviews.c.reference == review.reference))).first()
        if exists:
            return False
        await self.session.execute(insert(concurrent_reviews).values(
            practice_id=practice_id, reference=review.reference, authorization_number=review.authorization_number,
            submitted_on=review.submitted_on, requested_units=review.requested_units,
            requested_end=review.requested_end, outcome=review.outcome.value, recorded_at=utcnow()))
        return True
