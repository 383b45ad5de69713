from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import authorizations.domain as domain_package
import pytest
from authorizations.domain.model import AuthorizationStatus
from authorizations.domain.sandbox_reviewer import ReviewRules, ReviewStatus, SandboxReviewer
from authorizations.domain.x12_278 import AuthorizationRequest, RequestedService, build_278, read_278
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
    subscriber_birth_date=date(2001, 11, 11), rendering_npi="1987654321", rendering_last_name="RIVERA",
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
                     "UM*HS*I*MH*11:B", "HI*ABK:F331*ABF:F411", "DTP*AAH*RD8*20260301-20260529", "HSD*VS*12",
                     "NM1*SJ*1*RIVERA*SAM****XX*1987654321", "HL*5*4*SS*0", "SV1*HC:90837**UN*12"):
        assert expected in out, expected
    se = next(x for x in out if x.startswith("SE*"))
    assert se == f"SE*{out.index(se) - 1}*0003"


def test_278_round_trip() -> None:
    two = replace(REQUEST, services=(RequestedService("90837", 8), RequestedService("90847", 4)))
    assert read_278(build_278(two, CONTROL, PARTIES)) == two


@pytest.mark.parametrize("changes", [
    {"diagnosis_codes": ("F33.1",)}, {"services": ()}, {"rendering_npi": "12"},
    {"end": date(2026, 2, 1)}, {"subscriber_last_name": "O*NEIL"}, {"certification_type": "Z"},
])
def test_unsendable_278_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(X12ValueError):
        build_278(replace(REQUEST, **changes), CONTROL, PARTIES)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_read_278_refuses_garbage_with_syntax_error(text: str) -> None:
    try:
        read_278(text)
    except X12SyntaxError:
        pass


@pytest.fixture(scope="module")
def reviewer() -> SandboxReviewer:
    path = Path(domain_package.__file__).parent / "rules" / "sandbox_reviewer.json"
    return SandboxReviewer(ReviewRules.from_dict(json.loads(path.read_text())))


def test_reviewer_approves_within_limits(reviewer: SandboxReviewer) -> None:
    decision = reviewer.review(build_278(REQUEST, CONTROL, PARTIES))
    assert decision.status is ReviewStatus.APPROVED and decision.approved_units == 12
    assert decision.authorization_number == reviewer.decide(REQUEST).authorization_number  # deterministic
    auth = decision.to_authorization("P1", "SBXHP")
    assert auth.status is AuthorizationStatus.APPROVED and auth.cpt_codes == frozenset({"90837"})


def test_reviewer_modifies_denies_and_uses_payer_rules(reviewer: SandboxReviewer) -> None:
    big = reviewer.decide(replace(REQUEST, services=(RequestedService("90837", 30),), end=date(2026, 12, 31)))
    assert big.status is ReviewStatus.MODIFIED and big.approved_units == 12 and big.end == date(2026, 5, 29)
    carve = reviewer.decide(replace(REQUEST, payer_id="SBXBH", services=(RequestedService("90837", 20),)))
    assert carve.status is ReviewStatus.APPROVED and carve.approved_units == 20
    assert reviewer.decide(replace(REQUEST, diagnosis_codes=("Z630",))).reason == "medical_necessity_not_shown"
    denied = reviewer.decide(replace(REQUEST, services=(RequestedService("90899", 1),)))
    assert denied.status is ReviewStatus.DENIED and denied.to_authorization("P1", "X").approved_units == 0
    assert reviewer.decide(replace(REQUEST, services=(RequestedService("99999", 1),))).reason == "no_rule_for_service"
