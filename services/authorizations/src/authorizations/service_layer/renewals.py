"""Renewals: which authorizations need one (ending soon, units low, the schedule outrunning them), by when, and
the concurrent-review submissions that answer them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from authorizations.domain.commands import RecordConcurrentReview
from authorizations.domain.renewals import ConcurrentReview, ReviewOutcome, StoredBalances, renewal_tasks
from authorizations.domain.rulebook import Rulebook
from authorizations.service_layer import views
from authorizations.service_layer.unit_of_work import AuthorizationsUnitOfWork


async def record_concurrent_review(uow: AuthorizationsUnitOfWork, command: RecordConcurrentReview) -> bool:
    """A concurrent-review submission for an authorization; the same reference twice is recorded once."""
    return await uow.concurrent_reviews.add(command.practice_id, ConcurrentReview(
        command.reference, command.authorization_number, command.submitted_on, command.requested_units,
        command.requested_end, ReviewOutcome.PENDING))


async def renewals_due(session: AsyncSession, practice_id: str, today: date, *, rules: Rulebook
                       ) -> list[dict[str, Any]]:
    """One task per authorization crossing a threshold of ``rules/renewal.yaml``, unless a successor continues its
    coverage or a concurrent review for it is pending; forecast against the booked schedule (eligibility's)."""
    balances = StoredBalances({a.number: a for a in await views.practice_authorizations(session, practice_id)},
                              await views.used_units(session, practice_id))
    booked = await views.booked_from(session, practice_id, today)
    reviews = await views.concurrent_review_log(session, practice_id)
    return [{"authorization_number": task.authorization_number, "patient_id": task.patient_id,
             "payer_id": task.payer_id, "due_by": task.due_by, "triggers": [t.value for t in task.triggers]}
            for task in renewal_tasks(balances, booked, today, rules.renewal, reviews)]
