"""Standard Webhooks signatures (https://www.standardwebhooks.com): ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` = space-separated ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, one per secret
in force (two during a rotation's overlap). Secrets are ``whsec_`` + base64 of 24-64 random bytes. Checked in the
unit tests against the ``standardwebhooks`` package's own ``Webhook.verify``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

SECRET_PREFIX = "whsec_"


def secret_from_bytes(raw: bytes) -> str:
    """A ``whsec_`` secret of ``raw`` (the caller's random bytes: 24 to 64 of them)."""
    if not 24 <= len(raw) <= 64:
        raise ValueError("a webhook secret is 24 to 64 random bytes")
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def secret_key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("webhook secrets start with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)


def sign(message_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """One ``v1,<signature>``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(message_id: str, at: datetime, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
    """The three headers of one delivery attempt, signed with every secret in force (newest first)."""
    if not secrets:
        raise ValueError("an endpoint signs with at least one secret")
    timestamp = int(at.timestamp())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(message_id, timestamp, body, s) for s in secrets),
    }


def verify(message_id: str, timestamp: int, body: bytes, header: str, secret: str) -> bool:
    """Does any ``v1`` signature of ``header`` match (constant-time)? For receivers and ``rcm`` tools."""
    expected = sign(message_id, timestamp, body, secret)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split(" ") if candidate)
