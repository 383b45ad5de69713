"""The unit of work of authorizations: one transaction, the repositories of its aggregates, and (through the
kernel's ``UnitOfWork``) the outbox rows announcing what the aggregates recorded.

The repositories are described here by what the use cases need of them (protocols); ``bind`` builds the SQL ones
(``adapters/repository.py``) on the transaction's session, and the unit tests bind in-memory ones.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from typing import Protocol

from rcm_shared.unit_of_work import UnitOfWork, UnitOfWorkFactory
from rcm_shared.work_items.repository import WorkItemRepository
from sqlalchemy.ext.asyncio import AsyncSession

from authorizations.adapters.orm import work_item_tables
from authorizations.adapters.repository import (
    SqlAuthorizationRequestRepository,
    SqlConcurrentReviewRepository,
    SqlCredentialingRepository,
    SqlDeterminationRepository,
    SqlLedgerRepository,
    SqlScheduleRepository,
)
from authorizations.domain.commands import CopyBookedVisit
from authorizations.domain.credentialing import CredentialingRegistry, Enrollment, Supervision, SupervisionPolicy
from authorizations.domain.determination import VisitDetermination
from authorizations.domain.model import PriorAuthorizationRequest
from authorizations.domain.renewals import ConcurrentReview
from authorizations.domain.unit_ledger import AppliedVisit, Group, LedgerRules, UnitLedger


class LedgerRepository(Protocol):
    async def get(self, practice_id: str, groups: Iterable[Group], rules: LedgerRules, *,
                  numbers: Iterable[str] = (), visit_ids: Iterable[str] = (), lock: bool = True) -> UnitLedger: ...

    async def save(self, ledger: UnitLedger) -> None: ...

    async def visits_naming(self, practice_id: str, npis: Collection[str], *, since: date,
                            payer_id: str | None = None) -> list[AppliedVisit]: ...

    async def units_remaining(self, practice_id: str, numbers: Collection[str]) -> dict[str, int]: ...


class CredentialingRepository(Protocol):
    async def get(self, practice_id: str, payer_defaults: Sequence[SupervisionPolicy]) -> CredentialingRegistry: ...

    async def add_enrollment(self, practice_id: str, enrollment: Enrollment) -> None: ...

    async def add_supervision(self, practice_id: str, supervision: Supervision) -> None: ...

    async def add_policy(self, practice_id: str, policy: SupervisionPolicy) -> None: ...


class DeterminationRepository(Protocol):
    async def get_many(self, practice_id: str, visit_ids: Collection[str]) -> dict[str, VisitDetermination]: ...

    async def save(self, determinations: Sequence[VisitDetermination], at: datetime) -> None: ...


class AuthorizationRequestRepository(Protocol):
    async def next_control_number(self) -> int: ...

    async def add(self, request: PriorAuthorizationRequest) -> None: ...

    async def save(self, request: PriorAuthorizationRequest) -> None: ...

    async def get_by_trace(self, practice_id: str, trace_number: str) -> PriorAuthorizationRequest | None: ...


class ScheduleRepository(Protocol):
    async def copy(self, visits: Sequence[CopyBookedVisit], at: datetime) -> None: ...


class ConcurrentReviewRepository(Protocol):
    async def add(self, practice_id: str, review: ConcurrentReview) -> bool: ...


class AuthorizationsUnitOfWork(UnitOfWork):
    ledgers: LedgerRepository
    registries: CredentialingRepository
    determinations: DeterminationRepository
    requests: AuthorizationRequestRepository
    schedule: ScheduleRepository
    concurrent_reviews: ConcurrentReviewRepository
    work_items: WorkItemRepository

    def bind(self, session: AsyncSession) -> None:
        self.ledgers = SqlLedgerRepository(session)
        self.registries = SqlCredentialingRepository(session)
        self.determinations = SqlDeterminationRepository(session)
        self.requests = SqlAuthorizationRequestRepository(session)
        self.schedule = SqlScheduleRepository(session)
        self.concurrent_reviews = SqlConcurrentReviewRepository(session)
        self.work_items = WorkItemRepository(session, work_item_tables)


UnitsOfWork = UnitOfWorkFactory[AuthorizationsUnitOfWork]
