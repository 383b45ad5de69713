"""Build (and read back) the X12 278 services review request (005010X217) for a new authorization.

Layout: ISA/GS(HI)/ST*278*....*005010X217/BHT*0007*13, HL 20 (2000A UMO: NM1*X3 with PI), HL 21 (2000B
requester: NM1*1P with XX), HL 22 (2000C subscriber: NM1*IL with MI, DMG), optionally HL 23 (2000D dependent, when
the patient is not the subscriber: NM1*QC, DMG, INS*N*<relationship>), HL EV (2000E patient event: TRN*1, UM*HS*
<cert type>*<service type>*<POS>:B, REF*BB previous authorization for an extension or revision, DTP*AAH*RD8
range, HI*ABK:..*ABF:.., HSD*VS total visits, 2010EA NM1*SJ rendering provider), then one HL SS (2000F service)
per CPT: UM*HS*<cert type>, DTP*472*RD8, SV1*HC:<cpt>**UN*<units>.
``read_278`` serves the sandbox reviewer, the pended-review follow-up (the stored request) and round-trip tests.
"""

from __future__ import annotations

from datetime import date

from authorizations.domain.model import AuthorizationRequest, Dependent, RequestedService
from rcm_shared.x12 import Segment, X12SyntaxError, detect_delimiters, iter_segments
from rcm_shared.x12.dates import d8, rd8, read_d8, tm
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties
from rcm_shared.x12.writer import Composite, TransactionWriter, X12ValueError, envelope

IMPLEMENTATION = "005010X217"
X12_MEDIA = "application/edi-x12"  # the media type an X12 interchange travels as over HTTPS
CERTIFICATION_TYPES = frozenset({"I", "R", "4", "S", "3"})  # initial, renewal, extension, revision, cancel


def _check(request: AuthorizationRequest) -> None:
    for npi, name in ((request.requester_npi, "requester"), (request.rendering_npi, "rendering")):
        if len(npi) != 10 or not npi.isdigit():
            raise X12ValueError(f"NM109 {name} NPI must be 10 digits")
    if not request.member_id:
        raise X12ValueError("NM109 member id is required")
    if not request.diagnosis_codes or len(request.diagnosis_codes) > 12:
        raise X12ValueError("HI needs 1 to 12 diagnosis codes")
    for code in request.diagnosis_codes:
        if not (3 <= len(code) <= 7) or "." in code or not code.isalnum():
            raise X12ValueError("HI diagnosis codes are 3-7 alphanumerics without the dot")
    if not request.services:
        raise X12ValueError("SV1 at least one requested service is required")
    if any(s.units <= 0 for s in request.services):
        raise X12ValueError("SV104 units must be positive")
    if request.end < request.start:
        raise X12ValueError("DTP03 range end precedes its start")
    if request.certification_type not in CERTIFICATION_TYPES:
        raise X12ValueError("UM02 certification type code is not supported")
    if request.dependent is not None and not request.dependent.relationship.isdigit():
        raise X12ValueError("INS02 relationship code must be numeric")


def build_278(request: AuthorizationRequest, control: ControlNumbers, parties: InterchangeParties) -> str:
    """Return a complete interchange holding one 278 request. Raises ``X12ValueError`` for unsendable values."""
    _check(request)
    tx = TransactionWriter("278", f"{control.transaction:04d}", IMPLEMENTATION)
    created = control.created_at
    span = rd8(request.start, request.end)
    tx.segment("BHT", "0007", "13", request.trace_number, d8(created.date()), tm(created))
    tx.segment("HL", "1", "", "20", "1")
    tx.segment("NM1", "X3", "2", request.payer_name, "", "", "", "", "PI", request.payer_id)
    tx.segment("HL", "2", "1", "21", "1")
    tx.segment("NM1", "1P", "2", request.requester_name, "", "", "", "", "XX", request.requester_npi)
    tx.segment("HL", "3", "2", "22", "1")
    tx.segment("NM1", "IL", "1", request.subscriber_last_name, request.subscriber_first_name, "", "", "", "MI",
               request.member_id)
    if request.subscriber_birth_date is not None:
        tx.segment("DMG", "D8", d8(request.subscriber_birth_date), request.subscriber_gender)
    event_parent = 3
    if request.dependent is not None:
        patient = request.dependent
        tx.segment("HL", "4", "3", "23", "1")
        tx.segment("NM1", "QC", "1", patient.last_name, patient.first_name)
        if patient.birth_date is not None:
            tx.segment("DMG", "D8", d8(patient.birth_date), patient.gender)
        tx.segment("INS", "N", patient.relationship)
        event_parent = 4
    event = event_parent + 1
    tx.segment("HL", str(event), str(event_parent), "EV", "1")
    tx.segment("TRN", "1", request.trace_number, parties.trace_originator)
    tx.segment("UM", "HS", request.certification_type, request.service_type,
               Composite((request.place_of_service, "B")))
    if request.previous_authorization_number:
        tx.segment("REF", "BB", request.previous_authorization_number)
    tx.segment("DTP", "AAH", "RD8", span)
    qualifiers = ["ABK", *(["ABF"] * (len(request.diagnosis_codes) - 1))]
    tx.segment("HI", *(Composite((q, c)) for q, c in zip(qualifiers, request.diagnosis_codes, strict=True)))
    tx.segment("HSD", "VS", str(request.total_units))
    tx.segment("NM1", "SJ", "1", request.rendering_last_name, request.rendering_first_name, "", "", "", "XX",
               request.rendering_npi)
    for i, service in enumerate(request.services):
        tx.segment("HL", str(event + 1 + i), str(event), "SS", "0")
        tx.segment("UM", "HS", request.certification_type)
        tx.segment("DTP", "472", "RD8", span)
        tx.segment("SV1", Composite(("HC", service.cpt_code)), "", "UN", str(service.units))
    return envelope([tx.close()], functional_id="HI", version=IMPLEMENTATION, parties=parties, control=control)


# ------------------------------------------------------------------------------------------------ reading


def read_date(seg: Segment, raw: str, element: int = 3) -> date:
    """A CCYYMMDD element of ``seg`` (DMG02, DTP03): ``X12SyntaxError`` saying where, never the value."""
    return read_d8(raw, segment_number=seg.number, segment_id=seg.id, element=element)


def read_278(text: str) -> AuthorizationRequest:
    """Read a 278 request we (or a test) built: one patient event. Raises ``X12SyntaxError`` when malformed."""
    delimiters = detect_delimiters(text)
    segments = list(iter_segments(text))
    if not any(s.id == "ST" and s.get(1) == "278" for s in segments):
        raise X12SyntaxError("interchange holds no 278 transaction", segment_number=1)
    values: dict[str, object] = {}
    dependent: dict[str, object] = {}
    services: list[RequestedService] = []
    diagnoses: list[str] = []
    level = ""
    for seg in segments:
        sid = seg.id
        if sid == "BHT":
            if seg.get(2) != "13":
                raise X12SyntaxError("278 is not a request (BHT02 must be 13)", segment_number=seg.number,
                                     segment_id="BHT", element=2)
            values["trace_number"] = seg.get(3)
        elif sid == "HL":
            level = seg.get(3)
        elif sid == "NM1":
            kind = seg.get(1)
            if kind == "X3":
                values.update(payer_name=seg.get(3), payer_id=seg.get(9))
            elif kind == "1P":
                values.update(requester_name=seg.get(3), requester_npi=seg.get(9))
            elif kind == "IL":
                values.update(subscriber_last_name=seg.get(3), subscriber_first_name=seg.get(4), member_id=seg.get(9))
            elif kind == "QC":
                dependent.update(last_name=seg.get(3), first_name=seg.get(4))
            elif kind == "SJ":
                values.update(rendering_last_name=seg.get(3), rendering_first_name=seg.get(4),
                              rendering_npi=seg.get(9))
        elif sid == "DMG" and level == "22":
            values.update(subscriber_birth_date=read_date(seg, seg.get(2), 2), subscriber_gender=seg.get(3))
        elif sid == "DMG" and level == "23":
            dependent.update(birth_date=read_date(seg, seg.get(2), 2), gender=seg.get(3))
        elif sid == "INS" and level == "23":
            dependent["relationship"] = seg.get(2)
        elif sid == "UM" and level == "EV":
            facility = seg.get(4).split(delimiters.component)
            values.update(certification_type=seg.get(2), service_type=seg.get(3), place_of_service=facility[0])
        elif sid == "REF" and level == "EV" and seg.get(1) == "BB":
            values["previous_authorization_number"] = seg.get(2)
        elif sid == "DTP" and seg.get(1) == "AAH":
            start, _, end = seg.get(3).partition("-")
            values.update(start=read_date(seg, start), end=read_date(seg, end or start))
        elif sid == "HI":
            for element in seg.elements[1:]:
                parts = element.split(delimiters.component)
                if len(parts) < 2 or parts[0] not in ("ABK", "ABF"):
                    raise X12SyntaxError("HI needs ABK/ABF diagnosis composites", segment_number=seg.number,
                                         segment_id="HI")
                diagnoses.append(parts[1])
        elif sid == "SV1":
            procedure = seg.get(1).split(delimiters.component)
            units = seg.get(4)
            if len(procedure) < 2 or not units.isdigit():
                raise X12SyntaxError("SV1 needs HC:code and whole units", segment_number=seg.number,
                                     segment_id="SV1")
            services.append(RequestedService(procedure[1], int(units)))
    required = ("payer_id", "requester_npi", "member_id", "start", "end", "trace_number")
    if any(key not in values for key in required) or not services:
        raise X12SyntaxError("278 lacks payer, requester, member, dates or services", segment_number=1)
    patient = None
    if dependent:
        patient = Dependent(last_name=str(dependent.get("last_name", "")),
                            first_name=str(dependent.get("first_name", "")),
                            birth_date=_opt_date(dependent.get("birth_date")),
                            gender=str(dependent.get("gender", "")),
                            relationship=str(dependent.get("relationship", "19")))
    return AuthorizationRequest(
        payer_id=str(values["payer_id"]), payer_name=str(values.get("payer_name", "")),
        requester_npi=str(values["requester_npi"]), requester_name=str(values.get("requester_name", "")),
        member_id=str(values["member_id"]), subscriber_last_name=str(values.get("subscriber_last_name", "")),
        subscriber_first_name=str(values.get("subscriber_first_name", "")),
        subscriber_birth_date=_opt_date(values.get("subscriber_birth_date")),
        subscriber_gender=str(values.get("subscriber_gender", "")),
        rendering_npi=str(values.get("rendering_npi", "")),
        rendering_last_name=str(values.get("rendering_last_name", "")),
        rendering_first_name=str(values.get("rendering_first_name", "")),
        diagnosis_codes=tuple(diagnoses), services=tuple(services),
        start=_req_date(values["start"]), end=_req_date(values["end"]), trace_number=str(values["trace_number"]),
        service_type=str(values.get("service_type", "MH")), place_of_service=str(values.get("place_of_service", "")),
        certification_type=str(values.get("certification_type", "I")), dependent=patient,
        previous_authorization_number=str(values.get("previous_authorization_number", "")),
    )


def trace_originator_of(text: str) -> str:
    """TRN03 of the patient event (the id the requester assigns traces under): a response must echo it."""
    level = ""
    for seg in iter_segments(text):
        if seg.id == "HL":
            level = seg.get(3)
        elif seg.id == "TRN" and level == "EV" and seg.get(1) == "1":
            return seg.get(3)
    return ""


def _opt_date(value: object) -> date | None:
    return value if isinstance(value, date) else None


def _req_date(value: object) -> date:
    if not isinstance(value, date):
        raise X12SyntaxError("278 date is missing", segment_number=1)
    return value
