"""The projection use cases: the facts of a poll's events kept, and the per-claim rows they touch recomputed.

Each takes facts already read from the events (``handlers.py`` does that) grouped by practice. Keeping a fact
is insert-once by its own id, and a claim's row is recomputed from all of its stored facts, so a duplicate, a
replay or another arrival order leaves the same tables (tests/integration: the state hash)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from reporting.domain.facts import (
    Denial,
    FactRules,
    Posting,
    StatusChange,
    Submission,
    VisitDelivered,
    claim_fact,
)
from reporting.domain.kpi import CoverageCheck, DeterminedVisit
from reporting.domain.patient_ar import PatientCharge, PatientMoney
from reporting.service_layer.unit_of_work import ReportingUnitOfWork


class HasClaim(Protocol):
    @property
    def claim_id(self) -> str: ...


T = TypeVar("T")


def by_practice(items: Iterable[tuple[str, T]]) -> dict[str, list[T]]:
    out: dict[str, list[T]] = {}
    for practice_id, item in items:
        out.setdefault(practice_id, []).append(item)
    return out


async def refresh_claims(uow: ReportingUnitOfWork, practice_id: str, claim_ids: Iterable[str],
                         rules: FactRules) -> None:
    """Recompute the fact rows of ``claim_ids`` from everything stored for them (one recomputation of a claim at a
    time: the lock is taken before the facts are read, so they include whatever another writer committed)."""
    ids = sorted(set(claim_ids))
    await uow.facts.lock_claims(practice_id, ids)
    found = await uow.facts.histories(practice_id, ids)
    await uow.facts.save_facts(practice_id, [claim_fact(h, rules) for h in found.values()])


ClaimFactAdder = Callable[[ReportingUnitOfWork], Callable[[str, Sequence[Any]], Any]]


async def _claim_facts(uow: ReportingUnitOfWork, facts: Iterable[tuple[str, HasClaim]], rules: FactRules,
                       add: ClaimFactAdder) -> None:
    for practice_id, items in by_practice(facts).items():
        await add(uow)(practice_id, items)
        await refresh_claims(uow, practice_id, (i.claim_id for i in items), rules)


async def record_submissions(uow: ReportingUnitOfWork, facts: Iterable[tuple[str, Submission]],
                             rules: FactRules) -> None:
    await _claim_facts(uow, facts, rules, lambda u: u.facts.add_submissions)


async def record_status_changes(uow: ReportingUnitOfWork, facts: Iterable[tuple[str, StatusChange]],
                                rules: FactRules) -> None:
    await _claim_facts(uow, facts, rules, lambda u: u.facts.add_status_changes)


async def record_postings(uow: ReportingUnitOfWork, facts: Iterable[tuple[str, Posting]], rules: FactRules) -> None:
    await _claim_facts(uow, facts, rules, lambda u: u.facts.add_postings)


async def record_denials(uow: ReportingUnitOfWork, facts: Iterable[tuple[str, Denial]], rules: FactRules) -> None:
    await _claim_facts(uow, facts, rules, lambda u: u.facts.add_denials)


async def record_visits(uow: ReportingUnitOfWork, facts: Iterable[tuple[str, VisitDelivered]]) -> None:
    for practice_id, items in by_practice(facts).items():
        await uow.facts.add_visits(practice_id, items)


async def record_patient_charges(uow: ReportingUnitOfWork, facts: Iterable[tuple[str, PatientCharge]]) -> None:
    for practice_id, items in by_practice(facts).items():
        await uow.facts.add_patient_charges(practice_id, items)


async def record_patient_money(uow: ReportingUnitOfWork, facts: Iterable[tuple[str, PatientMoney]]) -> None:
    for practice_id, items in by_practice(facts).items():
        await uow.facts.add_patient_money(practice_id, items)


async def record_determinations(uow: ReportingUnitOfWork, facts: Iterable[tuple[str, tuple[DeterminedVisit, int]]]
                                ) -> None:
    for practice_id, items in by_practice(facts).items():
        await uow.facts.add_determinations(practice_id, items)


async def record_eligibility_checks(uow: ReportingUnitOfWork, facts: Iterable[tuple[str, CoverageCheck]]) -> None:
    for practice_id, items in by_practice(facts).items():
        await uow.facts.add_eligibility_checks(practice_id, items)
