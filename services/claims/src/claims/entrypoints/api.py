"""HTTP routes of claims: the EHR posts visits; billers work claims. Thin: parse, one call, return."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from rcm_shared.http.audit import AuditEntry, audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.deps import ClockDep, DatabaseDep
from rcm_shared.http.idempotency import run_idempotent
from rcm_shared.http.pagination import cursor_after, encode_cursor

from claims.adapters.claim_document import to_document
from claims.adapters.repository import load_claim, readable_claim
from claims.domain.commands import ScrubClaim, VoidClaim
from claims.domain.exceptions import ClaimNotFound
from claims.domain.model import Claim, ClaimStatus
from claims.entrypoints.dependencies import ServicesDep
from claims.entrypoints.schemas import (
    PAYER_ID_PATTERN,
    AmendmentIn,
    BatchOut,
    ClaimOut,
    ClaimPage,
    CorrectionIn,
    VisitIn,
    VisitOut,
)
from claims.service_layer import corrections, scrub, submission, views
from claims.service_layer.visits import RecordedVisit

router = APIRouter(prefix="/v1")
Reader = Annotated[Principal, require_scope("claims:read")]
Writer = Annotated[Principal, require_scope("claims:write")]
ClaimId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
AfterClaim = Annotated[dict[str, Any] | None, cursor_after("claim_id")]


def _waited(claim: Claim) -> int | None:
    if claim.awaiting_since is None:
        return None
    return max(0, int((datetime.now(UTC) - claim.awaiting_since).total_seconds()))


def _claim_out(claim: Claim, row: Any, history: list[dict[str, Any]] | None = None) -> ClaimOut:
    return ClaimOut(
        claim_id=claim.claim_id, visit_id=claim.visit_id, status=claim.status.value, payer_id=claim.payer.payer_id,
        patient_control_number=claim.patient_control_number, frequency_code=claim.frequency_code,
        total_charge=claim.total_charge, paid=claim.paid, patient_responsibility=claim.patient_responsibility,
        date_of_service=claim.date_of_service, findings=[f.as_dict() for f in claim.findings],
        # each line's place of service as the 837P sends it (SV105 when it differs from the claim's CLM05-1)
        lines=[{**to_document(ln), "place_of_service": ln.place_of_service or claim.place_of_service}
               for ln in claim.lines], payer_claim_number=claim.payer_claim_number,
        replaces_claim_id=claim.replaces_claim_id, batch_id=getattr(row, "batch_id", None),
        submitted_at=getattr(row, "submitted_at", None), history=history or [],
        awaiting_facts=list(claim.awaiting), awaiting_since=claim.awaiting_since, waited_seconds=_waited(claim))


def _stored_out(row: Any) -> ClaimOut:
    """A claim whose document cannot be read back (held with DOCUMENT_UNREADABLE): its columns, so the work
    queue still lists it instead of failing whole."""
    return ClaimOut(
        claim_id=row.claim_id, visit_id=row.visit_id, status=row.status, payer_id=row.payer_id,
        patient_control_number=row.patient_control_number, frequency_code=row.frequency_code,
        total_charge=row.total_charge, paid=row.paid, patient_responsibility=row.patient_responsibility,
        date_of_service=row.date_of_service, findings=list(row.findings or []), lines=[],
        payer_claim_number=row.payer_claim_number, replaces_claim_id=row.replaces_claim_id, batch_id=row.batch_id,
        submitted_at=row.submitted_at, history=[])


@router.post("/visits", status_code=201, response_model=VisitOut, tags=["visits"],
             summary="Post a completed, signed visit",
             description="Codes the visit (CPT, units, modifiers, place of service; every line names the rule "
                         "that chose it) and raises visit-completed. An insured visit becomes a claim that waits "
                         "(awaiting_facts) until authorizations and eligibility have announced its facts, then is "
                         "scrubbed; a self-pay visit is charged to the patient's account. Send an Idempotency-Key.")
async def post_visit(body: VisitIn, principal: Writer, request: Request, services: ServicesDep,
                     audit: Annotated[AuditEntry, audited("visit", "create")]) -> Response:
    def respond(recorded: RecordedVisit) -> tuple[int, VisitOut]:
        audit.object_id = recorded.visit_id
        return 201, VisitOut(
            visit_id=recorded.visit_id, external_visit_id=body.external_visit_id, billing_model=body.billing_model,
            coded_services=[{**to_document(ln), "rule_id": ln.rule_id} for ln in recorded.coding.lines],
            coding_findings=[f.as_dict() for f in recorded.coding.findings])

    # recorded with the other visits in flight, in one transaction with its audit and idempotency rows
    return await services.intake.submit(request, principal, "visit", body.to_command(principal.practice_id),
                                        respond)


@router.get("/claims", response_model=ClaimPage, tags=["claims"], dependencies=[audited("claim")],
            summary="Claims by status: the work queues (held, rejected, denied ...)")
async def list_claims(principal: Reader, db: DatabaseDep, after: AfterClaim, status: ClaimStatus | None = None,
                      payer_id: Annotated[str | None, Query(max_length=40, pattern=PAYER_ID_PATTERN)] = None,
                      visit_id: Annotated[str | None, Query(max_length=36, pattern=r"^[A-Za-z0-9_.:-]+$")] = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100) -> ClaimPage:
    async with db.transaction() as session:
        rows = await views.claim_rows(session, principal.practice_id, status=status, payer_id=payer_id,
                                      visit_id=visit_id, after=str(after["claim_id"]) if after else None,
                                      limit=limit + 1)
    items = [_claim_out(claim, r) if (claim := readable_claim(r, "api")) is not None else _stored_out(r)
             for r in rows[:limit]]
    return ClaimPage(items=items, next_cursor=encode_cursor({"claim_id": items[-1].claim_id})
                     if len(rows) > limit else None)


@router.get("/claims/{claim_id}", response_model=ClaimOut, tags=["claims"], dependencies=[audited("claim")],
            summary="A claim, its findings and history")
async def get_claim(claim_id: ClaimId, principal: Reader, db: DatabaseDep) -> ClaimOut:
    async with db.transaction() as session:
        loaded = await load_claim(session, principal.practice_id, claim_id)
        history = await views.claim_history(session, claim_id) if loaded else []
        inquiries = await views.claim_status_inquiries(session, claim_id) if loaded else []
    if loaded is None:
        raise ClaimNotFound()
    out = _claim_out(loaded[0], loaded[1], history)
    out.status_inquiries = inquiries
    return out


@router.post("/claims/{claim_id}/corrections", status_code=201, response_model=ClaimOut, tags=["claims"],
             dependencies=[audited("claim", "correct")],
             summary="Correct a rejected or denied claim and resubmit it (replacement, frequency 7)")
async def correct(claim_id: ClaimId, body: CorrectionIn, principal: Writer, db: DatabaseDep, request: Request,
                  clock: ClockDep, services: ServicesDep) -> JSONResponse:
    command = body.to_command(principal.practice_id, claim_id)

    async def create(session):  # type: ignore[no-untyped-def]
        async with services.uows.joining(session) as uow:
            replacement = await corrections.correct_claim(uow, command, services.rules, today=clock.today(),
                                                          now=clock.now())
        return 201, _claim_out(replacement, None)

    return await run_idempotent(request, db, principal, f"correction:{claim_id}", create)


@router.post("/claims/{claim_id}/void", status_code=201, response_model=ClaimOut, tags=["claims"],
             dependencies=[audited("claim", "void")],
             summary="Void a claim the payer adjudicated (frequency 8)")
async def void(claim_id: ClaimId, principal: Writer, db: DatabaseDep, request: Request, clock: ClockDep,
               services: ServicesDep) -> JSONResponse:
    command = VoidClaim(principal.practice_id, claim_id)

    async def create(session):  # type: ignore[no-untyped-def]
        async with services.uows.joining(session) as uow:
            voided = await corrections.void_claim(uow, command, now=clock.now())
        return 201, _claim_out(voided, None)

    return await run_idempotent(request, db, principal, f"void:{claim_id}", create)


@router.post("/claims/{claim_id}/amendments", response_model=ClaimOut, tags=["claims"],
             summary="Fix a held claim's facts (diagnoses and pointers, modifiers, authorization number, rendering "
                     "or supervising clinician, places of service, payer order) and scrub it again",
             description="The claim was never sent: it is changed in place. Scrubbed clean, it is released to the "
                         "next submission batch and its held-claims work item closes (`released`); still held, "
                         "`findings` say why. Only a held claim is amended (409 otherwise); a claim the payer "
                         "answered is corrected instead (`POST /claims/{id}/corrections`).")
async def amend(claim_id: ClaimId, body: AmendmentIn, principal: Writer, services: ServicesDep, clock: ClockDep,
                audit: Annotated[AuditEntry, audited("claim", "amend")]) -> ClaimOut:
    audit.object_id = claim_id
    async with services.uows() as uow:
        claim = await corrections.amend_held_claim(uow, body.to_command(principal.practice_id, claim_id),
                                                   services.rules, today=clock.today(), now=clock.now())
        await audit.record_in(uow.session)
    return _claim_out(claim, None)


@router.post("/claims/{claim_id}/scrub", response_model=ClaimOut, tags=["claims"],
             summary="Run the edits again on a held claim (after fixing credentialing, eligibility ...), from "
                     "claims' copy of those facts; a claim whose facts are not on file waits for them")
async def scrub_again(claim_id: ClaimId, principal: Writer, db: DatabaseDep, services: ServicesDep,
                      audit: Annotated[AuditEntry, audited("claim", "scrub")], clock: ClockDep) -> ClaimOut:
    async with services.uows() as uow:
        claim = await scrub.rescrub(uow, ScrubClaim(principal.practice_id, claim_id), services.rules,
                                    today=clock.today(), now=clock.now())
        await audit.record_in(uow.session)
    return _claim_out(claim, None)


@router.post("/submission-batches", tags=["submission"], dependencies=[audited("submission_batch", "send")],
             summary="Batch every clean claim into 837P files now and send them to the clearinghouse")
async def submit_now(principal: Writer, db: DatabaseDep, services: ServicesDep, clock: ClockDep) -> dict[str, Any]:
    created = await submission.batch_ready_claims(db, services.submission, services.rules, clock=clock)
    sent = await submission.send_queued_batches(db, services.clearinghouse)
    return {"batches_created": len(created), "batches_sent": sent}


@router.get("/submission-batches", response_model=list[BatchOut], tags=["submission"],
            dependencies=[audited("submission_batch")],
            summary="837P batches and their state (queued, submitted, accepted, rejected, refused)")
async def list_batches(principal: Reader, db: DatabaseDep) -> list[BatchOut]:
    async with db.sessions() as session:
        rows = await views.batch_rows(session, principal.practice_id, limit=200)
    return [BatchOut(batch_id=r.batch_id, payer_id=r.payer_id, file_name=r.file_name, claim_count=r.claim_count,
                     status=r.status, interchange_control_number=r.interchange_control_number,
                     reason=r.last_error if r.status in ("refused", "rejected") else None,
                     interchange_acknowledgment=r.interchange_ack, interchange_note=r.interchange_note)
            for r in rows]


@router.get("/reports/claims", tags=["reports"], dependencies=[audited("claims_report")],
            summary="Clean-claim rate, claims by status, lag to submission")
async def claims_report(principal: Reader, db: DatabaseDep) -> dict[str, Any]:
    async with db.sessions() as session:
        return await views.claims_report(session, principal.practice_id)


@router.get("/reports/awaiting-facts", tags=["reports"], dependencies=[audited("claims_report")],
            summary="Claims waiting for another service's facts: how many, for what, the longest wait, and how "
                    "fresh claims' copy of those facts is")
async def awaiting_facts_report(principal: Reader, db: DatabaseDep) -> dict[str, Any]:
    async with db.sessions() as session:
        return await views.awaiting_facts(session, principal.practice_id, now=datetime.now(UTC))
