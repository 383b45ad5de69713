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
from authorizations.domain.requirements import PayerAuthorizationRules

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
    # Indexes, so a change costs the size of its groups, not of the whole ledger: authorization numbers and live
    # visit ids per group, visits holding each authorization's units, visits with a finding per group.
    _group_auths: dict[_Group, set[str]] = field(default_factory=dict)
    _group_visits: dict[_Group, set[str]] = field(default_factory=dict)
    _holders: dict[str, set[str]] = field(default_factory=dict)
    _group_findings: dict[_Group, set[str]] = field(default_factory=dict)

    # -- commands

    def add_authorization(self, authorization: Authorization) -> list[LedgerChange]:
        """Add or replace (same number) an authorization, e.g. when the payer approves or extends it."""
        groups: set[_Group] = {(authorization.patient_id, authorization.payer_id)}
        previous = self._authorizations.get(authorization.number)
        if previous is not None:
            groups.add((previous.patient_id, previous.payer_id))
        self._put_authorization(authorization)
        return self._reallocate(groups)

    def apply(self, event: VisitEvent) -> list[LedgerChange]:
        visit_id = event.visit_id
        groups: set[_Group] = set()
        known = self._visits.get(visit_id)
        if known is not None:
            groups.add((known[1].patient_id, known[1].payer_id))
        if isinstance(event, VisitVoided):
            self._voided.add(visit_id)
            self._drop_visit(visit_id)
        elif visit_id in self._voided:
            return []  # tombstone: a void is final, whatever arrives after it
        else:
            candidate = (event.revision, event.facts)
            if known is not None and candidate <= known:
                return []  # duplicate or older revision
            self._drop_visit(visit_id)
            self._put_visit(visit_id, candidate)
            groups.add((event.facts.patient_id, event.facts.payer_id))
        return self._reallocate(groups)

    def apply_all(self, events: Iterable[VisitEvent]) -> list[LedgerChange]:
        changes: list[LedgerChange] = []
        for event in events:
            changes.extend(self.apply(event))
        return changes

    def restore(self, authorizations: Iterable[Authorization],
                visits: Iterable[tuple[str, int, VisitFacts, bool]]) -> None:
        """Load stored authorizations and visits (id, revision, facts, voided) at once, allocating each group once:
        the same state as adding and applying them one by one, without reallocating after each."""
        groups: set[_Group] = set()
        for authorization in authorizations:
            previous = self._authorizations.get(authorization.number)
            if previous is not None:
                groups.add((previous.patient_id, previous.payer_id))
            self._put_authorization(authorization)
            groups.add((authorization.patient_id, authorization.payer_id))
        for visit_id, revision, facts, voided in visits:
            known = self._visits.get(visit_id)
            if known is not None:
                groups.add((known[1].patient_id, known[1].payer_id))
            if voided:
                self._voided.add(visit_id)
                self._drop_visit(visit_id)
            elif visit_id not in self._voided and (known is None or (revision, facts) > known):
                self._drop_visit(visit_id)
                self._put_visit(visit_id, (revision, facts))
                groups.add((facts.patient_id, facts.payer_id))
        self._reallocate(groups)

    def _put_authorization(self, authorization: Authorization) -> None:
        previous = self._authorizations.get(authorization.number)
        if previous is not None:
            self._group_auths.get((previous.patient_id, previous.payer_id), set()).discard(authorization.number)
        self._authorizations[authorization.number] = authorization
        self._group_auths.setdefault((authorization.patient_id, authorization.payer_id), set()).add(
            authorization.number)

    def _put_visit(self, visit_id: str, candidate: tuple[int, VisitFacts]) -> None:
        self._visits[visit_id] = candidate
        self._group_visits.setdefault((candidate[1].patient_id, candidate[1].payer_id), set()).add(visit_id)

    def _drop_visit(self, visit_id: str) -> None:
        known = self._visits.pop(visit_id, None)
        if known is not None:
            self._group_visits.get((known[1].patient_id, known[1].payer_id), set()).discard(visit_id)

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

    def finding_of(self, visit_id: str) -> MissingAuthorization | None:
        return self._findings.get(visit_id)

    def balance(self, number: str) -> AuthorizationBalance:
        return AuthorizationBalance(approved=self._authorizations[number].approved_units,
                                    used=len(self._holders.get(number, ())))

    def balances(self) -> dict[str, AuthorizationBalance]:
        return {number: self.balance(number) for number in self._authorizations}

    def status_of(self, number: str, today: date) -> AuthorizationStatus:
        """The stored payer decision (a cancellation included), or EXHAUSTED / EXPIRED derived from consumption
        and dates."""
        return self._authorizations[number].status_on(self.balance(number).used, today)

    def live_visits(self) -> dict[str, VisitFacts]:
        return {visit_id: facts for visit_id, (_, facts) in self._visits.items()}

    # -- allocation

    def _reallocate(self, groups: set[_Group]) -> list[LedgerChange]:
        changes: list[LedgerChange] = []
        for group in sorted(groups):
            changes.extend(self._reallocate_group(group))
        return changes

    def _reallocate_group(self, group: _Group) -> list[LedgerChange]:
        auths = sorted((self._authorizations[n] for n in self._group_auths.get(group, ())),
                       key=lambda a: (a.end, a.start, a.number))
        visits = sorted((self._visits[v][1].service_date, v, self._visits[v][1])
                        for v in self._group_visits.get(group, ()))
        numbers = {a.number for a in auths}
        visit_ids = {visit_id for _, visit_id, _ in visits}
        # what this group held before: visits now in it, and visits (maybe moved away) holding its units
        before_alloc = {v: n for n in numbers for v in self._holders.get(n, ())}
        before_alloc.update({v: self._allocation[v] for v in visit_ids if v in self._allocation})
        before_findings = {v: self._findings[v] for v in self._group_findings.get(group, ()) if v in self._findings}
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
            held = self._allocation.pop(visit_id, None)
            if held is not None:
                self._holders.get(held, set()).discard(visit_id)
        for visit_id in before_findings:
            gone = self._findings.pop(visit_id, None)
            if gone is not None:
                self._group_findings.get((gone.patient_id, gone.payer_id), set()).discard(visit_id)
        for visit_id, number in after_alloc.items():
            self._allocation[visit_id] = number
            self._holders.setdefault(number, set()).add(visit_id)
        for visit_id, finding in after_findings.items():
            self._findings[visit_id] = finding
            self._group_findings.setdefault(group, set()).add(visit_id)
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
