"""The message map: which use case takes which integration event eligibility consumes, a poll at a time. Each
handler joins the consumer's poll transaction with a unit of work; ``bootstrap`` gives the map to the kernel's
consumers (``batch_dispatcher``), which apply a poll in one call and, if that fails, one event at a time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from rcm_shared.clock import Clock
from rcm_shared.contracts import DenialRaisedV1, EventEnvelope, EventPayload, VisitCompletedV1
from rcm_shared.messaging.dispatch import TypedBatchHandler
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.domain.rulebook import EligibilityRules
from eligibility.service_layer import rechecks, session_limits
from eligibility.service_layer.unit_of_work import EligibilityUnitOfWork, UnitsOfWork


def message_map(uows: UnitsOfWork, rules: EligibilityRules, clock: Clock
                ) -> Mapping[type[EventPayload], TypedBatchHandler]:
    return {
        # session counts against yearly caps (consumer eligibility.session-limits)
        VisitCompletedV1: _in_poll(uows, lambda uow, events: session_limits.count_completed_visits(
            uow, events, rules)),
        # claims denied for eligibility: stale benefits, re-checks (consumer eligibility.eligibility-denials)
        DenialRaisedV1: _in_poll(uows, lambda uow, events: rechecks.note_eligibility_denials(
            uow, events, rules, now=clock.now())),
    }


UseCase = Callable[[EligibilityUnitOfWork, list[Any]], Awaitable[None]]


def _in_poll(uows: UnitsOfWork, use_case: UseCase) -> TypedBatchHandler:
    async def handle(session: AsyncSession, items: Sequence[tuple[EventEnvelope, Any]]) -> None:
        # One event: it is the cause of what is announced. A poll of many has no single cause.
        causation = items[0][0] if len(items) == 1 else None
        async with uows.joining(session, causation=causation) as uow:
            await use_case(uow, [payload for _, payload in items])

    return handle
