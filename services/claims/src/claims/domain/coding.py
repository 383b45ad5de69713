"""Charge capture and coding: CPT codes, units, modifiers, place of service and charges from a completed visit.

``ChargeCoder(rulebook).code(visit) -> CodingResult``. Every decision comes from the rulebook in force on the
date of service, and every line records the rules that chose it (``ClaimLine.rules``: rule id + version).
Visits that cannot be billed produce findings (``PSYCHOTHERAPY_UNDER_MINIMUM`` ...), never exceptions.
``draft_claim(result, ...)`` turns a result into a ``Claim`` in draft.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from claims.domain.model import (
    BillingProvider,
    Claim,
    ClaimLine,
    CompletedVisit,
    Finding,
    Modality,
    OtherPayerAdjudication,
    PatientLocation,
    PatientParty,
    PayerRef,
    RuleRef,
    ServiceKind,
    Severity,
    Subscriber,
)
from claims.domain.rulebook import CodingRuleset, PayerTerms, Rulebook, TimeBand

SELF_PAY = "SELF-PAY"


def normalize_icd10(code: str) -> str:
    """ICD-10-CM as X12 carries it: upper case, no dot."""
    return code.replace(".", "").strip().upper()


@dataclass(frozen=True, slots=True)
class CodingResult:
    lines: tuple[ClaimLine, ...]
    place_of_service: str
    diagnoses: tuple[str, ...]
    findings: tuple[Finding, ...]
    ruleset_version: str
    payer_terms_version: str

    @property
    def billable(self) -> bool:
        return bool(self.lines) and not any(f.severity is Severity.ERROR for f in self.findings)


@dataclass(slots=True)
class _Draft:
    code: str
    units: int
    rules: list[RuleRef] = field(default_factory=list)


def _finding(code: str, message: str, path: str, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(code, severity, message, path)


class ChargeCoder:
    """Codes completed visits with a :class:`Rulebook` (rules are data; this class holds no payer names)."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook

    def code(self, visit: CompletedVisit) -> CodingResult:
        rs = self.rulebook.coding_ruleset(visit.date_of_service)
        terms = self.rulebook.payer_terms(visit.payer_id or SELF_PAY, visit.date_of_service)
        findings: list[Finding] = []
        drafts = self._procedures(visit, rs, terms, findings)
        if drafts and visit.interactive_complexity:
            self._interactive_complexity(drafts, rs, terms, findings)
        elif visit.interactive_complexity:
            findings.append(_finding(
                "INTERACTIVE_COMPLEXITY_NOT_BILLABLE", "Interactive complexity needs a billable primary service.",
                "visit.interactive_complexity", Severity.WARNING,
            ))

        pos, modifiers, shared_rules = self._place_and_modifiers(visit, rs, terms, findings)
        diagnoses = tuple(normalize_icd10(d) for d in visit.diagnoses)
        pointers = tuple(range(1, min(len(diagnoses), rs.limits.max_pointers_per_line) + 1)) or (1,)
        lines: list[ClaimLine] = []
        for index, draft in enumerate(drafts):
            fee = (
                self.rulebook.fee(visit.payer_id, visit.date_of_service, draft.code, modifiers)
                if visit.payer_id
                else self.rulebook.self_pay_rate(visit.date_of_service, draft.code)
            )
            rules = [*draft.rules, *shared_rules]
            if fee is None:
                findings.append(_finding(
                    "FEE_NOT_FOUND", f"No fee schedule rate for {draft.code} on the date of service.",
                    f"lines[{index}].charge",
                ))
                charge = Decimal("0.00")
            else:
                charge = fee.charge * draft.units
                rules.append(RuleRef("FEE", fee.schedule_version))
            lines.append(ClaimLine(
                procedure_code=draft.code, charge=charge, units=draft.units, modifiers=modifiers,
                diagnosis_pointers=pointers, rules=tuple(rules),
            ))
        return CodingResult(
            lines=tuple(lines), place_of_service=pos, diagnoses=diagnoses,
            findings=tuple(findings), ruleset_version=rs.version, payer_terms_version=terms.version,
        )

    # ------------------------------------------------------------ procedures

    def _procedures(
        self, visit: CompletedVisit, rs: CodingRuleset, terms: PayerTerms, findings: list[Finding]
    ) -> list[_Draft]:
        v = rs.version
        kind = visit.service_kind
        minutes = visit.psychotherapy_minutes
        drafts: list[_Draft] = []

        def psychotherapy(with_em: bool, extra: tuple[RuleRef, ...] = ()) -> None:
            band = rs.psychotherapy_band(minutes)
            minimum = rs.psychotherapy_bands[0].low
            if band is None and with_em:
                # CPT: psychotherapy under the minimum is not reported; the E/M is, alone. A warning, not a hold.
                for d in drafts:
                    if d.code in rs.em_codes:
                        d.rules.append(RuleRef(rs.psychotherapy_short_add_on_rule_id, v))
                findings.append(_finding(
                    "PSYCHOTHERAPY_ADD_ON_UNDER_MINIMUM",
                    f"{minutes} minutes of psychotherapy is under the {minimum}-minute minimum: the add-on is not "
                    "reported; the E/M is billed alone.",
                    "visit.psychotherapy_minutes", Severity.WARNING,
                ))
                return
            if band is None:
                findings.append(_finding(
                    "PSYCHOTHERAPY_UNDER_MINIMUM",
                    f"{minutes} minutes of psychotherapy is under the {minimum}-minute "
                    "minimum: not billable as psychotherapy.",
                    "visit.psychotherapy_minutes",
                ))
                return
            code = _band_code(band, with_em)
            drafts.append(_Draft(code, 1, [RuleRef(band.rule_id, v), *extra]))

        def em() -> bool:
            if not visit.em_code or visit.em_code not in rs.em_codes:
                findings.append(_finding(
                    "EM_CODE_MISSING", "An E/M level code (99202-99215) is required for this service.",
                    "visit.em_code",
                ))
                return False
            drafts.append(_Draft(visit.em_code, 1, [RuleRef(rs.em_rule_id, v)]))
            return True

        if kind.value in rs.untimed:
            rule = rs.untimed[kind.value]
            drafts.append(_Draft(rule.code, 1, [RuleRef(rule.rule_id, v)]))
        elif kind is ServiceKind.PSYCHOTHERAPY:
            psychotherapy(with_em=False)
        elif kind is ServiceKind.EM_WITH_PSYCHOTHERAPY:
            if em():
                psychotherapy(with_em=True)
        elif kind is ServiceKind.EM_ONLY:
            em()
        elif kind is ServiceKind.CRISIS:
            crisis = rs.crisis
            with_em = bool(visit.em_code) and em()
            if minutes >= crisis.minimum:
                drafts.append(_Draft(crisis.first_code, 1, [RuleRef(crisis.rule_id, v)]))
                units = crisis.addon_units(minutes)
                if units:
                    drafts.append(_Draft(crisis.addon_code, units, [RuleRef(crisis.addon_rule_id, v)]))
            else:
                psychotherapy(with_em=with_em, extra=(RuleRef(crisis.short_rule_id, v),))
        elif kind in (ServiceKind.FAMILY_WITH_PATIENT, ServiceKind.FAMILY_WITHOUT_PATIENT):
            fam = rs.family
            rule = fam.with_patient if kind is ServiceKind.FAMILY_WITH_PATIENT else fam.without_patient
            if minutes >= fam.minimum:
                drafts.append(_Draft(rule.code, 1, [RuleRef(rule.rule_id, v)]))
            else:
                findings.append(_finding(
                    "FAMILY_UNDER_MINIMUM",
                    f"{minutes} minutes of family psychotherapy is under the {fam.minimum}-minute minimum.",
                    "visit.psychotherapy_minutes",
                ))
        elif kind is ServiceKind.DIGITAL_EM:
            band = rs.digital_band(visit.digital_minutes)
            if band is None:
                findings.append(_finding(
                    "DIGITAL_UNDER_MINIMUM",
                    f"{visit.digital_minutes} cumulative minutes over 7 days is under the {rs.digital_bands[0].low}"
                    "-minute minimum for an online digital E/M.",
                    "visit.digital_minutes",
                ))
            else:
                capable = visit.rendering.credential.upper() in rs.digital_em_capable_credentials
                drafts.append(_Draft(band.em_capable if capable else band.qhp, 1, [RuleRef(band.rule_id, v)]))
                if visit.payer_id and not terms.digital_em_covered:
                    findings.append(_finding(
                        "DIGITAL_EM_NOT_COVERED", "This payer does not cover online digital E/M services.",
                        "payer", Severity.ERROR,
                    ))
        return drafts

    def _interactive_complexity(
        self, drafts: list[_Draft], rs: CodingRuleset, terms: PayerTerms, findings: list[Finding]
    ) -> None:
        ic = rs.interactive_complexity
        codes = {d.code for d in drafts}
        blocked = codes & ic.never_with
        allowed = (codes & ic.allowed_with) - terms.interactive_complexity_excluded_with
        if blocked or not allowed:
            findings.append(_finding(
                "INTERACTIVE_COMPLEXITY_NOT_BILLABLE",
                f"Interactive complexity ({ic.code}) cannot be billed with {', '.join(sorted(codes))}.",
                "visit.interactive_complexity", Severity.WARNING,
            ))
            return
        drafts.append(_Draft(ic.code, 1, [RuleRef(ic.rule_id, rs.version), RuleRef("IC-PAYER", terms.version)]))

    # ------------------------------------------------------------ place of service, modifiers

    def _place_and_modifiers(
        self, visit: CompletedVisit, rs: CodingRuleset, terms: PayerTerms, findings: list[Finding]
    ) -> tuple[str, tuple[str, ...], list[RuleRef]]:
        modifiers: list[str] = []
        rules: list[RuleRef] = []
        pos = visit.in_person_place_of_service
        # digital E/M is not telehealth: no POS 02/10, no 95/93
        if visit.modality is not Modality.IN_PERSON and visit.service_kind is not ServiceKind.DIGITAL_EM:
            tele = terms.telehealth
            pos = tele.pos_home if visit.patient_location is PatientLocation.HOME else tele.pos_other
            rules.append(RuleRef(rs.telehealth.pos_rule_id, terms.version))
            audio = visit.modality is Modality.AUDIO_ONLY
            modifier = tele.modifier_audio_only if audio else tele.modifier_video
            if modifier:
                modifiers.append(modifier)
                rules.append(RuleRef(rs.telehealth.modifier_rule_id, terms.version))
            if visit.payer_id and (not tele.covered or (audio and not tele.audio_only_covered)):
                findings.append(_finding(
                    "TELEHEALTH_NOT_COVERED",
                    f"This payer does not cover {'audio-only' if audio else 'video'} telehealth for this service.",
                    "place_of_service",
                ))
        credential_modifier = terms.credential_modifiers.get(visit.rendering.credential.upper())
        if credential_modifier:
            modifiers.append(credential_modifier)
            rules.append(RuleRef("CREDENTIAL-MOD", terms.version))
        return pos, tuple(modifiers), rules


def _band_code(band: TimeBand, with_em: bool) -> str:
    if with_em and band.with_em:
        return band.with_em
    return band.alone


def draft_claim(
    result: CodingResult,
    visit: CompletedVisit,
    *,
    claim_id: str,
    patient_control_number: str,
    payer: PayerRef,
    billing_provider: BillingProvider,
    subscriber: Subscriber,
    patient: PatientParty | None = None,
    prior_authorization: str | None = None,
    other_payer: OtherPayerAdjudication | None = None,
    practice_id: str = "",
    patient_id: str = "",
    at: datetime | None = None,
) -> Claim:
    """A draft claim from a coding result; coding findings travel on the claim until the scrub.

    The claim names the clinicians as the visit does; which of them the 837P reports as rendering and supervising
    provider is decided at the scrub, by the credentialing registry (:meth:`Claim.report_providers`)."""
    claim = Claim.draft(
        at=at, claim_id=claim_id, patient_control_number=patient_control_number, payer=payer,
        billing_provider=billing_provider, subscriber=subscriber, patient=patient, rendering=visit.rendering,
        supervising=visit.supervising, date_of_service=visit.date_of_service, place_of_service=result.place_of_service,
        diagnoses=result.diagnoses, lines=result.lines, prior_authorization=prior_authorization,
        other_payer=other_payer, visit_id=visit.visit_id, program=visit.program, coding_findings=result.findings,
        practice_id=practice_id, patient_id=patient_id,
    )
    return claim
