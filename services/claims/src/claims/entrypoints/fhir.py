"""FHIR R4 reads of claims under ``/fhir/r4``: Claim and ClaimResponse, with search by patient, dates and status /
outcome, Bundle paging and OperationOutcome errors; the JSON API's scope (claims:read), tenancy and audit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from rcm_shared.fhir.api import Kind, capability_router, parse_search, read_one, searchset
from rcm_shared.http.audit import AuditEntry, audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.deps import DatabaseDep

from claims.edi import fhir
from claims.service_layer import fhir_views

router = APIRouter(prefix="/fhir/r4", tags=["FHIR R4"])
Reader = Annotated[Principal, require_scope("claims:read")]
# service-date: the date of service (billablePeriod), a search of our own beside FHIR's created
CLAIM_SEARCH = {"patient": Kind.REFERENCE, "created": Kind.DATE, "service-date": Kind.DATE, "status": Kind.TOKEN}
RESPONSE_SEARCH = {"patient": Kind.REFERENCE, "created": Kind.DATE, "outcome": Kind.TOKEN,
                   "request": Kind.REFERENCE}
capabilities = capability_router(service="claims", resources={"Claim": CLAIM_SEARCH,
                                                              "ClaimResponse": RESPONSE_SEARCH})
routers = [router, capabilities]


@router.get("/Claim", summary="Search Claim: patient, created, service-date, status (draft, active, cancelled)",
            dependencies=[audited("claim", "list")])
async def search_claims(request: Request, principal: Reader, db: DatabaseDep) -> JSONResponse:
    search = parse_search(request, CLAIM_SEARCH, allowed_tokens={"status": tuple(fhir.CLAIM_STATUSES)})
    found, more = await fhir_views.claims_page(
        db, principal.practice_id, patient_id=search.get("patient"), created=search.get("created"),
        service_date=search.get("service-date"), status=search.get("status"), offset=search.offset,
        limit=search.count)
    return searchset(request, found, search, more=more)


@router.get("/Claim/{claim_id}", summary="Read one Claim")
async def read_claim(claim_id: str, principal: Reader, db: DatabaseDep,
                     audit: Annotated[AuditEntry, audited("claim")]) -> JSONResponse:
    return await read_one(claim_id, lambda rid: fhir_views.claim(db, principal.practice_id, rid), audit=audit)


@router.get("/ClaimResponse", dependencies=[audited("claim_response", "list")],
            summary="Search ClaimResponse (the payer's latest answer to a claim): patient, created, outcome, request")
async def search_claim_responses(request: Request, principal: Reader, db: DatabaseDep) -> JSONResponse:
    search = parse_search(request, RESPONSE_SEARCH, allowed_tokens={"outcome": tuple(fhir.OUTCOMES)},
                          reference_types={"request": "Claim"})
    found, more = await fhir_views.responses_page(
        db, principal.practice_id, patient_id=search.get("patient"), created=search.get("created"),
        outcome=search.get("outcome"), request=search.get("request"), offset=search.offset, limit=search.count)
    return searchset(request, found, search, more=more)


@router.get("/ClaimResponse/{claim_id}", summary="Read one ClaimResponse (its id is the claim's)")
async def read_claim_response(claim_id: str, principal: Reader, db: DatabaseDep,
                              audit: Annotated[AuditEntry, audited("claim_response")]) -> JSONResponse:
    return await read_one(claim_id, lambda rid: fhir_views.claim_response(db, principal.practice_id, rid), audit=audit)
