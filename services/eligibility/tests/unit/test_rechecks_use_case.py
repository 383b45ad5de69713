"""Automatic re-checks over a fake unit of work: queued once per member and payer window, noted from eligibility
denials on the practice's date, sent within the payer's rate, retried, then handed to a person."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from eligibility.domain.benefits import Member, PayerRef, ProviderRef
from eligibility.domain.model import BenefitsOnFile, InsuranceOnFile, RecheckReason, RecheckStatus
from eligibility.domain.work_queue import WorkItemKind
from eligibility.sandbox.gateway import SandboxPayerGateway
from eligibility.service_layer import rechecks
from eligibility.service_layer.coverage_checks import PayerLink
from rcm_shared.contracts import DenialRaisedV1, EligibilityCheckedV1

from .conftest import PARTIES, sandbox_payer, shipped_plan_table, shipped_rules
from .fakes import FakeUnitOfWork

RULES = shipped_rules()
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
DAY = date(2026, 12, 2)


def on_file(uow: FakeUnitOfWork, patient_id: str = "pt-1", member_id: str = "SBX000001") -> None:
    uow.insurance.rows[("practice-a", patient_id, "SBXHP")] = InsuranceOnFile(
        "practice-a", patient_id, PayerRef("SBXHP", "SANDBOX"), ProviderRef("1234567893", "RIVERSIDE"),
        Member("SAMPLE", "ALEX", date(1988, 4, 12), member_id), None, NOW)


def denial(patient_id: str, *, category: str = "eligibility", codes: tuple[str, ...] = ("27",)) -> DenialRaisedV1:
    return DenialRaisedV1(denial_id=f"d-{patient_id}", claim_id="c-1", practice_id="practice-a",
                          patient_id=patient_id, payer_id="SBXHP", era_id="e-1", category=category,
                          reason_codes=list(codes), amount=Decimal("120.00"), suggested_action="verify",
                          queue="billing")


async def queue(uow: FakeUnitOfWork, patient_id: str = "pt-1", now: datetime = NOW) -> str | None:
    async with uow:
        return await rechecks.enqueue_recheck(uow, RULES, practice_id="practice-a", patient_id=patient_id,
                                              payer_id="SBXHP", reason=RecheckReason.ELIGIBILITY_DENIAL,
                                              service_date=DAY, now=now)


async def test_one_open_recheck_per_member_and_none_again_inside_the_payers_window(uow: FakeUnitOfWork) -> None:
    assert await queue(uow) is not None
    assert await queue(uow) is None, "open already"
    (request,) = uow.rechecks.rows.values()
    request.status, request.sent_at = RecheckStatus.DONE, NOW
    window = RULES.payer_limits.for_payer("SBXHP", DAY).min_minutes_between_rechecks
    assert await queue(uow, now=NOW + timedelta(minutes=window - 1)) is None, "sent inside the window"
    assert await queue(uow, now=NOW + timedelta(minutes=window + 1)) is not None


async def test_an_eligibility_denial_is_noted_on_the_practices_date_and_rechecked(uow: FakeUnitOfWork) -> None:
    evening = datetime(2026, 12, 3, 2, 30, tzinfo=UTC)  # 21:30 on 2 December in New York
    uow.benefits.rows[("practice-a", "pt-1", "SBXHP")] = BenefitsOnFile(
        "practice-a", "pt-1", "SBXHP", "chk-1", True, date(2026, 11, 20), None, None, {}, None, None, None, NOW)
    on_file(uow)
    async with uow:
        await rechecks.note_eligibility_denials(uow, [denial("pt-1"), denial("pt-9"),
                                                      denial("pt-1", category="coding", codes=("16",))],
                                                RULES, now=evening)

    assert uow.benefits.rows[("practice-a", "pt-1", "SBXHP")].last_eligibility_denial_on == DAY
    (request,) = uow.rechecks.rows.values()
    assert (request.patient_id, request.reason, request.service_date) == ("pt-1", "eligibility_denial", DAY)
    (item,) = uow.work_items.open_items()
    assert (item.patient_id, item.kind, item.service_date) == ("pt-9", WorkItemKind.NO_INSURANCE_ON_FILE, DAY)


async def test_due_rechecks_go_out_within_the_payers_rate_and_are_filed_as_rechecks(uow: FakeUnitOfWork) -> None:
    rate = RULES.payer_limits.for_payer("SBXHP", DAY).realtime_per_minute
    for n in range(rate + 2):
        on_file(uow, f"pt-{n}")
        await queue(uow, f"pt-{n}")
    assert await rechecks.send_due_rechecks(uow, sandbox_payer(), RULES, now=NOW) == rate
    done = [r for r in uow.rechecks.rows.values() if r.status == RecheckStatus.DONE]
    assert len(done) == rate and all(r.check_id for r in done)
    assert len(uow.outbox.payloads(EligibilityCheckedV1)) == rate
    assert {c.origin for c in uow.checks.rows} == {"recheck"}
    assert await rechecks.send_due_rechecks(uow, sandbox_payer(), RULES, now=NOW + timedelta(seconds=30)) == 0
    assert await rechecks.send_due_rechecks(uow, sandbox_payer(), RULES, now=NOW + timedelta(seconds=61)) == 2


class Flaky(SandboxPayerGateway):
    async def exchange(self, request_270: str) -> str:
        raise RuntimeError("an unwrapped transport bug")


async def test_a_failing_recheck_is_retried_by_the_rules_then_handed_to_a_person(uow: FakeUnitOfWork) -> None:
    on_file(uow)
    await queue(uow)
    payer = PayerLink(Flaky(shipped_plan_table()), PARTIES)
    retries = RULES.payer_limits.for_payer("SBXHP", DAY).retry_after_minutes
    clock = NOW
    for _ in range(len(retries) + 1):
        assert await rechecks.send_due_rechecks(uow, payer, RULES, now=clock) == 1
        clock += timedelta(days=1)
    assert await rechecks.send_due_rechecks(uow, payer, RULES, now=clock) == 0, "never an endless resend"
    (request,) = uow.rechecks.rows.values()
    assert (request.status, request.attempts, request.last_error) == (RecheckStatus.FAILED, len(retries) + 1,
                                                                      "RuntimeError")
    (item,) = uow.work_items.open_items()
    assert item.kind == WorkItemKind.PAYER_UNAVAILABLE and item.recheck_id == request.request_id


async def test_a_recheck_without_member_details_goes_to_a_person_at_once(uow: FakeUnitOfWork) -> None:
    await queue(uow, "pt-unknown")
    assert await rechecks.send_due_rechecks(uow, sandbox_payer(), RULES, now=NOW) == 1
    (request,) = uow.rechecks.rows.values()
    assert (request.status, request.last_error) == (RecheckStatus.FAILED, "no_insurance_on_file")
    assert [i.kind for i in uow.work_items.open_items()] == [WorkItemKind.NO_INSURANCE_ON_FILE]
