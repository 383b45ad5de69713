"""FHIR R4 reads of the patient ledger under ``/fhir/r4``: Account (one per responsible party) and Invoice (one per
charge, fee or assessed responsibility), with search, Bundle paging and OperationOutcome errors; the JSON API's
scope (patient-billing:read), tenancy and audit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from rcm_shared.fhir.api import Kind, capability_router, parse_search, read_one, searchset
from rcm_shared.http.audit import AuditEntry, audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.deps import DatabaseDep

from patient_billing.service_layer import fhir_views

router = APIRouter(prefix="/fhir/r4", tags=["FHIR R4"])
Reader = Annotated[Principal, require_scope("patient-billing:read")]
ACCOUNT_SEARCH = {"patient": Kind.REFERENCE, "status": Kind.TOKEN}
INVOICE_SEARCH = {"patient": Kind.REFERENCE, "date": Kind.DATE, "status": Kind.TOKEN, "account": Kind.REFERENCE}
capabilities = capability_router(service="patient-billing", resources={"Account": ACCOUNT_SEARCH,
                                                                       "Invoice": INVOICE_SEARCH})
routers = [router, capabilities]


@router.get("/Account", dependencies=[audited("patient_account", "list")],
            summary="Search Account (one per responsible party): patient (a member or the guarantor), status")
async def search_accounts(request: Request, principal: Reader, db: DatabaseDep) -> JSONResponse:
    search = parse_search(request, ACCOUNT_SEARCH, allowed_tokens={"status": ("active", "inactive")})
    found, more = await fhir_views.accounts_page(db, principal.practice_id, patient_id=search.get("patient"),
                                                 status=search.get("status"), offset=search.offset,
                                                 limit=search.count)
    return searchset(request, found, search, more=more)


@router.get("/Account/{account_id}", summary="Read one Account")
async def read_account(account_id: str, principal: Reader, db: DatabaseDep,
                       audit: Annotated[AuditEntry, audited("patient_account")]) -> JSONResponse:
    return await read_one(account_id, lambda rid: fhir_views.account(db, principal.practice_id, rid), audit=audit)


@router.get("/Invoice", dependencies=[audited("invoice", "list")],
            summary="Search Invoice (a charge, fee or assessed responsibility): patient, date (posted), status "
                    "(issued, balanced, cancelled), account")
async def search_invoices(request: Request, principal: Reader, db: DatabaseDep) -> JSONResponse:
    search = parse_search(request, INVOICE_SEARCH, allowed_tokens={"status": fhir_views.INVOICE_STATUSES},
                          reference_types={"account": "Account"})
    found, more = await fhir_views.invoices_page(
        db, principal.practice_id, patient_id=search.get("patient"), created=search.get("date"),
        status=search.get("status"), account_id=search.get("account"), offset=search.offset, limit=search.count)
    return searchset(request, found, search, more=more)


@router.get("/Invoice/{entry_id}", summary="Read one Invoice")
async def read_invoice(entry_id: str, principal: Reader, db: DatabaseDep,
                       audit: Annotated[AuditEntry, audited("invoice")]) -> JSONResponse:
    return await read_one(entry_id, lambda rid: fhir_views.invoice(db, principal.practice_id, rid), audit=audit)
