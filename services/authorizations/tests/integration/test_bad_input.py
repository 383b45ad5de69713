"""Bad input to authorizations: each request a 4xx problem+json naming the field, and nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from authorizations.bootstrap import build_app
from authorizations.config import AuthorizationsSettings
from rcm_shared.testing.bad_input import Refused, assert_refused
from rcm_shared.testing.fixtures import auth, running, settings_for

from .test_prior_authorization import BODY

pytestmark = pytest.mark.integration
AUTHORIZATION: dict[str, Any] = {"number": "AUTH-BAD", "patient_id": "pt-bad", "payer_id": "SBXHP",
                                 "cpt_codes": ["90837"], "approved_units": 4, "start": "2026-11-01",
                                 "end": "2026-12-31"}


def authorization(**changes: Any) -> dict[str, Any]:
    return {"json": {**AUTHORIZATION, **changes}}


def request(**changes: Any) -> dict[str, Any]:
    return {"json": {**BODY, "patient_id": "pt-bad", **changes}}


LOOKUP = {"visit_id": "v1", "patient_id": "pt-bad", "payer_id": "SBXHP", "date_of_service": "2026-11-05",
          "cpt_code": "90837"}

CASES = [
    Refused("a CPT code that is SQL", "POST", "/v1/authorizations", "body.cpt_codes.0",
            kwargs=authorization(cpt_codes=["' OR 1"])),
    Refused("a CPT code too short", "POST", "/v1/authorizations", "body.cpt_codes.0",
            kwargs=authorization(cpt_codes=["9083"])),
    Refused("an authorization ending in 2999", "POST", "/v1/authorizations", "body.end",
            kwargs=authorization(end="2999-12-31")),
    Refused("an authorization starting in year 1", "POST", "/v1/authorizations", "body.start",
            kwargs=authorization(start="0001-01-01")),
    Refused("a requested service that is not a code", "POST", "/v1/authorization-requests",
            "body.services.0.cpt_code", kwargs=request(services=[{"cpt_code": "' OR 1", "units": 1}])),
    Refused("a member id with a segment terminator", "POST", "/v1/authorization-requests", "body.member_id",
            kwargs=request(member_id="SBX~0040")),
    Refused("a subscriber born in 2999", "POST", "/v1/authorization-requests", "body.subscriber_birth_date",
            kwargs=request(subscriber_birth_date="2999-01-01")),
    Refused("a lookup for a code that is not a code", "GET", "/v1/authorization-lookup", "query.cpt_code",
            kwargs={"params": {**LOOKUP, "cpt_code": "' OR 1"}}),
    Refused("a lookup in 2999", "GET", "/v1/authorization-lookup", "query.date_of_service",
            kwargs={"params": {**LOOKUP, "date_of_service": "2999-01-01"}}),
    Refused("an enrollment from year 1", "POST", "/v1/credentialing/enrollments", "body.effective_from",
            kwargs={"json": {"npi": "1234567893", "payer_id": "SBXHP", "effective_from": "0001-01-01"}}),
]


async def test_bad_input_is_refused_naming_the_field_and_stores_nothing(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(AuthorizationsSettings, databases.create("auth"), broker, run_workers=False)
    async with running(build_app(settings)) as client:
        for case in CASES:
            await assert_refused(client, case, auth())
        listed = (await client.get("/v1/patients/pt-bad/authorizations", headers=auth())).json()["items"]
        assert listed == []


async def test_a_work_queue_for_a_day_before_any_renewal_rule_is_a_422_naming_the_day(broker, databases) -> None:  # type: ignore[no-untyped-def]
    # found by the schemathesis drill: with an authorization on file, a day before rules/renewal.yaml begins was a 500
    settings = settings_for(AuthorizationsSettings, databases.create("auth"), broker, run_workers=False)
    async with running(build_app(settings)) as client:
        created = await client.post("/v1/authorizations", headers=auth(), json=AUTHORIZATION)
        assert created.status_code == 201, created.text
        refused = await client.get("/v1/work-queue", headers=auth(), params={"today": "1901-01-01"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["type"].endswith("/rules-not-in-force")
        assert [e["field"] for e in refused.json()["errors"]] == ["today"]
        assert (await client.get("/v1/work-queue", headers=auth())).status_code == 200
