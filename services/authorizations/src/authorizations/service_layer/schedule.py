"""The local copy of the practice's schedule: eligibility owns it (``POST /v1/schedule`` there) and announces every
booking on ``visit-scheduled``; the renewal forecasts here read the copy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from authorizations.domain.commands import CopyBookedVisit
from authorizations.service_layer.unit_of_work import AuthorizationsUnitOfWork


async def copy_schedule(uow: AuthorizationsUnitOfWork, visits: Sequence[CopyBookedVisit], *, at: datetime) -> None:
    """Booked, moved or cancelled visits, in the order they were announced (the last one of an appointment wins)."""
    await uow.schedule.copy(visits, at)
