"""HTTP routes of remittance: ERA intake, exceptions, denial queues, unapplied cash, the books."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from rcm_shared.http.audit import record_audit
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.deps import DatabaseDep, RequestIdDep
from rcm_shared.http.errors import ProblemError
from rcm_shared.http.idempotency import run_idempotent
from rcm_shared.http.pagination import decode_cursor, encode_cursor
from sqlalchemy import func, select

from remittance.adapters.orm import claim_postings, denials, era_exceptions, eras, platform, submitted_claims
from remittance.service_layer import handlers

SERVICE = "remittance"
router = APIRouter(prefix="/v1", tags=["remittance"])
Reader = Annotated[Principal, require_scope("remittance:read")]
Writer = Annotated[Principal, require_scope("remittance:write")]
MAX_ERA_BYTES = 64 * 1024 * 1024


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
async def post_era(request: Request, principal: Writer, db: DatabaseDep, request_id: RequestIdDep) -> JSONResponse:
    content, file_name = await _era_bytes(request)
    if not content.strip():
        raise ProblemError(422, "validation", "Request is invalid",
                           errors=[{"field": "body", "code": "empty", "message": "the 835 file is empty"}])
    if not content.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"ISA"):
        raise ProblemError(422, "not-x12", "This is not an X12 interchange",
                           errors=[{"field": "body", "code": "isa", "message": "must start with an ISA segment"}])
    command = handlers.ReceiveEra(principal.practice_id, content, file_name, "api")

    async def create(session):  # type: ignore[no-untyped-def]
        intake = await handlers.receive_era(session, command)
        await record_audit(session, platform, principal, service=SERVICE, action="create", object_type="era",
                           object_id=intake.era_id, request_id=request_id)
        return (200 if intake.duplicate else 202), EraAccepted(era_id=intake.era_id, duplicate=intake.duplicate,
                                                               status=intake.status)

    return await run_idempotent(request, db, principal, "era", create, body_fingerprint=content)


@router.get("/eras", summary="ERAs received, newest first (API, clearinghouse mailbox, bulk)")
async def list_eras(principal: Reader, db: DatabaseDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
                    ) -> dict[str, Any]:
    async with db.sessions() as session:
        rows = (await session.execute(select(eras.c.era_id, eras.c.status, eras.c.file_name, eras.c.received_via,
                                             eras.c.received_at, eras.c.summary).where(
            eras.c.practice_id == principal.practice_id).order_by(eras.c.received_at.desc()).limit(limit))).all()
    return {"items": [dict(r._mapping) for r in rows]}


@router.get("/eras/{era_id}", summary="An ERA's processing status and totals")
async def get_era(era_id: str, principal: Reader, db: DatabaseDep, request_id: RequestIdDep) -> dict[str, Any]:
    async with db.transaction() as session:
        row = (await session.execute(select(eras.c.era_id, eras.c.status, eras.c.received_at, eras.c.processed_at,
                                            eras.c.summary, eras.c.size_bytes, eras.c.received_via).where(
            eras.c.era_id == era_id, eras.c.practice_id == principal.practice_id))).first()
        postings = (await session.execute(select(claim_postings).where(claim_postings.c.era_id == era_id,
                                          claim_postings.c.practice_id == principal.practice_id))).all()
        await record_audit(session, platform, principal, service=SERVICE, action="read", object_type="era",
                           object_id=era_id, outcome="success" if row else "not_found", request_id=request_id)
    if row is None:
        raise ProblemError(404, "not-found", "No such ERA")
    return {**dict(row._mapping), "postings": [
        {"posting_id": p.posting_id, "claim_id": p.claim_id, "patient_control_number": p.patient_control_number,
         "claim_status_code": p.claim_status_code, "charge": p.charge, "paid": p.paid,
         "patient_responsibility": p.patient_responsibility, "unapplied": bool(p.unapplied), **p.detail}
        for p in postings]}


@router.get("/era-exceptions", summary="Work queue: ERAs or transactions that could not be posted")
async def list_exceptions(principal: Reader, db: DatabaseDep, status: str = "open") -> dict[str, Any]:
    async with db.sessions() as session:
        rows = (await session.execute(select(era_exceptions).where(
            era_exceptions.c.practice_id == principal.practice_id, era_exceptions.c.status == status)
            .order_by(era_exceptions.c.raised_at.desc()).limit(500))).all()
    return {"items": [dict(r._mapping) for r in rows]}


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


@router.get("/denials", summary="Work queue: classified denials by queue (senior, clinical liaison, billing)")
async def list_denials(principal: Reader, db: DatabaseDep, request_id: RequestIdDep, queue: str | None = None,
                       category: str | None = None, status: str = "open",
                       limit: Annotated[int, Query(ge=1, le=500)] = 100, cursor: str | None = None
                       ) -> dict[str, Any]:
    after = decode_cursor(cursor)
    query = select(denials).where(denials.c.practice_id == principal.practice_id, denials.c.status == status)
    if queue:
        query = query.where(denials.c.queue == queue)
    if category:
        query = query.where(denials.c.category == category)
    if after:
        query = query.where(denials.c.denial_id > str(after.get("denial_id", "")))
    async with db.transaction() as session:
        rows = (await session.execute(query.order_by(denials.c.denial_id).limit(limit + 1))).all()
        await record_audit(session, platform, principal, service=SERVICE, action="list", object_type="denial",
                           object_id="*", request_id=request_id)
    items = [DenialOut(**{**dict(r._mapping), "pattern_alert": bool(r.pattern_alert)}) for r in rows[:limit]]
    return {"items": [i.model_dump(mode="json") for i in items],
            "next_cursor": encode_cursor({"denial_id": items[-1].denial_id}) if len(rows) > limit else None}


@router.get("/unapplied-cash", summary="Work queue: payments that matched none of our claims")
async def unapplied(principal: Reader, db: DatabaseDep) -> dict[str, Any]:
    async with db.sessions() as session:
        rows = (await session.execute(select(claim_postings).where(
            claim_postings.c.practice_id == principal.practice_id, claim_postings.c.unapplied == 1)
            .order_by(claim_postings.c.posted_at.desc()).limit(500))).all()
    return {"items": [{"posting_id": r.posting_id, "era_id": r.era_id,
                       "patient_control_number": r.patient_control_number, "paid": str(r.paid),
                       "payer_claim_number": r.payer_claim_number, "posted_at": r.posted_at.isoformat()}
                      for r in rows]}


@router.get("/ledger/trial-balance", summary="Balances per account; debits always equal credits")
async def trial_balance(principal: Reader, db: DatabaseDep) -> dict[str, Any]:
    async with db.sessions() as session:
        return await handlers.trial_balance(session, principal.practice_id)


@router.get("/reports/denials", summary="Denial counts and amounts by category, payer, CPT, clinician, program")
async def denial_report(principal: Reader, db: DatabaseDep) -> dict[str, Any]:
    report: dict[str, Any] = {}
    async with db.sessions() as session:
        for name, column in (("category", denials.c.category), ("payer", denials.c.payer_id),
                             ("procedure_code", denials.c.procedure_code), ("clinician", denials.c.rendering_npi),
                             ("program", denials.c.program)):
            rows = (await session.execute(select(column, func.count(), func.sum(denials.c.amount)).where(
                denials.c.practice_id == principal.practice_id).group_by(column))).all()
            report[f"by_{name}"] = [{"key": k, "count": c, "amount": str(a or 0)} for k, c, a in rows]
        posted = (await session.execute(select(func.count()).select_from(claim_postings).where(
            claim_postings.c.practice_id == principal.practice_id, claim_postings.c.unapplied == 0))).scalar_one()
        denied = (await session.execute(select(func.count(func.distinct(denials.c.claim_id))).where(
            denials.c.practice_id == principal.practice_id))).scalar_one()
    report["claims_posted"] = posted
    report["claims_with_denials"] = denied
    report["denial_rate"] = str(round(Decimal(denied) / Decimal(posted), 4)) if posted else None
    return report


@router.post("/deposits", summary="Import bank deposits (CSV: reference,amount,date) and reconcile with ERAs",
             description="Each deposit whose reference is an ERA's TRN trace number and whose amount matches to the "
                         "cent is matched (Dr cash / Cr undeposited ERA). Returns what is unmatched on either side.",
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def post_deposits(request: Request, principal: Writer, db: DatabaseDep) -> dict[str, Any]:
    from remittance.domain.reconciliation import parse_deposit_csv

    if not request.headers.get("content-type", "").startswith(("text/csv", "text/plain")):
        raise ProblemError(415, "unsupported-media-type", "Send deposits as text/csv")
    try:
        rows = parse_deposit_csv((await request.body()).decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise ProblemError(422, "validation", "Deposit file is invalid",
                           errors=[{"field": "body", "code": "csv", "message": str(exc)}]) from exc
    async with db.transaction() as session:
        return await handlers.import_deposits(session, principal.practice_id, rows)


@router.get("/reconciliation", summary="EFT reconciliation: deposits and ERA payments not yet matched")
async def get_reconciliation(principal: Reader, db: DatabaseDep) -> dict[str, Any]:
    async with db.transaction() as session:
        return await handlers.reconcile_deposits(session, principal.practice_id)


@router.get("/underpayments", summary="Work queue: lines paid below the payer's contracted rate")
async def list_underpayments(principal: Reader, db: DatabaseDep, status: str = "open") -> dict[str, Any]:
    from remittance.adapters.orm import underpayments

    async with db.sessions() as session:
        rows = (await session.execute(select(underpayments).where(
            underpayments.c.practice_id == principal.practice_id, underpayments.c.status == status)
            .order_by(underpayments.c.raised_at.desc()).limit(500))).all()
    return {"items": [{**dict(r._mapping), "expected": str(r.expected), "allowed": str(r.allowed),
                       "shortfall": str(r.shortfall)} for r in rows]}


@router.get("/reports/payments", summary="Days from submission to payment by payer; unmatched cash; ERA exceptions")
async def payment_report(principal: Reader, db: DatabaseDep) -> dict[str, Any]:
    async with db.sessions() as session:
        rows = (await session.execute(select(submitted_claims.c.payer_id, submitted_claims.c.submitted_at,
                                             claim_postings.c.posted_at).join(
            claim_postings, claim_postings.c.claim_id == submitted_claims.c.claim_id).where(
            submitted_claims.c.practice_id == principal.practice_id, claim_postings.c.paid > 0))).all()
        unapplied = (await session.execute(select(func.count(), func.sum(claim_postings.c.paid)).where(
            claim_postings.c.practice_id == principal.practice_id, claim_postings.c.unapplied == 1))).one()
        exceptions: dict[str, int] = dict((await session.execute(select(era_exceptions.c.kind, func.count()).where(
            era_exceptions.c.practice_id == principal.practice_id, era_exceptions.c.status == "open")
            .group_by(era_exceptions.c.kind))).all())
    days: dict[str, list[float]] = {}
    for payer, submitted_at, posted_at in rows:
        days.setdefault(payer, []).append((posted_at - submitted_at).total_seconds() / 86400)
    return {
        "days_to_payment_by_payer": {payer: {"claims": len(v), "average_days": round(sum(v) / len(v), 1),
                                             "median_days": round(sorted(v)[len(v) // 2], 1)}
                                     for payer, v in days.items()},
        "unmatched_cash": {"count": unapplied[0], "amount": str(unapplied[1] or "0.00")},
        "open_era_exceptions": exceptions,
    }
