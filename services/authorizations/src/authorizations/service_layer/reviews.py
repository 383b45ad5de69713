"""Prior-authorization requests: sent over the payer's channel, answered (then or later), recorded.

Approved / modified / denied: the authorization goes to the unit ledger (and ``authorization-changed``); pended: a
work item with the day to follow up; rejected (AAA / PAS errors) or unreadable: a work item saying what to fix;
a cancellation voids the certification it names from that day on. The payer is called outside any database
transaction; request and response bodies (PHI) are stored with the request, never logged.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from rcm_shared.clock import Clock
from rcm_shared.db.types import new_id
from rcm_shared.x12.envelope import ControlNumbers

from authorizations.adapters.utilization_review import UtilizationReview
from authorizations.domain.commands import ReceiveReviewAnswer, RequestAuthorization
from authorizations.domain.exceptions import UnknownTrace
from authorizations.domain.model import PriorAuthorizationRequest, RequestDecision
from authorizations.domain.review import InterpretedAnswer, ReviewResponse, interpret_answer
from authorizations.domain.rulebook import Rulebook
from authorizations.edi.pas import pas_trace_number, read_pas_response
from authorizations.edi.pas_resources import PasFormatError
from authorizations.edi.x12_278_response import read_278_response
from authorizations.service_layer.ledger import settle
from authorizations.service_layer.unit_of_work import AuthorizationsUnitOfWork, UnitsOfWork


@dataclass(frozen=True)
class RecordedAnswer:
    """What a payer's answer did: the review's new state and, when it decided an authorization (certified, denied
    or cancelled), that authorization's number (``authorization``)."""

    request_id: str
    trace_number: str
    channel: str
    decision: str
    action_code: str | None
    reason_code: str | None
    reason: str | None
    certification_number: str | None
    rejections: list[dict[str, Any]]
    follow_up_on: date | None
    authorization: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def request_authorization(uows: UnitsOfWork, review: UtilizationReview, command: RequestAuthorization, *,
                                rules: Rulebook, clock: Clock) -> RecordedAnswer:
    """Send the request over the payer's channel (outside any transaction), then record what came back.

    ``ReviewUnavailable`` (nothing decided), ``NoReviewRoute`` and ``X12ValueError`` (unsendable) propagate."""
    async with uows() as uow:
        icn = await uow.requests.next_control_number()
    exchange = await review.submit(command.request, ControlNumbers(icn, icn, 1, clock.now()))
    now = clock.now()  # requested_at: follow-ups count from the practice's date of it
    request = PriorAuthorizationRequest(new_id(), command.practice_id, command.patient_id, command.request,
                                        exchange.channel, exchange.request_body, now)
    answer = interpret_answer(exchange.response, exchange.unreadable, command.request, command.patient_id,
                              rules.review_routes, clock.date_at(now))
    async with uows() as uow:
        recorded = await _record(uow, request, answer, storable(exchange.response_body), rules=rules,
                                 today=clock.date_at(now), at=now)
        await uow.requests.add(request)
    return recorded


async def receive_review_answer(uow: AuthorizationsUnitOfWork, command: ReceiveReviewAnswer, *, rules: Rulebook,
                                clock: Clock) -> RecordedAnswer:
    """A payer's later answer to a review (an unsolicited 278 response, or a PAS response bundle), matched to the
    request by its trace number and applied like a first answer.

    Raises ``X12SyntaxError`` / ``PasFormatError`` (unreadable: nothing is recorded), ``UnknownTrace`` (no such
    request for this practice) and ``ReviewConflict`` (the review cannot take this answer)."""
    data: Any = None
    x12_answer: ReviewResponse | None = None
    if command.media == "fhir":
        try:
            data = json.loads(command.body)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
            raise PasFormatError("the body is not JSON") from None
        trace = pas_trace_number(data)
    else:
        x12_answer = read_278_response(command.body)
        trace = x12_answer.trace_number
    request = await uow.requests.get_by_trace(command.practice_id, trace)
    if request is None:
        raise UnknownTrace("no authorization request with this trace number")
    response = x12_answer if x12_answer is not None else read_pas_response(data, request.request)
    answer = interpret_answer(response, "", request.request, request.patient_id, rules.review_routes,
                              clock.date_at(request.requested_at), request.authorization_number)
    recorded = await _record(uow, request, answer, storable(command.body), rules=rules, today=clock.today(),
                             at=clock.now())
    await uow.requests.save(request)
    return recorded


async def _record(uow: AuthorizationsUnitOfWork, request: PriorAuthorizationRequest, answer: InterpretedAnswer,
                  body: str, *, rules: Rulebook, today: date, at: datetime) -> RecordedAnswer:
    """``today``: the practice's date the answer is recorded (a cancellation takes effect on it)."""
    request.check_answer(answer.decision)  # before anything changes for it
    cancelled: str | None = None
    shown: str | None = None
    if answer.authorization is not None or answer.cancels:
        group = (request.patient_id, request.payer_id)
        numbers = [*answer.cancels, *([answer.authorization.number] if answer.authorization else [])]
        ledger = await uow.ledgers.get(request.practice_id, {group}, rules.ledger, numbers=numbers)
        if answer.decision is RequestDecision.CANCELLED:
            cancelled = ledger.certification_named(answer.cancels, *group)
            if cancelled is not None and ledger.cancel(cancelled, today):
                shown = cancelled
        if answer.authorization is not None:
            ledger.record(answer.authorization, new_id=new_id(), decided_by_payer=True)
            shown = answer.authorization.number
        await settle(uow, ledger, rules=rules, today=today, at=at)
    number = (answer.authorization.number if answer.authorization is not None
              else cancelled or answer.certification_number or answer.administrative_reference)
    request.record_answer(answer.decision, at=at, body=body, action_code=answer.action_code,
                          authorization_number=number, reason=answer.reason, rejections=list(answer.rejections),
                          follow_up_on=answer.follow_up_on)
    return RecordedAnswer(
        request_id=request.request_id, trace_number=request.trace_number, channel=request.channel,
        decision=answer.decision.value, action_code=answer.action_code, reason_code=answer.reason_code,
        reason=answer.reason, certification_number=answer.certification_number, rejections=list(answer.rejections),
        follow_up_on=answer.follow_up_on, authorization=shown)


def storable(body: str) -> str:
    """A payer's answer as it can be kept: PostgreSQL text cannot hold NUL, and losing the whole record (the
    request was sent, the payer may have decided) over one character would be worse than replacing it."""
    return body.replace("\x00", "\ufffd")
