"""837P writer: structure, pyx12-clean output for a varied batch, streaming, and a write/read round trip."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from claims.domain.exceptions import InvalidClaim
from claims.domain.model import (
    Adjustment,
    BillingProvider,
    Claim,
    ClaimLine,
    LineAdjudication,
    PatientParty,
    Person,
)
from claims.edi.x12_837 import clean, iter_837p, iter_837p_bytes, split_by_payer, write_837p
from claims.edi.x12_837_reader import iter_837p_claims, read_837p
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rcm_shared.testing.x12 import pyx12_errors
from rcm_shared.x12 import X12SyntaxError, iter_segments

from .conftest import ADDRESS, BILLING, CHILD, SUBSCRIBER, claim, clinician, header, secondary_claim

SECOND_BILLING = BillingProvider("NORTH CLINIC", "1003000126", "987654321", ADDRESS)


def varied_batch() -> list[Claim]:
    tele = [ClaimLine("90837", Decimal("200.00"), 1, ("95",), (1,))]
    addons = [
        ClaimLine("99213", Decimal("140.00"), 1, (), (1, 2)),
        ClaimLine("90833", Decimal("95.00"), 1, (), (1,)),
        ClaimLine("90785", Decimal("25.00"), 1, (), (1,)),
    ]
    crisis = [ClaimLine("90839", Decimal("230.00")), ClaimLine("90840", Decimal("220.00"), 2)]
    many = [ClaimLine("90853", Decimal("70.00"), 1, (), ((i % 4) + 1,)) for i in range(50)]
    return [
        claim(claim_id="a", patient_control_number="A1"),
        claim(claim_id="b", patient_control_number="B1", patient=CHILD),
        claim(claim_id="c", patient_control_number="C1", place_of_service="10", lines=tuple(tele)),
        claim(claim_id="d", patient_control_number="D1", lines=tuple(addons), rendering=clinician("MD"),
              supervising=clinician("MD", npi="1003000126", last="STONE")),
        claim(claim_id="e", patient_control_number="E1", lines=tuple(crisis), prior_authorization=None),
        claim(claim_id="f", patient_control_number="F1", frequency_code="7", payer_claim_number="PCN-REPL-1"),
        claim(claim_id="g", patient_control_number="G1", frequency_code="8", payer_claim_number="PCN-VOID-1"),
        secondary_claim(claim_id="h", patient_control_number="H1"),
        secondary_claim(claim_id="i", patient_control_number="I1", patient=CHILD),
        claim(claim_id="j", patient_control_number="J1", diagnoses=tuple(f"F4{i}1" for i in range(4)),
              lines=tuple(many)),
        claim(claim_id="k", patient_control_number="K1", billing_provider=SECOND_BILLING,
              rendering=clinician(npi=SECOND_BILLING.npi)),
        claim(claim_id="l", patient_control_number="L1", billing_provider=SECOND_BILLING,
              subscriber=replace(SUBSCRIBER, person=replace(SUBSCRIBER.person, last_name="O*BRIEN~", middle_name="Q")),
              lines=(ClaimLine("90834", Decimal("150.00"), 1, (), (1,), "02"),)),
    ]


def test_varied_batch_is_pyx12_clean() -> None:
    text = write_837p(varied_batch(), header(max_claims_per_transaction=4))
    assert pyx12_errors(text) == []
    assert text.count("ST*837*") == 4  # 10 claims of one provider in 3 STs of 4, then the second provider


def test_pyx12_check_can_fail() -> None:
    text = write_837p([claim()], header())
    assert pyx12_errors(text.replace("SBR*P*18*", "SBR*Q*18*"))


def test_envelope_and_control_numbers() -> None:
    text = write_837p(varied_batch(), header(max_claims_per_transaction=4, first_transaction_number=41))
    segments = list(iter_segments(text))
    isa, gs, iea, ge = segments[0], segments[1], segments[-1], segments[-2]
    assert len(isa.elements) == 17 and len(text.split("~")[0]) == 105
    assert isa.get(13) == iea.get(2) == "000000101"
    assert gs.get(6) == ge.get(2) == "7"
    assert gs.get(8) == "005010X222A1"
    sts = [s for s in segments if s.id == "ST"]
    assert [s.get(2) for s in sts] == ["0041", "0042", "0043", "0044"]
    assert ge.get(1) == "4"
    # SE01 counts ST..SE inclusive; SE02 repeats ST02
    start = 0
    for i, seg in enumerate(segments):
        if seg.id == "ST":
            start = i
        elif seg.id == "SE":
            assert int(seg.get(1)) == i - start + 1
            assert seg.get(2) == segments[start].get(2)


def test_subscriber_dependent_and_references() -> None:
    doc = read_837p(write_837p(varied_batch(), header()))
    claims = {c["patient_control_number"]: c for g in doc["groups"] for t in g["transactions"] for c in t["claims"]}
    assert claims["A1"]["subscriber"]["relationship"] == "18"
    assert claims["A1"]["patient"] is None
    assert claims["B1"]["subscriber"]["relationship"] == ""
    assert claims["B1"]["patient"]["relationship"] == "19"
    assert claims["C1"]["place_of_service"] == "10"
    assert claims["C1"]["lines"][0]["modifiers"] == ["95"]
    assert (claims["F1"]["frequency_code"], claims["F1"]["payer_claim_number"]) == ("7", "PCN-REPL-1")
    assert (claims["G1"]["frequency_code"], claims["G1"]["payer_claim_number"]) == ("8", "PCN-VOID-1")
    assert claims["A1"]["payer_claim_number"] is None
    assert claims["A1"]["prior_authorization"] == "AUTH77"
    assert claims["D1"]["supervising"]["npi"] == "1003000126"
    assert claims["L1"]["subscriber"]["last_name"] == "O BRIEN"  # delimiters never leak into the file
    assert claims["L1"]["lines"][0]["place_of_service"] == "02"
    cob = claims["H1"]["other_payer"]
    assert (cob["paid"], cob["payer"]["payer_id"], cob["claim_adjustments"][0]["reason"]) == ("120", "MEDICARE", "2")
    assert claims["H1"]["lines"][0]["adjudication"]["adjudicated_on"] == "20240401"
    assert claims["H1"]["subscriber"]["responsibility"] == "S"
    assert len(claims["J1"]["lines"]) == 50


def test_hl_hierarchy_points_to_parents() -> None:
    segments = list(iter_segments(write_837p(varied_batch()[:3], header())))
    hls = [s for s in segments if s.id == "HL"]
    assert [(h.get(1), h.get(2), h.get(3), h.get(4)) for h in hls] == [
        ("1", "", "20", "1"), ("2", "1", "22", "0"), ("3", "1", "22", "1"), ("4", "3", "23", "0"),
        ("5", "1", "22", "0"),
    ]


def test_streaming_keeps_memory_flat() -> None:
    pulled = 0

    def claims() -> Iterator[Claim]:
        nonlocal pulled
        base = claim()
        for i in range(3000):
            pulled += 1
            yield replace(base, claim_id=str(i), patient_control_number=f"P{i}")

    stream = iter_837p(claims(), header(), chunk_claims=100)
    first = next(stream)
    assert pulled <= 101  # the writer has not read the whole batch to produce its first chunk
    sizes = [len(first)] + [len(c) for c in stream]
    assert pulled == 3000
    assert max(sizes) < 100 * 600
    assert len(sizes) >= 29


def test_bytes_and_empty_batch() -> None:
    assert b"".join(iter_837p_bytes([claim()], header())).startswith(b"ISA*00*")
    with pytest.raises(InvalidClaim):
        write_837p([], header())


def test_split_by_payer() -> None:
    from claims.domain.model import PayerRef

    batches = split_by_payer([claim(), claim(payer=PayerRef("MEDICARE", "MEDICARE")), claim(claim_id="x")])
    assert {k: len(v) for k, v in batches.items()} == {"ACME": 2, "MEDICARE": 1}


def test_clean_removes_delimiters() -> None:
    assert clean(" a*b:c~d^e\n ") == "A B C D E"


# ---------------------------------------------------------------- round trip

NAME = st.text(alphabet=st.sampled_from("ABCXYZ abc'-*:~^"), min_size=1, max_size=12).filter(clean)
MONEY = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
LINE = st.builds(
    ClaimLine,
    procedure_code=st.sampled_from(["90791", "90832", "90834", "90837", "90853", "99213", "90833"]),
    charge=MONEY,
    units=st.integers(1, 9),
    modifiers=st.lists(st.sampled_from(["95", "93", "GT", "AJ", "HO"]), max_size=4, unique=True).map(tuple),
    diagnosis_pointers=st.lists(st.integers(1, 4), min_size=1, max_size=4, unique=True).map(tuple),
)


@st.composite
def claims_strategy(draw: st.DrawFn) -> Claim:
    dependent = draw(st.booleans())
    person = Person(draw(NAME), draw(NAME), date(1990, 1, 2), "F", ADDRESS)
    freq = draw(st.sampled_from(["1", "7", "8"]))
    return claim(
        claim_id="h", patient_control_number=draw(st.from_regex(r"[A-Z0-9]{1,20}", fullmatch=True)),
        subscriber=replace(SUBSCRIBER, person=person, member_id=draw(st.from_regex(r"[A-Z0-9]{3,15}", fullmatch=True))),
        patient=PatientParty(draw(st.sampled_from(["01", "19", "20", "G8"])), person) if dependent else None,
        diagnoses=tuple(draw(st.lists(st.from_regex(r"F[0-9]{2}[0-9A-Z]{0,4}", fullmatch=True), min_size=4,
                                      max_size=12))),
        lines=tuple(draw(st.lists(LINE, min_size=1, max_size=8))),
        frequency_code=freq, payer_claim_number="PAYER1" if freq != "1" else None,
        prior_authorization=draw(st.none() | st.from_regex(r"[A-Z0-9]{4,10}", fullmatch=True)),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(claims_strategy(), min_size=1, max_size=4))
def test_write_read_round_trip(batch: list[Claim]) -> None:
    read = iter_837p_claims(write_837p(batch, header(max_claims_per_transaction=2)))
    assert len(read) == len(batch)
    for original, got in zip(batch, read, strict=True):
        assert got["patient_control_number"] == original.patient_control_number
        assert Decimal(got["total_charge"]) == original.total_charge
        assert got["frequency_code"] == original.frequency_code
        assert got["diagnoses"] == list(original.diagnoses)
        assert got["prior_authorization"] == original.prior_authorization
        assert got["subscriber"]["id"] == original.subscriber.member_id
        assert got["subscriber"]["last_name"] == clean(original.subscriber.person.last_name)
        assert (got["patient"] is None) is (original.patient is None)
        assert [
            (ln["procedure_code"], tuple(ln["modifiers"]), Decimal(ln["charge"]), int(ln["units"]),
             tuple(ln["diagnosis_pointers"]))
            for ln in got["lines"]
        ] == [(ln.procedure_code, ln.modifiers, ln.charge, ln.units, ln.diagnosis_pointers) for ln in original.lines]


def test_other_billing_provider_uses_billing_npi_as_rendering_when_same() -> None:
    c = claim(billing_provider=BILLING, rendering=clinician(npi=BILLING.npi))
    assert "NM1*82*" not in write_837p([c], header())


# ---------------------------------------------------------------- secondary claims (COB: 2320 / 2330 / 2430)

def _adjudication(line_number: int, line: ClaimLine, variant: int) -> LineAdjudication:
    allowed = (line.charge * Decimal("0.7")).quantize(Decimal("0.01"))
    paid = (allowed * Decimal("0.8")).quantize(Decimal("0.01"))
    adjustments = [Adjustment("CO", "45", line.charge - allowed), Adjustment("PR", "2", allowed - paid)]
    if variant % 3 == 1:  # a deductible: two PR triplets in one CAS
        adjustments.insert(1, Adjustment("PR", "1", Decimal("10.00"), 1))
    if variant % 5 == 2:  # more than six reasons in one group: the group repeats in a second CAS
        adjustments += [Adjustment("OA", str(90 + k), Decimal(k), k if k % 2 else None) for k in range(1, 9)]
    return LineAdjudication(line_number, line.procedure_code, paid, line.units, date(2024, 4, 2 + variant % 20),
                            line.modifiers, tuple(adjustments))


def cob_batch(n: int) -> list[Claim]:
    """Secondary claims in every shape the writer has a path for: line-level or claim-level adjudication,
    one to three lines (some not adjudicated, one adjudicated twice), dependents, mixed-case and dirty names,
    a second billing provider."""
    out: list[Claim] = []
    for i in range(n):
        base = secondary_claim(claim_id=f"s{i}", patient_control_number=f"S{i:05d}")
        lines = tuple(ClaimLine(code, Decimal(charge), 1, mods, (1,))
                      for code, charge, mods in [("99214", "160.00", ()), ("90833", "95.50", ("95",)),
                                                 ("90785", "25.00", ())][: 1 + i % 3])
        other = base.other_payer
        assert other is not None
        person = replace(SUBSCRIBER.person, last_name=["Doe", "SMITH", "o*brien ", "Nguyen\tTran"][i % 4],
                         first_name=["Jane", "SAM"][i % 2])
        adjudicated = tuple(_adjudication(k, ln, i + k) for k, ln in enumerate(lines, 1) if k != 3 or i % 2)
        if i % 7 == 6:
            adjudicated += (_adjudication(1, lines[0], i),)  # the payer split line 1 in two
        if i % 4 == 0:  # adjudicated at claim level only: CAS in 2320, DTP*573 in 2330B
            total = sum((ln.charge for ln in lines), Decimal("0.00"))
            other = replace(other, lines=(), claim_adjustments=(
                Adjustment("CO", "45", (total * Decimal("0.3")).quantize(Decimal("0.01"))),
                Adjustment("PR", "2", Decimal("20.00"))))
        else:
            other = replace(other, lines=adjudicated, claim_adjustments=() if i % 3 else other.claim_adjustments)
        other = replace(other, subscriber=replace(other.subscriber, person=person))
        out.append(replace(
            base, lines=lines, other_payer=other, patient=CHILD if i % 3 == 2 else None,
            subscriber=replace(base.subscriber, person=person),
            billing_provider=SECOND_BILLING if i >= n - 3 else BILLING,
            rendering=clinician(npi=SECOND_BILLING.npi) if i >= n - 3 else clinician()))
    return out


def test_cob_heavy_batch_is_pyx12_clean() -> None:
    batch = cob_batch(40)
    text = write_837p(batch, header(max_claims_per_transaction=15))
    assert pyx12_errors(text) == []
    assert text.count("ST*837*") == 4  # 37 claims of one provider in 3 STs, then the second provider
    assert text.count("SVD*MEDICARE*") == sum(len(c.other_payer.lines) for c in batch if c.other_payer)


def test_cob_adjudication_reads_back() -> None:
    batch = cob_batch(24)
    read = iter_837p_claims(write_837p(batch, header()))
    for original, got in zip(batch, read, strict=True):
        other = original.other_payer
        assert other is not None
        cob = got["other_payer"]
        assert Decimal(cob["paid"]) == other.paid
        assert cob["subscriber"]["last_name"] == clean(other.subscriber.person.last_name)
        # CAS groups the reasons by group, in the order each group first appears
        groups = list(dict.fromkeys(a.group for a in other.claim_adjustments))
        expected = [(a.group, a.reason, Decimal(a.amount)) for g in groups for a in other.claim_adjustments
                    if a.group == g]
        assert [(a["group"], a["reason"], Decimal(a["amount"])) for a in cob["claim_adjustments"]] == expected
        if not other.lines:
            assert cob["adjudicated_on"] == "20240401"
        for number, line in enumerate(got["lines"], 1):
            mine = [adj for adj in other.lines if adj.line_number == number]
            if not mine:
                assert "adjudication" not in line
                continue
            adj = line["adjudication"]  # the reader keeps the last SVD of a line
            assert (Decimal(adj["paid"]), adj["procedure_code"], adj["modifiers"]) == (
                mine[-1].paid, mine[-1].procedure_code, list(mine[-1].modifiers))
            quantities = [a["quantity"] for a in adj["adjustments"]]
            assert sorted((a["group"], a["reason"], Decimal(a["amount"])) for a in adj["adjustments"]) == sorted(
                (a.group, a.reason, a.amount) for a in mine[-1].adjustments)
            assert sorted(q for q in quantities if q) == sorted(
                str(a.quantity) for a in mine[-1].adjustments if a.quantity is not None)


def test_free_text_is_upper_case_and_free_of_control_characters() -> None:
    person = replace(SUBSCRIBER.person, last_name="Nguyen\tTran", first_name="jane\x00", middle_name=" q ",
                     address=replace(ADDRESS, line1="12 Main St", city="Springfield"))
    text = write_837p([claim(subscriber=replace(SUBSCRIBER, person=person, member_id="w12"))], header())
    assert "NM1*IL*1*NGUYEN TRAN*JANE*Q***MI*W12~N3*12 MAIN ST~N4*SPRINGFIELD*IL*627011234~" in text
    assert pyx12_errors(text) == []


def test_a_bar_inside_lower_case_free_text_is_kept() -> None:
    person = replace(SUBSCRIBER.person, last_name="Smith|Jones", first_name="ann")
    text = write_837p([claim(subscriber=replace(SUBSCRIBER, person=person))], header())
    assert "NM1*IL*1*SMITH|JONES*ANN****MI*W123456789~" in text


def test_accented_names_go_out_as_ascii() -> None:
    person = replace(SUBSCRIBER.person, last_name="Muñoz-Strauß", first_name="José")
    text = write_837p([claim(subscriber=replace(SUBSCRIBER, person=person))], header())
    assert "NM1*IL*1*MUNOZ-STRAUSS*JOSE****MI*W123456789~" in text
    assert text.isascii() and pyx12_errors(text) == []


@pytest.mark.parametrize(("old", "new", "segment_id"), [("LX*1~", "LX*one~", "LX"), ("LX*1~", "LX*~", "LX")])
def test_an_837p_line_number_that_is_not_a_number_is_a_syntax_error(old: str, new: str, segment_id: str) -> None:
    # Found by the X12 fuzz drill: int() raised a bare ValueError.
    text = write_837p([claim()], header()).replace(old, new, 1)
    assert new in text
    with pytest.raises(X12SyntaxError) as caught:
        read_837p(text)
    assert caught.value.segment_id == segment_id
