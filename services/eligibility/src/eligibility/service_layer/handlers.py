"""The message map: which use case handles each integration event eligibility consumes. Each handler gets the
unit of work of the consumer's poll and the poll's events of its type, in order (one event when the kernel's
consumer retries them one by one)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rcm_shared.clock import Clock
from rcm_shared.contracts import DenialRaisedV1, EventPayload, VisitCompletedV1

from eligibility.domain.rulebook import EligibilityRules
from eligibility.service_layer import rechecks, session_limits
from eligibility.service_layer.unit_of_work import EligibilityUnitOfWork

EventHandler = Callable[[EligibilityUnitOfWork, Sequence[Any]], Awaitable[None]]


def message_map(rules: EligibilityRules, clock: Clock) -> dict[type[EventPayload], EventHandler]:
    async def visits_completed(uow: EligibilityUnitOfWork, events: Sequence[VisitCompletedV1]) -> None:
        await session_limits.count_completed_visits(uow, events, rules)

    async def claims_denied(uow: EligibilityUnitOfWork, events: Sequence[DenialRaisedV1]) -> None:
        await rechecks.note_eligibility_denials(uow, events, rules, now=clock.now())

    return {
        VisitCompletedV1: visits_completed,  # session counts (consumer eligibility.session-limits)
        DenialRaisedV1: claims_denied,  # eligibility denials -> re-checks (consumer eligibility.eligibility-denials)
    }
