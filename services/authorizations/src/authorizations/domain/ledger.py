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
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from rcm_shared.rules import RulesError, effective_span

from authorizations.domain.cancellation import CancellationRules
from authorizations.domain.events import (
    AuthorizationStatusChanged,
    AuthorizationUnitConsumed,
    AuthorizationUnitReturned,
)
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
    def from_dict(cls, data: Mapping[str, object], file: str = "prior_authorization_requirements.yaml"
                  ) -> PayerAuthorizationRules:
        raw = data.get("requirements")
        if not isinstance(raw, list):
            raise RulesError(file, "requirements", "must be a list")
        out = []
        for i, item in enumerate(raw):
            where = f"requirements[{i}]"
            if not isinstance(item, Mapping):
                raise RulesError(file, where, "must be a mapping")
            payer = item.get("payer_id")
            required = item.get("requires_authorization")
            codes = item.get("cpt_codes", [])
            if not isinstance(payer, str) or not isinstance(required, bool):
                raise RulesError(file, where, "needs payer_id and requires_authorization (true or false)")
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise RulesError(file, f"{where}.cpt_codes", "must be a list of codes")
            start, end = effective_span(item, file=file, where=where)
            out.append(AuthorizationRequirement(payer_id=payer, requires_authorization=required,
                                                cpt_codes=frozenset(codes), effective_from=start, effective_to=end))
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


# ------------------------------------------------------------------------------------------------ the aggregate


@dataclass(frozen=True, slots=True)
class LedgerRules:
    """What the unit ledger decides by: which payers require an authorization, and what a cancellation leaves."""

    requirements: PayerAuthorizationRules
    cancellation: CancellationRules


@dataclass(frozen=True, slots=True)
class VisitProviders:
    """Who is on a visit, as ``visit-completed`` names them: the clinician who delivered the service (with their
    license), the supervisor if any, and the billing provider (the group). Credentialing decides about each."""

    rendering_npi: str
    rendering_credential: str = ""
    supervising_npi: str | None = None
    supervising_credential: str = ""
    billing_npi: str | None = None


@dataclass(frozen=True, slots=True)
class AppliedVisit:
    """A visit as the ledger keeps it: ``revision`` grows with each change of its facts; ``voided`` is for good.
    ``providers`` is None for visits applied before the visit event named its clinicians."""

    visit_id: str
    revision: int
    facts: VisitFacts
    voided: bool = False
    providers: VisitProviders | None = None


@dataclass(frozen=True, slots=True)
class StoredAuthorization:
    authorization_id: str
    authorization: Authorization


@dataclass(frozen=True, slots=True)
class AuthorizationAnswer:
    """The authorization part of a visit's determination: is one required, which covers the visit, or why none."""

    required: bool
    authorization_id: str | None
    number: str | None
    missing_reason: str | None
    units_remaining: int | None


Group = tuple[str, str]  # (patient_id, payer_id)


class UnitLedger:
    """Aggregate: a practice's prior authorizations and the visits that consume their units, for the (patient,
    payer) groups it was loaded with. A repository loads every group a change touches (a visit moving from one
    patient or payer to another touches both), so the allocation it computes is the whole truth for them.

    Changes (``record``, ``complete``, ``void``, ``cancel``) are worked out at once; ``settle(today)`` then records
    what they did to the units as domain events (``UnitConsumed`` / ``UnitReturned``, ``AuthorizationStatusChanged``
    for authorizations a payer decided), against what was stored before, so a batch of changes announces each
    visit's final allocation once."""

    def __init__(self, practice_id: str, rules: LedgerRules, groups: Iterable[Group],
                 authorizations: Iterable[StoredAuthorization] = (), visits: Iterable[AppliedVisit] = (),
                 allocation: Mapping[str, str] | None = None) -> None:
        self.practice_id = practice_id
        self.rules = rules
        self.groups: set[Group] = set(groups)
        self._engine = AuthorizationLedger(rules=rules.requirements)
        self._ids: dict[str, str] = {}
        self._visits: dict[str, AppliedVisit] = {}
        covering = []
        for stored in authorizations:
            self._ids[stored.authorization.number] = stored.authorization_id
            covering.append(self._covering(stored.authorization))
            self.groups.add((stored.authorization.patient_id, stored.authorization.payer_id))
        loaded = []
        for visit in visits:
            self._visits[visit.visit_id] = visit
            self.groups.add((visit.facts.patient_id, visit.facts.payer_id))
            loaded.append((visit.visit_id, visit.revision, visit.facts, visit.voided))
        self._engine.restore(covering, loaded)
        # What the units were last stored (and announced) as: settle() announces the difference.
        self._announced: dict[str, str] = dict(allocation if allocation is not None else self._engine.allocations())
        self._reasons: dict[str, MissingReason] = self._missing_reasons()
        #: visits whose authorization answer (unit or missing reason) the settled changes moved: the ones to answer
        self.changed_answers: set[str] = set()
        self._status_changes: list[str] = []
        self.changed_authorizations: set[str] = set()
        self.changed_visits: set[str] = set()
        self._events: list[Any] = []

    def _load_visit(self, visit: AppliedVisit) -> None:
        self._visits[visit.visit_id] = visit
        self.groups.add((visit.facts.patient_id, visit.facts.payer_id))
        if visit.voided:
            self._engine.apply(VisitVoided(visit.visit_id))
        else:
            self._engine.apply(VisitCompleted(visit.visit_id, visit.revision, visit.facts))

    def _covering(self, authorization: Authorization) -> Authorization:
        """A cancelled authorization covers visits up to the day the payer's rule says (``cancellation.yaml``)."""
        if authorization.cancelled and authorization.cancelled_on is not None:
            return replace(authorization, covered_through=self.rules.cancellation.covered_through(
                authorization.payer_id, authorization.cancelled_on))
        return authorization

    # -- changes

    def record(self, authorization: Authorization, *, new_id: str, decided_by_payer: bool = False) -> str:
        """Add or replace (by number) an authorization; returns its id (``new_id`` for a number not seen before).
        ``decided_by_payer``: a review's answer, announced as a status change when settled."""
        self._check_loaded((authorization.patient_id, authorization.payer_id))
        authorization_id = self._ids.setdefault(authorization.number, new_id)
        self._engine.add_authorization(self._covering(authorization))
        self.changed_authorizations.add(authorization.number)
        if decided_by_payer:
            self._status_changes.append(authorization.number)
        return authorization_id

    def complete(self, visit_id: str, facts: VisitFacts, providers: VisitProviders | None = None) -> bool:
        """A completed (or re-sent, corrected) visit: it takes a unit if one covers it. A voided visit stays void;
        the same facts again change nothing. Returns whether anything changed."""
        self._check_loaded((facts.patient_id, facts.payer_id))
        known = self._visits.get(visit_id)
        if known is not None and (known.voided or (known.facts, known.providers) == (facts, providers)):
            return False
        visit = AppliedVisit(visit_id, known.revision + 1 if known else 1, facts, providers=providers)
        if known is not None:
            self._check_loaded((known.facts.patient_id, known.facts.payer_id))
        self._load_visit(visit)
        self.changed_visits.add(visit_id)
        return True

    def void(self, visit_id: str, facts: VisitFacts) -> bool:
        """A voided (or replaced) visit gives its unit back, for good. ``facts``: what to keep for a visit never
        seen before its void (a tombstone, so a completion arriving later stays void)."""
        known = self._visits.get(visit_id)
        if known is not None and known.voided:
            return False
        if known is None:
            self._check_loaded((facts.patient_id, facts.payer_id))
            visit = AppliedVisit(visit_id, 1, facts, voided=True)
        else:
            self._check_loaded((known.facts.patient_id, known.facts.payer_id))
            visit = replace(known, voided=True)
        self._load_visit(visit)
        self.changed_visits.add(visit_id)
        return True

    def certification_named(self, numbers: Iterable[str], patient_id: str, payer_id: str) -> str | None:
        """The first of ``numbers`` that is an authorization of this patient with this payer (any status)."""
        for number in numbers:
            if not number or number not in self._ids:
                continue
            auth = self._engine.authorization(number)
            if (auth.patient_id, auth.payer_id) == (patient_id, payer_id):
                return number
        return None

    def cancel(self, number: str, on: date) -> bool:
        """The payer cancelled certification ``number`` on the practice's date ``on``: it covers nothing after
        (``cancellation.yaml`` says whether ``on`` itself still is); later visits give their units back. Only a
        usable certification can be cancelled: anything else (denied, already cancelled) is left as it is."""
        auth = self._engine.authorization(number)
        if not auth.usable:
            return False
        self._engine.add_authorization(self._covering(replace(auth, status=AuthorizationStatus.CANCELLED,
                                                              cancelled_on=on)))
        self.changed_authorizations.add(number)
        self._status_changes.append(number)
        return True

    def settle(self, today: date) -> None:
        """Record what the changes did to the units (statuses as of the practice's ``today``)."""
        current = self._engine.allocations()
        for visit_id in sorted(self._announced):
            number = self._announced[visit_id]
            if current.get(visit_id) != number and number in self._ids:
                self._events.append(AuthorizationUnitReturned(*self._unit_fields(number, visit_id, today)))
        for visit_id in sorted(current):
            number = current[visit_id]
            if self._announced.get(visit_id) != number:
                self._events.append(AuthorizationUnitConsumed(*self._unit_fields(number, visit_id, today)))
        for number in dict.fromkeys(self._status_changes):
            auth = self._engine.authorization(number)
            self._events.append(AuthorizationStatusChanged(
                self.practice_id, self._ids[number], number, auth.patient_id, auth.payer_id,
                self.status_of(number, today).value, self.balance(number).remaining, auth.end))
        self._status_changes.clear()
        reasons = self._missing_reasons()
        self.changed_answers |= {v for v in self._announced.keys() | current.keys()
                                 if self._announced.get(v) != current.get(v)}
        self.changed_answers |= {v for v in self._reasons.keys() | reasons.keys()
                                 if self._reasons.get(v) != reasons.get(v)}
        self._announced, self._reasons = current, reasons

    def _missing_reasons(self) -> dict[str, MissingReason]:
        return {f.visit_id: f.reason for f in self._engine.findings()}

    def _unit_fields(self, number: str, visit_id: str, today: date) -> tuple[Any, ...]:
        auth = self._engine.authorization(number)
        return (self.practice_id, self._ids[number], number, auth.patient_id, auth.payer_id, visit_id,
                self.status_of(number, today).value, self.balance(number).remaining, auth.end)

    def pull_events(self) -> list[Any]:
        events, self._events = self._events, []
        return events

    def _check_loaded(self, group: Group) -> None:
        if group not in self.groups:
            raise LookupError("this change touches a patient and payer the ledger was not loaded with")

    # -- what it knows

    def authorization(self, number: str) -> Authorization:
        return self._engine.authorization(number)

    def authorizations(self) -> list[Authorization]:
        return self._engine.authorizations()

    def authorization_id(self, number: str) -> str:
        return self._ids[number]

    def has_authorization(self, number: str) -> bool:
        return number in self._ids

    def balance(self, number: str) -> AuthorizationBalance:
        return self._engine.balance(number)

    def status_of(self, number: str, today: date) -> AuthorizationStatus:
        return self._engine.status_of(number, today)

    def allocations(self) -> dict[str, str]:
        return self._engine.allocations()

    def findings(self) -> list[MissingAuthorization]:
        return self._engine.findings()

    def visit(self, visit_id: str) -> AppliedVisit | None:
        return self._visits.get(visit_id)

    def live_visits(self, groups: Iterable[Group] | None = None) -> list[AppliedVisit]:
        wanted = set(groups) if groups is not None else None
        return [v for v in self._visits.values() if not v.voided
                and (wanted is None or (v.facts.patient_id, v.facts.payer_id) in wanted)]

    def answer_for(self, visit_id: str) -> AuthorizationAnswer:
        """Which authorization covers this (applied, live) visit, or why none does; whether one is required."""
        facts = self._visits[visit_id].facts
        number = self._engine.allocation_of(visit_id)
        finding = self._engine.finding_of(visit_id)
        return AuthorizationAnswer(
            required=self.rules.requirements.requires(facts.payer_id, facts.cpt_code, facts.service_date),
            authorization_id=self._ids.get(number) if number else None, number=number,
            missing_reason=finding.reason.value if finding else None,
            units_remaining=self.balance(number).remaining if number else None)

    def simulate(self, visit_id: str, facts: VisitFacts) -> AuthorizationAnswer:
        """The answer a visit would get if it were applied now (the HTTP lookup for people and tools); changes
        nothing that is kept."""
        probe = UnitLedger(self.practice_id, self.rules, self.groups | {(facts.patient_id, facts.payer_id)},
                           [StoredAuthorization(self._ids[a.number], a) for a in self._engine.authorizations()],
                           self._visits.values())
        probe.complete(visit_id, facts, probe._visits[visit_id].providers if visit_id in probe._visits else None)
        if probe._visits[visit_id].voided:
            return AuthorizationAnswer(self.rules.requirements.requires(
                facts.payer_id, facts.cpt_code, facts.service_date), None, None, None, None)
        return probe.answer_for(visit_id)
