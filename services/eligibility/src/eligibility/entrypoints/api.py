"""HTTP routes of eligibility: parse, build the command, one use-case call, the response. Every route declares
what it touches for the audit trail; domain refusals become problem+json in one place (``bootstrap``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from rcm_shared.http.audit import AuditEntry, audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.idempotency import run_idempotent
from rcm_shared.http.schemas import PlausibleDate, X12Text
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.domain.commands import ResolveWorkItem, RunNightlyBatch
from eligibility.entrypoints.dependencies import ServicesDep
from eligibility.entrypoints.schemas import (
    ID,
    BatchRunIn,
    CoverageCheckIn,
    CoverageCheckOut,
    PatientId,
    RecordId,
    ScheduleIn,
)
from eligibility.service_layer import coverage_checks, nightly_runs, practice_day, schedule, views, work_queue

router = APIRouter(prefix="/v1", tags=["eligibility"])
Reader = Annotated[Principal, require_scope("eligibility:read")]
Writer = Annotated[Principal, require_scope("eligibility:write")]


@router.post("/coverage-checks", status_code=201, response_model=CoverageCheckOut,
             summary="Check a patient's coverage and benefits with the payer (270/271)",
             description="Sends a 270, reads the 271, stores the benefits snapshot and raises eligibility-checked. "
                         "A mental-health carve-out is followed by a check to the named payer.")
async def post_coverage_check(body: CoverageCheckIn, principal: Writer, services: ServicesDep, request: Request,
                              audit: Annotated[AuditEntry, audited("coverage", "check")]) -> JSONResponse:
    command = body.to_command(principal.practice_id)
    audit.object_id = body.patient_id

    async def create(_: AsyncSession) -> tuple[int, CoverageCheckOut]:
        # The key and the audit row commit in run_idempotent's transaction; the check keeps its own (the payer
        # is asked outside any transaction).
        outcome = await coverage_checks.check_coverage(services.uows, services.payer, services.rules.telehealth,
                                                       command, now=services.clock.now())
        return 201, CoverageCheckOut.of(outcome)

    return await run_idempotent(request, services.db, principal, "coverage-check", create)


@router.get("/patients/{patient_id}/coverage", dependencies=[audited("coverage")],
            summary="Stored benefits for a patient (what claims ask)")
async def get_coverage(patient_id: PatientId, principal: Reader, services: ServicesDep,
                       payer_id: Annotated[X12Text | None, Query(max_length=80)] = None,
                       on: Annotated[PlausibleDate | None, Query(description="date of service to judge")] = None,
                       first_visit: Annotated[bool, Query(description="is this the patient's first visit")] = False,
                       ) -> dict[str, Any]:
    today = practice_day.today(services.rules.nightly_batch, services.clock.now())
    return await views.coverage(services.db, services.rules.freshness, principal.practice_id, patient_id, payer_id,
                                on=on, first_visit=first_visit, today=today)


@router.get("/patients/{patient_id}/coverage-checks", dependencies=[audited("coverage_check")],
            summary="History of coverage checks for a patient")
async def get_checks(patient_id: PatientId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    return {"patient_id": patient_id, "checks": await views.checks_for(services.db, principal.practice_id, patient_id)}


@router.get("/session-limit-alerts", dependencies=[audited("session_limit_alert")],
            summary="Work queue: patients nearing or over their yearly session cap")
async def get_session_alerts(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    return {"items": await views.session_limit_alerts(services.db, principal.practice_id)}


# ------------------------------------------------------------------------------------------ the schedule


@router.post("/schedule", summary="Booked visits from the EHR's schedule (feeds the nightly batch)",
             description="Upserts booked or cancelled visits, with the member details when given, and announces "
                         "each new or changed visit on visit-scheduled. A visit booked after its date's nightly batch "
                         "went out is re-checked at once if its benefits are stale.")
async def post_schedule(body: ScheduleIn, principal: Writer, services: ServicesDep,
                        audit: Annotated[AuditEntry, audited("schedule", "write")]) -> dict[str, Any]:
    recorded = await schedule.record_schedule(services.audited(audit), services.rules,
                                              body.to_command(principal.practice_id), now=services.clock.now())
    return {"recorded": recorded.recorded, "rechecks_queued": recorded.rechecks_queued}


# ------------------------------------------------------------------------------------------ the nightly batch


@router.post("/batch-runs", summary="Run the nightly eligibility batch now (operator: testing, catch-up)",
             description="Makes the run the night would make for the practice and schedule date, at most once: if "
                         "it exists nothing new is sent (201 created, 200 existing). On an existing run a failed send "
                         "is retried now and the payer's answers are collected.")
async def post_batch_run(principal: Writer, services: ServicesDep,
                         audit: Annotated[AuditEntry, audited("batch_run", "run")],
                         body: BatchRunIn | None = None) -> JSONResponse:
    started = await nightly_runs.trigger_batch_run(
        services.uows, services.payer, services.rules,
        RunNightlyBatch(principal.practice_id, body.schedule_date if body else None, principal.subject),
        now=services.clock.now())
    audit.object_id = started.run.run_id
    run = await views.batch_run(services.db, principal.practice_id, started.run.run_id)
    return JSONResponse(jsonable_encoder({"created": started.created, "run": run["run"]}),
                        status_code=201 if started.created else 200)


@router.get("/batch-runs", dependencies=[audited("batch_run")],
            summary="Nightly batch runs, newest schedule date first (status, counts, errors)")
async def get_batch_runs(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    return {"items": await views.batch_runs_of(services.db, principal.practice_id)}


@router.get("/batch-runs/{run_id}", dependencies=[audited("batch_run")],
            summary="One nightly batch run and its inquiries")
async def get_batch_run(run_id: RecordId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    return await views.batch_run(services.db, principal.practice_id, run_id)


# ------------------------------------------------------------------------------------------ work queue, re-checks


@router.get("/work-items", dependencies=[audited("eligibility_work_item")],
            summary="Work queue: answers of unattended checks that need a person",
            description="AAA rejections, inactive coverage, payer unavailable, no member details on file ... "
                        "one open item per patient, payer and kind (a repeat counts as an occurrence).")
async def get_work_items(principal: Reader, services: ServicesDep,
                         status: Literal["open", "resolved"] = "open",
                         run_id: Annotated[str | None, Query(max_length=36, pattern=ID)] = None) -> dict[str, Any]:
    return {"items": await views.work_queue(services.db, principal.practice_id, status, run_id=run_id)}


@router.post("/work-items/{item_id}/resolve", summary="Mark a work-queue item done")
async def resolve_work_item(item_id: RecordId, principal: Writer, services: ServicesDep,
                            audit: Annotated[AuditEntry, audited("eligibility_work_item", "resolve")]
                            ) -> dict[str, Any]:
    await work_queue.resolve_work_item(services.audited(audit), ResolveWorkItem(
        principal.practice_id, item_id, principal.subject), now=services.clock.now())
    return await views.work_item(services.db, principal.practice_id, item_id)


@router.get("/rechecks", dependencies=[audited("recheck")],
            summary="Automatic re-checks: queued, sent, failed (after denials, carve-outs ...)")
async def get_rechecks(principal: Reader, services: ServicesDep,
                       status: Literal["pending", "sending", "done", "failed"] | None = None) -> dict[str, Any]:
    return {"items": await views.rechecks(services.db, principal.practice_id, status)}
