"""The practice's dates: every date eligibility takes from 'now' (the day a denial is noted, a re-check's service
date, the date a coverage question means when it names none, the nightly batch's schedule in force) is the local
date in the time zone of the nightly batch rules in force (``rules/nightly_batch.yaml``, America/New_York), never
the server's or UTC's: at 21:00 in New York it is still today there, tomorrow in UTC. 'Now' itself comes from
the composition root's clock (``rcm_shared.clock``); the pure domain takes these dates as parameters."""

from __future__ import annotations

from datetime import date, datetime

from rcm_shared.clock import time_zone
from rcm_shared.rules import RulesError

from eligibility.domain.nightly_batch import NightlyBatchRules, NightlyBatchSchedule


def check_time_zones(rules: NightlyBatchRules, file: str = "nightly_batch.yaml") -> None:
    """At start-up: every zone the rules name must be known to this server's tz database."""
    for name in sorted(rules.time_zones()):
        try:
            time_zone(name)
        except (LookupError, ValueError):  # ZoneInfoNotFoundError is a KeyError
            raise RulesError(file, "schedules.time_zone", f"{name!r} is not a time zone this server knows "
                             "(install tzdata, or name another zone)") from None


def schedule_at(rules: NightlyBatchRules, now: datetime) -> NightlyBatchSchedule:
    """The nightly batch rules in force on the practice's date at ``now``."""
    return rules.in_force_at(now, time_zone)


def local_now(rules: NightlyBatchRules, now: datetime) -> datetime:
    return rules.local_now(now, time_zone)


def today(rules: NightlyBatchRules, now: datetime) -> date:
    """The practice's date at ``now``."""
    return local_now(rules, now).date()
