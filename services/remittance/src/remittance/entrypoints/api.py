"""HTTP routes of remittance: ERA intake, exceptions, denial queues, unapplied cash, the books. Each route parses,
builds the command, calls one use case (or a view) and answers; domain refusals become problem+json in one place
(``bootstrap.DOMAIN_ERRORS``)."""

from __future__ import annotations

from datetime import date as date_
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StringConstraints
from rcm_shared.http.audit import AuditEntry, audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.deps import ClockDep
from rcm_shared.http.errors import ProblemError
from rcm_shared.http.idempotency import run_idempotent
from rcm_shared.http.pagination import cursor_after
from rcm_shared.http.schemas import PlainText, StrictModel
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.domain.commands import ImportDeposits, ReceiveEra, ResolveDuplicatePayment
from remittance.domain.exceptions import UnknownEra
from remittance.domain.reconciliation import parse_deposit_csv
from remittance.entrypoints.dependencies import ServicesDep
from remittance.service_layer import appeals, deposits, duplicates, intake, views

router = APIRouter(prefix="/v1", tags=["remittance"])
Reader = Annotated[Principal, require_scope("remittance:read")]
Writer = Annotated[Principal, require_scope("remittance:write")]
MAX_ERA_BYTES = 64 * 1024 * 1024
# Work-queue filters: a status nobody writes is a 422 naming it, not an empty 200 that looks like "all clear".
WorkStatus = Literal["open", "reversed"]
DenialStatus = Literal["open", "reversed", "resolved"]  # resolved: worked to an outcome (/v1/work-items)
ExceptionStatus = Literal["open", "resolved"]  # resolved: a duplicate payment a person settled
# Queues and categories are data (rules/denials.yaml) and change with it: only their shape is checked here (a
# name no rule uses lists nothing).
RuleName = Annotated[str | None, Query(max_length=60, pattern=r"^[a-z][a-z_]*$")]


class EraAccepted(BaseModel):
    era_id: str
    duplicate: bool
    status: str


async def _era_bytes(request: Request) -> tuple[bytes, str | None]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ProblemError(422, "validation", "Request is invalid",
                               errors=[{"field": "body.file", "code": "missing", "message": "is required"}])
        return await upload.read(), upload.filename
    if not (content_type.startswith("application/edi-x12") or content_type.startswith("text/plain")
            or content_type.startswith("application/octet-stream")):
        raise ProblemError(415, "unsupported-media-type", "Send the 835 as application/edi-x12, text/plain "
                           "or a multipart form field named file")
    return await request.body(), request.headers.get("x-file-name")


@router.post("/eras", status_code=202, response_model=EraAccepted, summary="Upload an 835 ERA",
             description="The file is stored and announced (era-received); parsing, balancing and posting "
                         "follow asynchronously. The same bytes uploaded again are recognised "
                         "(duplicate=true) and post nothing.",
             openapi_extra={"requestBody": {"content": {"application/edi-x12": {"schema": {"type": "string"}},
                                                        "multipart/form-data": {"schema": {"type": "object",
                                                            "properties": {"file": {"type": "string",
                                                                                    "format": "binary"}}}}}}})
async def post_era(request: Request, principal: Writer, services: ServicesDep,
                   audit: Annotated[AuditEntry, audited("era", "create")]) -> JSONResponse:
    content, file_name = await _era_bytes(request)
    if not content.strip():
        raise ProblemError(422, "validation", "Request is invalid",
                           errors=[{"field": "body", "code": "empty", "message": "the 835 file is empty"}])
    if not content.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"ISA"):
        raise ProblemError(422, "not-x12", "This is not an X12 interchange",
                           errors=[{"field": "body", "code": "isa", "message": "must start with an ISA segment"}])
    command = ReceiveEra(principal.practice_id, content, file_name, "api")

    async def create(session: AsyncSession) -> tuple[int, EraAccepted]:
        async with services.uows.joining(session) as uow:
            era, duplicate = await intake.receive_era(uow, command)
        audit.object_id = era.era_id
        return (200 if duplicate else 202), EraAccepted(era_id=era.era_id, duplicate=duplicate, status=era.status)

    return await run_idempotent(request, services.db, principal, "era", create, body_fingerprint=content)


@router.get("/eras", dependencies=[audited("era")],
            summary="ERAs received, newest first (API, clearinghouse mailbox, bulk)")
async def list_eras(principal: Reader, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
                    ) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return {"items": await views.eras_received(session, principal.practice_id, limit)}


@router.get("/eras/{era_id}", dependencies=[audited("era")], summary="An ERA's processing status and totals")
async def get_era(era_id: str, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.transaction() as session:
        era = await views.era_detail(session, principal.practice_id, era_id)
    if era is None:
        raise UnknownEra("No such ERA")
    return era


@router.get("/era-exceptions", dependencies=[audited("era_exception")],
            summary="Work queue: ERAs or transactions that could not be posted")
async def list_exceptions(principal: Reader, services: ServicesDep, status: ExceptionStatus = "open") -> dict[str, Any]:
    async with services.db.sessions() as session:
        return {"items": await views.era_exception_queue(session, principal.practice_id, status)}


class DuplicateDecision(StrictModel):
    # The decisions are data (rules/posting.yaml): the shape is checked here, the name by the handler (422).
    decision: str = Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$",
                          description="refunded, recouped, not_received (rules/posting.yaml) or apply")
    note: PlainText | None = Field(default=None, max_length=500,
                                   description="Why, for the next person (kept, never logged)")


@router.post("/era-exceptions/{exception_id}/resolution", dependencies=[audited("era_exception", "resolve")],
             summary="Settle a claim payment held as a duplicate (kind duplicate_claim_payment)",
             description="The money waits in overpayment_suspense until a person decides. refunded: sent back to "
                         "the payer (Cr cash); recouped: the payer withheld it from a later payment (Cr "
                         "plb_recovery); not_received: no second payment reached the bank (Cr undeposited_era); "
                         "apply: not a duplicate after all, posted to the claim like any payment. Once only: a "
                         "second decision is a 409.")
async def resolve_era_exception(exception_id: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")],
                                body: DuplicateDecision, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    command = ResolveDuplicatePayment(principal.practice_id, exception_id, body.decision, principal.subject, body.note)
    async with services.uows() as uow:
        return await duplicates.resolve_duplicate_payment(uow, command, services.rules)


class DenialOut(BaseModel):
    denial_id: str
    claim_id: str | None
    era_id: str
    payer_id: str | None
    line_number: int | None
    procedure_code: str | None
    category: str
    group_code: str | None
    reason_codes: list[str]
    remark_codes: list[str]
    amount: Decimal
    suggested_action: str
    queue: str
    pattern_alert: bool
    status: str
    raised_at: datetime
    resolution_code: str | None = None
    resolution_reference: str | None = None
    resolved_at: datetime | None = None


@router.get("/denials", dependencies=[audited("denial")],
            summary="Work queue: classified denials by queue (senior, clinical liaison, billing)")
async def list_denials(principal: Reader, services: ServicesDep,
                       after: Annotated[dict[str, Any] | None, cursor_after("denial_id")], queue: RuleName = None,
                       category: RuleName = None, status: DenialStatus = "open",
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    async with services.db.transaction() as session:
        page = await views.denial_queue(session, principal.practice_id, status=status, queue=queue,
                                        category=category, limit=limit, after=after)
    return {"items": [DenialOut(**item).model_dump(mode="json") for item in page.items],
            "next_cursor": page.next_cursor}


@router.get("/unapplied-cash", dependencies=[audited("unapplied_cash")],
            summary="Work queue: payments that matched none of our claims")
async def unapplied(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return {"items": await views.unapplied_cash(session, principal.practice_id)}


@router.get("/ledger/trial-balance", dependencies=[audited("ledger")],
            summary="Balances per account; debits always equal credits",
            description="patient_responsibility_transferred: what the payers assigned to patients and remittance "
                        "handed to patient-billing (the one owner of patient A/R), net of reversals. Remittance "
                        "expects no patient payment: patient-billing's assessed total for the practice equals it.")
async def trial_balance(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await views.trial_balance(session, principal.practice_id)


@router.get("/reports/denials", dependencies=[audited("denial_report")],
            summary="Denial counts and amounts by category, payer, CPT, clinician, program")
async def denial_report(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await views.denial_report(session, principal.practice_id)


@router.post("/deposits", summary="Import bank deposits (CSV: reference,amount,date) and reconcile with ERAs",
             description="Each deposit whose reference is an ERA's TRN trace number and whose amount matches to the "
                         "cent is matched (Dr cash / Cr undeposited ERA). Returns what is unmatched on either side.",
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def post_deposits(request: Request, principal: Writer, services: ServicesDep,
                        audit: Annotated[AuditEntry, audited("deposit", "import")]) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith(("text/csv", "text/plain")):
        raise ProblemError(415, "unsupported-media-type", "Send deposits as text/csv")
    try:
        rows = parse_deposit_csv((await request.body()).decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise ProblemError(422, "validation", "Deposit file is invalid",
                           errors=[{"field": "body", "code": "csv", "message": str(exc)}]) from exc
    async with services.uows() as uow:
        imported = await deposits.import_deposits(uow, ImportDeposits(principal.practice_id, tuple(rows)),
                                                  services.rules)
        await audit.record_in(uow.session)
    return imported


@router.get("/reconciliation", dependencies=[audited("reconciliation")],
            summary="EFT reconciliation: deposits and ERA payments not yet matched")
async def get_reconciliation(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        return await deposits.reconcile_deposits(uow, principal.practice_id, services.rules)


@router.get("/underpayments", dependencies=[audited("underpayment")],
            summary="Work queue: lines paid below the payer's contracted rate")
async def list_underpayments(principal: Reader, services: ServicesDep, status: WorkStatus = "open") -> dict[str, Any]:
    async with services.db.sessions() as session:
        return {"items": await views.underpayment_queue(session, principal.practice_id, status)}


@router.get("/reports/payments", dependencies=[audited("payment_report")],
            summary="Days from submission to payment by payer; unmatched cash; ERA exceptions")
async def payment_report(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await views.payment_report(session, principal.practice_id)


@router.get("/secondary-balances", dependencies=[audited("secondary_balance")],
            summary="Work queue: balances held for a secondary payer (crossover claims)",
            description="Each claim whose patient share a payer forwarded to the next payer (CLP02 19/20/21) and "
                        "that is not settled to the cent: the crossover carrier, what was held, what the next "
                        "payer settled so far, what remains, days since the claim was forwarded, `stale` past "
                        "the follow-up threshold (rules/posting.yaml), and settlement discrepancies. A remaining "
                        "below zero is an over-settlement (state `over`).")
async def list_secondary_balances(principal: Reader, services: ServicesDep, clock: ClockDep,
                                  after: Annotated[dict[str, Any] | None, cursor_after("claim_id")],
                                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    async with services.db.transaction() as session:
        page = await views.secondary_balances(session, principal.practice_id, as_of=clock.now(), limit=limit,
                                              after=after, rules=services.rules)
    return page.as_dict()


@router.get("/reports/secondary-balances", dependencies=[audited("secondary_balance_report")],
            summary="Balances held for secondary payers, per crossover carrier")
async def secondary_balance_report(principal: Reader, services: ServicesDep, clock: ClockDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await views.secondary_balance_report(session, principal.practice_id, as_of=clock.now(),
                                                    rules=services.rules)


ClaimIdParam = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,36}$")]


@router.get("/claim-copies", dependencies=[audited("claim_copy")],
            summary="Which of the given claims remittance holds a copy of (claims' reconciliation asks)",
            description="Up to 200 `claim_id` values; the answer lists those whose claim-submitted event remittance "
                        "applied. A submitted claim missing here after a while is a gap between the two services "
                        "(claims reports it as `rcm_reconciliation_gaps`).")
async def list_claim_copies(principal: Reader, services: ServicesDep,
                            claim_id: Annotated[list[ClaimIdParam], Query(min_length=1, max_length=200)]
                            ) -> dict[str, Any]:
    async with services.db.transaction() as session:
        items = await views.claim_copies(session, principal.practice_id, sorted(set(claim_id)))
    return {"items": items}


# ------------------------------------------------------------------------------------------------------ appeals

AppealId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
AttachmentName = Annotated[str, StringConstraints(min_length=1, max_length=120)]


class AppealIn(StrictModel):
    statement: str | None = Field(default=None, min_length=1, max_length=8000,
                                  description="the clinical liaison's statement, printed in the letter")
    attachments: list[AttachmentName] = Field(default_factory=list, max_length=20,
                                              description="what is sent with the letter (listed in it)")


class FilingIn(StrictModel):
    filed_on: date_ | None = Field(default=None, description="the day it was sent (default: today)")


@router.post("/denials/{denial_id}/appeals", status_code=201, dependencies=[audited("appeal", "create")],
             summary="Appeal a denial at the next level its payer allows",
             description="The level and its filing deadline come from rules/appeals.yaml (days from the denial, or "
                         "from the previous level's decision). The appeal's work item (queue `appeals`) is due on "
                         "the deadline; the denial is worked to `appealed` with the appeal as its link; the letter "
                         "is at `GET /v1/appeals/{id}/letter`. 409 while an appeal of the denial waits for the "
                         "payer, once it was overturned, or when no level is left.")
async def post_appeal(denial_id: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")], body: AppealIn,
                      principal: Writer, services: ServicesDep, clock: ClockDep) -> dict[str, Any]:
    async with services.uows() as uow:
        return await appeals.prepare_appeal(uow, appeals.PrepareAppeal(
            principal.practice_id, denial_id, body.statement, tuple(body.attachments), principal.subject),
            services.rules, now=clock.now())


@router.get("/appeals", dependencies=[audited("appeal")],
            summary="Appeals by filing deadline: `deadline=due` (not filed, deadline within 14 days) or `late`")
async def list_appeals(principal: Reader, services: ServicesDep, clock: ClockDep,
                       deadline: Literal["due", "late", "open"] | None = None,
                       status: Literal["prepared", "filed", "overturned", "partially_overturned", "upheld",
                                       "withdrawn"] | None = None,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return {"items": await appeals.list_appeals(session, principal.practice_id, clock.today(),
                                                    deadline=deadline, status=status, limit=limit)}


@router.get("/appeals/{appeal_id}/letter", dependencies=[audited("appeal_letter")],
            summary="The appeal letter (PDF) from the denial category's template",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
async def appeal_letter(appeal_id: AppealId, principal: Reader, services: ServicesDep) -> Response:
    async with services.db.sessions() as session:
        pdf = await appeals.letter(session, principal.practice_id, appeal_id, services.rules)
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": f'inline; filename="appeal-{appeal_id}.pdf"'})


@router.post("/appeals/{appeal_id}/filing", dependencies=[audited("appeal", "file")],
             summary="The appeal was sent to the payer: its work item waits on the payer's decision",
             description="Record the decision by resolving the appeal's work item "
                         "(`POST /v1/work-items/{id}/actions`, resolution overturned, partially_overturned, upheld "
                         "or withdrawn); the payment an overturn brings posts through the normal 835 path and is "
                         "tied to the appeal.")
async def file_appeal(appeal_id: AppealId, body: FilingIn, principal: Writer, services: ServicesDep,
                      clock: ClockDep) -> dict[str, Any]:
    async with services.uows() as uow:
        return await appeals.file_appeal(uow, principal.practice_id, appeal_id, body.filed_on or clock.today(),
                                         principal.subject, clock.now())


@router.get("/reports/appeals", dependencies=[audited("appeal_report")],
            summary="Appeal success rate by payer and denial category, pending appeals, money recovered")
async def appeal_report(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await appeals.report(session, principal.practice_id)


@router.get("/plb-recoupments", dependencies=[audited("plb_recoupment")],
            summary="PLB adjustments whose reason names a claim (WO, 72, FB): the claim each is tied to",
            description="Tied by the system when the PLB's reference is one of our claims' payer claim number or "
                        "patient control number; otherwise `claim_id` is null and the PLB waits in the "
                        "`plb_recoupments` work queue for a person (resolution tied_to_claim with the claim's id).")
async def list_plb_recoupments(principal: Reader, services: ServicesDep,
                               tied: bool | None = None,
                               limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return {"items": await views.plb_recoupment_rows(session, principal.practice_id, tied=tied, limit=limit)}
