"""Bad input to claims: each request a 4xx problem+json naming the field, and nothing stored."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import pytest
from claims.adapters.clearinghouse import SandboxClearinghouse
from claims.bootstrap import build_app
from claims.config import ClaimsSettings
from rcm_shared.testing.bad_input import Refused, assert_refused
from rcm_shared.testing.fixtures import auth, running, settings_for

from .test_claim_flow import visit

pytestmark = pytest.mark.integration


def changed(path: str, value: Any, **extra: object) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(visit("E-BAD", **extra))
    *parents, leaf = path.split(".")
    target = body
    for key in parents:
        target = target[key]
    target[leaf] = value
    return body


CASES = [
    Refused("no ruleset that early", "POST", "/v1/visits", "body.date_of_service",
            kwargs={"json": changed("date_of_service", "0001-01-01")}),
    Refused("before any coding ruleset", "POST", "/v1/visits", "date_of_service",
            kwargs={"json": changed("date_of_service", "1950-06-01")}),
    Refused("a date of service in 2999", "POST", "/v1/visits", "body.date_of_service",
            kwargs={"json": changed("date_of_service", "2999-01-01")}),
    Refused("born before 1900", "POST", "/v1/visits", "body.patient.birth_date",
            kwargs={"json": changed("patient.birth_date", "1850-01-01")}),
    Refused("born in 2999", "POST", "/v1/visits", "body.patient.birth_date",
            kwargs={"json": changed("patient.birth_date", "2999-01-01")}),
    Refused("a self-pay fee as a float", "POST", "/v1/visits", "body.self_pay_fee",
            kwargs={"json": changed("self_pay_fee", 150.5, billing_model="self_pay")}),
    Refused("a self-pay fee as an exponent", "POST", "/v1/visits", "body.self_pay_fee",
            kwargs={"json": changed("self_pay_fee", "1.5e2", billing_model="self_pay")}),
    Refused("a member id with an element separator", "POST", "/v1/visits", "body.coverage.member_id",
            kwargs={"json": changed("coverage.member_id", "SBX*0001")}),
    Refused("a member id with a segment terminator", "POST", "/v1/visits", "body.coverage.member_id",
            kwargs={"json": changed("coverage.member_id", "SBX~NM1")}),
    Refused("an unknown status filter", "GET", "/v1/claims", "query.status", kwargs={"params": {"status": "nope"}}),
    Refused("an unreadable cursor", "GET", "/v1/claims", "query.cursor", 400,
            kwargs={"params": {"cursor": base64.urlsafe_b64encode(b'{"x": 1}').decode()}}),
]


async def test_bad_input_is_refused_naming_the_field_and_stores_nothing(broker, databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(ClaimsSettings, databases.create("claims"), broker, run_workers=False)
    app = build_app(settings, clearinghouse=SandboxClearinghouse(tmp_path / "ch"))
    async with running(app) as client:
        for case in CASES:
            await assert_refused(client, case, auth())
        listed = await client.get("/v1/claims", headers=auth())
        assert listed.status_code == 200 and listed.json()["items"] == []
        report = (await client.get("/v1/reports/claims", headers=auth())).json()
        assert report["claims_by_status"] == {}, "no visit became a claim"
