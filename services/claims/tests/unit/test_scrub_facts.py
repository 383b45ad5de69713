"""The scrubber's facts from claims' projection: what a claim still waits for, which eligibility check speaks for its
date of service, and the registry's decision read from authorizations' determination."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from claims.domain.facts import (
    AUTHORIZATION_DETERMINATION,
    ELIGIBILITY_CHECK,
    AuthorizationDetermination,
    CoverageCheck,
    ProviderDecision,
    coverage_on,
    missing_facts,
    scrub_facts,
)
from claims.domain.model import ClaimStatus, PayerRef
from claims.domain.rulebook import Rulebook
from claims.domain.scrubbing import ClaimScrubber, EligibilityFact, reported_providers

from .conftest import BILLING_NPI, RENDERING_NPI, SUPERVISOR_NPI, claim, clinician

AT = datetime(2024, 3, 5, 9, tzinfo=UTC)


def determination(*, required: bool = False, number: str | None = None, rendering_allowed: bool = True,
                  rendering_npi: str | None = RENDERING_NPI, supervising_npi: str | None = None,
                  billing_allowed: bool = True) -> AuthorizationDetermination:
    return AuthorizationDetermination(
        visit_id="v-1", sequence=1, authorization_required=required, authorization_number=number,
        missing_reason=None if number or not required else "none_on_file",
        providers=(ProviderDecision("rendering", RENDERING_NPI, rendering_allowed,
                                    "enrolled" if rendering_allowed else "not_enrolled_with_payer"),
                   ProviderDecision("billing", BILLING_NPI, billing_allowed, "enrolled")),
        rendering_npi=rendering_npi if rendering_allowed else None, supervising_npi=supervising_npi)


def check(check_id: str, as_of: date, active: bool, start: date | None, end: date | None = None,
          at: datetime = AT) -> CoverageCheck:
    return CoverageCheck(check_id, as_of, active, start, end, at)


def test_a_claim_waits_for_the_determination_and_a_check_on_file(rulebook: Rulebook) -> None:
    c = claim()
    terms = rulebook.payer_terms("ACME", c.date_of_service)
    assert missing_facts(c, terms, None, []) == (AUTHORIZATION_DETERMINATION, ELIGIBILITY_CHECK)
    assert missing_facts(c, terms, determination(), []) == (ELIGIBILITY_CHECK,)
    assert missing_facts(c, terms, determination(), [check("k", date(2024, 3, 1), True, date(2024, 1, 1))]) == ()


def test_a_payer_answering_no_eligibility_inquiries_waits_only_for_the_determination(rulebook: Rulebook) -> None:
    c = claim(payer=PayerRef("NOTELE", "INDEMNITY"))
    assert missing_facts(c, rulebook.payer_terms("NOTELE", c.date_of_service), None, []) == (
        AUTHORIZATION_DETERMINATION,)


def test_the_check_whose_period_holds_the_date_of_service_speaks_for_it() -> None:
    old = check("old", date(2023, 6, 1), True, date(2023, 1, 1), date(2024, 12, 31))
    newer_other_plan = check("new", date(2025, 2, 1), True, date(2025, 1, 1))
    assert coverage_on([newer_other_plan, old], date(2024, 3, 4)) == EligibilityFact(
        True, date(2023, 1, 1), date(2024, 12, 31))
    # no period holds it: the newest check (here: a plan that began later, so the date is not covered)
    assert coverage_on([newer_other_plan], date(2024, 3, 4)) == EligibilityFact(True, date(2025, 1, 1), None)
    inactive = check("inactive", date(2024, 3, 2), False, None)
    assert coverage_on([inactive], date(2024, 3, 4)) == EligibilityFact(False, None, None)
    assert coverage_on([], date(2024, 3, 4)) is None


def test_the_scrub_reads_the_requirement_the_number_and_the_credentialing_from_the_determination(
        rulebook: Rulebook) -> None:
    c = claim(prior_authorization=None)
    facts = scrub_facts(c, determination(required=True), [check("k", date(2024, 3, 1), True, date(2024, 1, 1))],
                        today=date(2024, 3, 10), submitted_fingerprints=())
    assert facts.authorization_required is True
    assert facts.credentialing(BILLING_NPI, "ACME", c.date_of_service)
    assert [f.code for f in ClaimScrubber(rulebook).scrub(c, facts)] == ["AUTHORIZATION_MISSING"]

    refused = scrub_facts(c, determination(rendering_allowed=False, billing_allowed=False), [],
                          today=date(2024, 3, 10), submitted_fingerprints=())
    assert refused.rendering_decision is not None and not refused.rendering_decision.allowed
    codes = {f.code for f in ClaimScrubber(rulebook).scrub(claim(), refused)}
    assert {"PROVIDER_NOT_CREDENTIALED", "BILLING_PROVIDER_NOT_CREDENTIALED"} <= codes


def test_supervisor_billing_reports_the_npis_authorizations_decided() -> None:
    supervised = clinician("LMSW", "1679576722")
    supervisor = clinician("LCSW", SUPERVISOR_NPI, last="STONE")
    c = claim(rendering=supervised, supervising=supervisor)
    answer = AuthorizationDetermination(
        visit_id="v-1", sequence=2, authorization_required=False, authorization_number=None, missing_reason=None,
        providers=(ProviderDecision("rendering", "1679576722", True, "billed_under_supervisor", SUPERVISOR_NPI),
                   ProviderDecision("supervising", SUPERVISOR_NPI, True, "enrolled"),
                   ProviderDecision("billing", BILLING_NPI, True, "enrolled")),
        rendering_npi=SUPERVISOR_NPI, supervising_npi=None)
    facts = scrub_facts(c, answer, [], today=date(2024, 3, 10), submitted_fingerprints=())
    assert facts.rendering_decision is not None
    reported = reported_providers(c, facts.rendering_decision)
    assert reported is not None and reported.rendering.npi == SUPERVISOR_NPI and reported.supervising is None


def test_waiting_is_a_state_of_its_own_and_the_scrub_ends_it() -> None:
    c = claim()
    assert c.await_facts([ELIGIBILITY_CHECK, AUTHORIZATION_DETERMINATION], AT)
    assert (c.status, c.awaiting, c.awaiting_since) == (ClaimStatus.AWAITING_FACTS,
                                                        (AUTHORIZATION_DETERMINATION, ELIGIBILITY_CHECK), AT)
    assert not c.await_facts([AUTHORIZATION_DETERMINATION, ELIGIBILITY_CHECK]), "the same wait records nothing"
    later = datetime(2024, 3, 6, tzinfo=UTC)
    assert c.await_facts([ELIGIBILITY_CHECK], later)
    assert c.awaiting_since == AT, "it has waited since it began waiting"
    c.record_scrub([])
    assert (c.status, c.awaiting, c.awaiting_since) == (ClaimStatus.SCRUBBED, (), None)
    events = [e.status for e in c.pull_events()]
    assert events == ["draft", "awaiting_facts", "awaiting_facts", "scrubbed"]


def test_a_submitted_claim_cannot_go_back_to_waiting() -> None:
    from claims.domain.exceptions import IllegalClaimTransition

    c = claim()
    c.record_scrub([])
    c.mark_submitted("b-1", "000000001")
    with pytest.raises(IllegalClaimTransition):
        c.await_facts([ELIGIBILITY_CHECK])
