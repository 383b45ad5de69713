"""Patient A/R: payments applied to a patient's charges oldest first, never to another patient's."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st
from reporting.domain.patient_ar import PatientCharge, PatientMoney, apply_payments, net_claim_charges

DAY = date(2026, 10, 1)


def test_a_payment_settles_the_oldest_charge_first() -> None:
    charges = [PatientCharge("a", "pt-1", "c-new", DAY + timedelta(days=20), 3000),
               PatientCharge("b", "pt-1", "c-old", DAY, 2000)]
    out = {oc.charge.claim_id: (oc.collected_cents, oc.open_cents)
           for oc in apply_payments(charges, [PatientMoney("m", "pt-1", 2500, DAY)])}
    assert out == {"c-old": (2000, 0), "c-new": (500, 2500)}


def test_a_reversal_assessment_takes_the_claims_responsibility_back() -> None:
    charges = [PatientCharge("a1", "pt-1", "c-1", DAY, 4000), PatientCharge("a2", "pt-1", "c-1", DAY, -4000),
               PatientCharge("a3", "pt-1", "c-2", DAY, 1000)]
    assert [c.claim_id for c in net_claim_charges(charges)] == ["c-2"]


def test_one_patients_money_never_pays_anothers_charge() -> None:
    out = apply_payments([PatientCharge("a", "pt-2", "c-1", DAY, 1000)], [PatientMoney("m", "pt-1", 5000, DAY)])
    assert [(oc.collected_cents, oc.open_cents) for oc in out] == [(0, 1000)]


def test_a_refund_gives_money_back_to_the_pool() -> None:
    out = apply_payments([PatientCharge("a", "pt-1", None, DAY, 1000)],
                         [PatientMoney("m", "pt-1", 1000, DAY), PatientMoney("r", "pt-1", -400, DAY, "refund")])
    assert [oc.open_cents for oc in out] == [400]


charge_lists = st.lists(st.builds(PatientCharge, st.uuids().map(str), st.sampled_from(["pt-1", "pt-2"]),
                                  st.one_of(st.none(), st.sampled_from(["c-1", "c-2", "c-3"])),
                                  st.dates(DAY, DAY + timedelta(days=120)), st.integers(-5000, 20000)), max_size=12)
money_lists = st.lists(st.builds(PatientMoney, st.uuids().map(str), st.sampled_from(["pt-1", "pt-2"]),
                                 st.integers(-2000, 30000), st.just(DAY)), max_size=6)


@given(charge_lists, money_lists)
def test_what_is_collected_is_what_was_paid_up_to_what_is_owed(charges: list[PatientCharge],
                                                               money: list[PatientMoney]) -> None:
    out = apply_payments(charges, money)
    for patient in ("pt-1", "pt-2"):
        mine = [oc for oc in out if oc.charge.patient_id == patient]
        owed = sum(oc.charge.cents for oc in mine)
        pool = max(0, sum(m.cents for m in money if m.patient_id == patient))
        assert sum(oc.collected_cents for oc in mine) == min(pool, owed)
        assert all(0 <= oc.collected_cents <= oc.charge.cents for oc in mine)
        # first in, first out: once a charge is left open, no later charge got anything
        ordered = sorted(mine, key=lambda oc: (oc.charge.charged_on, oc.charge.charge_id))
        open_seen = False
        for oc in ordered:
            assert not (open_seen and oc.collected_cents > 0)
            open_seen = open_seen or oc.open_cents > 0
