"""Posting an 835 into double-entry journal entries, and the ledger that applies them.

Public API::

    RemittancePosting(plb_accounts=None)
        .charge(facts: ClaimFacts) -> JournalEntry                      # Dr payer_ar / Cr gross_charges
        .post_claim(payment: ClaimPayment, facts: ClaimFacts | None) -> ClaimPosting
        .post_provider_adjustments(adjustments, trace_number) -> list[JournalEntry]
        .deposit(amount, trace_number) -> JournalEntry                  # Dr cash / Cr undeposited_era
    Ledger().apply(entry); .balance(account, claim_id=None); .balances(); .total_debits; .total_credits
    load_plb_accounts(mapping) -> dict[str, str]                        # from rules/posting.yaml, parsed

Posting rules (per claim payment matched to our claim):

* payment CLP04: Dr undeposited_era / Cr payer_ar;
* CO adjustments: Dr contractual_writeoff / Cr payer_ar;
* PR adjustments: Dr patient_ar / Cr payer_ar, split deductible / coinsurance / copay / other by CARC 1 / 2 / 3;
* OA and PI adjustments: Dr other_adjustment / Cr payer_ar;
* a reversal (CLP02 22) carries negated amounts, so the same rules produce the exact negation of the original;
* an unmatched claim payment: Dr undeposited_era / Cr unapplied_cash (its adjustments wait for a match).

Provider-level adjustments (PLB): a positive amount reduces the payment (Dr the reason's account /
Cr undeposited_era), a negative one (L6 interest) adds to it. Negative journal amounts are never written:
a negative amount swaps the debit and credit sides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from remittance.domain.model import ZERO, Adjustment, ClaimPayment, ProviderAdjustment, ServiceLine

CENT = Decimal("0.01")

PAYER_AR = "payer_ar"
PATIENT_AR = "patient_ar"
UNDEPOSITED_ERA = "undeposited_era"
CASH = "cash"
CONTRACTUAL_WRITEOFF = "contractual_writeoff"
OTHER_ADJUSTMENT = "other_adjustment"
UNAPPLIED_CASH = "unapplied_cash"
INTEREST_INCOME = "interest_income"
PLB_RECOVERY = "plb_recovery"
GROSS_CHARGES = "gross_charges"

ACCOUNTS = frozenset({PAYER_AR, PATIENT_AR, UNDEPOSITED_ERA, CASH, CONTRACTUAL_WRITEOFF, OTHER_ADJUSTMENT,
                      UNAPPLIED_CASH, INTEREST_INCOME, PLB_RECOVERY, GROSS_CHARGES})

# Used when no rules file is given; rules/posting.yaml holds the same mapping as data.
DEFAULT_PLB_ACCOUNTS: dict[str, str] = {"L6": INTEREST_INCOME, "*": PLB_RECOVERY}

PATIENT_SHARE_BY_CARC = {"1": "deductible", "2": "coinsurance", "3": "copay"}

Outcome = Literal["paid", "partially_paid", "denied", "reversed", "unapplied"]


class PostingError(ValueError):
    """A journal entry that would break double entry (unbalanced, negative or sub-cent amounts)."""


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One side of an entry: exactly one of ``debit`` / ``credit`` is positive. ``detail`` sub-classifies
    (deductible, coinsurance, copay, a CARC like CO-45, a PLB reason)."""

    account: str
    debit: Decimal
    credit: Decimal
    claim_id: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced double-entry journal entry; refuses to exist unbalanced."""

    kind: str
    reference: str
    lines: tuple[JournalLine, ...]
    memo: str = ""

    def __post_init__(self) -> None:
        if len(self.lines) < 2:
            raise PostingError("an entry needs at least two lines")
        for line in self.lines:
            if line.account not in ACCOUNTS:
                raise PostingError(f"unknown account {line.account}")
            if line.debit < 0 or line.credit < 0 or (line.debit and line.credit):
                raise PostingError("each line is either a non-negative debit or a non-negative credit")
            if cents(line.debit) != line.debit or cents(line.credit) != line.credit:
                raise PostingError("amounts must be whole cents")
        if self.total_debits != self.total_credits:
            raise PostingError(f"debits {self.total_debits} differ from credits {self.total_credits}")

    @property
    def total_debits(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def total_credits(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)

    def reversed(self, reference: str | None = None) -> JournalEntry:
        """The exact negation (debits and credits swapped)."""
        return JournalEntry(
            kind=f"{self.kind}_reversal", reference=reference or self.reference,
            lines=tuple(JournalLine(x.account, x.credit, x.debit, x.claim_id, x.detail) for x in self.lines),
            memo=self.memo,
        )


def transfer(kind: str, reference: str, debit_account: str, credit_account: str, amount: Decimal,
             claim_id: str | None = None, detail: str = "", memo: str = "") -> JournalEntry | None:
    """Dr ``debit_account`` / Cr ``credit_account`` by ``amount``; sides swap when it is negative; None for 0."""
    amount = cents(amount)
    if not amount:
        return None
    if amount < 0:
        debit_account, credit_account, amount = credit_account, debit_account, -amount
    return JournalEntry(kind, reference, (
        JournalLine(debit_account, amount, ZERO, claim_id, detail),
        JournalLine(credit_account, ZERO, amount, claim_id, detail),
    ), memo)


@dataclass(frozen=True, slots=True)
class ClaimLineFacts:
    """One line of our claim, as the claims service billed it."""

    line_number: int
    procedure_code: str
    charge: Decimal
    modifiers: tuple[str, ...] = ()
    units: Decimal = Decimal(1)
    line_item_control_number: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """Our side of a matched claim: its id, the patient control number we sent (CLM01) and its lines."""

    claim_id: str
    patient_control_number: str
    lines: tuple[ClaimLineFacts, ...] = ()

    @property
    def total_charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), ZERO)


@dataclass(frozen=True, slots=True)
class PatientResponsibility:
    deductible: Decimal = ZERO
    coinsurance: Decimal = ZERO
    copay: Decimal = ZERO
    other: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.deductible + self.coinsurance + self.copay + self.other


@dataclass(frozen=True, slots=True)
class ClaimPosting:
    """What posting one claim payment produced."""

    claim_id: str | None
    outcome: Outcome
    entries: tuple[JournalEntry, ...]
    patient_responsibility: PatientResponsibility
    contractual_adjustment: Decimal
    line_matches: tuple[tuple[int, int | None], ...]  # (835 line ordinal, our line number or None)
    discrepancies: tuple[str, ...] = field(default=())


def load_plb_accounts(data: Mapping[str, Any]) -> dict[str, str]:
    """Read ``plb_accounts`` (reason -> account, ``*`` the fallback) from the parsed rules/posting.yaml."""
    raw = data.get("plb_accounts")
    if not isinstance(raw, Mapping):
        raise ValueError("posting rules need a plb_accounts mapping")
    mapping = {str(k): str(v) for k, v in raw.items()}
    unknown = set(mapping.values()) - ACCOUNTS
    if unknown:
        raise ValueError(f"unknown accounts in plb_accounts: {sorted(unknown)}")
    if "*" not in mapping:
        raise ValueError("plb_accounts needs a '*' fallback")
    return mapping


def _match_lines(lines: list[ServiceLine], facts: ClaimFacts) -> tuple[list[tuple[int, int | None]], list[str]]:
    """Pair 835 lines with our lines: REF*6R first, then procedure + modifiers + charge, then procedure + charge."""
    unused = list(facts.lines)
    matches: list[tuple[int, int | None]] = []
    problems: list[str] = []
    by_control = {f.line_item_control_number or str(f.line_number): f for f in facts.lines}
    for line in lines:
        chosen: ClaimLineFacts | None = None
        control = line.line_item_control_number
        if control is not None and by_control.get(control) in unused:
            chosen = by_control[control]
        else:
            procedure = line.original_procedure or line.procedure
            for strict in (True, False):
                for candidate in unused:
                    if candidate.procedure_code == procedure.code and candidate.charge == line.charge and (
                            not strict or tuple(candidate.modifiers) == procedure.modifiers):
                        chosen = candidate
                        break
                if chosen is not None:
                    break
        if chosen is None:
            problems.append(f"line {line.ordinal} matches none of our claim lines")
            matches.append((line.ordinal, None))
        else:
            unused.remove(chosen)
            matches.append((line.ordinal, chosen.line_number))
    return matches, problems


class RemittancePosting:
    """Turns claim payments and PLB adjustments into balanced journal entries (pure: no ledger access)."""

    def __init__(self, plb_accounts: Mapping[str, str] | None = None) -> None:
        self.plb_accounts = dict(plb_accounts or DEFAULT_PLB_ACCOUNTS)

    def charge(self, facts: ClaimFacts) -> JournalEntry:
        entry = transfer("charge", facts.claim_id, PAYER_AR, GROSS_CHARGES, facts.total_charge, facts.claim_id)
        if entry is None:
            raise PostingError("a claim without charges cannot be posted")
        return entry

    def post_claim(self, payment: ClaimPayment, facts: ClaimFacts | None) -> ClaimPosting:
        reference = payment.payer_claim_number or payment.patient_control_number
        paid = payment.paid
        if facts is None:
            entry = transfer("unapplied_payment", reference, UNDEPOSITED_ERA, UNAPPLIED_CASH, paid, None,
                             payment.status_code, "claim payment matched no claim of ours")
            return ClaimPosting(None, "unapplied", (entry,) if entry else (), PatientResponsibility(), ZERO,
                                tuple((line.ordinal, None) for line in payment.lines),
                                ("no matching claim",))
        claim_id = facts.claim_id
        entries: list[JournalEntry | None] = [
            transfer("payment", reference, UNDEPOSITED_ERA, PAYER_AR, paid, claim_id, payment.status_code)]
        shares = {"deductible": ZERO, "coinsurance": ZERO, "copay": ZERO, "other": ZERO}
        contractual = ZERO
        for adjustment in payment.all_adjustments:
            entries.append(self._adjustment_entry(adjustment, reference, claim_id))
            if adjustment.group == "PR":
                shares[PATIENT_SHARE_BY_CARC.get(adjustment.reason, "other")] += adjustment.amount
            elif adjustment.group == "CO":
                contractual += adjustment.amount
        lines = payment.lines
        matches, discrepancies = _match_lines(lines, facts) if facts.lines else ([], [])
        if facts.lines and abs(payment.charge) != facts.total_charge:
            discrepancies.append("CLP03 differs from our claim charge")
        return ClaimPosting(
            claim_id, self._outcome(payment), tuple(e for e in entries if e is not None),
            PatientResponsibility(**shares), contractual, tuple(matches), tuple(discrepancies),
        )

    @staticmethod
    def _adjustment_entry(adjustment: Adjustment, reference: str, claim_id: str) -> JournalEntry | None:
        detail = f"{adjustment.group}-{adjustment.reason}"
        if adjustment.group == "PR":
            account = PATIENT_AR
            detail = PATIENT_SHARE_BY_CARC.get(adjustment.reason, detail)
        elif adjustment.group == "CO":
            account = CONTRACTUAL_WRITEOFF
        else:
            account = OTHER_ADJUSTMENT
        return transfer("adjustment", reference, account, PAYER_AR, adjustment.amount, claim_id, detail)

    @staticmethod
    def _outcome(payment: ClaimPayment) -> Outcome:
        if payment.is_reversal:
            return "reversed"
        if payment.paid == 0:
            return "denied"
        if any(line.paid == 0 and line.charge > 0 for line in payment.lines):
            return "partially_paid"
        return "paid"

    def post_provider_adjustments(self, adjustments: Iterable[ProviderAdjustment],
                                  trace_number: str) -> list[JournalEntry]:
        entries = []
        for plb in adjustments:
            account = self.plb_accounts.get(plb.reason, self.plb_accounts["*"])
            entry = transfer("provider_adjustment", trace_number, account, UNDEPOSITED_ERA, plb.amount, None,
                             plb.reason, f"PLB {plb.reason}")
            if entry is not None:
                entries.append(entry)
        return entries

    def deposit(self, amount: Decimal, trace_number: str) -> JournalEntry | None:
        """The bank deposit for an ERA (matched by the adapter on the trace number)."""
        return transfer("deposit", trace_number, CASH, UNDEPOSITED_ERA, amount)


class Ledger:
    """Applies journal entries and keeps debit-positive balances per account and per (account, claim)."""

    def __init__(self) -> None:
        self._balances: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self._claim_balances: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
        self.total_debits = ZERO
        self.total_credits = ZERO
        self.entry_count = 0

    def apply(self, entry: JournalEntry) -> None:
        if entry.total_debits != entry.total_credits:  # JournalEntry guards this too; the ledger trusts no one
            raise PostingError("unbalanced entry")
        for line in entry.lines:
            delta = line.debit - line.credit
            self._balances[line.account] += delta
            if line.claim_id is not None:
                self._claim_balances[(line.account, line.claim_id)] += delta
            self.total_debits += line.debit
            self.total_credits += line.credit
        self.entry_count += 1

    def apply_all(self, entries: Iterable[JournalEntry]) -> None:
        for entry in entries:
            self.apply(entry)

    def balance(self, account: str, claim_id: str | None = None) -> Decimal:
        """Debits minus credits (so revenue and liability accounts read negative)."""
        if claim_id is None:
            return self._balances.get(account, ZERO)
        return self._claim_balances.get((account, claim_id), ZERO)

    def balances(self) -> dict[str, Decimal]:
        return {account: value for account, value in sorted(self._balances.items()) if value}
