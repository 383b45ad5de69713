"""Build the X12 270 eligibility inquiry (005010X279A1).

Layout: ISA/GS(HS)/ST*270/BHT*0022*13, HL 20 (payer, NM1*PR), HL 21 (provider, NM1*1P with NPI),
HL 22 (subscriber: TRN*1, NM1*IL with MI, DMG, DTP*291, one EQ per service type), and when the patient is
a dependent, HL 23 (TRN, NM1*03, DMG, DTP*291, EQ) with the subscriber carrying no EQ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from rcm_shared.x12 import Segment, X12SyntaxError, detect_delimiters, iter_segments
from rcm_shared.x12.dates import d8, read_d8, tm
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties
from rcm_shared.x12.writer import TransactionWriter, X12ValueError, envelope

from eligibility.domain.benefits import (
    EligibilityRequest,
    Member,
    PayerRef,
    ProviderRef,
)

IMPLEMENTATION = "005010X279A1"


def _check_request(request: EligibilityRequest) -> None:
    npi = request.provider.npi
    if len(npi) != 10 or not npi.isdigit():
        raise X12ValueError("NM109 provider NPI must be 10 digits")
    if not request.subscriber.member_id:
        raise X12ValueError("NM109 subscriber member id is required")
    if not request.service_types:
        raise X12ValueError("EQ01 at least one service type code is required")
    for code in request.service_types:
        if not (1 <= len(code) <= 2) or not code.isalnum():
            raise X12ValueError("EQ01 service type code must be 1-2 alphanumerics")
    if not request.trace_number or len(request.trace_number) > 50:
        raise X12ValueError("TRN02 trace number must be 1-50 characters")


def _person(tx: TransactionWriter, loop_entity: str, member: Member, with_id: bool) -> None:
    tx.segment(
        "NM1", loop_entity, "1", member.last_name, member.first_name, "", "", "",
        "MI" if with_id and member.member_id else "", member.member_id if with_id else "",
    )
    if member.birth_date is not None:  # DMG01/02 are required whenever DMG is sent
        tx.segment("DMG", "D8", d8(member.birth_date), member.gender)


def build_270_transaction(request: EligibilityRequest, control_number: str, created: datetime,
                          parties: InterchangeParties) -> list[str]:
    """The segments (ST..SE) of one 270 transaction asking about ``request``; BHT03 is its trace number."""
    _check_request(request)
    tx = TransactionWriter("270", control_number, IMPLEMENTATION)
    tx.segment("BHT", "0022", "13", request.trace_number, d8(created), tm(created))
    tx.segment("HL", "1", "", "20", "1")
    tx.segment("NM1", "PR", "2", request.payer.name, "", "", "", "", "PI", request.payer.payer_id)
    tx.segment("HL", "2", "1", "21", "1")
    provider = request.provider
    if provider.first_name:
        tx.segment("NM1", "1P", "1", provider.name, provider.first_name, "", "", "", "XX", provider.npi)
    else:
        tx.segment("NM1", "1P", "2", provider.name, "", "", "", "", "XX", provider.npi)
    has_dependent = request.dependent is not None
    tx.segment("HL", "3", "2", "22", "1" if has_dependent else "0")
    if not has_dependent:
        tx.segment("TRN", "1", request.trace_number, parties.trace_originator)
    _person(tx, "IL", request.subscriber, with_id=True)
    if request.dependent is None:
        tx.segment("DTP", "291", "D8", d8(request.service_date))
        for code in request.service_types:
            tx.segment("EQ", code)
    else:
        tx.segment("HL", "4", "3", "23", "0")
        tx.segment("TRN", "1", request.trace_number, parties.trace_originator)
        _person(tx, "03", request.dependent, with_id=False)
        tx.segment("DTP", "291", "D8", d8(request.service_date))
        for code in request.service_types:
            tx.segment("EQ", code)
    return tx.close()


def build_270(request: EligibilityRequest, control: ControlNumbers, parties: InterchangeParties) -> str:
    """Return a complete interchange holding one 270 for ``request``.

    Raises ``X12ValueError`` (a ``ValueError``) when a value cannot be sent (delimiters, bad NPI, no member id).
    """
    transaction = build_270_transaction(request, f"{control.transaction:04d}", control.created_at, parties)
    return envelope([transaction], functional_id="HS", version=IMPLEMENTATION, parties=parties, control=control)


def build_270_batch(transactions: Sequence[list[str]], control: ControlNumbers, parties: InterchangeParties) -> str:
    """One interchange, one functional group, one 270 transaction per inquiry (from ``build_270_transaction``,
    numbered 0001, 0002 ...): the batch file sent the night before the schedule. Each transaction's BHT03 and
    TRN02 carry its own trace number, so every answer in the 271 finds its inquiry."""
    if not transactions:
        raise X12ValueError("a batch 270 needs at least one inquiry")
    return envelope(list(transactions), functional_id="HS", version=IMPLEMENTATION, parties=parties,
                    control=control)


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class ReceivedInquiry:
    """A 270 inquiry as a payer (our sandbox) receives it, with what the 271 must echo back."""

    request: EligibilityRequest
    trace_originator: str
    bht_reference: str
    transaction_control: str = ""  # ST02 of the 270 transaction that holds the inquiry


def _segment_date(seg: Segment, index: int) -> date:
    return read_d8(seg.get(index), segment_number=seg.number, segment_id=seg.id, element=index)


def _member(nm1: Segment, dmg: Segment | None) -> Member:
    return Member(
        last_name=nm1.get(3), first_name=nm1.get(4), member_id=nm1.get(9),
        birth_date=_segment_date(dmg, 2) if dmg is not None and dmg.get(2) else None,
        gender=dmg.get(3) if dmg is not None else "",
    )


def read_270(text: str) -> list[ReceivedInquiry]:
    """Parse a 270 (what the sandbox payer receives). Raises ``X12SyntaxError`` on anything malformed."""
    repetition = detect_delimiters(text).repetition
    segments = list(iter_segments(text))
    if not any(s.id == "ST" and s.get(1) == "270" for s in segments):
        raise X12SyntaxError("interchange holds no 270 transaction", segment_number=1)
    inquiries: list[ReceivedInquiry] = []
    payer: PayerRef | None = None
    provider: ProviderRef | None = None
    bht = ""
    st_control = ""
    level = ""
    current: dict[str, object] = {}

    def flush() -> None:
        if not current:
            return
        subscriber = current.get("subscriber")
        if payer is None or provider is None or not isinstance(subscriber, Member):
            raise X12SyntaxError("270 subscriber loop is missing payer, provider or NM1*IL", segment_number=1)
        service_date = current.get("date")
        trace = current.get("trace", ("", ""))
        assert isinstance(trace, tuple)
        types = current.get("types", [])
        assert isinstance(types, list)
        dependent = current.get("dependent")
        inquiries.append(ReceivedInquiry(
            request=EligibilityRequest(
                payer=payer, provider=provider, subscriber=subscriber,
                service_date=service_date if isinstance(service_date, date) else date.min,
                trace_number=str(trace[0]), service_types=tuple(types) or ("30",),
                dependent=dependent if isinstance(dependent, Member) else None,
            ),
            trace_originator=str(trace[1]), bht_reference=bht, transaction_control=st_control,
        ))

    pending_nm1: Segment | None = None
    for seg in segments:
        sid = seg.id
        if sid == "ST":  # a batch holds one transaction per inquiry: close the previous one's last loop
            flush()
            current = {}
            st_control = seg.get(2)
        elif sid == "BHT":
            bht = seg.get(3)
        elif sid == "HL":
            if pending_nm1 is not None:
                current["dependent" if level == "23" else "subscriber"] = _member(pending_nm1, None)
                pending_nm1 = None
            level = seg.get(3)
            if level == "22":
                flush()
                current = {}
            elif level not in ("20", "21", "23"):
                raise X12SyntaxError("unsupported HL level code", segment_number=seg.number, segment_id="HL",
                                     element=3)
        elif sid == "NM1":
            if level == "20":
                payer = PayerRef(payer_id=seg.get(9), name=seg.get(3))
            elif level == "21":
                provider = ProviderRef(npi=seg.get(9), name=seg.get(3), first_name=seg.get(4) if seg.get(2) == "1"
                                       else "")
            elif level in ("22", "23"):
                pending_nm1 = seg
        elif sid == "DMG" and pending_nm1 is not None:
            current["dependent" if level == "23" else "subscriber"] = _member(pending_nm1, seg)
            pending_nm1 = None
        elif sid == "TRN" and level in ("22", "23"):
            current["trace"] = (seg.get(2), seg.get(3))
        elif sid == "DTP" and seg.get(1) == "291" and level in ("22", "23"):
            # D8 is one date; for an RD8 range the first date is the one the benefits are asked for
            current["date"] = _segment_date(Segment(seg.number, ["DTP", "", "", seg.get(3)[:8]]), 3)
        elif sid == "EQ" and level in ("22", "23"):
            types = current.setdefault("types", [])
            assert isinstance(types, list)
            types.extend(t for t in seg.get(1).split(repetition) if t)
        elif sid in ("SE", "GE", "IEA") and pending_nm1 is not None:
            current["dependent" if level == "23" else "subscriber"] = _member(pending_nm1, None)
            pending_nm1 = None
    flush()
    if not inquiries:
        raise X12SyntaxError("270 has no subscriber loop", segment_number=1)
    return inquiries
