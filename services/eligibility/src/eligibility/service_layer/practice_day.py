"""The practice's clock: every date eligibility takes from 'now' (the day a denial is noted, a re-check's service
date, the date a coverage question means when it names none, the nightly batch's schedule in force) is the local
date in the practice's time zone, the one of the nightly batch rules in force (``rules/nightly_batch.json``,
America/New_York), never the server's or UTC's date: at 21:00 in New York it is still today there, tomorrow in UTC.
The pure domain takes these dates as parameters."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eligibility.domain.nightly_batch import NightlyBatchSchedule
from eligibility.service_layer import handlers

log = logging.getLogger(__name__)


class UnknownTimeZone(RuntimeError):
    """The rules name a time zone this server's tz database does not know."""


@cache
def zone(name: str) -> tzinfo:
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        message = (f"nightly batch time zone {name!r} is unknown here: install the tz database (tzdata) or name "
                   "another zone in rules/nightly_batch.json")
        log.error(message)  # the periodic job's own log line names only the exception type
        raise UnknownTimeZone(message) from exc


def schedule_in_force(now: datetime) -> NightlyBatchSchedule:
    """The nightly batch rules in force on the practice's date at ``now``."""
    return handlers.nightly_batch_rules().in_force_at(now, zone)


def local_now(now: datetime) -> datetime:
    return handlers.nightly_batch_rules().local_now(now, zone)


def today(now: datetime) -> date:
    """The practice's date at ``now`` (the composition root's clock says what now is)."""
    return local_now(now).date()
