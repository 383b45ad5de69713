"""Test tokens: a key pair made for this test process, whose public half the services under test trust through
their settings (RCM_JWKS, set by the pytest plugin in rcm_shared.testing.fixtures). Nothing here is used outside
tests; services never sign."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from rcm_shared.config import ServiceSettings


def new_signing_key() -> ECKey:
    key = ECKey.generate_key("P-256", parameters={"alg": "ES256", "use": "sig"}, private=True)
    key.ensure_kid()
    return key


TEST_KEY = new_signing_key()


def public_jwks(*keys: ECKey) -> str:
    """The public JWKS of the given keys (default: the test key)."""
    return json.dumps(KeySet(list(keys or (TEST_KEY,))).as_dict(private=False))


def sign(claims: dict[str, Any], *, key: ECKey | None = None, header: dict[str, Any] | None = None) -> str:
    signing = key or TEST_KEY
    return jwt.encode({"alg": "ES256", "kid": signing.kid, **(header or {})}, claims, signing)


def claims_for(*, practice_id: str | None = "practice-a", scopes: list[str], subject: str = "test-user",
               ttl_seconds: int = 3600, **extra: Any) -> dict[str, Any]:
    defaults = ServiceSettings()
    now = int(time.time())
    claims: dict[str, Any] = {"iss": defaults.jwt_issuer, "aud": defaults.jwt_audience, "sub": subject,
                              "scope": " ".join(sorted(set(scopes))), "iat": now, "exp": now + ttl_seconds,
                              "jti": uuid.uuid4().hex}
    if practice_id is not None:
        claims["practice_id"] = practice_id
    claims.update(extra)
    return claims


class ServiceToken:
    """A service client's token signed with the test key (what the issuer's client-credentials grant gives)."""

    def __init__(self, client_id: str, scopes: list[str] | tuple[str, ...]) -> None:
        self.client_id = client_id
        self.scopes = list(scopes)

    async def bearer(self) -> str:
        return sign(claims_for(practice_id=None, scopes=self.scopes, subject=self.client_id,
                               client_id=self.client_id, practices=["*"]))

    def forget(self) -> None:
        pass
