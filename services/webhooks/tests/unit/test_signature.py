"""Our Standard Webhooks signatures verify with the ``standardwebhooks`` package (the reference implementation),
with one secret and with two during a rotation's overlap; a changed body, id or timestamp, or another secret, does
not."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from webhooks.domain.signature import secret_from_bytes, sign, signature_headers, verify

ids = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=40)
bodies = st.binary(max_size=2000).map(base64.b64encode)  # text bodies, as JSON is
keys = st.binary(min_size=24, max_size=64)


@settings(max_examples=60, deadline=None)
@given(message_id=ids, body=bodies, key=keys)
def test_the_reference_package_verifies_what_we_sign(message_id: str, body: bytes, key: bytes) -> None:
    secret = secret_from_bytes(key)
    headers = signature_headers(message_id, datetime.now(UTC), body, [secret])
    Webhook(secret).verify(body, headers, json_parse=False)
    stamp = int(headers["webhook-timestamp"])
    assert headers["webhook-signature"] == Webhook(secret).sign(message_id, datetime.fromtimestamp(stamp, UTC),
                                                                body.decode())
    assert verify(message_id, stamp, body, headers["webhook-signature"], secret)


@settings(max_examples=40, deadline=None)
@given(message_id=ids, body=bodies, new=keys, old=keys)
def test_during_an_overlap_both_secrets_verify(message_id: str, body: bytes, new: bytes, old: bytes) -> None:
    new_secret, old_secret = secret_from_bytes(new), secret_from_bytes(old)
    headers = signature_headers(message_id, datetime.now(UTC), body, [new_secret, old_secret])
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new_secret).verify(body, headers, json_parse=False)
    Webhook(old_secret).verify(body, headers, json_parse=False)


def test_a_changed_body_id_or_secret_fails() -> None:
    secret = secret_from_bytes(secrets.token_bytes(32))
    body = b'{"id":"e1","data":{"claim_id":"c1"}}'
    headers = signature_headers("e1", datetime.now(UTC), body, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"c1", b"c2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "e2"})
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_from_bytes(secrets.token_bytes(32))).verify(body, headers)
    stamp = int(headers["webhook-timestamp"])
    assert not verify("e1", stamp + 1, body, headers["webhook-signature"], secret)


def test_secrets_are_whsec_base64_of_24_to_64_bytes() -> None:
    with pytest.raises(ValueError, match="24 to 64"):
        secret_from_bytes(b"short")
    secret = secret_from_bytes(bytes(range(32)))
    assert secret.startswith("whsec_") and base64.b64decode(secret[6:]) == bytes(range(32))
    with pytest.raises(ValueError, match="whsec_"):
        sign("e1", 1, b"{}", "not-a-secret")
