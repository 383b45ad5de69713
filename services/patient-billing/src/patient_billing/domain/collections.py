"""Collections follow-up (dunning): the practice's steps as data (``rules/dunning.yaml``: statement, reminder,
final notice, collections hold, each after so many days past due), taken once each and in order, never on a
balance under dispute, never on what is held while insurance is pending, never on an account paying by an active
plan.

Pure domain: no I/O, no framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from patient_billing.domain.exceptions import RulesNotInForce
from patient_billing.domain.pricing import _cents, _day, _in_force

STEP_NAMES = ("statement", "reminder", "final_notice", "collections_hold")


@dataclass(frozen=True)
class DunningStep:
    step: str
    days_past_due: int


@dataclass(frozen=True)
class DunningPolicy:
    policy_id: str
    effective_from: date
    effective_to: date | None
    min_balance: int
    steps: tuple[DunningStep, ...]


@dataclass(frozen=True)
class DunningRules:
    version: str
    policies: tuple[DunningPolicy, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DunningRules:
        policies = []
        for n, p in enumerate(data.get("policies") or []):
            where = f"policies[{n}]"
            steps = tuple(DunningStep(str(s["step"]), int(s["days_past_due"])) for s in p.get("steps") or ())
            unknown = {s.step for s in steps} - set(STEP_NAMES)
            if unknown:
                raise ValueError(f"{where}.steps: unknown steps {sorted(unknown)} (known: {', '.join(STEP_NAMES)})")
            days = [s.days_past_due for s in steps]
            if not steps or days != sorted(days) or len(set(days)) != len(days) or days[0] < 0:
                raise ValueError(f"{where}.steps: at least one, by increasing days_past_due")
            policies.append(DunningPolicy(str(p["id"]), _day(p["effective_from"], f"{where}.effective_from"),
                                          _day(p["effective_to"], where) if p.get("effective_to") else None,
                                          _cents(p.get("min_balance", "0"), f"{where}.min_balance"), steps))
        if not policies:
            raise ValueError("policies: at least one dunning policy is required")
        return cls(str(data.get("version", "")), tuple(policies))

    def in_force(self, day: date) -> DunningPolicy:
        policy: DunningPolicy | None = _in_force(self.policies, day)
        if policy is None:
            raise RulesNotInForce(f"no dunning policy in force on {day.isoformat()}", field="as_of")
        return policy


@dataclass(frozen=True)
class AccountStanding:
    """What the follow-up of one account is decided on (read from the ledger and the account's state)."""

    account_id: str
    amount_due: int  # owed now, without what is held while insurance is pending
    oldest_due_on: date | None  # service date of the oldest open item billed (not held)
    disputed: bool
    on_plan: bool
    steps_taken: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    account_id: str
    step: str | None  # the step to take now (None: nothing to do)
    days_past_due: int
    excluded: str | None  # why nothing is taken: disputed, pending_insurance, on_plan, below_minimum, ...
    next_step: str | None
    next_step_on: int | None  # days past due at which the next step is due


def decide(standing: AccountStanding, today: date, rules: DunningRules) -> Decision:
    """The next step due for an account (one step per run: the first one not yet taken whose day has come)."""
    policy = rules.in_force(today)
    days = (today - standing.oldest_due_on).days if standing.oldest_due_on else 0
    pending = [s for s in policy.steps if s.step not in standing.steps_taken]
    upcoming = pending[0] if pending else None

    def stop(reason: str) -> Decision:
        return Decision(standing.account_id, None, days, reason, upcoming.step if upcoming else None,
                        upcoming.days_past_due if upcoming else None)

    if standing.disputed:
        return stop("disputed")
    if standing.amount_due <= 0:
        return stop("pending_insurance" if standing.oldest_due_on is None else "nothing_due")
    if standing.amount_due < policy.min_balance:
        return stop("below_minimum")
    if standing.on_plan:
        return stop("on_plan")
    if upcoming is None:
        return stop("all_steps_taken")
    if days < upcoming.days_past_due:
        return stop("not_yet_due")
    following = pending[1] if len(pending) > 1 else None
    return Decision(standing.account_id, upcoming.step, days, None, following.step if following else None,
                    following.days_past_due if following else None)
