"""``rcm webhooks listen``'s receiver: answers 204 to a delivery whose signature verifies and prints its id, type
and field names; answers 401 (so the service retries) to one that does not."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

import httpx
from rcm_cli.webhooks_commands import listener
from webhooks.domain.signature import secret_from_bytes, signature_headers

SECRET = secret_from_bytes(secrets.token_bytes(32))
EVENT = {"specversion": "1.0", "id": "e-1", "type": "claim.status-changed", "subject": "c-1",
         "time": "2026-12-02T10:00:00Z", "data": {"claim_id": "c-1", "status": "paid"}, "phiwithheld": True}


async def test_a_signed_delivery_is_printed_and_accepted() -> None:
    lines: list[str] = []
    body = json.dumps(EVENT).encode()
    transport = httpx.ASGITransport(app=listener(lambda: SECRET, lines.append))
    async with httpx.AsyncClient(transport=transport, base_url="http://listen") as client:
        good = await client.post("/", content=body, headers=signature_headers("e-1", datetime.now(UTC), body,
                                                                              [SECRET]))
        bad = await client.post("/", content=body.replace(b"paid", b"void"),
                                headers=signature_headers("e-1", datetime.now(UTC), body, [SECRET]))
    assert (good.status_code, bad.status_code) == (204, 401)
    assert "claim.status-changed id=e-1 subject=c-1 data=[claim_id,status] (PHI withheld): signature ok" in lines[0]
    assert lines[1].endswith("SIGNATURE DOES NOT VERIFY")
