"""Bad input to patient billing: each request a 4xx problem+json naming the field, and nothing stored."""

from __future__ import annotations

import base64

import pytest
from patient_billing.bootstrap import build_app
from patient_billing.config import PatientBillingSettings
from rcm_shared.testing.bad_input import Refused, assert_refused
from rcm_shared.testing.fixtures import auth, running, settings_for

pytestmark = pytest.mark.integration
PAY = "/v1/patients/pt-bad/payments"

CASES = [
    Refused("a huge exponent as a minimum balance", "GET", "/v1/accounts", "query.min_balance",
            kwargs={"params": {"min_balance": "1e400"}}),
    Refused("a negative minimum balance", "GET", "/v1/accounts", "query.min_balance",
            kwargs={"params": {"min_balance": "-1"}}),
    Refused("NaN as a minimum balance", "GET", "/v1/accounts", "query.min_balance",
            kwargs={"params": {"min_balance": "NaN"}}),
    Refused("a payment as a JSON float", "POST", PAY, "body.amount", kwargs={"json": {"amount": 20.1,
                                                                                       "method": "card"}}),
    Refused("a payment as an exponent string", "POST", PAY, "body.amount",
            kwargs={"json": {"amount": "2e1", "method": "card"}}),
    Refused("a negative payment", "POST", PAY, "body.amount", kwargs={"json": {"amount": "-20.00",
                                                                                "method": "card"}}),
    Refused("a reference with a NUL", "POST", PAY, "body.reference",
            kwargs={"json": {"amount": "20.00", "method": "card", "reference": "a\x00b"}}),
    Refused("an unreadable cursor", "GET", "/v1/accounts", "query.cursor", 400,
            kwargs={"params": {"cursor": base64.urlsafe_b64encode(b"{}").decode()}}),
    Refused("a cursor from another list", "GET", "/v1/accounts", "query.cursor", 400,
            kwargs={"params": {"cursor": base64.urlsafe_b64encode(b'{"claim_id": "c"}').decode()}}),
]


async def test_bad_input_is_refused_naming_the_field_and_stores_nothing(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(PatientBillingSettings, databases.create("pb"), broker, run_workers=False)
    async with running(build_app(settings)) as client:
        for case in CASES:
            await assert_refused(client, case, auth())
        assert (await client.get("/v1/patients/pt-bad/account", headers=auth())).status_code == 404
        assert (await client.get("/v1/accounts", params={"min_balance": "0"}, headers=auth())).json()["items"] == []
