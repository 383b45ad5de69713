"""Properties of the 837P writer's fast path, on random claims in every shape it has a branch for: free text
with lower case, delimiters, control characters and accents; amounts in any Decimal form (100.50, 0E-2, 1E+3,
zero, negative adjustments); frequency 7 / 8 with payer claim numbers; dependents; up to four modifiers and
pointers; secondary claims with CAS at claim and line level (groups interleaved, more than six reasons).

- pyx12 (the independent 005010X222A1 validator) finds nothing to say about any batch;
- read back with ``x12_837_reader``, every claim carries what was written, cleaned as ``clean`` says;
- written a page at a time (``Interchange837P``, as the submission job does), the file is the same bytes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from claims.domain.model import (
    Address,
    Adjustment,
    BillingProvider,
    Claim,
    ClaimLine,
    LineAdjudication,
    OtherPayerAdjudication,
    PatientParty,
    PayerRef,
    Person,
    Subscriber,
)
from claims.edi.x12_837 import Interchange837P, clean, write_837p
from claims.edi.x12_837_reader import iter_837p_claims
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rcm_shared.testing.x12 import pyx12_errors

from .conftest import ADDRESS, BILLING, PAYER, claim, clinician, header

SECOND_BILLING = BillingProvider("north clinic", "1003000126", "987654321", ADDRESS)

MONEY = st.one_of(
    st.decimals(min_value=Decimal("0.00"), max_value=Decimal("99999999.99"), places=2),
    st.sampled_from([Decimal("100.50"), Decimal("0E-2"), Decimal("1E+3"), Decimal("0"), Decimal("-0.00"),
                     Decimal("12345678.9"), Decimal("0.10")]),
)
SIGNED = MONEY | MONEY.map(lambda amount: -amount)  # adjustments may be negative (a reversal, an overpayment)
REASONS = st.sampled_from(["1", "2", "3", "45", "253", "B7"])
ADJUSTMENTS = st.one_of(
    # groups interleaved (CO, PR, CO: regrouped) ...
    st.lists(st.builds(Adjustment, st.sampled_from(["CO", "PR", "OA", "PI"]), REASONS, SIGNED,
                       st.none() | st.integers(1, 9)), max_size=9),
    # ... or many reasons of few groups (more than six of a group: a second CAS)
    st.lists(st.builds(Adjustment, st.sampled_from(["CO", "PR"]), REASONS, SIGNED, st.none() | st.integers(1, 9)),
             min_size=5, max_size=14),
).map(tuple)
MODIFIERS = st.lists(st.sampled_from(["95", "93", "GT", "HO", "AJ", "59"]), max_size=4, unique=True).map(tuple)

# The writer has three paths for free text (as it is, upper-cased, cleaned field by field): a claim's free text
# is drawn in one style so that each path is taken whole, not only the cleaning one.
STYLES = {
    "upper": "ABZ019'-.,#/",
    "lower": "ABZabz019'-.,#/|",
    # both cases, digits, the four delimiters, a bar, spaces, control characters, accents
    "dirty": "ABZabz019 '-.,#|*:^~\t\n\x00éÑßøÅ",
}


@st.composite
def claims(draw: st.DrawFn) -> Claim:
    text = st.text(alphabet=st.sampled_from(STYLES[draw(st.sampled_from(sorted(STYLES)))]), max_size=12)
    required = text.filter(lambda value: clean(value) != "")  # what must not go out empty (names)
    # ids and city names have 2 characters at least in X12 (NM109, N401): the API refuses shorter ones
    at_least_two = text.filter(lambda value: len(clean(value)) >= 2)
    address = st.builds(Address, required, at_least_two, st.sampled_from(["IL", "ny"]),
                        st.sampled_from(["62701", "627011234"]), text)
    # the patient's address is required (the scrubber holds a claim without it); another person's is optional
    patient_person = st.builds(Person, required, text, st.just(date(1980, 5, 6)), st.sampled_from(["F", "M", "U"]),
                               address, text)
    person = st.builds(Person, required, text, st.just(date(1980, 5, 6)), st.sampled_from(["F", "M", "U"]),
                       st.none() | address, text)

    diagnoses = tuple(draw(st.lists(st.from_regex(r"F[0-9]{2}[0-9A-Z]{0,4}", fullmatch=True), min_size=1,
                                    max_size=12)))
    pointer = st.integers(1, min(len(diagnoses), 12))
    lines = tuple(draw(st.lists(st.builds(
        ClaimLine, st.sampled_from(["90791", "90834", "90837", "99213", "90833", "90785"]), MONEY, st.integers(1, 4),
        MODIFIERS, st.lists(pointer, min_size=1, max_size=4, unique=True).map(tuple),
        st.none() | st.sampled_from(["11", "02", "10"])), min_size=1, max_size=5)))
    other = None
    if draw(st.booleans()):
        adjudicated = tuple(
            LineAdjudication(draw(st.integers(1, len(lines))), "90837", draw(MONEY), draw(st.integers(1, 4)),
                             date(2024, 4, draw(st.integers(1, 28))), draw(MODIFIERS), draw(ADJUSTMENTS))
            for _ in range(draw(st.integers(0, 3))))
        other = OtherPayerAdjudication(
            PayerRef(draw(st.sampled_from(["MEDICARE", "mcr*b"])), draw(required)),
            Subscriber(draw(at_least_two), draw(person), draw(text), "MB"), draw(MONEY), date(2024, 4, 1),
            draw(st.sampled_from(["18", "01", "19"])), draw(ADJUSTMENTS), adjudicated)
    frequency = draw(st.sampled_from(["1", "7", "8"]))
    billing = draw(st.sampled_from([BILLING, SECOND_BILLING]))
    patient = draw(st.none() | st.builds(PatientParty, st.sampled_from(["01", "19", "G8"]), patient_person))
    return claim(
        patient_control_number=draw(required), diagnoses=diagnoses, lines=lines, other_payer=other,
        subscriber=Subscriber(draw(at_least_two), draw(patient_person if patient is None else person), draw(text),
                              draw(st.sampled_from(["CI", "BL", "MC"])),
                              "P" if other is None else draw(st.sampled_from(["S", "T"]))),
        patient=patient,
        frequency_code=frequency, payer_claim_number=draw(required) if frequency != "1" else None,
        prior_authorization=draw(st.none() | required), billing_provider=billing,
        rendering=draw(st.sampled_from([clinician(), clinician(npi=billing.npi), clinician(last="de la rosa")])),
        supervising=draw(st.none() | st.just(clinician("MD", npi="1003000126", last="O'NEIL*"))),
        payer=draw(st.sampled_from([PAYER, PayerRef("ACME", "acme health", ADDRESS)])),
    )


BATCHES = st.lists(claims(), min_size=1, max_size=4)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(BATCHES)
def test_any_batch_is_pyx12_clean(batch: list[Claim]) -> None:
    text = write_837p(batch, header(max_claims_per_transaction=2))
    assert text.isascii()
    assert pyx12_errors(text) == []


def _amounts(adjustments: Any) -> list[tuple[str, str, Decimal]]:
    return [(a["group"], a["reason"], Decimal(a["amount"])) for a in adjustments]


def _grouped(adjustments: tuple[Adjustment, ...]) -> list[tuple[str, str, Decimal]]:
    """CAS carries a claim's or line's reasons grouped by group, groups in order of first use."""
    groups = list(dict.fromkeys(a.group for a in adjustments))
    return [(a.group, a.reason, a.amount) for g in groups for a in adjustments if a.group == g]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(BATCHES)
def test_any_batch_reads_back_as_written(batch: list[Claim]) -> None:
    read = iter_837p_claims(write_837p(batch, header(max_claims_per_transaction=2)))
    assert len(read) == len(batch)
    for original, got in zip(batch, read, strict=True):
        sub, person = original.subscriber, original.subscriber.person
        assert got["patient_control_number"] == clean(original.patient_control_number)
        assert Decimal(got["total_charge"]) == original.total_charge
        assert got["frequency_code"] == original.frequency_code
        assert got["payer_claim_number"] == (clean(original.payer_claim_number or "") or None
                                             if original.frequency_code != "1" else None)
        assert got["prior_authorization"] == (clean(original.prior_authorization or "") or None)
        assert got["diagnoses"] == list(original.diagnoses)
        assert (got["subscriber"]["last_name"], got["subscriber"]["first_name"], got["subscriber"]["middle_name"],
                got["subscriber"]["id"], got["subscriber"]["group_number"]) == (
            clean(person.last_name), clean(person.first_name), clean(person.middle_name), clean(sub.member_id),
            clean(sub.group_number))
        assert got["subscriber"]["relationship"] == ("18" if original.patient is None else "")
        if person.address is not None:
            assert got["subscriber"]["address"]["line1"] == clean(person.address.line1)
            assert got["subscriber"]["address"]["line2"] == clean(person.address.line2)
        if original.patient is None:
            assert got["patient"] is None
        else:
            assert (got["patient"]["relationship"], got["patient"]["last_name"]) == (
                original.patient.relationship, clean(original.patient.person.last_name))
        rendering_sent = original.rendering.npi != original.billing_provider.npi
        assert (got["rendering"] is not None) is rendering_sent
        assert [(ln["procedure_code"], tuple(ln["modifiers"]), Decimal(ln["charge"]), int(ln["units"]),
                 tuple(ln["diagnosis_pointers"]), ln["place_of_service"]) for ln in got["lines"]] == [
            (ln.procedure_code, ln.modifiers, ln.charge, ln.units, ln.diagnosis_pointers,
             ln.place_of_service if ln.place_of_service != original.place_of_service else None)
            for ln in original.lines]
        other = original.other_payer
        if other is None:
            assert got["other_payer"] is None
            continue
        cob = got["other_payer"]
        assert Decimal(cob["paid"]) == other.paid
        assert cob["subscriber"]["last_name"] == clean(other.subscriber.person.last_name)
        assert _amounts(cob["claim_adjustments"]) == _grouped(other.claim_adjustments)
        for number, line in enumerate(got["lines"], 1):
            mine = [adj for adj in other.lines if adj.line_number == number]
            if not mine:
                assert "adjudication" not in line
                continue
            last = mine[-1]  # the reader keeps a line's last SVD
            adj = line["adjudication"]
            assert (Decimal(adj["paid"]), adj["modifiers"], int(adj["units"])) == (
                last.paid, list(last.modifiers), last.units)
            assert _amounts(adj["adjustments"]) == _grouped(last.adjustments)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(claims(), min_size=1, max_size=9), st.lists(st.integers(1, 4), min_size=9, max_size=9))
def test_written_a_page_at_a_time_it_is_the_same_file(batch: list[Claim], page_sizes: list[int]) -> None:
    h = header(max_claims_per_transaction=3)
    interchange = Interchange837P(h)
    pieces: list[str] = []
    start = 0
    for size in page_sizes:
        pieces.append(interchange.add(batch[start:start + size]))
        start += size
    pieces.append(interchange.close())
    assert "".join(pieces) == write_837p(batch, h)
    assert interchange.claim_count == len(batch)


def test_amounts_in_any_decimal_form_go_out_plain() -> None:
    line = ClaimLine("90837", Decimal("0E-2"), 1, (), (1,))
    forms = {"100.50": "100.5", "0E-2": "0", "1E+3": "1000", "-0.00": "0", "12345678.90": "12345678.9",
             "0.10": "0.1", "200": "200"}
    for given_form, sent in forms.items():
        text = write_837p([claim(lines=(replace(line, charge=Decimal(given_form)),))], header())
        assert f"*{sent}*UN*1*" in text and f"CLM*PCN0001*{sent}***" in text, given_form
