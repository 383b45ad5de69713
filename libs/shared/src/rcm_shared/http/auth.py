"""Bearer JWTs: every endpoint but health and metrics needs one, with the scope the API names.

Claims: iss, aud, exp, sub (the caller), practice_id (the tenant), scope (space-separated).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rcm_shared.http.errors import ProblemError

ALGORITHM = "HS256"
_bearer = HTTPBearer(auto_error=False, description="JWT from your identity provider (dev: `rcm token`)")


@dataclass(frozen=True)
class Principal:
    subject: str
    practice_id: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes


def mint_token(
    *, secret: str, issuer: str, audience: str, subject: str, practice_id: str, scopes: list[str],
    ttl_seconds: int = 3600,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer, "aud": audience, "sub": subject, "practice_id": practice_id,
        "scope": " ".join(sorted(set(scopes))), "iat": now, "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(token: str, *, secret: str, issuer: str, audience: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=audience, issuer=issuer,
                            options={"require": ["exp", "iss", "aud", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("token expired") from exc
    except jwt.PyJWTError as exc:
        raise _unauthorized("token invalid") from exc
    practice = claims.get("practice_id")
    if not isinstance(practice, str) or not practice:
        raise _unauthorized("token has no practice_id")
    return Principal(str(claims["sub"]), practice, frozenset(str(claims.get("scope", "")).split()))


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "unauthorized", "Authentication required", detail,
                        extra={}) if detail else ProblemError(401, "unauthorized", "Authentication required")


def require_scope(scope: str) -> Any:
    """A dependency: the verified caller, who must hold ``scope``."""

    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ProblemError(401, "unauthorized", "Authentication required", "send Authorization: Bearer")
        settings = request.app.state.settings
        principal = verify_token(credentials.credentials, secret=settings.jwt_secret.get_secret_value(),
                                 issuer=settings.jwt_issuer, audience=settings.jwt_audience)
        if not principal.has(scope):
            raise ProblemError(403, "insufficient-scope", "Forbidden", f"this API needs scope {scope}")
        request.state.principal = principal
        return principal

    return Depends(dependency)


ALL_SCOPES = [
    "claims:read", "claims:write", "remittance:read", "remittance:write", "eligibility:read",
    "eligibility:write", "authorizations:read", "authorizations:write", "patient-billing:read",
    "patient-billing:write", "audit:read",
]
