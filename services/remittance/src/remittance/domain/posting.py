"""Posting an 835 into double-entry journal entries, and the ledger that applies them.

Public API::

    RemittancePosting(plb_accounts=None, coordination=None)
        .charge(facts: ClaimFacts) -> JournalEntry                      # Dr payer_ar / Cr gross_charges
        .post_claim(payment: ClaimPayment, facts: ClaimFacts | None, *, held_for_this_payer=0, as_of=None)
            -> ClaimPosting
        .reverse(reversal: ClaimPayment, original: PostedClaim) -> ClaimPosting
        .hold_duplicate(payment: ClaimPayment, claim_id, hold_account) -> ClaimPosting  # Dr undeposited / Cr hold
        .hold_provider_adjustments(adjustments, trace_number, hold_account) -> list[JournalEntry]
        .release_hold(amount, reference, claim_id, hold_account, to_account) -> JournalEntry | None
        .post_provider_adjustments(adjustments, trace_number) -> list[JournalEntry]
        .deposit(amount, trace_number) -> JournalEntry                  # Dr cash / Cr undeposited_era
    Ledger().apply(entry); .balance(account, claim_id=None); .balances(); .total_debits; .total_credits
    load_plb_accounts(mapping) -> dict[str, str]                        # from rules/posting.yaml, parsed
    load_coordination(mapping) -> tuple[CoordinationRules, ...]         # idem

Posting rules (per claim payment matched to our claim):

* payment CLP04: Dr undeposited_era / Cr payer_ar;
* CO adjustments: Dr contractual_writeoff / Cr payer_ar;
* PR adjustments: Dr patient_responsibility_transferred / Cr payer_ar, split deductible / coinsurance / copay /
  other by CARC 1 / 2 / 3. Patient-billing is the one owner of patient A/R: what the payer assigns to the patient
  is handed to it (patient-responsibility-assessed), and remittance's account only records the transfer (a
  clearing account: no patient payment is ever expected or received in these books; its balance per practice is
  what patient-billing was handed, net of reversals);
* OA and PI adjustments: Dr other_adjustment / Cr payer_ar;
* an unmatched claim payment: Dr undeposited_era / Cr unapplied_cash (its adjustments wait for a match);
* a payment that repeats one already posted to the claim (domain/duplicates.py): Dr undeposited_era / Cr the
  hold account (overpayment_suspense), nothing else: the cash is where the bank will show it, the claim and
  the patient are untouched, and the hold is released by a person's decision (refunded, recouped, not
  received, or applied to the claim after all).

Coordination of benefits (billing primer section 5; which statuses and reasons mean what is data,
``coordination`` in rules/posting.yaml):

* crossover (CLP02 19/20/21: processed, then forwarded by the payer to the next payer, named by NM1*TT):
  the PR share is not the patient's yet. Dr secondary_payer_ar / Cr payer_ar, nothing billed to the patient;
* the next payer settles it (CLP02 2/3, or 20/21 forwarding again, on a claim that holds a forwarded
  balance): its payment and its own adjustments are credited to secondary_payer_ar, the adjustment that
  only reports the prior payer's adjudication (CARC 23) is not booked again, and only the PR it leaves is
  transferred to patient-billing (patient_responsibility_transferred). With nothing held, the payer settles
  what we billed it (payer_ar);
* a reversal (CLP02 22) reverses the original posting's own journal entries line by line (whatever rules
  made them) and takes back what was billed to the patient; without an original posting to reverse, the
  negated amounts go through the rules above, which also nets an ordinary primary payment to zero.

Provider-level adjustments (PLB): a positive amount reduces the payment (Dr the reason's account /
Cr undeposited_era), a negative one (L6 interest) adds to it. Negative journal amounts are never written:
a negative amount swaps the debit and credit sides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, NamedTuple

from remittance.domain.model import ZERO, Adjustment, ClaimPayment, ProviderAdjustment, ServiceLine

CENT = Decimal("0.01")

PAYER_AR = "payer_ar"
# What the payer assigned to the patient and remittance handed to patient-billing, the one owner of patient A/R
# (docs/decisions.md 2026-12-02): a transfer account, never a receivable of remittance's.
PATIENT_RESPONSIBILITY_TRANSFERRED = "patient_responsibility_transferred"
UNDEPOSITED_ERA = "undeposited_era"
CASH = "cash"
CONTRACTUAL_WRITEOFF = "contractual_writeoff"
OTHER_ADJUSTMENT = "other_adjustment"
UNAPPLIED_CASH = "unapplied_cash"
INTEREST_INCOME = "interest_income"
PLB_RECOVERY = "plb_recovery"
GROSS_CHARGES = "gross_charges"
# What the next payer (secondary / tertiary) is expected to pay after the payer before it forwarded the claim.
SECONDARY_PAYER_AR = "secondary_payer_ar"
# Money received for a claim payment already posted (a duplicate payment): owed back to the payer or applied
# by a person's decision, never to the claim by itself.
OVERPAYMENT_SUSPENSE = "overpayment_suspense"

ACCOUNTS = frozenset({PAYER_AR, PATIENT_RESPONSIBILITY_TRANSFERRED, UNDEPOSITED_ERA, CASH, CONTRACTUAL_WRITEOFF,
                      OTHER_ADJUSTMENT, UNAPPLIED_CASH, INTEREST_INCOME, PLB_RECOVERY, GROSS_CHARGES,
                      SECONDARY_PAYER_AR, OVERPAYMENT_SUSPENSE})

# Used when no rules file is given; rules/posting.yaml holds the same mapping as data.
DEFAULT_PLB_ACCOUNTS: dict[str, str] = {"L6": INTEREST_INCOME, "*": PLB_RECOVERY}

PATIENT_SHARE_BY_CARC = {"1": "deductible", "2": "coinsurance", "3": "copay"}

Outcome = Literal["paid", "partially_paid", "denied", "reversed", "unapplied", "held_duplicate"]
# primary: against what we billed the payer; crossover_settlement: against what the payer before forwarded;
# reversal: the original posting's entries reversed; duplicate_held: the money held, nothing posted.
Basis = Literal["primary", "crossover_settlement", "reversal", "unapplied", "duplicate_held"]


class PostingError(ValueError):
    """A journal entry that would break double entry (unbalanced, negative or sub-cent amounts)."""


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class JournalLine(NamedTuple):
    """One side of an entry: exactly one of ``debit`` / ``credit`` is positive. ``detail`` sub-classifies
    (deductible, coinsurance, copay, a CARC like CO-45, a PLB reason). A named tuple: an ERA makes tens of
    thousands of them, and the entry that holds them checks them."""

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
        debits = credits = ZERO
        for line in self.lines:
            if line.account not in ACCOUNTS:
                raise PostingError(f"unknown account {line.account}")
            debit, credit = line.debit, line.credit
            if debit < 0 or credit < 0 or (debit and credit):
                raise PostingError("each line is either a non-negative debit or a non-negative credit")
            if debit.quantize(CENT) != debit or credit.quantize(CENT) != credit:
                raise PostingError("amounts must be whole cents")
            debits += debit
            credits += credit
        if debits != credits:
            raise PostingError(f"debits {debits} differ from credits {credits}")

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


def _negated(share: PatientResponsibility) -> PatientResponsibility:
    return PatientResponsibility(-share.deductible, -share.coinsurance, -share.copay, -share.other)


def _net(entries: Iterable[JournalEntry], account: str) -> Decimal:
    """Debits minus credits of ``account`` over some entries."""
    return sum((line.debit - line.credit for entry in entries for line in entry.lines if line.account == account),
               ZERO)


@dataclass(frozen=True, slots=True)
class ClaimPosting:
    """What posting one claim payment produced.

    ``patient_responsibility`` is what the 835 says (CAS PR); ``patient_billed`` is what goes to patient
    billing now (zero while a crossover holds it for the next payer, negative when a reversal takes it
    back); ``held_for_next_payer`` is what moved to (or, negative, left) secondary_payer_ar.
    """

    claim_id: str | None
    outcome: Outcome
    entries: tuple[JournalEntry, ...]
    patient_responsibility: PatientResponsibility
    contractual_adjustment: Decimal
    line_matches: tuple[tuple[int, int | None], ...]  # (835 line ordinal, our line number or None)
    discrepancies: tuple[str, ...] = field(default=())
    patient_billed: PatientResponsibility = field(default_factory=PatientResponsibility)
    held_for_next_payer: Decimal = ZERO
    basis: Basis = "primary"


@dataclass(frozen=True, slots=True)
class PostedClaim:
    """An earlier posting of a claim, as a reversal needs it: its amounts, its journal entries and what it
    billed to the patient."""

    posting_id: str
    claim_id: str
    charge: Decimal
    paid: Decimal
    entries: tuple[JournalEntry, ...]
    patient_billed: PatientResponsibility = field(default_factory=PatientResponsibility)


@dataclass(frozen=True, slots=True)
class CoordinationRules:
    """Which CLP02 statuses forward the claim to the next payer, and which CARCs only report the prior
    payer's adjudication (not money this payer moved), effective on [effective_from, effective_to)."""

    effective_from: date
    effective_to: date | None
    forwarded_statuses: frozenset[str]
    next_payer_statuses: frozenset[str]
    prior_payer_reasons: frozenset[str]

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


DEFAULT_COORDINATION = CoordinationRules(date.min, None, frozenset({"19", "20", "21"}),
                                         frozenset({"2", "3", "20", "21"}), frozenset({"23"}))


def load_plb_claim_reasons(data: Mapping[str, Any]) -> frozenset[str]:
    """Read ``plb_claim_reasons`` (the PLB reasons whose reference names a claim) from rules/posting.yaml."""
    raw = data.get("plb_claim_reasons") or []
    if not isinstance(raw, list):
        raise ValueError("plb_claim_reasons must be a list of PLB reason codes")
    return frozenset(str(r) for r in raw)


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


def _day(value: Any, where: str) -> date:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{where} is not an ISO date") from None


def load_coordination(data: Mapping[str, Any]) -> tuple[CoordinationRules, ...]:
    """Read the effective-dated ``coordination`` blocks of the parsed rules/posting.yaml (none: the default)."""
    blocks = []
    for i, raw in enumerate(data.get("coordination") or []):
        where = f"coordination[{i}]"
        if not isinstance(raw, Mapping) or raw.get("effective_from") is None:
            raise ValueError(f"{where}.effective_from is required")
        end = raw.get("effective_to")
        blocks.append(CoordinationRules(
            _day(raw["effective_from"], f"{where}.effective_from"),
            None if end is None else _day(end, f"{where}.effective_to"),
            frozenset(str(c) for c in raw.get("forwarded_statuses") or ()),
            frozenset(str(c) for c in raw.get("next_payer_statuses") or ()),
            frozenset(str(c) for c in raw.get("prior_payer_reasons") or ())))
    return tuple(sorted(blocks, key=lambda b: b.effective_from, reverse=True)) or (DEFAULT_COORDINATION,)


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

    def __init__(self, plb_accounts: Mapping[str, str] | None = None,
                 coordination: Iterable[CoordinationRules] | None = None,
                 plb_claim_reasons: frozenset[str] = frozenset()) -> None:
        self.plb_accounts = dict(plb_accounts or DEFAULT_PLB_ACCOUNTS)
        self.plb_claim_reasons = plb_claim_reasons
        self.coordination = tuple(sorted(coordination or (DEFAULT_COORDINATION,),
                                         key=lambda b: b.effective_from, reverse=True))

    def coordination_on(self, as_of: date | None) -> CoordinationRules:
        for block in self.coordination:
            if as_of is None or block.covers(as_of):
                return block
        return DEFAULT_COORDINATION

    def charge(self, facts: ClaimFacts) -> JournalEntry:
        entry = transfer("charge", facts.claim_id, PAYER_AR, GROSS_CHARGES, facts.total_charge, facts.claim_id)
        if entry is None:
            raise PostingError("a claim without charges cannot be posted")
        return entry

    def post_claim(self, payment: ClaimPayment, facts: ClaimFacts | None, *, held_for_this_payer: Decimal = ZERO,
                   as_of: date | None = None) -> ClaimPosting:
        """Post one claim payment. ``held_for_this_payer``: what secondary_payer_ar holds for this claim (a
        balance the payer before forwarded); a next-payer status settles against it when it is positive."""
        reference = payment.payer_claim_number or payment.patient_control_number
        paid = payment.paid
        if facts is None:
            entry = transfer("unapplied_payment", reference, UNDEPOSITED_ERA, UNAPPLIED_CASH, paid, None,
                             payment.status_code, "claim payment matched no claim of ours")
            return ClaimPosting(None, "unapplied", (entry,) if entry else (), PatientResponsibility(), ZERO,
                                tuple((line.ordinal, None) for line in payment.lines),
                                ("no matching claim",), basis="unapplied")
        claim_id = facts.claim_id
        rules = self.coordination_on(as_of)
        status = payment.status_code
        settling = status in rules.next_payer_statuses and held_for_this_payer > 0
        forwarded = status in rules.forwarded_statuses
        source = SECONDARY_PAYER_AR if settling else PAYER_AR
        entries: list[JournalEntry | None] = [
            transfer("payment", reference, UNDEPOSITED_ERA, source, paid, claim_id, status)]
        shares = {"deductible": ZERO, "coinsurance": ZERO, "copay": ZERO, "other": ZERO}
        contractual = ZERO
        settled = paid
        for adjustment in payment.all_adjustments:
            if adjustment.group == "PR":
                shares[PATIENT_SHARE_BY_CARC.get(adjustment.reason, "other")] += adjustment.amount
                if forwarded and settling:
                    continue  # forwarded again: it stays in secondary_payer_ar for the payer after this one
                # held for the next payer when forwarded, else the patient's (handed to patient-billing)
                entries.append(self._adjustment_entry(
                    adjustment, reference, claim_id, source,
                    SECONDARY_PAYER_AR if forwarded else PATIENT_RESPONSIBILITY_TRANSFERRED))
            elif settling and adjustment.reason in rules.prior_payer_reasons:
                continue  # CARC 23: the prior payer's adjudication, booked when that payer's 835 was posted
            else:
                entries.append(self._adjustment_entry(adjustment, reference, claim_id, source))
                if adjustment.group == "CO":
                    contractual += adjustment.amount
            settled += adjustment.amount
        responsibility = PatientResponsibility(**shares)
        lines = payment.lines
        matches, discrepancies = _match_lines(lines, facts) if facts.lines else ([], [])
        if facts.lines and abs(payment.charge) != facts.total_charge:
            discrepancies.append("CLP03 differs from our claim charge")
        if settling and not forwarded and settled != held_for_this_payer:
            discrepancies.append(f"settles {cents(settled)} of {cents(held_for_this_payer)} forwarded to this payer")
        return ClaimPosting(
            claim_id, self._outcome(payment), tuple(e for e in entries if e is not None),
            responsibility, contractual, tuple(matches), tuple(discrepancies),
            patient_billed=PatientResponsibility() if forwarded else responsibility,
            # settling: what left secondary_payer_ar (a forwarded-again PR stays, so it is not in settled)
            held_for_next_payer=-settled if settling else (responsibility.total if forwarded else ZERO),
            basis="crossover_settlement" if settling else "primary",
        )

    def reverse(self, reversal: ClaimPayment, original: PostedClaim) -> ClaimPosting:
        """CLP02 22 against a posting we hold: its entries reversed line by line (so the reversal nets to
        zero whatever rules made them) and what it billed the patient taken back."""
        reference = reversal.payer_claim_number or reversal.patient_control_number
        discrepancies = []
        if reversal.paid != -original.paid or reversal.charge != -original.charge:
            discrepancies.append("reversal amounts differ from the posting they reverse")
        entries = tuple(entry.reversed(reference) for entry in original.entries)
        shares = {"deductible": ZERO, "coinsurance": ZERO, "copay": ZERO, "other": ZERO}
        for adjustment in reversal.all_adjustments:
            if adjustment.group == "PR":
                shares[PATIENT_SHARE_BY_CARC.get(adjustment.reason, "other")] += adjustment.amount
        return ClaimPosting(
            original.claim_id, "reversed", entries, PatientResponsibility(**shares),
            -_net(original.entries, CONTRACTUAL_WRITEOFF), tuple((line.ordinal, None) for line in reversal.lines),
            tuple(discrepancies), patient_billed=_negated(original.patient_billed),
            held_for_next_payer=-_net(original.entries, SECONDARY_PAYER_AR), basis="reversal")

    def hold_duplicate(self, payment: ClaimPayment, claim_id: str, hold_account: str) -> ClaimPosting:
        """A payment that repeats one already posted to ``claim_id``: its money is held (Dr undeposited_era /
        Cr ``hold_account``), its adjustments are not booked again and nothing is billed to the patient."""
        reference = payment.payer_claim_number or payment.patient_control_number
        entry = transfer("duplicate_payment_held", reference, UNDEPOSITED_ERA, hold_account, payment.paid, claim_id,
                         payment.status_code, "repeats a payment already posted to the claim")
        return ClaimPosting(claim_id, "held_duplicate", (entry,) if entry else (), PatientResponsibility(), ZERO,
                            tuple((line.ordinal, None) for line in payment.lines), ("repeats a standing posting",),
                            basis="duplicate_held")

    @staticmethod
    def hold_provider_adjustments(adjustments: Iterable[ProviderAdjustment], trace_number: str,
                                  hold_account: str) -> list[JournalEntry]:
        """The PLBs of a payment whose every claim was held as a duplicate: held with them (Dr ``hold_account`` /
        Cr undeposited_era for a recovery, the other way for interest), so the hold carries exactly BPR02."""
        entries = (transfer("provider_adjustment_held", trace_number, hold_account, UNDEPOSITED_ERA, plb.amount,
                            None, plb.reason, f"PLB {plb.reason} of a repeated payment") for plb in adjustments)
        return [entry for entry in entries if entry is not None]

    @staticmethod
    def release_hold(amount: Decimal, reference: str, claim_id: str | None, hold_account: str,
                     to_account: str) -> JournalEntry | None:
        """A person's decision on a held duplicate: Dr ``hold_account`` / Cr ``to_account`` (cash when refunded,
        plb_recovery when the payer recouped it, undeposited_era when it never arrived or is applied)."""
        return transfer("duplicate_payment_released", reference, hold_account, to_account, amount, claim_id)

    @staticmethod
    def _adjustment_entry(adjustment: Adjustment, reference: str, claim_id: str, source: str = PAYER_AR,
                          patient_account: str = PATIENT_RESPONSIBILITY_TRANSFERRED) -> JournalEntry | None:
        detail = f"{adjustment.group}-{adjustment.reason}"
        if adjustment.group == "PR":
            account = patient_account
            detail = PATIENT_SHARE_BY_CARC.get(adjustment.reason, detail)
        elif adjustment.group == "CO":
            account = CONTRACTUAL_WRITEOFF
        else:
            account = OTHER_ADJUSTMENT
        return transfer("adjustment", reference, account, source, adjustment.amount, claim_id, detail)

    @staticmethod
    def _outcome(payment: ClaimPayment) -> Outcome:
        if payment.is_reversal:
            return "reversed"
        if payment.paid == 0:
            return "denied"
        if any(line.paid == 0 and line.charge > 0 for line in payment.lines):
            return "partially_paid"
        return "paid"

    def names_a_claim(self, plb: ProviderAdjustment) -> bool:
        return plb.reason in self.plb_claim_reasons and bool(plb.reference.strip())

    def post_provider_adjustments(self, adjustments: Iterable[ProviderAdjustment], trace_number: str,
                                  claims: Mapping[str, str] | None = None) -> list[JournalEntry]:
        """One entry per PLB; ``claims``: PLB reference -> our claim id, for the PLBs whose reason names a claim
        (their lines carry it)."""
        entries = []
        for plb in adjustments:
            account = self.plb_accounts.get(plb.reason, self.plb_accounts["*"])
            claim_id = (claims or {}).get(plb.reference.strip()) if self.names_a_claim(plb) else None
            entry = transfer("provider_adjustment", trace_number, account, UNDEPOSITED_ERA, plb.amount, claim_id,
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
