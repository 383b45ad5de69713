"""The claims domain model: the facts of a completed visit, the parties of a claim and the ``Claim`` aggregate.

``Claim`` guards its life cycle::

    draft -> awaiting_facts             (await_facts: what the scrub needs from eligibility / authorizations is
                                         not in claims' projection yet; scrubbed when it arrives, never guessed)
    draft | awaiting_facts -> scrubbed | held   (record_scrub: errors hold, warnings pass)
    held | scrubbed -> scrubbed | held | awaiting_facts   (scrubbed again after a fix or a newer fact)
    scrubbed -> submitted               (mark_submitted, in an 837P batch)
    submitted -> accepted | rejected    (999 / 277CA)
    submitted | accepted | appealed | reversed -> paid | partially_paid | denied   (record_adjudication, 835)
    submitted .. closed -> reversed      (record_reversal: the payer took its payment back, CLP02 22; a claim
                                          already corrected or voided keeps its status, the reversal recorded)
    rejected | denied | partially_paid | paid | reversed -> corrected   (correct: returns the replacement claim)
    denied | partially_paid | reversed -> appealed
    accepted | paid | partially_paid | denied | reversed -> voided      (void: returns the void claim, frequency 8)
    anything settled (and draft / held / rejected / reversed) -> closed

An illegal move raises :class:`IllegalClaimTransition`; every legal one records a past-tense event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from claims.domain import events as ev
from claims.domain.exceptions import IllegalClaimTransition, InvalidClaim

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(value: Decimal | int | str) -> Decimal:
    """Money is Decimal quantized to cents; floats are refused on purpose."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(value).quantize(CENT)


class ServiceKind(StrEnum):
    INTAKE_EVAL = "intake_eval"
    INTAKE_EVAL_MEDICAL = "intake_eval_medical"
    PSYCHOTHERAPY = "psychotherapy"
    CRISIS = "crisis"
    FAMILY_WITHOUT_PATIENT = "family_without_patient"
    FAMILY_WITH_PATIENT = "family_with_patient"
    GROUP = "group"
    MULTI_FAMILY_GROUP = "multi_family_group"
    EM_WITH_PSYCHOTHERAPY = "em_with_psychotherapy"
    EM_ONLY = "em_only"
    DIGITAL_EM = "digital_em"


class Modality(StrEnum):
    IN_PERSON = "in_person"
    VIDEO = "video"
    AUDIO_ONLY = "audio_only"


class PatientLocation(StrEnum):
    HOME = "home"
    OTHER = "other"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One clean-claim edit result: ``field`` is the path a biller fixes (``lines[1].modifiers``)."""

    code: str
    severity: Severity
    message: str
    field: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity.value, "message": self.message, "field": self.field}


@dataclass(frozen=True, slots=True)
class RuleRef:
    """Which rule (and which version of the rule document) made a coding decision."""

    rule_id: str
    version: str


@dataclass(frozen=True, slots=True)
class Clinician:
    npi: str
    credential: str  # psychologist, LCSW, LPC, LMFT, MD, DO, NP, PA, LMSW ...
    last_name: str = ""
    first_name: str = ""
    taxonomy: str | None = None


@dataclass(frozen=True, slots=True)
class ReportedProviders:
    """Who the 837P names as rendering (2310B) and supervising (2310D) provider, as the credentialing registry
    decided for the date of service (``basis``: its reason, e.g. ``enrolled``, ``billed_under_supervisor``).

    Usually the clinician who delivered the service and the supervisor the visit names; when the payer has not
    enrolled that clinician but takes the claim under an enrolled supervisor, what the payer's rule says: the
    supervisor as rendering provider, or the clinician with the supervisor in 2310D."""

    rendering: Clinician
    supervising: Clinician | None
    basis: str


@dataclass(frozen=True, slots=True)
class CompletedVisit:
    """What the EHR tells us about a signed visit: the input of charge capture."""

    visit_id: str
    date_of_service: date
    payer_id: str | None  # None: self-pay
    diagnoses: tuple[str, ...]
    service_kind: ServiceKind
    rendering: Clinician
    psychotherapy_minutes: int = 0  # also crisis and family minutes
    em_code: str | None = None
    modality: Modality = Modality.IN_PERSON
    patient_location: PatientLocation = PatientLocation.OTHER
    interactive_complexity: bool = False
    supervising: Clinician | None = None
    program: str | None = None
    digital_minutes: int = 0  # cumulative over 7 days, message-based care
    in_person_place_of_service: str = "11"


@dataclass(frozen=True, slots=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str = ""


@dataclass(frozen=True, slots=True)
class Person:
    last_name: str
    first_name: str
    birth_date: date | None = None
    gender: Literal["F", "M", "U"] = "U"
    address: Address | None = None
    middle_name: str = ""


@dataclass(frozen=True, slots=True)
class Subscriber:
    member_id: str
    person: Person
    group_number: str = ""
    claim_filing_indicator: str = "CI"  # SBR09: CI commercial, MB Medicare B, MC Medicaid, BL, HM ...
    payer_responsibility: Literal["P", "S", "T"] = "P"


@dataclass(frozen=True, slots=True)
class PatientParty:
    """The patient when not the subscriber; ``relationship`` is PAT01 (01, 19, 20, 21, 39, 40, 53, G8)."""

    relationship: str
    person: Person


@dataclass(frozen=True, slots=True)
class PayerRef:
    payer_id: str
    name: str
    address: Address | None = None


@dataclass(frozen=True, slots=True)
class BillingProvider:
    name: str
    npi: str
    ein: str
    address: Address
    taxonomy: str | None = None


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A CAS triplet: group (CO, PR, OA, PI), CARC reason, amount (and quantity)."""

    group: str
    reason: str
    amount: Decimal
    quantity: int | None = None


@dataclass(frozen=True, slots=True)
class LineAdjudication:
    """What the other (primary) payer did with one line, for 2430 on a secondary claim."""

    line_number: int
    procedure_code: str
    paid: Decimal
    units: int
    adjudicated_on: date
    modifiers: tuple[str, ...] = ()
    adjustments: tuple[Adjustment, ...] = ()


@dataclass(frozen=True, slots=True)
class OtherPayerAdjudication:
    """The primary payer's adjudication carried on a secondary claim (2320 / 2330A / 2330B / 2430)."""

    payer: PayerRef
    subscriber: Subscriber
    paid: Decimal
    adjudicated_on: date
    relationship: str = "18"  # the patient's relationship to the other policy's subscriber (2320 SBR02)
    claim_adjustments: tuple[Adjustment, ...] = ()
    lines: tuple[LineAdjudication, ...] = ()


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """One service line. ``charge`` is the line total; ``rules`` says which rules chose code, units, modifiers."""

    procedure_code: str
    charge: Decimal
    units: int = 1
    modifiers: tuple[str, ...] = ()
    diagnosis_pointers: tuple[int, ...] = (1,)
    place_of_service: str | None = None  # None: the claim's place of service
    rules: tuple[RuleRef, ...] = ()

    @property
    def rule_id(self) -> str | None:
        """The rule that chose the procedure code."""
        return self.rules[0].rule_id if self.rules else None

    @property
    def ruleset_version(self) -> str | None:
        return self.rules[0].version if self.rules else None


class ClaimStatus(StrEnum):
    DRAFT = "draft"
    AWAITING_FACTS = "awaiting_facts"  # waits for eligibility / the authorization determination (not a finding)
    SCRUBBED = "scrubbed"
    HELD = "held"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    DENIED = "denied"
    REVERSED = "reversed"  # the payer took its payment back: open again, in the biller's reversed queue
    CORRECTED = "corrected"
    APPEALED = "appealed"
    VOIDED = "voided"
    CLOSED = "closed"


S = ClaimStatus
_SCRUBBABLE = {S.DRAFT, S.SCRUBBED, S.HELD, S.AWAITING_FACTS}
_ADJUDICABLE = {S.SUBMITTED, S.ACCEPTED, S.APPEALED, S.REVERSED}  # reversed: the payer's re-issue
_CORRECTABLE = {S.REJECTED, S.DENIED, S.PARTIALLY_PAID, S.PAID, S.REVERSED}
_APPEALABLE = {S.DENIED, S.PARTIALLY_PAID, S.REVERSED}
_VOIDABLE = {S.ACCEPTED, S.PAID, S.PARTIALLY_PAID, S.DENIED, S.REVERSED}
_CLOSABLE = {S.DRAFT, S.AWAITING_FACTS, S.HELD, S.REJECTED, S.PAID, S.PARTIALLY_PAID, S.DENIED, S.CORRECTED,
             S.APPEALED, S.VOIDED, S.REVERSED}
# A payer can take back a payment on any claim it has seen. One already replaced (corrected) or voided keeps its
# status (its successor carries the work); any other reopens as reversed.
_REVERSIBLE = {S.SUBMITTED, S.ACCEPTED, S.PAID, S.PARTIALLY_PAID, S.DENIED, S.APPEALED, S.REVERSED, S.CLOSED,
               S.CORRECTED, S.VOIDED}
_KEEPS_STATUS_WHEN_REVERSED = {S.CORRECTED, S.VOIDED}


def _now(at: datetime | None) -> datetime:
    return at if at is not None else datetime.now(UTC)


@dataclass(eq=False)
class Claim:
    """A professional claim and its life cycle. Build a new one with :meth:`Claim.draft`."""

    claim_id: str
    patient_control_number: str
    payer: PayerRef
    billing_provider: BillingProvider
    subscriber: Subscriber
    rendering: Clinician
    date_of_service: date
    place_of_service: str
    diagnoses: tuple[str, ...]
    lines: tuple[ClaimLine, ...]
    patient: PatientParty | None = None  # None: the patient is the subscriber
    supervising: Clinician | None = None
    # rendering / supervising above are the clinicians as the visit names them (who delivered the service, and
    # their supervisor); ``reported`` is what the 837P names, decided at each scrub (None: not decided yet)
    reported: ReportedProviders | None = None
    frequency_code: Literal["1", "7", "8"] = "1"
    payer_claim_number: str | None = None
    prior_authorization: str | None = None
    other_payer: OtherPayerAdjudication | None = None
    visit_id: str = ""
    program: str | None = None
    replaces_claim_id: str | None = None
    status: ClaimStatus = ClaimStatus.DRAFT
    findings: tuple[Finding, ...] = ()
    coding_findings: tuple[Finding, ...] = ()  # from charge capture; the scrubber repeats them
    paid: Decimal = ZERO
    patient_responsibility: Decimal = ZERO
    reversal_postings: tuple[str, ...] = ()  # remittance postings that reversed a payment: each applied once
    awaiting: tuple[str, ...] = ()  # in awaiting_facts: the facts not known yet (eligibility, authorization ...)
    awaiting_since: datetime | None = None  # in awaiting_facts: since when
    # prior_authorization came from authorizations' determination (not the EHR or a biller): a newer answer replaces it
    authorization_from_determination: bool = False
    practice_id: str = ""  # whose claim, and the patient's id in that practice (ids, never PHI)
    patient_id: str = ""
    events: list[ev.ClaimEvent] = field(default_factory=list, repr=False)

    @classmethod
    def draft(cls, *, at: datetime | None = None, **fields: object) -> Claim:
        """A new claim in ``draft`` that records ``ClaimDrafted``. Takes the dataclass fields by name."""
        if "status" in fields or "events" in fields:
            raise InvalidClaim("a drafted claim starts in draft with no events")
        claim = cls(**fields)  # type: ignore[arg-type]
        claim._record(
            ev.ClaimDrafted, S.DRAFT, at, frequency_code=claim.frequency_code,
            replaces_claim_id=claim.replaces_claim_id,
        )
        return claim

    # ------------------------------------------------------------ derived facts

    @property
    def total_charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), ZERO)

    @property
    def patient_is_subscriber(self) -> bool:
        return self.patient is None

    @property
    def patient_person(self) -> Person:
        return self.subscriber.person if self.patient is None else self.patient.person

    @property
    def rendering_provider(self) -> Clinician:
        """2310B: as the credentialing registry decided, else the clinician who delivered the service."""
        return self.reported.rendering if self.reported is not None else self.rendering

    @property
    def supervising_provider(self) -> Clinician | None:
        """2310D: as the credentialing registry decided, else the supervisor the visit names."""
        return self.reported.supervising if self.reported is not None else self.supervising

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    def pull_events(self) -> list[ev.ClaimEvent]:
        """Hand over and forget the recorded events (the unit of work turns them into outbox rows)."""
        out, self.events = self.events, []
        return out

    # ------------------------------------------------------------ transitions

    def report_providers(self, reported: ReportedProviders | None) -> None:
        """Name the providers the 837P reports (before a scrub; None: undecided, the scrub holds the claim)."""
        self._require(_SCRUBBABLE, "name the reported providers")
        self.reported = reported

    def await_facts(self, missing: Iterable[str], at: datetime | None = None) -> bool:
        """The scrub needs facts another service has not announced yet (``missing``: which): the claim waits in
        ``awaiting_facts``, visibly, instead of being scrubbed on a guess. Returns False when it already waits for
        exactly these (nothing recorded)."""
        self._require(_SCRUBBABLE, "wait for facts")
        missing = tuple(sorted(set(missing)))
        if not missing:
            raise InvalidClaim("a claim waits for at least one fact")
        if self.status is S.AWAITING_FACTS and self.awaiting == missing:
            return False
        if self.status is not S.AWAITING_FACTS:
            self.awaiting_since = _now(at)
        self.awaiting = missing
        self.findings = ()
        self._record(ev.ClaimAwaitingFacts, S.AWAITING_FACTS, at, reason_codes=missing)
        return True

    def record_scrub(self, findings: Iterable[Finding], at: datetime | None = None) -> None:
        self._require(_SCRUBBABLE, "record a scrub")
        self.awaiting = ()
        self.awaiting_since = None
        self.findings = tuple(findings)
        errors = tuple(f.code for f in self.findings if f.severity is Severity.ERROR)
        if errors:
            self._record(ev.ClaimHeld, S.HELD, at, error_codes=errors)
        else:
            warnings = tuple(f.code for f in self.findings if f.severity is Severity.WARNING)
            self._record(ev.ClaimScrubbed, S.SCRUBBED, at, warning_codes=warnings)

    def mark_submitted(self, batch_id: str, interchange_control_number: str, at: datetime | None = None) -> None:
        self._require({S.SCRUBBED}, "submit")
        self._record(
            ev.ClaimSubmitted, S.SUBMITTED, at, batch_id=batch_id,
            interchange_control_number=interchange_control_number,
        )

    def accept(self, payer_claim_number: str | None = None, at: datetime | None = None) -> None:
        self._require({S.SUBMITTED}, "accept")
        if payer_claim_number:
            self.payer_claim_number = payer_claim_number
        self._record(ev.ClaimAccepted, S.ACCEPTED, at, payer_claim_number=payer_claim_number)

    def reject(self, reason_codes: Iterable[str] = (), at: datetime | None = None) -> None:
        self._require({S.SUBMITTED, S.ACCEPTED}, "reject")
        self._record(ev.ClaimRejected, S.REJECTED, at, reason_codes=tuple(reason_codes))

    def record_adjudication(
        self,
        paid: Decimal,
        patient_responsibility: Decimal = ZERO,
        *,
        any_line_denied: bool = False,
        reason_codes: Iterable[str] = (),
        payer_claim_number: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """From an 835: nothing paid and nothing owed by the patient is a denial; a denied line makes it partial."""
        self._require(_ADJUDICABLE, "record an adjudication")
        self.paid = to_cents(paid)
        self.patient_responsibility = to_cents(patient_responsibility)
        if payer_claim_number:
            self.payer_claim_number = payer_claim_number
        if self.paid == ZERO and self.patient_responsibility == ZERO:
            target = S.DENIED
        elif any_line_denied:
            target = S.PARTIALLY_PAID
        else:
            target = S.PAID
        self._record(
            ev.ClaimAdjudicated, target, at, paid=self.paid, patient_responsibility=self.patient_responsibility,
            reason_codes=tuple(reason_codes),
        )

    def record_reversal(
        self,
        paid: Decimal,
        patient_responsibility: Decimal = ZERO,
        *,
        posting_id: str,
        era_id: str,
        trace_number: str | None = None,
        at: datetime | None = None,
    ) -> bool:
        """From an 835 CLP02 22: the payer took back a payment (``paid`` and ``patient_responsibility`` are the
        negative amounts it reverses). The claim reopens as ``reversed`` (a corrected or voided claim keeps its
        status) and its history says why: the reversal, the ERA and the payment's trace number. A reversal
        posting already applied changes nothing (returns False)."""
        self._require(_REVERSIBLE, "record a reversal")
        if posting_id in self.reversal_postings:
            return False
        self.paid = to_cents(self.paid + paid)
        self.patient_responsibility = to_cents(self.patient_responsibility + patient_responsibility)
        self.reversal_postings = (*self.reversal_postings, posting_id)
        target = self.status if self.status in _KEEPS_STATUS_WHEN_REVERSED else S.REVERSED
        reasons = ("payment_reversed", f"era:{era_id}", *((f"trace:{trace_number}",) if trace_number else ()))
        self._record(ev.ClaimPaymentReversed, target, at, paid=to_cents(paid),
                     patient_responsibility=to_cents(patient_responsibility), reason_codes=reasons,
                     posting_id=posting_id, era_id=era_id, trace_number=trace_number)
        return True

    def correct(
        self, replacement_claim_id: str, patient_control_number: str, at: datetime | None = None,
        **changes: object,
    ) -> Claim:
        """Mark this claim corrected and return its replacement, a new draft.

        The replacement is frequency 7 carrying the payer claim number (REF*F8). A claim the payer never
        took in (rejected at the front door, no payer claim number) is resent as a new original instead,
        because a replacement of a claim the payer does not know is itself rejected.
        """
        self._require(_CORRECTABLE, "correct")
        if self.payer_claim_number:
            frequency: Literal["1", "7", "8"] = "7"
        elif self.status is S.REJECTED:
            frequency = "1"
        else:
            raise InvalidClaim("payer_claim_number is required to replace an adjudicated claim")
        replacement = self._successor(replacement_claim_id, patient_control_number, frequency, at, changes)
        self._record(ev.ClaimCorrected, S.CORRECTED, at, replacement_claim_id=replacement_claim_id)
        return replacement

    def amend(self, **changes: object) -> None:
        """A biller fixes a held claim's facts in place (it was never sent: no replacement, no new claim number);
        the caller scrubs it again, which holds it with the findings still standing or releases it for the next
        batch. Only what the 837P carries from the visit's coding and the biller's hands may change."""
        self._require({S.HELD}, "amend")
        allowed = {"lines", "diagnoses", "place_of_service", "prior_authorization", "subscriber", "rendering",
                   "supervising"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidClaim(f"cannot amend {', '.join(sorted(unknown))}")
        for name, value in changes.items():
            setattr(self, name, value)
        if "prior_authorization" in changes:
            self.authorization_from_determination = False  # the biller's number stays whatever is announced

    def appeal(self, appeal_reference: str, at: datetime | None = None) -> None:
        self._require(_APPEALABLE, "appeal")
        self._record(ev.ClaimAppealed, S.APPEALED, at, appeal_reference=appeal_reference)

    def void(self, void_claim_id: str, patient_control_number: str, at: datetime | None = None) -> Claim:
        """Mark this claim voided and return the void claim (frequency 8, same lines, REF*F8)."""
        self._require(_VOIDABLE, "void")
        if not self.payer_claim_number:
            raise InvalidClaim("payer_claim_number is required to void a claim")
        void_claim = self._successor(void_claim_id, patient_control_number, "8", at, {})
        self._record(ev.ClaimVoided, S.VOIDED, at, void_claim_id=void_claim_id)
        return void_claim

    def close(self, reason: str = "", at: datetime | None = None) -> None:
        self._require(_CLOSABLE, "close")
        self._record(ev.ClaimClosed, S.CLOSED, at, reason=reason)

    # ------------------------------------------------------------ internals

    def _successor(
        self, claim_id: str, pcn: str, frequency: Literal["1", "7", "8"], at: datetime | None,
        changes: dict[str, object],
    ) -> Claim:
        allowed = {
            "lines", "diagnoses", "place_of_service", "prior_authorization", "subscriber", "patient", "rendering",
            "supervising", "other_payer", "billing_provider", "payer", "date_of_service",
        }
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidClaim(f"cannot change {', '.join(sorted(unknown))} on a replacement")
        base = replace(
            self, claim_id=claim_id, patient_control_number=pcn, frequency_code=frequency,
            payer_claim_number=self.payer_claim_number if frequency != "1" else None,
            replaces_claim_id=self.claim_id, status=S.DRAFT, findings=(), coding_findings=(), paid=ZERO,
            patient_responsibility=ZERO, reversal_postings=(), awaiting=(), awaiting_since=None, events=[], **changes,  # type: ignore[arg-type]
        )
        base._record(ev.ClaimDrafted, S.DRAFT, at, frequency_code=frequency, replaces_claim_id=self.claim_id)
        return base

    def _require(self, allowed: set[ClaimStatus], action: str) -> None:
        if self.status not in allowed:
            raise IllegalClaimTransition(self.claim_id, self.status.value, action)

    def _record(self, event_type: type[ev.ClaimEvent], target: ClaimStatus, at: datetime | None,
                **payload: object) -> None:
        previous = self.status
        self.status = target
        self.events.append(
            event_type(
                claim_id=self.claim_id, occurred_at=_now(at), previous_status=previous.value, status=target.value,
                practice_id=self.practice_id, **payload,
            )
        )
