"""AuthorizationLedger: which completed visit consumed which authorization unit.

Events in, domain events out::

    ledger = AuthorizationLedger(rules=PayerAuthorizationRules.from_dict(data))
    ledger.add_authorization(auth)                              # or update: same number replaces
    changes = ledger.apply(VisitCompleted("v1", 1, facts))      # -> [UnitConsumed(...), ...]
    ledger.apply(VisitCorrected("v1", 2, new_facts))            # moves the consumption
    ledger.apply(VisitVoided("v1"))                             # gives the unit back, for good

Convergence: the ledger's state is a function of the *set* of events it has seen, not of their order. Per visit it
keeps the facts with the highest ``revision`` (ties broken by comparing the facts, so even conflicting duplicates
converge) and a tombstone once voided (a completion arriving after its void stays void). Allocation is then
recomputed for the (patient, payer) groups an event touches: live visits in (date of service, visit id) order,
each taking one unit from the matching authorization (same patient + payer, date inside the range, CPT covered,
approved) that ends soonest and still has units. So every visit id consumes at most one unit, units never go
negative, and a visit that cannot get a unit where the payer requires one gets a ``MissingAuthorization``
finding instead of over-consuming (reason ``units_exhausted`` when a matching authorization ran out).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from authorizations.domain.model import Authorization, AuthorizationStatus, VisitFacts

# ------------------------------------------------------------------------------------------------ payer rules


@dataclass(frozen=True, slots=True)
class AuthorizationRequirement:
    """Whether ``payer_id`` (``"*"`` = any payer) requires prior authorization for ``cpt_codes`` (empty = every
    code) for dates of service from ``effective_from`` to ``effective_to`` inclusive."""

    payer_id: str
    requires_authorization: bool
    cpt_codes: frozenset[str] = frozenset()
    effective_from: date = date.min
    effective_to: date | None = None

    def applies(self, payer_id: str, cpt_code: str, day: date) -> bool:
        return (
            self.payer_id in (payer_id, "*")
            and (not self.cpt_codes or cpt_code in self.cpt_codes)
            and self.effective_from <= day
            and (self.effective_to is None or day <= self.effective_to)
        )

    @property
    def specificity(self) -> int:
        return (2 if self.payer_id != "*" else 0) + (1 if self.cpt_codes else 0)


@dataclass(frozen=True, slots=True)
class PayerAuthorizationRules:
    requirements: tuple[AuthorizationRequirement, ...] = ()

    def requires(self, payer_id: str, cpt_code: str, day: date) -> bool:
        """The most specific rule in force wins (payer + CPT, payer, default + CPT, default); none: not required."""
        matching = [r for r in self.requirements if r.applies(payer_id, cpt_code, day)]
        if not matching:
            return False
        return max(matching, key=lambda r: r.specificity).requires_authorization

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> PayerAuthorizationRules:
        raw = data.get("requirements")
        if not isinstance(raw, list):
            raise ValueError("authorization rules: requirements must be a list")
        out = []
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping):
                raise ValueError(f"authorization rules: requirements[{i}] must be an object")
            payer = item.get("payer_id")
            required = item.get("requires_authorization")
            codes = item.get("cpt_codes", [])
            start = item.get("effective_from")
            end = item.get("effective_to")
            if not isinstance(payer, str) or not isinstance(required, bool):
                raise ValueError(f"authorization rules: requirements[{i}] needs payer_id and requires_authorization")
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise ValueError(f"authorization rules: requirements[{i}].cpt_codes must be a list of codes")
            if not isinstance(start, str) or not (end is None or isinstance(end, str)):
                raise ValueError(f"authorization rules: requirements[{i}] needs ISO effective dates")
            out.append(AuthorizationRequirement(
                payer_id=payer, requires_authorization=required, cpt_codes=frozenset(codes),
                effective_from=date.fromisoformat(start), effective_to=date.fromisoformat(end) if end else None,
            ))
        return cls(tuple(out))


# ------------------------------------------------------------------------------------------------ events in


@dataclass(frozen=True, slots=True)
class VisitCompleted:
    """A signed visit. ``revision`` grows with each correction of the same visit (1 for the first version)."""

    visit_id: str
    revision: int
    facts: VisitFacts


@dataclass(frozen=True, slots=True)
class VisitCorrected:
    visit_id: str
    revision: int
    facts: VisitFacts


@dataclass(frozen=True, slots=True)
class VisitVoided:
    visit_id: str


VisitEvent = VisitCompleted | VisitCorrected | VisitVoided


# ------------------------------------------------------------------------------------------------ findings / out


class MissingReason(enum.StrEnum):
    NONE_ON_FILE = "none_on_file"
    NOT_APPROVED = "not_approved"
    OUTSIDE_DATES = "outside_dates"
    CPT_NOT_COVERED = "cpt_not_covered"
    UNITS_EXHAUSTED = "units_exhausted"
    CANCELLED = "cancelled"  # the authorization that fits was cancelled by the payer before this date


@dataclass(frozen=True, slots=True)
class MissingAuthorization:
    """A completed visit the payer wants authorized that has no unit to consume (claim would deny: CARC 15/197
    for no authorization, 198 when the authorization is exceeded)."""

    visit_id: str
    patient_id: str
    payer_id: str
    service_date: date
    cpt_code: str
    reason: MissingReason


@dataclass(frozen=True, slots=True)
class UnitConsumed:
    visit_id: str
    authorization_number: str


@dataclass(frozen=True, slots=True)
class UnitReleased:
    visit_id: str
    authorization_number: str


@dataclass(frozen=True, slots=True)
class AuthorizationExhausted:
    authorization_number: str


@dataclass(frozen=True, slots=True)
class MissingAuthorizationFound:
    finding: MissingAuthorization


@dataclass(frozen=True, slots=True)
class MissingAuthorizationResolved:
    visit_id: str


LedgerChange = (
    UnitConsumed | UnitReleased | AuthorizationExhausted | MissingAuthorizationFound | MissingAuthorizationResolved
)


@dataclass(frozen=True, slots=True)
class AuthorizationBalance:
    approved: int
    used: int

    @property
    def remaining(self) -> int:
        return self.approved - self.used


# ------------------------------------------------------------------------------------------------ the ledger

_Group = tuple[str, str]  # (patient_id, payer_id)


@dataclass
class AuthorizationLedger:
    rules: PayerAuthorizationRules = field(default_factory=PayerAuthorizationRules)
    _authorizations: dict[str, Authorization] = field(default_factory=dict)
    _visits: dict[str, tuple[int, VisitFacts]] = field(default_factory=dict)
    _voided: set[str] = field(default_factory=set)
    _allocation: dict[str, str] = field(default_factory=dict)  # visit id -> authorization number
    _findings: dict[str, MissingAuthorization] = field(default_factory=dict)

    # -- commands

    def add_authorization(self, authorization: Authorization) -> list[LedgerChange]:
        """Add or replace (same number) an authorization, e.g. when the payer approves or extends it."""
        groups: set[_Group] = {(authorization.patient_id, authorization.payer_id)}
        previous = self._authorizations.get(authorization.number)
        if previous is not None:
            groups.add((previous.patient_id, previous.payer_id))
        self._authorizations[authorization.number] = authorization
        return self._reallocate(groups)

    def apply(self, event: VisitEvent) -> list[LedgerChange]:
        visit_id = event.visit_id
        groups: set[_Group] = set()
        known = self._visits.get(visit_id)
        if known is not None:
            groups.add((known[1].patient_id, known[1].payer_id))
        if isinstance(event, VisitVoided):
            self._voided.add(visit_id)
            self._visits.pop(visit_id, None)
        elif visit_id in self._voided:
            return []  # tombstone: a void is final, whatever arrives after it
        else:
            candidate = (event.revision, event.facts)
            if known is not None and candidate <= known:
                return []  # duplicate or older revision
            self._visits[visit_id] = candidate
            groups.add((event.facts.patient_id, event.facts.payer_id))
        return self._reallocate(groups)

    def apply_all(self, events: Iterable[VisitEvent]) -> list[LedgerChange]:
        changes: list[LedgerChange] = []
        for event in events:
            changes.extend(self.apply(event))
        return changes

    # -- queries

    def authorization(self, number: str) -> Authorization:
        return self._authorizations[number]

    def authorizations(self) -> list[Authorization]:
        return list(self._authorizations.values())

    def allocation_of(self, visit_id: str) -> str | None:
        return self._allocation.get(visit_id)

    def allocations(self) -> dict[str, str]:
        return dict(self._allocation)

    def findings(self) -> list[MissingAuthorization]:
        return sorted(self._findings.values(), key=lambda f: (f.service_date, f.visit_id))

    def balance(self, number: str) -> AuthorizationBalance:
        used = sum(1 for n in self._allocation.values() if n == number)
        return AuthorizationBalance(approved=self._authorizations[number].approved_units, used=used)

    def balances(self) -> dict[str, AuthorizationBalance]:
        return {number: self.balance(number) for number in self._authorizations}

    def status_of(self, number: str, today: date) -> AuthorizationStatus:
        """The stored payer decision (a cancellation included), or EXHAUSTED / EXPIRED derived from consumption
        and dates."""
        auth = self._authorizations[number]
        if not auth.usable:
            return auth.status
        if self.balance(number).remaining <= 0:
            return AuthorizationStatus.EXHAUSTED
        if today > auth.end:
            return AuthorizationStatus.EXPIRED
        return AuthorizationStatus.APPROVED

    def live_visits(self) -> dict[str, VisitFacts]:
        return {visit_id: facts for visit_id, (_, facts) in self._visits.items()}

    # -- allocation

    def _reallocate(self, groups: set[_Group]) -> list[LedgerChange]:
        changes: list[LedgerChange] = []
        for group in sorted(groups):
            changes.extend(self._reallocate_group(group))
        return changes

    def _reallocate_group(self, group: _Group) -> list[LedgerChange]:
        auths = sorted(
            (a for a in self._authorizations.values() if (a.patient_id, a.payer_id) == group),
            key=lambda a: (a.end, a.start, a.number),
        )
        visits = sorted(
            ((facts.service_date, visit_id, facts) for visit_id, (_, facts) in self._visits.items()
             if (facts.patient_id, facts.payer_id) == group),
        )
        numbers = {a.number for a in auths}
        visit_ids = {visit_id for _, visit_id, _ in visits}
        # what this group held before: visits now in it, and visits (maybe moved away) holding its units
        before_alloc = {v: n for v, n in self._allocation.items() if n in numbers or v in visit_ids}
        before_findings = {v: f for v, f in self._findings.items() if (f.patient_id, f.payer_id) == group}
        used = {a.number: 0 for a in auths}
        after_alloc: dict[str, str] = {}
        after_findings: dict[str, MissingAuthorization] = {}
        for _, visit_id, facts in visits:
            matching = [a for a in auths if a.covers(facts)]
            chosen = next((a for a in matching if used[a.number] < a.approved_units), None)
            if chosen is not None:
                used[chosen.number] += 1
                after_alloc[visit_id] = chosen.number
            elif self.rules.requires(facts.payer_id, facts.cpt_code, facts.service_date):
                reason = MissingReason.UNITS_EXHAUSTED if matching else self._why_missing(auths, facts)
                after_findings[visit_id] = MissingAuthorization(
                    visit_id, facts.patient_id, facts.payer_id, facts.service_date, facts.cpt_code, reason,
                )
        for visit_id in before_alloc:
            self._allocation.pop(visit_id, None)
        for visit_id in before_findings:
            self._findings.pop(visit_id, None)
        self._allocation.update(after_alloc)
        self._findings.update(after_findings)
        return self._diff(before_alloc, after_alloc, before_findings, after_findings, auths)

    @staticmethod
    def _why_missing(auths: Sequence[Authorization], facts: VisitFacts) -> MissingReason:
        if not auths:
            return MissingReason.NONE_ON_FILE
        usable = [a for a in auths if a.usable]
        fits = [a for a in auths if a.start <= facts.service_date <= a.end and facts.cpt_code in a.cpt_codes]
        if any(a.cancelled for a in fits):
            return MissingReason.CANCELLED
        if fits or not usable:
            return MissingReason.NOT_APPROVED  # the only fitting ones are requested or denied
        if any(facts.cpt_code in a.cpt_codes for a in usable):
            return MissingReason.OUTSIDE_DATES
        return MissingReason.CPT_NOT_COVERED

    @staticmethod
    def _diff(
        before_alloc: Mapping[str, str], after_alloc: Mapping[str, str],
        before_findings: Mapping[str, MissingAuthorization], after_findings: Mapping[str, MissingAuthorization],
        auths: Sequence[Authorization],
    ) -> list[LedgerChange]:
        changes: list[LedgerChange] = []
        for visit_id in sorted(set(before_alloc) | set(after_alloc)):
            old, new = before_alloc.get(visit_id), after_alloc.get(visit_id)
            if old == new:
                continue
            if old is not None:
                changes.append(UnitReleased(visit_id, old))
            if new is not None:
                changes.append(UnitConsumed(visit_id, new))
        for visit_id in sorted(set(before_findings) | set(after_findings)):
            old_f, new_f = before_findings.get(visit_id), after_findings.get(visit_id)
            if old_f == new_f:
                continue
            if new_f is not None:
                changes.append(MissingAuthorizationFound(new_f))
            else:
                changes.append(MissingAuthorizationResolved(visit_id))
        for auth in auths:
            before = sum(1 for n in before_alloc.values() if n == auth.number)
            after = sum(1 for n in after_alloc.values() if n == auth.number)
            if auth.approved_units > 0 and before < auth.approved_units <= after:
                changes.append(AuthorizationExhausted(auth.number))
        return changes
