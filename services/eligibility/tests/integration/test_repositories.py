"""Repositories on real PostgreSQL: the nightly run saved only by whoever loaded it last unchanged, and the session
limits of many members read in a few statements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from eligibility.adapters.orm import metadata, platform
from eligibility.bootstrap import MIGRATIONS
from eligibility.config import EligibilitySettings
from eligibility.domain.model import (
    BatchInquiry,
    BatchRun,
    BatchRunStatus,
    BenefitsOnFile,
    CompletedVisit,
    InquiryStatus,
    RunCounts,
)
from eligibility.service_layer.unit_of_work import units_of_work
from rcm_shared.db.database import Database
from rcm_shared.db.migrations import upgrade_to_head

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 3, 0, 30, tzinfo=UTC)


@pytest.fixture
async def db(databases: Any) -> AsyncIterator[Database]:
    database = Database(EligibilitySettings(database_url=databases.create("elig-repo")), metadata, platform)
    await upgrade_to_head(database.engine, MIGRATIONS)
    yield database
    await database.dispose()


async def test_a_run_is_claimed_once_and_saved_only_by_whoever_loaded_it_unchanged(db: Database) -> None:
    uows = units_of_work(db)
    run = BatchRun.claim(run_id="run-1", practice_id="practice-a", schedule_date=date(2026, 12, 3),
                         trigger="schedule", triggered_by=None, now=NOW)
    async with uows() as uow:
        assert await uow.batch_runs.claim(run)
        run.ready_to_send([BatchInquiry("T1", "practice-a", "pt-1", "SBXHP", date(2026, 12, 3), ("stale",),
                                        ("appt-1",), "ST*270*0001~")], RunCounts(1, 0, 0, 0, 0),
                          payload_id="p-1", interchange_control_number=3, request_x12="ISA*270", now=NOW)
        assert await uow.batch_runs.save(run)
    async with uows() as uow:
        again = BatchRun.claim(run_id="run-2", practice_id="practice-a", schedule_date=date(2026, 12, 3),
                               trigger="operator", triggered_by="op", now=NOW)
        assert not await uow.batch_runs.claim(again), "one run per practice and night"
        assert (await uow.batch_runs.find("practice-a", date(2026, 12, 3))).run_id == "run-1"  # type: ignore[union-attr]

    # Two replicas load the same sending run; the first to save moves it, the other finds it moved.
    async with uows() as second:
        theirs = await second.batch_runs.get("run-1", with_inquiries=True)
        async with uows() as first:
            mine = await first.batch_runs.get("run-1")
            assert mine is not None
            mine.submitted(NOW)
            assert await first.batch_runs.save(mine)
        assert theirs is not None
        theirs.send_failed("HTTP503", None, NOW)
        assert not await second.batch_runs.save(theirs), "moved since it was loaded: not this replica's"

    async with uows() as uow:
        run = await uow.batch_runs.get("run-1", lock=True, with_inquiries=True)
        assert run is not None and (run.status, run.attempts) == (BatchRunStatus.SUBMITTED, 1)
        run.complete({"T1": "chk-1"}, "ISA*271*SAM\x00PLE", NOW)
        assert await uow.batch_runs.save(run)
    async with uows() as uow:
        stored = await uow.batch_runs.get("run-1", with_inquiries=True)
    assert stored is not None and stored.status is BatchRunStatus.COMPLETED
    assert stored.response_x12 == "ISA*271*SAM\ufffdPLE", "a NUL the database cannot keep is replaced"
    assert [(i.status, i.check_id) for i in stored.inquiries] == [(InquiryStatus.ANSWERED, "chk-1")]


async def test_session_limits_of_a_poll_are_read_for_every_member_at_once(db: Database) -> None:
    uows = units_of_work(db)
    members = [("practice-a", f"pt-{n}", "SBXHP") for n in range(50)]
    async with uows() as uow:
        await uow.benefits.save([BenefitsOnFile(p, patient, payer, f"chk-{patient}", True, date(2026, 1, 5), None,
                                                None, {}, 20 if patient != "pt-0" else None, None, None, NOW)
                                 for p, patient, payer in members])
        await uow.session_limits.record_visits([CompletedVisit(p, f"v-{patient}-{k}", patient, payer,
                                                               date(2026, 3, k + 1))
                                                for p, patient, payer in members for k in range(3)])
        await uow.session_limits.record_visits([CompletedVisit("practice-a", "v-pt-1-9", "pt-1", "SBXHP",
                                                               date(2026, 3, 9), replaces_visit_id="v-pt-1-0")])
    async with uows() as uow:
        limits = await uow.session_limits.limits_for(await uow.benefits.get_many(members))
        seen = await uow.session_limits.patients_seen("practice-a", ["pt-1", "pt-nobody"])
    assert len(limits) == 49, "no cap on file, nothing to count against"
    assert len(limits[("practice-a", "pt-2", "SBXHP")].visits) == 3
    assert set(limits[("practice-a", "pt-1", "SBXHP")].visits) == {"v-pt-1-1", "v-pt-1-2", "v-pt-1-9"}
    assert seen == {("pt-1", "SBXHP")}
