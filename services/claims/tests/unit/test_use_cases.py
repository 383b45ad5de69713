"""Claims' use cases with a fake unit of work: a visit is coded once and its claim waits for its facts; the facts'
announcements complete and scrub it, in a poll; newer answers replace older ones; nothing is announced twice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from claims.domain.commands import CorrectClaim, InsuredParties, RecordVisit, ScrubClaim
from claims.domain.exceptions import ClaimNotFound, VisitAlreadyRecorded
from claims.domain.model import ClaimStatus, PayerRef
from claims.domain.rulebook import Rulebook
from claims.service_layer import corrections, payments, scrub, visits
from rcm_shared.contracts import (
    ClaimPaymentPostedV1,
    ClaimStatusChangedV1,
    EligibilityCheckedV1,
    VisitAuthorizationDeterminedV1,
    VisitCompletedV1,
)
from rcm_shared.contracts.authorizations import ProviderCredentialingV1

from .conftest import BILLING, BILLING_NPI, PAYER, RENDERING_NPI, SUBSCRIBER, clinician, visit
from .fakes import FakeUnitOfWork

TODAY = date(2024, 3, 10)
NOW = datetime(2024, 3, 10, 15, tzinfo=UTC)
DOS = date(2024, 3, 4)


def record(n: int = 1, payer: PayerRef = PAYER, member: str | None = None, **visit_kw: object) -> RecordVisit:
    subscriber = SUBSCRIBER if member is None else SUBSCRIBER.__class__(member, SUBSCRIBER.person, "GRP1")
    return RecordVisit(practice_id="p-1", external_visit_id=f"E-{n}", patient_id=f"pt-{n}",
                       billing_model="insurance", visit=visit(visit_id="", payer_id=payer.payer_id, **visit_kw),
                       billing_npi=BILLING_NPI, parties=InsuredParties(payer, BILLING, subscriber))


def answer(visit_id: str, patient_id: str, *, sequence: int = 1, number: str | None = "AUTH-1",
           required: bool = True, allowed: bool = True, payer_id: str = "ACME") -> VisitAuthorizationDeterminedV1:
    return VisitAuthorizationDeterminedV1(
        visit_id=visit_id, practice_id="p-1", patient_id=patient_id, payer_id=payer_id, date_of_service=DOS,
        sequence=sequence, determined_at=NOW, authorization_required=required, authorization_number=number,
        missing_reason=None if number else "none_on_file",
        providers=[ProviderCredentialingV1(role="rendering", npi=RENDERING_NPI, allowed=allowed,
                                           reason="enrolled" if allowed else "not_enrolled_with_payer"),
                   ProviderCredentialingV1(role="billing", npi=BILLING_NPI, allowed=True, reason="enrolled")],
        rendering_npi=RENDERING_NPI if allowed else None)


def checked(patient_id: str, check_id: str = "chk-1", payer_id: str = "ACME") -> tuple[datetime, EligibilityCheckedV1]:
    return NOW, EligibilityCheckedV1(check_id=check_id, practice_id="p-1", patient_id=patient_id, payer_id=payer_id,
                                     as_of=DOS, active=True, coverage_from=date(2024, 1, 1))


async def recorded(uow: FakeUnitOfWork, rulebook: Rulebook, command: RecordVisit) -> tuple[str, str]:
    async with uow:
        done = await visits.record_visit(uow, command, rulebook, today=TODAY, now=NOW)
    assert done.claim_id is not None
    return done.visit_id, done.claim_id


async def test_a_visit_is_coded_once_and_its_claim_waits_for_its_facts(rulebook: Rulebook) -> None:
    uow = FakeUnitOfWork()
    supervisor = clinician("LCSW", "1003000126", last="STONE")
    visit_id, claim_id = await recorded(uow, rulebook, record(supervising=supervisor))
    claim = uow.claims.claims[claim_id]  # type: ignore[attr-defined]
    assert (claim.status, claim.awaiting) == (ClaimStatus.AWAITING_FACTS,
                                              ("authorization_determination", "eligibility_check"))
    assert [ln.procedure_code for ln in claim.lines] == ["90837"]
    (completed,) = uow.published(VisitCompletedV1)
    assert (completed.visit_id, completed.billing_npi, completed.rendering_credential, completed.supervising_npi) == (
        visit_id, BILLING_NPI, "LCSW", "1003000126"), "authorizations decides about every clinician of the visit"
    assert [c.status for c in uow.published(ClaimStatusChangedV1)] == ["awaiting_facts"]
    with pytest.raises(VisitAlreadyRecorded):
        async with uow:
            await visits.record_visit(uow, record(), rulebook, today=TODAY, now=NOW)


async def test_the_facts_of_a_poll_complete_and_scrub_the_claims_once(rulebook: Rulebook) -> None:
    uow = FakeUnitOfWork()
    first = await recorded(uow, rulebook, record(1, member="W000000001"))
    second = await recorded(uow, rulebook, record(2, member="W000000002"))
    async with uow:  # the determinations first: still waiting for eligibility
        assert await scrub.apply_determinations(uow, [answer(first[0], "pt-1"), answer(second[0], "pt-2")],
                                                rulebook, today=TODAY, now=NOW) == 2
    claims = uow.claims.claims  # type: ignore[attr-defined]
    assert {claims[c].awaiting for _, c in (first, second)} == {("eligibility_check",)}
    async with uow:
        assert await scrub.apply_coverage_checks(uow, [checked("pt-1"), checked("pt-2", "chk-2")], rulebook,
                                                 today=TODAY, now=NOW) == 2
    assert {claims[c].status for _, c in (first, second)} == {ClaimStatus.SCRUBBED}
    assert claims[first[1]].prior_authorization == "AUTH-1", "the number authorizations named"
    async with uow:  # the same answer again (redelivered, or older): nothing moves, nothing is announced
        before = len(uow.published())
        assert await scrub.apply_determinations(uow, [answer(first[0], "pt-1")], rulebook, today=TODAY,
                                                now=NOW) == 0
    assert len(uow.published()) == before


async def test_a_newer_answer_replaces_the_number_an_older_one_gave(rulebook: Rulebook) -> None:
    uow = FakeUnitOfWork()
    visit_id, claim_id = await recorded(uow, rulebook, record())
    async with uow:
        await scrub.apply_coverage_checks(uow, [checked("pt-1")], rulebook, today=TODAY, now=NOW)
        await scrub.apply_determinations(uow, [answer(visit_id, "pt-1")], rulebook, today=TODAY, now=NOW)
    claim = uow.claims.claims[claim_id]  # type: ignore[attr-defined]
    assert claim.status is ClaimStatus.SCRUBBED
    async with uow:  # the authorization was cancelled before the claim left: sequence 2, no number
        await scrub.apply_determinations(uow, [answer(visit_id, "pt-1", sequence=2, number=None)], rulebook,
                                         today=TODAY, now=NOW)
    assert claim.status is ClaimStatus.HELD and claim.prior_authorization is None
    assert [f.code for f in claim.findings] == ["AUTHORIZATION_MISSING"]


async def test_a_payer_answering_no_eligibility_inquiries_is_scrubbed_on_the_determination_alone(
        rulebook: Rulebook) -> None:
    uow = FakeUnitOfWork()
    indemnity = PayerRef("NOTELE", "INDEMNITY")
    visit_id, claim_id = await recorded(uow, rulebook, record(payer=indemnity))
    async with uow:
        await scrub.apply_determinations(uow, [answer(visit_id, "pt-1", payer_id="NOTELE", required=False,
                                                      number=None)], rulebook, today=TODAY, now=NOW)
    assert uow.claims.claims[claim_id].status is ClaimStatus.SCRUBBED  # type: ignore[attr-defined]


async def test_the_same_services_twice_in_one_poll_hold_the_second_as_a_duplicate(rulebook: Rulebook) -> None:
    uow = FakeUnitOfWork()
    first = await recorded(uow, rulebook, record(1))
    second = await recorded(uow, rulebook, record(2))  # the same member, services and date: a duplicate
    for claim in uow.claims.claims.values():  # type: ignore[attr-defined]
        claim.patient_id = "pt-1"  # one patient, posted twice by the EHR under two visit ids
    async with uow:
        await scrub.apply_coverage_checks(uow, [checked("pt-1")], rulebook, today=TODAY, now=NOW)
        await scrub.apply_determinations(uow, [answer(first[0], "pt-1"), answer(second[0], "pt-1")], rulebook,
                                         today=TODAY, now=NOW)
    claims = uow.claims.claims  # type: ignore[attr-defined]
    assert claims[first[1]].status is ClaimStatus.SCRUBBED
    assert [f.code for f in claims[second[1]].findings if f.severity.value == "error"] == ["DUPLICATE_CLAIM"]


async def test_scrub_again_reads_the_projection_and_a_correction_is_scrubbed_at_once(rulebook: Rulebook) -> None:
    uow = FakeUnitOfWork()
    visit_id, claim_id = await recorded(uow, rulebook, record())
    async with uow:  # a biller's "scrub again" cannot hurry a waiting claim
        claim = await scrub.rescrub(uow, ScrubClaim("p-1", claim_id), rulebook, today=TODAY, now=NOW)
    assert claim.status is ClaimStatus.AWAITING_FACTS
    with pytest.raises(ClaimNotFound):
        async with uow:
            await scrub.rescrub(uow, ScrubClaim("another-practice", claim_id), rulebook, today=TODAY, now=NOW)
    async with uow:
        await scrub.apply_coverage_checks(uow, [checked("pt-1")], rulebook, today=TODAY, now=NOW)
        await scrub.apply_determinations(uow, [answer(visit_id, "pt-1")], rulebook, today=TODAY, now=NOW)
    claim.mark_submitted("b-1", "000000001")
    async with uow:
        await payments.record_payment(uow, ClaimPaymentPostedV1(
            posting_id="p-1", era_id="e-1", claim_id=claim_id, practice_id="p-1", outcome="denied",
            claim_status_code="4", charge=Decimal("200.00"), paid=Decimal("0.00"),
            patient_responsibility=Decimal("0.00"), contractual_adjustment=Decimal("0.00"),
            payer_claim_number="PCN-9"))
    assert claim.status is ClaimStatus.DENIED
    async with uow:
        replacement = await corrections.correct_claim(uow, CorrectClaim("p-1", claim_id, diagnoses=("F41.9", "F32.1")),
                                                      rulebook, today=TODAY, now=NOW)
    assert (replacement.status, replacement.frequency_code, replacement.patient_id) == (
        ClaimStatus.SCRUBBED, "7", "pt-1"), replacement.findings
    assert [c.status for c in uow.published(ClaimStatusChangedV1)][-2:] == ["corrected", "scrubbed"]
