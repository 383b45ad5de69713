"""Clean-claim edits: a clean claim passes; each finding code is produced by the case that should trip it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from claims.domain.model import Address, ClaimLine, PatientParty, PayerRef, Person, Severity, Subscriber
from claims.domain.rulebook import Rulebook
from claims.domain.scrubbing import (
    ClaimScrubber,
    CredentialingDecision,
    CredentialingFacts,
    EligibilityFact,
    Enrollment,
    ScrubFacts,
    claim_fingerprint,
    npi_is_valid,
    reported_providers,
)

from .conftest import ADDRESS, BILLING, BILLING_NPI, RENDERING_NPI, SUBSCRIBER, SUPERVISOR_NPI, claim, clinician

ALL = ("ACME", "MEDICARE", "STATEMCD", "NOTELE")
ENROLLED = CredentialingFacts(tuple(
    Enrollment(npi, payer, date(2020, 1, 1)) for npi in (BILLING_NPI, RENDERING_NPI, SUPERVISOR_NPI) for payer in ALL
))


def facts(**kw: Any) -> ScrubFacts:
    fields: dict[str, Any] = {"today": date(2024, 3, 10), "credentialing": ENROLLED,
                              "eligibility": EligibilityFact(True, date(2024, 1, 1), None)}
    fields.update(kw)
    return ScrubFacts(**fields)


def line(code: str = "90837", **kw: Any) -> ClaimLine:
    fields: dict[str, Any] = {"procedure_code": code, "charge": Decimal("100.00"), "units": 1, "modifiers": (),
                              "diagnosis_pointers": (1,)}
    fields.update(kw)
    return ClaimLine(**fields)


@pytest.fixture(scope="module")
def scrubber(rulebook: Rulebook) -> ClaimScrubber:
    return ClaimScrubber(rulebook)


def test_clean_claim_has_no_findings(scrubber: ClaimScrubber) -> None:
    assert scrubber.scrub(claim(), facts()) == ()


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_valid_npis(npi: str) -> None:
    assert npi_is_valid(npi)


@pytest.mark.parametrize("npi", ["1234567890", "123456789", "3234567893", "12345678a3", ""])
def test_invalid_npis(npi: str) -> None:
    assert not npi_is_valid(npi)


NOT_CREDENTIALED = CredentialingFacts((Enrollment(BILLING_NPI, "ACME", date(2020, 1, 1)),))
EXPIRED = CredentialingFacts(tuple(
    Enrollment(npi, "ACME", date(2020, 1, 1), date(2023, 12, 31)) for npi in (BILLING_NPI, RENDERING_NPI)
))
PO_BOX = replace(BILLING, address=Address("PO Box 12", "SPRINGFIELD", "IL", "627011234"))
NO_DOB = replace(SUBSCRIBER, person=replace(SUBSCRIBER.person, birth_date=None))
DIGITAL_LINE = line("98970", modifiers=("95",))

CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("NPI_INVALID", {"rendering": clinician(npi="1245319590")}, {}, "rendering.npi"),
    ("NPI_INVALID", {"billing_provider": replace(BILLING, npi="1234567890")}, {}, "billing_provider.npi"),
    ("EIN_INVALID", {"billing_provider": replace(BILLING, ein="12-345678")}, {}, "billing_provider.ein"),
    ("BILLING_ADDRESS_PO_BOX", {"billing_provider": PO_BOX}, {}, "billing_provider.address"),
    ("PROVIDER_NOT_CREDENTIALED", {}, {"credentialing": NOT_CREDENTIALED}, "rendering.npi"),
    ("PROVIDER_NOT_CREDENTIALED", {}, {"credentialing": EXPIRED}, "rendering.npi"),
    ("BILLING_PROVIDER_NOT_CREDENTIALED", {}, {"credentialing": lambda npi, payer, day: npi != BILLING_NPI},
     "billing_provider.npi"),
    ("DIAGNOSIS_MISSING", {"diagnoses": ()}, {}, "diagnoses"),
    ("DIAGNOSIS_INVALID", {"diagnoses": ("F41.1",)}, {}, "diagnoses[0]"),
    ("DIAGNOSIS_INVALID", {"diagnoses": ("F411", "1234")}, {}, "diagnoses[1]"),
    ("DIAGNOSIS_TOO_MANY", {"diagnoses": tuple(f"F4{i:02d}" for i in range(13))}, {}, "diagnoses"),
    ("PRINCIPAL_DIAGNOSIS_NOT_ALLOWED", {"diagnoses": ("Z630", "F411")}, {}, "diagnoses[0]"),
    ("PRINCIPAL_DIAGNOSIS_NOT_ALLOWED", {"diagnoses": ("G4700",)}, {}, "diagnoses[0]"),
    ("POINTER_INVALID", {"lines": (line(diagnosis_pointers=(3,)),)}, {}, "lines[0].diagnosis_pointers"),
    ("POINTER_INVALID", {"lines": (line(diagnosis_pointers=(1, 2, 1)),)}, {}, "lines[0].diagnosis_pointers"),
    ("POINTER_INVALID", {"diagnoses": ("F411", "F321", "F431", "F900", "F419"),
                         "lines": (line(diagnosis_pointers=(1, 2, 3, 4, 5)),)}, {}, "lines[0].diagnosis_pointers"),
    ("LINES_MISSING", {"lines": ()}, {}, "lines"),
    ("LINES_TOO_MANY", {"lines": tuple(line() for _ in range(51))}, {}, "lines"),
    ("PROCEDURE_UNKNOWN", {"lines": (line("99999"),)}, {}, "lines[0].procedure_code"),
    ("MODIFIER_UNKNOWN", {"lines": (line(modifiers=("ZZ",)),)}, {}, "lines[0].modifiers"),
    ("TELEHEALTH_MODIFIER_WITHOUT_TELEHEALTH_POS", {"lines": (line(modifiers=("95",)),)}, {}, "lines[0].modifiers"),
    ("TELEHEALTH_NOT_COVERED", {"payer": PayerRef("NOTELE", "INDEMNITY"), "place_of_service": "10"}, {},
     "place_of_service"),
    ("DIGITAL_EM_NOT_TELEHEALTH", {"payer": PayerRef("MEDICARE", "MEDICARE"), "lines": (DIGITAL_LINE,)}, {},
     "lines[0].modifiers"),
    ("DIGITAL_EM_NOT_COVERED", {"lines": (line("98971"),)}, {}, "lines[0].procedure_code"),
    ("ADDON_WITHOUT_PRIMARY", {"lines": (line("90833"),)}, {}, "lines[0].procedure_code"),
    ("ADDON_WITHOUT_PRIMARY", {"lines": (line("90837"), line("90840"))}, {}, "lines[1].procedure_code"),
    ("INTERACTIVE_COMPLEXITY_NOT_ALLOWED", {"lines": (line("90839"), line("90785"))}, {}, "lines[1].procedure_code"),
    ("INTERACTIVE_COMPLEXITY_NOT_ALLOWED", {"lines": (line("90847"), line("90785"))}, {}, "lines[1].procedure_code"),
    ("UNITS_OUT_OF_RANGE", {"lines": (line(units=2),)}, {}, "lines[0].units"),
    ("UNITS_OUT_OF_RANGE", {"payer": PayerRef("STATEMCD", "MEDICAID"),
                            "lines": (line("90839"), line("90840", units=3))}, {}, "lines[1].units"),
    ("CHARGE_INVALID", {"lines": (line(charge=Decimal("0.00")),)}, {}, "lines[0].charge"),
    ("AUTHORIZATION_MISSING", {"prior_authorization": None}, {"authorization_required": True}, "prior_authorization"),
    ("AUTHORIZATION_MISSING", {"payer": PayerRef("MEDICARE", "MEDICARE"), "prior_authorization": None},
     {"authorization_required": True}, "prior_authorization"),
    ("ELIGIBILITY_NOT_ON_FILE", {}, {"eligibility": None}, "subscriber"),
    ("ELIGIBILITY_INACTIVE", {}, {"eligibility": EligibilityFact(False)}, "subscriber"),
    ("ELIGIBILITY_INACTIVE", {}, {"eligibility": EligibilityFact(True, date(2024, 3, 5))}, "subscriber"),
    ("TIMELY_FILING_EXPIRED", {}, {"today": date(2024, 9, 1)}, "date_of_service"),
    ("TIMELY_FILING_NEAR", {}, {"today": date(2024, 8, 25)}, "date_of_service"),
    ("PAYER_CLAIM_NUMBER_MISSING", {"frequency_code": "7"}, {}, "payer_claim_number"),
    ("COB_INCOMPLETE", {"subscriber": replace(SUBSCRIBER, payer_responsibility="S")}, {}, "other_payer"),
    ("PATIENT_DEMOGRAPHICS_MISSING", {"subscriber": NO_DOB}, {}, "subscriber.person"),
    ("PATIENT_DEMOGRAPHICS_MISSING", {"patient": PatientParty("19", Person("DOE", "SAM"))}, {}, "patient.person"),
    ("PATIENT_RELATIONSHIP_INVALID", {"patient": PatientParty("99", Person("DOE", "SAM", date(2012, 1, 1), "M",
                                                                           ADDRESS))}, {}, "patient.relationship"),
    ("SUBSCRIBER_ID_MISSING", {"subscriber": Subscriber(" ", SUBSCRIBER.person)}, {}, "subscriber.member_id"),
    ("SUBSCRIBER_ID_MISSING", {"subscriber": Subscriber("李~", SUBSCRIBER.person)}, {}, "subscriber.member_id"),
    ("SUBSCRIBER_ID_MISSING", {"subscriber": Subscriber("7*", SUBSCRIBER.person)}, {}, "subscriber.member_id"),
    # names the ASCII 837P cannot carry would go out empty (NM103 is required): the whole transaction is rejected
    ("NAME_NOT_REPRESENTABLE", {"subscriber": replace(SUBSCRIBER, person=replace(SUBSCRIBER.person,
                                                                                 last_name="李"))},
     {}, "subscriber.person.last_name"),
    ("NAME_NOT_REPRESENTABLE", {"patient": PatientParty("19", Person("*~", "SAM", date(2012, 1, 1), "M", ADDRESS))},
     {}, "patient.person.last_name"),
]


@pytest.mark.parametrize(("code", "claim_kw", "facts_kw", "path"), CASES, ids=[c[0] for c in CASES])
def test_each_edit(scrubber: ClaimScrubber, code: str, claim_kw: dict[str, Any], facts_kw: dict[str, Any],
                   path: str) -> None:
    found = scrubber.scrub(claim(**claim_kw), facts(**facts_kw))
    matching = [f for f in found if f.code == code]
    assert matching, found
    assert path in {f.field for f in matching}
    assert all(f.message and "DOE" not in f.message for f in found)  # messages carry no PHI


def test_timely_filing_near_is_only_a_warning(scrubber: ClaimScrubber) -> None:
    c = claim()
    c.record_scrub(scrubber.scrub(c, facts(today=date(2024, 8, 25))))
    assert [f.severity for f in c.findings] == [Severity.WARNING]
    assert c.status.value == "scrubbed"


def test_duplicate_of_a_submitted_claim(scrubber: ClaimScrubber) -> None:
    first = claim()
    again = claim(claim_id="c-2", patient_control_number="PCN0002")
    assert claim_fingerprint(first) == claim_fingerprint(again)
    found = scrubber.scrub(again, facts(submitted_fingerprints={claim_fingerprint(first)}))
    assert [f.code for f in found] == ["DUPLICATE_CLAIM"]
    other_day = claim(date_of_service=date(2024, 3, 5))
    assert claim_fingerprint(other_day) != claim_fingerprint(first)


SUPERVISED = clinician("LMSW", npi="1679576722", last="NOVAK")
SUPERVISOR = clinician("LCSW", npi=SUPERVISOR_NPI, last="STONE")


@pytest.mark.parametrize(("decision", "rendering", "supervising"), [
    (CredentialingDecision(True, "enrolled", "1679576722"), SUPERVISED, SUPERVISOR),
    (CredentialingDecision(True, "billed_under_supervisor", SUPERVISOR_NPI), SUPERVISOR, None),
    (CredentialingDecision(True, "billed_under_supervisor", "1679576722", SUPERVISOR_NPI), SUPERVISED, SUPERVISOR),
])
def test_the_claim_reports_the_providers_the_registry_decided(
        scrubber: ClaimScrubber, decision: CredentialingDecision, rendering: Any, supervising: Any) -> None:
    c = claim(rendering=SUPERVISED, supervising=SUPERVISOR)
    c.report_providers(reported_providers(c, decision))
    assert (c.rendering_provider, c.supervising_provider) == (rendering, supervising)
    assert (c.rendering, c.supervising) == (SUPERVISED, SUPERVISOR), "the visit's clinicians stay on the claim"
    assert scrubber.scrub(c, facts(rendering_decision=decision)) == ()


def test_a_claim_naming_other_providers_than_decided_is_held(scrubber: ClaimScrubber) -> None:
    under_supervisor = CredentialingDecision(True, "billed_under_supervisor", SUPERVISOR_NPI)
    c = claim(rendering=SUPERVISED, supervising=SUPERVISOR)  # not reported as decided: would go out as the LMSW
    assert [(f.code, f.field) for f in scrubber.scrub(c, facts(rendering_decision=under_supervisor))] == [
        ("PROVIDERS_NOT_AS_DECIDED", "rendering.npi")]


def test_a_supervisor_the_visit_does_not_name_holds_the_claim(scrubber: ClaimScrubber) -> None:
    c = claim(rendering=SUPERVISED)  # the registry knows a supervisor the visit does not name: no name to send
    decision = CredentialingDecision(True, "billed_under_supervisor", SUPERVISOR_NPI)
    c.report_providers(reported_providers(c, decision))
    assert c.reported is None
    assert [f.code for f in scrubber.scrub(c, facts(rendering_decision=decision))] == ["SUPERVISOR_NOT_ON_CLAIM"]


def test_not_billable_at_all_says_why(scrubber: ClaimScrubber) -> None:
    c = claim(rendering=SUPERVISED, supervising=SUPERVISOR)
    decision = CredentialingDecision(False, "credential_not_billable_under_supervisor")
    c.report_providers(reported_providers(c, decision))
    (found,) = scrubber.scrub(c, facts(rendering_decision=decision))
    assert found.code == "PROVIDER_NOT_CREDENTIALED" and "credential_not_billable_under_supervisor" in found.message


def test_coding_findings_travel_to_the_scrub(scrubber: ClaimScrubber, build: SimpleNamespace, coder: Any) -> None:
    v = build.visit(build.visit().service_kind, 50, interactive_complexity=False)
    result = coder.code(replace(v, service_kind=v.service_kind.__class__("crisis"), interactive_complexity=True))
    c = build.draft_claim(result, v, claim_id="c-5", patient_control_number="P5", payer=build.PAYER,
                          billing_provider=build.BILLING, subscriber=build.SUBSCRIBER, prior_authorization="A1")
    assert "INTERACTIVE_COMPLEXITY_NOT_BILLABLE" in {f.code for f in scrubber.scrub(c, facts())}


def test_an_em_with_under_16_minutes_of_psychotherapy_is_scrubbed_clean_and_carries_the_em(
        scrubber: ClaimScrubber, build: SimpleNamespace, coder: Any) -> None:
    v = build.visit(build.visit().service_kind.__class__("em_with_psychotherapy"), 10, em_code="99213",
                    rendering=build.clinician("NP"))
    c = build.draft_claim(coder.code(v), v, claim_id="c-6", patient_control_number="P6", payer=build.PAYER,
                          billing_provider=build.BILLING, subscriber=build.SUBSCRIBER, prior_authorization="A1")
    c.record_scrub(scrubber.scrub(c, facts()))
    assert c.status.value == "scrubbed", c.findings
    assert [ln.procedure_code for ln in c.lines] == ["99213"]
    assert [(f.code, f.severity) for f in c.findings] == [("PSYCHOTHERAPY_ADD_ON_UNDER_MINIMUM", Severity.WARNING)]


def test_errors_hold_the_claim(scrubber: ClaimScrubber) -> None:
    c = claim(prior_authorization=None)
    c.record_scrub(scrubber.scrub(c, facts(authorization_required=True)))
    assert c.status.value == "held"
    assert c.has_errors


def test_whether_an_authorization_is_required_comes_from_the_visit_s_determination_only(
        scrubber: ClaimScrubber) -> None:
    # ACME's payer terms in claims said an authorization was required; that fact lives in authorizations now
    assert scrubber.scrub(claim(prior_authorization=None), facts(authorization_required=False)) == ()


def test_a_payer_answering_no_eligibility_inquiries_needs_no_check_on_file(scrubber: ClaimScrubber) -> None:
    indemnity = claim(payer=PayerRef("NOTELE", "INDEMNITY"))
    assert "ELIGIBILITY_NOT_ON_FILE" not in {f.code for f in scrubber.scrub(indemnity, facts(eligibility=None))}
