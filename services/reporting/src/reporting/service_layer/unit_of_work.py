"""The unit of work of reporting: one transaction and the repository of the read model's facts. Reporting
announces nothing (it only reads the topics), so its event mapper maps nothing and no outbox row is ever staged;
the kernel's unit of work is used for the transaction and its joining of a consumer's poll."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, Protocol

from rcm_shared.unit_of_work import Announcement, UnitOfWork, UnitOfWorkFactory
from sqlalchemy.ext.asyncio import AsyncSession

from reporting.adapters.repository import SqlFactRepository
from reporting.domain.facts import ClaimFact, ClaimHistory, Denial, Posting, StatusChange, Submission, VisitDelivered
from reporting.domain.kpi import CoverageCheck, DeterminedVisit
from reporting.domain.patient_ar import PatientCharge, PatientMoney


class FactRepository(Protocol):
    async def add_visits(self, practice_id: str, items: Sequence[VisitDelivered]) -> None: ...

    async def add_submissions(self, practice_id: str, items: Sequence[Submission]) -> None: ...

    async def add_status_changes(self, practice_id: str, items: Sequence[StatusChange]) -> None: ...

    async def add_postings(self, practice_id: str, items: Sequence[Posting]) -> None: ...

    async def add_denials(self, practice_id: str, items: Sequence[Denial]) -> None: ...

    async def add_patient_charges(self, practice_id: str, items: Sequence[PatientCharge]) -> None: ...

    async def add_patient_money(self, practice_id: str, items: Sequence[PatientMoney]) -> None: ...

    async def add_determinations(self, practice_id: str, items: Sequence[tuple[DeterminedVisit, int]]) -> None: ...

    async def add_eligibility_checks(self, practice_id: str, items: Sequence[CoverageCheck]) -> None: ...

    async def lock_claims(self, practice_id: str, claim_ids: Collection[str]) -> None: ...

    async def histories(self, practice_id: str, claim_ids: Collection[str]) -> dict[str, ClaimHistory]: ...

    async def save_facts(self, practice_id: str, facts: Iterable[ClaimFact]) -> None: ...


def announces_nothing(event: Any) -> Iterable[Announcement]:
    """Reporting's event mapper: a read model has nothing to announce."""
    return ()


class ReportingUnitOfWork(UnitOfWork):
    facts: FactRepository

    def bind(self, session: AsyncSession) -> None:
        self.facts = SqlFactRepository(session)


UnitsOfWork = UnitOfWorkFactory[ReportingUnitOfWork]
