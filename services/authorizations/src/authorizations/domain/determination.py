"""A visit's determination: what the claims scrubber needs from authorizations about one insured visit, decided
here once and published (``visit-authorization-determined``) instead of asked for over HTTP claim by claim.

* the authorization part (from the unit ledger): is a prior authorization required for the visit's procedure on
  its date, which authorization covers it, or why none does;
* the credentialing part (from the registry): may the rendering, supervising and billing NPIs be billed to the
  payer on the date of service, under whom, and which NPIs the claim reports (2310B rendering, 2310D supervising).

``VisitDetermination`` is the aggregate of one visit's answers: it records an event only when the answer changes,
numbering the answers of a visit (``sequence``) so a consumer keeps the newest. What may change without changing
the answer (the units left on the authorization, the rules' version) is carried, not compared: a visit taking a
unit does not re-announce every other visit of its authorization.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from rcm_shared.rules import RulesError, effective_span

from authorizations.domain.credentialing import CredentialingRegistry
from authorizations.domain.effective import in_force_on
from authorizations.domain.events import ProviderDecided, VisitAuthorizationDetermined
from authorizations.domain.exceptions import RulesNotInForce
from authorizations.domain.unit_ledger import AppliedVisit, AuthorizationAnswer


@dataclass(frozen=True, slots=True)
class Determination:
    """One visit's answer (what is compared to decide whether it changed)."""

    patient_id: str
    payer_id: str
    date_of_service: date
    authorization_required: bool
    authorization_id: str | None
    authorization_number: str | None
    missing_reason: str | None
    providers: tuple[ProviderDecided, ...]
    rendering_npi: str | None  # 2310B: None when the rendering clinician may not be billed
    supervising_npi: str | None  # 2310D

    def to_dict(self) -> dict[str, Any]:
        return {"patient_id": self.patient_id, "payer_id": self.payer_id,
                "date_of_service": self.date_of_service.isoformat(),
                "authorization_required": self.authorization_required, "authorization_id": self.authorization_id,
                "authorization_number": self.authorization_number, "missing_reason": self.missing_reason,
                "providers": [{"role": p.role, "npi": p.npi, "allowed": p.allowed, "reason": p.reason,
                               "billing_npi": p.billing_npi} for p in self.providers],
                "rendering_npi": self.rendering_npi, "supervising_npi": self.supervising_npi}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Determination:
        return cls(patient_id=data["patient_id"], payer_id=data["payer_id"],
                   date_of_service=date.fromisoformat(data["date_of_service"]),
                   authorization_required=data["authorization_required"],
                   authorization_id=data["authorization_id"], authorization_number=data["authorization_number"],
                   missing_reason=data["missing_reason"],
                   providers=tuple(ProviderDecided(p["role"], p["npi"], p["allowed"], p["reason"], p["billing_npi"])
                                   for p in data["providers"]),
                   rendering_npi=data["rendering_npi"], supervising_npi=data["supervising_npi"])

    def with_providers(self, providers: Determination) -> Determination:
        """This answer's authorization part with ``providers``' credentialing part (when only the registry moved)."""
        return Determination(self.patient_id, self.payer_id, self.date_of_service, self.authorization_required,
                             self.authorization_id, self.authorization_number, self.missing_reason,
                             providers.providers, providers.rendering_npi, providers.supervising_npi)


def determine(visit: AppliedVisit, authorization: AuthorizationAnswer, registry: CredentialingRegistry
              ) -> Determination:
    """The answer for a live visit that names its clinicians (``visit.providers``)."""
    assert visit.providers is not None, "a visit that names no clinicians cannot be determined"
    facts, who = visit.facts, visit.providers
    payer, day = facts.payer_id, facts.service_date
    rendering = registry.is_credentialed(who.rendering_npi, payer, "", day, who.rendering_credential)
    providers = [ProviderDecided("rendering", who.rendering_npi, rendering.allowed, rendering.reason.value,
                                 rendering.billing_npi)]
    if who.supervising_npi:
        supervising = registry.is_credentialed(who.supervising_npi, payer, "", day, who.supervising_credential)
        providers.append(ProviderDecided("supervising", who.supervising_npi, supervising.allowed,
                                         supervising.reason.value, supervising.billing_npi))
    if who.billing_npi:
        billing = registry.is_credentialed(who.billing_npi, payer, "", day)
        providers.append(ProviderDecided("billing", who.billing_npi, billing.allowed, billing.reason.value,
                                         billing.billing_npi))
    return Determination(
        patient_id=facts.patient_id, payer_id=payer, date_of_service=day,
        authorization_required=authorization.required, authorization_id=authorization.authorization_id,
        authorization_number=authorization.number, missing_reason=authorization.missing_reason,
        providers=tuple(providers), rendering_npi=rendering.rendering_npi if rendering.allowed else None,
        supervising_npi=rendering.supervising_npi if rendering.allowed else None)


@dataclass
class VisitDetermination:
    """The answers announced for one visit, newest last (``sequence`` counts them)."""

    practice_id: str
    visit_id: str
    sequence: int = 0
    answer: Determination | None = None
    _events: list[Any] = field(default_factory=list)

    def decide(self, answer: Determination, *, units_remaining: int | None, at: datetime, rules_version: str
               ) -> bool:
        """Take ``answer``; announce it (one more in the sequence) only if it is not the answer already given."""
        if answer == self.answer:
            return False
        self.sequence += 1
        self.answer = answer
        self._events.append(VisitAuthorizationDetermined(
            practice_id=self.practice_id, visit_id=self.visit_id, patient_id=answer.patient_id,
            payer_id=answer.payer_id, date_of_service=answer.date_of_service, sequence=self.sequence,
            determined_at=at, authorization_required=answer.authorization_required,
            authorization_id=answer.authorization_id, authorization_number=answer.authorization_number,
            missing_reason=answer.missing_reason, units_remaining=units_remaining, providers=answer.providers,
            rendering_npi=answer.rendering_npi, supervising_npi=answer.supervising_npi, rules_version=rules_version))
        return True

    def pull_events(self) -> list[Any]:
        events, self._events = self._events, []
        return events


@dataclass(frozen=True, slots=True)
class ReannouncementWindow:
    effective_from: date
    effective_to: date | None
    within_days: int


@dataclass(frozen=True, slots=True)
class DeterminationRules:
    """How long after its date of service a visit's answer is announced again when a later fact changes it
    (``rules/determinations.yaml``)."""

    windows: tuple[ReannouncementWindow, ...]

    def open_since(self, today: date) -> date:
        """The earliest date of service whose answer still follows later facts, as of ``today``."""
        window = in_force_on(self.windows, today)
        if window is None:
            raise RulesNotInForce("no re-announcement window is in force on this day (rules/determinations.yaml)")
        return today - timedelta(days=window.within_days)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], file: str = "determinations.yaml") -> DeterminationRules:
        entries = data.get("reannouncement")
        if not isinstance(entries, Sequence) or not entries:
            raise RulesError(file, "reannouncement", "must be a non-empty list")
        windows = []
        for i, entry in enumerate(entries):
            where = f"reannouncement[{i}]"
            if not isinstance(entry, Mapping):
                raise RulesError(file, where, "must be a mapping")
            days = entry.get("reannounce_within_days")
            if not isinstance(days, int) or isinstance(days, bool) or days < 0:
                raise RulesError(file, f"{where}.reannounce_within_days", "must be a whole number of days")
            start, end = effective_span(entry, file=file, where=where)
            windows.append(ReannouncementWindow(start, end, days))
        return cls(tuple(windows))

