"""The nightly batch over a fake unit of work and the sandbox payer: planned once per practice and night, sent,
answered into checks, events and work items; refused sends retried with the same PayloadID; a run another
replica moved first is left to it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from eligibility.domain.benefits import Member, PayerRef, ProviderRef
from eligibility.domain.commands import BookVisit, InsuranceDetails, RecordSchedule, RunNightlyBatch
from eligibility.domain.exceptions import BatchModeUnsupported, PayerUnavailable, ScheduleDateOutOfReach
from eligibility.domain.model import BatchRunStatus, CheckOrigin, RecheckReason
from eligibility.domain.work_queue import WorkItemKind
from eligibility.sandbox.gateway import SandboxPayerGateway
from eligibility.service_layer import nightly_runs
from eligibility.service_layer.coverage_checks import PayerLink
from eligibility.service_layer.schedule import record_schedule
from rcm_shared.contracts import EligibilityCheckedV1

from .conftest import PARTIES, shipped_plan_table, shipped_rules
from .fakes import FakeUnitOfWork

RULES = shipped_rules()
EVENING = datetime(2026, 12, 3, 0, 30, tzinfo=UTC)  # 19:30 on 2 December in New York: tonight's run is due
NIGHT = date(2026, 12, 3)
BIRTH = {"SBX000001": date(1988, 4, 12), "SBX000002": date(1975, 9, 3), "SBX000003": date(1992, 1, 20),
         "SBX999999": None, "SBX123456": None}


class Clearinghouse(SandboxPayerGateway):
    """The sandbox payer in batch mode, keeping what it was handed; the first ``refuse`` hand-overs fail and
    answers wait until ``hold`` is cleared."""

    def __init__(self, refuse: int = 0, hold: bool = False) -> None:
        super().__init__(shipped_plan_table())
        self.submitted: list[str | None] = []
        self.refuse, self.hold = refuse, hold

    async def submit_batch(self, request_270: str, payload_id: str | None = None) -> str:
        self.submitted.append(payload_id)
        if self.refuse:
            self.refuse -= 1
            raise PayerUnavailable("clearinghouse down", error_code="HTTP503")
        return await super().submit_batch(request_270, payload_id)

    async def retrieve_batch(self, payload_id: str) -> str | None:
        return None if self.hold else await super().retrieve_batch(payload_id)


def booked(visit_id: str, patient_id: str, member_id: str | None) -> BookVisit:
    insurance = None if member_id is None else InsuranceDetails(
        PayerRef("SBXHP", "SANDBOX"), ProviderRef("1234567893", "RIVERSIDE"),
        Member("SAMPLE", "ALEX", BIRTH[member_id], member_id))
    return BookVisit(visit_id, patient_id, "SBXHP", NIGHT, insurance=insurance)


async def schedule(uow: FakeUnitOfWork, *visits: BookVisit, practice_id: str = "practice-a") -> None:
    await record_schedule(uow, RULES, RecordSchedule(practice_id, visits), now=EVENING - timedelta(hours=3))


async def test_tonights_run_checks_the_schedule_and_files_every_answer(uow: FakeUnitOfWork) -> None:
    payer = PayerLink(Clearinghouse(), PARTIES)
    await schedule(uow, booked("a-1", "pt-active", "SBX000001"), booked("a-2", "pt-inactive", "SBX000002"),
                   booked("a-3", "pt-busy", "SBX999999"), booked("a-4", "pt-carve", "SBX000003"),
                   booked("a-5", "pt-nodetails", None))

    await nightly_runs.nightly_batch_tick(uow, payer, RULES, now=EVENING)

    (run,) = uow.batch_runs.rows.values()
    assert (run.status, run.schedule_date, run.inquiry_count, run.no_insurance_count) == (
        BatchRunStatus.COMPLETED, NIGHT, 4, 1)
    assert {c.patient_id for c in uow.checks.rows} == {"pt-active", "pt-inactive", "pt-busy", "pt-carve"}
    assert {c.origin for c in uow.checks.rows} == {CheckOrigin.NIGHTLY_BATCH}
    announced = {e.patient_id: e for e in uow.outbox.payloads(EligibilityCheckedV1)}
    assert set(announced) == {"pt-active", "pt-inactive", "pt-busy", "pt-carve"}, "an event per answered inquiry"
    assert announced["pt-active"].active and announced["pt-active"].coverage_from == date(2025, 1, 1)
    kinds = {i.patient_id: i.kind for i in uow.work_items.open_items()}
    assert kinds == {"pt-inactive": WorkItemKind.INACTIVE_COVERAGE, "pt-busy": WorkItemKind.PAYER_UNAVAILABLE,
                     "pt-nodetails": WorkItemKind.NO_INSURANCE_ON_FILE}
    assert run.attention_count == 3
    (carve_out,) = uow.rechecks.rows.values()
    assert (carve_out.patient_id, carve_out.payer_id, carve_out.reason) == ("pt-carve", "SBXBH",
                                                                            RecheckReason.CARVE_OUT)

    # The same night again (the next tick, an operator): nothing more is sent.
    await nightly_runs.nightly_batch_tick(uow, payer, RULES, now=EVENING + timedelta(hours=1))
    again = await nightly_runs.trigger_batch_run(uow, payer, RULES, RunNightlyBatch("practice-a", NIGHT, "op"),
                                                 now=EVENING + timedelta(hours=1))
    assert again.created is False and again.run.run_id == run.run_id
    assert len(payer.gateway.submitted) == 1  # type: ignore[attr-defined]


async def test_a_night_with_nothing_to_send_is_an_empty_run(uow: FakeUnitOfWork) -> None:
    gateway = Clearinghouse()
    await schedule(uow, booked("a-1", "pt-1", None))  # stale, but no member details to ask with
    await nightly_runs.nightly_batch_tick(uow, PayerLink(gateway, PARTIES), RULES, now=EVENING)
    (run,) = uow.batch_runs.rows.values()
    assert (run.status, run.no_insurance_count) == (BatchRunStatus.EMPTY, 1) and gateway.submitted == []


async def test_a_refused_batch_is_resent_with_its_payload_id_after_the_wait(uow: FakeUnitOfWork) -> None:
    gateway = Clearinghouse(refuse=1)
    payer = PayerLink(gateway, PARTIES)
    await schedule(uow, booked("a-1", "pt-1", "SBX000001"))

    await nightly_runs.nightly_batch_tick(uow, payer, RULES, now=EVENING)
    (run,) = uow.batch_runs.rows.values()
    assert (run.status, run.attempts, run.last_error) == (BatchRunStatus.SEND_FAILED, 1, "HTTP503")

    await nightly_runs.nightly_batch_tick(uow, payer, RULES, now=EVENING + timedelta(minutes=1))
    assert len(gateway.submitted) == 1, "the rules' wait is kept"
    await nightly_runs.nightly_batch_tick(uow, payer, RULES, now=EVENING + timedelta(minutes=6))
    (run,) = uow.batch_runs.rows.values()
    assert run.status is BatchRunStatus.COMPLETED
    assert gateway.submitted == [run.payload_id, run.payload_id], "the same batch again"


async def test_a_batch_never_accepted_fails_and_its_patients_go_to_the_work_queue(uow: FakeUnitOfWork) -> None:
    retries = RULES.nightly_batch.in_force(date(2026, 12, 2)).send_retry_minutes
    gateway = Clearinghouse(refuse=len(retries) + 1)
    payer = PayerLink(gateway, PARTIES)
    await schedule(uow, booked("a-1", "pt-1", "SBX000001"))
    now = EVENING
    for _ in range(len(retries) + 1):
        await nightly_runs.nightly_batch_tick(uow, payer, RULES, now=now)
        now += timedelta(hours=1)
    (run,) = uow.batch_runs.rows.values()
    assert (run.status, run.attempts) == (BatchRunStatus.FAILED, len(retries) + 1)
    (item,) = uow.work_items.open_items()
    assert (item.patient_id, item.kind) == ("pt-1", WorkItemKind.PAYER_UNAVAILABLE)
    assert "never accepted" in item.detail


async def test_an_answer_that_never_comes_expires_the_run(uow: FakeUnitOfWork) -> None:
    payer = PayerLink(Clearinghouse(hold=True), PARTIES)
    await schedule(uow, booked("a-1", "pt-1", "SBX000001"))
    await nightly_runs.nightly_batch_tick(uow, payer, RULES, now=EVENING)
    (run,) = uow.batch_runs.rows.values()
    assert run.status is BatchRunStatus.SUBMITTED
    wait = RULES.nightly_batch.in_force(date(2026, 12, 2)).results_wait_hours
    await nightly_runs.collect_batch_results(uow, payer, RULES, now=EVENING + timedelta(hours=wait, minutes=1))
    (run,) = uow.batch_runs.rows.values()
    assert (run.status, run.last_error) == (BatchRunStatus.EXPIRED, "no_batch_results")
    assert [i.kind for i in uow.work_items.open_items()] == [WorkItemKind.PAYER_UNAVAILABLE]


async def test_a_run_another_replica_answered_first_is_left_to_it(uow: FakeUnitOfWork) -> None:
    gateway = Clearinghouse(hold=True)
    payer = PayerLink(gateway, PARTIES)
    await schedule(uow, booked("a-1", "pt-1", "SBX000001"))
    await nightly_runs.nightly_batch_tick(uow, payer, RULES, now=EVENING)
    (run_id,) = uow.batch_runs.rows
    gateway.hold = False
    uow.outbox.staged.clear()
    uow.batch_runs.moved_elsewhere.add(run_id)

    assert await nightly_runs.collect_batch_results(uow, payer, RULES, now=EVENING) == 0

    assert uow.batch_runs.rows[run_id].status is BatchRunStatus.SUBMITTED
    assert uow.outbox.staged == [], "this replica's answer was rolled back: nothing announced twice"


async def test_an_operator_may_run_only_the_dates_the_night_would(uow: FakeUnitOfWork) -> None:
    payer = PayerLink(Clearinghouse(), PARTIES)
    for day in (date(2026, 12, 1), date(2026, 12, 4)):
        with pytest.raises(ScheduleDateOutOfReach) as refused:
            await nightly_runs.trigger_batch_run(uow, payer, RULES, RunNightlyBatch("practice-a", day, "op"),
                                                 now=EVENING)
        assert refused.value.field == "body.schedule_date"
    assert uow.batch_runs.rows == {}
    started = await nightly_runs.trigger_batch_run(uow, payer, RULES, RunNightlyBatch("practice-a", None, "op"),
                                                   now=EVENING)
    assert started.created and started.run.schedule_date == NIGHT and started.run.trigger == "operator"


class RealTimeOnly:
    async def exchange(self, request_270: str) -> str:
        raise AssertionError("not asked")


async def test_a_gateway_without_batch_mode_cannot_run_a_batch(uow: FakeUnitOfWork) -> None:
    with pytest.raises(BatchModeUnsupported):
        await nightly_runs.trigger_batch_run(uow, PayerLink(RealTimeOnly(), PARTIES), RULES,
                                             RunNightlyBatch("practice-a", None, "op"), now=EVENING)
