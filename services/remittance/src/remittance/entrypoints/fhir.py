"""FHIR R4 reads of remittance under ``/fhir/r4``: ExplanationOfBenefit (CARIN Blue Button professional, where it
fits) and PaymentReconciliation, with search, Bundle paging and OperationOutcome errors; the JSON API's scope
(remittance:read), tenancy and audit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from rcm_shared.fhir.api import Kind, capability_router, parse_search, read_one, searchset
from rcm_shared.http.audit import AuditEntry, audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.deps import DatabaseDep

from remittance.service_layer import fhir_views

router = APIRouter(prefix="/fhir/r4", tags=["FHIR R4"])
Reader = Annotated[Principal, require_scope("remittance:read")]
# service-date as CARIN Blue Button defines it (the billable period); claim: the EOBs of one Claim
EOB_SEARCH = {"patient": Kind.REFERENCE, "created": Kind.DATE, "service-date": Kind.DATE, "status": Kind.TOKEN,
              "claim": Kind.REFERENCE}
RECONCILIATION_SEARCH = {"created": Kind.DATE, "identifier": Kind.TOKEN, "status": Kind.TOKEN}
capabilities = capability_router(service="remittance", resources={
    "ExplanationOfBenefit": EOB_SEARCH, "PaymentReconciliation": RECONCILIATION_SEARCH})
routers = [router, capabilities]


@router.get("/ExplanationOfBenefit", dependencies=[audited("explanation_of_benefit", "list")],
            summary="Search ExplanationOfBenefit (one per claim payment posted): patient, created, service-date, "
                    "status, claim")
async def search_eobs(request: Request, principal: Reader, db: DatabaseDep) -> JSONResponse:
    search = parse_search(request, EOB_SEARCH, allowed_tokens={"status": ("active", "cancelled")},
                          reference_types={"claim": "Claim"})
    found, more = await fhir_views.eobs_page(
        db, principal.practice_id, patient_id=search.get("patient"), created=search.get("created"),
        service_date=search.get("service-date"), status=search.get("status"), claim_id=search.get("claim"),
        offset=search.offset, limit=search.count)
    return searchset(request, found, search, more=more)


@router.get("/ExplanationOfBenefit/{posting_id}", summary="Read one ExplanationOfBenefit")
async def read_eob(posting_id: str, principal: Reader, db: DatabaseDep,
                   audit: Annotated[AuditEntry, audited("explanation_of_benefit")]) -> JSONResponse:
    return await read_one(posting_id, lambda rid: fhir_views.eob(db, principal.practice_id, rid), audit=audit)


@router.get("/PaymentReconciliation", dependencies=[audited("payment_reconciliation", "list")],
            summary="Search PaymentReconciliation (one per 835 payment): created, identifier (the trace number), "
                    "status")
async def search_reconciliations(request: Request, principal: Reader, db: DatabaseDep) -> JSONResponse:
    search = parse_search(request, RECONCILIATION_SEARCH, allowed_tokens={"status": ("active", "cancelled")})
    if search.get("status") == "cancelled":  # a payment is never cancelled here (a reversal is a new payment)
        return searchset(request, [], search, more=False)
    found, more = await fhir_views.reconciliations_page(
        db, principal.practice_id, created=search.get("created"), identifier=search.get("identifier"),
        offset=search.offset, limit=search.count)
    return searchset(request, found, search, more=more)


@router.get("/PaymentReconciliation/{payment_id}", summary="Read one PaymentReconciliation")
async def read_reconciliation(payment_id: str, principal: Reader, db: DatabaseDep,
                              audit: Annotated[AuditEntry, audited("payment_reconciliation")]) -> JSONResponse:
    return await read_one(payment_id, lambda rid: fhir_views.reconciliation(db, principal.practice_id, rid),
                          audit=audit)
