"""How hard we may lean on a payer: real-time re-checks per minute, inquiries per nightly batch, retries.

``PayerLimitRules.from_rules(rules).for_payer(payer_id, day)`` picks the limits in force (payer-specific first,
then the ``"*"`` default; each with ``effective_from`` / ``effective_to``). ``pick_rechecks(...)`` chooses which
queued re-checks may go out now without exceeding any payer's rate. Shipped: ``rules/payer_limits.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rcm_shared.rules import RulesFile

from eligibility.domain.rule_fields import RuleFields, entries


@dataclass(frozen=True, slots=True)
class PayerLimits:
    """``retry_after_minutes``: the wait before each retry of a re-check the payer did not answer; when they are
    used up the re-check goes to the work queue. ``min_minutes_between_rechecks``: a second automatic re-check
    of the same member and payer inside this window is not sent (ten denials of one member are one re-check)."""

    payer_id: str = "*"
    effective_from: date = date.min
    effective_to: date | None = None
    realtime_per_minute: int = 20
    batch_max_inquiries: int = 2000
    min_minutes_between_rechecks: int = 720
    retry_after_minutes: tuple[int, ...] = (5, 30, 120)

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def retry_delay(self, attempts: int) -> timedelta | None:
        """The wait before the next try after ``attempts`` failed tries, or ``None`` when retries are used up."""
        if attempts < 1 or attempts > len(self.retry_after_minutes):
            return None
        return timedelta(minutes=self.retry_after_minutes[attempts - 1])

    @classmethod
    def from_fields(cls, fields: RuleFields) -> PayerLimits:
        start, end = fields.effective()
        return cls(
            payer_id=fields.text("payer_id", "*"), effective_from=start, effective_to=end,
            realtime_per_minute=fields.integer("realtime_per_minute", 20, 1),
            batch_max_inquiries=fields.integer("batch_max_inquiries", 2000, 1),
            min_minutes_between_rechecks=fields.integer("min_minutes_between_rechecks", 720),
            retry_after_minutes=fields.minutes("retry_after_minutes", (5, 30, 120)),
        )


@dataclass(frozen=True, slots=True)
class PayerLimitRules:
    limits: tuple[PayerLimits, ...]
    version: str = "built-in"

    @classmethod
    def from_rules(cls, rules: RulesFile) -> PayerLimitRules:
        return cls(tuple(PayerLimits.from_fields(item) for item in entries(rules, "limits")), rules.version)

    def for_payer(self, payer_id: str, day: date) -> PayerLimits:
        """The payer's own limits in force on ``day``, else the default (``"*"``), else built-in defaults."""
        for wanted in (payer_id, "*"):
            for limits in self.limits:
                if limits.payer_id == wanted and limits.in_force(day):
                    return limits
        return PayerLimits()


@dataclass(frozen=True, slots=True)
class QueuedRecheck:
    request_id: str
    payer_id: str
    due_at: datetime


def pick_rechecks(queued: Sequence[QueuedRecheck], sent_last_minute: Mapping[str, int], rules: PayerLimitRules,
                  now: datetime) -> list[str]:
    """The queued re-checks that may be sent now: due, oldest first, and no payer above its rate per minute
    (``sent_last_minute`` counts what already went to each payer in the last 60 seconds)."""
    allowance: dict[str, int] = {}
    chosen: list[str] = []
    for item in sorted((q for q in queued if q.due_at <= now), key=lambda q: q.due_at):
        if item.payer_id not in allowance:
            limit = rules.for_payer(item.payer_id, now.date()).realtime_per_minute
            allowance[item.payer_id] = max(0, limit - sent_last_minute.get(item.payer_id, 0))
        if allowance[item.payer_id] > 0:
            allowance[item.payer_id] -= 1
            chosen.append(item.request_id)
    return chosen
