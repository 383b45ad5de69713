"""Patient A/R: what each patient still owes, charge by charge, and which claim each open amount belongs to.

Patient billing announces every entry of a patient's account (patient-balance-changed) but a payment names no
claim: a patient pays their account. Reporting therefore applies each patient's payments and credits to their
charges oldest first (first in, first out, as a statement ages them): a charge is either a claim's patient
responsibility (patient-responsibility-assessed, which names the claim; a reversal assessment takes it back) or
a self-pay charge (a visit billed to the patient at the practice's fee). Refunds give money back to the pool.
What is left open on each charge is that claim's (or visit's) patient A/R, aged from its date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

#: patient-balance-changed entry kinds that move money between the patient and the practice (the charges are
#: taken from the assessments and the self-pay entries, so responsibility entries are not counted twice).
PAYMENT_KINDS = frozenset({"payment", "credit"})
REFUND_KINDS = frozenset({"refund"})
SELF_PAY_KINDS = frozenset({"self_pay_charge"})


@dataclass(frozen=True, slots=True)
class PatientCharge:
    """Something the patient owes: ``claim_id`` None for a self-pay charge. ``charge_id`` orders equal dates."""

    charge_id: str
    patient_id: str
    claim_id: str | None
    charged_on: date
    cents: int


@dataclass(frozen=True, slots=True)
class PatientMoney:
    """Money from the patient (a payment or credit: positive) or back to them (a refund: negative)."""

    entry_id: str
    patient_id: str
    cents: int
    entered_on: date
    kind: str = "payment"


@dataclass(frozen=True, slots=True)
class OpenCharge:
    charge: PatientCharge
    collected_cents: int

    @property
    def open_cents(self) -> int:
        return self.charge.cents - self.collected_cents


def net_claim_charges(charges: Iterable[PatientCharge]) -> list[PatientCharge]:
    """One charge per claim (its assessments netted: a reversal takes the earlier one back, dated at the first),
    self-pay charges as they are; nothing negative is left as a charge."""
    by_claim: dict[tuple[str, str], list[PatientCharge]] = {}
    out: list[PatientCharge] = []
    for charge in charges:
        if charge.claim_id is None:
            if charge.cents > 0:
                out.append(charge)
        else:
            by_claim.setdefault((charge.patient_id, charge.claim_id), []).append(charge)
    for (patient_id, claim_id), items in by_claim.items():
        total = sum(c.cents for c in items)
        if total > 0:
            first = min(items, key=lambda c: (c.charged_on, c.charge_id))
            out.append(PatientCharge(f"claim:{claim_id}", patient_id, claim_id, first.charged_on, total))
    return out


def apply_payments(charges: Iterable[PatientCharge], money: Iterable[PatientMoney]) -> list[OpenCharge]:
    """Each patient's money applied to their charges oldest first. Every charge comes back once, with what was
    collected on it (0 <= collected <= charge); money beyond all charges is a credit balance, not A/R."""
    pool: dict[str, int] = {}
    for m in money:
        pool[m.patient_id] = pool.get(m.patient_id, 0) + m.cents
    ordered = sorted(net_claim_charges(charges), key=lambda c: (c.patient_id, c.charged_on, c.charge_id))
    out: list[OpenCharge] = []
    for charge in ordered:
        available = max(0, pool.get(charge.patient_id, 0))
        applied = min(available, charge.cents)
        pool[charge.patient_id] = available - applied
        out.append(OpenCharge(charge, applied))
    return out


def as_of(charges: Iterable[PatientCharge], money: Iterable[PatientMoney], day: date
          ) -> tuple[list[PatientCharge], list[PatientMoney]]:
    """What the patient ledger held at the end of ``day``."""
    return [c for c in charges if c.charged_on <= day], [m for m in money if m.entered_on <= day]
