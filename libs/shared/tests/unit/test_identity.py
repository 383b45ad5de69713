"""Bearer tokens as services see them: verified against the issuer's published keys, never signed here."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey
from rcm_shared.http.auth import Identity
from rcm_shared.http.errors import ProblemError
from rcm_shared.identity.keys import RemoteJwks, StaticKeys
from rcm_shared.identity.verifier import InvalidToken, TokenVerifier
from rcm_shared.testing.identity import TEST_KEY, claims_for, new_signing_key, public_jwks, sign

ISSUER = "http://127.0.0.1:8010"
AUDIENCE = "rcm-platform"


def verifier(jwks: str | None = None) -> TokenVerifier:
    return TokenVerifier(StaticKeys(jwks or public_jwks()), issuer=ISSUER, audience=AUDIENCE)


def token(**overrides: Any) -> str:
    claims = claims_for(scopes=["claims:read", "claims:write"], subject="biller-7")
    claims.update(overrides)
    return sign({k: v for k, v in claims.items() if v is not None})


async def refused(raw: str, reason: str | None = None, *, jwks: str | None = None) -> None:
    with pytest.raises(InvalidToken) as caught:
        await verifier(jwks).verify(raw)
    if reason:
        assert caught.value.reason == reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


async def test_a_token_signed_by_a_published_key_verifies() -> None:
    verified = await verifier().verify(token())
    identity = Identity.from_claims(verified.claims)
    assert identity.subject == "biller-7"
    assert identity.practices == {"practice-a"}
    assert identity.scopes == {"claims:read", "claims:write"}
    assert identity.practice_for(None) == "practice-a"


async def test_expired_wrong_audience_wrong_issuer_and_missing_claims_are_refused() -> None:
    await refused(token(exp=1), "token expired")
    await refused(token(aud="someone-else"), "token invalid")
    await refused(token(iss="https://evil.example"), "token invalid")
    await refused(token(sub=None), "token invalid")
    await refused(token(exp=None), "token invalid")


async def test_a_key_the_issuer_does_not_publish_is_refused() -> None:
    stranger = new_signing_key()
    await refused(sign(claims_for(scopes=["claims:read"]), key=stranger), "token signed by an unknown key")
    # The stranger claiming the real key's kid: the signature does not match that key.
    await refused(sign(claims_for(scopes=["claims:read"]), key=stranger, header={"kid": TEST_KEY.kid}),
                  "token invalid")


async def test_unsigned_symmetric_and_tampered_tokens_are_refused() -> None:
    header, payload, signature = token().split(".")
    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": TEST_KEY.kid}).encode())
    await refused(f"{none_header}.{payload}.", "token algorithm not accepted")
    # HS256 keyed with the public key's bytes (the classic algorithm-confusion attack).
    public = json.dumps(TEST_KEY.as_dict(private=False)).encode()
    confused = jwt.encode({"alg": "HS256", "kid": TEST_KEY.kid}, claims_for(scopes=["audit:read"]),
                          OctKey.import_key(public), algorithms=["HS256"])
    await refused(confused, "token algorithm not accepted")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["practice_id"] = "practice-b"
    await refused(f"{header}.{_b64(json.dumps(claims).encode())}.{signature}", "token invalid")
    await refused("not-a-jwt", "token invalid")
    await refused("a" * 20000, "token invalid")
    no_kid = _b64(json.dumps({"alg": "ES256", "typ": "JWT"}).encode())
    await refused(f"{no_kid}.{payload}.{signature}", "token has no key id")


def test_symmetric_algorithms_cannot_be_configured() -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        TokenVerifier(StaticKeys(public_jwks()), issuer=ISSUER, audience=AUDIENCE, algorithms=["ES256", "HS256"])


def test_a_token_without_a_practice_is_refused() -> None:
    for claims in ({"sub": "x"}, {"sub": "x", "practice_id": ""}, {"sub": "x", "practice_id": 5},
                   {"sub": "x", "practices": []}, {"sub": "x", "practices": ["ok", "no spaces allowed"]}):
        with pytest.raises(ProblemError) as caught:
            Identity.from_claims(claims)
        assert caught.value.status == 401


def test_an_operator_spanning_practices_names_one_per_request() -> None:
    operator = Identity.from_claims({"sub": "op-1", "practices": ["p-1", "p-2"], "scope": "claims:read"})
    assert operator.practice_for("p-2") == "p-2"
    with pytest.raises(ProblemError) as missing:
        operator.practice_for(None)
    assert (missing.value.status, missing.value.slug) == (400, "practice-required")
    with pytest.raises(ProblemError) as other:
        operator.practice_for("p-3")
    assert (other.value.status, other.value.slug) == (403, "practice-not-allowed")
    service = Identity.from_claims({"sub": "claims", "practices": ["*"], "scope": "eligibility:read"})
    assert service.practice_for("any-practice") == "any-practice"
    single = Identity.from_claims({"sub": "b", "practice_id": "p-1"})
    assert single.practice_for("p-1") == "p-1"
    with pytest.raises(ProblemError):
        single.practice_for("p-2")


class FakeIssuer:
    """Discovery and a JWKS whose keys the test changes, counting fetches."""

    def __init__(self, *keys: Any, issuer: str = ISSUER) -> None:
        self.keys = list(keys)
        self.issuer = issuer
        self.jwks_fetches = 0
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(503)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": self.issuer, "jwks_uri": f"{ISSUER}/jwks.json"})
        if request.url.path == "/jwks.json":
            self.jwks_fetches += 1
            return httpx.Response(200, content=public_jwks(*self.keys))
        return httpx.Response(404)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_rotated_key_is_fetched_when_a_token_names_it_and_the_old_one_still_verifies() -> None:
    old, new = new_signing_key(), new_signing_key()
    issuer, clock = FakeIssuer(old), Clock()
    keys = RemoteJwks(issuer=ISSUER, transport=httpx.MockTransport(issuer.handler), clock=clock,
                      cache_seconds=300, refetch_min_seconds=5)
    check = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    await check.verify(sign(claims_for(scopes=[]), key=old))
    assert issuer.jwks_fetches == 1
    await check.verify(sign(claims_for(scopes=[]), key=old))
    assert issuer.jwks_fetches == 1, "cached"
    issuer.keys = [old, new]  # the issuer rotated: both published during the overlap
    clock.now += 10
    await check.verify(sign(claims_for(scopes=[]), key=new))
    assert issuer.jwks_fetches == 2, "an unknown kid refetches at once"
    await check.verify(sign(claims_for(scopes=[]), key=old))
    assert issuer.jwks_fetches == 2


async def test_unknown_kids_refetch_at_most_once_per_interval() -> None:
    issuer, clock = FakeIssuer(TEST_KEY), Clock()
    keys = RemoteJwks(issuer=ISSUER, transport=httpx.MockTransport(issuer.handler), clock=clock,
                      refetch_min_seconds=5)
    check = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    for _ in range(50):
        with pytest.raises(InvalidToken):
            await check.verify(sign(claims_for(scopes=[]), key=new_signing_key()))
    assert issuer.jwks_fetches == 1, "a flood of forged kids fetched the set once"
    clock.now += 6
    with pytest.raises(InvalidToken):
        await check.verify(sign(claims_for(scopes=[]), key=new_signing_key()))
    assert issuer.jwks_fetches == 2


async def test_an_issuer_outage_keeps_the_cached_keys() -> None:
    issuer, clock = FakeIssuer(TEST_KEY), Clock()
    keys = RemoteJwks(issuer=ISSUER, transport=httpx.MockTransport(issuer.handler), clock=clock, cache_seconds=60)
    check = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    await check.verify(token())
    issuer.down = True
    clock.now += 3600
    await check.verify(token())


async def test_discovery_naming_another_issuer_is_not_trusted() -> None:
    issuer = FakeIssuer(TEST_KEY, issuer="https://impostor.example")
    keys = RemoteJwks(issuer=ISSUER, transport=httpx.MockTransport(issuer.handler))
    with pytest.raises(InvalidToken, match="unknown key"):
        await TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE).verify(token())
    assert issuer.jwks_fetches == 0


def test_a_jwks_holding_a_private_key_does_not_lend_it() -> None:
    private = json.dumps({"keys": [TEST_KEY.as_dict(private=True)]})
    assert StaticKeys(private)._keys == {}


async def test_a_remembered_token_is_still_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    import time as clock

    check = TokenVerifier(StaticKeys(public_jwks()), issuer=ISSUER, audience=AUDIENCE, leeway_seconds=0)
    now = clock.time()
    short = token(exp=int(now) + 5)
    await check.verify(short)
    await check.verify(short)  # remembered: no second signature check needed
    monkeypatch.setattr(clock, "time", lambda: now + 6)
    with pytest.raises(InvalidToken, match="expired"):
        await check.verify(short)
