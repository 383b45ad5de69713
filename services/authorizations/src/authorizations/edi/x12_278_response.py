"""Write (the sandbox UMO) and read (the service) the X12 278 services review *response* (005010X217, BHT02=11).

Layout written: BHT*0007*11, HL 20 (2000A UMO, NM1*X3, AAA), HL 21 (2000B requester, NM1*1P, AAA), HL 22
(2000C subscriber, NM1*IL, AAA, DMG), HL 23 when the request had a dependent (NM1*QC, AAA, DMG, INS); when any
of those carry an AAA the request was not reviewed and the response ends there (HL04=0). Otherwise HL EV
(2000E): TRN*2 (our trace echoed), AAA, UM (echo), HCR*<action>*<certification number>*<reason>, REF*BB
(previous authorization), REF*NT (administrative reference), DTP*AAH*RD8 (the certified period), HSD*VS
(visits approved), 2010EA NM1*SJ (echo) with its AAA; then per service HL SS (2000F): AAA, UM, HCR, DTP*472,
SV1 (echo), HSD*VS.

The reader accepts what payers send beyond that: the certified period from DTP*007/036 (certification
effective / expiration) when present, else DTP*AAH (event) or DTP*472 (service); TRN01=1 (the UMO's own trace)
next to our TRN01=2; HCR only per service (the event's action is then derived).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from authorizations.domain.model import AuthorizationRequest
from authorizations.domain.review import (
    MAX_UNITS,
    Rejection,
    ReviewResponse,
    ServiceOutcome,
    keepable,
    overall_action,
)
from authorizations.edi.x12_278 import IMPLEMENTATION, read_date
from rcm_shared.x12 import Segment, X12SyntaxError, detect_delimiters, iter_segments
from rcm_shared.x12.dates import d8, rd8, read_rd8, tm
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties
from rcm_shared.x12.writer import Composite, TransactionWriter, envelope

_BEFORE_EVENT = ("2000A", "2010A", "2010B", "2010C", "2010D")
_EVENT_PROVIDERS = frozenset({"71", "72", "73", "AAJ", "DD", "DK", "DN", "FA", "G3", "P3", "QB", "QV", "SJ"})


def _aaa(tx: TransactionWriter, rejections: tuple[Rejection, ...], loop: str) -> None:
    for r in rejections:
        if r.loop == loop:
            tx.segment("AAA", "Y" if r.valid else "N", "", r.reason_code, r.follow_up)


def build_278_response(request: AuthorizationRequest, response: ReviewResponse, control: ControlNumbers,
                       parties: InterchangeParties) -> str:
    """The UMO's 278 response to ``request``: one interchange, one transaction."""
    tx = TransactionWriter("278", f"{control.transaction:04d}", IMPLEMENTATION)
    created = control.created_at
    rejections = response.rejections
    stops = any(r.loop in _BEFORE_EVENT for r in rejections)
    tx.segment("BHT", "0007", "11", request.trace_number, d8(created.date()), tm(created))
    tx.segment("HL", "1", "", "20", "1")
    _aaa(tx, rejections, "2000A")
    tx.segment("NM1", "X3", "2", request.payer_name, "", "", "", "", "PI", request.payer_id)
    _aaa(tx, rejections, "2010A")
    tx.segment("HL", "2", "1", "21", "1")
    tx.segment("NM1", "1P", "2", request.requester_name, "", "", "", "", "XX", request.requester_npi)
    _aaa(tx, rejections, "2010B")
    tx.segment("HL", "3", "2", "22", "0" if stops and request.dependent is None else "1")
    tx.segment("NM1", "IL", "1", request.subscriber_last_name, request.subscriber_first_name, "", "", "", "MI",
               request.member_id)
    _aaa(tx, rejections, "2010C")
    if request.subscriber_birth_date is not None:
        tx.segment("DMG", "D8", d8(request.subscriber_birth_date), request.subscriber_gender)
    parent = 3
    if request.dependent is not None:
        patient = request.dependent
        tx.segment("HL", "4", "3", "23", "0" if stops else "1")
        tx.segment("NM1", "QC", "1", patient.last_name, patient.first_name)
        _aaa(tx, rejections, "2010D")
        if patient.birth_date is not None:
            tx.segment("DMG", "D8", d8(patient.birth_date), patient.gender)
        tx.segment("INS", "N", patient.relationship)
        parent = 4
    if not stops:
        _event(tx, request, response, parent)
    return envelope([tx.close()], functional_id="HI", version=IMPLEMENTATION, parties=parties, control=control)


def _event(tx: TransactionWriter, request: AuthorizationRequest, response: ReviewResponse, parent: int) -> None:
    event = parent + 1
    tx.segment("HL", str(event), str(parent), "EV", "1" if response.services else "0")
    tx.segment("TRN", "2", response.trace_number, response.trace_originator)
    _aaa(tx, response.rejections, "2000E")
    tx.segment("UM", "HS", request.certification_type, request.service_type,
               Composite((request.place_of_service, "B")))
    if response.action:
        tx.segment("HCR", response.action, response.certification_number, response.reason_code)
    if response.previous_authorization_number:
        tx.segment("REF", "BB", response.previous_authorization_number)
    if response.administrative_reference:
        tx.segment("REF", "NT", response.administrative_reference)
    if response.start is not None and response.end is not None:
        tx.segment("DTP", "AAH", "RD8", rd8(response.start, response.end))
    if response.approved_units is not None:
        tx.segment("HSD", "VS", str(response.approved_units))
    tx.segment("NM1", "SJ", "1", request.rendering_last_name, request.rendering_first_name, "", "", "", "XX",
               request.rendering_npi)
    _aaa(tx, response.rejections, "2010EA")
    for i, service in enumerate(response.services):
        tx.segment("HL", str(event + 1 + i), str(event), "SS", "0")
        _aaa(tx, service.rejections, "2000F")
        tx.segment("UM", "HS", request.certification_type)
        if service.action:
            tx.segment("HCR", service.action, service.certification_number, service.reason_code)
        if service.start is not None and service.end is not None:  # the certified service period
            tx.segment("DTP", "472", "RD8", rd8(service.start, service.end))
        tx.segment("SV1", Composite(("HC", service.cpt_code)), "", "UN", str(service.requested_units))
        if service.approved_units is not None:
            tx.segment("HSD", "VS", str(service.approved_units))


# ------------------------------------------------------------------------------------------------ reading


@dataclass
class _Service:
    cpt_code: str = ""
    requested_units: int = 0
    action: str = ""
    certification_number: str = ""
    reason_code: str = ""
    approved_units: int | None = None
    rejections: list[Rejection] = field(default_factory=list)
    dates: dict[str, tuple[date, date, bool]] = field(default_factory=dict)


def _period(seg: Segment) -> tuple[date, date]:
    raw = seg.get(3)
    if seg.get(2) == "RD8":
        return read_rd8(raw, segment_number=seg.number, segment_id=seg.id, element=3)
    day = read_date(seg, raw)
    return day, day


def _quantity(seg: Segment, element: int = 2) -> int:
    where = f"{seg.id}{element:02d}"
    try:
        value = Decimal(seg.get(element))
    except InvalidOperation:
        raise X12SyntaxError(f"{where} is not a number", segment_number=seg.number, segment_id=seg.id,
                             element=element) from None
    # NaN and Infinity parse as Decimals; an exponent can make a count no column (or int()) can hold.
    if not value.is_finite() or value < 0 or value != value.to_integral_value() or value > MAX_UNITS:
        raise X12SyntaxError(f"{where} must be a whole, non-negative count up to {MAX_UNITS}",
                             segment_number=seg.number, segment_id=seg.id, element=element)
    return int(value)


def _kept(seg: Segment, element: int, field: str) -> str:
    """An element we store or match on: within its X12 size, no control characters (never quoted back)."""
    value = seg.get(element)
    if not keepable(value, field):
        raise X12SyntaxError(f"{seg.id}{element:02d} is too long or holds control characters",
                             segment_number=seg.number, segment_id=seg.id, element=element)
    return value


def transaction_purpose(text: str) -> str:
    """``request`` (BHT02=13) or ``response`` (BHT02=11) for a 278 interchange."""
    for seg in iter_segments(text):
        if seg.id == "BHT":
            purpose = {"13": "request", "11": "response"}.get(seg.get(2))
            if purpose is None:
                raise X12SyntaxError("BHT02 is neither 13 (request) nor 11 (response)", segment_number=seg.number,
                                     segment_id="BHT", element=2)
            return purpose
    raise X12SyntaxError("no BHT segment", segment_number=1)


def read_278_response(text: str) -> ReviewResponse:
    """Read a 278 response (one patient event). Raises ``X12SyntaxError`` (with where, never what) if malformed."""
    delimiters = detect_delimiters(text)
    segments = list(iter_segments(text))
    if not any(s.id == "ST" and s.get(1) == "278" for s in segments):
        raise X12SyntaxError("interchange holds no 278 transaction", segment_number=1)
    loop = ""
    level = ""
    bht_reference = ""
    trace = originator = ""
    payer_id = ""
    event: dict[str, object] = {}
    event_dates: dict[str, tuple[date, date, bool]] = {}
    event_rejections: list[Rejection] = []
    services: list[_Service] = []
    for seg in segments:
        sid = seg.id
        if sid == "BHT":
            if seg.get(2) != "11":
                raise X12SyntaxError("278 is not a response (BHT02 must be 11)", segment_number=seg.number,
                                     segment_id="BHT", element=2)
            bht_reference = _kept(seg, 3, "certification_number")
        elif sid == "HL":
            level = seg.get(3)
            loop = {"20": "2000A", "21": "2000B", "22": "2000C", "23": "2000D", "EV": "2000E", "SS": "2000F"}.get(
                level, "")
            if not loop:
                raise X12SyntaxError("unknown HL level code", segment_number=seg.number, segment_id="HL", element=3)
            if level == "SS":
                services.append(_Service())
        elif sid == "NM1":
            loop = _name_loop(loop, seg.get(1))
            if seg.get(1) == "X3":
                payer_id = seg.get(9)
        elif sid == "AAA":
            if seg.get(1) not in ("Y", "N") or not seg.get(3):
                raise X12SyntaxError("AAA needs AAA01 Y/N and a reject reason", segment_number=seg.number,
                                     segment_id="AAA")
            rejection = Rejection(loop, _kept(seg, 3, "reject_reason"), _kept(seg, 4, "follow_up"),
                                  seg.get(1) == "Y")
            (services[-1].rejections if loop == "2000F" and services else event_rejections).append(rejection)
        elif sid == "TRN" and level == "EV" and seg.get(1) == "2":  # TRN01=1 is the UMO's own trace
            trace, originator = _kept(seg, 2, "certification_number"), _kept(seg, 3, "trace_originator")
        elif sid == "HCR":
            values = {"action": _kept(seg, 1, "action"), "certification_number": _kept(seg, 2, "certification_number"),
                      "reason_code": _kept(seg, 3, "reason_code")}
            if not values["action"]:
                raise X12SyntaxError("HCR01 action code is required", segment_number=seg.number,
                                     segment_id="HCR", element=1)
            if level == "SS" and services:
                services[-1].action = values["action"]
                services[-1].certification_number = values["certification_number"]
                services[-1].reason_code = values["reason_code"]
            elif level == "EV":
                event.update(values)
        elif sid == "REF" and level == "EV":
            if seg.get(1) == "BB":
                event["previous_authorization_number"] = _kept(seg, 2, "certification_number")
            elif seg.get(1) == "NT":
                event["administrative_reference"] = _kept(seg, 2, "certification_number")
        elif sid == "DTP" and level in ("EV", "SS") and seg.get(1) in ("AAH", "472", "007", "036"):
            period = (*_period(seg), seg.get(2) == "RD8")
            if level == "EV":
                event_dates[seg.get(1)] = period
            elif services:
                services[-1].dates[seg.get(1)] = period
        elif sid == "HSD":
            if level == "SS" and services:
                services[-1].approved_units = _quantity(seg)
            elif level == "EV":
                event["approved_units"] = _quantity(seg)
        elif sid == "SV1" and level == "SS" and services:
            procedure = seg.get(1).split(delimiters.component)
            if len(procedure) < 2 or not procedure[1] or not keepable(procedure[1], "procedure_code"):
                raise X12SyntaxError("SV1 needs HC:code and whole units", segment_number=seg.number,
                                     segment_id="SV1", element=1)
            services[-1].cpt_code, services[-1].requested_units = procedure[1], _quantity(seg, 4)
    outcomes = tuple(ServiceOutcome(s.cpt_code, s.requested_units, s.action, s.certification_number, s.reason_code,
                                    s.approved_units, *_resolve_period(s.dates, "472"), tuple(s.rejections))
                     for s in services)
    if any(not s.cpt_code for s in outcomes):
        raise X12SyntaxError("a 2000F service level has no SV1", segment_number=1)
    action = str(event.get("action", ""))
    certification = str(event.get("certification_number", ""))
    if not action and not event_rejections:
        action = overall_action([s.action for s in outcomes])
        certification = certification or next((s.certification_number for s in outcomes
                                                if s.certification_number), "")
    if not action and not event_rejections and not any(s.rejections for s in outcomes):
        raise X12SyntaxError("278 response has neither a review outcome (HCR) nor a rejection (AAA)",
                             segment_number=1)
    approved = event.get("approved_units")
    event_start, event_end = _resolve_period(event_dates, "AAH")
    return ReviewResponse(
        trace_number=trace or bht_reference, trace_originator=originator, action=action,
        certification_number=certification,
        reason_code=str(event.get("reason_code", "")),
        administrative_reference=str(event.get("administrative_reference", "")),
        previous_authorization_number=str(event.get("previous_authorization_number", "")),
        start=event_start, end=event_end,
        approved_units=approved if isinstance(approved, int) else None, services=outcomes,
        rejections=tuple(event_rejections), payer_id=payer_id,
    )


def _name_loop(loop: str, entity: str) -> str:
    if loop in ("2000A", "2000B", "2000C", "2000D"):
        return "2010" + loop[-1]
    if loop.startswith("2000E") or loop.startswith("2010E"):
        return "2010EA" if entity in _EVENT_PROVIDERS else "2010EB"
    if loop.startswith("2000F") or loop.startswith("2010F"):
        return "2010FA" if entity in _EVENT_PROVIDERS else "2010FB"
    return loop


def _resolve_period(dates: dict[str, tuple[date, date, bool]], own: str) -> tuple[date | None, date | None]:
    """The certified period: the certification effective / expiration dates (007 / 036) when the payer sends
    them, else the event (AAH) or service (472) dates."""
    effective, expiration, other = dates.get("007"), dates.get("036"), dates.get(own)
    start = effective[0] if effective else (other[0] if other else None)
    if expiration:
        end: date | None = expiration[1]
    elif effective and effective[2]:  # 007 given as a range
        end = effective[1]
    else:
        end = other[1] if other else None
    return start, end
