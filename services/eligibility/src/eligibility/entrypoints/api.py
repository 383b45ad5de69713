"""HTTP routes of eligibility: parse, call one service-layer function, return. Patient data is audited."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from rcm_shared.http.audit import record_audit
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.deps import DatabaseDep, RequestIdDep
from rcm_shared.http.errors import ProblemError
from rcm_shared.http.idempotency import run_idempotent
from rcm_shared.http.schemas import StrictModel
from rcm_shared.x12.envelope import InterchangeParties

from eligibility.adapters.orm import platform
from eligibility.adapters.payer_gateway import PayerUnavailable
from eligibility.domain.model import Member, PayerRef, ProviderRef
from eligibility.service_layer import handlers

SERVICE = "eligibility"
router = APIRouter(prefix="/v1", tags=["eligibility"])
Reader = Annotated[Principal, require_scope("eligibility:read")]
Writer = Annotated[Principal, require_scope("eligibility:write")]
PatientId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
ServiceType = Literal["30", "MH", "A4", "A6", "A8", "AI", "98"]


class MemberIn(StrictModel):
    first_name: str = Field(min_length=1, max_length=35, examples=["ALEX"])
    last_name: str = Field(min_length=1, max_length=60, examples=["SAMPLE"])
    birth_date: date | None = Field(default=None, examples=["1988-04-12"])
    member_id: str = Field(default="", max_length=80, examples=["SBX000001"])
    gender: Literal["F", "M", "U", ""] = ""

    def to_domain(self) -> Member:
        return Member(last_name=self.last_name, first_name=self.first_name, birth_date=self.birth_date,
                      member_id=self.member_id, gender=self.gender)


class CoverageCheckIn(StrictModel):
    patient_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", examples=["pt-1001"])
    payer_id: str = Field(min_length=2, max_length=80, examples=["SBXHP"])
    payer_name: str = Field(default="", max_length=60, examples=["SANDBOX HEALTH PLAN"])
    provider_npi: str = Field(pattern=r"^[12][0-9]{9}$", examples=["1234567893"])
    provider_name: str = Field(min_length=1, max_length=60, examples=["RIVERSIDE COUNSELING"])
    subscriber: MemberIn
    dependent: MemberIn | None = None
    service_date: date
    service_types: list[ServiceType] | None = None


class CoverageCheckOut(BaseModel):
    check_id: str
    results: list[dict[str, Any]]
    follow_up_check_ids: list[str]
    unreadable_response: dict[str, Any] | None = Field(
        default=None, description="Set when the payer's answer was not a readable 271 (where it broke)")


def _parties(request: Request) -> InterchangeParties:
    settings = request.app.state.settings
    return InterchangeParties(sender_id=settings.submitter_id, receiver_id=settings.receiver_id,
                              trace_originator="9RCMPLATFM")


@router.post("/coverage-checks", status_code=201, response_model=CoverageCheckOut,
             summary="Check a patient's coverage and benefits with the payer (270/271)",
             description="Sends a 270, reads the 271, stores the benefits snapshot and raises eligibility-checked. "
                         "A mental-health carve-out is followed by a check to the named payer.")
async def post_coverage_check(body: CoverageCheckIn, principal: Writer, db: DatabaseDep, request: Request,
                              request_id: RequestIdDep) -> JSONResponse:
    command = handlers.CheckCoverage(
        practice_id=principal.practice_id, patient_id=body.patient_id,
        payer=PayerRef(body.payer_id, body.payer_name or body.payer_id),
        provider=ProviderRef(body.provider_npi, body.provider_name), subscriber=body.subscriber.to_domain(),
        dependent=body.dependent.to_domain() if body.dependent else None, service_date=body.service_date,
        service_types=tuple(body.service_types) if body.service_types else None)
    gateway = request.app.state.payer_gateway

    async def create(session):  # type: ignore[no-untyped-def]
        try:
            outcome = await handlers.check_coverage(db, gateway, _parties(request), command)
        except PayerUnavailable as exc:
            raise ProblemError(503, "payer-unavailable", "The payer did not answer; try again later") from exc
        except ValueError as exc:  # the 270 could not be built from these values
            raise ProblemError(422, "unsendable-request", "The inquiry cannot be sent", str(exc)) from exc
        await record_audit(session, platform, principal, service=SERVICE, action="check", object_type="coverage",
                           object_id=body.patient_id, request_id=request_id)
        return 201, CoverageCheckOut(check_id=outcome.check_id, results=[r.to_dict() for r in outcome.results],
                                     follow_up_check_ids=outcome.follow_up_check_ids,
                                     unreadable_response=outcome.unreadable_response)

    return await run_idempotent(request, db, principal, "coverage-check", create)


@router.get("/patients/{patient_id}/coverage", summary="Stored benefits for a patient (what claims ask)")
async def get_coverage(patient_id: PatientId, principal: Reader, db: DatabaseDep, request_id: RequestIdDep,
                       payer_id: str | None = None,
                       on: Annotated[date | None, Query(description="date of service to judge")] = None,
                       first_visit: Annotated[bool, Query(description="is this the patient's first visit")] = False,
                       ) -> dict[str, Any]:
    async with db.transaction() as session:
        rows = await handlers.coverage_on(session, principal.practice_id, patient_id, payer_id)
        await record_audit(session, platform, principal, service=SERVICE, action="read", object_type="coverage",
                           object_id=patient_id, outcome="success" if rows else "not_found", request_id=request_id)
    if not rows:
        raise ProblemError(404, "not-found", "No stored benefits for this patient")
    items = [handlers.coverage_view(row, on, first_visit=first_visit) for row in rows]
    return {"patient_id": patient_id, "coverage": items}


@router.get("/patients/{patient_id}/coverage-checks", summary="History of coverage checks for a patient")
async def get_checks(patient_id: PatientId, principal: Reader, db: DatabaseDep, request_id: RequestIdDep
                     ) -> dict[str, Any]:
    async with db.transaction() as session:
        rows = await handlers.checks_for(session, principal.practice_id, patient_id)
        await record_audit(session, platform, principal, service=SERVICE, action="read",
                           object_type="coverage_check", object_id=patient_id, request_id=request_id)
    return {"patient_id": patient_id, "checks": rows}


@router.get("/session-limit-alerts", summary="Work queue: patients nearing or over their yearly session cap")
async def get_session_alerts(principal: Reader, db: DatabaseDep, request_id: RequestIdDep) -> dict[str, Any]:
    async with db.transaction() as session:
        rows = await handlers.open_session_alerts(session, principal.practice_id)
        await record_audit(session, platform, principal, service=SERVICE, action="list",
                           object_type="session_limit_alert", object_id="*", request_id=request_id)
    return {"items": rows}
