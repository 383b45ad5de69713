"""HTTP routes of authorizations and credentialing."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field, model_validator
from rcm_shared.http.audit import AuditEntry, audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.deps import ClockDep, DatabaseDep
from rcm_shared.http.errors import ProblemError
from rcm_shared.http.idempotency import run_idempotent
from rcm_shared.http.schemas import (
    BirthDate,
    DateOfService,
    DiagnosisCode,
    MemberId,
    PlainText,
    PlausibleDate,
    ProcedureCode,
    StrictModel,
    X12Text,
)
from rcm_shared.x12 import X12SyntaxError

from authorizations.adapters.utilization_review import ReviewUnavailable
from authorizations.domain.credentialing import Enrollment, Supervision, SupervisionPolicy
from authorizations.domain.pas import PasFormatError
from authorizations.domain.review_routes import NoReviewRoute
from authorizations.domain.x12_278 import AuthorizationRequest, Dependent, RequestedService
from authorizations.service_layer import handlers

router = APIRouter(prefix="/v1", tags=["authorizations"])
Reader = Annotated[Principal, require_scope("authorizations:read")]
Writer = Annotated[Principal, require_scope("authorizations:write")]
ID = r"^[A-Za-z0-9_.:-]+$"
NPI = r"^[12][0-9]{9}$"
class AuthorizationIn(StrictModel):
    number: str = Field(min_length=1, max_length=50, pattern=ID, examples=["AUTH-2026-0001"])
    patient_id: str = Field(min_length=1, max_length=64, pattern=ID)
    payer_id: X12Text = Field(min_length=2, max_length=80, examples=["SBXHP"])
    cpt_codes: list[ProcedureCode] = Field(min_length=1, max_length=30, examples=[["90834", "90837"]])
    approved_units: int = Field(ge=0, le=1000)
    start: DateOfService
    end: DateOfService
    status: Literal["requested", "approved", "denied"] = "approved"

    @model_validator(mode="after")
    def _dates(self) -> AuthorizationIn:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class EnrollmentIn(StrictModel):
    npi: str = Field(pattern=NPI)
    payer_id: X12Text = Field(min_length=2, max_length=80)
    plan: PlainText = Field(default="", max_length=60, description="empty: every plan of the payer")
    effective_from: PlausibleDate
    effective_to: PlausibleDate | None = None


class SupervisionIn(StrictModel):
    supervisee_npi: str = Field(pattern=NPI)
    supervisor_npi: str = Field(pattern=NPI)
    effective_from: PlausibleDate
    effective_to: PlausibleDate | None = None
    payer_id: X12Text | None = Field(default=None, max_length=80,
                                     description="with allows_supervisor_billing: that payer's policy")
    allows_supervisor_billing: bool | None = None


@router.post("/authorizations", status_code=201, summary="Record (or update, by number) a prior authorization")
async def post_authorization(body: AuthorizationIn, principal: Writer, db: DatabaseDep, request: Request,
                             clock: ClockDep, audit: Annotated[AuditEntry, audited("authorization", "write")]
                             ) -> JSONResponse:
    command = handlers.RecordAuthorization(principal.practice_id, body.number, body.patient_id, body.payer_id,
                                           body.cpt_codes, body.approved_units, body.start, body.end, body.status)

    async def create(session):  # type: ignore[no-untyped-def]
        view = await handlers.record_authorization(session, command, today=clock.today())
        audit.object_id = body.number
        return 201, view

    return await run_idempotent(request, db, principal, "authorization", create)


@router.get("/patients/{patient_id}/authorizations", dependencies=[audited("authorization")],
            summary="A patient's authorizations with units left")
async def patient_authorizations(patient_id: Annotated[str, Path(pattern=ID, max_length=64)], principal: Reader,
                                 db: DatabaseDep, clock: ClockDep) -> dict[str, Any]:
    async with db.transaction() as session:
        items = await handlers.list_for_patient(session, principal.practice_id, patient_id, today=clock.today())
    return {"patient_id": patient_id, "items": items}


@router.get("/authorization-lookup", summary="Which authorization covers a visit (asked by the claims scrubber)")
async def lookup(principal: Reader, db: DatabaseDep, audit: Annotated[AuditEntry, audited("authorization", "read")],
                 visit_id: Annotated[str, Query(pattern=ID, max_length=64)],
                 patient_id: Annotated[str, Query(pattern=ID, max_length=64)],
                 payer_id: Annotated[X12Text, Query(min_length=2, max_length=80)], date_of_service: DateOfService,
                 cpt_code: Annotated[ProcedureCode, Query()]) -> dict[str, Any]:
    async with db.transaction() as session:
        answer = await handlers.authorization_for_visit(session, principal.practice_id, visit_id, patient_id,
                                                        payer_id, date_of_service, cpt_code)
        audit.object_id = patient_id
    return answer


@router.get("/work-queue", dependencies=[audited("authorization")], summary="Missing authorizations and renewals due")
async def work_queue(principal: Reader, db: DatabaseDep, clock: ClockDep,
                     today: PlausibleDate | None = None) -> dict[str, Any]:
    async with db.transaction() as session:
        work = await handlers.open_work(session, principal.practice_id, today or clock.today())
    return work


@router.post("/credentialing/enrollments", status_code=201, dependencies=[audited("enrollment", "create")],
             summary="Enroll a clinician with a payer / plan")
async def post_enrollment(body: EnrollmentIn, principal: Writer, db: DatabaseDep, request: Request) -> JSONResponse:
    async def create(session):  # type: ignore[no-untyped-def]
        try:
            await handlers.add_enrollment(session, principal.practice_id, Enrollment(
                body.npi, body.payer_id, body.plan, body.effective_from, body.effective_to))
        except ValueError as exc:
            raise ProblemError(422, "validation", "Request is invalid", errors=[
                {"field": "body.effective_to", "code": "order", "message": str(exc)}]) from exc
        return 201, body.model_dump(mode="json")

    return await run_idempotent(request, db, principal, "enrollment", create)


@router.post("/credentialing/supervisions", status_code=201, dependencies=[audited("supervision", "create")],
             summary="Record a supervision relationship")
async def post_supervision(body: SupervisionIn, principal: Writer, db: DatabaseDep, request: Request) -> JSONResponse:
    policy = (SupervisionPolicy(body.payer_id, body.allows_supervisor_billing, body.effective_from, body.effective_to)
              if body.payer_id and body.allows_supervisor_billing is not None else None)

    async def create(session):  # type: ignore[no-untyped-def]
        try:
            await handlers.add_supervision(session, principal.practice_id, Supervision(
                body.supervisee_npi, body.supervisor_npi, body.effective_from, body.effective_to), policy)
        except ValueError as exc:
            raise ProblemError(422, "validation", "Request is invalid", errors=[
                {"field": "body.supervisor_npi", "code": "invalid", "message": str(exc)}]) from exc
        return 201, body.model_dump(mode="json")

    return await run_idempotent(request, db, principal, "supervision", create)


@router.get("/credentialing/check", dependencies=[audited("credentialing", "read")],
            summary="Is this clinician credentialed with this payer on this date?")
async def credentialing_check(principal: Reader, db: DatabaseDep,
                              npi: Annotated[str, Query(pattern=NPI)],
                              payer_id: Annotated[X12Text, Query(min_length=2, max_length=80)],
                              date_of_service: DateOfService, plan: Annotated[PlainText, Query(max_length=60)] = "",
                              credential: Annotated[str, Query(pattern=r"^[A-Za-z-]{1,20}$",
                                                               description="the clinician's license (LMSW, LPC-A "
                                                               "...): payers take supervisor billing for some "
                                                               "only")] = ""
                              ) -> dict[str, Any]:
    async with db.sessions() as session:
        decision = await handlers.check_credentialing(session, principal.practice_id, npi, payer_id, plan,
                                                      date_of_service, credential)
    # rendering_npi / supervising_npi: the NPIs the 837P must name in 2310B / 2310D (the claim reports these)
    return {"allowed": decision.allowed, "billing_npi": decision.billing_npi, "reason": decision.reason.value,
            "rendering_npi": decision.rendering_npi, "supervising_npi": decision.supervising_npi}



class RequestedServiceIn(StrictModel):
    cpt_code: ProcedureCode
    units: int = Field(ge=1, le=500)


class DependentIn(StrictModel):
    """The patient, when they are not the subscriber (a child on a parent's plan)."""

    first_name: X12Text = Field(min_length=1, max_length=35)
    last_name: X12Text = Field(min_length=1, max_length=60)
    birth_date: BirthDate | None = None
    gender: Literal["F", "M", "U"] | None = None
    relationship: Literal["01", "19", "34"] = Field(default="19", description="01 spouse, 19 child, 34 other adult")


class AuthorizationRequestIn(StrictModel):
    """Ask the payer for a prior authorization (X12 278 or Da Vinci PAS, whichever the payer is routed to)."""

    patient_id: str = Field(min_length=1, max_length=64, pattern=ID)
    payer_id: X12Text = Field(min_length=2, max_length=80, examples=["SBXHP"])
    payer_name: X12Text = Field(min_length=1, max_length=60)
    requester_npi: str = Field(pattern=NPI)
    requester_name: X12Text = Field(min_length=1, max_length=60)
    member_id: MemberId
    subscriber_first_name: X12Text = Field(min_length=1, max_length=35)
    subscriber_last_name: X12Text = Field(min_length=1, max_length=60)
    subscriber_birth_date: BirthDate | None = None
    subscriber_gender: Literal["F", "M", "U"] | None = None
    dependent: DependentIn | None = None
    rendering_npi: str = Field(pattern=NPI)
    rendering_first_name: X12Text = Field(min_length=1, max_length=35)
    rendering_last_name: X12Text = Field(min_length=1, max_length=60)
    diagnoses: list[DiagnosisCode] = Field(min_length=1, max_length=12, examples=[["F41.1"]])
    services: list[RequestedServiceIn] = Field(min_length=1, max_length=20)
    start: DateOfService
    end: DateOfService
    certification_type: Literal["I", "R", "4", "S"] = Field(
        default="I", description="I initial, R renewal, 4 extension, S revision (UM02)")
    previous_authorization_number: str | None = Field(
        default=None, min_length=1, max_length=50, pattern=ID, description="the certification an extension, "
        "renewal or revision is for (REF*BB)")

    @model_validator(mode="after")
    def _dates(self) -> AuthorizationRequestIn:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self

    def to_domain(self, trace_number: str) -> AuthorizationRequest:
        dependent = None
        if self.dependent is not None:
            d = self.dependent
            dependent = Dependent(d.last_name, d.first_name, d.birth_date, d.gender or "", d.relationship)
        return AuthorizationRequest(
            payer_id=self.payer_id, payer_name=self.payer_name, requester_npi=self.requester_npi,
            requester_name=self.requester_name, member_id=self.member_id,
            subscriber_last_name=self.subscriber_last_name, subscriber_first_name=self.subscriber_first_name,
            subscriber_birth_date=self.subscriber_birth_date, subscriber_gender=self.subscriber_gender or "",
            rendering_npi=self.rendering_npi, rendering_last_name=self.rendering_last_name,
            rendering_first_name=self.rendering_first_name,
            diagnosis_codes=tuple(d.replace(".", "").upper() for d in self.diagnoses),
            services=tuple(RequestedService(s.cpt_code, s.units) for s in self.services), start=self.start,
            end=self.end, trace_number=trace_number, certification_type=self.certification_type,
            dependent=dependent, previous_authorization_number=self.previous_authorization_number or "")


@router.post("/authorization-requests", status_code=201, summary="Request a prior authorization (278 / PAS)",
             description="Sends the request over the payer's channel (X12 278, Da Vinci PAS, or the sandbox), "
                         "reads the answer and records it: approved or modified (the authorization, with its "
                         "number, units and dates, for the unit ledger), denied (with the reason), pended (a "
                         "work-queue item with the day to follow up) or rejected (a work-queue item naming the "
                         "fields to correct).")
async def post_authorization_request(body: AuthorizationRequestIn, principal: Writer, db: DatabaseDep,
                                     request: Request, clock: ClockDep,
                                     audit: Annotated[AuditEntry, audited("authorization", "request")]
                                     ) -> JSONResponse:
    command = handlers.RequestAuthorization(principal.practice_id, body.patient_id,
                                            body.to_domain(uuid.uuid4().hex[:30].upper()))

    async def create(session):  # type: ignore[no-untyped-def]
        try:
            outcome = await handlers.request_authorization(db, request.app.state.utilization_review,
                                                           request.app.state.review_routes, command, clock=clock)
        except ReviewUnavailable as exc:
            raise ProblemError(503, "payer-unavailable", "The payer did not answer; try again later",
                               extra={"error_code": exc.error_code}) from exc
        except NoReviewRoute as exc:
            raise ProblemError(422, "no-review-route", "No prior-authorization channel for this payer", errors=[
                {"field": "body.payer_id", "code": "no_route", "message": str(exc)}]) from exc
        except ValueError as exc:  # X12ValueError: names the segment and element, never the value
            raise ProblemError(422, "unsendable-request", "The request cannot be sent", str(exc)) from exc
        audit.object_id = body.patient_id
        return 201, outcome

    return await run_idempotent(request, db, principal, "authorization-request", create)


MAX_RESPONSE_BYTES = 5 * 1024 * 1024


@router.post("/authorization-responses", summary="A payer's later answer to a pended review (278 or PAS)",
             description="An unsolicited X12 278 response (application/edi-x12 or text/plain) or a PAS response "
                         "Bundle (application/fhir+json) for a pended request, matched by its trace number and "
                         "recorded like a first answer.",
             openapi_extra={"requestBody": {"content": {"application/edi-x12": {"schema": {"type": "string"}},
                                                        "application/fhir+json": {"schema": {"type": "object"}}}}})
async def post_authorization_response(
        request: Request, principal: Writer, db: DatabaseDep, clock: ClockDep,
        audit: Annotated[AuditEntry, audited("authorization_request", "write")]) -> dict[str, Any]:
    media = request.headers.get("content-type", "")
    if media.startswith(("application/fhir+json", "application/json")):
        kind = "fhir"
    elif media.startswith(("application/edi-x12", "text/plain")):
        kind = "x12"
    else:
        raise ProblemError(415, "unsupported-media-type", "Send a 278 response as application/edi-x12 or a PAS "
                           "response Bundle as application/fhir+json")
    raw = await request.body()
    if not raw.strip() or len(raw) > MAX_RESPONSE_BYTES:
        raise ProblemError(422, "validation", "Request is invalid", errors=[
            {"field": "body", "code": "size", "message": f"must be 1 to {MAX_RESPONSE_BYTES} bytes"}])
    async with db.transaction() as session:
        try:
            outcome = await handlers.receive_review_response(session, request.app.state.review_routes,
                                                             principal.practice_id, raw.decode("utf-8", "replace"),
                                                             kind, clock=clock)
        except X12SyntaxError as exc:
            raise ProblemError(422, "unreadable-response", "The 278 response cannot be read", extra={
                "location": {k: v for k, v in exc.as_dict().items() if k != "message"}, "detail": exc.message}
            ) from exc
        except PasFormatError as exc:
            raise ProblemError(422, "unreadable-response", "The PAS response cannot be read", str(exc)) from exc
        except handlers.UnknownTrace as exc:
            raise ProblemError(404, "not-found", "No authorization request answers to this trace number") from exc
        except handlers.ReviewConflict as exc:
            raise ProblemError(409, "review-decided", "The review is already decided", str(exc)) from exc
        audit.object_id = outcome["request_id"]
        await audit.record_in(session)
    return outcome


class ConcurrentReviewIn(StrictModel):
    reference: str = Field(min_length=1, max_length=60, pattern=ID)
    authorization_number: str = Field(min_length=1, max_length=50, pattern=ID)
    submitted_on: PlausibleDate
    requested_units: int = Field(ge=1, le=1000)
    requested_end: DateOfService


@router.post("/concurrent-reviews", status_code=201, summary="Record a concurrent-review submission")
async def post_concurrent_review(body: ConcurrentReviewIn, principal: Writer, db: DatabaseDep,
                                 audit: Annotated[AuditEntry, audited("concurrent_review", "create")]
                                 ) -> dict[str, Any]:
    audit.object_id = body.reference
    async with db.transaction() as session:
        created = await handlers.record_concurrent_review(session, principal.practice_id, body.reference,
                                                          body.authorization_number, body.submitted_on,
                                                          body.requested_units, body.requested_end)
        await audit.record_in(session)
    return {"reference": body.reference, "recorded": created}


@router.get("/reports/coverage", dependencies=[audited("coverage_report")],
            summary="KPI: authorized episodes with uninterrupted coverage (target 97 %)")
async def coverage_report(principal: Reader, db: DatabaseDep,
                          max_gap_days: Annotated[int, Query(ge=1, le=365)] = 45) -> dict[str, Any]:
    async with db.sessions() as session:
        return await handlers.coverage_kpi(session, principal.practice_id, max_gap_days)



class BookedVisitIn(StrictModel):
    visit_id: str = Field(min_length=1, max_length=64, pattern=ID, description="the EHR's appointment id")
    patient_id: str = Field(min_length=1, max_length=64, pattern=ID)
    payer_id: X12Text = Field(min_length=2, max_length=80)
    service_date: DateOfService
    cpt_code: ProcedureCode
    cancelled: bool = False


class ScheduleIn(StrictModel):
    visits: list[BookedVisitIn] = Field(min_length=1, max_length=5000)


@router.post("/schedule", summary="Booked visits from the EHR's schedule (feeds the exhaustion forecast)")
async def post_schedule(body: ScheduleIn, principal: Writer, db: DatabaseDep,
                        audit: Annotated[AuditEntry, audited("schedule", "write")]) -> dict[str, Any]:
    async with db.transaction() as session:
        count = await handlers.record_schedule(session, principal.practice_id, [
            handlers.BookedVisit(v.visit_id, v.patient_id, v.payer_id, v.service_date, v.cpt_code, v.cancelled)
            for v in body.visits])
        await audit.record_in(session)
    return {"recorded": count}
