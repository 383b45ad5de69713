"""The local issuer's token endpoint: client credentials with per-client scopes, the development login with
roles as data, and OAuth error answers that never repeat what was sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rcm_issuer.app import DEVELOPMENT_LOGIN, create_app
from rcm_issuer.config import IssuerSettings
from rcm_issuer.policy import load_policy
from rcm_shared.http.auth import ALL_SCOPES, Identity
from rcm_shared.identity.keys import RemoteJwks
from rcm_shared.identity.verifier import TokenVerifier


@pytest.fixture
def settings(tmp_path: Path) -> IssuerSettings:
    return IssuerSettings(state_dir=tmp_path / "issuer")


@pytest.fixture
async def issuer(settings: IssuerSettings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url=settings.issuer) as client:
        yield client


async def verified(issuer: httpx.AsyncClient, settings: IssuerSettings, token: str) -> dict[str, Any]:
    keys = RemoteJwks(issuer=settings.issuer, transport=issuer._transport)
    checked = await TokenVerifier(keys, issuer=settings.issuer, audience=settings.audience).verify(token)
    return checked.claims


def claims_secret(settings: IssuerSettings) -> str:
    secret: str = json.loads(settings.secrets_file.read_text())["claims"]
    return secret


async def test_discovery_names_the_keys_and_the_token_endpoint(issuer: httpx.AsyncClient,
                                                              settings: IssuerSettings) -> None:
    document = (await issuer.get("/.well-known/openid-configuration")).json()
    assert document["issuer"] == settings.issuer
    assert document["jwks_uri"] == f"{settings.issuer}/jwks.json"
    assert document["token_endpoint"] == f"{settings.issuer}/token"
    assert document["id_token_signing_alg_values_supported"] == ["ES256"]
    jwks = (await issuer.get("/jwks.json")).json()
    assert len(jwks["keys"]) == 2, "the signing key and the next one"
    assert all("d" not in key for key in jwks["keys"]), "never the private part"


async def test_a_service_client_gets_only_its_allowed_scopes_for_every_practice(
        issuer: httpx.AsyncClient, settings: IssuerSettings) -> None:
    secret = claims_secret(settings)
    answer = await issuer.post("/token", data={"grant_type": "client_credentials"}, auth=("claims", secret))
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == settings.client_token_ttl_seconds
    claims = await verified(issuer, settings, body["access_token"])
    assert claims["sub"] == "claims" and claims["practices"] == ["*"]
    assert set(claims["scope"].split()) == {"remittance:read"}
    narrower = await issuer.post("/token", data={"grant_type": "client_credentials", "scope": "remittance:read",
                                                 "client_id": "claims", "client_secret": secret})
    assert narrower.json()["scope"] == "remittance:read"
    wider = await issuer.post("/token", data={"grant_type": "client_credentials", "scope": "claims:write"},
                              auth=("claims", secret))
    assert (wider.status_code, wider.json()["error"]) == (400, "invalid_scope")


async def test_wrong_client_secrets_are_refused_without_saying_which_part_was_wrong(
        issuer: httpx.AsyncClient) -> None:
    for auth in (("claims", "guess"), ("nobody", "guess"), ("claims", "")):
        answer = await issuer.post("/token", data={"grant_type": "client_credentials"}, auth=auth)
        assert answer.status_code == 401
        assert answer.json() == {"error": "invalid_client", "error_description": "client authentication failed"}
        assert answer.headers["www-authenticate"].startswith("Basic")


async def test_the_development_login_grants_the_roles_scopes(issuer: httpx.AsyncClient,
                                                            settings: IssuerSettings) -> None:
    policy = load_policy(settings.roles_file, settings.clients_file)
    for role in ("biller", "senior-biller", "clinical-liaison", "practice-owner"):
        answer = await issuer.post("/token", data={"grant_type": DEVELOPMENT_LOGIN, "username": "pat.biller",
                                                   "role": role, "practice": "practice-a"})
        claims = await verified(issuer, settings, answer.json()["access_token"])
        assert set(claims["scope"].split()) == policy.roles[role].scopes
        assert claims["roles"] == [role] and claims["practice_id"] == "practice-a"
    narrowed = await issuer.post("/token", data={"grant_type": DEVELOPMENT_LOGIN, "username": "u", "role":
                                                 "practice-owner", "practice": "p", "scope": "claims:read"})
    assert narrowed.json()["scope"] == "claims:read"
    none = await issuer.post("/token", data={"grant_type": DEVELOPMENT_LOGIN, "username": "u", "role": "biller",
                                             "practice": "p", "scope": ""})
    assert none.json()["scope"] == ""
    beyond = await issuer.post("/token", data={"grant_type": DEVELOPMENT_LOGIN, "username": "u", "role": "biller",
                                               "practice": "p", "scope": "audit:read"})
    assert beyond.json()["error"] == "invalid_scope"


async def test_an_operator_spans_practices_and_a_clinician_carries_their_npi(
        issuer: httpx.AsyncClient, settings: IssuerSettings) -> None:
    operator = await issuer.post("/token", data={"grant_type": DEVELOPMENT_LOGIN, "username": "op",
                                                 "role": "billing-company-operator", "practice": "p-2 p-1"})
    claims = await verified(issuer, settings, operator.json()["access_token"])
    assert claims["practices"] == ["p-1", "p-2"] and "practice_id" not in claims
    assert Identity.from_claims(claims).practice_for("p-2") == "p-2"
    two = await issuer.post("/token", data={"grant_type": DEVELOPMENT_LOGIN, "username": "b", "role": "biller",
                                            "practice": "p-1 p-2"})
    assert two.json()["error"] == "invalid_request", "a practice's own staff work for one practice"
    nameless = await issuer.post("/token", data={"grant_type": DEVELOPMENT_LOGIN, "username": "dr",
                                                 "role": "clinician", "practice": "p-1"})
    assert nameless.json()["error"] == "invalid_request"
    clinician = await issuer.post("/token", data={"grant_type": DEVELOPMENT_LOGIN, "username": "dr",
                                                  "role": "clinician", "practice": "p-1", "npi": "1234567893"})
    claims = await verified(issuer, settings, clinician.json()["access_token"])
    assert claims["npi"] == "1234567893" and claims["scope"] == "reporting:own"
    assert not set(claims["scope"].split()) & (set(ALL_SCOPES) - {"reporting:own"})


async def test_the_development_login_is_off_unless_switched_on(tmp_path: Path) -> None:
    settings = IssuerSettings(state_dir=tmp_path, development_login=False)
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url=settings.issuer) as issuer:
        answer = await issuer.post("/token", data={"grant_type": DEVELOPMENT_LOGIN, "username": "u",
                                                   "role": "practice-owner", "practice": "p"})
        assert answer.json()["error"] == "unsupported_grant_type"
        document = (await issuer.get("/.well-known/openid-configuration")).json()
        assert document["grant_types_supported"] == ["client_credentials"]


@pytest.mark.parametrize("form", [
    {"grant_type": DEVELOPMENT_LOGIN, "username": "Margaret Holloway", "role": "biller", "practice": "p"},
    {"grant_type": DEVELOPMENT_LOGIN, "username": "u", "role": "Margaret Holloway", "practice": "p"},
    {"grant_type": DEVELOPMENT_LOGIN, "username": "u", "role": "biller", "practice": "Margaret Holloway!"},
    {"grant_type": "Margaret Holloway"},
    {"username": "u"},
])
async def test_bad_requests_are_oauth_errors_that_echo_nothing(issuer: httpx.AsyncClient,
                                                               form: dict[str, str]) -> None:
    answer = await issuer.post("/token", data=form)
    assert answer.status_code == 400
    assert answer.json()["error"] in {"invalid_request", "unsupported_grant_type"}
    assert "Margaret" not in answer.text and "Holloway" not in answer.text


async def test_a_repeated_parameter_or_a_json_body_is_refused(issuer: httpx.AsyncClient) -> None:
    repeated = await issuer.post("/token", content=b"grant_type=client_credentials&grant_type=client_credentials",
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert repeated.json()["error"] == "invalid_request"
    as_json = await issuer.post("/token", json={"grant_type": "client_credentials"})
    assert as_json.json()["error"] == "invalid_request"


def test_the_roles_file_speaks_of_the_scopes_the_apis_check() -> None:
    settings = IssuerSettings()
    policy = load_policy(settings.roles_file, settings.clients_file)
    assert set(policy.scopes) == set(ALL_SCOPES)
    assert {"biller", "senior-biller", "clinical-liaison", "practice-owner", "clinician",
            "billing-company-operator"} <= set(policy.roles)
    assert policy.roles["billing-company-operator"].practices == "many"
    # everything in their practice; a clinician's own figures are a clinician's (by the npi a clinician carries)
    assert policy.roles["practice-owner"].scopes == set(ALL_SCOPES) - {"reporting:own"}
    assert "audit:read" not in policy.roles["biller"].scopes
