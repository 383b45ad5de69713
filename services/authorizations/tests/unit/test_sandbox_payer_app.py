"""The sandbox payer's HTTP face refuses what it cannot read with a 400 saying where, never a 500."""

from __future__ import annotations

import httpx
import pytest
from authorizations.bootstrap import load_sandbox_reviewer
from authorizations.sandbox.payer_app import build_sandbox_payer_app


@pytest.mark.parametrize(("path", "media", "body"), [
    ("/fhir/Claim/$submit", "application/fhir+json", "[" * 100_000),  # nested past the JSON parser's depth
    ("/fhir/Claim/$submit", "application/fhir+json", "{}"),
    ("/x12/278", "application/edi-x12", "not an interchange"),
])
async def test_unreadable_requests_are_a_400(path: str, media: str, body: str) -> None:
    transport = httpx.ASGITransport(app=build_sandbox_payer_app(load_sandbox_reviewer()), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        answer = await client.post(path, content=body, headers={"Content-Type": media})
    assert answer.status_code == 400, answer.text
