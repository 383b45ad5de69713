"""HTTP routes of authorizations and credentialing: parse, build the command, call one use case, answer (with a
view). Domain refusals become problem+json in one place (``bootstrap.DOMAIN_ERRORS``)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from rcm_shared.http.audit import AuditEntry, audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.errors import ProblemError
from rcm_shared.http.idempotency import run_idempotent
from rcm_shared.http.schemas import DateOfService, PlainText, PlausibleDate, ProcedureCode, X12Text
from sqlalchemy.ext.asyncio import AsyncSession

from authorizations.domain.commands import ReceiveReviewAnswer, RequestAuthorization
from authorizations.domain.model import VisitFacts
from authorizations.entrypoints.dependencies import AuthorizationsServices, ServicesDep
from authorizations.entrypoints.schemas import (
    ID,
    NPI,
    AuthorizationIn,
    AuthorizationRequestIn,
    ConcurrentReviewIn,
    EnrollmentIn,
    SupervisionIn,
)
from authorizations.service_layer import credentialing, kpi, ledger, renewals, reviews, views, work_queue

router = APIRouter(prefix="/v1", tags=["authorizations"])
Reader = Annotated[Principal, require_scope("authorizations:read")]
Writer = Annotated[Principal, require_scope("authorizations:write")]
MAX_RESPONSE_BYTES = 5 * 1024 * 1024


@router.post("/authorizations", status_code=201, summary="Record (or update, by number) a prior authorization")
async def post_authorization(body: AuthorizationIn, principal: Writer, services: ServicesDep, request: Request,
                             audit: Annotated[AuditEntry, audited("authorization", "write")]) -> JSONResponse:
    command = body.to_command(principal.practice_id)

    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        async with services.uows.joining(session) as uow:
            await ledger.record_authorization(uow, command, rules=services.rules, today=services.clock.today(),
                                              at=services.clock.now())
        audit.object_id = body.number
        view = await views.authorization(session, principal.practice_id, body.number, today=services.clock.today())
        assert view is not None
        return 201, view

    return await run_idempotent(request, services.db, principal, "authorization", create)


@router.get("/patients/{patient_id}/authorizations", dependencies=[audited("authorization")],
            summary="A patient's authorizations with units left")
async def patient_authorizations(patient_id: Annotated[str, Path(pattern=ID, max_length=64)], principal: Reader,
                                 services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        items = await views.patient_authorizations(session, principal.practice_id, patient_id,
                                                   today=services.clock.today())
    return {"patient_id": patient_id, "items": items}


@router.get("/authorization-lookup", summary="Which authorization would cover a visit (for people and tools)",
            description="The visit simulated on the patient's ledger, nothing kept. The claims scrubber does not "
                        "ask: it keeps what visit-authorization-determined says for each visit.")
async def lookup(principal: Reader, services: ServicesDep,
                 audit: Annotated[AuditEntry, audited("authorization", "read")],
                 visit_id: Annotated[str, Query(pattern=ID, max_length=64)],
                 patient_id: Annotated[str, Query(pattern=ID, max_length=64)],
                 payer_id: Annotated[X12Text, Query(min_length=2, max_length=80)], date_of_service: DateOfService,
                 cpt_code: Annotated[ProcedureCode, Query()]) -> dict[str, Any]:
    async with services.uows() as uow:
        answer = await ledger.authorization_lookup(uow, principal.practice_id, visit_id, VisitFacts(
            patient_id, payer_id, date_of_service, cpt_code), rules=services.rules)
    audit.object_id = patient_id
    return {"required": answer.required, "authorization_number": answer.number,
            "missing_reason": answer.missing_reason}


@router.get("/work-queue", dependencies=[audited("authorization")], summary="Missing authorizations and renewals due")
async def get_work_queue(principal: Reader, services: ServicesDep, today: PlausibleDate | None = None
                         ) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await work_queue.open_work(session, principal.practice_id, today or services.clock.today(),
                                          rules=services.rules)


@router.post("/credentialing/enrollments", status_code=201, dependencies=[audited("enrollment", "create")],
             summary="Enroll a clinician with a payer / plan")
async def post_enrollment(body: EnrollmentIn, principal: Writer, services: ServicesDep, request: Request
                          ) -> JSONResponse:
    command = body.to_command(principal.practice_id)

    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        async with services.uows.joining(session) as uow:
            await credentialing.record_enrollment(uow, command, rules=services.rules, today=services.clock.today(),
                                                  at=services.clock.now())
        return 201, body.model_dump(mode="json")

    return await run_idempotent(request, services.db, principal, "enrollment", create)


@router.post("/credentialing/supervisions", status_code=201, dependencies=[audited("supervision", "create")],
             summary="Record a supervision relationship")
async def post_supervision(body: SupervisionIn, principal: Writer, services: ServicesDep, request: Request
                           ) -> JSONResponse:
    command = body.to_command(principal.practice_id)

    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        async with services.uows.joining(session) as uow:
            await credentialing.record_supervision(uow, command, rules=services.rules, today=services.clock.today(),
                                                   at=services.clock.now())
        return 201, body.model_dump(mode="json")

    return await run_idempotent(request, services.db, principal, "supervision", create)


@router.get("/credentialing/check", dependencies=[audited("credentialing", "read")],
            summary="Is this clinician credentialed with this payer on this date?")
async def credentialing_check(principal: Reader, services: ServicesDep,
                              npi: Annotated[str, Query(pattern=NPI)],
                              payer_id: Annotated[X12Text, Query(min_length=2, max_length=80)],
                              date_of_service: DateOfService, plan: Annotated[PlainText, Query(max_length=60)] = "",
                              credential: Annotated[str, Query(pattern=r"^[A-Za-z-]{1,20}$",
                                                               description="the clinician's license (LMSW, LPC-A "
                                                               "...): payers take supervisor billing for some "
                                                               "only")] = ""
                              ) -> dict[str, Any]:
    async with services.uows() as uow:
        decision = await credentialing.credentialing_decision(uow, principal.practice_id, npi, payer_id, plan,
                                                              date_of_service, credential, rules=services.rules)
    # rendering_npi / supervising_npi: the NPIs the 837P must name in 2310B / 2310D (the claim reports these)
    return {"allowed": decision.allowed, "billing_npi": decision.billing_npi, "reason": decision.reason.value,
            "rendering_npi": decision.rendering_npi, "supervising_npi": decision.supervising_npi}


@router.post("/authorization-requests", status_code=201, summary="Request a prior authorization (278 / PAS)",
             description="Sends the request over the payer's channel (X12 278, Da Vinci PAS, or the sandbox), "
                         "reads the answer and records it: approved or modified (the authorization, with its "
                         "number, units and dates, for the unit ledger), denied (with the reason), pended (a "
                         "work-queue item with the day to follow up) or rejected (a work-queue item naming the "
                         "fields to correct).")
async def post_authorization_request(body: AuthorizationRequestIn, principal: Writer, services: ServicesDep,
                                     request: Request,
                                     audit: Annotated[AuditEntry, audited("authorization", "request")]
                                     ) -> JSONResponse:
    command = RequestAuthorization(principal.practice_id, body.patient_id,
                                   body.to_domain(uuid.uuid4().hex[:30].upper()))

    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        recorded = await reviews.request_authorization(services.uows, services.utilization_review, command,
                                                       rules=services.rules, clock=services.clock)
        audit.object_id = body.patient_id
        return 201, await _answer(session, services, principal.practice_id, recorded)

    return await run_idempotent(request, services.db, principal, "authorization-request", create)


@router.post("/authorization-responses", summary="A payer's later answer to a pended review (278 or PAS)",
             description="An unsolicited X12 278 response (application/edi-x12 or text/plain) or a PAS response "
                         "Bundle (application/fhir+json) for a pended request, matched by its trace number and "
                         "recorded like a first answer.",
             openapi_extra={"requestBody": {"content": {"application/edi-x12": {"schema": {"type": "string"}},
                                                        "application/fhir+json": {"schema": {"type": "object"}}}}})
async def post_authorization_response(
        request: Request, principal: Writer, services: ServicesDep,
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
    command = ReceiveReviewAnswer(principal.practice_id, raw.decode("utf-8", "replace"),
                                  "fhir" if kind == "fhir" else "x12")
    async with services.uows() as uow:
        recorded = await reviews.receive_review_answer(uow, command, rules=services.rules, clock=services.clock)
        audit.object_id = recorded.request_id
        answer = await _answer(uow.session, services, principal.practice_id, recorded)
        await audit.record_in(uow.session)
    return answer


async def _answer(session: AsyncSession, services: AuthorizationsServices, practice_id: str,
                  recorded: reviews.RecordedAnswer) -> dict[str, Any]:
    """What the payer's answer did, with the authorization it decided as the patient's list shows it."""
    shown = None
    if recorded.authorization is not None:
        shown = await views.authorization(session, practice_id, recorded.authorization, today=services.clock.today())
    return {**asdict(recorded), "authorization": shown}


@router.post("/concurrent-reviews", status_code=201, summary="Record a concurrent-review submission")
async def post_concurrent_review(body: ConcurrentReviewIn, principal: Writer, services: ServicesDep,
                                 audit: Annotated[AuditEntry, audited("concurrent_review", "create")]
                                 ) -> dict[str, Any]:
    audit.object_id = body.reference
    async with services.uows() as uow:
        created = await renewals.record_concurrent_review(uow, body.to_command(principal.practice_id))
        await audit.record_in(uow.session)
    return {"reference": body.reference, "recorded": created}


@router.get("/reports/coverage", dependencies=[audited("coverage_report")],
            summary="KPI: authorized episodes with uninterrupted coverage, against the goal in the rules")
async def coverage_report(principal: Reader, services: ServicesDep,
                          max_gap_days: Annotated[int | None, Query(
                              ge=1, le=365, description="days without a visit that end an episode (default: the "
                              "rules' episode gap)")] = None) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await kpi.coverage(session, principal.practice_id, services.clock.today(), rules=services.rules,
                                  episode_gap_days=max_gap_days)
