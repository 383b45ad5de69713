"""The HTTP sender connects to the address that was checked, keeping the URL's host name for the Host header (and
for TLS): a name that a rebinding DNS would answer differently the second time is never looked up again."""

from __future__ import annotations

import ipaddress

import pytest
from webhooks.adapters.sender import HttpSender

from .receivers import receivers

pytestmark = pytest.mark.integration


async def test_the_connection_goes_to_the_checked_address_under_the_urls_name() -> None:
    sender = HttpSender(timeout_seconds=2, connect_timeout_seconds=2, user_agent="test")
    try:
        async with receivers() as received:
            port = received.base_url.rsplit(":", 1)[1]
            result = await sender.send(f"http://receiver.invalid:{port}/healthy", b"{}", {"webhook-id": "e1"},
                                       address=ipaddress.ip_address("127.0.0.1"))
            redirect = await sender.send(f"{received.base_url}/redirect", b"{}", {})
            huge = await sender.send(f"{received.base_url}/huge", b"{}", {})
    finally:
        await sender.close()
    assert (result.status_code, result.error) == (204, None)
    (request,) = received.seen["healthy"]
    assert request.headers["host"] == f"receiver.invalid:{port}" and request.headers["webhook-id"] == "e1"
    assert (redirect.status_code, redirect.error) == (307, "redirect")
    assert (huge.status_code, huge.error) == (200, None)
