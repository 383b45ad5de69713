"""What the scrubber needs from other services, as claims' projection holds it, and whether it is all there.

Claims never asks eligibility or authorizations while it works: their announcements (``eligibility-checked``,
``visit-authorization-determined``) are kept in claims' own database, and a claim is scrubbed from that copy. A
claim whose facts are not there yet waits in ``awaiting_facts`` (:func:`missing_facts` names what it waits for)
and is scrubbed when they arrive; nothing is guessed.

* The authorization determination (one per visit, the newest by ``sequence``): whether a prior authorization is
  required and which one covers the visit, and the credentialing registry's decision for the rendering,
  supervising and billing NPIs, with the NPIs the 837P reports (supervisor billing).
* Coverage: the eligibility checks on file for the patient and payer. The check whose stated coverage period
  contains the date of service wins (the newest such), else the newest check; a payer whose terms say it answers
  no eligibility inquiries (``eligibility_on_file_required: false``) needs none.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from claims.domain.model import Claim
from claims.domain.rulebook import PayerTerms
from claims.domain.scrubbing import CredentialingDecision, EligibilityFact, ScrubFacts

AUTHORIZATION_DETERMINATION = "authorization_determination"
ELIGIBILITY_CHECK = "eligibility_check"


@dataclass(frozen=True, slots=True)
class ProviderDecision:
    role: str  # rendering | supervising | billing
    npi: str
    allowed: bool
    reason: str
    billing_npi: str | None = None


@dataclass(frozen=True, slots=True)
class AuthorizationDetermination:
    """Authorizations' answer for one visit (``visit-authorization-determined``), the newest by ``sequence``."""

    visit_id: str
    sequence: int
    authorization_required: bool
    authorization_number: str | None
    missing_reason: str | None
    providers: tuple[ProviderDecision, ...]
    rendering_npi: str | None  # 2310B as decided (None: the rendering clinician may not be billed)
    supervising_npi: str | None  # 2310D

    def decision_for(self, role: str, npi: str) -> ProviderDecision | None:
        return next((p for p in self.providers if p.role == role and p.npi == npi), None)

    def allowed(self, npi: str) -> bool:
        """Whether the registry allowed this NPI in any role of the visit (the credentialing view of the scrub)."""
        return any(p.npi == npi and p.allowed for p in self.providers)


@dataclass(frozen=True, slots=True)
class CoverageCheck:
    """One eligibility check for a patient and payer (``eligibility-checked``)."""

    check_id: str
    as_of: date
    active: bool
    coverage_from: date | None
    coverage_to: date | None
    checked_at: datetime

    def period_contains(self, day: date) -> bool:
        return (self.coverage_from is None or self.coverage_from <= day) and (
            self.coverage_to is None or day <= self.coverage_to)


def coverage_on(checks: Iterable[CoverageCheck], day: date) -> EligibilityFact | None:
    """What the checks on file say about ``day``: the newest check whose stated period contains it (a check's
    ``as_of`` is the date it asked about), else the newest check at all; None when none is on file."""
    ordered = sorted(checks, key=lambda c: (c.as_of, c.checked_at), reverse=True)
    if not ordered:
        return None
    chosen = next((c for c in ordered if c.coverage_from is not None and c.period_contains(day)), ordered[0])
    return EligibilityFact(chosen.active, chosen.coverage_from, chosen.coverage_to)


def missing_facts(claim: Claim, terms: PayerTerms, determination: AuthorizationDetermination | None,
                  checks: Collection[CoverageCheck]) -> tuple[str, ...]:
    """The facts a scrub of ``claim`` still waits for (a claim without service lines is held at once instead:
    authorizations answers no such visit)."""
    missing = []
    if determination is None:
        missing.append(AUTHORIZATION_DETERMINATION)
    if terms.eligibility_on_file_required and not checks:
        missing.append(ELIGIBILITY_CHECK)
    return tuple(missing)


def scrub_facts(claim: Claim, determination: AuthorizationDetermination | None, checks: Iterable[CoverageCheck], *,
                today: date, submitted_fingerprints: Collection[str]) -> ScrubFacts:
    """The scrubber's inputs from the projection (call once :func:`missing_facts` is empty). Without a
    determination (a claim with no lines) no NPI counts as credentialed: the scrub holds, it does not guess."""
    rendering: CredentialingDecision | None = None
    if determination is not None:
        decided = determination.decision_for("rendering", claim.rendering.npi)
        if decided is not None:
            allowed = decided.allowed and determination.rendering_npi is not None
            rendering = CredentialingDecision(
                allowed, decided.reason, determination.rendering_npi if allowed else None,
                determination.supervising_npi if allowed else None)

    def credentialed(npi: str, _payer: str, _day: date) -> bool:
        return determination is not None and determination.allowed(npi)

    return ScrubFacts(today=today, credentialing=credentialed, eligibility=coverage_on(checks, claim.date_of_service),
                      authorization_required=determination.authorization_required if determination else False,
                      submitted_fingerprints=submitted_fingerprints, rendering_decision=rendering)
