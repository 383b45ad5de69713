"""The sandbox payer (``rcm demo``): adjudicates the claims the platform submitted by simple, visible rules and writes
the 835 ERA a payer would send back (balanced to the cent), with the platform's one 835 writer (``edi/era_writer``).
A fake counterparty of remittance: reading the 837P it answers is the caller's business (``rcm_cli.payer``).

Rules: allowed amount = the payer's fee for the code (else 70 % of the charge); patient pays the copay
(first line) and 20 % coinsurance on the rest for commercial payers; claims without a prior-auth number for
payers that require one are denied CARC 197; one claim in ``deny_every`` is denied CARC 50 (medical
necessity) so the denial path shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from remittance.edi.era_writer import DraftAdjustment, DraftClaim, DraftLine, DraftTransaction
from remittance.edi.era_writer import write_835 as write_era

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


@dataclass
class Adjudicated:
    claim: SubmittedClaim
    status: str
    paid: Decimal
    patient: Decimal
    claim_cas: list[tuple[str, str, Decimal]]
    lines: list[tuple[SubmittedLine, Decimal, list[tuple[str, str, Decimal]]]]


def adjudicate(claims: list[SubmittedClaim], rules: PayerRules) -> list[Adjudicated]:
    results = []
    for index, claim in enumerate(claims, start=1):
        needs_auth = rules.requires_auth and any(ln.procedure in rules.auth_codes for ln in claim.lines)
        if (needs_auth and not claim.prior_auth) or (rules.deny_every and index % rules.deny_every == 0):
            reason = "197" if needs_auth and not claim.prior_auth else "50"
            lines = [(ln, Decimal("0.00"), [("CO", reason, ln.charge)]) for ln in claim.lines]
            results.append(Adjudicated(claim, "1", Decimal("0.00"), Decimal("0.00"), [], lines))
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
        results.append(Adjudicated(claim, "1", paid_total, patient_total, [], out_lines))
    return results


def write_835(adjudicated: list[Adjudicated], rules: PayerRules, *, payee_npi: str, payee_name: str,
              trace_number: str, control_number: int, payment_date: date) -> str:
    """The ERA for these adjudications, written by the platform's one 835 writer, so the demo payer sends exactly
    what remittance reads and pyx12 validates."""
    claims = []
    for a in adjudicated:
        c = a.claim
        lines = []
        for line, paid, cas in a.lines:
            patient = sum((v for g, _, v in cas if g == "PR"), Decimal("0"))
            lines.append(DraftLine(
                line.procedure, line.charge.quantize(CENT), paid.quantize(CENT), tuple(line.modifiers),
                Decimal(line.units), tuple(DraftAdjustment(g, r, v.quantize(CENT)) for g, r, v in cas),
                line.service_date.strftime("%Y%m%d") if line.service_date else None,
                (paid + patient).quantize(CENT) if paid > 0 else None))
        claims.append(DraftClaim(
            c.patient_control_number, a.status, c.total_charge.quantize(CENT), a.paid.quantize(CENT),
            a.patient.quantize(CENT), payer_claim_number=f"{trace_number[-6:]}{c.patient_control_number[-8:]}",
            lines=tuple(lines), patient_last_name="PATIENT", patient_first_name="DEMO", member_id="",
            facility_code="11", frequency_code="1"))
    total_paid = sum((a.paid for a in adjudicated), Decimal("0.00")).quantize(CENT)
    transaction = DraftTransaction(
        tuple(claims), total_paid=total_paid, payment_method="ACH" if total_paid > 0 else "NON",
        payment_date=payment_date.strftime("%Y%m%d"), trace_number=trace_number, payer_name=rules.payer_name,
        payer_id=rules.payer_id, payee_name=payee_name, payee_npi=payee_npi, provider_id=payee_npi)
    return write_era([[transaction]], newline=True, interchange_control_number=control_number,
                     sender_id=rules.payer_id, receiver_id="RCMPLATFORM",
                     created=datetime.combine(payment_date, time(12, 0)))
