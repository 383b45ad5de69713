"""The message map: which use case takes which integration event claims consumes.

* ``claim-facts`` (a poll at a time): the scrubber's projection, authorizations' determinations and eligibility's
  checks, and the claims they complete (``scrub``);
* ``claim-outcomes``: remittance's postings move claims (``payments``).

``bootstrap`` gives these to the kernel's consumers (``batch_dispatcher`` / ``event_dispatcher``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rcm_shared.clock import Clock
from rcm_shared.contracts import (
    ClaimPaymentPostedV1,
    ClaimPaymentPostedV2,
    EligibilityCheckedV1,
    EventEnvelope,
    EventPayload,
    VisitAuthorizationDeterminedV1,
)
from rcm_shared.messaging.dispatch import TypedBatchHandler, TypedHandler
from sqlalchemy.ext.asyncio import AsyncSession

from claims.domain.rulebook import Rulebook
from claims.service_layer import payments, scrub
from claims.service_layer.unit_of_work import UnitsOfWork


def scrub_facts_map(uows: UnitsOfWork, rules: Rulebook, clock: Clock
                    ) -> Mapping[type[EventPayload], TypedBatchHandler]:
    async def determinations(session: AsyncSession, items: Sequence[tuple[EventEnvelope, Any]]) -> None:
        async with uows.joining(session, causation=_cause(items)) as uow:
            await scrub.apply_determinations(uow, [e for _, e in items], rules, today=clock.today(), now=clock.now())

    async def coverage_checks(session: AsyncSession, items: Sequence[tuple[EventEnvelope, Any]]) -> None:
        async with uows.joining(session, causation=_cause(items)) as uow:
            await scrub.apply_coverage_checks(uow, [(envelope.time, e) for envelope, e in items], rules,
                                              today=clock.today(), now=clock.now())

    return {VisitAuthorizationDeterminedV1: determinations, EligibilityCheckedV1: coverage_checks}


def outcomes_map(uows: UnitsOfWork) -> Mapping[type[EventPayload], TypedHandler]:
    async def payment(session: AsyncSession, envelope: EventEnvelope, event: Any) -> None:
        async with uows.joining(session, causation=envelope) as uow:
            await payments.record_payment(uow, event)

    return {ClaimPaymentPostedV1: payment, ClaimPaymentPostedV2: payment}


def _cause(items: Sequence[tuple[EventEnvelope, Any]]) -> EventEnvelope | None:
    # One event: it is the cause of what is announced. A poll of many has no single cause.
    return items[0][0] if len(items) == 1 else None
