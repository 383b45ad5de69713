"""The Claim aggregate: legal transitions record events; illegal ones raise; corrections replace."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from claims.domain import events as ev
from claims.domain.exceptions import IllegalClaimTransition, InvalidClaim
from claims.domain.model import Claim, ClaimStatus, Finding, Severity

from .conftest import claim

AT = datetime(2024, 3, 6, 12, 0, tzinfo=UTC)
WARN = Finding("TIMELY_FILING_NEAR", Severity.WARNING, "near", "date_of_service")
ERR = Finding("AUTHORIZATION_MISSING", Severity.ERROR, "missing", "prior_authorization")


def submitted() -> Claim:
    c = claim()
    c.record_scrub([WARN], at=AT)
    c.mark_submitted("batch-1", "000000101", at=AT)
    return c


def accepted(number: str | None = "PAYER-9") -> Claim:
    c = submitted()
    c.accept(number, at=AT)
    return c


def test_happy_path_records_past_tense_events_with_timestamps() -> None:
    c = accepted()
    c.record_adjudication(Decimal("120.00"), Decimal("30.00"), at=AT)
    c.close("settled", at=AT)
    kinds = [type(e) for e in c.pull_events()]
    assert kinds == [ev.ClaimDrafted, ev.ClaimScrubbed, ev.ClaimSubmitted, ev.ClaimAccepted, ev.ClaimAdjudicated,
                     ev.ClaimClosed]
    assert c.status is ClaimStatus.CLOSED
    assert c.pull_events() == []


def test_scrub_with_errors_holds_then_a_clean_scrub_releases() -> None:
    c = claim()
    c.record_scrub([ERR, WARN], at=AT)
    assert c.status is ClaimStatus.HELD
    held = c.events[-1]
    assert isinstance(held, ev.ClaimHeld)
    assert held.error_codes == ("AUTHORIZATION_MISSING",)
    assert held.occurred_at == AT
    c.record_scrub([], at=AT)
    assert c.status.value == "scrubbed"


@pytest.mark.parametrize(
    ("paid", "patient", "partial", "status"),
    [
        (Decimal("120"), Decimal("30"), False, ClaimStatus.PAID),
        (Decimal("60"), Decimal("0"), True, ClaimStatus.PARTIALLY_PAID),
        (Decimal("0"), Decimal("0"), False, ClaimStatus.DENIED),
        (Decimal("0"), Decimal("25"), False, ClaimStatus.PAID),  # all to deductible: adjudicated, not denied
    ],
)
def test_adjudication_outcomes(paid: Decimal, patient: Decimal, partial: bool, status: ClaimStatus) -> None:
    c = accepted()
    c.record_adjudication(paid, patient, any_line_denied=partial, reason_codes=["CO-45"], at=AT)
    assert c.status is status
    assert c.paid == paid.quantize(Decimal("0.01"))


def test_correcting_a_denied_claim_produces_a_replacement() -> None:
    c = accepted("PAYER-9")
    c.record_adjudication(Decimal("0"), Decimal("0"), at=AT)
    replacement = c.correct("c-2", "PCN0002", at=AT, prior_authorization="AUTH88")
    assert c.status is ClaimStatus.CORRECTED
    assert isinstance(c.events[-1], ev.ClaimCorrected)
    assert replacement.status is ClaimStatus.DRAFT
    assert (replacement.frequency_code, replacement.payer_claim_number) == ("7", "PAYER-9")
    assert replacement.replaces_claim_id == "c-1"
    assert replacement.prior_authorization == "AUTH88"
    assert isinstance(replacement.events[0], ev.ClaimDrafted)


def test_correcting_a_front_door_rejection_resends_an_original() -> None:
    c = submitted()
    c.reject(["A7:21"], at=AT)
    replacement = c.correct("c-2", "PCN0002", at=AT)
    assert (replacement.frequency_code, replacement.payer_claim_number) == ("1", None)


def test_correcting_a_denial_without_payer_claim_number_is_refused() -> None:
    c = accepted(None)
    c.record_adjudication(Decimal("0"), Decimal("0"), at=AT)
    with pytest.raises(InvalidClaim):
        c.correct("c-2", "PCN0002")


def test_replacement_refuses_unknown_changes() -> None:
    c = accepted()
    c.record_adjudication(Decimal("0"), Decimal("0"), at=AT)
    with pytest.raises(InvalidClaim):
        c.correct("c-2", "P2", status="paid")


def test_void_produces_frequency_8() -> None:
    c = accepted("PAYER-9")
    c.record_adjudication(Decimal("120"), Decimal("0"), at=AT)
    void = c.void("c-3", "PCN0003", at=AT)
    assert c.status is ClaimStatus.VOIDED
    assert (void.frequency_code, void.payer_claim_number, void.lines) == ("8", "PAYER-9", c.lines)


def test_appeal_then_paid() -> None:
    c = accepted()
    c.record_adjudication(Decimal("0"), Decimal("0"), at=AT)
    c.appeal("APL-1", at=AT)
    assert c.status is ClaimStatus.APPEALED
    c.record_adjudication(Decimal("100"), Decimal("0"), at=AT)
    assert c.status.value == "paid"


def reverse(c: Claim, posting_id: str = "rev-1", paid: str = "-120", patient: str = "-30") -> bool:
    return c.record_reversal(Decimal(paid), Decimal(patient), posting_id=posting_id, era_id="era-2",
                             trace_number="EFT0002", at=AT)


def test_a_reversed_payment_reopens_the_claim_and_says_why() -> None:
    c = accepted()
    c.record_adjudication(Decimal("120"), Decimal("30"), at=AT)
    assert reverse(c) is True
    assert c.status is ClaimStatus.REVERSED, "not paid any more: back in a biller's queue"
    assert (c.paid, c.patient_responsibility) == (Decimal("0.00"), Decimal("0.00"))
    event = c.events[-1]
    assert isinstance(event, ev.ClaimPaymentReversed)
    assert (event.previous_status, event.status) == ("paid", "reversed")
    assert event.reason_codes == ("payment_reversed", "era:era-2", "trace:EFT0002")
    assert (event.paid, event.posting_id) == (Decimal("-120.00"), "rev-1")


def test_the_same_reversal_twice_changes_nothing_the_second_time() -> None:
    c = accepted()
    c.record_adjudication(Decimal("120"), Decimal("30"), at=AT)
    reverse(c)
    before = len(c.events)
    assert reverse(c) is False
    assert len(c.events) == before and c.paid == Decimal("0.00")


def test_the_payers_reissue_after_a_reversal_settles_the_claim_again() -> None:
    c = accepted()
    c.record_adjudication(Decimal("120"), Decimal("30"), at=AT)
    reverse(c)
    c.record_adjudication(Decimal("130"), Decimal("20"), at=AT)
    assert c.status is ClaimStatus.PAID and c.paid == Decimal("130.00")


@pytest.mark.parametrize("next_step", ["correct", "appeal", "void", "close"])
def test_a_biller_can_work_a_reversed_claim(next_step: str) -> None:
    c = accepted("PAYER-9")
    c.record_adjudication(Decimal("120"), Decimal("30"), at=AT)
    reverse(c)
    if next_step == "correct":
        c.correct("c-2", "PCN2")
    elif next_step == "appeal":
        c.appeal("APL")
    elif next_step == "void":
        c.void("c-3", "PCN3")
    else:
        c.close()
    assert c.status is not ClaimStatus.REVERSED


def test_a_reversal_of_a_claim_already_replaced_keeps_it_corrected_and_records_the_reversal() -> None:
    c = accepted("PAYER-9")
    c.record_adjudication(Decimal("120"), Decimal("30"), at=AT)
    c.correct("c-2", "PCN2", at=AT)
    reverse(c)
    assert c.status is ClaimStatus.CORRECTED
    assert isinstance(c.events[-1], ev.ClaimPaymentReversed) and c.events[-1].previous_status == "corrected"


def test_a_reversal_of_a_settled_and_closed_claim_reopens_it() -> None:
    c = at_status("closed")
    reverse(c, paid="-10", patient="0")
    assert c.status is ClaimStatus.REVERSED


ILLEGAL = [
    ("draft", lambda c: c.mark_submitted("b", "1")),
    ("draft", lambda c: c.accept()),
    ("draft", lambda c: c.record_adjudication(Decimal("1"))),
    ("held", lambda c: c.mark_submitted("b", "1")),
    ("submitted", lambda c: c.record_scrub([])),
    ("submitted", lambda c: c.correct("x", "y")),
    ("submitted", lambda c: c.close()),
    ("accepted", lambda c: c.accept()),
    ("accepted", lambda c: c.appeal("a")),
    ("paid", lambda c: c.appeal("a")),
    ("paid", lambda c: c.record_scrub([])),
    ("closed", lambda c: c.correct("x", "y")),
    ("closed", lambda c: c.close()),
    ("voided", lambda c: c.void("x", "y")),
    ("draft", reverse),
    ("held", reverse),
]


def at_status(status: str) -> Claim:
    c = claim()
    if status == "held":
        c.record_scrub([ERR])
    elif status != "draft":
        c.record_scrub([])
        c.mark_submitted("b", "1")
        if status in ("accepted", "paid", "closed", "voided"):
            c.accept("P1")
        if status in ("paid", "closed", "voided"):
            c.record_adjudication(Decimal("10"))
        if status == "closed":
            c.close()
        if status == "voided":
            c.void("v", "pv")
    assert c.status.value == status
    return c


@pytest.mark.parametrize(("status", "action"), ILLEGAL, ids=[f"{s}-{i}" for i, (s, _) in enumerate(ILLEGAL)])
def test_illegal_transitions_raise(status: str, action: object) -> None:
    c = at_status(status)
    before = len(c.events)
    with pytest.raises(IllegalClaimTransition) as info:
        action(c)  # type: ignore[operator]
    assert c.status.value == status
    assert len(c.events) == before
    assert "c-1" in str(info.value)


def test_drafting_refuses_a_preset_status() -> None:
    with pytest.raises(InvalidClaim):
        claim(status=ClaimStatus.PAID)
