"""The 005010X217 structural validator catches each kind of defect it claims to (pyx12 has no 5010 278 map):
a valid request and response are changed one way each and the specific issue must be reported."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

import pytest
from authorizations.domain.model import AuthorizationRequest, Dependent, RequestedService
from authorizations.domain.review import Rejection, ReviewResponse, ServiceOutcome
from authorizations.edi.x12_278 import build_278
from authorizations.edi.x12_278_response import build_278_response
from authorizations.edi.x217_structure import validate_278
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

CONTROL = ControlNumbers(12, 12, 1, datetime(2026, 3, 2, 10, 30))
REQUEST = AuthorizationRequest(
    payer_id="SBXHP", payer_name="SANDBOX HEALTH PLAN", requester_npi="1234567893", requester_name="CALM CLINIC",
    member_id="SBX000004", subscriber_last_name="SAMPLE", subscriber_first_name="ALEX",
    subscriber_birth_date=date(1990, 1, 1), rendering_npi="1245319599", rendering_last_name="RIVERA",
    rendering_first_name="SAM", diagnosis_codes=("F331", "F411"),
    services=(RequestedService("90837", 8), RequestedService("90847", 4)), start=date(2026, 3, 1),
    end=date(2026, 5, 29), trace_number="TRACE1",
)
ANSWER = ReviewResponse(
    "TRACE1", "9RCMPLATFM", "A6", "AUTH77", "SBX04", start=date(2026, 3, 1), end=date(2026, 4, 30),
    approved_units=10, services=(ServiceOutcome("90837", 8, "A1", "AUTH77", "", 8, date(2026, 3, 1),
                                                date(2026, 4, 30)),
                                 ServiceOutcome("90847", 4, "A6", "AUTH77", "SBX04", 2, date(2026, 3, 1),
                                                date(2026, 4, 30))), payer_id="SBXHP")

Edit = Callable[[list[str]], list[str]]


def request_278() -> str:
    return build_278(REQUEST, CONTROL, InterchangeParties("RCMPLATFORM", "SBXUMO"))


def response_278(answer: ReviewResponse = ANSWER, request: AuthorizationRequest = REQUEST) -> str:
    return build_278_response(request, answer, CONTROL, InterchangeParties("SBXUMO", "RCMPLATFORM"))


def edit(text: str, change: Edit) -> str:
    segments = [s for s in text.replace("\n", "").split("~") if s]
    return "".join(s + "~\n" for s in change(segments))


def replace_segment(prefix: str, new: str, nth: int = 0) -> Edit:
    def change(segments: list[str]) -> list[str]:
        hits = [i for i, s in enumerate(segments) if s.startswith(prefix)]
        out = list(segments)
        out[hits[nth]] = new
        return out
    return change


def drop(prefix: str) -> Edit:
    def change(segments: list[str]) -> list[str]:
        i = next(i for i, s in enumerate(segments) if s.startswith(prefix))
        return _recount(segments[:i] + segments[i + 1:])
    return change


def insert_after(prefix: str, new: str) -> Edit:
    def change(segments: list[str]) -> list[str]:
        i = next(i for i, s in enumerate(segments) if s.startswith(prefix))
        return _recount(segments[:i + 1] + [new] + segments[i + 1:])
    return change


def swap(first: str, second: str) -> Edit:
    def change(segments: list[str]) -> list[str]:
        i = next(i for i, s in enumerate(segments) if s.startswith(first))
        j = next(j for j, s in enumerate(segments) if s.startswith(second) and j > i)
        out = list(segments)
        out[i], out[j] = out[j], out[i]
        return out
    return change


def _recount(segments: list[str]) -> list[str]:
    """Keep SE01 right so that only the defect under test is reported."""
    st = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
    se = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    control = segments[se].split("*")[2]
    return segments[:se] + [f"SE*{se - st + 1}*{control}"] + segments[se + 1:]


def messages(text: str) -> list[str]:
    return [i.message for i in validate_278(text)]


def test_what_we_write_is_clean() -> None:
    assert validate_278(request_278()) == []
    assert validate_278(response_278()) == []
    child = replace(REQUEST, dependent=Dependent("SAMPLE", "KIM", date(2016, 2, 2), "F"))
    assert validate_278(build_278(child, CONTROL, InterchangeParties("A", "B"))) == []
    refused = ReviewResponse("TRACE1", rejections=(Rejection("2010C", "72"),), payer_id="SBXHP")
    assert validate_278(response_278(refused)) == [], "an AAA above the event ends the response early"


@pytest.mark.parametrize(("change", "expected"), [
    (replace_segment("SE*", "SE*99*0001"), "SE01 must count the segments from ST to SE"),
    (replace_segment("SE*", "SE*29*9999"), "SE02 must equal ST02"),
    (replace_segment("GE*", "GE*2*12"), "GE01 must count the transactions of the group"),
    (replace_segment("GE*", "GE*1*13"), "GE02 must equal GS06"),
    (replace_segment("IEA*", "IEA*1*000000099"), "IEA02 must equal ISA13"),
    (replace_segment("GS*", "GS*HI*RCMPLATFORM*SBXUMO*20260302*1030*12*X*004010X094A1"), "GS08 must be 005010X217"),
    (replace_segment("ST*", "ST*278*0001*004010X094A1"), "ST03 must be 005010X217"),
    (replace_segment("BHT*", "BHT*0007*99*TRACE1*20260302*1030"), "BHT02 must be 13 (request) or 11 (response)"),
    (replace_segment("BHT*", "BHT*0007*13*TRACE1*20260231*1030"), "BHT04 must be a CCYYMMDD date"),
    (replace_segment("HL*3*", "HL*4*2*22*1"), "HL01 must number the levels 1, 2, 3 ... in order"),
    (replace_segment("HL*4*", "HL*4*2*EV*1"), "a EV level cannot sit under a 21 level"),
    (replace_segment("HL*4*", "HL*4*9*EV*1"), "HL02 must name an earlier HL"),
    (replace_segment("HL*5*", "HL*5*4*SS*1"), "HL04 says children follow but none do"),
    (replace_segment("HL*4*", "HL*4*3*EV*0"), "HL04 says no children but some follow"),
    (replace_segment("HL*1*", "HL*1*1*20*1"), "HL02 must be empty on the UMO level"),
    (drop("NM1*IL*"), "the 2000C level needs its 2010C NM1"),
    (drop("TRN*"), "a requested patient event needs its TRN"),
    (drop("UM*HS*I*MH"), "UM is required in a request"),
    (drop("SV1*HC:90847"), "a requested service needs SV1, SV2 or SV3"),
    (insert_after("UM*HS*I*MH", "HCR*A1*X1"), "HCR belongs only in a 278 response"),
    (insert_after("HL*1*", "AAA*N**42*P"), "AAA belongs only in a 278 response"),
    (insert_after("NM1*X3*", "DTP*AAH*D8*20260301"), "DTP is not used in loop 2010A"),
    (swap("UM*HS*I*MH", "DTP*AAH"), "UM is out of the guide's order in loop 2000E"),
    (insert_after("DTP*AAH", "DTP*AAH*D8*20260301"), "one DTP per date qualifier"),
    (insert_after("HSD*VS*12", "HSD*VS*1"), "HSD may appear once in loop 2000E"),
    (insert_after("SV1*HC:90837", "SV1*HC:90834**UN*1"), "a service level carries one SV1, SV2 or SV3"),
    (replace_segment("DTP*AAH", "DTP*AAH*RD8*20260529-20260301"), "DTP03 range ends before it starts"),
    (replace_segment("DTP*AAH", "DTP*AAH*RD8*20260301"), "DTP03 must be CCYYMMDD-CCYYMMDD"),
    (replace_segment("DTP*AAH", "DTP*AAH*DT*202603011000"), "DTP02 must be D8 or RD8"),
    (replace_segment("DTP*472", "DTP*036*D8*20260301"), "DTP01 qualifier is not used in loop 2000F of a request"),
    (replace_segment("NM1*1P*", "NM1*1P*2*CALM CLINIC*****XX*1234567890"), "NM109 NPI fails its check digit"),
    (replace_segment("NM1*1P*", "NM1*FF*2*CALM CLINIC*****XX*1234567893"),
     "NM101 entity code is not used in loop 2010B"),
    (replace_segment("NM1*1P*", "NM1*1P*2*CALM CLINIC*****XX"), "NM108 and NM109 go together"),
    (replace_segment("NM1*IL*", "NM1*IL*1*SAMPLE*ALEX"), "NM108/NM109 identification is required in this loop"),
    (replace_segment("NM1*SJ*", "NM1*SJ*1*****XX*1245319599"), "NM103 last name is required for a person"),
    (replace_segment("TRN*", "TRN*2*TRACE1*9RCMPLATFM"), "TRN01 must be 1 (request) or 1/2 (response)"),
    (replace_segment("TRN*", "TRN*1*TRACE1*RCM"), "TRN03 must be 10 characters: 1 + EIN or 9 + an assigned id"),
    (replace_segment("UM*HS*I*MH", "UM*ZZ*I*MH*11:B"), "UM01 request category must be AR, HS, SC or IN"),
    (replace_segment("UM*HS*I*MH", "UM*HS*Q*MH*11:B"), "UM02 certification type is not an X217 code"),
    (replace_segment("UM*HS*I*MH", "UM*HS*I*MH*11:C"), "UM04 needs a facility code and qualifier A or B"),
    (replace_segment("HI*", "HI*ABF:F331*ABF:F411"),
     "HI starts with the principal (ABK) diagnosis, then others (ABF)"),
    (replace_segment("HI*", "HI*ABK:F33.1"), "diagnosis codes are 3-7 alphanumerics without the dot"),
    (replace_segment("HSD*", "HSD*VS*many"), "HSD01 quantity qualifier needs a numeric HSD02"),
    (replace_segment("SV1*HC:90837", "SV1*90837**UN*8"), "SV101 must be HC/IV/ZZ:code"),
    (replace_segment("SV1*HC:90837", "SV1*HC:90837**DA*8"), "SV103/SV104 must be UN or MJ with a count"),
    (replace_segment("DMG*", "DMG*D8*19900230"), "DMG01/02 must be D8 and a date"),
    (drop("HL*2*"), "exactly one 2000B level is required"),
])
def test_each_request_defect_is_reported(change: Edit, expected: str) -> None:
    assert expected in messages(edit(request_278(), change))


@pytest.mark.parametrize(("change", "expected"), [
    (drop("HCR*A6"), "a reviewed level needs HCR (or AAA saying why it was not reviewed)"),
    (replace_segment("HCR*A1", "HCR*A1"), "HCR02 certification number is required for a certification"),
    (replace_segment("HCR*A6", "HCR*A6*AUTH77"), "HCR03 decision reason is required when not certified or modified"),
    (replace_segment("HCR*A6", "HCR*Z9*AUTH77*SBX04"), "HCR01 is not a review action code"),
    (drop("TRN*2*"), "the response must echo the request's TRN"),
    (insert_after("TRN*2*", "AAA*X**57*C"), "AAA01 must be Y or N"),
    (insert_after("TRN*2*", "AAA*N*AB*57*C"), "AAA02 is not used"),
    (insert_after("TRN*2*", "AAA*N**5*C"), "AAA03 reject reason must be a two-character code"),
    (insert_after("TRN*2*", "AAA*N**57*Q"), "AAA04 is not a follow-up action code"),
    (replace_segment("DTP*AAH", "DTP*431*D8*20260301"), "DTP01 qualifier is not used in loop 2000E of a response"),
    (insert_after("HL*1*", "HL*2*1*20*1"), "exactly one 2000A level is required"),
])
def test_each_response_defect_is_reported(change: Edit, expected: str) -> None:
    assert expected in messages(edit(response_278(), change))


def test_an_aaa_excuses_the_missing_hcr_only_where_it_applies() -> None:
    refused_event = replace(ANSWER, action="", certification_number="", reason_code="", start=None, end=None,
                            approved_units=None, rejections=(Rejection("2010EA", "43"),),
                            services=tuple(replace(s, action="", certification_number="", reason_code="",
                                                   approved_units=None, start=None, end=None)
                                           for s in ANSWER.services))
    assert validate_278(response_278(refused_event)) == [], "the provider AAA explains the unreviewed event"
    one_service = replace(ANSWER, services=(ANSWER.services[0], replace(
        ANSWER.services[1], action="", certification_number="", reason_code="", approved_units=None, start=None,
        end=None, rejections=(Rejection("2000F", "AG"),))))
    assert validate_278(response_278(one_service)) == []
    silent = replace(one_service, services=(one_service.services[0], replace(one_service.services[1],
                                                                              rejections=())))
    assert "a reviewed level needs HCR (or AAA saying why it was not reviewed)" in messages(response_278(silent))


def test_issues_say_where_never_what() -> None:
    text = edit(request_278(), replace_segment("NM1*IL*", "NM1*IL*1*SAMPLE*ALEX****MI"))
    issues = validate_278(text)
    assert [(i.segment_id, i.loop, i.element) for i in issues] == [("NM1", "2010C", 8), ("NM1", "2010C", 9)]
    issue = issues[1]
    assert issue.message == "NM108/NM109 identification is required in this loop"
    assert "SAMPLE" not in str(issue) and "ALEX" not in str(issue)
    assert [i.message for i in validate_278("not x12")] == ["interchange must start with an ISA segment"]
