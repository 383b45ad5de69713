"""Balances held for a secondary (next) payer: what was forwarded, what came back, and when to chase it.

Public API::

    SecondaryFollowUp(stale_after_days, effective_from, effective_to).covers(day)
    load_secondary_follow_up(mapping) -> tuple[SecondaryFollowUp, ...]   # ``secondary_follow_up`` of rules/posting.yaml
    follow_up_on(rules, day) -> SecondaryFollowUp
    Movement(cause, amount, forwards)
    HeldBalance.of(movements, forwarded_at, as_of, rule) -> HeldBalance

A crossover posting moves the patient share into secondary_payer_ar; the next payer's settlement (and the
reversal of either) moves money out again. ``movements`` are one claim's postings that touched the account,
oldest first: the net amount each moved (debits minus credits), what caused it (``held``: a crossover or the
reversal of one; ``settled``: a next payer's settlement or the reversal of one) and whether that posting
forwarded the claim on (CLP02 19/20/21). What remains is the ledger balance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from remittance.domain.model import ZERO

Cause = Literal["held", "settled"]
# waiting: the claim sits with the carrier it was last forwarded to; short: the next payer settled and left
# part of what was held; over: the next payer settled more than was held.
SettlementState = Literal["waiting", "short", "over"]


class Movement(NamedTuple):
    cause: Cause
    amount: Decimal  # debits minus credits of secondary_payer_ar
    forwards: bool


@dataclass(frozen=True, slots=True)
class SecondaryFollowUp:
    """After how many days a balance still waiting for the next payer is stale (worth a call to the carrier),
    effective on [effective_from, effective_to) of the day it is looked at."""

    stale_after_days: int
    effective_from: date = date.min
    effective_to: date | None = None

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


DEFAULT_FOLLOW_UP = SecondaryFollowUp(45)


def load_secondary_follow_up(data: Mapping[str, Any]) -> tuple[SecondaryFollowUp, ...]:
    """Read the effective-dated ``secondary_follow_up`` blocks of the parsed rules/posting.yaml (none: 45 days)."""
    blocks = []
    for i, raw in enumerate(data.get("secondary_follow_up") or []):
        where = f"secondary_follow_up[{i}]"
        if not isinstance(raw, Mapping) or raw.get("effective_from") is None:
            raise ValueError(f"{where}.effective_from is required")
        days = raw.get("stale_after_days")
        if not isinstance(days, int) or isinstance(days, bool) or days < 0:
            raise ValueError(f"{where}.stale_after_days must be a whole number of days, 0 or more")
        end = raw.get("effective_to")
        blocks.append(SecondaryFollowUp(days, _day(raw["effective_from"], f"{where}.effective_from"),
                                        None if end is None else _day(end, f"{where}.effective_to")))
    return tuple(sorted(blocks, key=lambda b: b.effective_from, reverse=True)) or (DEFAULT_FOLLOW_UP,)


def follow_up_on(rules: Iterable[SecondaryFollowUp], day: date) -> SecondaryFollowUp:
    for block in rules:
        if block.covers(day):
            return block
    return DEFAULT_FOLLOW_UP


def _day(value: Any, where: str) -> date:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{where} is not an ISO date") from None


@dataclass(frozen=True, slots=True)
class HeldBalance:
    """One claim's balance in secondary_payer_ar. ``held``: what earlier payers forwarded (net of reversed
    crossovers); ``settled``: what next payers took out of it; ``remaining``: the ledger balance."""

    held: Decimal
    settled: Decimal
    remaining: Decimal
    days_waiting: int
    state: SettlementState
    stale: bool

    @classmethod
    def of(cls, movements: Iterable[Movement], forwarded_at: datetime, as_of: datetime,
           rule: SecondaryFollowUp) -> HeldBalance:
        """``forwarded_at``: when the claim was last forwarded (the clock of the carrier it waits on)."""
        held = settled = ZERO
        last_forwards = False
        for movement in movements:
            if movement.cause == "held":
                held += movement.amount
            else:
                settled -= movement.amount  # a settlement credits the account: a negative movement settles
            last_forwards = movement.forwards
        remaining = held - settled
        days = max((as_of - forwarded_at).days, 0)
        state: SettlementState = "over" if remaining < 0 else ("waiting" if last_forwards or not settled else "short")
        # Only money still expected from the carrier gets stale; an over-settlement is a refund question.
        return cls(held, settled, remaining, days, state, remaining > 0 and days > rule.stale_after_days)
