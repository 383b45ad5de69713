"""Bad input to remittance: each request a 4xx problem+json naming the field, and nothing stored."""

from __future__ import annotations

import base64

import pytest
from rcm_shared.testing.bad_input import Refused, assert_refused
from rcm_shared.testing.fixtures import auth, running, settings_for
from remittance.bootstrap import build_app
from remittance.config import RemittanceSettings

pytestmark = pytest.mark.integration
CSV = {"content-type": "text/csv"}


def deposits(line: str) -> dict[str, object]:
    return {"content": f"reference,amount,date\n{line}\n".encode(), "headers": CSV}


CASES = [
    Refused("multipart without a file part", "POST", "/v1/eras", "body.file",
            kwargs={"data": {"note": "no file here"}, "files": {"other": ("x.txt", b"ISA*")}}),
    Refused("a negative deposit", "POST", "/v1/deposits", "body", kwargs=deposits("TRN1,-10.00,2026-11-02")),
    Refused("a deposit as an exponent", "POST", "/v1/deposits", "body", kwargs=deposits("TRN1,1e3,2026-11-02")),
    Refused("a formula as a reference", "POST", "/v1/deposits", "body",
            kwargs=deposits('=HYPERLINK("http://x"),10.00,2026-11-02')),
    Refused("a reference starting with @", "POST", "/v1/deposits", "body", kwargs=deposits("@SUM(1),10.00,2026-11-02")),
    Refused("a reference longer than the column", "POST", "/v1/deposits", "body",
            kwargs=deposits("R" * 81 + ",10.00,2026-11-02")),
    Refused("a deposit in 2999", "POST", "/v1/deposits", "body", kwargs=deposits("TRN1,10.00,2999-01-01")),
    Refused("an unknown denial status", "GET", "/v1/denials", "query.status", kwargs={"params": {"status": "x"}}),
    Refused("an unknown exception status", "GET", "/v1/era-exceptions", "query.status",
            kwargs={"params": {"status": "closed"}}),
    Refused("an unknown underpayment status", "GET", "/v1/underpayments", "query.status",
            kwargs={"params": {"status": "all"}}),
    Refused("a queue that is not a name", "GET", "/v1/denials", "query.queue", kwargs={"params": {"queue": "' OR 1"}}),
    Refused("an unreadable denial cursor", "GET", "/v1/denials", "query.cursor", 400,
            kwargs={"params": {"cursor": base64.urlsafe_b64encode(b"{}").decode()}}),
    Refused("an unreadable secondary-balance cursor", "GET", "/v1/secondary-balances", "query.cursor", 400,
            kwargs={"params": {"cursor": "bm90IGpzb24"}}),
]


async def test_bad_input_is_refused_naming_the_field_and_stores_nothing(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(RemittanceSettings, databases.create("rem"), broker, run_workers=False)
    async with running(build_app(settings)) as client:
        for case in CASES:
            await assert_refused(client, case, auth())
        assert (await client.get("/v1/eras", headers=auth())).json()["items"] == []
        reconciliation = (await client.get("/v1/reconciliation", headers=auth())).json()
        assert reconciliation["unmatched_deposits"] == [], "no deposit line of a refused file was stored"
