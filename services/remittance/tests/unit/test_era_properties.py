"""Property tests: random balanced 835s balance, a one-cent change is reported exactly, garbage only raises
X12SyntaxError (random bytes, mutations, truncations)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rcm_shared.x12 import X12SyntaxError
from remittance.edi.era_json import to_json_dict
from remittance.edi.era_reader import iter_remittance, read_remittances
from remittance.edi.era_writer import (
    DraftAdjustment,
    DraftClaim,
    DraftLine,
    DraftProviderAdjustment,
    DraftTransaction,
    write_835,
)

CENT = Decimal("0.01")
cents = st.integers(min_value=0, max_value=500_000).map(lambda c: Decimal(c) * CENT)
groups = st.sampled_from(["CO", "PR", "OA", "PI"])
reasons = st.sampled_from(["45", "1", "2", "3", "197", "50", "96", "119", "18", "B7"])


@st.composite
def balanced_lines(draw: st.DrawFn) -> DraftLine:
    charge = draw(cents)
    parts = draw(st.lists(st.tuples(groups, reasons, cents), max_size=4))
    adjusted = sum((p[2] for p in parts), Decimal(0))
    paid = charge - adjusted  # may go negative: still balanced, and payers do send it
    return DraftLine(draw(st.sampled_from(["90834", "90837", "90791", "H0031"])), charge, paid,
                     modifiers=tuple(draw(st.lists(st.sampled_from(["95", "HO", "GT"]), max_size=2))),
                     adjustments=tuple(DraftAdjustment(g, r, a) for g, r, a in parts))


@st.composite
def balanced_claims(draw: st.DrawFn, index: int) -> DraftClaim:
    lines = draw(st.lists(balanced_lines(), max_size=3))
    claim_parts = draw(st.lists(st.tuples(groups, reasons, cents), max_size=2))
    claim_adjusted = sum((p[2] for p in claim_parts), Decimal(0))
    charge = sum((line.charge for line in lines), Decimal(0)) if lines else draw(cents)
    paid = sum((line.paid for line in lines), Decimal(0)) - claim_adjusted if lines else charge - claim_adjusted
    status = draw(st.sampled_from(["1", "2", "3", "4", "19", "20", "21", "22"]))
    return DraftClaim(f"PCN{index}", status, charge, paid, adjustments=tuple(
        DraftAdjustment(g, r, a) for g, r, a in claim_parts), lines=tuple(lines))


@st.composite
def balanced_transactions(draw: st.DrawFn, control: str = "0001") -> DraftTransaction:
    count = draw(st.integers(min_value=0, max_value=5))
    claims = tuple(draw(balanced_claims(i)) for i in range(count))
    plb = tuple(DraftProviderAdjustment(r, a) for r, a in draw(
        st.lists(st.tuples(st.sampled_from(["L6", "WO", "FB", "72", "CS"]), cents), max_size=7)))
    # a negative balancing total is written as BPR03 = D with BPR02 positive
    return DraftTransaction(claims=claims, provider_adjustments=plb, control_number=control)


@settings(max_examples=60, deadline=None)
@given(balanced_transactions(), st.booleans())
def test_random_balanced_835s_balance(transaction: DraftTransaction, newline: bool) -> None:
    [remittance] = read_remittances(write_835([[transaction]], newline=newline))
    assert remittance.summary.balance_issues == []
    assert remittance.summary.claim_count == len(transaction.claims)
    assert remittance.summary.total_claim_paid == sum((c.paid for c in transaction.claims), Decimal(0))


@settings(max_examples=60, deadline=None)
@given(balanced_transactions(), st.data())
def test_one_cent_off_is_reported_exactly(transaction: DraftTransaction, data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(["bpr", "clp_paid", "svc_paid"]))
    with_lines = [(i, c) for i, c in enumerate(transaction.claims) if c.lines]
    if target == "svc_paid" and not with_lines:
        target = "bpr"
    if target == "clp_paid" and not transaction.claims:
        target = "bpr"
    claims = list(transaction.claims)
    expected: set[tuple[str, int | None, int | None, Decimal, Decimal]]
    if target == "bpr":
        total = transaction.balanced_total() + CENT
        changed = DraftTransaction(claims=transaction.claims, total_paid=total,
                                   provider_adjustments=transaction.provider_adjustments)
        expected = {("transaction", None, None, total, total - CENT)}
    elif target == "clp_paid":
        i = data.draw(st.integers(min_value=0, max_value=len(claims) - 1))
        c = claims[i]
        claims[i] = DraftClaim(c.patient_control_number, c.status, c.charge, c.paid + CENT,
                               adjustments=c.adjustments, lines=c.lines)
        changed = DraftTransaction(claims=tuple(claims), total_paid=transaction.balanced_total() + CENT,
                                   provider_adjustments=transaction.provider_adjustments)
        adjusted = c.charge - c.paid
        expected = {("claim", i + 1, None, adjusted - CENT, adjusted)}
    else:
        i, c = data.draw(st.sampled_from(with_lines))
        j = data.draw(st.integers(min_value=0, max_value=len(c.lines) - 1))
        lines = list(c.lines)
        line = lines[j]
        lines[j] = DraftLine(line.procedure, line.charge, line.paid + CENT, modifiers=line.modifiers,
                             adjustments=line.adjustments)
        claims[i] = DraftClaim(c.patient_control_number, c.status, c.charge, c.paid, adjustments=c.adjustments,
                               lines=tuple(lines))
        changed = DraftTransaction(claims=tuple(claims), total_paid=transaction.balanced_total(),
                                   provider_adjustments=transaction.provider_adjustments)
        adjusted = line.charge - line.paid
        expected = {("line", i + 1, j + 1, adjusted - CENT, adjusted)}
    [remittance] = read_remittances(write_835([[changed]]))
    found = {(x.rule, x.claim_ordinal, x.line_ordinal, x.expected, x.actual)
             for x in remittance.summary.balance_issues}
    assert found == expected


def _consume(data: bytes | str) -> None:
    """Read everything, every lazy field included; only X12SyntaxError may escape."""
    try:
        to_json_dict(read_remittances(data, strict=True))
    except X12SyntaxError as exc:
        assert exc.segment_number is None or exc.segment_number >= 1
        assert str(exc)


SAMPLE = write_835([[DraftTransaction(claims=(
    DraftClaim("PCN1", "1", Decimal("200.00"), Decimal("120.00"), Decimal("20.00"), lines=(
        DraftLine("90837", Decimal("200.00"), Decimal("120.00"), modifiers=("95",), units=Decimal(1),
                  service_date="20251201", adjustments=(DraftAdjustment("CO", "45", Decimal("60.00")),
                                                        DraftAdjustment("PR", "3", Decimal("20.00"))),
                  allowed=Decimal("140.00"), remarks=("N130",), control_number="1"),)),
    DraftClaim("PCN2", "22", Decimal("-50"), Decimal("-50"), statement_from="20251101", remarks=("MA01",)),
), provider_adjustments=(DraftProviderAdjustment("L6", Decimal("-1.50")),
                         DraftProviderAdjustment("WO", Decimal("2"), "R")))]],
    newline=True)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_syntax_errors(data: bytes) -> None:
    _consume(data)
    _consume(SAMPLE[:106].encode() + data)


@FUZZ
@given(st.integers(min_value=0, max_value=len(SAMPLE)))
def test_truncations_only_raise_syntax_errors(cut: int) -> None:
    _consume(SAMPLE[:cut])


@FUZZ
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=len(SAMPLE) - 1),
                          st.sampled_from(["delete", "insert", "replace"]),
                          st.text(alphabet="*~:^0123456789.-ABCDEFGHINRSTXYZ \n\x00é", max_size=3)),
                min_size=1, max_size=4))
def test_mutated_valid_files_only_raise_syntax_errors(edits: list[tuple[int, str, str]]) -> None:
    text = SAMPLE
    for position, kind, fragment in edits:
        position = min(position, len(text))
        if kind == "delete":
            text = text[:position] + text[position + len(fragment) + 1:]
        elif kind == "insert":
            text = text[:position] + fragment + text[position:]
        else:
            text = text[:position] + fragment + text[position + len(fragment):]
    _consume(text)
    _consume(text.encode("utf-8"))


@FUZZ
@given(st.sampled_from(["NaN", "Infinity", "-Inf", "sNaN", "1E+999999", "", "--1", "1e-3", "  5 "]),
       st.sampled_from(["200.00", "120.00", "60.00", "140.00", "-1.50", "20.00"]))
def test_odd_numbers_never_crash(number: str, replaced: str) -> None:
    _consume(SAMPLE.replace(replaced, number, 1))


def test_streaming_reader_is_lazy_generator() -> None:
    records = iter_remittance(SAMPLE)
    first = next(records)
    assert type(first).__name__ == "RemittanceHeader"
