"""A sandbox payer for the demo: reads the 837P files the platform submitted, adjudicates each claim by
simple, visible rules, and writes the 835 ERA a payer would send back (balanced to the cent).

Rules: allowed amount = the payer's fee for the code (else 70 % of the charge); patient pays the copay
(first line) and 20 % coinsurance on the rest for commercial payers; claims without a prior-auth number for
payers that require one are denied CARC 197; one claim in ``deny_every`` is denied CARC 50 (medical
necessity) so the denial path shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from claims.edi.x12_837_reader import iter_837p_claims
from rcm_shared.x12.dates import parse_d8

CENT = Decimal("0.01")


@dataclass
class SubmittedLine:
    procedure: str
    modifiers: list[str]
    charge: Decimal
    units: int
    service_date: date | None = None


@dataclass
class SubmittedClaim:
    patient_control_number: str
    total_charge: Decimal
    payer_id: str
    prior_auth: str | None
    lines: list[SubmittedLine] = field(default_factory=list)


@dataclass(frozen=True)
class PayerRules:
    payer_id: str
    payer_name: str
    fee_schedule: dict[str, Decimal]
    copay: Decimal = Decimal("25.00")
    coinsurance: Decimal = Decimal("0.20")
    requires_auth: bool = False
    auth_codes: frozenset[str] = frozenset({"90832", "90834", "90837", "90846", "90847", "90853"})
    deny_every: int = 7


def read_837_claims(text: str) -> list[SubmittedClaim]:
    """The claims of an 837P file, read by claims' own reader (``claims.edi.x12_837_reader``: one 837 reader on
    the platform), as the payer adjudicates them."""
    claims: list[SubmittedClaim] = []
    for claim in iter_837p_claims(text):
        lines = [SubmittedLine(ln["procedure_code"], list(ln["modifiers"]), Decimal(ln["charge"]),
                               int(Decimal(ln["units"] or "1")), parse_d8(ln["date_of_service"][:8])
                               if ln.get("date_of_service") else None) for ln in claim["lines"]]
        claims.append(SubmittedClaim(claim["patient_control_number"], Decimal(claim["total_charge"]),
                                     claim["payer"].get("payer_id", ""), claim["prior_authorization"], lines))
    return claims


@dataclass
class _Adjudicated:
    claim: SubmittedClaim
    status: str
    paid: Decimal
    patient: Decimal
    claim_cas: list[tuple[str, str, Decimal]]
    lines: list[tuple[SubmittedLine, Decimal, list[tuple[str, str, Decimal]]]]


def adjudicate(claims: list[SubmittedClaim], rules: PayerRules) -> list[_Adjudicated]:
    results = []
    for index, claim in enumerate(claims, start=1):
        needs_auth = rules.requires_auth and any(ln.procedure in rules.auth_codes for ln in claim.lines)
        if (needs_auth and not claim.prior_auth) or (rules.deny_every and index % rules.deny_every == 0):
            reason = "197" if needs_auth and not claim.prior_auth else "50"
            lines = [(ln, Decimal("0.00"), [("CO", reason, ln.charge)]) for ln in claim.lines]
            results.append(_Adjudicated(claim, "1", Decimal("0.00"), Decimal("0.00"), [], lines))
            continue
        copay_left = rules.copay
        out_lines = []
        paid_total = Decimal("0.00")
        patient_total = Decimal("0.00")
        for line in claim.lines:
            fee = rules.fee_schedule.get(line.procedure)
            allowed = min(line.charge, (fee * line.units) if fee else (line.charge * Decimal("0.70")))
            allowed = allowed.quantize(CENT, ROUND_HALF_UP)
            cas: list[tuple[str, str, Decimal]] = []
            if line.charge > allowed:
                cas.append(("CO", "45", line.charge - allowed))
            copay = min(copay_left, allowed)
            copay_left -= copay
            coins = ((allowed - copay) * rules.coinsurance).quantize(CENT, ROUND_HALF_UP)
            if copay:
                cas.append(("PR", "3", copay))
            if coins:
                cas.append(("PR", "2", coins))
            paid = allowed - copay - coins
            paid_total += paid
            patient_total += copay + coins
            out_lines.append((line, paid, cas))
        results.append(_Adjudicated(claim, "1", paid_total, patient_total, [], out_lines))
    return results


def _amount(value: Decimal) -> str:
    text = format(value.quantize(CENT), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def write_835(adjudicated: list[_Adjudicated], rules: PayerRules, *, payee_npi: str, payee_name: str,
              trace_number: str, control_number: int, payment_date: date) -> str:
    total_paid = sum((a.paid for a in adjudicated), Decimal("0.00"))
    d8 = payment_date.strftime("%Y%m%d")
    segs: list[str] = [
        f"ISA*00*          *00*          *ZZ*{rules.payer_id[:15]:<15}*ZZ*{'RCMPLATFORM':<15}*"
        f"{payment_date.strftime('%y%m%d')}*1200*^*00501*{control_number:09d}*0*T*:",
        f"GS*HP*{rules.payer_id}*RCMPLATFORM*{d8}*1200*{control_number}*X*005010X221A1",
        "ST*835*0001",
        (f"BPR*I*{_amount(total_paid)}*C*ACH*CCP*01*999999999*DA*123456789*1512345678**01*999988880*DA*98765*{d8}"
         if total_paid > 0 else f"BPR*H*0*C*NON{'*' * 12}{d8}"),
        f"TRN*1*{trace_number}*1{rules.payer_id[:9]:0>9}",
        f"DTM*405*{d8}",
        f"N1*PR*{rules.payer_name}",
        "N3*100 PAYER WAY",
        "N4*HARTFORD*CT*06101",
        "PER*BL*PROVIDER SERVICES*TE*8005551212",
        f"N1*PE*{payee_name}*XX*{payee_npi}",
        "LX*1",
    ]
    for a in adjudicated:
        c = a.claim
        segs.append(f"CLP*{c.patient_control_number}*{a.status}*{_amount(c.total_charge)}*{_amount(a.paid)}*"
                    f"{_amount(a.patient)}*12*{trace_number[-6:]}{c.patient_control_number[-8:]}*11*1")
        segs.append("NM1*QC*1*PATIENT*DEMO")
        for line, paid, cas in a.lines:
            mods = "".join(f":{m}" for m in line.modifiers)
            segs.append(f"SVC*HC:{line.procedure}{mods}*{_amount(line.charge)}*{_amount(paid)}**{line.units}")
            if line.service_date:
                segs.append(f"DTM*472*{line.service_date.strftime('%Y%m%d')}")
            by_group: dict[str, list[tuple[str, Decimal]]] = {}
            for group, reason, amount in cas:
                by_group.setdefault(group, []).append((reason, amount))
            for group, items in by_group.items():
                segs.append(f"CAS*{group}*" + "**".join(f"{r}*{_amount(v)}" for r, v in items))
            allowed = paid + sum((v for g, _, v in cas if g == "PR"), Decimal("0"))
            if paid > 0:
                segs.append(f"AMT*B6*{_amount(allowed)}")
    st_count = len(segs) - 2 + 1
    segs.append(f"SE*{st_count}*0001")
    segs.append(f"GE*1*{control_number}")
    segs.append(f"IEA*1*{control_number:09d}")
    return "~\n".join(segs) + "~\n"
