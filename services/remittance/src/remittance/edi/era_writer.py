"""The platform's one 835 writer: test fixtures, sandbox ERAs and the demo payer (``rcm demo``) all write with it,
so what they send is what remittance reads (and pyx12 validates it against 005010X221A1).

Public API::

    write_835(transactions: Sequence[Sequence[DraftTransaction]], *, delimiters=Delimiters(), newline=False,
              interchange_control_number=1, sender_id="SANDBOXPAYER", receiver_id="SANDBOXPROV",
              created=datetime(2026, 1, 5, 12, 0)) -> str

The outer sequence is functional groups (GS), the inner one ST transactions. Counts (SE01, GE01, IEA01) and
control numbers are computed. Amounts are written exactly as given; balancing is the caller's business
(``DraftTransaction.balanced_total()`` gives the BPR02 that balances).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from rcm_shared.x12 import Delimiters

ZERO = Decimal("0")


@dataclass(frozen=True)
class DraftAdjustment:
    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True)
class DraftLine:
    procedure: str
    charge: Decimal
    paid: Decimal
    modifiers: tuple[str, ...] = ()
    units: Decimal | None = None
    adjustments: tuple[DraftAdjustment, ...] = ()
    service_date: str | None = None
    allowed: Decimal | None = None
    remarks: tuple[str, ...] = ()
    control_number: str | None = None


@dataclass(frozen=True)
class DraftClaim:
    patient_control_number: str
    status: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None = None
    payer_claim_number: str = "PAYERCLAIM1"
    adjustments: tuple[DraftAdjustment, ...] = ()
    lines: tuple[DraftLine, ...] = ()
    patient_last_name: str = "DOE"
    patient_first_name: str = "JANE"
    member_id: str = "MEMBER01"
    statement_from: str | None = None
    remarks: tuple[str, ...] = ()
    crossover_carrier: tuple[str, str] | None = None  # (name, payer id): NM1*TT when the claim was forwarded
    facility_code: str | None = None  # CLP08 (place of service for professional claims, e.g. 11 office)
    frequency_code: str | None = None  # CLP09 (1 original, 7 replacement, 8 void)


@dataclass(frozen=True)
class DraftProviderAdjustment:
    reason: str
    amount: Decimal
    reference: str = ""


@dataclass(frozen=True)
class DraftTransaction:
    claims: tuple[DraftClaim, ...]
    total_paid: Decimal | None = None  # None: the balancing total
    provider_adjustments: tuple[DraftProviderAdjustment, ...] = ()
    control_number: str = "0001"
    payment_method: str = "ACH"  # NON: no payment (BPR01 H, notification only)
    payment_date: str | None = "20260105"
    trace_number: str = "TRACE0001"
    payer_name: str = "EXAMPLE BEHAVIORAL PLAN"
    payer_id: str = "1999999999"
    payee_name: str = "EXAMPLE THERAPY GROUP"
    payee_npi: str = "1234567893"
    provider_id: str = "1234567893"
    extra_header_segments: tuple[tuple[str, ...], ...] = field(default=())

    def balanced_total(self) -> Decimal:
        return sum((c.paid for c in self.claims), ZERO) - sum((p.amount for p in self.provider_adjustments), ZERO)


def _cas(segments: list[list[str]], adjustments: Sequence[DraftAdjustment]) -> None:
    """Group by CAS01 with at most six triples per segment, as payers do."""
    by_group: dict[str, list[DraftAdjustment]] = {}
    for adjustment in adjustments:
        by_group.setdefault(adjustment.group, []).append(adjustment)
    for group, items in by_group.items():
        for start in range(0, len(items), 6):
            seg = ["CAS", group]
            for a in items[start:start + 6]:
                seg += [a.reason, str(a.amount), "" if a.quantity is None else str(a.quantity)]
            while seg[-1] == "":
                seg.pop()
            segments.append(seg)


def _trimmed(segment: list[str]) -> list[str]:
    while segment and segment[-1] == "":
        segment.pop()
    return segment


def _transaction(t: DraftTransaction, d: Delimiters) -> list[list[str]]:
    total = t.balanced_total() if t.total_paid is None else t.total_paid
    if t.payment_method == "NON":  # no money moves: BPR16 (the date) is the only other element
        bpr = ["BPR", "H", str(abs(total)), "C", "NON", *([""] * 11), t.payment_date or ""]
    else:
        bpr = ["BPR", "I", str(abs(total)), "D" if total < 0 else "C", t.payment_method,
               "CCP" if t.payment_method == "ACH" else ""]
        if t.payment_date:
            bpr += ["01", "999999992", "DA", "123456", "1512345678", "", "01", "999988880", "DA", "98765",
                    t.payment_date]
    segs: list[list[str]] = [
        ["ST", "835", t.control_number],
        _trimmed(bpr),
        ["TRN", "1", t.trace_number, "1" + t.payer_id[-9:].rjust(9, "0")],
        ["DTM", "405", t.payment_date or "20260105"],
        *[list(s) for s in t.extra_header_segments],
        ["N1", "PR", t.payer_name],
        ["N3", "100 PAYER WAY"],
        ["N4", "SPRINGFIELD", "IL", "62701"],
        ["PER", "BL", "EDI SUPPORT", "TE", "8005550100"],
        ["N1", "PE", t.payee_name, "XX", t.payee_npi],
        ["REF", "TJ", "123456789"],
    ]
    if t.claims:
        segs.append(["LX", "1"])
    for c in t.claims:
        clp = ["CLP", c.patient_control_number, c.status, str(c.charge), str(c.paid),
               "" if c.patient_responsibility is None else str(c.patient_responsibility), "12", c.payer_claim_number,
               c.facility_code or "", c.frequency_code or ""]
        segs.append(_trimmed(clp))
        _cas(segs, c.adjustments)
        segs.append(_trimmed(["NM1", "QC", "1", c.patient_last_name, c.patient_first_name, "", "", "",
                              "MI" if c.member_id else "", c.member_id]))
        if c.crossover_carrier:
            segs.append(["NM1", "TT", "2", c.crossover_carrier[0], "", "", "", "", "PI", c.crossover_carrier[1]])
        if c.remarks:
            segs.append(["MOA", "", "", *c.remarks])
        if c.statement_from:
            segs.append(["DTM", "232", c.statement_from])
        for line in c.lines:
            procedure = d.component.join(("HC", line.procedure, *line.modifiers))
            svc = ["SVC", procedure, str(line.charge), str(line.paid)]
            if line.units is not None:
                svc += ["", str(line.units)]
            segs.append(svc)
            if line.service_date:
                segs.append(["DTM", "472", line.service_date])
            _cas(segs, line.adjustments)
            if line.control_number:
                segs.append(["REF", "6R", line.control_number])
            if line.allowed is not None:
                segs.append(["AMT", "B6", str(line.allowed)])
            segs.extend(["LQ", "HE", code] for code in line.remarks)
    if t.provider_adjustments:
        for start in range(0, len(t.provider_adjustments), 6):
            plb = ["PLB", t.provider_id, "20261231"]
            for p in t.provider_adjustments[start:start + 6]:
                plb += [p.reason + (d.component + p.reference if p.reference else ""), str(p.amount)]
            segs.append(plb)
    segs.append(["SE", str(len(segs) + 1), t.control_number])
    return segs


def write_835(groups: Sequence[Sequence[DraftTransaction]], *, delimiters: Delimiters | None = None,
              newline: bool = False, interchange_control_number: int = 1, sender_id: str = "SANDBOXPAYER",
              receiver_id: str = "SANDBOXPROV", created: datetime = datetime(2026, 1, 5, 12, 0)) -> str:
    d = delimiters or Delimiters()
    e = d.element
    isa = e.join(["ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender_id[:15].ljust(15), "ZZ",
                  receiver_id[:15].ljust(15), created.strftime("%y%m%d"), created.strftime("%H%M"), d.repetition,
                  "00501", f"{interchange_control_number:09d}", "0", "T", d.component])
    segments: list[str] = [isa]
    for g, transactions in enumerate(groups, 1):
        segments.append(e.join(["GS", "HP", sender_id, receiver_id, created.strftime("%Y%m%d"),
                                created.strftime("%H%M"), str(g), "X", "005010X221A1"]))
        for t in transactions:
            segments.extend(e.join(seg) for seg in _transaction(t, d))
        segments.append(e.join(["GE", str(len(transactions)), str(g)]))
    segments.append(e.join(["IEA", str(len(groups)), f"{interchange_control_number:09d}"]))
    joiner = d.segment + ("\n" if newline else "")
    return joiner.join(segments) + d.segment + ("\n" if newline else "")
