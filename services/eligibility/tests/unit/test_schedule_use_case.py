"""The schedule's one home: what a posted schedule keeps, what it announces on visit-scheduled, and the late
bookings it re-checks at once (fake unit of work)."""

from __future__ import annotations

from datetime import date

from eligibility.domain.benefits import Member, PayerRef, ProviderRef
from eligibility.domain.commands import BookVisit, InsuranceDetails, RecordSchedule
from eligibility.domain.model import BatchRun, RecheckReason
from eligibility.domain.work_queue import WorkItemKind
from eligibility.service_layer.schedule import record_schedule
from rcm_shared.contracts import VisitScheduledV1

from .conftest import NOW, shipped_rules
from .fakes import FakeUnitOfWork

RULES = shipped_rules()
TOMORROW = date(2026, 12, 3)
INSURANCE = InsuranceDetails(PayerRef("SBXHP", "SANDBOX"), ProviderRef("1234567893", "RIVERSIDE"),
                             Member("SAMPLE", "ALEX", date(1988, 4, 12), "SBX000001"))


def book(visit_id: str, patient_id: str = "pt-1", **changes: object) -> BookVisit:
    values: dict[str, object] = {"visit_id": visit_id, "patient_id": patient_id, "payer_id": "SBXHP",
                                 "service_date": TOMORROW, **changes}
    return BookVisit(**values)  # type: ignore[arg-type]


async def test_every_new_visit_is_kept_and_announced_with_its_procedure(uow: FakeUnitOfWork) -> None:
    recorded = await record_schedule(uow, RULES, RecordSchedule("practice-a", (
        book("appt-1", cpt_code="90837", insurance=INSURANCE), book("appt-2", "pt-2", first_visit=True))), now=NOW)

    assert (recorded.recorded, recorded.rechecks_queued) == (2, 0)
    assert {v for _, v in uow.schedule.rows} == {"appt-1", "appt-2"}
    assert ("practice-a", "pt-1", "SBXHP") in uow.insurance.rows
    events = {e.visit_id: e for e in uow.outbox.payloads(VisitScheduledV1)}
    assert events["appt-1"].cpt_code == "90837" and events["appt-1"].service_date == TOMORROW
    assert events["appt-2"].first_visit is True and events["appt-2"].cpt_code is None
    assert [subject for _, _, subject, _ in uow.outbox.staged] == ["appt-1", "appt-2"], "keyed by appointment"


async def test_posting_the_same_week_again_announces_only_what_moved(uow: FakeUnitOfWork) -> None:
    week = (book("appt-1"), book("appt-2", "pt-2"), book("appt-3", "pt-3"))
    await record_schedule(uow, RULES, RecordSchedule("practice-a", week), now=NOW)
    uow.outbox.staged.clear()

    moved = (book("appt-1"), book("appt-2", "pt-2", service_date=date(2026, 12, 4)),
             book("appt-3", "pt-3", cancelled=True))
    await record_schedule(uow, RULES, RecordSchedule("practice-a", moved), now=NOW)

    announced = {e.visit_id: e for e in uow.outbox.payloads(VisitScheduledV1)}
    assert set(announced) == {"appt-2", "appt-3"}
    assert announced["appt-2"].service_date == date(2026, 12, 4) and announced["appt-3"].cancelled is True


async def test_a_visit_posted_twice_in_one_schedule_keeps_the_later_entry(uow: FakeUnitOfWork) -> None:
    await record_schedule(uow, RULES, RecordSchedule("practice-a", (
        book("appt-1"), book("appt-1", service_date=date(2026, 12, 4)))), now=NOW)
    assert uow.schedule.rows[("practice-a", "appt-1")].service_date == date(2026, 12, 4)
    assert [e.service_date for e in uow.outbox.payloads(VisitScheduledV1)] == [TOMORROW, date(2026, 12, 4)]


async def test_a_booking_after_its_nights_run_is_rechecked_at_once(uow: FakeUnitOfWork) -> None:
    await uow.batch_runs.claim(BatchRun.claim(run_id="run-1", practice_id="practice-a", schedule_date=TOMORROW,
                                              trigger="schedule", triggered_by=None, now=NOW))
    recorded = await record_schedule(uow, RULES, RecordSchedule("practice-a", (
        book("appt-9", insurance=INSURANCE), book("appt-10", "pt-nodetails"))), now=NOW)

    assert recorded.rechecks_queued == 1
    (recheck,) = uow.rechecks.rows.values()
    assert (recheck.patient_id, recheck.reason) == ("pt-1", RecheckReason.BOOKED_AFTER_NIGHTLY_RUN)
    (item,) = uow.work_items.open_items()
    assert (item.patient_id, item.kind) == ("pt-nodetails", WorkItemKind.NO_INSURANCE_ON_FILE)
