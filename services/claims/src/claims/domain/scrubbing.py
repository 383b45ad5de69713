"""Clean-claim edits: ``ClaimScrubber(rulebook).scrub(claim, facts) -> tuple[Finding, ...]``.

Pure: everything the edits need from other services arrives in :class:`ScrubFacts` (credentialing as a
callable ``(npi, payer_id, day) -> bool`` and the registry's :class:`CredentialingDecision` for the clinician who
delivered the service, eligibility, authorization requirement, fingerprints of claims already submitted, the
practice's date today). Errors hold a claim; warnings let it pass (``Claim.record_scrub``).

Supervisor billing is not decided here: the credentialing registry (authorizations) decides who the 837P names
(:func:`reported_providers` maps its NPIs onto the visit's clinicians, ``Claim.report_providers`` records it), and
the scrub holds a claim whose reported providers are not what the registry decided.

Finding codes (each names a field path a biller can fix)::

    NPI_INVALID EIN_INVALID BILLING_ADDRESS_PO_BOX PROVIDER_NOT_CREDENTIALED BILLING_PROVIDER_NOT_CREDENTIALED
    SUPERVISOR_NOT_ON_CLAIM PROVIDERS_NOT_AS_DECIDED
    DIAGNOSIS_MISSING DIAGNOSIS_INVALID DIAGNOSIS_TOO_MANY PRINCIPAL_DIAGNOSIS_NOT_ALLOWED POINTER_INVALID
    LINES_MISSING LINES_TOO_MANY PROCEDURE_UNKNOWN MODIFIER_UNKNOWN TELEHEALTH_MODIFIER_WITHOUT_TELEHEALTH_POS
    TELEHEALTH_NOT_COVERED DIGITAL_EM_NOT_TELEHEALTH DIGITAL_EM_NOT_COVERED ADDON_WITHOUT_PRIMARY
    INTERACTIVE_COMPLEXITY_NOT_ALLOWED UNITS_OUT_OF_RANGE CHARGE_INVALID AUTHORIZATION_MISSING
    ELIGIBILITY_NOT_ON_FILE ELIGIBILITY_INACTIVE DUPLICATE_CLAIM TIMELY_FILING_EXPIRED TIMELY_FILING_NEAR
    PAYER_CLAIM_NUMBER_MISSING COB_INCOMPLETE PATIENT_DEMOGRAPHICS_MISSING PATIENT_RELATIONSHIP_INVALID
    SUBSCRIBER_ID_MISSING NAME_NOT_REPRESENTABLE
plus whatever charge capture recorded on the claim (``Claim.coding_findings``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date

from claims.domain.model import Claim, Finding, ReportedProviders, Severity
from claims.domain.rulebook import Rulebook
from claims.domain.x12_text import clean

CredentialingView = Callable[[str, str, date], bool]
"""``(npi, payer_id, date_of_service) -> enrolled?``: a port the service layer fills from its local copy."""

ICD10_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z]([0-9A-Z]{1,4})?$")
PATIENT_RELATIONSHIPS = frozenset({"01", "19", "20", "21", "39", "40", "53", "G8"})
_PO_BOX = re.compile(r"\bP\.?\s*O\.?\s*BOX\b|\bPOST OFFICE BOX\b", re.IGNORECASE)


def npi_is_valid(npi: str) -> bool:
    """10 digits, first 1 or 2, last a Luhn check digit over ``80840`` + the first nine digits."""
    if len(npi) != 10 or not npi.isdigit() or npi[0] not in "12":
        return False
    total = 24  # the Luhn contribution of the 80840 prefix, fixed by the standard
    for i, ch in enumerate(reversed(npi[:9])):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


def claim_fingerprint(claim: Claim) -> str:
    """Identity of a service billed once: provider, payer, member, patient, date and the coded lines.

    Identifiers the platform assigns (claim id, patient control number) are left out on purpose, so a
    second claim for the same services is recognised as a duplicate.
    """
    person = claim.patient_person
    parts = [
        claim.billing_provider.npi, claim.rendering_provider.npi, claim.payer.payer_id, claim.subscriber.member_id,
        person.last_name.upper(), person.first_name.upper(), str(person.birth_date or ""),
        claim.date_of_service.isoformat(),
    ]
    parts += sorted(f"{ln.procedure_code}:{'-'.join(ln.modifiers)}:{ln.units}" for ln in claim.lines)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Enrollment:
    npi: str
    payer_id: str
    effective_from: date
    effective_to: date | None = None


@dataclass(frozen=True, slots=True)
class CredentialingFacts:
    """Precomputed enrollments that act as a :data:`CredentialingView`."""

    enrollments: tuple[Enrollment, ...]

    def __call__(self, npi: str, payer_id: str, on: date) -> bool:
        return any(
            e.npi == npi and e.payer_id == payer_id and e.effective_from <= on
            and (e.effective_to is None or on <= e.effective_to)
            for e in self.enrollments
        )


@dataclass(frozen=True, slots=True)
class CredentialingDecision:
    """The credentialing registry's answer for the clinician who delivered the service: may the payer be billed,
    why (``enrolled``, ``billed_under_supervisor``, ``not_enrolled_with_payer`` ...), and the NPIs the 837P must name
    in 2310B (``rendering_npi``) and 2310D (``supervising_npi``, None: the visit's supervisor, if any, when the
    clinician is the rendering provider; nobody when the supervisor is)."""

    allowed: bool
    reason: str
    rendering_npi: str | None = None
    supervising_npi: str | None = None


def reported_providers(claim: Claim, decision: CredentialingDecision) -> ReportedProviders | None:
    """The registry's decision as the clinicians the visit names; None when it does not allow the claim, or names
    an NPI the visit does not (the 837P needs the provider's name, and a guess would bill the wrong person)."""
    if not decision.allowed or decision.rendering_npi is None:
        return None
    named = {c.npi: c for c in (claim.rendering, claim.supervising) if c is not None}
    rendering = named.get(decision.rendering_npi)
    if rendering is None:
        return None
    if decision.supervising_npi is not None:
        supervising = named.get(decision.supervising_npi)
        if supervising is None:
            return None
    else:
        supervising = claim.supervising if rendering == claim.rendering else None
    return ReportedProviders(rendering, supervising, decision.reason)


@dataclass(frozen=True, slots=True)
class EligibilityFact:
    active: bool
    coverage_from: date | None = None
    coverage_to: date | None = None


@dataclass(frozen=True, slots=True)
class ScrubFacts:
    today: date
    credentialing: CredentialingView
    eligibility: EligibilityFact | None = None  # None: no eligibility response on file
    # from authorizations' determination for the visit (prior-authorization requirements live there alone)
    authorization_required: bool = False
    submitted_fingerprints: Collection[str] = field(default_factory=frozenset)
    # the registry's decision for the clinician who delivered the service; None: only ``credentialing`` is known,
    # and the rendering provider must be enrolled itself
    rendering_decision: CredentialingDecision | None = None


def _err(out: list[Finding], code: str, message: str, path: str) -> None:
    out.append(Finding(code, Severity.ERROR, message, path))


def _warn(out: list[Finding], code: str, message: str, path: str) -> None:
    out.append(Finding(code, Severity.WARNING, message, path))


class ClaimScrubber:
    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook

    def scrub(self, claim: Claim, facts: ScrubFacts) -> tuple[Finding, ...]:
        out: list[Finding] = list(claim.coding_findings)
        dos = claim.date_of_service
        rs = self.rulebook.coding_ruleset(dos)
        terms = self.rulebook.payer_terms(claim.payer.payer_id, dos)
        self._providers(claim, facts, out)
        self._parties(claim, out)
        self._diagnoses(claim, terms.principal_dx_allowed_prefixes, terms.principal_dx_refused_prefixes,
                        rs.limits.max_diagnoses, out)

        lines = claim.lines
        if not lines:
            _err(out, "LINES_MISSING", "The claim has no service lines.", "lines")
        if len(lines) > rs.limits.max_lines:
            _err(out, "LINES_TOO_MANY", f"An 837P claim holds at most {rs.limits.max_lines} service lines; "
                 "split the claim.", "lines")
        codes = {ln.procedure_code for ln in lines}
        tele_pos = rs.telehealth.place_of_service_codes
        tele_mods = rs.telehealth.modifiers
        digital = rs.digital_codes
        ic = rs.interactive_complexity
        for i, ln in enumerate(lines):
            path = f"lines[{i}]"
            code = ln.procedure_code
            pos = ln.place_of_service or claim.place_of_service
            if code not in rs.known_codes:
                _warn(out, "PROCEDURE_UNKNOWN", f"Procedure {code} is not in the behavioral-health code set.",
                      f"{path}.procedure_code")
            for m in ln.modifiers:
                if m not in rs.known_modifiers:
                    _warn(out, "MODIFIER_UNKNOWN", f"Modifier {m} is not a recognised modifier.", f"{path}.modifiers")
            is_tele_pos = pos in tele_pos
            line_tele_mods = set(ln.modifiers) & tele_mods
            if code in digital:
                if is_tele_pos or line_tele_mods:
                    _err(out, "DIGITAL_EM_NOT_TELEHEALTH", f"Digital E/M {code} is not telehealth: remove "
                         "POS 02/10 and modifiers 95/93/GT.", f"{path}.modifiers")
                if not terms.digital_em_covered:
                    _err(out, "DIGITAL_EM_NOT_COVERED", f"This payer does not cover digital E/M {code}.",
                         f"{path}.procedure_code")
            elif line_tele_mods and not is_tele_pos:
                _err(out, "TELEHEALTH_MODIFIER_WITHOUT_TELEHEALTH_POS",
                     f"Modifier {'/'.join(sorted(line_tele_mods))} needs a telehealth place of service (02 or 10).",
                     f"{path}.modifiers")
            if is_tele_pos and code not in digital and not terms.telehealth.covered:
                _err(out, "TELEHEALTH_NOT_COVERED", "This payer does not cover telehealth; bill the visit "
                     "in person or to the patient.", "place_of_service")
            primaries = rs.add_on_primaries.get(code)
            if primaries is not None and not (codes & primaries):
                _err(out, "ADDON_WITHOUT_PRIMARY", f"Add-on code {code} needs one of its primary codes "
                     f"({', '.join(sorted(primaries))}) on the same claim.", f"{path}.procedure_code")
            if code == ic.code:
                clash = (codes & ic.never_with) | (codes & terms.interactive_complexity_excluded_with)
                if clash:
                    _err(out, "INTERACTIVE_COMPLEXITY_NOT_ALLOWED", f"{ic.code} cannot be billed with "
                         f"{', '.join(sorted(clash))} for this payer.", f"{path}.procedure_code")
            limit = terms.max_units.get(code, rs.max_units.get(code, rs.default_max_units))
            if not 1 <= ln.units <= limit:
                _err(out, "UNITS_OUT_OF_RANGE", f"{code} allows 1 to {limit} units.", f"{path}.units")
            if ln.charge <= 0:
                _err(out, "CHARGE_INVALID", "The line charge must be more than zero.", f"{path}.charge")
            n_dx = len(claim.diagnoses)
            ptrs = ln.diagnosis_pointers
            if (not 1 <= len(ptrs) <= rs.limits.max_pointers_per_line or len(set(ptrs)) != len(ptrs)
                    or any(not 1 <= p <= n_dx for p in ptrs)):
                _err(out, "POINTER_INVALID", f"Each line points to 1-{rs.limits.max_pointers_per_line} distinct "
                     "diagnoses listed on the claim.", f"{path}.diagnosis_pointers")

        if facts.authorization_required and not claim.prior_authorization:
            _err(out, "AUTHORIZATION_MISSING", "This payer requires a prior authorization number.",
                 "prior_authorization")
        self._eligibility(claim, facts, terms.eligibility_on_file_required, out)
        if claim.frequency_code == "1" and claim_fingerprint(claim) in facts.submitted_fingerprints:
            _err(out, "DUPLICATE_CLAIM", "The same services were already submitted on another claim; send a "
                 "replacement (frequency 7) instead.", "lines")
        if claim.frequency_code == "1":
            # replacements and voids run on their own windows, counted from the payer's adjudication
            age = (facts.today - dos).days
            if age > terms.timely_filing_days:
                _err(out, "TIMELY_FILING_EXPIRED", f"The payer's {terms.timely_filing_days}-day filing limit has "
                     "passed.", "date_of_service")
            elif age > terms.timely_filing_days - terms.timely_filing_warning_days:
                _warn(out, "TIMELY_FILING_NEAR", f"The payer's {terms.timely_filing_days}-day filing limit is "
                      "near: submit now.", "date_of_service")
        elif not claim.payer_claim_number:
            _err(out, "PAYER_CLAIM_NUMBER_MISSING", "A replacement or void needs the payer claim number.",
                 "payer_claim_number")
        self._coordination(claim, out)
        return tuple(out)

    # ------------------------------------------------------------ groups of edits

    def _providers(self, claim: Claim, facts: ScrubFacts, out: list[Finding]) -> None:
        dos = claim.date_of_service
        payer_id = claim.payer.payer_id
        bp = claim.billing_provider
        rendering, supervising = claim.rendering_provider, claim.supervising_provider
        for path, npi in (("billing_provider.npi", bp.npi), ("rendering.npi", rendering.npi)) + (
            (("supervising.npi", supervising.npi),) if supervising else ()
        ):
            if not npi_is_valid(npi):
                _err(out, "NPI_INVALID", "The NPI fails its check digit (10 digits, Luhn over 80840).", path)
        if len(bp.ein) != 9 or not bp.ein.isdigit():
            _err(out, "EIN_INVALID", "The billing provider's EIN must be 9 digits.", "billing_provider.ein")
        if _PO_BOX.search(f"{bp.address.line1} {bp.address.line2}"):
            _err(out, "BILLING_ADDRESS_PO_BOX", "The billing provider address must be a street address, not a "
                 "PO box.", "billing_provider.address")
        if not facts.credentialing(bp.npi, payer_id, dos):
            _err(out, "BILLING_PROVIDER_NOT_CREDENTIALED", "The billing provider is not enrolled with this payer "
                 "on the date of service.", "billing_provider.npi")
        decision = facts.rendering_decision
        if decision is None:
            if not facts.credentialing(rendering.npi, payer_id, dos):
                _err(out, "PROVIDER_NOT_CREDENTIALED", "The rendering clinician is not credentialed with this payer "
                     "on the date of service.", "rendering.npi")
            return
        if not decision.allowed:
            _err(out, "PROVIDER_NOT_CREDENTIALED", "The rendering clinician is not credentialed with this payer on "
                 f"the date of service, nor billable under a supervisor ({decision.reason}).", "rendering.npi")
            return
        expected = reported_providers(claim, decision)
        if expected is None:
            _err(out, "SUPERVISOR_NOT_ON_CLAIM", "The payer takes this visit only under a supervisor the visit does "
                 "not name: record the visit's supervisor in the credentialing registry, or correct the visit's "
                 "supervising clinician.", "supervising.npi")
        elif (rendering, supervising) != (expected.rendering, expected.supervising):
            # the last line before the 837P: never send other NPIs than the registry decided
            _err(out, "PROVIDERS_NOT_AS_DECIDED", "The claim names other rendering / supervising providers than "
                 "the credentialing registry decided for this payer and date: scrub it again.", "rendering.npi")

    def _parties(self, claim: Claim, out: list[Finding]) -> None:
        if len(clean(claim.subscriber.member_id)) < 2:  # as the 837P would carry it (NM109: 2-80 characters)
            _err(out, "SUBSCRIBER_ID_MISSING", "The subscriber's member id is required (2 to 80 characters).",
                 "subscriber.member_id")
        person = claim.patient_person
        where = "subscriber.person" if claim.patient is None else "patient.person"
        if person.birth_date is None or person.address is None or not person.last_name.strip():
            _err(out, "PATIENT_DEMOGRAPHICS_MISSING", "The patient's name, address and birth date are required.",
                 where)
        # The 837P is ASCII: a name written only in other scripts (or only of delimiters) would go out empty, and
        # a last name is required, so the payer would reject the whole transaction, other patients' claims too.
        named = [("subscriber.person", claim.subscriber.person)]
        if claim.patient is not None:
            named.append(("patient.person", claim.patient.person))
        if claim.other_payer is not None:
            named.append(("other_payer.subscriber.person", claim.other_payer.subscriber.person))
        for path, party in named:
            if party.last_name.strip() and not clean(party.last_name):
                _err(out, "NAME_NOT_REPRESENTABLE", "The last name has no character an 837P can carry (it is sent "
                     "in Latin letters, accents dropped): enter its Latin spelling.", f"{path}.last_name")
        if claim.patient is not None and claim.patient.relationship not in PATIENT_RELATIONSHIPS:
            _err(out, "PATIENT_RELATIONSHIP_INVALID", "Relationship must be one of 01, 19, 20, 21, 39, 40, 53, G8.",
                 "patient.relationship")

    def _diagnoses(
        self, claim: Claim, allowed: Sequence[str], refused: Sequence[str], max_dx: int, out: list[Finding]
    ) -> None:
        dx = claim.diagnoses
        if not dx:
            _err(out, "DIAGNOSIS_MISSING", "At least one ICD-10-CM diagnosis is required.", "diagnoses")
            return
        if len(dx) > max_dx:
            _err(out, "DIAGNOSIS_TOO_MANY", f"An 837P claim holds at most {max_dx} diagnoses.", "diagnoses")
        for i, code in enumerate(dx):
            if not ICD10_SHAPE.match(code):
                _err(out, "DIAGNOSIS_INVALID", "Not an ICD-10-CM code (3-7 characters, letter, digit, "
                     "alphanumerics; no dot).", f"diagnoses[{i}]")
        principal = dx[0]
        if principal.startswith(tuple(refused)) or not principal.startswith(tuple(allowed)):
            _err(out, "PRINCIPAL_DIAGNOSIS_NOT_ALLOWED", f"This payer accepts principal diagnoses starting "
                 f"with {', '.join(allowed)} only; reorder the diagnoses.", "diagnoses[0]")

    def _eligibility(self, claim: Claim, facts: ScrubFacts, required: bool, out: list[Finding]) -> None:
        fact = facts.eligibility
        if fact is None:
            if required:
                _err(out, "ELIGIBILITY_NOT_ON_FILE", "No eligibility response is on file for this payer.",
                     "subscriber")
            return
        dos = claim.date_of_service
        if (not fact.active or (fact.coverage_from and dos < fact.coverage_from)
                or (fact.coverage_to and dos > fact.coverage_to)):
            _err(out, "ELIGIBILITY_INACTIVE", "Coverage is not active on the date of service.", "subscriber")

    def _coordination(self, claim: Claim, out: list[Finding]) -> None:
        other = claim.other_payer
        if claim.subscriber.payer_responsibility != "P" and other is None:
            _err(out, "COB_INCOMPLETE", "A secondary claim needs the primary payer's adjudication.", "other_payer")
        if other is not None:
            numbers = range(1, len(claim.lines) + 1)
            for j, adj in enumerate(other.lines):
                if adj.line_number not in numbers:
                    _err(out, "COB_INCOMPLETE", "A primary-payer line adjudication points to a line that is not "
                         "on the claim.", f"other_payer.lines[{j}].line_number")
