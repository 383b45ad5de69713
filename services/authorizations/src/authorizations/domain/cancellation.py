"""What a payer's cancellation of a certification (278 HCR01 / PAS reviewActionCode ``C``) leaves covered.

Visits delivered before the cancellation keep their units; after it the authorization covers nothing. Whether the
day the cancellation arrives is still covered is the payer's rule, with effective dates
(``rules/cancellation.yaml``): the most specific payer wins, then the latest ``effective_from``.
Pure: the caller passes the practice's date of the cancellation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from rcm_shared.rules import RulesError, effective_span


@dataclass(frozen=True, slots=True)
class CancellationRule:
    payer_id: str  # "*": any payer
    covers_cancellation_day: bool = True
    effective_from: date = date.min
    effective_to: date | None = None

    def applies(self, payer_id: str, day: date) -> bool:
        return (self.payer_id in (payer_id, "*") and self.effective_from <= day
                and (self.effective_to is None or day <= self.effective_to))


@dataclass(frozen=True, slots=True)
class CancellationRules:
    rules: tuple[CancellationRule, ...] = ()

    def covered_through(self, payer_id: str, cancelled_on: date) -> date:
        """The last date of service a certification cancelled on ``cancelled_on`` still covers."""
        matching = [r for r in self.rules if r.applies(payer_id, cancelled_on)]
        rule = max(matching, key=lambda r: (r.payer_id != "*", r.effective_from), default=CancellationRule("*"))
        return cancelled_on if rule.covers_cancellation_day else cancelled_on - timedelta(days=1)

    @classmethod
    def from_dict(cls, data: Mapping[str, object], file: str = "cancellation.yaml") -> CancellationRules:
        raw = data.get("rules")
        if not isinstance(raw, list):
            raise RulesError(file, "rules", "must be a list")
        out = []
        for i, item in enumerate(raw):
            where = f"rules[{i}]"
            if not isinstance(item, Mapping):
                raise RulesError(file, where, "must be a mapping")
            payer, covers = item.get("payer_id"), item.get("covers_cancellation_day")
            if not isinstance(payer, str) or not isinstance(covers, bool):
                raise RulesError(file, where, "needs payer_id and covers_cancellation_day (true or false)")
            start, end = effective_span(item, file=file, where=where)
            out.append(CancellationRule(payer, covers, start, end))
        return cls(tuple(out))
