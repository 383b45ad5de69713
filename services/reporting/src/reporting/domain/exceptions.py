"""Refusals of the reporting domain; ``bootstrap.DOMAIN_ERRORS`` maps each to problem+json once."""

from __future__ import annotations

from datetime import date


class ReportingError(Exception):
    """Base of the refusals below."""


class RulesNotInForce(ReportingError):
    """No rules entry covers the day asked about (a report for 1901, say)."""

    def __init__(self, file: str, day: date) -> None:
        super().__init__(f"{file} has no entry in force on {day.isoformat()}")
        self.file = file
        self.day = day


class BadFilter(ReportingError):
    """A report asked for with filters that cannot be met together (a period that ends before it starts ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
