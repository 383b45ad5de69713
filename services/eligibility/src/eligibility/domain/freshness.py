"""When must a cached benefits snapshot be checked again with the payer?

``FreshnessRules.from_rules(rules).policy_for(payer_id, day)`` picks the policy in force (payer-specific first,
then the ``"*"`` default; each has ``effective_from`` / ``effective_to``). ``policy.decide(...)`` answers with a
``FreshnessDecision`` listing every reason to refresh. Shipped: ``rules/freshness.yaml``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from rcm_shared.rules import RulesFile

from eligibility.domain.rule_fields import RuleFields, entries

# CARCs meaning coverage was not what the last check said: 26/27 before/after coverage, 31 not a member,
# 33 insured has no dependent coverage, 109 not covered by this payer, 177 eligibility not met, 200 expenses
# incurred during a lapse in coverage
DEFAULT_ELIGIBILITY_DENIALS = ("26", "27", "31", "33", "109", "177", "200")


class RefreshReason(enum.StrEnum):
    NEVER_CHECKED = "never_checked"
    BEFORE_FIRST_VISIT = "before_first_visit"
    STALE = "stale"
    ELIGIBILITY_DENIAL = "eligibility_denial"
    NEW_BENEFIT_YEAR = "new_benefit_year"
    COVERAGE_ENDED = "coverage_ended"


@dataclass(frozen=True, slots=True)
class CachedCheck:
    """What we remember about the last successful check (not the benefits themselves)."""

    checked_on: date
    coverage_end: date | None = None


@dataclass(frozen=True, slots=True)
class FreshnessDecision:
    refresh: bool
    reasons: tuple[RefreshReason, ...] = ()


@dataclass(frozen=True, slots=True)
class FreshnessPolicy:
    """Re-check rules. ``first_visit_window_days``: a check older than this before a first visit is redone."""

    payer_id: str = "*"
    effective_from: date = date.min
    effective_to: date | None = None
    max_age_days: int = 30
    recheck_before_first_visit: bool = True
    first_visit_window_days: int = 3
    recheck_on_eligibility_denial: bool = True
    recheck_at_new_benefit_year: bool = True
    eligibility_denial_reasons: frozenset[str] = frozenset(DEFAULT_ELIGIBILITY_DENIALS)

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def is_eligibility_denial(self, carc: str) -> bool:
        """Whether a claim denial reason (CARC) means 'the member's coverage was not what we thought'."""
        return carc in self.eligibility_denial_reasons

    def decide(
        self, cached: CachedCheck | None, visit_date: date, *, first_visit: bool = False,
        last_eligibility_denial_on: date | None = None,
    ) -> FreshnessDecision:
        """Should we send a new 270 before ``visit_date``? Pure: 'today' is the visit date the caller asks about.

        ``last_eligibility_denial_on`` is an eligibility denial recorded since ``cached`` was stored (a new
        check clears it). Not compared with ``checked_on``: that is the date the 270 asked about, which for a
        nightly batch is tomorrow, so a denial today would look older than the check it should overrule."""
        if cached is None:
            return FreshnessDecision(True, (RefreshReason.NEVER_CHECKED,))
        reasons: list[RefreshReason] = []
        age = (visit_date - cached.checked_on).days
        if self.recheck_before_first_visit and first_visit and age > self.first_visit_window_days:
            reasons.append(RefreshReason.BEFORE_FIRST_VISIT)
        if age > self.max_age_days:
            reasons.append(RefreshReason.STALE)
        if self.recheck_on_eligibility_denial and last_eligibility_denial_on is not None:
            reasons.append(RefreshReason.ELIGIBILITY_DENIAL)
        if self.recheck_at_new_benefit_year and visit_date.year != cached.checked_on.year:
            reasons.append(RefreshReason.NEW_BENEFIT_YEAR)
        if cached.coverage_end is not None and visit_date > cached.coverage_end:
            reasons.append(RefreshReason.COVERAGE_ENDED)
        return FreshnessDecision(bool(reasons), tuple(reasons))

    @classmethod
    def from_fields(cls, fields: RuleFields) -> FreshnessPolicy:
        start, end = fields.effective()
        return cls(
            payer_id=fields.text("payer_id", "*"), effective_from=start, effective_to=end,
            max_age_days=fields.integer("max_age_days", 30),
            recheck_before_first_visit=fields.flag("recheck_before_first_visit", True),
            first_visit_window_days=fields.integer("first_visit_window_days", 3),
            recheck_on_eligibility_denial=fields.flag("recheck_on_eligibility_denial", True),
            recheck_at_new_benefit_year=fields.flag("recheck_at_new_benefit_year", True),
            eligibility_denial_reasons=frozenset(fields.codes("eligibility_denial_reasons",
                                                              DEFAULT_ELIGIBILITY_DENIALS)),
        )


@dataclass(frozen=True, slots=True)
class FreshnessRules:
    policies: tuple[FreshnessPolicy, ...]
    version: str = "built-in"

    @classmethod
    def from_rules(cls, rules: RulesFile) -> FreshnessRules:
        return cls(tuple(FreshnessPolicy.from_fields(item) for item in entries(rules, "policies")), rules.version)

    def policy_for(self, payer_id: str, day: date) -> FreshnessPolicy:
        """The payer's own policy in force on ``day``, else the default (``"*"``), else built-in defaults."""
        for wanted in (payer_id, "*"):
            for policy in self.policies:
                if policy.payer_id == wanted and policy.in_force(day):
                    return policy
        return FreshnessPolicy()
