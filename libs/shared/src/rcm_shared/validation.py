"""Input syntax every service refuses the same way: money text, plausible dates, procedure codes, X12-safe
text, spreadsheet formulas. Pure functions (no framework), so a domain parser (a CSV import) and the HTTP
schemas (``rcm_shared.http.schemas``) apply one rule. Messages name what is wrong, never the value (PHI)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

# Integer cents must fit the databases' BIGINT columns with room to add; 10 digits before the point is
# ten billion dollars, far past any practice's single amount.
MONEY_DIGITS = 10
MONEY_PATTERN = rf"^-?[0-9]{{1,{MONEY_DIGITS}}}(\.[0-9]{{1,2}})?$"
UNSIGNED_MONEY_PATTERN = rf"^[0-9]{{1,{MONEY_DIGITS}}}(\.[0-9]{{1,2}})?$"
_MONEY = re.compile(MONEY_PATTERN)

# Earliest and latest dates a person or a payer could mean: a birth before 1900 or a service in 2999 is a typo.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2099, 12, 31)
# How far ahead a date of service can be: booked visits and authorization windows, never decades.
SERVICE_HORIZON = timedelta(days=2 * 366)

# CPT (five digits; category II ends in F, category III in T, PLA in U) or HCPCS level II (a letter, four digits).
PROCEDURE_CODE_PATTERN = r"^(?:[0-9]{4}[0-9FTU]|[A-V][0-9]{4})$"
# ICD-10-CM: a letter, a digit, a character, then up to four more after an optional dot.
DIAGNOSIS_CODE_PATTERN = r"^[A-Za-z][0-9][0-9A-Za-z](\.?[0-9A-Za-z]{1,4})?$"
# X12 delimiters the writers declare (element, component, repetition, segment) and control characters: one in
# an element would shift every element after it, or split the segment.
X12_RESERVED = frozenset("*:^~") | frozenset(chr(c) for c in range(0x20)) | {"\x7f"}
CONTROL_CHARACTERS = frozenset(chr(c) for c in range(0x20)) | {"\x7f"}
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def parse_money(value: object) -> Decimal:
    """Money as a decimal string (``"125.00"``) or a whole JSON integer; never a float (``125.1`` is
    already binary-rounded when it arrives), an exponent (``1e3``), NaN or more than two decimals."""
    if isinstance(value, bool | float):
        raise ValueError('must be a decimal string such as "125.00", not a JSON number with a fraction')
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("must be a finite amount")
        text = format(value, "f")
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValueError('must be a decimal string such as "125.00"')
    if not _MONEY.fullmatch(text):
        raise ValueError(f"must be digits with at most two decimals (no exponent), at most {MONEY_DIGITS} "
                         "digits before the point")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # unreachable after the pattern, kept as a guard
        raise ValueError("is not an amount") from exc


def check_date_between(value: date, earliest: date, latest: date) -> date:
    if not earliest <= value <= latest:
        raise ValueError(f"must be between {earliest.isoformat()} and {latest.isoformat()}")
    return value


def check_plausible_date(value: date) -> date:
    return check_date_between(value, EARLIEST_DATE, LATEST_DATE)


def check_birth_date(value: date) -> date:
    # A day of slack: "today" in the patient's zone can be tomorrow on this server.
    return check_date_between(value, EARLIEST_DATE, date.today() + timedelta(days=1))


def check_date_of_service(value: date) -> date:
    return check_date_between(value, EARLIEST_DATE, date.today() + SERVICE_HORIZON)


def check_no_control_characters(value: str) -> str:
    if any(ch in CONTROL_CHARACTERS for ch in value):
        raise ValueError("must not hold control characters")
    return value


def check_x12_text(value: str) -> str:
    """Refused, never silently altered: the sender must know the value they sent is not the one we would file."""
    if any(ch in X12_RESERVED for ch in value):
        raise ValueError("must not hold X12 delimiters (* : ^ ~) or control characters")
    return value


def check_not_formula(value: str) -> str:
    if value.startswith(FORMULA_PREFIXES):
        raise ValueError("must not start with = + - @ or a tab (a spreadsheet would run it as a formula)")
    return value

