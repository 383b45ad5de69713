"""The authorization work queue: missing authorizations, renewals due, pended reviews to chase and rejected
requests to correct, for one practice on one day."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from authorizations.domain.rulebook import Rulebook
from authorizations.service_layer import views
from authorizations.service_layer.renewals import renewals_due


async def open_work(session: AsyncSession, practice_id: str, today: date, *, rules: Rulebook) -> dict[str, Any]:
    return {"missing_authorizations": await views.missing_authorizations(session, practice_id),
            "renewals_due": await renewals_due(session, practice_id, today, rules=rules),
            **await views.review_work(session, practice_id, today)}
