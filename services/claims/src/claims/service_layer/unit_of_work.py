"""The unit of work of claims: one transaction, the repositories of its aggregates and of the scrubber's projection,
and (through the kernel's ``UnitOfWork``) the outbox rows announcing what the claims recorded
(``adapters.event_mapper.announcements``: ``claim-status-changed``). ``async with uows() as uow`` where claims owns
the transaction; ``uows.joining(session, causation=envelope)`` inside a consumer's poll or an idempotent route's
transaction.

The repositories are described by what the use cases need of them (protocols); ``bind`` builds the SQL ones
(``adapters/repository.py``) and the unit tests bind in-memory ones.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, Protocol

from rcm_shared.db.database import Database
from rcm_shared.unit_of_work import TableOutbox, UnitOfWork, UnitOfWorkFactory
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.event_mapper import SOURCE, announcements
from claims.adapters.repository import SqlClaimRepository, SqlFactsRepository, SqlVisitRepository
from claims.domain.facts import AuthorizationDetermination, CoverageCheck
from claims.domain.model import Claim, ClaimStatus


class ClaimRepository(Protocol):
    async def get(self, practice_id: str, claim_id: str, *, lock: bool = False) -> Claim | None: ...

    async def for_visits(self, visit_ids: Collection[str], statuses: Collection[ClaimStatus]) -> list[Claim]: ...

    async def for_patients(self, keys: Collection[tuple[str, str, str]],
                           statuses: Collection[ClaimStatus]) -> list[Claim]: ...

    async def sent_fingerprints(self, practice_ids: Collection[str],
                                fingerprints: Collection[str]) -> dict[tuple[str, str], set[str]]: ...

    async def add(self, claims: Sequence[Claim]) -> None: ...

    async def save(self, claims: Sequence[Claim]) -> None: ...


class FactsRepository(Protocol):
    async def keep_determinations(self, answers: Iterable[dict[str, Any]]) -> set[str]: ...

    async def determinations(self, visit_ids: Collection[str]) -> dict[str, AuthorizationDetermination]: ...

    async def keep_coverage_checks(self, checks: Sequence[dict[str, Any]]) -> None: ...

    async def coverage_checks_for(self, keys: Collection[tuple[str, str, str]]
                                  ) -> dict[tuple[str, str, str], list[CoverageCheck]]: ...


class VisitRepository(Protocol):
    async def recorded_many(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]: ...

    async def add(self, rows: Sequence[dict[str, Any]]) -> None: ...


class ClaimsUnitOfWork(UnitOfWork):
    claims: ClaimRepository
    facts: FactsRepository
    visits: VisitRepository

    def bind(self, session: AsyncSession) -> None:
        self.claims = SqlClaimRepository(session)
        self.facts = SqlFactsRepository(session)
        self.visits = SqlVisitRepository(session)


UnitsOfWork = UnitOfWorkFactory[ClaimsUnitOfWork]


def units_of_work(db: Database) -> UnitsOfWork:
    def build(database: Database, **kwargs: Any) -> ClaimsUnitOfWork:
        return ClaimsUnitOfWork(database, announcements, TableOutbox(database, SOURCE), **kwargs)

    return UnitOfWorkFactory(build, db)
