"""FHIR R4 reads of eligibility's facts under ``/fhir/r4``: Coverage and CoverageEligibilityResponse, with search
by patient, status / outcome and date, Bundle paging, OperationOutcome errors; the JSON API's scope, tenancy and
audit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from rcm_shared.fhir.api import (
    FhirError,
    Kind,
    capability_router,
    fhir_response,
    parse_search,
    resource_id,
    searchset,
)
from rcm_shared.http.audit import AuditEntry, audited
from rcm_shared.http.auth import Principal, require_scope

from eligibility.entrypoints.dependencies import ServicesDep
from eligibility.service_layer import fhir_views

router = APIRouter(prefix="/fhir/r4", tags=["FHIR R4"])
Reader = Annotated[Principal, require_scope("eligibility:read")]
NOT_FOUND = FhirError(404, "not-found", "no such resource in this practice")
COVERAGE_SEARCH = {"patient": Kind.REFERENCE, "beneficiary": Kind.REFERENCE, "status": Kind.TOKEN}
RESPONSE_SEARCH = {"patient": Kind.REFERENCE, "created": Kind.DATE, "outcome": Kind.TOKEN}
capabilities = capability_router(service="eligibility", resources={"Coverage": COVERAGE_SEARCH,
                                                                   "CoverageEligibilityResponse": RESPONSE_SEARCH})


@router.get("/Coverage", summary="Search Coverage (US Core Coverage): patient / beneficiary, status",
            dependencies=[audited("coverage", "list")])
async def search_coverage(request: Request, principal: Reader, services: ServicesDep) -> JSONResponse:
    search = parse_search(request, COVERAGE_SEARCH, allowed_tokens={"status": ("active", "cancelled")})
    found, more = await fhir_views.coverages(services.db, principal.practice_id,
                                             patient_id=search.get("patient") or search.get("beneficiary"),
                                             status=search.get("status"), offset=search.offset, limit=search.count)
    return searchset(request, found, search, more=more)


@router.get("/Coverage/{coverage_id}", summary="Read one Coverage")
async def read_coverage(coverage_id: str, principal: Reader, services: ServicesDep,
                        audit: Annotated[AuditEntry, audited("coverage")]) -> JSONResponse:
    audit.object_id = coverage_id = resource_id(coverage_id)
    found = await fhir_views.coverage(services.db, principal.practice_id, coverage_id)
    if found is None:
        raise NOT_FOUND
    return fhir_response(found)


@router.get("/CoverageEligibilityResponse", dependencies=[audited("coverage_check", "list")],
            summary="Search CoverageEligibilityResponse (one per 270/271 exchange): patient, created, outcome")
async def search_eligibility_responses(request: Request, principal: Reader, services: ServicesDep) -> JSONResponse:
    search = parse_search(request, RESPONSE_SEARCH, allowed_tokens={"outcome": ("complete", "error")})
    found, more = await fhir_views.eligibility_responses(
        services.db, principal.practice_id, patient_id=search.get("patient"), created=search.get("created"),
        outcome=search.get("outcome"), offset=search.offset, limit=search.count)
    return searchset(request, found, search, more=more)


@router.get("/CoverageEligibilityResponse/{check_id}", summary="Read one CoverageEligibilityResponse")
async def read_eligibility_response(check_id: str, principal: Reader, services: ServicesDep,
                                    audit: Annotated[AuditEntry, audited("coverage_check")]) -> JSONResponse:
    audit.object_id = check_id = resource_id(check_id)
    found = await fhir_views.eligibility_response(services.db, principal.practice_id, check_id)
    if found is None:
        raise NOT_FOUND
    return fhir_response(found)
