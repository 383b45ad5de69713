"""Deciding visits' answers (``visit-authorization-determined``) after a change: the use cases of the ledger, the
credentialing registry and the reviews call these with what they changed; an answer that did not change is not
announced again."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime

from rcm_shared.observability import metrics

from authorizations.adapters.event_mapper import SOURCE
from authorizations.domain.credentialing import CredentialingRegistry
from authorizations.domain.determination import VisitDetermination, determine
from authorizations.domain.rulebook import Rulebook
from authorizations.domain.unit_ledger import AppliedVisit, AuthorizationAnswer, UnitLedger
from authorizations.service_layer.unit_of_work import AuthorizationsUnitOfWork


def open_visits(ledger: UnitLedger, visit_ids: Iterable[str], since: date) -> list[str]:
    """Those of ``visit_ids`` whose answers still follow later facts (dates of service from ``since``)."""
    return [i for i in sorted(visit_ids) if (v := ledger.visit(i)) is not None and v.facts.service_date >= since]


async def decide_visits(uow: AuthorizationsUnitOfWork, ledger: UnitLedger, visit_ids: Iterable[str], *,
                        rules: Rulebook, at: datetime) -> int:
    """Decide the answers of these visits of ``ledger`` (live ones naming their clinicians); announce the new or
    changed ones. Returns how many were announced."""
    visits = [v for i in dict.fromkeys(visit_ids)
              if (v := ledger.visit(i)) is not None and not v.voided and v.providers is not None]
    if not visits:
        return 0
    registry = await uow.registries.get(ledger.practice_id, rules.supervision_defaults)
    held = await uow.determinations.get_many(ledger.practice_id, [v.visit_id for v in visits])
    answers = [(visit, held[visit.visit_id], ledger.answer_for(visit.visit_id)) for visit in visits]
    return await _decide(uow, answers, registry, rules=rules, at=at)


async def redecide_clinicians(uow: AuthorizationsUnitOfWork, practice_id: str, registry: CredentialingRegistry,
                              npis: Collection[str], *, payer_id: str | None, rules: Rulebook, today: date,
                              at: datetime) -> int:
    """The registry changed for ``npis`` (with ``payer_id``, or any payer): re-decide the clinicians of the open
    visits naming them. Their authorization part stands (nothing about units changed), so the ledger is not
    loaded; only visits already answered are re-answered."""
    since = rules.determinations.open_since(today)
    visits: list[AppliedVisit] = [v for v in await uow.ledgers.visits_naming(practice_id, npis, since=since,
                                                                             payer_id=payer_id)
                                  if v.providers is not None]
    if not visits:
        return 0
    held = await uow.determinations.get_many(practice_id, [v.visit_id for v in visits])
    numbers = {d.answer.authorization_number for d in held.values()
               if d.answer is not None and d.answer.authorization_number}
    remaining = await uow.ledgers.units_remaining(practice_id, numbers)
    answers = []
    for visit in visits:
        before = held[visit.visit_id].answer
        if before is None:
            continue  # never answered: its visit event will be
        answers.append((visit, held[visit.visit_id], AuthorizationAnswer(
            before.authorization_required, before.authorization_id, before.authorization_number,
            before.missing_reason, remaining.get(before.authorization_number or ""))))
    return await _decide(uow, answers, registry, rules=rules, at=at)


async def _decide(uow: AuthorizationsUnitOfWork,
                  answers: list[tuple[AppliedVisit, VisitDetermination, AuthorizationAnswer]],
                  registry: CredentialingRegistry, *, rules: Rulebook, at: datetime) -> int:
    """Each visit's answer from its authorization part and the registry; keep and announce the changed ones."""
    changed = [determination for visit, determination, authorization in answers if determination.decide(
        determine(visit, authorization, registry), units_remaining=authorization.units_remaining, at=at,
        rules_version=rules.determination_version)]
    if changed:
        await uow.determinations.save(changed, at)
        uow.add(*changed)
        first = sum(1 for d in changed if d.sequence == 1)
        metrics.BUSINESS_EVENTS.labels(SOURCE, "visit_answered").inc(first)
        metrics.BUSINESS_EVENTS.labels(SOURCE, "visit_answer_changed").inc(len(changed) - first)
    return len(changed)
