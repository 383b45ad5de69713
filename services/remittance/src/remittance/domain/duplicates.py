"""A claim payment that repeats one already posted: held for a person to decide, never posted a second time.

An 835 re-sent under a new trace number (TRN02) is a new file and a new payment to every check that looks at the
file or the trace; what gives it away is the claim: a payment for a claim that already holds a standing
posting (not reversed) with the same adjudication. Which facts must match for "the same" is a business choice
(``duplicate_payments`` in rules/posting.yaml, effective-dated by the date of service):

* ``payer``: the 835's payer; a secondary payer's payment is never a duplicate of the primary's;
* ``status_code`` (CLP02), ``payer_claim_number`` (CLP07), ``charge`` (CLP03), ``paid`` (CLP04),
  ``patient_responsibility`` (the CAS PR total);
* ``lines``: each SVC's procedure, charge, paid and units, in order. A posting stored before lines were kept
  has none: it is compared on the other facts (holding a payment costs a person a look; posting it twice
  bills a patient twice).

Never duplicates: a status in ``never_duplicate_statuses`` (CLP02 22, a reversal, takes a posting back), a
payment after its original was reversed (the re-issue: nothing standing to repeat), a corrected claim
(frequency 7: a claim of its own, with its own patient control number), another payer's payment.

Public API::

    load_duplicate_payments(mapping) -> tuple[DuplicatePaymentRules, ...]   # from rules/posting.yaml, parsed
    duplicate_rules_on(rules, day) -> DuplicatePaymentRules
    Adjudication.of(payment, payer_id) -> Adjudication
    DuplicateWatch(rules, standing)                                       # standing: claim id -> postings
        .duplicate_of(claim_id, adjudication, as_of) -> str | None       # the posting it repeats
        .posted(claim_id, posting_id, adjudication); .reversed(claim_id, posting_id)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from remittance.domain.model import REVERSAL_STATUS, ClaimPayment

FACTS = ("payer", "status_code", "payer_claim_number", "charge", "paid", "patient_responsibility", "lines")
APPLY = "apply"  # the resolution that is always offered: not a duplicate after all, post it to the claim

# One SVC as compared: procedure (qualifier:code:modifiers), charge, paid, units paid.
LineFacts = tuple[str, Decimal, Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class Adjudication:
    """What an 835 said about one claim, in the terms a duplicate is judged by."""

    payer: str
    status_code: str
    payer_claim_number: str | None
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    lines: tuple[LineFacts, ...] | None  # None: not known (stored before lines were kept)

    @classmethod
    def of(cls, payment: ClaimPayment, payer_id: str) -> Adjudication:
        return cls(payer_id, payment.status_code, payment.payer_claim_number or None, payment.charge, payment.paid,
                   payment.adjustment_sum("PR"), tuple(
                       (line.procedure.as_text(), line.charge, line.paid, line.units_paid) for line in payment.lines))

    def lines_as_data(self) -> list[list[str]]:
        """The lines as kept on a posting (JSON)."""
        return [[code, str(charge), str(paid), str(units)] for code, charge, paid, units in self.lines or ()]

    @staticmethod
    def lines_from_data(data: Any) -> tuple[LineFacts, ...] | None:
        if data is None:
            return None
        return tuple((str(code), Decimal(charge), Decimal(paid), Decimal(units)) for code, charge, paid, units in data)

    def same_as(self, other: Adjudication, facts: frozenset[str]) -> bool:
        for name in facts:
            mine, theirs = getattr(self, name), getattr(other, name)
            if name == "lines" and (mine is None or theirs is None):
                continue  # not known on one side: judged on the other facts
            if mine != theirs:
                return False
        return True


@dataclass(frozen=True, slots=True)
class DuplicatePaymentRules:
    """Which facts make a payment the same as a standing posting, where a held one waits, and how a person
    may release it (decision -> account credited), effective on [effective_from, effective_to)."""

    effective_from: date
    effective_to: date | None
    same: frozenset[str]
    never_duplicate_statuses: frozenset[str]
    hold_account: str
    resolutions: Mapping[str, str] = field(default_factory=dict)
    # days the payer gives to refund an overpayment, by payer id ("*": any other); none: no deadline
    refund_within_days: Mapping[str, int] = field(default_factory=dict)

    def refund_due(self, payer_id: str, held_on: date) -> date | None:
        days = self.refund_within_days.get(payer_id, self.refund_within_days.get("*"))
        return None if days is None else held_on + timedelta(days=days)

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    @property
    def decisions(self) -> tuple[str, ...]:
        return (*sorted(self.resolutions), APPLY)


DEFAULT_DUPLICATE_PAYMENTS = DuplicatePaymentRules(
    date.min, None, frozenset(FACTS), frozenset({REVERSAL_STATUS}), "overpayment_suspense",
    {"refunded": "cash", "recouped": "plb_recovery", "not_received": "undeposited_era"})


def _day(value: Any, where: str) -> date:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{where} is not an ISO date") from None


def load_duplicate_payments(data: Mapping[str, Any], accounts: Iterable[str]) -> tuple[DuplicatePaymentRules, ...]:
    """Read the effective-dated ``duplicate_payments`` blocks of the parsed rules/posting.yaml (none: the
    default), refusing unknown facts and accounts."""
    known = frozenset(accounts)
    blocks = []
    for i, raw in enumerate(data.get("duplicate_payments") or []):
        where = f"duplicate_payments[{i}]"
        if not isinstance(raw, Mapping) or raw.get("effective_from") is None:
            raise ValueError(f"{where}.effective_from is required")
        same = frozenset(str(f) for f in raw.get("same") or ())
        if not same or same - set(FACTS):
            raise ValueError(f"{where}.same must name some of {', '.join(FACTS)}")
        hold = str(raw.get("hold_account") or "")
        resolutions = {str(k): str(v) for k, v in (raw.get("resolutions") or {}).items()}
        unknown = ({hold} | set(resolutions.values())) - known
        if unknown:
            raise ValueError(f"{where} names unknown accounts {sorted(unknown)}")
        if APPLY in resolutions:
            raise ValueError(f"{where}.resolutions: '{APPLY}' is built in (post the payment to its claim)")
        end = raw.get("effective_to")
        refund = {str(k): int(v) for k, v in (raw.get("refund_within_days") or {}).items()}
        if any(days <= 0 for days in refund.values()):
            raise ValueError(f"{where}.refund_within_days must be positive")
        blocks.append(DuplicatePaymentRules(
            _day(raw["effective_from"], f"{where}.effective_from"),
            None if end is None else _day(end, f"{where}.effective_to"), same,
            frozenset(str(c) for c in raw.get("never_duplicate_statuses") or ()), hold, resolutions, refund))
    return tuple(sorted(blocks, key=lambda b: b.effective_from, reverse=True)) or (DEFAULT_DUPLICATE_PAYMENTS,)


def duplicate_rules_on(rules: Iterable[DuplicatePaymentRules], day: date | None) -> DuplicatePaymentRules:
    for block in rules:
        if day is None or block.covers(day):
            return block
    return DEFAULT_DUPLICATE_PAYMENTS


class DuplicateWatch:
    """The standing postings (not reversed) of a transaction's claims, kept current while it posts, so a
    payment repeated inside the same 835 is caught as well as one repeated from an earlier file."""

    def __init__(self, rules: Iterable[DuplicatePaymentRules],
                 standing: Mapping[str, Iterable[tuple[str, Adjudication]]] | None = None) -> None:
        self.rules = tuple(rules)
        self._standing: dict[str, dict[str, Adjudication]] = {
            claim_id: dict(postings) for claim_id, postings in (standing or {}).items()}

    def duplicate_of(self, claim_id: str, adjudication: Adjudication, as_of: date | None) -> str | None:
        """The posting id this payment repeats, or None when it is a payment of its own."""
        rules = duplicate_rules_on(self.rules, as_of)
        if adjudication.status_code in rules.never_duplicate_statuses:
            return None
        for posting_id, posted in self._standing.get(claim_id, {}).items():
            if adjudication.same_as(posted, rules.same):
                return posting_id
        return None

    def posted(self, claim_id: str, posting_id: str, adjudication: Adjudication) -> None:
        self._standing.setdefault(claim_id, {})[posting_id] = adjudication

    def reversed(self, claim_id: str, posting_id: str) -> None:
        self._standing.get(claim_id, {}).pop(posting_id, None)
