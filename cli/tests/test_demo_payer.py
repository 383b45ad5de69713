"""The demo payer (``rcm demo``) writes its 835s with the platform's one 835 writer: pyx12 finds nothing to report
in them (``rcm x12 validate``), and remittance reads them back balanced, every amount as adjudicated."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from rcm_cli.demo import BILLING, SANDBOX_PAYER
from rcm_cli.payer import SubmittedClaim, SubmittedLine, adjudicate, write_835
from rcm_cli.x12_commands import validate_text
from remittance.domain.model import ClaimPayment, RemittanceSummary
from remittance.edi.era_reader import iter_remittance


def submitted(count: int, *, with_auth: bool = True) -> list[SubmittedClaim]:
    return [SubmittedClaim(f"PCN{i:05d}", D("200.00"), "SBXHP", "AUTH1" if with_auth and i % 3 else None,
                           [SubmittedLine("90837", ["95"] if i % 2 else [], D("200.00"), 1, date(2026, 11, 20))])
            for i in range(1, count + 1)]


def era(claims: list[SubmittedClaim]) -> str:
    return write_835(adjudicate(claims, SANDBOX_PAYER), SANDBOX_PAYER, payee_npi=BILLING["npi"],
                     payee_name=BILLING["name"], trace_number="1764670000001", control_number=123456789,
                     payment_date=date(2026, 12, 2))


def test_the_demo_payers_835_validates_with_no_finding() -> None:
    assert validate_text(era(submitted(7))) == [], "not even pyx12's 'Failed to create 999 response'"


def test_an_835_that_pays_nothing_is_a_notification_and_validates() -> None:
    text = era(submitted(2, with_auth=False))
    assert "BPR*H*0.00*C*NON" in text
    assert validate_text(text) == []


def test_remittance_reads_the_demo_payers_835_back_as_adjudicated() -> None:
    claims = submitted(7)
    adjudicated = adjudicate(claims, SANDBOX_PAYER)
    records = list(iter_remittance(era(claims), strict=True))
    payments = [r for r in records if isinstance(r, ClaimPayment)]
    summary = next(r for r in records if isinstance(r, RemittanceSummary))
    assert summary.is_balanced and all(p.is_balanced for p in payments)
    assert [(p.patient_control_number, p.paid, p.patient_responsibility) for p in payments] == [
        (a.claim.patient_control_number, a.paid, a.patient) for a in adjudicated]
