"""The coverage KPI: the share of authorized episodes of care with uninterrupted coverage, against the goal in
``rules/coverage_kpi.yaml``."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from authorizations.domain.kpi import episodes_from_visits, uninterrupted_coverage
from authorizations.domain.rulebook import Rulebook
from authorizations.service_layer import views


async def coverage(session: AsyncSession, practice_id: str, today: date, *, rules: Rulebook,
                   episode_gap_days: int | None = None) -> dict[str, Any]:
    goal = rules.coverage.goal_on(today)
    gap = episode_gap_days or goal.episode_gap_days
    episodes = episodes_from_visits(await views.episode_visits(session, practice_id), gap)
    kpi = uninterrupted_coverage(episodes, await views.practice_authorizations(session, practice_id),
                                 await views.visits_missing_authorization(session, practice_id))
    return {"authorized_episodes": kpi.authorized_episodes, "uninterrupted_episodes": kpi.uninterrupted_episodes,
            "rate_percent": str(kpi.rate) if kpi.rate is not None else None,
            "target_percent": str(goal.target_percent), "episode_gap_days": gap,
            "interrupted_episode_count": len(kpi.interrupted_episode_ids)}
