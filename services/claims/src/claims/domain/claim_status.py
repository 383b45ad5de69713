"""Claim status inquiry and response (005010X212): ``build_276`` and ``read_277``.

``build_276([StatusInquiry.from_claim(claim, trace)], header) -> str`` asks a payer about submitted claims;
``read_277(text) -> list[ClaimAcknowledgment]`` reads the answer (trace number from TRN*2, patient control
number from REF*EJ, payer claim number from REF*1K, STC status codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from claims.domain.acknowledgments import ClaimAcknowledgment, _read_277
from claims.domain.model import BillingProvider, Claim, PatientParty, PayerRef, Person, Subscriber
from claims.domain.x12_837 import InterchangeHeader, _amount, _d8, clean

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
    process), echoing the trace (TRN*2) and the patient control number (REF*EJ). Used by the sandbox."""
    from rcm_shared.x12 import iter_segments

    day = (status_date or date.today()).strftime("%Y%m%d")
    asked: list[dict[str, str]] = []
    payer, provider, control = "SANDBOX PAYER", "PROVIDER", "1"
    current: dict[str, str] | None = None
    for seg in iter_segments(text_276):
        if seg.id == "ISA":
            control = seg.get(13).lstrip("0") or "1"
        elif seg.id == "NM1" and seg.get(1) == "PR":
            payer = seg.get(3)
        elif seg.id == "NM1" and seg.get(1) == "41":
            provider = seg.get(3)
        elif seg.id == "TRN" and seg.get(1) == "1":
            current = {"trace": seg.get(2), "pcn": "", "charge": "0"}
            asked.append(current)
        elif current is not None and seg.id == "REF" and seg.get(1) == "EJ":
            current["pcn"] = seg.get(2)
        elif current is not None and seg.id == "AMT" and seg.get(1) == "T3":
            current["charge"] = seg.get(2)
    icn = int(control) % 999_999_999
    body = [
        "ST*277*0001*005010X212", f"BHT*0010*08*{icn}*{day}*1200*DG",
        "HL*1**20*1", f"NM1*PR*2*{clean(payer)}*****PI*SANDBOX", "HL*2*1*21*1",
        f"NM1*41*2*{clean(provider)}*****46*RCMPLATFORM",
    ]
    hl = 2
    for item in asked:
        hl += 1
        body += [f"HL*{hl}*2*19*1", "NM1*1P*2*PROVIDER*****XX*1245319599"]
        hl += 1
        body += [f"HL*{hl}*{hl - 1}*22*0", "NM1*QC*1*PATIENT*UNKNOWN", f"TRN*2*{item['trace']}",
                 f"STC*{status_code}*{day}**{item['charge']}", f"REF*EJ*{item['pcn']}"]
    body.append(f"SE*{len(body) + 1}*0001")
    return (
        f"ISA*00*          *00*          *ZZ*{'SANDBOX':<15}*ZZ*{'RCMPLATFORM':<15}*{day[2:]}*1200*^*00501*"
        f"{icn:09d}*0*T*:~GS*HN*SANDBOX*RCMPLATFORM*{day}*1200*{icn}*X*005010X212~"
        + "~".join(body) + f"~GE*1*{icn}~IEA*1*{icn:09d}~"
    )
