"""What an 835 (005010X221A1) says, as slotted classes built by :mod:`remittance.edi.era_reader`.

The reader streams three kinds of records per ST transaction, in this order:

1. :class:`RemittanceHeader` (BPR, TRN, payer N1*PR loop, payee N1*PE loop, header REF/DTM),
2. one :class:`ClaimPayment` per CLP (claim-level CAS, NM1s, dates... and its :class:`ServiceLine` s),
3. :class:`RemittanceSummary` (PLB provider adjustments, totals and the balancing verdict).

Money is ``Decimal`` exactly as written in the file (X12 amounts carry at most two decimals); codes and
identifiers stay strings. Balancing mismatches are reported as :class:`BalanceIssue` s, never raised: an
unbalanced 835 is still a real payment that must be posted and worked.

Claims and lines are *lazy*: they keep the raw elements of their segments and parse a field when it is
first read (speed: a 100 MB ERA is read at well over 100,000 claims per second). A malformed field that
balancing did not need therefore raises :class:`rcm_shared.x12.X12SyntaxError` (naming segment number,
id and element) when read; ``iter_remittance(..., strict=True)`` reads every field before yielding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from rcm_shared.x12 import Delimiters, X12SyntaxError

ZERO = Decimal("0")
_ONE = Decimal(1)

# CLP02 claim status codes (005010X221A1).
PROCESSED_STATUSES = frozenset({"1", "2", "3", "19", "20", "21"})
FORWARDED_STATUSES = frozenset({"19", "20", "21"})
DENIED_STATUS = "4"
REVERSAL_STATUS = "22"
_PAYER_SEQUENCE = {"1": 1, "2": 2, "3": 3, "19": 1, "20": 2, "21": 3}

BalanceRule = Literal["line", "claim", "transaction"]

# One raw segment kept for lazy parsing: (segment number, text without terminator).
RawSegment = tuple[int, str]
# A service line as the reader collects it: [SVC number, SVC elements, CAS segments, other segments, CAS total].
RawLine = list[Any]


class Remittance835Error(X12SyntaxError):
    """Well-tokenized X12 that is not a usable 835: wrong loop order, counts, missing BPR/TRN/CLP fields."""


def parse_amount(elements: list[str], index: int, number: int, required: bool = True) -> Decimal | None:
    """Decimal of element ``index``; X12SyntaxError naming the element when absent (if required) or not a number."""
    text = elements[index] if index < len(elements) else ""
    if not text:
        if required:
            raise X12SyntaxError("required amount missing", segment_number=number, segment_id=elements[0],
                                 element=index)
        return None
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise X12SyntaxError("not a decimal number", segment_number=number, segment_id=elements[0],
                             element=index) from None
    if not value.is_finite():
        raise X12SyntaxError("not a finite number", segment_number=number, segment_id=elements[0], element=index)
    return value


def required_amount(elements: list[str], index: int, number: int) -> Decimal:
    value = parse_amount(elements, index, number)
    assert value is not None  # required=True never returns None
    return value


_DATE_CACHE: dict[str, date] = {}


def parse_date(elements: list[str], index: int, number: int) -> date | None:
    """CCYYMMDD element as a date (None when empty); X12SyntaxError when not a calendar date."""
    text = elements[index] if index < len(elements) else ""
    if not text:
        return None
    cached = _DATE_CACHE.get(text)
    if cached is not None:
        return cached
    try:
        if len(text) != 8 or not text.isdigit():
            raise ValueError(text)
        value = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise X12SyntaxError("not a CCYYMMDD date", segment_number=number, segment_id=elements[0],
                             element=index) from None
    if len(_DATE_CACHE) < 4096:  # dates repeat a lot inside one ERA; keep the cache bounded
        _DATE_CACHE[text] = value
    return value


_T = TypeVar("_T")


class _Kept(Generic[_T]):
    """A parsed field that a materialized claim or line keeps (``_memo``): strict reading parses every field
    once, and posting, classification and the underpayment check then read them without parsing again.
    Lists and dicts are handed out as copies, so a caller that extends one does not change the record."""

    def __init__(self, parse: Callable[[Any], _T]) -> None:
        self.parse = parse
        self.name: str = parse.__name__
        self.__doc__ = parse.__doc__

    def __get__(self, obj: Any, owner: Any = None) -> _T:
        value = self.peek(obj)
        if isinstance(value, (list, dict)):
            return value.copy()  # type: ignore[return-value]
        return value

    def peek(self, obj: Any) -> _T:
        """The kept value itself, not a copy: for this module's own read-only lookups (``allowed``,
        ``service_date``...), which posting makes for every line of an ERA."""
        memo = obj._memo
        if memo is None:
            return self.parse(obj)
        try:
            value: _T = memo[self.name]
        except KeyError:
            value = memo[self.name] = self.parse(obj)
        return value


# What a kept field holds when the segment is absent: one shared instance (``_Kept`` hands out copies, so
# nobody can change it), instead of an empty list or dict per line and claim that the collector tracks.
_NO_ITEMS: list[Any] = []
_NO_FIELDS: dict[str, Any] = {}


def element(elements: list[str], index: int) -> str:
    return elements[index] if index < len(elements) else ""


class Adjustment(NamedTuple):
    """One CAS reason/amount(/quantity) triple; ``group`` is CO, PR, OA or PI, ``reason`` a CARC."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None


class ProcedureCode(NamedTuple):
    """A composite procedure (SVC01 / SVC06): qualifier (HC, AD, ER, HP, IV, N4, NU...), code, modifiers."""

    qualifier: str
    code: str
    modifiers: tuple[str, ...]
    description: str

    def as_text(self) -> str:
        return ":".join((self.qualifier, self.code, *self.modifiers))


class PersonName(NamedTuple):
    """An NM1 in loop 2100: QC patient, IL insured, 74 corrected, 82 rendering, TT crossover, PR priority payer."""

    entity: str
    entity_type: str
    last_name: str
    first_name: str
    middle_name: str
    id_qualifier: str
    identifier: str


_PROCEDURE_CACHE: dict[tuple[str, str], ProcedureCode] = {}


def parse_procedure(text: str, component: str, number: int, index: int = 1) -> ProcedureCode:
    """Split ``HC:90837:95:GT`` (with the declared component separator) into a ProcedureCode."""
    key = (text, component)
    cached = _PROCEDURE_CACHE.get(key)
    if cached is not None:
        return cached
    parts = text.split(component)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise X12SyntaxError("composite procedure needs a qualifier and a code", segment_number=number,
                             segment_id="SVC", element=index)
    modifiers = tuple(m for m in parts[2:6] if m)
    value = ProcedureCode(parts[0], parts[1] if len(parts) > 1 else "", modifiers, parts[6] if len(parts) > 6 else "")
    if len(_PROCEDURE_CACHE) < 4096:  # a practice bills few distinct codes; bounded so memory stays flat
        _PROCEDURE_CACHE[key] = value
    return value


def parse_adjustments(cas_segments: list[tuple[int, list[str]]]) -> list[Adjustment]:
    """Expand CAS segments (group + up to six reason/amount/quantity triples) into Adjustments."""
    result: list[Adjustment] = []
    for number, el in cas_segments:
        group = el[1]
        for i in range(2, min(len(el), 20), 3):
            if not el[i]:
                continue
            amount = required_amount(el, i + 1, number)
            result.append(Adjustment(group, el[i], amount, parse_amount(el, i + 2, number, required=False)))
    return result


def _qualified_amounts(raw: list[RawSegment], seg_id: str, separator: str) -> dict[str, Decimal]:
    result: dict[str, Decimal] = {}
    prefix = seg_id + separator
    for number, text in raw:
        if text.startswith(prefix):
            el = text.split(separator)
            result[element(el, 1)] = required_amount(el, 2, number)
    return result


def _qualified_dates(raw: list[RawSegment], separator: str) -> dict[str, date]:
    result: dict[str, date] = {}
    prefix = "DTM" + separator
    for number, text in raw:
        if text.startswith(prefix):
            el = text.split(separator)
            value = parse_date(el, 2, number)
            if value is None:
                raise X12SyntaxError("required date missing", segment_number=number, segment_id="DTM", element=2)
            result[element(el, 1)] = value
    return result


def _references(raw: list[RawSegment], separator: str) -> dict[str, str]:
    result: dict[str, str] = {}
    prefix = "REF" + separator
    for _number, text in raw:
        if text.startswith(prefix):
            el = text.split(separator)
            result[element(el, 1)] = element(el, 2)
    return result


class ServiceLine:
    """One SVC loop (2110), parsed lazily. ``ordinal`` is 1-based within its claim.

    ``adjustment_total`` (sum of this line's CAS amounts) is computed while reading, for balancing.
    After :meth:`materialize` (strict reading) every field is kept parsed: posting reads them many times.
    """

    __slots__ = ("_cas", "_delimiters", "_extra", "_memo", "_svc", "adjustment_total", "number", "ordinal")

    def __init__(self, ordinal: int, raw: RawLine, delimiters: Delimiters) -> None:
        self.ordinal = ordinal
        self.number: int = raw[0]
        self._svc: list[str] = raw[1]
        self._cas: list[tuple[int, list[str]]] | None = raw[2]
        self._extra: list[RawSegment] | None = raw[3]
        self.adjustment_total: Decimal = raw[4]
        self._delimiters = delimiters
        self._memo: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"ServiceLine(ordinal={self.ordinal}, procedure={self.procedure.as_text()!r}, charge={self.charge})"

    @property
    def procedure(self) -> ProcedureCode:
        return parse_procedure(self._svc[1], self._delimiters.component, self.number)

    @_Kept
    def charge(self) -> Decimal:
        return required_amount(self._svc, 2, self.number)

    @_Kept
    def paid(self) -> Decimal:
        return required_amount(self._svc, 3, self.number)

    @property
    def revenue_code(self) -> str:
        return element(self._svc, 4)

    @_Kept
    def units_paid(self) -> Decimal:
        """SVC05; the TR3 says an absent value means one unit."""
        value = parse_amount(self._svc, 5, self.number, required=False)
        return _ONE if value is None else value

    @_Kept
    def original_procedure(self) -> ProcedureCode | None:
        """SVC06: the procedure as submitted when the payer adjudicated a different one."""
        text = element(self._svc, 6)
        return parse_procedure(text, self._delimiters.component, self.number, 6) if text else None

    @_Kept
    def original_units(self) -> Decimal | None:
        return parse_amount(self._svc, 7, self.number, required=False)

    @_Kept
    def adjustments(self) -> list[Adjustment]:
        return parse_adjustments(self._cas) if self._cas else []

    @property
    def has_adjustments(self) -> bool:
        return bool(self._cas)

    @_Kept
    def dates(self) -> dict[str, date]:
        """DTM by qualifier: 472 service date, 150/151 service period start/end."""
        return _qualified_dates(self._extra, self._delimiters.element) if self._extra else {}

    @_Kept
    def amounts(self) -> dict[str, Decimal]:
        """AMT by qualifier: B6 allowed, KH late filing reduction, T/T2 tax, ZK.. ZO."""
        return _qualified_amounts(self._extra, "AMT", self._delimiters.element) if self._extra else {}

    @_Kept
    def quantities(self) -> dict[str, Decimal]:
        return _qualified_amounts(self._extra, "QTY", self._delimiters.element) if self._extra else {}

    @_Kept
    def references(self) -> dict[str, str]:
        """REF by qualifier: 6R line item control number, LU location, 0K policy form, HPI..."""
        return _references(self._extra, self._delimiters.element) if self._extra else {}

    @_Kept
    def remarks(self) -> list[str]:
        """LQ*HE remittance advice remark codes (RARC)."""
        if not self._extra:
            return []
        prefix = "LQ" + self._delimiters.element + "HE" + self._delimiters.element
        return [text[len(prefix):] for _n, text in self._extra if text.startswith(prefix)]

    @property
    def allowed(self) -> Decimal | None:
        """AMT*B6 when the payer sent it."""
        return _LINE_AMOUNTS.peek(self).get("B6")

    @property
    def service_date(self) -> date | None:
        dates = _LINE_DATES.peek(self)
        return dates.get("472") or dates.get("150")

    @property
    def line_item_control_number(self) -> str | None:
        """REF*6R: the line id we sent in the 837, the surest way to match a line back."""
        return _LINE_REFERENCES.peek(self).get("6R")

    def adjustment_sum(self, group: str) -> Decimal:
        return sum((a.amount for a in _LINE_ADJUSTMENTS.peek(self) if a.group == group), ZERO)

    def materialize(self) -> None:
        """Parse every field now (raises X12SyntaxError for the first malformed one) and keep them."""
        _ = self.procedure
        if self._cas is None and self._extra is None and len(self._svc) < 6:
            # The usual line (SVC01-05, nothing else): the fields _keep would parse, in its order.
            svc, number = self._svc, self.number
            charge = required_amount(svc, 2, number)
            paid = required_amount(svc, 3, number)
            units = parse_amount(svc, 5, number, required=False)
            self._memo = {"charge": charge, "paid": paid, "units_paid": _ONE if units is None else units,
                          "original_procedure": None, "original_units": None, "adjustments": _NO_ITEMS,
                          "dates": _NO_FIELDS, "amounts": _NO_FIELDS, "quantities": _NO_FIELDS,
                          "references": _NO_FIELDS, "remarks": _NO_ITEMS}
            return
        _keep(self, _LINE_FIELDS)


class ClaimPayment:
    """One CLP loop (2100): the payer's adjudication of one of our claims, parsed lazily.

    ``ordinal`` is 1-based within the transaction (ST02 = ``transaction_control_number``); ``number`` is
    the CLP's segment number in the interchange. ``balance_issues`` holds the line and claim balancing
    mismatches found while reading.
    """

    __slots__ = ("_cas", "_clp", "_delimiters", "_extra", "_line_objects", "_memo", "_raw_lines", "adjustment_total",
                 "balance_issues", "header_number", "number", "ordinal", "transaction_control_number")

    def __init__(self, transaction_control_number: str, ordinal: int, header_number: str, number: int,
                 clp: list[str], delimiters: Delimiters) -> None:
        self.transaction_control_number = transaction_control_number
        self.ordinal = ordinal
        self.header_number = header_number
        self.number = number
        self._clp = clp
        self._delimiters = delimiters
        self._cas: list[tuple[int, list[str]]] | None = None
        self._extra: list[RawSegment] | None = None
        self._raw_lines: list[RawLine] = []
        self._line_objects: list[ServiceLine] | None = None
        self.adjustment_total = ZERO
        self.balance_issues: list[BalanceIssue] = []
        self._memo: dict[str, Any] | None = None  # every field parsed, once the reader has finished the claim

    @property
    def lines(self) -> list[ServiceLine]:
        """The service lines (built on first read, then cached)."""
        if self._line_objects is None:
            d = self._delimiters
            self._line_objects = [ServiceLine(i, raw, d) for i, raw in enumerate(self._raw_lines, 1)]
        return self._line_objects

    @property
    def line_count(self) -> int:
        return len(self._raw_lines)

    def __repr__(self) -> str:
        return (f"ClaimPayment(ordinal={self.ordinal}, status={self.status_code!r}, charge={self.charge}, "
                f"paid={self.paid}, lines={len(self.lines)})")

    @property
    def patient_control_number(self) -> str:
        """CLP01: the claim id we sent as CLM01."""
        return self._clp[1]

    @property
    def status_code(self) -> str:
        return self._clp[2]

    @_Kept
    def charge(self) -> Decimal:
        return required_amount(self._clp, 3, self.number)

    @_Kept
    def paid(self) -> Decimal:
        return required_amount(self._clp, 4, self.number)

    @_Kept
    def patient_responsibility(self) -> Decimal | None:
        return parse_amount(self._clp, 5, self.number, required=False)

    @property
    def claim_filing_indicator(self) -> str:
        return element(self._clp, 6)

    @property
    def payer_claim_number(self) -> str:
        return element(self._clp, 7)

    @property
    def facility_type(self) -> str:
        return element(self._clp, 8)

    @property
    def frequency_code(self) -> str:
        return element(self._clp, 9)

    @property
    def drg_code(self) -> str:
        return element(self._clp, 11)

    @property
    def is_reversal(self) -> bool:
        return self._clp[2] == REVERSAL_STATUS

    @property
    def is_denied(self) -> bool:
        return self._clp[2] == DENIED_STATUS

    @property
    def is_forwarded(self) -> bool:
        return self._clp[2] in FORWARDED_STATUSES

    @property
    def payer_sequence(self) -> int | None:
        """1 primary, 2 secondary, 3 tertiary (forwarded statuses included); None for 4 and 22."""
        return _PAYER_SEQUENCE.get(self._clp[2])

    @property
    def is_balanced(self) -> bool:
        return not self.balance_issues

    @_Kept
    def adjustments(self) -> list[Adjustment]:
        """Claim-level CAS only; see :attr:`all_adjustments`."""
        return parse_adjustments(self._cas) if self._cas else []

    @_Kept
    def all_adjustments(self) -> list[Adjustment]:
        """Claim-level then line-level adjustments."""
        result = self.adjustments
        for line in self.lines:
            if line.has_adjustments:
                result.extend(line.adjustments)
        return result

    def adjustment_sum(self, group: str) -> Decimal:
        return sum((a.amount for a in _CLAIM_ALL_ADJUSTMENTS.peek(self) if a.group == group), ZERO)

    @_Kept
    def names(self) -> dict[str, PersonName]:
        """NM1 by entity code: QC patient, IL insured, 74 corrected, 82 rendering, TT crossover, PR, GB."""
        result: dict[str, PersonName] = {}
        if self._extra:
            sep = self._delimiters.element
            prefix = "NM1" + sep
            for _number, text in self._extra:
                if text.startswith(prefix):
                    el = text.split(sep)
                    result[el[1]] = PersonName(el[1], element(el, 2), element(el, 3), element(el, 4),
                                               element(el, 5), element(el, 8), element(el, 9))
        return result

    @property
    def patient(self) -> PersonName | None:
        return _CLAIM_NAMES.peek(self).get("QC")

    @_Kept
    def dates(self) -> dict[str, date]:
        """DTM by qualifier: 232/233 statement period, 050 received, 036 coverage expiration."""
        return _qualified_dates(self._extra, self._delimiters.element) if self._extra else {}

    @_Kept
    def amounts(self) -> dict[str, Decimal]:
        """AMT by qualifier: AU coverage amount, I interest, F5 patient paid, D8 discount, DY per diem..."""
        return _qualified_amounts(self._extra, "AMT", self._delimiters.element) if self._extra else {}

    @_Kept
    def quantities(self) -> dict[str, Decimal]:
        return _qualified_amounts(self._extra, "QTY", self._delimiters.element) if self._extra else {}

    @_Kept
    def references(self) -> dict[str, str]:
        """REF by qualifier: 1L group, 1W member, G1 prior authorization, F8 original reference, EA..."""
        return _references(self._extra, self._delimiters.element) if self._extra else {}

    def _adjudication(self, seg_id: str) -> list[str] | None:
        if self._extra:
            sep = self._delimiters.element
            prefix = seg_id + sep
            for _number, text in self._extra:
                if text.startswith(prefix):
                    return text.split(sep)
        return None

    @property
    def inpatient_adjudication(self) -> list[str] | None:
        """MIA elements (index 1 = MIA01), when sent."""
        return self._adjudication("MIA")

    @property
    def outpatient_adjudication(self) -> list[str] | None:
        """MOA elements (index 1 = MOA01), when sent."""
        return self._adjudication("MOA")

    @_Kept
    def remarks(self) -> list[str]:
        """Claim-level RARC: MOA03-07 and MIA05, MIA20-24."""
        codes: list[str] = []
        moa = self.outpatient_adjudication
        if moa:
            codes.extend(c for c in moa[3:8] if c)
        mia = self.inpatient_adjudication
        if mia:
            codes.extend(c for c in [element(mia, 5), *mia[20:25]] if c)
        return codes

    def materialize(self) -> None:
        """Parse every field now (raises X12SyntaxError for the first malformed one) and keep them."""
        for line in self.lines:
            line.materialize()
        _keep(self, _CLAIM_FIELDS)


def _keep(record: ServiceLine | ClaimPayment, fields: tuple[_Kept[Any], ...]) -> None:
    """Parse ``fields`` in order into the record's memo (straight through each parser: this runs once per
    claim and line of every ERA); nothing is kept when one of them is malformed."""
    memo: dict[str, Any] = {}
    record._memo = memo  # later parsers read the earlier fields from it
    try:
        for kept in fields:
            value = kept.parse(record)
            if not value and type(value) is list:
                value = _NO_ITEMS
            memo[kept.name] = value
    except BaseException:
        record._memo = None
        raise


_LINE_FIELDS: tuple[_Kept[Any], ...] = tuple(ServiceLine.__dict__[name] for name in (
    "charge", "paid", "units_paid", "original_procedure", "original_units", "adjustments", "dates", "amounts",
    "quantities", "references", "remarks"))
_CLAIM_FIELDS: tuple[_Kept[Any], ...] = tuple(ClaimPayment.__dict__[name] for name in (
    "charge", "paid", "patient_responsibility", "adjustments", "all_adjustments", "names", "dates", "amounts",
    "quantities", "references", "remarks"))
_LINE_AMOUNTS: _Kept[dict[str, Decimal]] = ServiceLine.__dict__["amounts"]
_LINE_DATES: _Kept[dict[str, date]] = ServiceLine.__dict__["dates"]
_LINE_REFERENCES: _Kept[dict[str, str]] = ServiceLine.__dict__["references"]
_LINE_ADJUSTMENTS: _Kept[list[Adjustment]] = ServiceLine.__dict__["adjustments"]
_CLAIM_ALL_ADJUSTMENTS: _Kept[list[Adjustment]] = ClaimPayment.__dict__["all_adjustments"]
_CLAIM_NAMES: _Kept[dict[str, PersonName]] = ClaimPayment.__dict__["names"]


@dataclass(frozen=True, slots=True)
class BalanceIssue:
    """One failed balancing rule, to the cent; ``expected`` is what the rule derives, ``actual`` what the file sums."""

    rule: BalanceRule
    transaction_control_number: str
    claim_ordinal: int | None
    patient_control_number: str | None
    line_ordinal: int | None
    expected: Decimal
    actual: Decimal

    @property
    def difference(self) -> Decimal:
        return self.actual - self.expected

    def describe(self) -> str:
        where = f"transaction {self.transaction_control_number}"
        if self.claim_ordinal is not None:
            where += f" claim {self.claim_ordinal} ({self.patient_control_number})"
        if self.line_ordinal is not None:
            where += f" line {self.line_ordinal}"
        formula = {
            "line": "SVC02 - SVC03 = sum of line CAS",
            "claim": "CLP03 - CLP04 = sum of claim and line CAS",
            "transaction": "BPR02 = sum CLP04 - sum PLB",
        }[self.rule]
        return f"{self.rule} rule ({formula}) fails at {where}: expected {self.expected}, actual {self.actual}"


@dataclass(frozen=True, slots=True)
class Contact:
    """A PER segment: function (CX claims, BL technical, IC web site) and up to three channels."""

    function: str
    name: str
    channels: tuple[tuple[str, str], ...]


@dataclass(slots=True)
class Party:
    """An N1 loop (1000A payer / 1000B payee) with its address, references and contacts."""

    entity: str
    name: str
    id_qualifier: str
    identifier: str
    address_lines: list[str]
    city: str
    state: str
    postal_code: str
    country: str
    references: dict[str, str]
    contacts: list[Contact]

    @property
    def npi(self) -> str | None:
        """The payee NPI (N103 = XX), or None."""
        return self.identifier if self.id_qualifier == "XX" else None


@dataclass(slots=True)
class RemittanceHeader:
    """BPR / TRN / parties of one ST transaction; yielded before its claims."""

    interchange_control_number: str
    sender_id: str
    receiver_id: str
    group_control_number: str
    version: str
    transaction_control_number: str
    number: int
    handling_code: str = ""
    total_paid: Decimal = ZERO
    credit_debit: str = "C"
    payment_method: str = ""
    payment_format: str = ""
    payment_date: date | None = None
    trace_type: str = ""
    trace_number: str = ""
    payer_identifier: str = ""
    originating_company_supplemental: str = ""
    currency: str = ""
    references: dict[str, str] | None = None
    production_date: date | None = None
    payer: Party | None = None
    payee: Party | None = None

    @property
    def signed_total(self) -> Decimal:
        """BPR02 with BPR03 applied: a debit (D) is money the provider owes the payer."""
        return -self.total_paid if self.credit_debit == "D" else self.total_paid


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One PLB reason/amount pair. Positive amounts reduce the payment (recoveries), negative add (L6 interest)."""

    provider_identifier: str
    fiscal_period_date: date | None
    reason: str
    reference: str
    amount: Decimal


@dataclass(slots=True)
class RemittanceSummary:
    """End of one ST transaction: PLB, totals and every balancing issue found in it (claims included)."""

    transaction_control_number: str
    claim_count: int
    line_count: int
    total_charge: Decimal
    total_claim_paid: Decimal
    provider_adjustments: list[ProviderAdjustment]
    provider_adjustment_total: Decimal
    total_paid: Decimal
    balance_issues: list[BalanceIssue]

    @property
    def is_balanced(self) -> bool:
        return not self.balance_issues


RemittanceRecord = RemittanceHeader | ClaimPayment | RemittanceSummary


@dataclass(slots=True)
class Remittance:
    """One whole ST transaction gathered in memory (small files, the CLI, tests)."""

    header: RemittanceHeader
    claims: list[ClaimPayment]
    summary: RemittanceSummary

    @property
    def is_balanced(self) -> bool:
        return self.summary.is_balanced
