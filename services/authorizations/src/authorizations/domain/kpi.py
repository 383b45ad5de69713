"""KPI: share of authorized episodes with uninterrupted coverage (the target the practices steer by, and what counts as
one episode, are data: ``rules/coverage_kpi.yaml``).

An episode of care is a patient's run of visits with one payer (``episodes_from_visits`` cuts a new episode
after ``max_gap_days`` without a visit). It is *authorized* when at least one approved authorization for that
patient and payer overlaps it, and *uninterrupted* when the union of those authorizations' date ranges covers
every day from its first to its last visit and no visit of it had a ``MissingAuthorization`` finding.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from rcm_shared.rules import RulesError, effective_span

from authorizations.domain.effective import in_force_on
from authorizations.domain.exceptions import RulesNotInForce
from authorizations.domain.model import Authorization


@dataclass(frozen=True, slots=True)
class EpisodeVisit:
    visit_id: str
    patient_id: str
    payer_id: str
    service_date: date


@dataclass(frozen=True, slots=True)
class Episode:
    episode_id: str
    patient_id: str
    payer_id: str
    start: date
    end: date
    visit_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CoverageKpi:
    authorized_episodes: int
    uninterrupted_episodes: int
    interrupted_episode_ids: tuple[str, ...]

    @property
    def rate(self) -> Decimal | None:
        """Share in percent points, two decimals; ``None`` when no episode was authorized."""
        if self.authorized_episodes == 0:
            return None
        return (Decimal(100) * self.uninterrupted_episodes / self.authorized_episodes).quantize(Decimal("0.01"))


def episodes_from_visits(visits: Iterable[EpisodeVisit], max_gap_days: int) -> list[Episode]:
    by_group: dict[tuple[str, str], list[EpisodeVisit]] = {}
    for visit in visits:
        by_group.setdefault((visit.patient_id, visit.payer_id), []).append(visit)
    episodes: list[Episode] = []
    for (patient, payer), group in sorted(by_group.items()):
        group.sort(key=lambda v: (v.service_date, v.visit_id))
        current: list[EpisodeVisit] = [group[0]]
        for visit in group[1:]:
            if (visit.service_date - current[-1].service_date).days > max_gap_days:
                episodes.append(_episode(patient, payer, current))
                current = []
            current.append(visit)
        episodes.append(_episode(patient, payer, current))
    return episodes


def _episode(patient: str, payer: str, visits: Sequence[EpisodeVisit]) -> Episode:
    start = visits[0].service_date
    # the id is built from ids only: a date of service in it would be PHI in event keys and logs
    return Episode(
        episode_id=f"{patient}:{payer}:{visits[0].visit_id}", patient_id=patient, payer_id=payer, start=start,
        end=visits[-1].service_date, visit_ids=tuple(v.visit_id for v in visits),
    )


def _covered_through(ranges: list[tuple[date, date]], start: date, end: date) -> bool:
    reached = start - timedelta(days=1)  # every day up to ``reached`` is covered
    for first, last in sorted(ranges):
        if first > reached + timedelta(days=1):
            break
        reached = max(reached, last)
        if reached >= end:
            return True
    return reached >= end


def uninterrupted_coverage(
    episodes: Iterable[Episode], authorizations: Iterable[Authorization],
    visits_missing_authorization: Collection[str] = (),
) -> CoverageKpi:
    auths = [a for a in authorizations if a.usable]
    authorized = 0
    uninterrupted = 0
    interrupted: list[str] = []
    for episode in episodes:
        ranges = [
            (a.start, a.end) for a in auths
            if (a.patient_id, a.payer_id) == (episode.patient_id, episode.payer_id)
            and a.start <= episode.end and a.end >= episode.start
        ]
        if not ranges:
            continue
        authorized += 1
        if _covered_through(ranges, episode.start, episode.end) and not any(
            v in visits_missing_authorization for v in episode.visit_ids
        ):
            uninterrupted += 1
        else:
            interrupted.append(episode.episode_id)
    return CoverageKpi(authorized, uninterrupted, tuple(interrupted))


@dataclass(frozen=True, slots=True)
class CoverageGoal:
    effective_from: date
    effective_to: date | None
    episode_gap_days: int  # a new episode after this many days without a visit
    target_percent: Decimal  # the share of authorized episodes to keep uninterrupted


@dataclass(frozen=True, slots=True)
class CoverageKpiRules:
    goals: tuple[CoverageGoal, ...]

    def goal_on(self, day: date) -> CoverageGoal:
        goal = in_force_on(self.goals, day)
        if goal is None:
            raise RulesNotInForce("no coverage goal is in force on this day (rules/coverage_kpi.yaml)")
        return goal

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], file: str = "coverage_kpi.yaml") -> CoverageKpiRules:
        entries = data.get("coverage")
        if not isinstance(entries, list) or not entries:
            raise RulesError(file, "coverage", "must be a non-empty list")
        goals = []
        for i, entry in enumerate(entries):
            where = f"coverage[{i}]"
            if not isinstance(entry, Mapping):
                raise RulesError(file, where, "must be a mapping")
            gap = entry.get("episode_gap_days")
            if not isinstance(gap, int) or isinstance(gap, bool) or gap < 1:
                raise RulesError(file, f"{where}.episode_gap_days", "must be a whole number of days, at least 1")
            try:
                target = Decimal(str(entry.get("target_percent")))
            except InvalidOperation:
                raise RulesError(file, f"{where}.target_percent", "must be a percentage like \"97.00\"") from None
            if not target.is_finite() or not Decimal(0) <= target <= Decimal(100):
                raise RulesError(file, f"{where}.target_percent", "must be between 0 and 100")
            start, end = effective_span(entry, file=file, where=where)
            goals.append(CoverageGoal(start, end, gap, target.quantize(Decimal("0.01"))))
        return cls(tuple(goals))
