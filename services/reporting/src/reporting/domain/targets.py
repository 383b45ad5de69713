"""The numbers reporting measures against, as data (``rules/kpi_targets.yaml`` and ``rules/reporting.yaml``):
each KPI's target and the point where it becomes trouble, the A/R aging buckets, the window days in A/R averages
charges over, which denial categories are coding-related, what counts as an episode of care."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from rcm_shared.rules import effective_span

from reporting.domain.exceptions import RulesNotInForce

Direction = Literal["at_least", "at_most"]
KPI_NAMES = ("first_pass_clean_rate", "denial_rate", "coding_denial_rate", "days_in_ar", "ar_over_60_share",
             "net_collection_rate", "uninterrupted_coverage_rate", "submission_lag_days",
             "held_before_submission_rate", "eligibility_verified_rate")


@dataclass(frozen=True, slots=True)
class Target:
    """``goal``: what the practice aims for; ``trouble``: past it, the KPI needs attention now. ``direction``:
    at_least (higher is better) or at_most (lower is better)."""

    kpi: str
    direction: Direction
    goal: Decimal
    trouble: Decimal
    source: str

    def judge(self, value: Decimal | None) -> str:
        """on_target | watch (between goal and trouble) | trouble | no_data."""
        if value is None:
            return "no_data"
        if self.direction == "at_least":
            return "on_target" if value >= self.goal else ("trouble" if value < self.trouble else "watch")
        return "on_target" if value <= self.goal else ("trouble" if value > self.trouble else "watch")


@dataclass(frozen=True, slots=True)
class TargetSet:
    effective_from: date
    effective_to: date | None
    targets: Mapping[str, Target]


@dataclass(frozen=True, slots=True)
class AgingBucket:
    label: str
    from_days: int
    to_days: int | None  # inclusive; None: open-ended

    def holds(self, age_days: int) -> bool:
        return age_days >= self.from_days and (self.to_days is None or age_days <= self.to_days)


@dataclass(frozen=True, slots=True)
class Measurement:
    """How the figures are measured, effective on a span of days."""

    effective_from: date
    effective_to: date | None
    aging_buckets: tuple[AgingBucket, ...]
    over_days: int  # "A/R over 60 days": the age past which A/R counts as old
    days_in_ar_window_days: int  # average daily charges over this many days before the day asked
    coding_categories: frozenset[str]
    clean_first_outcomes: frozenset[str]
    episode_gap_days: int
    eligibility_verified_within_days: int

    def bucket(self, age_days: int) -> str:
        for bucket in self.aging_buckets:
            if bucket.holds(age_days):
                return bucket.label
        return self.aging_buckets[-1].label


@dataclass(frozen=True, slots=True)
class ReportingRules:
    targets: tuple[TargetSet, ...]
    measurements: tuple[Measurement, ...]
    versions: Mapping[str, str]

    def targets_on(self, day: date) -> Mapping[str, Target]:
        for entry in self.targets:
            if _covers(entry.effective_from, entry.effective_to, day):
                return entry.targets
        raise RulesNotInForce("kpi_targets.yaml", day)

    def measurement_on(self, day: date) -> Measurement:
        for entry in self.measurements:
            if _covers(entry.effective_from, entry.effective_to, day):
                return entry
        raise RulesNotInForce("reporting.yaml", day)


def _covers(start: date, end: date | None, day: date) -> bool:
    return start <= day and (end is None or day <= end)


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{where} must be a number") from None


def target_sets(data: Mapping[str, Any]) -> tuple[TargetSet, ...]:
    """Read ``targets`` of kpi_targets.yaml: effective-dated sets of per-KPI goals."""
    out = []
    for i, raw in enumerate(data.get("targets") or []):
        start, end = effective_span(raw, file="kpi_targets.yaml", where=f"targets[{i}]")
        kpis: dict[str, Target] = {}
        for name, spec in (raw.get("kpis") or {}).items():
            where = f"targets[{i}].kpis.{name}"
            if name not in KPI_NAMES:
                raise ValueError(f"{where}: unknown KPI (one of {', '.join(KPI_NAMES)})")
            direction = spec.get("direction")
            if direction not in ("at_least", "at_most"):
                raise ValueError(f"{where}.direction must be at_least or at_most")
            goal, trouble = _decimal(spec.get("goal"), f"{where}.goal"), _decimal(spec.get("trouble"),
                                                                                  f"{where}.trouble")
            if (direction == "at_least" and trouble > goal) or (direction == "at_most" and trouble < goal):
                raise ValueError(f"{where}: trouble must lie past the goal")
            kpis[name] = Target(name, direction, goal, trouble, str(spec.get("source", "")))
        out.append(TargetSet(start, end, kpis))
    if not out:
        raise ValueError("kpi_targets.yaml needs at least one targets entry")
    return tuple(out)


def measurements(data: Mapping[str, Any]) -> tuple[Measurement, ...]:
    """Read ``measurement`` of reporting.yaml."""
    out = []
    for i, raw in enumerate(data.get("measurement") or []):
        where = f"measurement[{i}]"
        start, end = effective_span(raw, file="reporting.yaml", where=where)
        buckets = _buckets(raw.get("aging_buckets") or [], f"{where}.aging_buckets")
        out.append(Measurement(
            start, end, buckets, int(raw["over_days"]), int(raw["days_in_ar_window_days"]),
            frozenset(str(c) for c in raw.get("coding_categories") or []),
            frozenset(str(c) for c in raw.get("clean_first_outcomes") or ["paid"]), int(raw["episode_gap_days"]),
            int(raw["eligibility_verified_within_days"])))
    if not out:
        raise ValueError("reporting.yaml needs at least one measurement entry")
    return tuple(out)


def _buckets(raw: Sequence[Mapping[str, Any]], where: str) -> tuple[AgingBucket, ...]:
    buckets = tuple(AgingBucket(str(b["label"]), int(b["from_days"]),
                                None if b.get("to_days") is None else int(b["to_days"])) for b in raw)
    if not buckets or buckets[0].from_days != 0:
        raise ValueError(f"{where} must start at 0 days")
    for before, after in zip(buckets, buckets[1:], strict=False):
        if before.to_days is None or after.from_days != before.to_days + 1:
            raise ValueError(f"{where}: {after.label} must start the day after {before.label} ends")
    if buckets[-1].to_days is not None:
        raise ValueError(f"{where}: the last bucket must be open-ended")
    return buckets
