"""HTTP routes of eligibility: parse, call one service-layer function, return. Patient data is audited."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from rcm_shared.http.audit import AuditEntry, audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.deps import ClockDep, DatabaseDep
from rcm_shared.http.errors import ProblemError
from rcm_shared.http.idempotency import run_idempotent
from rcm_shared.http.schemas import BirthDate, DateOfService, PlausibleDate, StrictModel, X12Text
from rcm_shared.x12.envelope import InterchangeParties

from eligibility.adapters.payer_gateway import BatchPayerGateway, PayerUnavailable
from eligibility.domain.model import Member, PayerRef, ProviderRef
from eligibility.service_layer import batch_runs, handlers, practice_day, rechecks, schedule, work_queue

router = APIRouter(prefix="/v1", tags=["eligibility"])
Reader = Annotated[Principal, require_scope("eligibility:read")]
Writer = Annotated[Principal, require_scope("eligibility:write")]
ID = r"^[A-Za-z0-9_.:-]+$"
PatientId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID)]
RecordId = Annotated[str, Path(min_length=1, max_length=36, pattern=ID)]
ServiceType = Literal["30", "MH", "A4", "A6", "A8", "AI", "98"]
class MemberIn(StrictModel):
    first_name: X12Text = Field(min_length=1, max_length=35, examples=["ALEX"])
    last_name: X12Text = Field(min_length=1, max_length=60, examples=["SAMPLE"])
    birth_date: BirthDate | None = Field(default=None, examples=["1988-04-12"])
    member_id: X12Text = Field(default="", max_length=80, examples=["SBX000001"])
    gender: Literal["F", "M", "U", ""] = ""

    def to_domain(self) -> Member:
        return Member(last_name=self.last_name, first_name=self.first_name, birth_date=self.birth_date,
                      member_id=self.member_id, gender=self.gender)


class CoverageCheckIn(StrictModel):
    patient_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", examples=["pt-1001"])
    payer_id: X12Text = Field(min_length=2, max_length=80, examples=["SBXHP"])
    payer_name: X12Text = Field(default="", max_length=60, examples=["SANDBOX HEALTH PLAN"])
    provider_npi: str = Field(pattern=r"^[12][0-9]{9}$", examples=["1234567893"])
    provider_name: X12Text = Field(min_length=1, max_length=60, examples=["RIVERSIDE COUNSELING"])
    subscriber: MemberIn
    dependent: MemberIn | None = None
    service_date: DateOfService
    service_types: list[ServiceType] | None = None


class CoverageCheckOut(BaseModel):
    check_id: str
    results: list[dict[str, Any]]
    follow_up_check_ids: list[str]
    unreadable_response: dict[str, Any] | None = Field(
        default=None, description="Set when the payer's answer was not a readable 271 (where it broke)")


def _parties(request: Request) -> InterchangeParties:
    parties: InterchangeParties = request.app.state.parties
    return parties


@router.post("/coverage-checks", status_code=201, response_model=CoverageCheckOut,
             summary="Check a patient's coverage and benefits with the payer (270/271)",
             description="Sends a 270, reads the 271, stores the benefits snapshot and raises eligibility-checked. "
                         "A mental-health carve-out is followed by a check to the named payer.")
async def post_coverage_check(body: CoverageCheckIn, principal: Writer, db: DatabaseDep, request: Request,
                              audit: Annotated[AuditEntry, audited("coverage", "check")]) -> JSONResponse:
    command = handlers.CheckCoverage(
        practice_id=principal.practice_id, patient_id=body.patient_id,
        payer=PayerRef(body.payer_id, body.payer_name or body.payer_id),
        provider=ProviderRef(body.provider_npi, body.provider_name), subscriber=body.subscriber.to_domain(),
        dependent=body.dependent.to_domain() if body.dependent else None, service_date=body.service_date,
        service_types=tuple(body.service_types) if body.service_types else None)
    gateway = request.app.state.payer_gateway
    audit.object_id = body.patient_id

    async def create(session):  # type: ignore[no-untyped-def]
        try:
            outcome = await handlers.check_coverage(db, gateway, _parties(request), command)
        except PayerUnavailable as exc:
            raise ProblemError(503, "payer-unavailable", "The payer did not answer; try again later") from exc
        except ValueError as exc:  # the 270 could not be built from these values
            raise ProblemError(422, "unsendable-request", "The inquiry cannot be sent", str(exc)) from exc
        return 201, CoverageCheckOut(check_id=outcome.check_id, results=[r.to_dict() for r in outcome.results],
                                     follow_up_check_ids=outcome.follow_up_check_ids,
                                     unreadable_response=outcome.unreadable_response)

    return await run_idempotent(request, db, principal, "coverage-check", create)


@router.get("/patients/{patient_id}/coverage", dependencies=[audited("coverage")],
            summary="Stored benefits for a patient (what claims ask)")
async def get_coverage(patient_id: PatientId, principal: Reader, db: DatabaseDep, clock: ClockDep,
                       payer_id: Annotated[X12Text | None, Query(max_length=80)] = None,
                       on: Annotated[PlausibleDate | None, Query(description="date of service to judge")] = None,
                       first_visit: Annotated[bool, Query(description="is this the patient's first visit")] = False,
                       ) -> dict[str, Any]:
    async with db.transaction() as session:
        rows = await handlers.coverage_on(session, principal.practice_id, patient_id, payer_id)
    if not rows:
        raise ProblemError(404, "not-found", "No stored benefits for this patient")
    today = practice_day.today(clock.now())
    items = [handlers.coverage_view(row, on, first_visit=first_visit, today=today) for row in rows]
    return {"patient_id": patient_id, "coverage": items}


@router.get("/patients/{patient_id}/coverage-checks", dependencies=[audited("coverage_check")],
            summary="History of coverage checks for a patient")
async def get_checks(patient_id: PatientId, principal: Reader, db: DatabaseDep) -> dict[str, Any]:
    async with db.transaction() as session:
        rows = await handlers.checks_for(session, principal.practice_id, patient_id)
    return {"patient_id": patient_id, "checks": rows}


@router.get("/session-limit-alerts", dependencies=[audited("session_limit_alert")],
            summary="Work queue: patients nearing or over their yearly session cap")
async def get_session_alerts(principal: Reader, db: DatabaseDep) -> dict[str, Any]:
    async with db.transaction() as session:
        rows = await handlers.open_session_alerts(session, principal.practice_id)
    return {"items": rows}


# ------------------------------------------------------------------------------------------ the schedule


class SubscriberIn(MemberIn):
    member_id: X12Text = Field(min_length=1, max_length=80, examples=["SBX000001"])


class InsuranceIn(StrictModel):
    """The member as the payer knows them, so the nightly batch can ask without the front desk."""

    payer_name: X12Text = Field(default="", max_length=60, examples=["SANDBOX HEALTH PLAN"])
    provider_npi: str = Field(pattern=r"^[12][0-9]{9}$", examples=["1234567893"])
    provider_name: X12Text = Field(min_length=1, max_length=60, examples=["RIVERSIDE COUNSELING"])
    subscriber: SubscriberIn
    dependent: MemberIn | None = None


class ScheduledVisitIn(StrictModel):
    visit_id: str = Field(min_length=1, max_length=64, pattern=ID, description="the EHR's appointment id")
    patient_id: str = Field(min_length=1, max_length=64, pattern=ID)
    payer_id: X12Text = Field(min_length=2, max_length=80)
    service_date: DateOfService
    cancelled: bool = False
    first_visit: bool | None = Field(default=None, description="the patient's first visit with this payer; "
                                     "left out: worked out from the visits this service has seen")
    insurance: InsuranceIn | None = None


class ScheduleIn(StrictModel):
    visits: list[ScheduledVisitIn] = Field(min_length=1, max_length=5000)


def _entry(visit: ScheduledVisitIn) -> schedule.ScheduleEntry:
    insurance = None
    if visit.insurance is not None:
        given = visit.insurance
        insurance = schedule.InsuranceDetails(
            payer=PayerRef(visit.payer_id, given.payer_name or visit.payer_id),
            provider=ProviderRef(given.provider_npi, given.provider_name), subscriber=given.subscriber.to_domain(),
            dependent=given.dependent.to_domain() if given.dependent else None)
    return schedule.ScheduleEntry(visit.visit_id, visit.patient_id, visit.payer_id, visit.service_date,
                                  visit.cancelled, visit.first_visit, insurance)


@router.post("/schedule", summary="Booked visits from the EHR's schedule (feeds the nightly batch)",
             description="Upserts booked or cancelled visits, with the member details when given. A visit booked "
                         "after its date's nightly batch went out is re-checked at once if its benefits are stale.")
async def post_schedule(body: ScheduleIn, principal: Writer, db: DatabaseDep, clock: ClockDep,
                        audit: Annotated[AuditEntry, audited("schedule", "write")]) -> dict[str, Any]:
    async with db.transaction() as session:
        recorded = await schedule.record_schedule(session, principal.practice_id, [_entry(v) for v in body.visits],
                                                  source="ehr", now=clock.now())
        await audit.record_in(session)
    return {"recorded": recorded.recorded, "rechecks_queued": recorded.rechecks_queued}


# ------------------------------------------------------------------------------------------ the nightly batch


class BatchRunIn(StrictModel):
    schedule_date: PlausibleDate | None = Field(default=None, description="the visits' date, from today to the next "
                                       "schedule date; left out: the next schedule date (tomorrow's, by the rules' "
                                       "time zone)")


def _batch_gateway(request: Request) -> BatchPayerGateway:
    gateway = request.app.state.payer_gateway
    if not isinstance(gateway, BatchPayerGateway):
        raise ProblemError(409, "batch-unsupported", "The configured payer gateway has no batch mode")
    return gateway


@router.post("/batch-runs", summary="Run the nightly eligibility batch now (operator: testing, catch-up)",
             description="Makes the run the night would make for the practice and schedule date, at most once: if "
                         "it exists nothing new is sent (201 created, 200 existing). On an existing run a failed send "
                         "is retried now and the payer's answers are collected.")
async def post_batch_run(principal: Writer, db: DatabaseDep, request: Request, clock: ClockDep,
                         audit: Annotated[AuditEntry, audited("batch_run", "run")],
                         body: BatchRunIn | None = None) -> JSONResponse:
    gateway = _batch_gateway(request)
    try:
        started = await batch_runs.trigger_batch_run(db, gateway, _parties(request), principal.practice_id,
                                                     body.schedule_date if body else None,
                                                     triggered_by=principal.subject, now=clock.now())
    except batch_runs.ScheduleDateOutOfReach as exc:
        raise ProblemError(422, "validation", "Request is invalid", errors=[
            {"field": "body.schedule_date", "code": "out_of_range", "message": str(exc)}]) from exc
    except practice_day.UnknownTimeZone as exc:
        raise ProblemError(503, "batch-misconfigured", "The nightly batch cannot tell the time here",
                           "the rules' time zone is unknown to this server") from exc
    audit.object_id = str(started.run["run_id"])
    return JSONResponse(jsonable_encoder({"created": started.created, "run": started.run}),
                        status_code=201 if started.created else 200)


@router.get("/batch-runs", dependencies=[audited("batch_run")],
            summary="Nightly batch runs, newest schedule date first (status, counts, errors)")
async def get_batch_runs(principal: Reader, db: DatabaseDep) -> dict[str, Any]:
    async with db.sessions() as session:
        return {"items": await batch_runs.list_runs(session, principal.practice_id)}


@router.get("/batch-runs/{run_id}", dependencies=[audited("batch_run")],
            summary="One nightly batch run and its inquiries")
async def get_batch_run(run_id: RecordId, principal: Reader, db: DatabaseDep) -> dict[str, Any]:
    async with db.transaction() as session:
        run = await batch_runs.get_run(session, principal.practice_id, run_id)
        inquiries = await batch_runs.run_inquiries(session, principal.practice_id, run_id) if run else []
    if run is None:
        raise ProblemError(404, "not-found", "No such batch run")
    return {"run": run, "inquiries": inquiries}


# ------------------------------------------------------------------------------------------ work queue, re-checks


@router.get("/work-items", dependencies=[audited("eligibility_work_item")],
            summary="Work queue: answers of unattended checks that need a person",
            description="AAA rejections, inactive coverage, payer unavailable, no member details on file ... "
                        "one open item per patient, payer and kind (a repeat counts as an occurrence).")
async def get_work_items(principal: Reader, db: DatabaseDep,
                         status: Literal["open", "resolved"] = "open",
                         run_id: Annotated[str | None, Query(max_length=36, pattern=ID)] = None) -> dict[str, Any]:
    async with db.transaction() as session:
        items = await work_queue.list_work_items(session, principal.practice_id, status, run_id=run_id)
    return {"items": items}


@router.post("/work-items/{item_id}/resolve", summary="Mark a work-queue item done")
async def resolve_work_item(item_id: RecordId, principal: Writer, db: DatabaseDep,
                            audit: Annotated[AuditEntry, audited("eligibility_work_item", "resolve")]
                            ) -> dict[str, Any]:
    async with db.transaction() as session:
        item = await work_queue.resolve_work_item(session, principal.practice_id, item_id, principal.subject)
        if item is not None:
            await audit.record_in(session)
    if item is None:
        raise ProblemError(404, "not-found", "No such work item")
    return item


@router.get("/rechecks", dependencies=[audited("recheck")],
            summary="Automatic re-checks: queued, sent, failed (after denials, carve-outs ...)")
async def get_rechecks(principal: Reader, db: DatabaseDep,
                       status: Literal["pending", "sending", "done", "failed"] | None = None) -> dict[str, Any]:
    async with db.transaction() as session:
        items = await rechecks.list_rechecks(session, principal.practice_id, status)
    return {"items": items}
