"""Bearer JWTs: every endpoint but health and metrics needs one, with the scope the API names.

Services only verify (rcm_shared.identity): an asymmetric signature by a key the issuer publishes, ``iss``,
``aud``, ``exp``, ``sub``. Tenancy comes from the token, never from the body:

- ``practice_id``: a token for one practice (a practice's staff, development tokens);
- ``practices``: a list of practice ids, or ``["*"]`` for a service client working for every practice. The
  request names the practice it acts for in ``X-Practice-Id``, which must be in the list (a billing-company
  operator switching between the practices it serves).

``scope`` (space-separated) says what the caller may do; ``roles`` and ``npi`` ride along for consoles (a
clinician's own figures) and are not used to grant anything here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rcm_shared.config import ServiceSettings
from rcm_shared.http.errors import ProblemError
from rcm_shared.identity.keys import KeySource, RemoteJwks, StaticKeys
from rcm_shared.identity.verifier import InvalidToken, TokenVerifier

_bearer = HTTPBearer(auto_error=False, description="JWT from the issuer (dev: `rcm token`)")
PRACTICE_HEADER = "X-Practice-Id"
PRACTICE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
EVERY_PRACTICE = "*"


@dataclass(frozen=True)
class Principal:
    """The verified caller, acting for one practice in this request."""

    subject: str
    practice_id: str
    scopes: frozenset[str]
    roles: frozenset[str] = frozenset()
    npi: str | None = None
    client_id: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class Identity:
    """What a verified token says about its bearer, before a practice is chosen for the request."""

    subject: str
    practices: frozenset[str]
    scopes: frozenset[str]
    roles: frozenset[str]
    npi: str | None
    client_id: str | None

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Identity:
        single, many = claims.get("practice_id"), claims.get("practices")
        if isinstance(single, str) and PRACTICE_ID.fullmatch(single):
            practices = frozenset({single})
        elif (isinstance(many, list) and many and len(many) <= 1000
              and all(isinstance(p, str) and (p == EVERY_PRACTICE or PRACTICE_ID.fullmatch(p)) for p in many)):
            practices = frozenset(many)
        else:
            raise _unauthorized("token has no practice_id")
        scope, roles = claims.get("scope", ""), claims.get("roles", [])
        npi, client = claims.get("npi"), claims.get("client_id")
        return cls(
            subject=str(claims["sub"])[:200], practices=practices,
            scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
            roles=frozenset(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else frozenset(),
            npi=npi if isinstance(npi, str) else None, client_id=client if isinstance(client, str) else None)

    def practice_for(self, requested: str | None) -> str:
        """The practice this request acts for: the token's only practice, or the one the header names."""
        if requested is None:
            if len(self.practices) == 1 and EVERY_PRACTICE not in self.practices:
                return next(iter(self.practices))
            raise ProblemError(400, "practice-required", "Name the practice this request is for",
                               errors=[{"field": f"header.{PRACTICE_HEADER}", "code": "missing",
                                        "message": "is required for a token that spans practices"}])
        if requested in self.practices or EVERY_PRACTICE in self.practices:
            return requested
        raise ProblemError(403, "practice-not-allowed", "Forbidden", "this token does not cover that practice")


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "unauthorized", "Authentication required", detail,
                        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def build_verifier(settings: ServiceSettings) -> TokenVerifier:
    keys: KeySource
    if settings.jwks:
        keys = StaticKeys(settings.jwks)
    else:
        keys = RemoteJwks(issuer=settings.jwt_issuer, jwks_url=settings.jwks_url,
                          cache_seconds=settings.jwks_cache_seconds,
                          refetch_min_seconds=settings.jwks_refetch_min_seconds)
    return TokenVerifier(keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                         algorithms=settings.jwt_algorithms, leeway_seconds=settings.jwt_leeway_seconds)


def token_verifier(app: FastAPI) -> TokenVerifier:
    """The app's verifier, built once from its settings (its key cache lives as long as the app)."""
    verifier: TokenVerifier | None = getattr(app.state, "token_verifier", None)
    if verifier is None:
        verifier = build_verifier(app.state.settings)
        app.state.token_verifier = verifier
    return verifier


async def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None,
                       requested_practice: str | None) -> Principal:
    """The verified caller acting for one practice; 401 without a valid token, 400/403 for the practice."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ProblemError(401, "unauthorized", "Authentication required", "send Authorization: Bearer",
                           headers={"WWW-Authenticate": "Bearer"})
    try:
        verified = await token_verifier(request.app).verify(credentials.credentials)
    except InvalidToken as exc:
        raise _unauthorized(exc.reason) from exc
    identity = Identity.from_claims(verified.claims)
    # Known from here on, even if the request is refused below: the audit trail names who was turned away.
    request.state.identity = identity
    practice = identity.practice_for(requested_practice)
    principal = Principal(identity.subject, practice, identity.scopes, identity.roles, identity.npi,
                          identity.client_id)
    request.state.principal = principal
    return principal


class ScopeGuard:
    """The dependency ``require_scope`` returns; routes are found guarded (and audited) by it."""

    def __init__(self, scope: str) -> None:
        self.required_scope = scope

    async def __call__(
        self, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        practice: Annotated[str | None, Header(
            alias=PRACTICE_HEADER, pattern=PRACTICE_ID.pattern,
            description="The practice this request acts for; required with a token that spans practices "
                        "(a billing-company operator, a service client), checked against the token")] = None,
    ) -> Principal:
        principal = await authenticate(request, credentials, practice)
        if not principal.has(self.required_scope):
            raise ProblemError(403, "insufficient-scope", "Forbidden",
                               f"this API needs scope {self.required_scope}")
        return principal


def require_scope(scope: str) -> Any:
    """A dependency: the verified caller, who must hold ``scope``."""
    return Depends(ScopeGuard(scope))


ALL_SCOPES = [
    "claims:read", "claims:write", "remittance:read", "remittance:write", "eligibility:read",
    "eligibility:write", "authorizations:read", "authorizations:write", "patient-billing:read",
    "patient-billing:write", "patient-billing:adjust", "webhooks:read", "webhooks:write", "audit:read",
    "reporting:read", "reporting:own",
]
