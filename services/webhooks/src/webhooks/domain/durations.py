"""Durations as rules files write them: ``5s``, ``30m``, ``2h``, ``3d``."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.fullmatch(str(text).strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 5s, 30m, 2h or 3d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
