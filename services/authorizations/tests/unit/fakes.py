"""In-memory repositories and unit of work for the use-case tests: the same contracts as adapters/repository.py,
dictionaries instead of tables (and call counts, so a test can see a poll is worked in bulk)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from authorizations.adapters import event_mapper
from authorizations.domain.commands import CopyBookedVisit
from authorizations.domain.credentialing import CredentialingRegistry, Enrollment, Supervision, SupervisionPolicy
from authorizations.domain.determination import VisitDetermination
from authorizations.domain.ledger import MissingAuthorization
from authorizations.domain.model import PriorAuthorizationRequest
from authorizations.domain.renewals import ConcurrentReview
from authorizations.domain.unit_ledger import AppliedVisit, Group, LedgerRules, StoredAuthorization, UnitLedger
from authorizations.service_layer.unit_of_work import AuthorizationsUnitOfWork
from rcm_shared.testing.fakes import InMemoryUnitOfWork, RecordingOutbox


class InMemoryLedgers:
    def __init__(self) -> None:
        self.authorizations: dict[tuple[str, str], StoredAuthorization] = {}
        self.visits: dict[tuple[str, str], AppliedVisit] = {}
        self.allocation: dict[tuple[str, str], str] = {}
        self.findings: dict[tuple[str, str], MissingAuthorization] = {}
        self.calls: Counter[str] = Counter()

    async def get(self, practice_id: str, groups: Iterable[Group], rules: LedgerRules, *,
                  numbers: Iterable[str] = (), visit_ids: Iterable[str] = (), lock: bool = True) -> UnitLedger:
        self.calls["get"] += 1
        wanted = set(groups)
        for number in numbers:
            if (stored := self.authorizations.get((practice_id, number))) is not None:
                wanted.add((stored.authorization.patient_id, stored.authorization.payer_id))
        for visit_id in visit_ids:
            if (visit := self.visits.get((practice_id, visit_id))) is not None:
                wanted.add((visit.facts.patient_id, visit.facts.payer_id))
        auths = [a for (p, _), a in self.authorizations.items()
                 if p == practice_id and (a.authorization.patient_id, a.authorization.payer_id) in wanted]
        visits = [v for (p, _), v in self.visits.items()
                  if p == practice_id and (v.facts.patient_id, v.facts.payer_id) in wanted]
        ids = {v.visit_id for v in visits}
        allocation = {v: n for (p, v), n in self.allocation.items() if p == practice_id and v in ids}
        return UnitLedger(practice_id, rules, wanted, auths, visits, allocation)

    async def save(self, ledger: UnitLedger) -> None:
        self.calls["save"] += 1
        practice = ledger.practice_id
        for visit_id in ledger.changed_visits:
            visit = ledger.visit(visit_id)
            assert visit is not None
            self.visits[(practice, visit_id)] = visit
        for number in ledger.changed_authorizations:
            self.authorizations[(practice, number)] = StoredAuthorization(ledger.authorization_id(number),
                                                                          ledger.authorization(number))
        ledger.changed_visits.clear()
        ledger.changed_authorizations.clear()
        loaded = {v.visit_id for v in ledger.live_visits()} | {
            v for (p, v) in self.visits if p == practice and (self.visits[(p, v)].facts.patient_id,
                                                              self.visits[(p, v)].facts.payer_id) in ledger.groups}
        for visit_id in loaded:
            self.allocation.pop((practice, visit_id), None)
            self.findings.pop((practice, visit_id), None)
        for visit_id, number in ledger.allocations().items():
            self.allocation[(practice, visit_id)] = number
        for finding in ledger.findings():
            self.findings[(practice, finding.visit_id)] = finding

    async def visits_naming(self, practice_id: str, npis: Collection[str], *, since: date,
                            payer_id: str | None = None) -> list[AppliedVisit]:
        self.calls["visits_naming"] += 1
        return [v for (p, _), v in self.visits.items()
                if p == practice_id and not v.voided and v.facts.service_date >= since and v.providers is not None
                and (payer_id is None or v.facts.payer_id == payer_id)
                and {v.providers.rendering_npi, v.providers.supervising_npi, v.providers.billing_npi} & set(npis)]

    async def units_remaining(self, practice_id: str, numbers: Collection[str]) -> dict[str, int]:
        used = Counter(n for (p, _), n in self.allocation.items() if p == practice_id)
        return {n: self.authorizations[(practice_id, n)].authorization.approved_units - used[n]
                for n in numbers if (practice_id, n) in self.authorizations}


class InMemoryRegistries:
    def __init__(self) -> None:
        self.enrollments: list[tuple[str, Enrollment]] = []
        self.supervisions: list[tuple[str, Supervision]] = []
        self.policies: list[tuple[str, SupervisionPolicy]] = []

    async def get(self, practice_id: str, payer_defaults: Sequence[SupervisionPolicy]) -> CredentialingRegistry:
        registry = CredentialingRegistry(payer_defaults=list(payer_defaults))
        for practice, enrollment in self.enrollments:
            if practice == practice_id:
                registry.enroll(enrollment)
        for practice, supervision in self.supervisions:
            if practice == practice_id:
                registry.supervise(supervision)
        for practice, policy in self.policies:
            if practice == practice_id:
                registry.set_policy(policy)
        return registry

    async def add_enrollment(self, practice_id: str, enrollment: Enrollment) -> None:
        self.enrollments.append((practice_id, enrollment))

    async def add_supervision(self, practice_id: str, supervision: Supervision) -> None:
        self.supervisions.append((practice_id, supervision))

    async def add_policy(self, practice_id: str, policy: SupervisionPolicy) -> None:
        self.policies.append((practice_id, policy))


class InMemoryDeterminations:
    def __init__(self) -> None:
        self.kept: dict[tuple[str, str], VisitDetermination] = {}
        self.calls: Counter[str] = Counter()

    async def get_many(self, practice_id: str, visit_ids: Collection[str]) -> dict[str, VisitDetermination]:
        self.calls["get_many"] += 1
        out = {}
        for visit_id in visit_ids:
            kept = self.kept.get((practice_id, visit_id))
            out[visit_id] = (VisitDetermination(practice_id, visit_id, kept.sequence, kept.answer) if kept
                             else VisitDetermination(practice_id, visit_id))
        return out

    async def save(self, determinations: Sequence[VisitDetermination], at: datetime) -> None:
        self.calls["save"] += 1
        for d in determinations:
            self.kept[(d.practice_id, d.visit_id)] = VisitDetermination(d.practice_id, d.visit_id, d.sequence, d.answer)


class InMemoryRequests:
    def __init__(self) -> None:
        self.by_trace: dict[tuple[str, str], PriorAuthorizationRequest] = {}
        self.control = 0

    async def next_control_number(self) -> int:
        self.control += 1
        return self.control

    async def add(self, request: PriorAuthorizationRequest) -> None:
        self.by_trace[(request.practice_id, request.trace_number)] = replace(request)

    async def save(self, request: PriorAuthorizationRequest) -> None:
        self.by_trace[(request.practice_id, request.trace_number)] = replace(request)

    async def get_by_trace(self, practice_id: str, trace_number: str) -> PriorAuthorizationRequest | None:
        found = self.by_trace.get((practice_id, trace_number))
        return replace(found) if found is not None else None


class InMemorySchedule:
    def __init__(self) -> None:
        self.booked: dict[tuple[str, str], CopyBookedVisit] = {}

    async def copy(self, visits: Sequence[CopyBookedVisit], at: datetime) -> None:
        for visit in visits:
            self.booked[(visit.practice_id, visit.visit_id)] = visit


class InMemoryConcurrentReviews:
    def __init__(self) -> None:
        self.reviews: dict[tuple[str, str], ConcurrentReview] = {}

    async def add(self, practice_id: str, review: ConcurrentReview) -> bool:
        if (practice_id, review.reference) in self.reviews:
            return False
        self.reviews[(practice_id, review.reference)] = review
        return True


class FakeUnitOfWork(InMemoryUnitOfWork, AuthorizationsUnitOfWork):
    """The service's unit of work over dictionaries; what it would publish is in ``outbox``."""

    def __init__(self, outbox: RecordingOutbox | None = None) -> None:
        super().__init__(event_mapper.announcements, outbox)

    def bind_in_memory(self) -> None:
        self.ledgers = InMemoryLedgers()
        self.registries = InMemoryRegistries()
        self.determinations = InMemoryDeterminations()
        self.requests = InMemoryRequests()
        self.schedule = InMemorySchedule()
        self.concurrent_reviews = InMemoryConcurrentReviews()

    def published(self, kind: type[Any] | None = None) -> list[Any]:
        return self.outbox.payloads(kind)


class FakeUnitsOfWork:
    """What a composition root hands to use cases that open their own units (``uows()``), over one fake."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    def __call__(self) -> FakeUnitOfWork:
        return self.uow
