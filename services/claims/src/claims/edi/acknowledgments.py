"""Readers for what comes back after an 837P, and the sandbox's 999 answer.

* ``read_999(text) -> list[GroupAcknowledgment]``: per functional group (GS06) and transaction (ST02),
  accepted / rejected with the IK3/IK4 error codes (005010X231A1).
* ``read_277ca(text) -> list[ClaimAcknowledgment]``: per claim, keyed by patient control number (TRN*2),
  accepted or rejected with the STC status codes and the payer claim number (005010X214).
* ``read_ta1(text) -> list[InterchangeAcknowledgment]``: the clearinghouse's answer about a whole interchange
  (ISA13 control number, date and time, A / E / R, and the TA105 note code with its meaning).
* ``build_999_for(text_837) -> str | None``: a 999 acknowledging an 837P interchange (the sandbox
  clearinghouse answers with it); transactions whose SE count is wrong are rejected.
All results have ``to_dict()`` for JSON. Malformed input raises ``rcm_shared.x12.X12SyntaxError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from rcm_shared.x12 import Segment, X12SyntaxError, iter_segments, iter_segments_from_stream

# 277 claim status categories (code source 507) that mean the claim got in
ACCEPTED_CATEGORIES = frozenset({"A0", "A1", "A2", "A5"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


# ---------------------------------------------------------------- 999


@dataclass(frozen=True, slots=True)
class SyntaxErrorNote:
    segment_id: str
    segment_position: str
    loop: str
    segment_error: str
    element_position: str = ""
    element_error: str = ""


@dataclass(frozen=True, slots=True)
class TransactionAcknowledgment:
    transaction_control_number: str
    status: str  # IK501: A accepted, E accepted with errors, R rejected, M / W / X rejected variants
    accepted: bool
    errors: tuple[SyntaxErrorNote, ...] = ()
    reason_codes: tuple[str, ...] = ()  # IK502..IK506


@dataclass(frozen=True, slots=True)
class GroupAcknowledgment:
    group_control_number: str
    version: str
    status: str  # AK901: A, E, P partially accepted, R
    transactions: tuple[TransactionAcknowledgment, ...] = ()
    interchange_control_number: str = ""

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E", "P")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = _jsonable(asdict(self))
        data["accepted"] = self.accepted
        return data


def read_999(text: str) -> list[GroupAcknowledgment]:
    groups: list[GroupAcknowledgment] = []
    group: dict[str, Any] | None = None
    tx: dict[str, Any] | None = None
    isa13 = ""
    note: dict[str, str] | None = None
    for seg in iter_segments(text):
        sid = seg.id
        if sid == "ISA":
            isa13 = seg.get(13)
        elif sid == "ST" and seg.get(1) != "999":
            raise X12SyntaxError("not a 999 transaction", segment_number=seg.number, segment_id="ST", element=1)
        elif sid == "AK1":
            group = {"group_control_number": seg.get(2), "version": seg.get(3), "transactions": []}
        elif sid == "AK2":
            tx = {"transaction_control_number": seg.get(2), "errors": []}
        elif sid == "IK3" and tx is not None:
            note = {"segment_id": seg.get(1), "segment_position": seg.get(2), "loop": seg.get(3),
                    "segment_error": seg.get(4)}
            tx["errors"].append(note)
        elif sid == "IK4" and note is not None and tx is not None:
            position = seg.get(1)
            if note.get("element_position"):
                note = dict(note)
                tx["errors"].append(note)
            note["element_position"] = position
            note["element_error"] = seg.get(3)
        elif sid == "IK5" and tx is not None and group is not None:
            status = seg.get(1)
            group["transactions"].append(TransactionAcknowledgment(
                transaction_control_number=tx["transaction_control_number"], status=status,
                accepted=status in ("A", "E"), errors=tuple(SyntaxErrorNote(**e) for e in tx["errors"]),
                reason_codes=tuple(c for c in seg.elements[2:7] if c),
            ))
            tx = None
            note = None
        elif sid == "AK9" and group is not None:
            groups.append(GroupAcknowledgment(
                group_control_number=group["group_control_number"], version=group["version"], status=seg.get(1),
                transactions=tuple(group["transactions"]), interchange_control_number=isa13,
            ))
            group = None
    return groups


def build_999_for(text_837: str | Iterable[str]) -> str | None:
    """A 999 for an 837P interchange: accepts each transaction whose SE01 matches its segment count.

    Takes the text, or its pieces (a file read a piece at a time: only one segment is held at once).
    Returns None when the text is not an X12 interchange at all (nothing to acknowledge).
    """
    segments = iter_segments_from_stream([text_837] if isinstance(text_837, str) else text_837)
    lines: list[str] = []
    groups_out = 0
    group_ctl = version = ""
    tx_results: list[tuple[str, bool]] = []
    count = 0
    st_ctl = ""
    try:
        isa = next(segments)
        for seg in segments:
            sid = seg.id
            if sid == "GS":
                group_ctl, version = seg.get(6), seg.get(8)
                tx_results = []
            elif sid == "ST":
                st_ctl = seg.get(2)
                count = 1
            elif sid == "SE":
                count += 1
                tx_results.append((st_ctl, seg.get(1) == str(count) and seg.get(2) == st_ctl))
            elif sid == "GE":
                groups_out += 1
                lines.append(f"AK1*HC*{group_ctl}*{version}~")
                for ctl, ok in tx_results:
                    lines.append(f"AK2*837*{ctl}*{version}~")
                    lines.append("IK5*A~" if ok else "IK5*R*4~")
                accepted = sum(1 for _, ok in tx_results if ok)
                status = "A" if accepted == len(tx_results) else ("P" if accepted else "R")
                lines.append(f"AK9*{status}*{len(tx_results)}*{len(tx_results)}*{accepted}~")
            else:
                count += 1
    except (X12SyntaxError, StopIteration):
        return None
    if not groups_out:
        return None
    sender, receiver = isa.get(8).strip(), isa.get(6).strip()
    date6, time4, ctl = isa.get(9), isa.get(10), isa.get(13)
    body = "".join(lines)
    n = body.count("~") + 2
    return (
        f"ISA*00*{'':10}*00*{'':10}*{isa.get(7)}*{sender:<15}*{isa.get(5)}*{receiver:<15}*{date6}*{time4}*^*00501*"
        f"{ctl}*0*{isa.get(15)}*:~GS*FA*{sender}*{receiver}*20{date6}*{time4}*{int(ctl)}*X*005010X231A1~"
        f"ST*999*0001*005010X231A1~{body}SE*{n}*0001~GE*1*{int(ctl)}~IEA*1*{ctl}~"
    )


# ---------------------------------------------------------------- TA1

# TA105 interchange note codes (X12 005010 control segments): what the receiver found wrong with an envelope.
TA1_NOTES: dict[str, str] = {
    "000": "No error",
    "001": "The interchange control number in the header and trailer do not match",
    "002": "This standard as noted in the control standards identifier is not supported",
    "003": "This version of the controls is not supported",
    "004": "The segment terminator is invalid",
    "005": "Invalid interchange ID qualifier for sender",
    "006": "Invalid interchange sender ID",
    "007": "Invalid interchange ID qualifier for receiver",
    "008": "Invalid interchange receiver ID",
    "009": "Unknown interchange receiver ID",
    "010": "Invalid authorization information qualifier value",
    "011": "Invalid authorization information value",
    "012": "Invalid security information qualifier value",
    "013": "Invalid security information value",
    "014": "Invalid interchange date value",
    "015": "Invalid interchange time value",
    "016": "Invalid interchange standards identifier value",
    "017": "Invalid interchange version ID value",
    "018": "Invalid interchange control number value",
    "019": "Invalid acknowledgment requested value",
    "020": "Invalid test indicator value",
    "021": "Invalid number of included groups value",
    "022": "Invalid control structure",
    "023": "Improper (premature) end-of-file (transmission)",
    "024": "Invalid interchange content (e.g. invalid GS segment)",
    "025": "Duplicate interchange control number",
    "026": "Invalid data element separator",
    "027": "Invalid component element separator",
    "028": "Invalid delivery date in deferred delivery request",
    "029": "Invalid delivery time in deferred delivery request",
    "030": "Invalid delivery time code in deferred delivery request",
    "031": "Invalid grade of service code",
}


@dataclass(frozen=True, slots=True)
class InterchangeAcknowledgment:
    """A TA1: the receiver's answer about one interchange we sent (its ISA13), before any 999."""

    interchange_control_number: str  # TA101 (the ISA13 of our file)
    date: str  # TA102, YYMMDD
    time: str  # TA103, HHMM
    status: str  # TA104: A accepted, E accepted with errors, R rejected (nothing in it was taken)
    note_code: str  # TA105
    note: str  # what the note code means ("" for a code the standard does not list)

    @property
    def rejected(self) -> bool:
        return self.status == "R"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = asdict(self)
        data["rejected"] = self.rejected
        return data


def read_ta1(text: str) -> list[InterchangeAcknowledgment]:
    """Every TA1 in an interchange (usually one, right after the ISA). Malformed input raises X12SyntaxError."""
    found: list[InterchangeAcknowledgment] = []
    for seg in iter_segments(text):
        if seg.id != "TA1":
            continue
        control, status, code = seg.get(1), seg.get(4), seg.get(5)
        if not control.strip().isdigit():
            raise X12SyntaxError("TA1 without an interchange control number", segment_number=seg.number,
                                 segment_id="TA1", element=1)
        if status not in ("A", "E", "R"):
            raise X12SyntaxError("TA1 acknowledgment code is not A, E or R", segment_number=seg.number,
                                 segment_id="TA1", element=4)
        found.append(InterchangeAcknowledgment(control.strip(), seg.get(2), seg.get(3), status, code,
                                               TA1_NOTES.get(code, "")))
    if not found:
        raise X12SyntaxError("no TA1 segment", segment_id="TA1")
    return found


# ---------------------------------------------------------------- 277CA and 277


@dataclass(frozen=True, slots=True)
class ClaimStatusCode:
    category: str  # A1, A2, A3, A7 ... (code source 507)
    status: str  # code source 508
    entity: str = ""

    @property
    def code(self) -> str:
        return ":".join(p for p in (self.category, self.status, self.entity) if p)


@dataclass(frozen=True, slots=True)
class ClaimAcknowledgment:
    """One claim in a 277CA (or 277): accepted / rejected, with why."""

    patient_control_number: str
    accepted: bool
    statuses: tuple[ClaimStatusCode, ...]
    status_date: str = ""
    total_charge: Decimal | None = None
    paid: Decimal | None = None
    payer_claim_number: str = ""
    clearinghouse_trace: str = ""
    trace_number: str = ""
    service_lines: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.statuses)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = _jsonable(asdict(self))
        data["reason_codes"] = list(self.reason_codes)
        return data


def _status_codes(seg: Segment, component: str) -> list[ClaimStatusCode]:
    codes = []
    for idx in (1, 10, 11):
        raw = seg.get(idx)
        if raw:
            parts = raw.split(component)
            codes.append(ClaimStatusCode(parts[0], parts[1] if len(parts) > 1 else "",
                                         parts[2] if len(parts) > 2 else ""))
    return codes


_AMOUNT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")  # X12 type R: no exponent, no NaN


def _decimal(seg: Segment, index: int) -> Decimal | None:
    raw = seg.get(index)
    if not raw:
        return None
    if _AMOUNT.fullmatch(raw) is None or len(raw) > 18:  # R is at most 18 characters
        raise X12SyntaxError("amount is not a number", segment_number=seg.number, segment_id=seg.id, element=index)
    return Decimal(raw)


def _read_277(text: str, expect_version: str | None) -> list[ClaimAcknowledgment]:
    from rcm_shared.x12 import detect_delimiters

    component = detect_delimiters(text).component
    claims: list[ClaimAcknowledgment] = []
    current: dict[str, Any] | None = None
    line: dict[str, Any] | None = None

    def flush() -> None:
        nonlocal current, line
        # a subscriber HL that only parents a dependent carries no claim
        if current is not None and (current["statuses"] or current.get("trace_number")):
            statuses = current["statuses"]
            current["accepted"] = bool(statuses) and statuses[0].category in ACCEPTED_CATEGORIES
            current["statuses"] = tuple(statuses)
            current["service_lines"] = tuple(current["service_lines"])
            claims.append(ClaimAcknowledgment(**current))
        current = None
        line = None

    for seg in iter_segments(text):
        sid = seg.id
        if sid == "ST":
            if seg.get(1) != "277":
                raise X12SyntaxError("not a 277 transaction", segment_number=seg.number, segment_id="ST", element=1)
            if expect_version and seg.get(3) and not seg.get(3).startswith(expect_version):
                raise X12SyntaxError("unexpected 277 implementation", segment_number=seg.number, segment_id="ST",
                                     element=3)
        elif sid == "HL":
            level = seg.get(3)
            if level in ("PT", "22", "23"):
                flush()
                current = {"patient_control_number": "", "accepted": False, "statuses": [], "service_lines": []}
            elif level in ("20", "21", "19"):
                flush()
        elif current is None:
            continue
        elif sid == "TRN" and seg.get(1) == "2":
            current["trace_number"] = seg.get(2)
            current["patient_control_number"] = current["patient_control_number"] or seg.get(2)
        elif sid == "STC":
            codes = _status_codes(seg, component)
            if line is not None:
                line["statuses"] = [c.code for c in codes]
            else:
                current["statuses"].extend(codes)
                current["status_date"] = seg.get(2)
                current["total_charge"] = _decimal(seg, 4)
                current["paid"] = _decimal(seg, 5)
        elif sid == "REF" and line is None:
            qualifier = seg.get(1)
            if qualifier == "1K":
                current["payer_claim_number"] = seg.get(2)
            elif qualifier == "D9":
                current["clearinghouse_trace"] = seg.get(2)
            elif qualifier == "EJ":
                current["patient_control_number"] = seg.get(2)
        elif sid == "SVC":
            proc = seg.get(1).split(component)
            line = {"procedure_code": proc[1] if len(proc) > 1 else proc[0], "charge": seg.get(2),
                    "paid": seg.get(3), "statuses": []}
            current["service_lines"].append(line)
    flush()
    return claims


def read_277ca(text: str) -> list[ClaimAcknowledgment]:
    """Per-claim acceptance from a 277CA (005010X214), keyed by patient control number (TRN*2)."""
    return _read_277(text, None)
