"""UnitLedger: the aggregate a practice's prior authorizations and the visits consuming their units are loaded as
(for the (patient, payer) groups a change touches), with what the ledger decides by (``LedgerRules``), the visits as
it keeps them and a visit's authorization answer. The allocation itself is ``AuthorizationLedger``'s
(``authorizations.domain.ledger``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from authorizations.domain.cancellation import CancellationRules
from authorizations.domain.events import (
    AuthorizationStatusChanged,
    AuthorizationUnitConsumed,
    AuthorizationUnitReturned,
)
from authorizations.domain.ledger import (
    AuthorizationBalance,
    AuthorizationLedger,
    MissingAuthorization,
    MissingReason,
    VisitCompleted,
    VisitVoided,
)
from authorizations.domain.model import Authorization, AuthorizationStatus, VisitFacts
from authorizations.domain.requirements import PayerAuthorizationRules


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
