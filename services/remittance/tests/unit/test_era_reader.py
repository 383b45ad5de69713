"""The streaming 835 reader: x12sdk-generated files, hand-made edge cases, separators, errors."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from rcm_shared.x12 import Delimiters, X12SyntaxError
from remittance.domain.model import ClaimPayment, Remittance835Error, RemittanceHeader, RemittanceSummary
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
from x12sdk.generate import ClaimSpec, ServiceLineSpec, denial, generate_835


def claim(pcn: str, status: str, charge: str, paid: str, *adjustments: DraftAdjustment,
          lines: tuple[DraftLine, ...] = ()) -> DraftClaim:
    return DraftClaim(pcn, status, D(charge), D(paid), adjustments=adjustments, lines=lines)


def adj(group: str, reason: str, amount: str) -> DraftAdjustment:
    return DraftAdjustment(group, reason, D(amount))


THERAPY_LINE = DraftLine(
    "90837", D("200.00"), D("120.00"), modifiers=("95", "HO"), units=D("1"), service_date="20251201",
    adjustments=(adj("CO", "45", "60.00"), adj("PR", "3", "20.00")), allowed=D("140.00"),
    remarks=("N130", "M15"), control_number="1",
)
EDGE_CASES = DraftTransaction(
    claims=(
        claim("PCN-PAID", "1", "200.00", "120.00", lines=(THERAPY_LINE,)),
        claim("PCN-REV", "22", "-200.00", "-120.00", adj("CO", "45", "-60.00"), adj("PR", "3", "-20.00")),
        claim("PCN-DENIED", "4", "150.00", "0", adj("CO", "197", "150.00")),
        claim("PCN-FWD", "19", "100.00", "80.00", adj("PR", "2", "20.00")),
    ),
    provider_adjustments=(DraftProviderAdjustment("L6", D("-5.25")), DraftProviderAdjustment("WO", D("10.00"), "X1"),
                          DraftProviderAdjustment("FB", D("3.00"), "F1")),
)


def test_x12sdk_generated_files_read_balanced_with_every_claim() -> None:
    for seed in (0, 1, 7):
        text = generate_835(seed=seed, claims=25, provider_adjustments=3)
        [remittance] = read_remittances(text)
        assert remittance.is_balanced, [i.describe() for i in remittance.summary.balance_issues]
        assert len(remittance.claims) == remittance.summary.claim_count == 25
        assert len(remittance.summary.provider_adjustments) == 3
        assert remittance.header.payment_date is None  # x12sdk writes no BPR16
        assert remittance.header.payee is not None and remittance.header.payee.npi
        assert remittance.summary.total_claim_paid == sum(c.paid for c in remittance.claims)


def test_x12sdk_denial_spec_is_read_line_by_line() -> None:
    spec = [ClaimSpec(charge=D("500.00"), lines=[
        ServiceLineSpec(charge=D("500.00"), adjustments=[denial("CO", "197", "150.00")])])]
    [remittance] = read_remittances(generate_835(seed=1, claims=spec))
    [payment] = remittance.claims
    [line] = payment.lines
    assert line.adjustments[0].group == "CO" and line.adjustments[0].reason == "197"
    assert line.adjustments[0].amount == D("150.00")
    assert payment.paid == D("350.00") and remittance.is_balanced


def test_hand_made_edge_cases_parse_every_field() -> None:
    text = write_835([[EDGE_CASES]], newline=True)
    records = list(iter_remittance(text))
    assert [type(r) for r in records] == [RemittanceHeader] + [ClaimPayment] * 4 + [RemittanceSummary]
    header = records[0]
    assert isinstance(header, RemittanceHeader)
    assert header.total_paid == D("72.25") and header.payment_method == "ACH"
    assert header.payment_date is not None and header.payment_date.isoformat() == "2026-01-05"
    assert header.trace_number == "TRACE0001" and header.payer_identifier == "1999999999"
    assert header.payer is not None and header.payer.name == "EXAMPLE BEHAVIORAL PLAN"
    assert header.payer.contacts[0].function == "BL"
    assert header.payee is not None and header.payee.npi == "1234567893"
    assert header.payee.references == {"TJ": "123456789"}
    paid = records[1]
    assert isinstance(paid, ClaimPayment)
    [line] = paid.lines
    assert line.procedure.code == "90837" and line.procedure.modifiers == ("95", "HO")
    assert line.charge == D("200.00") and line.paid == D("120.00") and line.units_paid == D("1")
    assert line.service_date is not None and line.service_date.isoformat() == "2025-12-01"
    assert line.allowed == D("140.00") and line.remarks == ["N130", "M15"]
    assert line.line_item_control_number == "1"
    assert [(a.group, a.reason, a.amount) for a in line.adjustments] == [("CO", "45", D("60.00")),
                                                                       ("PR", "3", D("20.00"))]
    assert paid.patient is not None and paid.patient.identifier == "MEMBER01"
    statuses = [(r.status_code, r.is_reversal, r.is_denied, r.is_forwarded, r.payer_sequence)
                for r in records[1:5] if isinstance(r, ClaimPayment)]
    assert statuses == [("1", False, False, False, 1), ("22", True, False, False, None),
                        ("4", False, True, False, None), ("19", False, False, True, 1)]
    summary = records[-1]
    assert isinstance(summary, RemittanceSummary)
    assert [(p.reason, p.reference, p.amount) for p in summary.provider_adjustments] == [
        ("L6", "", D("-5.25")), ("WO", "X1", D("10.00")), ("FB", "F1", D("3.00"))]
    assert summary.is_balanced and summary.provider_adjustment_total == D("7.75")
    payload = to_json_dict(read_remittances(text))
    assert json.loads(json.dumps(payload)) == payload
    assert payload["balanced"] is True


@pytest.mark.parametrize("status", ["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"])
def test_every_claim_status_is_accepted(status: str) -> None:
    sign = "-" if status == "22" else ""
    adjustment = adj("CO", "45", f"{sign}30.00")
    t = DraftTransaction(claims=(claim("PCN", status, f"{sign}100.00", f"{sign}70.00", adjustment),))
    [remittance] = read_remittances(write_835([[t]]))
    assert remittance.claims[0].status_code == status and remittance.is_balanced


def test_unknown_claim_status_is_refused_with_its_element() -> None:
    t = DraftTransaction(claims=(claim("PCN", "9", "100.00", "100.00"),))
    with pytest.raises(X12SyntaxError) as caught:
        read_remittances(write_835([[t]]))
    assert (caught.value.segment_id, caught.value.element) == ("CLP", 2)


def test_several_groups_and_transactions_each_get_header_claims_summary() -> None:
    first = DraftTransaction(claims=(claim("A", "1", "10", "10"),), control_number="0001")
    second = DraftTransaction(claims=(claim("B", "1", "20", "15", adj("CO", "45", "5")),), control_number="0002")
    third = DraftTransaction(claims=(), provider_adjustments=(DraftProviderAdjustment("L6", D("-1.00")),),
                             control_number="0003")
    remittances = read_remittances(write_835([[first, second], [third]]))
    assert [r.header.transaction_control_number for r in remittances] == ["0001", "0002", "0003"]
    assert [len(r.claims) for r in remittances] == [1, 1, 0]
    assert [r.header.group_control_number for r in remittances] == ["1", "1", "2"]
    assert remittances[2].header.total_paid == D("1.00") and all(r.is_balanced for r in remittances)


@pytest.mark.parametrize("delimiters", [
    Delimiters(element="|", component=">", repetition="^", segment="\n"),
    Delimiters(element="^", component="\\", repetition="{", segment="'"),
    Delimiters(element="!", component="}", repetition="+", segment="\r"),
])
def test_any_separators_the_isa_declares(delimiters: Delimiters) -> None:
    standard = to_json_dict(read_remittances(write_835([[EDGE_CASES]])))
    other = to_json_dict(read_remittances(write_835([[EDGE_CASES]], delimiters=delimiters)))
    assert other == standard


def test_streaming_in_tiny_byte_chunks_matches_whole_text() -> None:
    text = write_835([[EDGE_CASES]], newline=True)
    data = text.encode()
    chunks = [data[i:i + 7] for i in range(0, len(data), 7)]
    assert to_json_dict(read_remittances(chunks)) == to_json_dict(read_remittances(text))


def test_each_balancing_rule_reports_exactly_where() -> None:
    bad_line = DraftLine("90834", D("100.00"), D("70.00"), adjustments=(adj("CO", "45", "29.99"),))
    t = DraftTransaction(
        claims=(claim("GOOD", "1", "50", "50"), claim("BAD", "1", "100.00", "70.00", lines=(bad_line,))),
        total_paid=D("120.01"),
    )
    [remittance] = read_remittances(write_835([[t]]))
    issues = {(i.rule, i.claim_ordinal, i.patient_control_number, i.line_ordinal, i.expected, i.actual)
              for i in remittance.summary.balance_issues}
    assert issues == {
        ("line", 2, "BAD", 1, D("30.00"), D("29.99")),
        ("claim", 2, "BAD", None, D("30.00"), D("29.99")),
        ("transaction", None, None, None, D("120.01"), D("120.00")),
    }
    assert remittance.claims[0].is_balanced and not remittance.claims[1].is_balanced


def test_claim_level_cas_only_balances_the_claim() -> None:
    t = DraftTransaction(claims=(claim("C", "1", "100.00", "60.00", adj("CO", "45", "40.00"),
                                       lines=(DraftLine("90791", D("100.00"), D("60.00")),)),))
    [remittance] = read_remittances(write_835([[t]]))
    # the line has no CAS yet pays less than it charges: the line rule flags it, the claim rule holds
    assert [(i.rule, i.line_ordinal) for i in remittance.summary.balance_issues] == [("line", 1)]


@pytest.mark.parametrize(("old", "new", "segment_id", "element"), [
    ("CLP*PCN-PAID*1*200.00", "CLP*PCN-PAID*1*2OO.00", "CLP", 3),
    ("CAS*CO*197*150.00", "CAS*CO*197*abc", "CAS", 3),
    ("CAS*CO*197*150.00", "CAS*XX*197*150.00", "CAS", 1),
    ("BPR*I*72.25", "BPR*I*7,2", "BPR", 2),
    ("PLB*1234567893*20261231*L6*-5.25", "PLB*1234567893*20261331*L6*-5.25", "PLB", 2),
    ("SE*", "SE*9", "SE", 1),
])
def test_garbage_names_segment_and_element(old: str, new: str, segment_id: str, element: int) -> None:
    text = write_835([[EDGE_CASES]])
    assert old in text
    with pytest.raises(X12SyntaxError) as caught:
        list(iter_remittance(text.replace(old, new, 1)))
    assert (caught.value.segment_id, caught.value.element) == (segment_id, element)
    assert caught.value.segment_number is not None


def test_lazy_fields_fail_as_syntax_errors_and_strict_mode_fails_early() -> None:
    text = write_835([[EDGE_CASES]]).replace("AMT*B6*140.00", "AMT*B6*1A0.00")
    [remittance] = read_remittances(text, strict=False)
    with pytest.raises(X12SyntaxError) as caught:
        _ = remittance.claims[0].lines[0].allowed
    assert (caught.value.segment_id, caught.value.element) == ("AMT", 2)
    with pytest.raises(X12SyntaxError):
        read_remittances(text, strict=True)


@pytest.mark.parametrize(("text", "message"), [
    ("", "ISA"),
    ("GS*HP~", "ISA"),
])
def test_not_an_interchange(text: str, message: str) -> None:
    with pytest.raises(X12SyntaxError, match=message):
        list(iter_remittance(text))


def test_truncated_file_is_refused() -> None:
    text = write_835([[EDGE_CASES]])
    with pytest.raises(Remittance835Error):
        list(iter_remittance(text[: text.index("SE*")]))
    with pytest.raises(Remittance835Error, match="terminator"):
        list(iter_remittance(text[:-1]))


def test_an_837_is_not_an_835() -> None:
    text = write_835([[EDGE_CASES]]).replace("ST*835*", "ST*837*")
    with pytest.raises(Remittance835Error) as caught:
        list(iter_remittance(text))
    assert (caught.value.segment_id, caught.value.element) == ("ST", 1)
