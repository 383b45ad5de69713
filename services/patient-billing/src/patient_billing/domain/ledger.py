"""The patient ledger: double entry, integer cents, effective-dated.

Every movement is a :class:`JournalEntry` whose lines' debits equal its credits (refused otherwise). The chart of
accounts (:class:`Ledger`) is small: patient A/R (what responsible parties owe, per account), the patient cash
drawer, self-pay and fee revenue, the insurance transfer (responsibility moved here from the payer side, where
remittance keeps its mirror), adjustments and write-offs.

A :class:`ResponsibleAccount` is the patient A/R of one responsible party (a guarantor: an adult paying for
themselves, a parent or guardian for a minor, one person for a family). It keeps its open items (debits not yet
paid, each with its patient, service date, program and clinician, which is what aging reads) and its unapplied
credits. Credits pay open items first-in first-out, except that a payment made for a visit (a copay at check-in)
waits for that visit's assessed responsibility while insurance is pending. The account balance is always
``sum(open items) - sum(unapplied credits)``, and always equals the A/R lines posted to it.

Pure domain: no I/O, no framework.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from patient_billing.domain.events import BalanceChanged, ChargePosted, PaymentReceived
from patient_billing.domain.exceptions import (
    AlreadyReversed,
    InvalidAmount,
    NotReversible,
    PaymentNotFound,
    RefundExceedsPaid,
    UnbalancedEntry,
)


class Ledger(StrEnum):
    """The chart of accounts of the patient side."""

    PATIENT_AR = "patient_ar"  # asset: owed by responsible parties (a credit balance is owed to them)
    PATIENT_CASH = "patient_cash"  # asset: patient money received (card, cash, check, ACH, HSA)
    SELF_PAY_REVENUE = "self_pay_revenue"  # per-session fees of self-pay visits
    FEE_REVENUE = "fee_revenue"  # no-show and late-cancel fees (never sent to a payer)
    INSURANCE_TRANSFER = "insurance_transfer"  # patient responsibility moved from the payer side (remittance)
    ADJUSTMENTS = "patient_adjustments"  # contra-revenue: courtesy, sliding-scale and other adjustments
    WRITE_OFFS = "patient_write_offs"  # balances given up (bad debt, small balances)


class EntryKind(StrEnum):
    CHARGE = "charge"  # a self-pay visit
    FEE = "fee"  # a no-show or late-cancel fee
    RESPONSIBILITY = "responsibility"  # deductible / coinsurance / copay the payer assigned
    PAYMENT = "payment"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"
    WRITE_OFF = "write_off"
    TRANSFER = "transfer"  # open items moved to another responsible party
    REVERSAL = "reversal"


#: What an assessed amount is, and the CARC (group PR) that set it, so the patient can be told why.
RESPONSIBILITY_REASONS: dict[str, tuple[str, str]] = {
    "deductible": ("1", "the plan's deductible, not yet met"),
    "coinsurance": ("2", "the plan's coinsurance share"),
    "copay": ("3", "the plan's copay for this visit"),
    "other": ("", "other patient responsibility the plan assigned"),
}


def check_cents(amount: int, field_name: str = "amount") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidAmount("must be a positive whole number of cents", field=field_name)
    return amount


@dataclass(frozen=True)
class Line:
    ledger: Ledger
    debit: int = 0
    credit: int = 0
    account_id: str | None = None  # the responsible party's account, on patient A/R lines

    def __post_init__(self) -> None:
        if self.debit < 0 or self.credit < 0 or (self.debit > 0) == (self.credit > 0):
            raise UnbalancedEntry("a line carries one positive side")

    def mirrored(self) -> Line:
        return Line(self.ledger, self.credit, self.debit, self.account_id)


@dataclass(frozen=True)
class ReasonLine:
    """One part of an assessed responsibility: category, the CARC that set it, its amount."""

    category: str
    carc: str
    amount: int
    explanation: str


@dataclass(frozen=True)
class JournalEntry:
    entry_id: str
    practice_id: str
    account_id: str  # the responsible party the entry is about (a transfer's source)
    kind: EntryKind
    source_id: str  # the document it posts (payment:<id>, visit:<id>, assessment:<id>): posts once
    effective_date: date  # the day it counts from (a charge's date of service, a payment's date)
    posted_at: datetime
    lines: tuple[Line, ...]
    patient_id: str | None = None
    visit_id: str | None = None
    claim_id: str | None = None
    reverses_entry_id: str | None = None
    reasons: tuple[ReasonLine, ...] = ()
    detail: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.lines:
            raise UnbalancedEntry("an entry has lines")
        if self.total_debits != self.total_credits:
            raise UnbalancedEntry(f"{self.kind} entry: debits {self.total_debits} != credits {self.total_credits}")

    @property
    def total_debits(self) -> int:
        return sum(line.debit for line in self.lines)

    @property
    def total_credits(self) -> int:
        return sum(line.credit for line in self.lines)

    def ar_change(self, account_id: str) -> int:
        """How much this entry moved ``account_id``'s patient A/R (debit positive)."""
        return sum(line.debit - line.credit for line in self.lines
                   if line.ledger is Ledger.PATIENT_AR and line.account_id == account_id)


@dataclass(frozen=True)
class OpenItem:
    """A debit on an account not yet paid in full: what aging and statements read."""

    item_id: str  # the entry that raised it
    patient_id: str
    service_date: date
    amount: int
    open: int
    kind: EntryKind
    visit_id: str | None = None
    claim_id: str | None = None
    program: str | None = None
    clinician: str | None = None


@dataclass(frozen=True)
class Credit:
    """Money on an account not yet applied to a debit. ``for_visit``: (patient, date of service) it was paid for."""

    credit_id: str  # the entry that raised it
    patient_id: str | None
    received_on: date
    remaining: int
    for_visit: tuple[str, date] | None = None


@dataclass(frozen=True)
class PaymentRecord:
    payment_id: str
    entry_id: str
    amount: int
    refunded: int = 0
    reversed: bool = False

    @property
    def refundable(self) -> int:
        return 0 if self.reversed else self.amount - self.refunded


@dataclass(frozen=True)
class Membership:
    """A patient whose bills go to this account from ``effective_from`` (to ``effective_to``, inclusive)."""

    patient_id: str
    relationship: str  # self, child, ward, spouse, other
    effective_from: date
    effective_to: date | None = None

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass
class ResponsibleAccount:
    account_id: str
    practice_id: str
    guarantor_id: str
    kind: str = "individual"  # individual | family
    members: list[Membership] = field(default_factory=list)
    open_items: list[OpenItem] = field(default_factory=list)
    credits: list[Credit] = field(default_factory=list)
    payments: dict[str, PaymentRecord] = field(default_factory=dict)  # payments with something left to refund
    # (patient, DOS) a payer has not decided -> the visit's (program, clinician), for the assessment that comes
    pending_insurance: dict[tuple[str, date], tuple[str | None, str | None]] = field(default_factory=dict)
    balance: int = 0
    new_entries: list[JournalEntry] = field(default_factory=list)
    posted_sources: set[str] = field(default_factory=set)  # sources seen in this unit of work (the store knows all)
    events: list[object] = field(default_factory=list)
    # What changed, for the repository: items and credits touched or removed, payments touched.
    touched_items: set[str] = field(default_factory=set)
    touched_credits: set[str] = field(default_factory=set)
    touched_payments: set[str] = field(default_factory=set)
    pending_changed: bool = False

    # -- reads
    @property
    def open_total(self) -> int:
        return sum(i.open for i in self.open_items)

    @property
    def unapplied(self) -> int:
        return sum(c.remaining for c in self.credits)

    def held(self) -> int:
        """Owed for visits a payer has not decided yet: shown, not demanded."""
        return sum(i.open for i in self.open_items if (i.patient_id, i.service_date) in self.pending_insurance)

    def waiting_credit(self) -> int:
        """Copays paid for a visit whose responsibility is not yet assessed: not an overpayment."""
        return sum(c.remaining for c in self.credits
                   if c.for_visit is not None and c.for_visit in self.pending_insurance)

    def amount_due(self) -> int:
        return max(0, self.balance - self.held())

    def refund_due(self) -> int:
        """A credit balance owed back to the responsible party (the refund work item), copays waiting aside."""
        return max(0, self.unapplied - self.waiting_credit()) if self.open_total == 0 else 0

    def pull_events(self) -> list[object]:
        events, self.events = self.events, []
        return events

    def responsible_for(self, patient_id: str, day: date) -> bool:
        return any(m.patient_id == patient_id and m.covers(day) for m in self.members)

    # -- movements
    def post_charge(self, *, entry_id: str, source_id: str, patient_id: str, service_date: date, amount: int,
                    at: datetime, kind: EntryKind = EntryKind.CHARGE, visit_id: str | None = None,
                    program: str | None = None, clinician: str | None = None,
                    detail: dict[str, str] | None = None) -> JournalEntry:
        """A self-pay visit (or a no-show / late-cancel fee): Dr patient A/R, Cr revenue."""
        check_cents(amount)
        revenue = Ledger.FEE_REVENUE if kind is EntryKind.FEE else Ledger.SELF_PAY_REVENUE
        entry = self._entry(entry_id, kind, source_id, service_date, at, (
            Line(Ledger.PATIENT_AR, debit=amount, account_id=self.account_id), Line(revenue, credit=amount)),
            patient_id=patient_id, visit_id=visit_id, detail=detail or {})
        self._open(OpenItem(entry_id, patient_id, service_date, amount, amount, kind, visit_id=visit_id,
                            program=program, clinician=clinician))
        self.events.append(ChargePosted(self.practice_id, self.account_id, entry_id, patient_id, kind.value, amount,
                                        service_date, visit_id, detail.get("price_rule") if detail else None))
        return self._posted(entry)

    def assess_responsibility(self, *, entry_id: str, source_id: str, patient_id: str, service_date: date,
                              reasons: Sequence[ReasonLine], at: datetime, claim_id: str | None = None,
                              program: str | None = None, clinician: str | None = None) -> JournalEntry | None:
        """The payer's decision put ``reasons`` on the patient: Dr patient A/R, Cr insurance transfer. The visit is
        no longer pending, and a copay paid at check-in for it is applied."""
        visit_program, visit_clinician = self.pending_insurance.pop((patient_id, service_date), (None, None))
        program, clinician = program or visit_program, clinician or visit_clinician
        self.pending_changed = True
        amount = sum(r.amount for r in reasons)
        if amount < 0:  # the payer took responsibility back (a reversed or corrected claim)
            return self._take_back(entry_id, source_id, patient_id, service_date, -amount, at, claim_id, reasons)
        if amount == 0:
            self._apply_credits()
            return None
        entry = self._entry(entry_id, EntryKind.RESPONSIBILITY, source_id, service_date, at, (
            Line(Ledger.PATIENT_AR, debit=amount, account_id=self.account_id),
            Line(Ledger.INSURANCE_TRANSFER, credit=amount)),
            patient_id=patient_id, claim_id=claim_id, reasons=tuple(r for r in reasons if r.amount))
        self._open(OpenItem(entry_id, patient_id, service_date, amount, amount, EntryKind.RESPONSIBILITY,
                            claim_id=claim_id, program=program, clinician=clinician))
        self.events.append(ChargePosted(self.practice_id, self.account_id, entry_id, patient_id,
                                        EntryKind.RESPONSIBILITY.value, amount, service_date, None, None))
        return self._posted(entry)

    def _take_back(self, entry_id: str, source_id: str, patient_id: str, service_date: date, amount: int,
                   at: datetime, claim_id: str | None, reasons: Sequence[ReasonLine]) -> JournalEntry:
        """Dr insurance transfer, Cr patient A/R: first off the same claim's open items, the rest on account."""
        entry = self._entry(entry_id, EntryKind.RESPONSIBILITY, source_id, service_date, at, (
            Line(Ledger.INSURANCE_TRANSFER, debit=amount),
            Line(Ledger.PATIENT_AR, credit=amount, account_id=self.account_id)),
            patient_id=patient_id, claim_id=claim_id, reasons=tuple(r for r in reasons if r.amount))
        left = amount
        for item in sorted(self.open_items, key=_age_order):
            if left and claim_id is not None and item.claim_id == claim_id:
                paid = min(left, item.open)
                self._pay_item(item.item_id, paid)
                left -= paid
        if left:
            self._credit(Credit(entry_id, patient_id, service_date, left))
        return self._posted(entry)

    def insurance_pending(self, patient_id: str, service_date: date, program: str | None = None,
                          clinician: str | None = None) -> None:
        """An insured visit happened: what the patient owes for it waits for the payer's decision (and, once
        assessed, ages under the visit's program and clinician)."""
        if self.pending_insurance.get((patient_id, service_date)) != (program, clinician):
            self.pending_insurance[(patient_id, service_date)] = (program, clinician)
            self.pending_changed = True

    def insurance_pending_ended(self, patient_id: str, service_date: date) -> None:
        """The insured visit was voided: nothing will be assessed for it."""
        if (patient_id, service_date) in self.pending_insurance:
            del self.pending_insurance[(patient_id, service_date)]
            self.pending_changed = True
            self._apply_credits()

    def receive_payment(self, *, entry_id: str, payment_id: str, amount: int, received_on: date, at: datetime,
                        patient_id: str | None = None, for_visit_on: date | None = None,
                        detail: dict[str, str] | None = None) -> JournalEntry:
        """Dr patient cash, Cr patient A/R. A payment for a visit (a copay at check-in) goes to that visit's
        debit, or waits for it while the payer decides; any other payment pays the oldest open items."""
        check_cents(amount)
        for_visit = (patient_id, for_visit_on) if patient_id is not None and for_visit_on is not None else None
        entry = self._entry(entry_id, EntryKind.PAYMENT, f"payment:{payment_id}", received_on, at, (
            Line(Ledger.PATIENT_CASH, debit=amount),
            Line(Ledger.PATIENT_AR, credit=amount, account_id=self.account_id)),
            patient_id=patient_id, detail=detail or {})
        self.payments[payment_id] = PaymentRecord(payment_id, entry_id, amount)
        self.touched_payments.add(payment_id)
        self._credit(Credit(entry_id, patient_id, received_on, amount, for_visit))
        self.events.append(PaymentReceived(self.practice_id, self.account_id, payment_id, entry_id, amount,
                                           received_on, (detail or {}).get("method", "")))
        return self._posted(entry)

    def refund(self, *, entry_id: str, refund_id: str, payment_id: str, amount: int, on: date,
               at: datetime, reason: str) -> JournalEntry:
        """Dr patient A/R, Cr patient cash: money goes back, never more than is left of the payment."""
        check_cents(amount)
        payment = self.payments.get(payment_id)
        if payment is None:
            raise PaymentNotFound("no refundable payment with this id on the account", field="payment_id")
        if amount > payment.refundable:
            raise RefundExceedsPaid(f"a refund may return at most {payment.refundable} cents of this payment",
                                    field="amount")
        entry = self._entry(entry_id, EntryKind.REFUND, f"refund:{refund_id}", on, at, (
            Line(Ledger.PATIENT_AR, debit=amount, account_id=self.account_id),
            Line(Ledger.PATIENT_CASH, credit=amount)),
            detail={"payment_id": payment_id, "reason": reason})
        self.payments[payment_id] = replace(payment, refunded=payment.refunded + amount)
        self.touched_payments.add(payment_id)
        self._take_credit(amount, entry_id, on, EntryKind.REFUND)
        return self._posted(entry)

    def adjust(self, *, entry_id: str, source_id: str, amount: int, on: date, at: datetime, reason: str,
               write_off: bool = False, item_id: str | None = None, visit_id: str | None = None) -> JournalEntry:
        """Lower what is owed: an adjustment (Dr adjustments) or a write-off (Dr write-offs), Cr patient A/R. Never
        more than is open (on ``item_id`` when named, else on the account), so no credit balance is made up."""
        check_cents(amount)
        limit = self._item(item_id).open if item_id is not None else self.open_total
        if amount > limit:
            raise InvalidAmount(f"at most {limit} cents are open to adjust", field="amount")
        kind, ledger = (EntryKind.WRITE_OFF, Ledger.WRITE_OFFS) if write_off else (EntryKind.ADJUSTMENT,
                                                                                   Ledger.ADJUSTMENTS)
        entry = self._entry(entry_id, kind, source_id, on, at, (
            Line(ledger, debit=amount), Line(Ledger.PATIENT_AR, credit=amount, account_id=self.account_id)),
            visit_id=visit_id, detail={"reason": reason, **({"item_id": item_id} if item_id else {})})
        if item_id is not None:
            self._pay_item(item_id, amount)
        else:
            self._pay_fifo(amount)
        return self._posted(entry)

    def reverse(self, original: JournalEntry, *, entry_id: str, on: date, at: datetime, reason: str,
                already_reversed: bool) -> JournalEntry:
        """The mirror of ``original`` (every line's sides swapped), once. A reversed debit leaves its open item
        (what was paid on it becomes a credit); a reversed payment, adjustment or write-off is owed again."""
        if already_reversed:
            raise AlreadyReversed("this entry is already reversed", field="entry_id")
        if original.kind in (EntryKind.REVERSAL, EntryKind.TRANSFER, EntryKind.REFUND):
            raise NotReversible(f"a {original.kind} is not reversed; post the opposite movement", field="entry_id")
        if original.account_id != self.account_id:
            raise NotReversible("the entry belongs to another account", field="entry_id")
        entry = self._entry(entry_id, EntryKind.REVERSAL, f"reversal:{original.entry_id}", on, at,
                            tuple(line.mirrored() for line in original.lines), patient_id=original.patient_id,
                            visit_id=original.visit_id, claim_id=original.claim_id,
                            reverses_entry_id=original.entry_id, detail={"reason": reason})
        change = original.ar_change(self.account_id)
        if change > 0:  # a debit (charge, fee, responsibility) taken back
            item = next((i for i in self.open_items if i.item_id == original.entry_id), None)
            on_item = min(change, item.open) if item is not None else 0
            if on_item:
                self._pay_item(original.entry_id, on_item)
            if change - on_item:  # what was already paid on it is now the payer's money on account
                self._credit(Credit(entry_id, original.patient_id, on, change - on_item))
            self._drop_item(original.entry_id)
        elif change < 0:
            if original.kind is EntryKind.PAYMENT:
                payment_id = original.source_id.removeprefix("payment:")
                payment = self.payments.get(payment_id)
                if payment is None or payment.refunded:
                    raise NotReversible("a payment partly refunded (or unknown) is not reversed", field="entry_id")
                self.payments[payment_id] = replace(payment, reversed=True)
                self.touched_payments.add(payment_id)
            owed = -change
            target = original.detail.get("item_id")
            item = next((i for i in self.open_items if i.item_id == target), None) if target else None
            if item is not None:  # an adjustment of one item: that item is owed again
                reopened = min(owed, item.amount - item.open)
                self.open_items = [replace(i, open=i.open + reopened) if i is item else i for i in self.open_items]
                self.touched_items.add(item.item_id)
                self.balance += reopened
                owed -= reopened
            if owed:
                self._take_credit(owed, entry_id, original.effective_date, original.kind, original.patient_id)
        return self._posted(entry)

    def release_items(self, item_ids: Iterable[str]) -> list[OpenItem]:
        """Open items leaving for another responsible party (see :func:`transfer`)."""
        moved = []
        for item_id in item_ids:
            item = self._item(item_id)
            moved.append(item)
            self.open_items.remove(item)
            self.touched_items.add(item_id)
            self.balance -= item.open
        return moved

    def take_items(self, items: Iterable[OpenItem]) -> None:
        for item in items:
            self._open(item)

    # -- internals
    def _entry(self, entry_id: str, kind: EntryKind, source_id: str, effective: date, at: datetime,
               lines: tuple[Line, ...], **extra: object) -> JournalEntry:
        return JournalEntry(entry_id, self.practice_id, self.account_id, kind, source_id, effective, at, lines,
                            **extra)  # type: ignore[arg-type]

    def _posted(self, entry: JournalEntry) -> JournalEntry:
        self.new_entries.append(entry)
        self.posted_sources.add(entry.source_id)
        self.events.append(BalanceChanged(self.practice_id, self.account_id, entry.entry_id, entry.kind.value,
                                          entry.patient_id or self.guarantor_id, entry.ar_change(self.account_id),
                                          self.balance))
        assert self.balance == self.open_total - self.unapplied, "the account's items disagree with its balance"
        return entry

    def _item(self, item_id: str) -> OpenItem:
        for item in self.open_items:
            if item.item_id == item_id:
                return item
        raise InvalidAmount("no open item with this id on the account", field="item_id")

    def _open(self, item: OpenItem) -> None:
        self.open_items.append(item)
        self.touched_items.add(item.item_id)
        self.balance += item.open
        self._apply_credits()

    def _credit(self, credit: Credit) -> None:
        self.credits.append(credit)
        self.touched_credits.add(credit.credit_id)
        self.balance -= credit.remaining
        self._apply_credits()

    def _drop_item(self, item_id: str) -> None:
        self.open_items = [i for i in self.open_items if i.item_id != item_id]
        self.touched_items.add(item_id)

    def _pay_item(self, item_id: str, amount: int) -> None:
        self.open_items = [replace(i, open=i.open - amount) if i.item_id == item_id else i for i in self.open_items]
        self.touched_items.add(item_id)
        self.balance -= amount
        self._close_paid()

    def _pay_fifo(self, amount: int) -> None:
        for item in sorted(self.open_items, key=_age_order):
            if amount == 0:
                break
            paid = min(amount, item.open)
            self._pay_item(item.item_id, paid)
            amount -= paid
        assert amount == 0

    def _close_paid(self) -> None:
        self.open_items = [i for i in self.open_items if i.open > 0]

    def _take_credit(self, amount: int, entry_id: str, on: date, kind: EntryKind, patient_id: str | None = None
                     ) -> None:
        """Money leaves (a refund) or a credit is undone: use unapplied credits first, owe the rest again."""
        for credit in sorted(self.credits, key=lambda c: c.received_on, reverse=True):
            if amount == 0:
                break
            used = min(amount, credit.remaining)
            self._spend(credit, used)
            self.balance += used
            amount -= used
        if amount:
            self._open(OpenItem(entry_id, patient_id or self.guarantor_id, on, amount, amount, kind))

    def _spend(self, credit: Credit, used: int) -> None:
        self.credits = [replace(c, remaining=c.remaining - used) if c.credit_id == credit.credit_id else c
                        for c in self.credits]
        self.credits = [c for c in self.credits if c.remaining > 0]
        self.touched_credits.add(credit.credit_id)

    def _apply_credits(self) -> None:
        """Apply unapplied credits: a visit's copay to that visit's debits (or it waits while the payer decides),
        every other credit to the oldest open items."""
        for credit in sorted(self.credits, key=lambda c: (c.received_on, c.credit_id)):
            remaining = credit.remaining
            if credit.for_visit is not None:
                for item in sorted(self.open_items, key=_age_order):
                    if remaining and (item.patient_id, item.service_date) == credit.for_visit:
                        paid = min(remaining, item.open)
                        self._pay_item(item.item_id, paid)
                        remaining -= paid
                if credit.for_visit in self.pending_insurance:
                    self._spend_to(credit, remaining)
                    continue
            for item in sorted(self.open_items, key=_age_order):
                if not remaining:
                    break
                if (item.patient_id, item.service_date) in self.pending_insurance:
                    continue  # held for the payer's decision: not paid from other money yet
                paid = min(remaining, item.open)
                self._pay_item(item.item_id, paid)
                remaining -= paid
            self._spend_to(credit, remaining)

    def _spend_to(self, credit: Credit, remaining: int) -> None:
        current = next(c for c in self.credits if c.credit_id == credit.credit_id)
        if current.remaining != remaining:
            # _pay_item lowered the balance for what was applied; the credit already had: give it back.
            self.balance += current.remaining - remaining
            self._spend(current, current.remaining - remaining)


def _age_order(item: OpenItem) -> tuple[date, str]:
    return item.service_date, item.item_id


def transfer(source: ResponsibleAccount, target: ResponsibleAccount, item_ids: Sequence[str], *, entry_id: str,
             on: date, at: datetime, reason: str) -> JournalEntry:
    """Open items move to another responsible party (a guarantor changed, a family account formed): Dr the
    target's patient A/R, Cr the source's; each item keeps its service date, so aging does not restart."""
    if source.account_id == target.account_id:
        raise InvalidAmount("an account does not transfer to itself", field="to_account_id")
    items = source.release_items(item_ids)
    amount = sum(i.open for i in items)
    check_cents(amount)
    entry = JournalEntry(entry_id, source.practice_id, source.account_id, EntryKind.TRANSFER,
                         f"transfer:{entry_id}", on, at, (
                             Line(Ledger.PATIENT_AR, debit=amount, account_id=target.account_id),
                             Line(Ledger.PATIENT_AR, credit=amount, account_id=source.account_id)),
                         detail={"to_account_id": target.account_id, "reason": reason})
    source.new_entries.append(entry)
    source.events.append(BalanceChanged(source.practice_id, source.account_id, entry_id, "transfer",
                                        source.guarantor_id, -amount, source.balance))
    target.take_items(items)
    target.events.append(BalanceChanged(target.practice_id, target.account_id, entry_id, "transfer",
                                        target.guarantor_id, amount, target.balance))
    return entry


AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91-120", 91, 120), ("120+", 121, None),
)


def bucket_of(days: int) -> str:
    """The aging bucket of a debit ``days`` after its service date (a future date counts as current)."""
    for name, _, high in AGING_BUCKETS:
        if high is None or days <= high:
            return name
    raise AssertionError("the last bucket is open-ended")


def age(items: Iterable[OpenItem], credits: Iterable[Credit], as_of: date) -> dict[str, int]:
    """Open items by days since their service date; unapplied credit as ``credit`` (negative)."""
    buckets = {name: 0 for name, _, _ in AGING_BUCKETS}
    for item in items:
        buckets[bucket_of((as_of - item.service_date).days)] += item.open
    credit = sum(c.remaining for c in credits)
    if credit:
        buckets["credit"] = -credit
    return buckets
