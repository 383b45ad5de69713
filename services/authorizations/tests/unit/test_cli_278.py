"""``rcm x12 read`` prints 278 requests and responses as JSON."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from authorizations.domain.model import AuthorizationRequest, Dependent, RequestedService
from authorizations.domain.review import Rejection, ReviewResponse
from authorizations.edi.x12_278 import build_278
from authorizations.edi.x12_278_response import build_278_response
from rcm_cli.x12_commands import app
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties
from typer.testing import CliRunner

CONTROL = ControlNumbers(5, 5, 1, datetime(2026, 3, 2, 9, 0))
REQUEST = AuthorizationRequest(
    payer_id="SBXHP", payer_name="SANDBOX HEALTH PLAN", requester_npi="1234567893", requester_name="CALM CLINIC",
    member_id="SBX000004", subscriber_last_name="SAMPLE", subscriber_first_name="ALEX", subscriber_birth_date=None,
    rendering_npi="1245319599", rendering_last_name="RIVERA", rendering_first_name="SAM", diagnosis_codes=("F411",),
    services=(RequestedService("90834", 6),), start=date(2026, 3, 1), end=date(2026, 4, 30), trace_number="CLI1",
    dependent=Dependent("SAMPLE", "KIM", date(2016, 1, 1), "F"),
)


def read(tmp_path: Path, text: str) -> dict[str, Any]:
    path = tmp_path / "file.x12"
    path.write_text(text)
    result = CliRunner().invoke(app, ["read", str(path)])
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


def test_read_prints_a_278_request(tmp_path: Path) -> None:
    shown = read(tmp_path, build_278(REQUEST, CONTROL, InterchangeParties("RCMPLATFORM", "SBXUMO")))
    assert (shown["transaction"], shown["purpose"]) == ("278", "request")
    request = shown["request"]
    assert isinstance(request, dict)
    assert request["trace_number"] == "CLI1" and request["services"] == [{"cpt_code": "90834", "units": 6}]
    assert request["start"] == "2026-03-01" and request["dependent"]["first_name"] == "KIM"


def test_read_prints_a_278_response_with_its_status_and_rejections(tmp_path: Path) -> None:
    refused = ReviewResponse("CLI1", rejections=(Rejection("2010C", "75", "C"),), payer_id="SBXHP")
    shown = read(tmp_path, build_278_response(REQUEST, refused, CONTROL, InterchangeParties("SBXUMO", "RCM")))
    assert (shown["transaction"], shown["purpose"], shown["status"]) == ("278", "response", "rejected")
    assert shown["rejections"] == [{"party": "subscriber", "loop": "2010C", "reason_code": "75",
                                    "reason": "Subscriber/insured not found", "fix": "member_id", "follow_up": "C",
                                    "follow_up_action": "Please correct and resubmit", "retry_later": False}]
    certified = ReviewResponse("CLI1", "9RCMPLATFM", "A1", "AUTH1", start=date(2026, 3, 1), end=date(2026, 4, 30),
                               approved_units=6, payer_id="SBXHP")
    shown = read(tmp_path, build_278_response(REQUEST, certified, CONTROL, InterchangeParties("SBXUMO", "RCM")))
    response = shown["response"]
    assert isinstance(response, dict) and shown["status"] == "approved"
    assert (response["certification_number"], response["approved_units"], response["end"]) == (
        "AUTH1", 6, "2026-04-30")


def test_validate_checks_a_278_against_the_x217_structure(tmp_path: Path) -> None:
    good = tmp_path / "good.x12"
    good.write_text(build_278(REQUEST, CONTROL, InterchangeParties("RCMPLATFORM", "SBXUMO")))
    ok = CliRunner().invoke(app, ["validate", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.stdout

    bad = tmp_path / "bad.x12"
    bad.write_text(good.read_text().replace("HL*1**20*1~", "HL*1**20*0~"))  # says the UMO has no children
    refused = CliRunner().invoke(app, ["validate", str(bad)])
    assert refused.exit_code == 1
    problems = [json.loads(line) for line in refused.stdout.splitlines() if line.startswith("{")]
    assert problems and all(p["source"] == "rcm-005010X217" for p in problems)
    assert any(p["segment_id"] == "HL" for p in problems)
