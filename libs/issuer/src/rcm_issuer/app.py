"""The issuer's HTTP face: OIDC discovery, the JWKS, and an OAuth 2.0 token endpoint (RFC 6749) with two grants:

- ``client_credentials`` (section 4.4): a service client authenticates (HTTP Basic or form fields) and gets the
  scopes its entry in rules/clients.yaml allows, or fewer if it asks for fewer;
- the development login (``urn:rcm:params:oauth:grant-type:development-login``): a user name, a role from
  rules/roles.yaml, the practice(s) and optionally fewer scopes. Anyone may claim any name: it exists for
  `make run`, tests and demos, and is off unless RCM_ISSUER_DEVELOPMENT_LOGIN is true.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from joserfc import jwt

from rcm_issuer.client_secrets import ensure_client_secrets, secret_matches
from rcm_issuer.config import IssuerSettings
from rcm_issuer.keys import ALGORITHM, KeyRing
from rcm_issuer.policy import EVERY_PRACTICE, PRACTICE_ID, Policy, load_policy

log = logging.getLogger("rcm.issuer")
CLIENT_CREDENTIALS = "client_credentials"
DEVELOPMENT_LOGIN = "urn:rcm:params:oauth:grant-type:development-login"
USERNAME = re.compile(r"^[A-Za-z0-9_.@:+-]{1,120}$")
NPI = re.compile(r"^[12][0-9]{9}$")
MAX_FORM_BYTES = 8 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error: a code from the RFC and a description that never repeats the request."""

    def __init__(self, error: str, description: str, status: int = 400, headers: dict[str, str] | None = None
                 ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers or {}


def create_app(settings: IssuerSettings) -> FastAPI:
    policy = load_policy(settings.roles_file, settings.clients_file)
    ring = KeyRing(settings.keys_file, settings.key_overlap_seconds)
    secrets = ensure_client_secrets(settings.secrets_file, policy.clients)
    issuer = settings.issuer
    grants = [CLIENT_CREDENTIALS] + ([DEVELOPMENT_LOGIN] if settings.development_login else [])

    app = FastAPI(title="rcm-issuer", version="1.0.0",
                  description="Local OIDC-style token issuer: discovery, JWKS, client credentials"
                              + (", development login" if settings.development_login else ""))
    app.state.settings = settings
    app.state.policy = policy
    app.state.key_ring = ring

    @app.exception_handler(OAuthError)
    async def _oauth_error(request: Request, exc: OAuthError) -> JSONResponse:
        return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=exc.status,
                            headers={**NO_STORE, **exc.headers})

    @app.get("/.well-known/openid-configuration", summary="OpenID Connect discovery")
    async def discovery() -> dict[str, Any]:
        return {
            "issuer": issuer, "jwks_uri": f"{issuer}/jwks.json", "token_endpoint": f"{issuer}/token",
            "grant_types_supported": grants,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": sorted(policy.known_scopes),
            "claims_supported": ["iss", "aud", "sub", "exp", "iat", "jti", "scope", "practice_id", "practices",
                                 "roles", "npi", "client_id"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "subject_types_supported": ["public"], "response_types_supported": [],
        }

    @app.get("/jwks.json", summary="The public keys tokens are signed with (the previous one during a rotation)")
    async def jwks() -> JSONResponse:
        return JSONResponse(ring.jwks(), headers={"Cache-Control": "public, max-age=300"})

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "issuer"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, Any]:
        return {"status": "ready", "checks": {"keys": "ok" if ring.jwks()["keys"] else "none"}}

    @app.post("/token", summary="OAuth 2.0 token endpoint (client credentials; development login)")
    async def token(request: Request) -> JSONResponse:
        params = await _form(request)
        grant = params.get("grant_type")
        if grant == CLIENT_CREDENTIALS:
            claims = _client_credentials(request, params, policy, secrets, settings)
        elif grant == DEVELOPMENT_LOGIN and settings.development_login:
            claims = _development_login(params, policy, settings)
        elif grant is None:
            raise OAuthError("invalid_request", "grant_type is required")
        else:
            raise OAuthError("unsupported_grant_type", f"supported: {', '.join(grants)}")
        now = int(time.time())
        ttl = claims.pop("_ttl")
        claims.update({"iss": issuer, "aud": settings.audience, "iat": now, "nbf": now, "exp": now + ttl,
                       "jti": uuid.uuid4().hex})
        key = ring.signing_key
        access_token = jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": "at+jwt"}, claims, key)
        log.info("token issued", extra={"grant": "client_credentials" if grant == CLIENT_CREDENTIALS
                                        else "development_login", "subject": claims["sub"], "kid": key.kid,
                                        "scope": claims["scope"]})
        return JSONResponse({"access_token": access_token, "token_type": "Bearer", "expires_in": ttl,
                             "scope": claims["scope"]}, headers=NO_STORE)

    return app


async def _form(request: Request) -> dict[str, str]:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise OAuthError("invalid_request", "send the request as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise OAuthError("invalid_request", "request too large")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError("invalid_request", "the form cannot be read") from exc
    if any(len(values) > 1 for values in parsed.values()):
        raise OAuthError("invalid_request", "a parameter was sent more than once")  # RFC 6749, section 3.2
    return {name: values[0] for name, values in parsed.items()}


def _requested_scopes(params: dict[str, str], allowed: frozenset[str]) -> frozenset[str]:
    if "scope" not in params:
        return allowed
    requested = frozenset(params["scope"].split())
    if not requested <= allowed:
        raise OAuthError("invalid_scope", "a requested scope is not allowed for this client or role")
    return requested


def _authenticated_client(request: Request, params: dict[str, str], secrets: dict[str, str]) -> str:
    header = request.headers.get("authorization", "")
    challenge = {"WWW-Authenticate": 'Basic realm="rcm-issuer"'}
    if header.lower().startswith("basic "):
        if "client_secret" in params:
            raise OAuthError("invalid_request", "use one client authentication method")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client", "client authentication failed", 401, challenge) from exc
        raw_id, _, raw_secret = decoded.partition(":")
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)  # RFC 6749, section 2.3.1
    else:
        client_id, secret = params.get("client_id", ""), params.get("client_secret", "")
    if not client_id or not secret or not secret_matches(secrets, client_id, secret):
        raise OAuthError("invalid_client", "client authentication failed", 401, challenge)
    return client_id


def _client_credentials(request: Request, params: dict[str, str], policy: Policy, secrets: dict[str, str],
                        settings: IssuerSettings) -> dict[str, Any]:
    client_id = _authenticated_client(request, params, secrets)
    client = policy.clients.get(client_id)
    if client is None:
        raise OAuthError("unauthorized_client", "this client may not use this grant")
    scopes = _requested_scopes(params, client.scopes)
    return {"sub": client_id, "client_id": client_id, "scope": " ".join(sorted(scopes)),
            "practices": list(client.practices), "_ttl": settings.client_token_ttl_seconds}


def _development_login(params: dict[str, str], policy: Policy, settings: IssuerSettings) -> dict[str, Any]:
    username = params.get("username", "")
    if not USERNAME.fullmatch(username):
        raise OAuthError("invalid_request", "username: 1 to 120 letters, digits or _ . @ : + -")
    role = policy.roles.get(params.get("role", ""))
    if role is None:
        raise OAuthError("invalid_request", f"role: one of {', '.join(sorted(policy.roles))}")
    practices = params.get("practice", "").split()
    if not practices or not all(PRACTICE_ID.fullmatch(p) for p in practices) or EVERY_PRACTICE in practices:
        raise OAuthError("invalid_request", "practice: one or more practice ids, space-separated")
    if role.practices == "one" and len(practices) != 1:
        raise OAuthError("invalid_request", f"role {role.name} works for exactly one practice")
    claims: dict[str, Any] = {"sub": username, "roles": [role.name],
                              "scope": " ".join(sorted(_requested_scopes(params, role.scopes)))}
    if role.practices == "one":
        claims["practice_id"] = practices[0]
    else:
        claims["practices"] = sorted(set(practices))
    npi = params.get("npi")
    if role.npi_required and (npi is None or not NPI.fullmatch(npi)):
        raise OAuthError("invalid_request", f"role {role.name} needs npi (10 digits)")
    if npi is not None:
        if not NPI.fullmatch(npi):
            raise OAuthError("invalid_request", "npi: 10 digits")
        claims["npi"] = npi
    ttl = settings.user_token_ttl_seconds
    if "expires_in" in params:
        try:
            ttl = int(params["expires_in"])
        except ValueError as exc:
            raise OAuthError("invalid_request", "expires_in: whole seconds") from exc
        if not 1 <= ttl <= settings.user_token_max_ttl_seconds:
            raise OAuthError("invalid_request", f"expires_in: 1 to {settings.user_token_max_ttl_seconds}")
    claims["_ttl"] = ttl
    return claims
