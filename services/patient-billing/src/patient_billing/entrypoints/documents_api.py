"""HTTP routes of the patient documents: the directory they print from, statement runs and statements,
superbills, Good Faith Estimates and their disputes, and document links. Each document reads as JSON (exactly what
was shown) and downloads as its stored PDF. Documents are PHI: every read and write is audited, links expire."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Path, Response
from pydantic import Field, model_validator
from rcm_shared.db.types import from_cents, to_cents
from rcm_shared.http.audit import audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.schemas import (
    BirthDate,
    DiagnosisCode,
    PlainText,
    PlausibleDate,
    PositiveMoney,
    ProcedureCode,
    StrictModel,
)

from patient_billing.adapters.documents.repository import DocumentsRepository
from patient_billing.domain.document_errors import DocumentNotFound, LinkExpired
from patient_billing.domain.estimates import EstimatePlan, ExpectedService
from patient_billing.entrypoints.dependencies import PatientBillingServices, ServicesDep
from patient_billing.service_layer import directory, estimates, statements, superbills

router = APIRouter(prefix="/v1", tags=["patient documents"])
Reader = Annotated[Principal, require_scope("patient-billing:read")]
Writer = Annotated[Principal, require_scope("patient-billing:write")]
ID = r"^[A-Za-z0-9_.:-]+$"
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID)]
Npi = Annotated[str, Field(pattern=r"^[0-9]{10}$", examples=["1234567893"])]
NpiPath = Annotated[str, Path(pattern=r"^[0-9]{10}$")]
Name = Annotated[PlainText, Field(min_length=1, max_length=120)]
AddressLines = Annotated[list[Annotated[PlainText, Field(min_length=1, max_length=100)]],
                         Field(min_length=1, max_length=4)]


# -- the directory ---------------------------------------------------------------------------------------------------


class PracticeProfileIn(StrictModel):
    name: Name
    address_lines: AddressLines
    phone: Annotated[PlainText, Field(min_length=7, max_length=40)]
    npi: Npi
    tax_id: Annotated[str, Field(pattern=r"^[0-9]{9}$", examples=["123456789"])]
    time_zone: Annotated[str, Field(max_length=64, examples=["America/Chicago"])] | None = None
    statement_day: Annotated[int, Field(ge=1, le=28)] | None = Field(
        default=None, description="the day of the month statements are issued (default: the rules')")


class ClinicianIn(StrictModel):
    name: Name
    credential: Annotated[PlainText, Field(min_length=1, max_length=20, examples=["LCSW"])]
    license_number: Annotated[PlainText, Field(min_length=1, max_length=40)]
    license_state: Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["IL"])]


class PersonIn(StrictModel):
    name: Name
    date_of_birth: BirthDate | None = None
    address_lines: AddressLines
    email: Annotated[str, Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None


@router.put("/practice-profile", dependencies=[audited("practice_profile", "update")],
            summary="The practice's letterhead on its documents (name, address, phone, NPI, tax ID), time zone and "
                    "statement day")
async def put_practice_profile(body: PracticeProfileIn, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    profile = directory.PracticeProfile(principal.practice_id, body.name, tuple(body.address_lines), body.phone,
                                        body.npi, body.tax_id, body.time_zone, body.statement_day)
    async with services.uows() as uow:
        await directory.put_practice(uow, profile, at=services.clock.now())
    return {"practice_id": principal.practice_id, **body.model_dump()}


@router.put("/clinicians/{npi}", dependencies=[audited("clinician", "update")],
            summary="A rendering clinician as documents name them (name, credential, license)")
async def put_clinician(npi: NpiPath, body: ClinicianIn, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        await directory.put_clinician(uow, directory.ClinicianRecord(
            principal.practice_id, npi, body.name, body.credential, body.license_number, body.license_state),
            at=services.clock.now())
    return {"npi": npi, **body.model_dump()}


@router.put("/people/{person_id}", dependencies=[audited("person", "update")],
            summary="A patient or guarantor as documents name them (name, date of birth, mailing address, email)")
async def put_person(person_id: PathId, body: PersonIn, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        await directory.put_person(uow, directory.PersonRecord(
            principal.practice_id, person_id, body.name, body.date_of_birth, tuple(body.address_lines), body.email),
            at=services.clock.now())
    return {"person_id": person_id, **body.model_dump(mode="json")}


# -- statements ------------------------------------------------------------------------------------------------------


class StatementRunIn(StrictModel):
    statement_date: PlausibleDate | None = Field(default=None, description="default: the cycle today falls in")


def run_view(run: Any) -> dict[str, Any]:
    return {"run_id": run.run_id, "statement_date": run.statement_date, "status": run.status, "total": run.total,
            "issued": run.issued, "emailed": run.emailed,
            "progress": 1.0 if run.status == "completed" else round(run.issued / run.total, 4) if run.total else 0.0,
            "print_file": run.print_file, "started_at": run.started_at, "finished_at": run.finished_at}


async def _run_in_background(services: PatientBillingServices, practice_id: str, run_id: str) -> None:
    await statements.run_statements(services.uows, services.documents, practice_id, run_id)


@router.post("/statement-runs", status_code=202, dependencies=[audited("statement_run", "create")],
             summary="Start (or find) the practice's statement run for a cycle: one statement per guarantor",
             description="The same cycle twice answers the same run; nothing is stated or sent twice. Poll "
                         "GET /v1/statement-runs/{run_id} for progress; POST .../resume continues a stopped run.")
async def post_statement_run(body: StatementRunIn, principal: Writer, services: ServicesDep,
                             background: BackgroundTasks) -> dict[str, Any]:
    run, made = await statements.start_run(services.uows, services.documents, principal.practice_id,
                                           body.statement_date)
    if run.status != "completed":
        background.add_task(_run_in_background, services, principal.practice_id, run.run_id)
    return {**run_view(run), "created": made}


@router.post("/statement-runs/{run_id}/resume", status_code=202, dependencies=[audited("statement_run", "resume")],
             summary="Continue a statement run after the last account it committed")
async def resume_statement_run(run_id: PathId, principal: Writer, services: ServicesDep,
                               background: BackgroundTasks) -> dict[str, Any]:
    async with services.db.sessions() as session:
        run = await DocumentsRepository(session).run(principal.practice_id, run_id)
    if run is None:
        raise DocumentNotFound("no statement run with this id", field="run_id")
    if run.status != "completed":
        background.add_task(_run_in_background, services, principal.practice_id, run.run_id)
    return run_view(run)


@router.get("/statement-runs", dependencies=[audited("statement_run", "list")], summary="The practice's runs")
async def list_statement_runs(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return {"items": [run_view(r) for r in await DocumentsRepository(session).runs(principal.practice_id)]}


@router.get("/statement-runs/{run_id}", dependencies=[audited("statement_run")],
            summary="A run's progress: accounts to state, stated, emailed, the print-vendor file")
async def get_statement_run(run_id: PathId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        run = await DocumentsRepository(session).run(principal.practice_id, run_id)
    if run is None:
        raise DocumentNotFound("no statement run with this id", field="run_id")
    return run_view(run)


def statement_view(row: Any) -> dict[str, Any]:
    return {"statement_id": row.statement_id, "run_id": row.run_id, "account_id": row.account_id,
            "statement_date": row.statement_date, "due_date": row.due_date, "balance": from_cents(row.balance_cents),
            "amount_due": from_cents(row.amount_due_cents), "delivery": row.delivery, "emailed_at": row.emailed_at,
            "issued_at": row.issued_at, "pdf_sha256": row.pdf_sha256, "payment_link_id": row.payment_link_id,
            "shown": row.content}


@router.get("/accounts/{account_id}/statements", dependencies=[audited("statement", "list")],
            summary="The statements a responsible party was sent, newest first")
async def account_statements(account_id: PathId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        rows = await DocumentsRepository(session).statements_of_account(principal.practice_id, account_id)
    return {"items": [statement_view(r) for r in rows]}


@router.get("/statements/{statement_id}", dependencies=[audited("statement")],
            summary="A statement as JSON: exactly what it showed")
async def get_statement(statement_id: PathId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    return statement_view(await stored(services, "statement", principal.practice_id, statement_id))


@router.get("/statements/{statement_id}/pdf", dependencies=[audited("statement", "download")],
            response_class=Response, summary="A statement's PDF, as issued")
async def get_statement_pdf(statement_id: PathId, principal: Reader, services: ServicesDep) -> Response:
    row = await stored(services, "statement", principal.practice_id, statement_id, with_pdf=True)
    return pdf_response(row.pdf, f"statement-{row.statement_date.isoformat()}.pdf")


async def stored(services: PatientBillingServices, kind: str, practice_id: str, document_id: str, *,
                 with_pdf: bool = False) -> Any:
    """A stored document of ``kind`` (statement, superbill, estimate) of the practice, or 404 naming the id."""
    async with services.db.sessions() as session:
        row = await DocumentsRepository(session).document(kind, practice_id, document_id, with_pdf=with_pdf)
    if row is None or (with_pdf and row.pdf is None):
        raise DocumentNotFound(f"no {KINDS[kind]} with this id", field=f"{kind}_id")
    return row


KINDS = {"statement": "statement", "superbill": "superbill", "estimate": "issued Good Faith Estimate"}


def pdf_response(pdf: bytes, filename: str) -> Response:
    return Response(content=bytes(pdf), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@router.get("/payment-links/{link_id}", dependencies=[audited("payment_link")],
            summary="What a statement's payment link is for (the hosted payment page asks): account, amount, expiry")
async def get_payment_link(link_id: Annotated[str, Path(min_length=1, max_length=64, pattern=ID)], principal: Reader,
                           services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        row = await DocumentsRepository(session).statement_by_payment_link(principal.practice_id, link_id)
    if row is None:
        raise DocumentNotFound("no payment link with this id", field="link_id")
    expires_on = date.fromisoformat(row.content["links_expire_on"])
    return {"link_id": link_id, "statement_id": row.statement_id, "account_id": row.account_id,
            "amount_due": from_cents(row.amount_due_cents), "expires_on": expires_on,
            "expired": services.clock.today() > expires_on}


# -- superbills ------------------------------------------------------------------------------------------------------


class SuperbillIn(StrictModel):
    visit_id: Annotated[str, Field(min_length=1, max_length=64, pattern=ID)] | None = None
    period_from: PlausibleDate | None = Field(default=None, alias="from")
    period_to: PlausibleDate | None = Field(default=None, alias="to")
    variant: Literal["superbill", "cms1500"] = "superbill"

    @model_validator(mode="after")
    def _one_of(self) -> SuperbillIn:
        if (self.visit_id is None) == (self.period_from is None or self.period_to is None):
            raise ValueError("give either visit_id, or from and to (a period)")
        return self


def superbill_view(row: Any) -> dict[str, Any]:
    return {"superbill_id": row.superbill_id, "patient_id": row.patient_id, "variant": row.variant,
            "issued_at": row.issued_at, "pdf_sha256": row.pdf_sha256,
            "shown": {k: v for k, v in row.content.items() if k != "fingerprint"}}


@router.post("/patients/{patient_id}/superbills", status_code=201, dependencies=[audited("superbill", "create")],
             summary="A superbill for one visit or for a period (claims' codes, the ledger's charges and payments)")
async def post_superbill(patient_id: PathId, body: SuperbillIn, principal: Writer, services: ServicesDep,
                         response: Response) -> dict[str, Any]:
    async with services.uows() as uow:
        row, made = await superbills.issue_superbill(
            uow, services.documents, practice_id=principal.practice_id, patient_id=patient_id,
            visit_id=body.visit_id, period=(body.period_from, body.period_to) if body.period_from and body.period_to
            else None, variant=body.variant)
    if not made:
        response.status_code = 200
    return superbill_view(row)


@router.get("/patients/{patient_id}/superbills", dependencies=[audited("superbill", "list")],
            summary="A patient's superbills, newest first")
async def patient_superbills(patient_id: PathId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        rows = await DocumentsRepository(session).superbills_of(principal.practice_id, patient_id)
    return {"items": [superbill_view(r) for r in rows]}


@router.get("/superbills/{superbill_id}", dependencies=[audited("superbill")], summary="A superbill as JSON")
async def get_superbill(superbill_id: PathId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    return superbill_view(await stored(services, "superbill", principal.practice_id, superbill_id))


@router.get("/superbills/{superbill_id}/pdf", dependencies=[audited("superbill", "download")],
            response_class=Response, summary="A superbill's PDF")
async def get_superbill_pdf(superbill_id: PathId, principal: Reader, services: ServicesDep) -> Response:
    row = await stored(services, "superbill", principal.practice_id, superbill_id, with_pdf=True)
    return pdf_response(row.pdf, f"superbill-{row.superbill_id}.pdf")


# -- Good Faith Estimates -------------------------------------------------------------------------------------------


class ExpectedServiceIn(StrictModel):
    provider_npi: Npi
    procedure_code: ProcedureCode
    modifiers: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]] = Field(default_factory=list, max_length=4)
    description: Annotated[PlainText, Field(min_length=1, max_length=120)]
    quantity: Annotated[int, Field(ge=1, le=260)]
    unit_charge: PositiveMoney


class EstimatePlanIn(StrictModel):
    services: Annotated[list[ExpectedServiceIn], Field(min_length=1, max_length=20)]
    diagnoses: list[DiagnosisCode] = Field(default_factory=list, max_length=12)
    reason: Annotated[PlainText, Field(max_length=200)] = ""
    first_service_date: PlausibleDate | None = None

    def plan(self) -> EstimatePlan:
        return EstimatePlan(tuple(ExpectedService(s.provider_npi, s.procedure_code, s.description, s.quantity,
                                                  to_cents(s.unit_charge), tuple(s.modifiers))
                                  for s in self.services), tuple(self.diagnoses), self.reason)


class EstimateIn(EstimatePlanIn):
    trigger: Literal["scheduled", "requested"] = Field(
        description="scheduled: a service was booked; requested: the patient asked (a cost question counts)")
    asked_on: PlausibleDate | None = Field(default=None, description="the day it was booked or asked; default today")
    issue_now: bool = False

    @model_validator(mode="after")
    def _scheduled_has_date(self) -> EstimateIn:
        if self.trigger == "scheduled" and self.first_service_date is None:
            raise ValueError("a scheduled service needs first_service_date")
        return self


class DisputeIn(StrictModel):
    provider_npi: Npi
    bill_date: PlausibleDate
    disputed_amount: PositiveMoney


class ResolutionIn(StrictModel):
    resolution: Annotated[PlainText, Field(min_length=1, max_length=200)]


@router.post("/patients/{patient_id}/estimates", status_code=201, dependencies=[audited("estimate", "create")],
             summary="A Good Faith Estimate owed (its deadline clock starts), optionally issued at once")
async def post_estimate(patient_id: PathId, body: EstimateIn, principal: Writer, services: ServicesDep
                        ) -> dict[str, Any]:
    async with services.uows() as uow:
        row = await estimates.create_estimate(
            uow, services.documents, practice_id=principal.practice_id, patient_id=patient_id, trigger=body.trigger,
            plan=body.plan(), first_service_date=body.first_service_date, asked_on=body.asked_on)
        if body.issue_now:
            row = await estimates.issue_estimate(uow, services.documents, principal.practice_id, row.estimate_id)
    return estimates.estimate_view(row)


@router.post("/estimates/{estimate_id}/issue", dependencies=[audited("estimate", "issue")],
             summary="Issue a due estimate: rendered, stored as shown, gfe-issued")
async def issue_estimate(estimate_id: PathId, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        row = await estimates.issue_estimate(uow, services.documents, principal.practice_id, estimate_id)
    return estimates.estimate_view(row)


@router.post("/estimates/{estimate_id}/reissue", status_code=201, dependencies=[audited("estimate", "reissue")],
             summary="The plan of care changed: a new version, issued now, superseding this one")
async def reissue_estimate(estimate_id: PathId, body: EstimatePlanIn, principal: Writer, services: ServicesDep
                           ) -> dict[str, Any]:
    async with services.uows() as uow:
        row = await estimates.reissue_estimate(uow, services.documents, principal.practice_id, estimate_id,
                                               body.plan(), body.first_service_date)
    return estimates.estimate_view(row)


@router.get("/estimates/due", dependencies=[audited("estimate", "list")],
            summary="The work queue: estimates owed and not issued, late first, with business days left")
async def estimates_due(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        items = await estimates.work_queue(session, services.documents, principal.practice_id)
    order = {"late": 0, "due_today": 1, "due": 2}
    return {"items": sorted(items, key=lambda i: (order[i["queue_state"]], i["due_by"]))}


@router.get("/patients/{patient_id}/estimates", dependencies=[audited("estimate", "list")],
            summary="A patient's estimates (every version, kept at least 6 years)")
async def patient_estimates(patient_id: PathId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        rows = await DocumentsRepository(session).estimates_of(principal.practice_id, patient_id)
    return {"items": [estimates.estimate_view(r) for r in rows]}


@router.get("/estimates/{estimate_id}", dependencies=[audited("estimate")],
            summary="An estimate as JSON (what it showed, once issued)")
async def get_estimate(estimate_id: PathId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    row = await stored(services, "estimate", principal.practice_id, estimate_id)
    return {**estimates.estimate_view(row), "shown": row.content}


@router.get("/estimates/{estimate_id}/pdf", dependencies=[audited("estimate", "download")],
            response_class=Response, summary="An issued estimate's PDF")
async def get_estimate_pdf(estimate_id: PathId, principal: Reader, services: ServicesDep) -> Response:
    row = await stored(services, "estimate", principal.practice_id, estimate_id, with_pdf=True)
    return pdf_response(row.pdf, f"good-faith-estimate-{row.estimate_id}-v{row.version}.pdf")


@router.post("/estimates/{estimate_id}/disputes", status_code=201, dependencies=[audited("gfe_dispute", "create")],
             summary="The patient disputes a bill above the estimate (within 120 days of the bill): the amount is "
                     "held out of collections")
async def post_dispute(estimate_id: PathId, body: DisputeIn, principal: Writer, services: ServicesDep
                       ) -> dict[str, Any]:
    async with services.uows() as uow:
        row = await estimates.open_dispute(uow, services.documents, practice_id=principal.practice_id,
                                           estimate_id=estimate_id, provider_npi=body.provider_npi,
                                           bill_date=body.bill_date, disputed=to_cents(body.disputed_amount))
    return estimates.dispute_view(row)


@router.post("/gfe-disputes/{dispute_id}/resolution", dependencies=[audited("gfe_dispute", "resolve")],
             summary="Resolve a dispute: the held amount is demanded again")
async def resolve_dispute(dispute_id: PathId, body: ResolutionIn, principal: Writer, services: ServicesDep
                          ) -> dict[str, Any]:
    async with services.uows() as uow:
        row = await estimates.resolve_dispute(uow, services.documents, principal.practice_id, dispute_id,
                                              body.resolution)
    return estimates.dispute_view(row)


# -- links -------------------------------------------------------------------------------------------------------------


@router.get("/document-links/{token}", dependencies=[audited("document_link", "download")],
            response_class=Response, summary="The document a portal or email link names, while the link is valid",
            description="410 once the link has expired: the patient signs in to the portal instead.")
async def open_document_link(token: Annotated[str, Path(min_length=16, max_length=64, pattern=ID)],
                             principal: Reader, services: ServicesDep) -> Response:
    async with services.db.sessions() as session:
        link = await DocumentsRepository(session).link(token)
    if link is None or link.practice_id != principal.practice_id:
        raise DocumentNotFound("no document link with this token", field="token")
    if services.clock.now() > link.expires_at:
        raise LinkExpired("this link has expired", field="token")
    row = await stored(services, link.document_type, principal.practice_id, link.document_id, with_pdf=True)
    return pdf_response(row.pdf, f"{link.document_type}.pdf")

