"""The 278 response (005010X217, BHT02=11): what the sandbox payer writes and what our reader accepts."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from authorizations.domain.model import AuthorizationRequest, RequestedService
from authorizations.domain.review import Rejection, ReviewResponse, ReviewStatus, ServiceOutcome
from authorizations.edi.x12_278_response import build_278_response, read_278_response, transaction_purpose
from authorizations.edi.x217_structure import validate_278
from hypothesis import given, settings
from hypothesis import strategies as st
from rcm_shared.x12 import X12SyntaxError
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

CONTROL = ControlNumbers(21, 21, 1, datetime(2026, 3, 2, 11, 5))
UMO = InterchangeParties("SBXUMO", "RCMPLATFORM")
REQUEST = AuthorizationRequest(
    payer_id="SBXHP", payer_name="SANDBOX HEALTH PLAN", requester_npi="1234567893", requester_name="CALM CLINIC",
    member_id="SBX000004", subscriber_last_name="SAMPLE", subscriber_first_name="ALEX",
    subscriber_birth_date=date(1990, 1, 1), rendering_npi="1245319599", rendering_last_name="RIVERA",
    rendering_first_name="SAM", diagnosis_codes=("F331",), services=(RequestedService("90837", 12),),
    start=date(2026, 3, 1), end=date(2026, 5, 29), trace_number="TRACE9",
)
CERTIFIED = ReviewResponse(
    "TRACE9", "9RCMPLATFM", "A1", "SBXAUTH9", start=date(2026, 3, 1), end=date(2026, 5, 29), approved_units=12,
    services=(ServiceOutcome("90837", 12, "A1", "SBXAUTH9", "", 12, date(2026, 3, 1), date(2026, 5, 29)),),
    payer_id="SBXHP")


def lines(text: str) -> list[str]:
    return [line.rstrip("~") for line in text.splitlines()]


def test_certified_response_layout() -> None:
    out = lines(build_278_response(REQUEST, CERTIFIED, CONTROL, UMO))
    assert out[1].startswith("GS*HI*SBXUMO*RCMPLATFORM*") and out[1].endswith("*X*005010X217")
    assert out[3] == "BHT*0007*11*TRACE9*20260302*1105"
    event = out.index("HL*4*3*EV*1")
    assert out[event + 1:event + 6] == ["TRN*2*TRACE9*9RCMPLATFM", "UM*HS*I*MH*11:B", "HCR*A1*SBXAUTH9",
                                        "DTP*AAH*RD8*20260301-20260529", "HSD*VS*12"]
    service = out.index("HL*5*4*SS*0")
    assert out[service + 1:service + 6] == ["UM*HS*I", "HCR*A1*SBXAUTH9", "DTP*472*RD8*20260301-20260529",
                                            "SV1*HC:90837**UN*12", "HSD*VS*12"]
    assert transaction_purpose("\n".join(x + "~" for x in out)) == "response"


def test_denied_and_pended_carry_reason_and_administrative_reference() -> None:
    denied = ReviewResponse("TRACE9", "9RCMPLATFM", "A3", reason_code="SBX02", administrative_reference="SBXR1",
                            services=(ServiceOutcome("90837", 12, "A3", reason_code="SBX02"),), payer_id="SBXHP")
    out = lines(build_278_response(REQUEST, denied, CONTROL, UMO))
    assert "HCR*A3**SBX02" in out and "REF*NT*SBXR1" in out and not any(x.startswith("HSD") for x in out)
    assert read_278_response("\n".join(x + "~" for x in out)).status is ReviewStatus.DENIED


def test_a_subscriber_rejection_ends_the_response_at_the_subscriber() -> None:
    refused = ReviewResponse("TRACE9", rejections=(Rejection("2010C", "72", "C"),), payer_id="SBXHP")
    out = lines(build_278_response(REQUEST, refused, CONTROL, UMO))
    i = out.index("HL*3*2*22*0")
    assert out[i + 1:i + 4] == ["NM1*IL*1*SAMPLE*ALEX****MI*SBX000004", "AAA*N**72*C", "DMG*D8*19900101"]
    assert not any(x.startswith(("HL*4", "TRN", "HCR")) for x in out)
    read = read_278_response("\n".join(x + "~" for x in out))
    assert read.status is ReviewStatus.REJECTED and read.trace_number == "TRACE9", "BHT03 names the request"
    assert read.rejections[0].to_dict()["fix"] == "member_id"


# A payer's answer as payers write them (the ISA is fixed-width: 106 characters).
PAYER_STYLE = """\
ISA*00*          *00*          *ZZ*PAYER          *ZZ*RCMPLATFORM    *260302*1105*^*00501*000000031*0*P*:~
GS*HI*PAYER*RCMPLATFORM*20260302*1105*31*X*005010X217~
ST*278*0031*005010X217~
BHT*0007*11*PAYERREF77*20260302*1105~
HL*1**20*1~
NM1*X3*2*SANDBOX HEALTH PLAN*****PI*SBXHP~
PER*IC*UM DEPT*TE*8005550100~
HL*2*1*21*1~
NM1*1P*2*CALM CLINIC*****XX*1234567893~
HL*3*2*22*1~
NM1*IL*1*SAMPLE*ALEX****MI*SBX000004~
HL*4*3*EV*1~
TRN*2*TRACE9*9RCMPLATFM~
TRN*1*UMO0000123*1999999999~
UM*HS*I*MH*11:B~
REF*NT*ADMIN42~
DTP*007*D8*20260301~
DTP*036*D8*20260531~
HL*5*4*SS*0~
UM*HS*I~
HCR*A1*CERT-777~
DTP*472*RD8*20260301-20260531~
SV1*HC:90837**UN*12~
HSD*VS*10.0~
SE*23*0031~
GE*1*31~
IEA*1*000000031~
"""


def test_reader_accepts_what_payers_send_beyond_our_writer() -> None:
    """The UMO's own TRN next to our echo, the period as effective/expiration dates, HCR only per service: the
    validator holds it to the guide (the event's HCR is missing), the reader still takes the answer."""
    assert [(i.loop, i.message) for i in validate_278(PAYER_STYLE)] == [
        ("2000E", "a reviewed level needs HCR (or AAA saying why it was not reviewed)")]
    read = read_278_response(PAYER_STYLE)
    assert (read.trace_number, read.trace_originator) == ("TRACE9", "9RCMPLATFM"), "TRN01=2 is ours"
    assert (read.action, read.certification_number, read.status) == ("A1", "CERT-777", ReviewStatus.APPROVED)
    assert (read.start, read.end, read.administrative_reference) == (date(2026, 3, 1), date(2026, 5, 31), "ADMIN42")
    assert read.services[0].approved_units == 10 and read.approved_units is None


def test_certification_dates_win_over_the_event_and_service_dates() -> None:
    text = PAYER_STYLE.replace("REF*NT*ADMIN42~", "REF*NT*ADMIN42~\nDTP*AAH*RD8*20260301-20260630~").replace(
        "DTP*472*RD8*20260301-20260531~", "DTP*472*RD8*20260301-20260630~\nDTP*007*RD8*20260302-20260415~").replace(
        "SE*23*", "SE*25*")
    read = read_278_response(text)
    assert (read.start, read.end) == (date(2026, 3, 1), date(2026, 5, 31)), "007 / 036, not the asked AAH range"
    assert (read.services[0].start, read.services[0].end) == (date(2026, 3, 2), date(2026, 4, 15))
    only_event = read_278_response(text.replace("DTP*007*D8*20260301~\n", "").replace(
        "DTP*036*D8*20260531~\n", "").replace("SE*25*", "SE*23*"))
    assert (only_event.start, only_event.end) == (date(2026, 3, 1), date(2026, 6, 30))


@pytest.mark.parametrize(("change", "message"), [
    (("BHT*0007*11*", "BHT*0007*13*"), "not a response"),
    (("HCR*A1*CERT-777~", ""), "neither a review outcome"),
    (("SV1*HC:90837**UN*12~", ""), "no SV1"),
    (("HSD*VS*10.0", "HSD*VS*ten"), "HSD02 is not a number"),
    (("HSD*VS*10.0", "HSD*VS*-1"), "whole, non-negative"),
    (("DTP*036*D8*20260531", "DTP*036*D8*20260631"), "not a CCYYMMDD date"),
    (("HL*5*4*SS*0", "HL*5*4*XX*0"), "unknown HL level code"),
    # What we keep must fit what we keep it in: past the X12 element size, a control character, or a count no
    # certification carries is an unreadable answer, not a failed write after the payer has decided.
    (("HCR*A1*CERT-777", "HCR*A1Z*CERT-777"), "HCR01 is too long"),
    (("HCR*A1*CERT-777", "HCR*A1*" + "C" * 51), "HCR02 is too long"),
    (("HCR*A1*CERT-777", "HCR*A1*CERT\x00777"), "HCR02 is too long or holds control characters"),
    (("REF*NT*ADMIN42", "REF*NT*" + "N" * 51), "REF02 is too long"),
    (("TRN*2*TRACE9", "TRN*2*" + "T" * 51), "TRN02 is too long"),
    (("HSD*VS*10.0", "HSD*VS*NaN"), "whole, non-negative count"),
    (("HSD*VS*10.0", "HSD*VS*Infinity"), "whole, non-negative count"),
    (("HSD*VS*10.0", "HSD*VS*1E+9"), "whole, non-negative count"),
    (("HSD*VS*10.0", "HSD*VS*100000"), "whole, non-negative count"),
    (("*UN*12~", "*UN*\u00b2~"), "SV104 is not a number"),
    (("*UN*12~", "*UN*" + "9" * 5000 + "~"), "SV104 must be a whole"),
])
def test_reader_refuses_what_it_cannot_trust(change: tuple[str, str], message: str) -> None:
    with pytest.raises(X12SyntaxError, match=message) as raised:
        read_278_response(PAYER_STYLE.replace(*change))
    assert "SAMPLE" not in str(raised.value) and "SBX000004" not in str(raised.value)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_read_278_response_refuses_garbage_with_syntax_error(text: str) -> None:
    try:
        read_278_response(text)
    except X12SyntaxError:
        pass
