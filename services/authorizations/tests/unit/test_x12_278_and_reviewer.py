from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest
from authorizations.bootstrap import load_sandbox_reviewer
from authorizations.domain.model import AuthorizationRequest, Dependent, RequestedService
from authorizations.domain.review import ReviewStatus
from authorizations.edi.x12_278 import build_278, read_278, trace_originator_of
from authorizations.edi.x12_278_response import read_278_response
from authorizations.sandbox.reviewer import RuleError, SandboxReviewer, SandboxRules
from hypothesis import given, settings
from hypothesis import strategies as st
from rcm_shared.x12 import X12SyntaxError
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties
from rcm_shared.x12.writer import X12ValueError

CONTROL = ControlNumbers(3, 3, 3, datetime(2026, 3, 1, 9, 0))
PARTIES = InterchangeParties("CLINIC01", "CLEARHOUSE")
REQUEST = AuthorizationRequest(
    payer_id="SBXHP", payer_name="SANDBOX HEALTH PLAN", requester_npi="1234567893", requester_name="CALM CLINIC",
    member_id="SBX000004", subscriber_last_name="SAMPLE", subscriber_first_name="ALEX",
    subscriber_birth_date=date(2001, 11, 11), rendering_npi="1245319599", rendering_last_name="RIVERA",
    rendering_first_name="SAM", diagnosis_codes=("F331", "F411"), services=(RequestedService("90837", 12),),
    start=date(2026, 3, 1), end=date(2026, 5, 29), trace_number="AUTHREQ1",
)


def lines(text: str) -> list[str]:
    return [line.rstrip("~") for line in text.splitlines()]


def test_278_layout() -> None:
    out = lines(build_278(REQUEST, CONTROL, PARTIES))
    assert out[1].startswith("GS*HI*") and out[1].endswith("*X*005010X217")
    assert out[2] == "ST*278*0003*005010X217" and out[3].startswith("BHT*0007*13*AUTHREQ1*")
    for expected in ("HL*1**20*1", "NM1*X3*2*SANDBOX HEALTH PLAN*****PI*SBXHP", "HL*4*3*EV*1",
                     "TRN*1*AUTHREQ1*9RCMPLATFM", "UM*HS*I*MH*11:B", "HI*ABK:F331*ABF:F411",
                     "DTP*AAH*RD8*20260301-20260529", "HSD*VS*12", "NM1*SJ*1*RIVERA*SAM****XX*1245319599",
                     "HL*5*4*SS*0", "SV1*HC:90837**UN*12"):
        assert expected in out, expected
    se = next(x for x in out if x.startswith("SE*"))
    assert se == f"SE*{out.index(se) - 1}*0003"


def test_278_dependent_level_and_previous_authorization() -> None:
    child = replace(REQUEST, dependent=Dependent("SAMPLE", "KIM", date(2015, 6, 1), "F", "19"),
                    certification_type="4", previous_authorization_number="SBXAUTH1")
    out = lines(build_278(child, CONTROL, PARTIES))
    assert out[out.index("HL*3*2*22*1") + 1].startswith("NM1*IL*")
    i = out.index("HL*4*3*23*1")
    assert out[i + 1:i + 4] == ["NM1*QC*1*SAMPLE*KIM", "DMG*D8*20150601*F", "INS*N*19"]
    assert "HL*5*4*EV*1" in out and "HL*6*5*SS*0" in out, "the event sits under the dependent"
    assert out[out.index("UM*HS*4*MH*11:B") + 1] == "REF*BB*SBXAUTH1"
    assert read_278(build_278(child, CONTROL, PARTIES)) == child


def test_278_round_trip() -> None:
    two = replace(REQUEST, services=(RequestedService("90837", 8), RequestedService("90847", 4)))
    assert read_278(build_278(two, CONTROL, PARTIES)) == two
    assert trace_originator_of(build_278(two, CONTROL, PARTIES)) == "9RCMPLATFM"


@pytest.mark.parametrize("changes", [
    {"diagnosis_codes": ("F33.1",)}, {"services": ()}, {"rendering_npi": "12"},
    {"end": date(2026, 2, 1)}, {"subscriber_last_name": "O*NEIL"}, {"certification_type": "Z"},
    {"dependent": Dependent("A", "B", relationship="X1")}, {"previous_authorization_number": "A~B"},
])
def test_unsendable_278_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(X12ValueError):
        build_278(replace(REQUEST, **changes), CONTROL, PARTIES)  # type: ignore[arg-type]


def test_read_278_refuses_a_response() -> None:
    text = build_278(REQUEST, CONTROL, PARTIES).replace("BHT*0007*13*", "BHT*0007*11*")
    with pytest.raises(X12SyntaxError, match="BHT02"):
        read_278(text)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_read_278_refuses_garbage_with_syntax_error(text: str) -> None:
    try:
        read_278(text)
    except X12SyntaxError:
        pass


# ------------------------------------------------------------------------------------------ sandbox payer


@pytest.fixture(scope="module")
def reviewer() -> SandboxReviewer:
    return load_sandbox_reviewer()


def test_reviewer_certifies_within_limits(reviewer: SandboxReviewer) -> None:
    answer = reviewer.review(REQUEST, "9RCMPLATFM")
    assert answer.status is ReviewStatus.APPROVED and answer.action == "A1"
    assert answer.approved_units == 12 and (answer.start, answer.end) == (REQUEST.start, REQUEST.end)
    assert answer.certification_number == reviewer.review(REQUEST).certification_number, "deterministic"
    assert answer.certification_number.startswith("SBX") and not answer.administrative_reference
    (service,) = answer.services
    assert (service.action, service.approved_units, service.certification_number) == (
        "A1", 12, answer.certification_number)


def test_reviewer_modifies_to_the_plan_limits(reviewer: SandboxReviewer) -> None:
    big = reviewer.review(replace(REQUEST, services=(RequestedService("90837", 30),), end=date(2026, 12, 31)))
    assert big.status is ReviewStatus.MODIFIED and big.action == "A6" and big.reason_code == "SBX04"
    assert big.approved_units == 12 and big.end == date(2026, 5, 29), "12 visits, 90 days"
    split = reviewer.review(replace(REQUEST, services=(RequestedService("90837", 10), RequestedService("90847", 10))))
    assert [(s.action, s.approved_units) for s in split.services] == [("A1", 10), ("A6", 2)]
    assert split.action == "A6" and split.approved_units == 12
    carve_out = reviewer.review(replace(REQUEST, payer_id="SBXBH", services=(RequestedService("90837", 20),)))
    assert carve_out.status is ReviewStatus.APPROVED and carve_out.approved_units == 20


def test_reviewer_denies_with_reason_codes(reviewer: SandboxReviewer) -> None:
    necessity = reviewer.review(replace(REQUEST, diagnosis_codes=("Z630",)))
    assert necessity.status is ReviewStatus.DENIED and necessity.reason_code == "SBX02"
    assert necessity.administrative_reference.startswith("SBXR") and not necessity.certification_number
    assert reviewer.review(replace(REQUEST, services=(RequestedService("90899", 1),))).reason_code == "SBX01"
    assert reviewer.review(replace(REQUEST, services=(RequestedService("99999", 1),))).reason_code == "SBX05"
    mixed = reviewer.review(replace(REQUEST, services=(RequestedService("90837", 4), RequestedService("90899", 1))))
    assert mixed.action == "A6" and [s.action for s in mixed.services] == ["A1", "A3"]
    assert mixed.approved_units == 4 and mixed.reason_code == "SBX01"


def test_reviewer_pends_then_decides(reviewer: SandboxReviewer) -> None:
    request = replace(REQUEST, payer_id="SBXUM", services=(RequestedService("90837", 6),))
    first = reviewer.review(request)
    assert first.status is ReviewStatus.PENDED and first.reason_code == "SBX03" and first.approved_units is None
    assert first.administrative_reference.startswith("SBXR") and not first.certification_number
    final = reviewer.final_review(request)
    assert final.status is ReviewStatus.MODIFIED, "certified, but for the plan's 60 days"
    assert final.approved_units == 6 and final.end == date(2026, 4, 29)
    assert final.certification_number.startswith("SBX") and not final.administrative_reference


@pytest.mark.parametrize(("changes", "loop", "code"), [
    ({"member_id": "sbx-00004"}, "2010C", "72"),
    ({"member_id": "SBX999999"}, "2010C", "75"),
    ({"requester_npi": "1234567890"}, "2010B", "43"),
    ({"requester_npi": "1999999984"}, "2010B", "15"),
    ({"rendering_npi": "1987654321"}, "2010EA", "43"),
])
def test_reviewer_rejects_requests_it_cannot_process(reviewer: SandboxReviewer, changes: dict[str, str],
                                                     loop: str, code: str) -> None:
    answer = reviewer.review(replace(REQUEST, **changes))  # type: ignore[arg-type]
    assert answer.status is ReviewStatus.REJECTED and not answer.action and not answer.services
    assert [(r.loop, r.reason_code, r.follow_up) for r in answer.rejections] == [(loop, code, "C")]


def test_reviewer_answers_a_278_with_a_278(reviewer: SandboxReviewer) -> None:
    request_278 = build_278(REQUEST, CONTROL, PARTIES)
    answer = reviewer.answer_278(request_278, CONTROL, InterchangeParties("SBXUMO", "CLINIC01"))
    assert "BHT*0007*11*AUTHREQ1*" in answer and "TRN*2*AUTHREQ1*9RCMPLATFM~" in answer
    assert read_278_response(answer) == reviewer.review(REQUEST, "9RCMPLATFM")
    with pytest.raises(X12SyntaxError):
        reviewer.answer_278("ISA*garbage", CONTROL, PARTIES)


@pytest.mark.parametrize("broken", [
    {"reviews": [{"cpt_codes": ["90837"], "decision": "approve"}], "unlisted": {"decision": "deny"}},
    {"reviews": [{"cpt_codes": ["90837"], "decision": "pend"}], "unlisted": {"decision": "deny"}},
    {"reviews": [{"cpt_codes": "90837", "decision": "deny"}], "unlisted": {"decision": "deny"}},
    {"reviews": [{"cpt_codes": ["90837"], "decision": "certify", "max_days": 0}], "unlisted": {"decision": "deny"}},
    {"reviews": [], "unlisted": None},
    {"request_validation": [{"party": "clearinghouse", "check": "npi_check_digit", "reject_reason": "43"}],
     "reviews": [], "unlisted": {"decision": "deny"}},
])
def test_malformed_rules_are_refused(broken: dict[str, object]) -> None:
    with pytest.raises(RuleError):
        SandboxRules.from_dict(broken)
