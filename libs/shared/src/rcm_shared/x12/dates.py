"""X12 dates and times, one way everywhere: D8 (CCYYMMDD), RD8 (CCYYMMDD-CCYYMMDD), TM (HHMM).

Writers format with :func:`d8` / :func:`rd8` / :func:`tm`; readers parse with :func:`read_d8` /
:func:`read_rd8`, which raise :class:`X12SyntaxError` naming where the bad value was (never the value: it may
be a birth date)."""

from __future__ import annotations

from datetime import date, datetime, time

from rcm_shared.x12.tokens import X12SyntaxError

_CACHE: dict[str, date] = {}
_CACHE_LIMIT = 4096  # dates repeat a lot inside one file; keep the cache bounded


def d8(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def rd8(start: date, end: date) -> str:
    return f"{d8(start)}-{d8(end)}"


def tm(moment: datetime | time) -> str:
    return f"{moment.hour:02d}{moment.minute:02d}"


def parse_d8(raw: str) -> date:
    """CCYYMMDD as a date; ValueError when it is not a calendar date."""
    cached = _CACHE.get(raw)
    if cached is not None:
        return cached
    if len(raw) != 8 or not (raw.isascii() and raw.isdigit()):
        raise ValueError("not CCYYMMDD")
    value = date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    if len(_CACHE) < _CACHE_LIMIT:
        _CACHE[raw] = value
    return value


def read_d8(raw: str, *, segment_number: int | None = None, segment_id: str | None = None,
            element: int | None = None) -> date:
    try:
        return parse_d8(raw)
    except ValueError:
        raise X12SyntaxError("not a CCYYMMDD date", segment_number=segment_number, segment_id=segment_id,
                             element=element) from None


def read_rd8(raw: str, *, segment_number: int | None = None, segment_id: str | None = None,
             element: int | None = None) -> tuple[date, date]:
    start, sep, end = raw.partition("-")
    if not sep:
        raise X12SyntaxError("RD8 needs a range CCYYMMDD-CCYYMMDD", segment_number=segment_number,
                             segment_id=segment_id, element=element)
    first = read_d8(start, segment_number=segment_number, segment_id=segment_id, element=element)
    last = read_d8(end, segment_number=segment_number, segment_id=segment_id, element=element)
    if last < first:
        raise X12SyntaxError("RD8 range ends before it starts", segment_number=segment_number,
                             segment_id=segment_id, element=element)
    return first, last


def read_period(qualifier: str, raw: str, *, segment_number: int | None = None, segment_id: str | None = None,
                element: int | None = None) -> tuple[date, date | None]:
    """A DTP-style date by its format qualifier: D8 (one day, no end) or RD8 (a range)."""
    if qualifier == "D8":
        return read_d8(raw, segment_number=segment_number, segment_id=segment_id, element=element), None
    if qualifier == "RD8":
        return read_rd8(raw, segment_number=segment_number, segment_id=segment_id, element=element)
    raise X12SyntaxError("date format qualifier must be D8 or RD8", segment_number=segment_number,
                         segment_id=segment_id, element=element - 1 if element else None)
