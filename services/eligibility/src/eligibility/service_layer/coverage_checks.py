"""Coverage checks: a 270 out, the 271 back, the answer decided (``domain.coverage``) and kept.

Every check, whoever asks (the front desk or claims in real time, the nightly batch, a re-check), is kept the same
way (``keep_checks``): the exchange in the history, the benefits on file when the payer said active or inactive,
and an ``eligibility-checked`` event. A real-time answer that carves mental health out to another payer is
followed at once by a check of that payer; unattended checks queue it as a re-check instead.

The payer is called outside any database transaction: no lock is held while a payer takes its time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from rcm_shared.db.types import new_id, utcnow
from rcm_shared.x12 import X12SyntaxError
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

from eligibility.adapters.payer_gateway import PayerGateway
from eligibility.domain.benefits import EligibilityRequest, EligibilityResult, PayerRef
from eligibility.domain.commands import CheckCoverage
from eligibility.domain.coverage import assess_all
from eligibility.domain.exceptions import PayerDidNotAnswer, PayerUnavailable, UnsendableInquiry
from eligibility.domain.model import BenefitsOnFile, CheckOrigin, CoverageCheck, InsuranceOnFile
from eligibility.domain.telehealth import TelehealthPhrases
from eligibility.edi.x12_270 import build_270
from eligibility.edi.x12_271 import read_271
from eligibility.service_layer.unit_of_work import EligibilityUnitOfWork


@dataclass(frozen=True)
class PayerLink:
    """How this deployment reaches payers: the gateway and the envelope identities of our interchanges."""

    gateway: PayerGateway
    parties: InterchangeParties


@dataclass(frozen=True)
class CheckOutcome:
    check_id: str
    results: list[EligibilityResult]
    follow_up_check_ids: list[str]
    unreadable_response: dict[str, Any] | None = None


@dataclass(frozen=True)
class Exchanged:
    """One real-time 270/271 round trip, decided but not yet kept."""

    trace_number: str
    request_x12: str
    response_x12: str
    results: list[EligibilityResult]
    unreadable_response: dict[str, Any] | None


def new_trace_number() -> str:
    return uuid.uuid4().hex[:30]  # TRN02: unique, never PHI


def read_answer(response_x12: str, phrases: TelehealthPhrases) -> tuple[list[EligibilityResult],
                                                                          dict[str, Any] | None]:
    """The 271's results, or none and where it broke when the payer answered something that is not a 271."""
    try:
        return assess_all(read_271(response_x12, phrases)), None
    except X12SyntaxError as exc:  # kept (for the payer's support desk) and said, never a 500
        return [], exc.as_dict()


async def exchange_270(uows: Callable[[], EligibilityUnitOfWork], payer: PayerLink, phrases: TelehealthPhrases,
                       inquiry: Callable[[str], EligibilityRequest], *, now: datetime) -> Exchanged:
    """Write the 270 for ``inquiry(trace number)``, send it, read and decide the 271; nothing kept yet.
    ``UnsendableInquiry``: the values cannot be written into a 270; ``PayerUnavailable``: no answer."""
    async with uows() as uow:
        icn = await uow.control_numbers.next("interchange")
    trace = new_trace_number()
    try:
        request_x12 = build_270(inquiry(trace), ControlNumbers(icn, icn, 1, now), payer.parties)
    except ValueError as exc:  # X12ValueError names the segment and element, never the value
        raise UnsendableInquiry(str(exc)) from exc
    response_x12 = await payer.gateway.exchange(request_x12)
    results, unreadable = read_answer(response_x12, phrases)
    return Exchanged(trace, request_x12, response_x12, results, unreadable)


async def keep_checks(uow: EligibilityUnitOfWork, checks: Sequence[CoverageCheck]) -> None:
    """The exchanges in the history, the benefits they leave on file, and their events (at commit)."""
    await uow.checks.add(checks)
    await uow.benefits.save([b for b in (BenefitsOnFile.from_check(c) for c in checks) if b is not None])
    uow.add(*checks)


def check_from(exchanged: Exchanged, *, practice_id: str, patient_id: str, payer_id: str, service_date: date,
               origin: CheckOrigin, follows_check_id: str | None = None) -> CoverageCheck:
    return CoverageCheck.record_answer(
        check_id=new_id(), practice_id=practice_id, patient_id=patient_id, payer_id=payer_id,
        service_date=service_date, trace_number=exchanged.trace_number, request_x12=exchanged.request_x12,
        response_x12=exchanged.response_x12, results=exchanged.results, unreadable=exchanged.unreadable_response,
        origin=origin, checked_at=utcnow(), follows_check_id=follows_check_id)


async def check_coverage(uows: Callable[[], EligibilityUnitOfWork], payer: PayerLink, phrases: TelehealthPhrases,
                         command: CheckCoverage, *, now: datetime, follow_carve_outs: bool = True) -> CheckOutcome:
    """Ask the payer now, keep the answer and the member details (for unattended checks later), and follow a
    carve-out to the payer it names. ``PayerDidNotAnswer``: nothing was kept; ask again later."""
    insurance = InsuranceOnFile(command.practice_id, command.patient_id, command.payer, command.provider,
                                command.subscriber, command.dependent, utcnow())
    try:
        exchanged = await exchange_270(uows, payer, phrases, lambda trace: insurance.inquiry(
            command.service_date, trace, command.service_types), now=now)
    except PayerUnavailable as exc:
        raise PayerDidNotAnswer from exc
    check = check_from(exchanged, practice_id=command.practice_id, patient_id=command.patient_id,
                       payer_id=command.payer.payer_id, service_date=command.service_date,
                       origin=CheckOrigin.REQUEST, follows_check_id=command.follows_check_id)
    async with uows() as uow:
        await keep_checks(uow, [check])
        await uow.insurance.save([insurance])
    follow_ups: list[str] = []
    if follow_carve_outs:
        for carve_out in check.carve_outs_to_follow():
            follow = await check_coverage(uows, payer, phrases, CheckCoverage(
                practice_id=command.practice_id, patient_id=command.patient_id,
                payer=PayerRef(carve_out.identifier, carve_out.name[:60] or carve_out.identifier),
                provider=command.provider, subscriber=command.subscriber, service_date=command.service_date,
                dependent=command.dependent, follows_check_id=check.check_id), now=now, follow_carve_outs=False)
            follow_ups.append(follow.check_id)
    return CheckOutcome(check.check_id, exchanged.results, follow_ups, exchanged.unreadable_response)
