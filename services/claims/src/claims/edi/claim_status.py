"""Claim status inquiry and response (005010X212): ``build_276`` and ``read_277``.

``build_276([StatusInquiry.from_claim(claim, trace)], header) -> str`` asks a payer about submitted claims;
``read_277(text) -> list[ClaimAcknowledgment]`` reads the answer (trace number from TRN*2, patient control
number from REF*EJ, payer claim number from REF*1K, STC status codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from claims.domain.model import BillingProvider, Claim, PatientParty, PayerRef, Person, Subscriber
from claims.domain.x12_text import clean
from claims.edi.acknowledgments import ClaimAcknowledgment, _read_277
from claims.edi.x12_837 import InterchangeHeader, _amount, _d8

VERSION_276 = "005010X212"


@dataclass(frozen=True, slots=True)
class StatusInquiry:
    trace_number: str
    payer: PayerRef
    billing_provider: BillingProvider
    subscriber: Subscriber
    patient: PatientParty | None
    patient_control_number: str
    total_charge: Decimal
    service_from: date
    service_to: date
    payer_claim_number: str | None = None

    @classmethod
    def from_claim(cls, claim: Claim, trace_number: str) -> StatusInquiry:
        return cls(
            trace_number=trace_number, payer=claim.payer, billing_provider=claim.billing_provider,
            subscriber=claim.subscriber, patient=claim.patient, patient_control_number=claim.patient_control_number,
            total_charge=claim.total_charge, service_from=claim.date_of_service, service_to=claim.date_of_service,
            payer_claim_number=claim.payer_claim_number,
        )


def _name(entity: str, person: Person, tail: str = "") -> str:
    return f"NM1*{entity}*1*{clean(person.last_name)}*{clean(person.first_name)}{tail}~"


def build_276(inquiries: list[StatusInquiry], header: InterchangeHeader) -> str:
    """One 276 transaction; one payer / provider / subscriber hierarchy per inquiry."""
    if not inquiries:
        raise ValueError("a 276 needs at least one inquiry")
    if any((q.patient.person if q.patient else q.subscriber.person).birth_date is None for q in inquiries):
        raise ValueError("a 276 needs the patient's birth date (DMG of 2000D / 2000E)")
    h = header
    c = h.created
    st = f"{h.first_transaction_number:04d}"
    body: list[str] = [f"BHT*0010*13*{h.interchange_control_number}{st}*{c:%Y%m%d}*{c:%H%M}~"]
    hl = 0
    for q in inquiries:
        hl += 1
        payer_hl = hl
        body.append(f"HL*{hl}**20*1~NM1*PR*2*{clean(q.payer.name)}*****PI*{clean(q.payer.payer_id)}~")
        hl += 1
        receiver_hl = hl
        body.append(f"HL*{hl}*{payer_hl}*21*1~NM1*41*2*{clean(h.submitter.name)}*****46*{clean(h.submitter.etin)}~")
        hl += 1
        provider_hl = hl
        bp = q.billing_provider
        body.append(f"HL*{hl}*{receiver_hl}*19*1~NM1*1P*2*{clean(bp.name)}*****XX*{bp.npi}~")
        hl += 1
        dependent = q.patient is not None
        body.append(f"HL*{hl}*{provider_hl}*22*{'1' if dependent else '0'}~")
        sub_person = q.subscriber.person
        if not dependent and sub_person.birth_date is not None:
            body.append(f"DMG*D8*{_d8(sub_person.birth_date)}*{sub_person.gender}~")
        body.append(_name("IL", sub_person, f"****MI*{clean(q.subscriber.member_id)}"))
        if q.patient is not None:
            hl += 1
            body.append(f"HL*{hl}*{hl - 1}*23~")
            if q.patient.person.birth_date is not None:
                body.append(f"DMG*D8*{_d8(q.patient.person.birth_date)}*{q.patient.person.gender}~")
            body.append(_name("QC", q.patient.person))
        body.append(f"TRN*1*{clean(q.trace_number)}~")
        if q.payer_claim_number:
            body.append(f"REF*1K*{clean(q.payer_claim_number)}~")
        body.append(f"REF*EJ*{clean(q.patient_control_number)}~")
        body.append(f"AMT*T3*{_amount(q.total_charge)}~")
        body.append(f"DTP*472*RD8*{_d8(q.service_from)}-{_d8(q.service_to)}~")
    text = "".join(body)
    count = text.count("~") + 2
    return (
        f"ISA*00*{'':10}*00*{'':10}*{h.sender_qualifier}*{clean(h.sender_id):<15.15}*{h.receiver_qualifier}*"
        f"{clean(h.receiver_id):<15.15}*{c:%y%m%d}*{c:%H%M}*^*00501*{h.interchange_control_number:09d}*"
        f"{h.acknowledgment_requested}*{h.usage_indicator}*:~"
        f"GS*HR*{clean(h.sender_id)}*{clean(h.receiver_id)}*{c:%Y%m%d}*{c:%H%M}*{h.group_control_number}*X*"
        f"{VERSION_276}~ST*276*{st}*{VERSION_276}~{text}SE*{count}*{st}~GE*1*{h.group_control_number}~"
        f"IEA*1*{h.interchange_control_number:09d}~"
    )


def read_277(text: str) -> list[ClaimAcknowledgment]:
    """Claim status answers (005010X212): one entry per claim status, keyed by trace / patient control number."""
    return _read_277(text, None)


def answer_276(text_276: str, *, status_code: str = "P1:20", status_date: date | None = None) -> str:
    """A payer's 277 (005010X212) for a 276: every claim asked about gets one STC (default P1:20, pending in
    process) under the same provider / subscriber / patient it was asked under (2000C-2000E), echoing the
    trace (TRN*2), the payer claim number (REF*1K), the patient control number (REF*EJ) and the service
    dates. Used by the sandbox. ``status_date``: the STC date; by default the day the 276 was made (BHT04), so
    the answer depends on the inquiry only, never on the machine's date."""
    from rcm_shared.x12 import iter_segments

    day = status_date.strftime("%Y%m%d") if status_date is not None else ""
    asked: list[dict[str, str]] = []
    payer, payer_id, receiver, receiver_id, control = "SANDBOX PAYER", "SANDBOX", "PROVIDER", "RCMPLATFORM", "1"
    provider = ("PROVIDER", "1245319599")
    subscriber = ("UNKNOWN", "", "UNKNOWN")
    patient: tuple[str, str] | None = None
    current: dict[str, str] | None = None
    for seg in iter_segments(text_276):
        g = seg.get
        if seg.id == "ISA":
            control = g(13).lstrip("0") or "1"
            day = day or f"20{g(9)}"  # YYMMDD; the BHT's CCYYMMDD below, when there is one, is the same day
        elif seg.id == "BHT" and status_date is None:
            day = g(4) or day
        elif seg.id == "HL":
            current = None
            if g(3) in ("19", "22"):
                patient = None  # a new subscriber (or provider) starts without a dependent
        elif seg.id == "NM1":
            entity = g(1)
            if entity == "PR":
                payer, payer_id = g(3), g(9) or payer_id
            elif entity == "41":
                receiver, receiver_id = g(3), g(9) or receiver_id
            elif entity == "1P":
                provider = (g(3), g(9))
            elif entity == "IL":
                subscriber = (g(3), g(4), g(9))
            elif entity == "QC":
                patient = (g(3), g(4))
        elif seg.id == "TRN" and g(1) == "1":
            current = {"trace": g(2), "pcn": "", "payer_claim": "", "charge": "0", "dates": "",
                       "provider": "*".join(provider), "subscriber": "*".join(subscriber),
                       "patient": "*".join(patient) if patient else ""}
            asked.append(current)
        elif current is not None and seg.id == "REF" and g(1) in ("EJ", "1K"):
            current["pcn" if g(1) == "EJ" else "payer_claim"] = g(2)
        elif current is not None and seg.id == "AMT" and g(1) == "T3":
            current["charge"] = g(2)
        elif current is not None and seg.id == "DTP" and g(1) == "472":
            current["dates"] = f"{g(2)}*{g(3)}"
    icn = int(control) % 999_999_999 or 1
    body = [
        "ST*277*0001*005010X212", f"BHT*0010*08*{icn}*{day}*1200*DG",
        "HL*1**20*1", f"NM1*PR*2*{clean(payer)}*****PI*{clean(payer_id)}",
        "HL*2*1*21*1", f"NM1*41*2*{clean(receiver)}*****46*{clean(receiver_id)}",
    ]
    hl = 2
    for item in asked:
        provider_name, provider_npi = item["provider"].split("*")
        last, first, member = item["subscriber"].split("*")
        hl += 1
        provider_hl = hl
        body += [f"HL*{hl}*2*19*1", f"NM1*1P*2*{provider_name}*****XX*{provider_npi}"]
        hl += 1
        subscriber_name = f"NM1*IL*1*{last}*{first}****MI*{member}" if member else f"NM1*IL*1*{last}*{first}"
        body += [f"HL*{hl}*{provider_hl}*22*{'1' if item['patient'] else '0'}", subscriber_name.rstrip("*")]
        if item["patient"]:
            hl += 1
            body += [f"HL*{hl}*{hl - 1}*23", f"NM1*QC*1*{item['patient']}".rstrip("*")]
        # 2200D (or 2200E for a dependent): the status of the claim asked about
        body += [f"TRN*2*{item['trace']}", f"STC*{status_code}*{day}**{item['charge']}*0"]
        if item["payer_claim"]:
            body.append(f"REF*1K*{item['payer_claim']}")
        if item["pcn"]:
            body.append(f"REF*EJ*{item['pcn']}")
        if item["dates"]:
            body.append(f"DTP*472*{item['dates']}")
    body.append(f"SE*{len(body) + 1}*0001")
    return (
        f"ISA*00*          *00*          *ZZ*{'SANDBOX':<15}*ZZ*{'RCMPLATFORM':<15}*{day[2:]}*1200*^*00501*"
        f"{icn:09d}*0*T*:~GS*HN*SANDBOX*RCMPLATFORM*{day}*1200*{icn}*X*005010X212~"
        + "~".join(body) + f"~GE*1*{icn}~IEA*1*{icn:09d}~"
    )
