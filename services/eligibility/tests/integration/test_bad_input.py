"""Bad input to eligibility: each request a 4xx problem+json naming the field, and nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from eligibility.bootstrap import build_app
from eligibility.config import EligibilitySettings
from rcm_shared.testing.bad_input import Refused, assert_refused
from rcm_shared.testing.fixtures import auth, running, settings_for

from .test_coverage_checks import check_body

pytestmark = pytest.mark.integration


def check(**changes: Any) -> dict[str, Any]:
    body = check_body("SBX000001", "pt-bad")
    subscriber = {**body["subscriber"], **changes.pop("subscriber", {})}  # type: ignore[dict-item]
    return {"json": {**body, "subscriber": subscriber, **changes}}


def schedule(**changes: Any) -> dict[str, Any]:
    visit = {"visit_id": "v-bad", "patient_id": "pt-bad", "payer_id": "SBXHP", "service_date": "2026-12-10",
             **changes}
    return {"json": {"visits": [visit]}}


CASES = [
    Refused("a member id with an element separator", "POST", "/v1/coverage-checks", "body.subscriber.member_id",
            kwargs=check(subscriber={"member_id": "SBX*01"})),
    Refused("a birth date in 2999", "POST", "/v1/coverage-checks", "body.subscriber.birth_date",
            kwargs=check(subscriber={"birth_date": "2999-01-01"})),
    Refused("a birth date before 1900", "POST", "/v1/coverage-checks", "body.subscriber.birth_date",
            kwargs=check(subscriber={"birth_date": "0001-01-01"})),
    Refused("a service date in 2999", "POST", "/v1/coverage-checks", "body.service_date",
            kwargs=check(service_date="2999-01-01")),
    Refused("a booking in 2999", "POST", "/v1/schedule", "body.visits.0.service_date",
            kwargs=schedule(service_date="2999-12-31")),
    Refused("a booking in year 1", "POST", "/v1/schedule", "body.visits.0.service_date",
            kwargs=schedule(service_date="0001-01-01")),
    Refused("coverage on a date that cannot be real", "GET", "/v1/patients/pt-bad/coverage", "query.on",
            kwargs={"params": {"on": "2999-01-01"}}),
    Refused("an unknown work-item status", "GET", "/v1/work-items", "query.status",
            kwargs={"params": {"status": "closed"}}),
    Refused("an unknown re-check status", "GET", "/v1/rechecks", "query.status", kwargs={"params": {"status": "x"}}),
]


async def test_bad_input_is_refused_naming_the_field_and_stores_nothing(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(EligibilitySettings, databases.create("elig"), broker, run_workers=False)
    async with running(build_app(settings)) as client:
        for case in CASES:
            await assert_refused(client, case, auth())
        checks = (await client.get("/v1/patients/pt-bad/coverage-checks", headers=auth())).json()["checks"]
        assert checks == []
        assert (await client.get("/v1/rechecks", headers=auth())).json()["items"] == []
