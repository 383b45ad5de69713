"""Verify a bearer JWT: an allowed asymmetric algorithm, a key the issuer publishes, the issuer, the audience,
an expiry. What it refuses is said in a few fixed words, never with the token's content."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError

from rcm_shared.identity.keys import KeySource

# Symmetric and unsigned algorithms are never accepted, whatever the settings say: a service that can verify an
# HS256 token could also mint one.
ASYMMETRIC = frozenset({"ES256", "ES384", "ES512", "EdDSA", "Ed25519", "RS256", "RS384", "RS512",
                        "PS256", "PS384", "PS512"})
MAX_TOKEN_BYTES = 16 * 1024
# A client sends the same token on many requests: its verified claims are kept for a minute (never past its
# expiry), which spares a signature check (~0.1 ms) per request. A key withdrawn from the JWKS therefore stops
# working within a minute, not at once.
CACHE_SECONDS = 60.0
CACHE_SIZE = 4096


class InvalidToken(Exception):
    """Why a token was refused, in words safe to show the caller and to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VerifiedToken:
    header: dict[str, Any]
    claims: dict[str, Any]


class TokenVerifier:
    def __init__(self, keys: KeySource, *, issuer: str, audience: str, algorithms: Collection[str] = ("ES256",),
                 leeway_seconds: int = 30) -> None:
        refused = set(algorithms) - ASYMMETRIC
        if refused:
            raise ValueError(f"not asymmetric signature algorithms: {sorted(refused)}")
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.algorithms = list(algorithms)
        self.leeway = leeway_seconds
        self._verified: OrderedDict[str, tuple[float, VerifiedToken]] = OrderedDict()

    async def verify(self, token: str) -> VerifiedToken:
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None and now < cached[0]:
            return cached[1]
        verified = await self._verify(token)
        expires = float(verified.claims["exp"]) + self.leeway
        self._verified[token] = (min(expires, now + CACHE_SECONDS), verified)
        while len(self._verified) > CACHE_SIZE:
            self._verified.popitem(last=False)
        return verified

    async def _verify(self, token: str) -> VerifiedToken:
        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken("token invalid")
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeError) as exc:
            raise InvalidToken("token invalid") from exc
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.algorithms:
            raise InvalidToken("token algorithm not accepted")
        if not isinstance(kid, str) or not kid or len(kid) > 200:
            raise InvalidToken("token has no key id")
        key = await self.keys.key(kid)
        if key is None:
            raise InvalidToken("token signed by an unknown key")
        try:
            decoded = jwt.decode(token, key, algorithms=[alg])
            registry = jwt.JWTClaimsRegistry(
                now=lambda: int(time.time()), leeway=self.leeway,
                iss={"essential": True, "value": self.issuer}, aud={"essential": True, "value": self.audience},
                sub={"essential": True}, exp={"essential": True})
            registry.validate(decoded.claims)
        except ExpiredTokenError as exc:
            raise InvalidToken("token expired") from exc
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken("token invalid") from exc
        if not isinstance(decoded.claims.get("sub"), str):
            raise InvalidToken("token invalid")
        return VerifiedToken(dict(decoded.header), dict(decoded.claims))
