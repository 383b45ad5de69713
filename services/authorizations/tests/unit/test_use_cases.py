"""The use cases over an in-memory unit of work: what each records and announces, without a database or broker.

The heart of it: every insured visit gets one answer (visit-authorization-determined) when it is applied, and a
new one (a higher sequence) only when a later fact changes it: an authorization, a cancellation, an enrollment or
a supervision recorded later, a corrected or voided visit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from authorizations.adapters.utilization_review import SandboxUtilizationReview
from authorizations.bootstrap import load_rulebook, load_sandbox_reviewer
from authorizations.domain.commands import (
    ApplyVisit,
    CopyBookedVisit,
    ReceiveReviewAnswer,
    RecordAuthorization,
    RecordConcurrentReview,
    RecordEnrollment,
    RecordSupervision,
    RequestAuthorization,
)
from authorizations.domain.exceptions import InvalidRegistryEntry, ReviewConflict, UnknownTrace
from authorizations.domain.model import AuthorizationRequest, RequestedService
from authorizations.domain.unit_ledger import VisitProviders
from authorizations.edi.x12_278_response import build_278_response
from authorizations.service_layer import credentialing, ledger, renewals, reviews, schedule
from authorizations.service_layer.handlers import visit_to_apply
from rcm_shared.clock import FixedClock
from rcm_shared.contracts import AuthorizationChangedV1, CodedService, VisitCompletedV1
from rcm_shared.contracts.authorizations import VisitAuthorizationDeterminedV1
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

from .fakes import FakeUnitOfWork, FakeUnitsOfWork

RULES = load_rulebook()
AT = datetime(2026, 12, 3, 1, 8, tzinfo=UTC)
TODAY = date(2026, 12, 2)  # the practice's date at AT (America/New_York)
PRACTICE = "practice-a"
CLINICIAN, GROUP = "1234567893", "1245319599"
SUPERVISEE, SUPERVISOR = "1679576722", "1003000126"


def visit(visit_id: str, *, days_ago: int = 3, patient: str = "pt-1", payer: str = "SBXHP", cpt: str = "90837",
          rendering: str = CLINICIAN, credential: str = "LCSW", supervising: str | None = None,
          billing: str | None = GROUP, voided: bool = False, replaces: str | None = None,
          practice: str = PRACTICE) -> ApplyVisit:
    return ApplyVisit(practice, visit_id, patient, payer, TODAY - timedelta(days=days_ago), cpt,
                      VisitProviders(rendering, credential, supervising, "LCSW" if supervising else "", billing),
                      voided, replaces)


def authorization(number: str = "AUTH-1", *, units: int = 4, patient: str = "pt-1", payer: str = "SBXHP",
                  start: date = TODAY - timedelta(days=30)) -> RecordAuthorization:
    return RecordAuthorization(PRACTICE, number, patient, payer, ("90834", "90837"), units, start,
                               TODAY + timedelta(days=30))


async def apply(uow: FakeUnitOfWork, *visits: ApplyVisit) -> None:
    async with uow:
        await ledger.apply_visits(uow, list(visits), rules=RULES, today=TODAY, at=AT)


async def record(uow: FakeUnitOfWork, command: RecordAuthorization) -> str:
    async with uow:
        return await ledger.record_authorization(uow, command, rules=RULES, today=TODAY, at=AT)


async def enroll(uow: FakeUnitOfWork, npi: str, payer: str = "SBXHP") -> None:
    async with uow:
        await credentialing.record_enrollment(uow, RecordEnrollment(PRACTICE, npi, payer, "", date(2020, 1, 1)),
                                              rules=RULES, today=TODAY, at=AT)


def answers(uow: FakeUnitOfWork) -> list[VisitAuthorizationDeterminedV1]:
    found: list[VisitAuthorizationDeterminedV1] = uow.published(VisitAuthorizationDeterminedV1)
    return found


def changes(uow: FakeUnitOfWork) -> list[tuple[str | None, str]]:
    return [(e.visit_id, e.change) for e in uow.published(AuthorizationChangedV1)]


def roles(answer: VisitAuthorizationDeterminedV1) -> dict[str, tuple[bool, str, str | None]]:
    return {p.role: (p.allowed, p.reason, p.billing_npi) for p in answer.providers}


async def test_an_insured_visit_is_answered_with_its_authorization_and_its_clinicians() -> None:
    uow = FakeUnitOfWork()
    await record(uow, authorization())
    await enroll(uow, CLINICIAN)
    await enroll(uow, GROUP)
    await apply(uow, visit("v-1"))
    (answer,) = answers(uow)
    assert (answer.visit_id, answer.sequence, answer.authorization_required) == ("v-1", 1, True)
    assert (answer.authorization_number, answer.missing_reason, answer.units_remaining) == ("AUTH-1", None, 3)
    assert roles(answer) == {"rendering": (True, "enrolled", CLINICIAN), "billing": (True, "enrolled", GROUP)}
    assert (answer.rendering_npi, answer.supervising_npi) == (CLINICIAN, None)
    assert answer.rules_version and "prior_authorization_requirements@" in answer.rules_version
    assert changes(uow) == [("v-1", "unit_consumed")]

    await apply(uow, visit("v-1"))  # the same visit again (a redelivery under a new event id): nothing new
    assert len(answers(uow)) == 1 and len(changes(uow)) == 1


async def test_an_authorization_recorded_later_answers_the_visit_again() -> None:
    uow = FakeUnitOfWork()
    await apply(uow, visit("v-1"))
    (first,) = answers(uow)
    assert (first.authorization_number, first.missing_reason) == (None, "none_on_file")
    assert roles(first)["rendering"] == (False, "not_enrolled_with_payer", None) and first.rendering_npi is None
    await record(uow, authorization())
    second = answers(uow)[-1]
    assert (second.visit_id, second.sequence, second.authorization_number) == ("v-1", 2, "AUTH-1")
    assert second.missing_reason is None and changes(uow) == [("v-1", "unit_consumed")]


async def test_a_visit_taking_a_unit_does_not_announce_the_others_again() -> None:
    uow = FakeUnitOfWork()
    await record(uow, authorization())
    await apply(uow, visit("v-1", days_ago=5))
    await apply(uow, visit("v-2", days_ago=4))
    assert [(a.visit_id, a.sequence, a.units_remaining) for a in answers(uow)] == [("v-1", 1, 3), ("v-2", 1, 2)]


async def test_an_enrollment_recorded_later_answers_that_clinicians_visits_again() -> None:
    uow = FakeUnitOfWork()
    await apply(uow, visit("v-1"), visit("v-2", payer="SBXBH"))
    assert len(answers(uow)) == 2
    await enroll(uow, CLINICIAN, payer="OTHERPAYER")
    assert len(answers(uow)) == 2, "an enrollment with another payer changes no answer"
    await enroll(uow, CLINICIAN)  # SBXHP
    again = answers(uow)[-1]
    assert len(answers(uow)) == 3 and (again.visit_id, again.sequence) == ("v-1", 2)
    assert roles(again)["rendering"] == (True, "enrolled", CLINICIAN) and again.rendering_npi == CLINICIAN
    assert again.missing_reason == "none_on_file", "the authorization part stands"


@pytest.mark.parametrize(("payer", "reported"), [
    ("SBXBH", (SUPERVISEE, SUPERVISOR)),  # the clinician in 2310B, the supervisor in 2310D
    ("ACME", (SUPERVISOR, None)),  # the supervisor as rendering provider, the clinician not named
])
async def test_supervisor_billing_recorded_later_is_decided_by_the_payers_policy(
        payer: str, reported: tuple[str, str | None]) -> None:
    uow = FakeUnitOfWork()
    await enroll(uow, SUPERVISOR, payer)
    await apply(uow, visit("v-1", payer=payer, rendering=SUPERVISEE, credential="LMSW", supervising=SUPERVISOR))
    (before,) = answers(uow)
    assert roles(before)["rendering"] == (False, "not_enrolled_with_payer", None)
    assert roles(before)["supervising"] == (True, "enrolled", SUPERVISOR)
    async with uow:
        await credentialing.record_supervision(uow, RecordSupervision(PRACTICE, SUPERVISEE, SUPERVISOR,
                                                                      date(2025, 1, 1)), rules=RULES, today=TODAY,
                                               at=AT)
    after = answers(uow)[-1]
    assert after.sequence == 2
    assert roles(after)["rendering"] == (True, "billed_under_supervisor", SUPERVISOR)
    assert (after.rendering_npi, after.supervising_npi) == reported


async def test_a_supervisor_billed_for_a_credential_the_payer_refuses_is_not_allowed() -> None:
    uow = FakeUnitOfWork()
    await enroll(uow, SUPERVISOR, "ACME")
    async with uow:
        await credentialing.record_supervision(uow, RecordSupervision(PRACTICE, SUPERVISEE, SUPERVISOR,
                                                                      date(2025, 1, 1)), rules=RULES, today=TODAY,
                                               at=AT)
    await apply(uow, visit("v-1", payer="ACME", rendering=SUPERVISEE, credential="", supervising=SUPERVISOR))
    (answer,) = answers(uow)
    assert roles(answer)["rendering"] == (False, "credential_not_billable_under_supervisor", None)
    assert answer.rendering_npi is None and answer.authorization_required, "ACME requires an authorization"


async def test_a_voided_visit_gives_its_unit_to_the_visit_that_waited_for_it() -> None:
    uow = FakeUnitOfWork()
    await record(uow, authorization(units=1))
    await apply(uow, visit("v-1", days_ago=5), visit("v-2", days_ago=4))
    assert [(a.visit_id, a.authorization_number, a.missing_reason) for a in answers(uow)] == [
        ("v-1", "AUTH-1", None), ("v-2", None, "units_exhausted")]
    await apply(uow, visit("v-1", days_ago=5, voided=True))
    assert [(a.visit_id, a.sequence, a.authorization_number) for a in answers(uow)[2:]] == [("v-2", 2, "AUTH-1")], \
        "the void itself is not answered; the visit it freed a unit for is"
    assert changes(uow)[-2:] == [("v-1", "unit_returned"), ("v-2", "unit_consumed")]


async def test_a_corrected_visit_moves_its_unit_to_the_replacement() -> None:
    uow = FakeUnitOfWork()
    await record(uow, authorization(units=1))
    await apply(uow, visit("v-1"))
    await apply(uow, visit("v-1b", replaces="v-1"))
    assert [(a.visit_id, a.authorization_number) for a in answers(uow)] == [("v-1", "AUTH-1"), ("v-1b", "AUTH-1")]
    assert changes(uow) == [("v-1", "unit_consumed"), ("v-1", "unit_returned"), ("v-1b", "unit_consumed")]


async def test_a_corrected_visit_moved_to_another_payer_frees_its_unit_there() -> None:
    uow = FakeUnitOfWork()
    await record(uow, authorization(units=1))
    await apply(uow, visit("v-1", days_ago=5), visit("v-2", days_ago=4))
    await apply(uow, visit("v-1", days_ago=5, payer="SBXBH"))  # the same visit id, re-sent for another payer
    latest = {a.visit_id: a for a in answers(uow)}
    assert (latest["v-1"].payer_id, latest["v-1"].authorization_number) == ("SBXBH", None)
    assert (latest["v-2"].sequence, latest["v-2"].authorization_number) == (2, "AUTH-1")


async def test_visits_past_the_reannouncement_window_are_left_alone() -> None:
    uow = FakeUnitOfWork()
    old = visit("v-old", days_ago=400)
    await apply(uow, old)
    assert len(answers(uow)) == 1, "a visit applied is answered, whatever its date"
    await record(uow, authorization(start=TODAY - timedelta(days=500)))
    assert len(answers(uow)) == 1, "365 days (determinations.yaml): its claim can no longer be filed"
    assert changes(uow) == [("v-old", "unit_consumed")], "the unit is still the ledger's"


async def test_a_poll_of_visits_is_one_load_and_one_save_per_practice() -> None:
    uow = FakeUnitOfWork()
    polled = [visit(f"v-{n}", patient=f"pt-{n % 10}", practice=f"practice-{n % 2}", days_ago=1 + n % 20)
              for n in range(200)]
    await apply(uow, *polled)
    assert len(answers(uow)) == 200
    assert (uow.ledgers.calls["get"], uow.ledgers.calls["save"]) == (2, 2)  # type: ignore[attr-defined]
    assert uow.determinations.calls["get_many"] == 2  # type: ignore[attr-defined]


def test_only_insured_coded_visits_are_applied_and_absent_clinician_facts_fall_back() -> None:
    base = {"visit_id": "v-1", "practice_id": PRACTICE, "patient_id": "pt-1", "date_of_service": TODAY,
            "rendering_npi": CLINICIAN, "services": [CodedService(procedure_code="90837")]}
    self_pay = VisitCompletedV1(**base, billing_model="self_pay", payer_id=None)  # type: ignore[arg-type]
    uncoded = VisitCompletedV1(**{**base, "services": []}, billing_model="insurance", payer_id="SBXHP")  # type: ignore[arg-type]
    insured = VisitCompletedV1(**base, billing_model="insurance", payer_id="SBXHP")  # type: ignore[arg-type]
    assert visit_to_apply(self_pay) is None and visit_to_apply(uncoded) is None
    applied = visit_to_apply(insured)
    assert applied is not None and applied.cpt_code == "90837"
    assert applied.providers == VisitProviders(CLINICIAN, "", None, "", None)


async def test_an_enrollment_that_ends_before_it_starts_is_refused_and_nothing_kept() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(InvalidRegistryEntry) as refused:
        async with uow:
            await credentialing.record_enrollment(uow, RecordEnrollment(
                PRACTICE, CLINICIAN, "SBXHP", "", date(2026, 1, 1), date(2025, 1, 1)), rules=RULES, today=TODAY,
                at=AT)
    assert refused.value.field == "effective_to" and uow.registries.enrollments == []  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------ reviews

REQUEST = AuthorizationRequest(
    payer_id="SBXHP", payer_name="SANDBOX HEALTH PLAN", requester_npi=GROUP, requester_name="RIVERSIDE",
    member_id="SBX000040", subscriber_last_name="EXAMPLE", subscriber_first_name="CASEY", subscriber_birth_date=None,
    rendering_npi=CLINICIAN, rendering_last_name="RIVERA", rendering_first_name="JO", diagnosis_codes=("F411",),
    services=(RequestedService("90837", 10),), start=TODAY, end=TODAY + timedelta(days=60), trace_number="TRACE1")
PARTIES = InterchangeParties("RCMPLATFORM", "SBXUMO", trace_originator="9RCMPLATFM")


async def request(uow: FakeUnitOfWork, payer: str = "SBXHP") -> reviews.RecordedAnswer:
    sandbox = SandboxUtilizationReview(load_sandbox_reviewer(), PARTIES)
    command = RequestAuthorization(PRACTICE, "pt-1", replace(REQUEST, payer_id=payer))
    return await reviews.request_authorization(FakeUnitsOfWork(uow), sandbox, command,  # type: ignore[arg-type]
                                               rules=RULES, clock=FixedClock(AT))


async def test_a_certified_request_records_the_authorization_and_answers_waiting_visits() -> None:
    uow = FakeUnitOfWork()
    await apply(uow, visit("v-1", days_ago=0))
    recorded = await request(uow)
    assert (recorded.decision, recorded.action_code, recorded.channel) == ("approved", "A1", "sandbox")
    assert recorded.authorization == recorded.certification_number
    assert [(e.change, e.status, e.units_remaining) for e in uow.published(AuthorizationChangedV1)] == [
        ("unit_consumed", "approved", 9), ("status_changed", "approved", 9)]
    assert answers(uow)[-1].authorization_number == recorded.certification_number


async def test_a_pended_review_takes_one_later_decision() -> None:
    uow = FakeUnitOfWork()
    pended = await request(uow, payer="SBXUM")
    assert (pended.decision, pended.follow_up_on, pended.authorization) == ("pended", TODAY + timedelta(days=3), None)
    asked = replace(REQUEST, payer_id="SBXUM")
    final = load_sandbox_reviewer().final_review(asked, "9RCMPLATFM")
    answer = build_278_response(asked, final, ControlNumbers(9, 9, 1, AT), InterchangeParties("SBXUMO", "RCMPLATFORM"))
    clock = FixedClock(AT + timedelta(days=1))
    async with uow:
        decided = await reviews.receive_review_answer(uow, ReceiveReviewAnswer(PRACTICE, answer, "x12"),
                                                      rules=RULES, clock=clock)
    assert decided.decision in ("approved", "modified") and decided.request_id == pended.request_id
    with pytest.raises(ReviewConflict):
        async with uow:
            await reviews.receive_review_answer(uow, ReceiveReviewAnswer(PRACTICE, answer, "x12"), rules=RULES,
                                                clock=clock)
    with pytest.raises(UnknownTrace):
        async with uow:
            await reviews.receive_review_answer(uow, ReceiveReviewAnswer("practice-b", answer, "x12"), rules=RULES,
                                                clock=clock)
    assert uow.rollbacks == 2, "a refused answer changes nothing"


# ------------------------------------------------------------------------------------------ schedule, renewals


async def test_the_schedule_copy_keeps_the_last_word_for_each_appointment() -> None:
    uow = FakeUnitOfWork()
    booked = CopyBookedVisit(PRACTICE, "appt-1", "pt-1", "SBXHP", TODAY + timedelta(days=2), "90837")
    async with uow:
        await schedule.copy_schedule(uow, [booked, replace(booked, cancelled=True)], at=AT)
    assert uow.schedule.booked[(PRACTICE, "appt-1")].cancelled  # type: ignore[attr-defined]
    assert uow.published() == [], "a copy announces nothing: the schedule is eligibility's"


async def test_a_concurrent_review_is_recorded_once_per_reference() -> None:
    uow = FakeUnitOfWork()
    command = RecordConcurrentReview(PRACTICE, "CR-1", "AUTH-1", TODAY, 6, TODAY + timedelta(days=60))
    async with uow:
        assert await renewals.record_concurrent_review(uow, command) is True
        assert await renewals.record_concurrent_review(uow, command) is False
