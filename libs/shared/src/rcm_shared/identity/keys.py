"""Where a service finds the issuer's public keys: a JWKS URL (found by OIDC discovery when not given), cached,
or a JWKS document given as is (tests, an air-gapped site).

Rotation without downtime: a token whose ``kid`` is not in the cached set makes the service fetch the set again
(at most once per ``refetch_min_seconds``, so a stream of forged kids cannot make us hammer the issuer); the
issuer keeps the previous key published while tokens it signed can still be alive.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet

log = logging.getLogger("rcm.identity")
DISCOVERY_PATH = "/.well-known/openid-configuration"


class KeySource(Protocol):
    async def key(self, kid: str) -> Key | None: ...


class IssuerUnreachable(Exception):
    """The issuer's discovery document or key set could not be read (no token content is ever in here)."""


def _public_keys(document: Any) -> dict[str, Key]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise IssuerUnreachable("not a JWKS document")
    keys: dict[str, Key] = {}
    for entry in document["keys"]:
        # A key without a kid could not be chosen by a token; a private part has no business in a JWKS.
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or "d" in entry:
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry["kid"]] = KeySet.import_key_set({"keys": [entry]}).keys[0]
        except (JoseError, ValueError, TypeError, KeyError):
            log.warning("skipping a JWKS entry that is not a usable key", extra={"kid": entry["kid"][:80]})
    return keys


class StaticKeys:
    """A JWKS document trusted as given (RCM_JWKS)."""

    def __init__(self, jwks_json: str) -> None:
        self._keys = _public_keys(json.loads(jwks_json))

    async def key(self, kid: str) -> Key | None:
        return self._keys.get(kid)


class RemoteJwks:
    """The issuer's JWKS over HTTP, cached for ``cache_seconds``; an unknown kid refetches (rate limited)."""

    def __init__(self, *, issuer: str, jwks_url: str | None = None, cache_seconds: float = 300.0,
                 refetch_min_seconds: float = 5.0, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.issuer = issuer.rstrip("/")
        self._jwks_url = jwks_url
        self._cache_seconds = cache_seconds
        self._refetch_min_seconds = refetch_min_seconds
        self._timeout = timeout
        self._transport = transport
        self._clock = clock
        self._keys: dict[str, Key] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> Key | None:
        now = self._clock()
        if self._fetched_at is None or now - self._fetched_at >= self._cache_seconds:
            await self._refresh(now, force=False)
        found = self._keys.get(kid)
        if found is None:
            await self._refresh(self._clock(), force=True)
            found = self._keys.get(kid)
        return found

    async def _refresh(self, now: float, *, force: bool) -> None:
        async with self._lock:
            # Another request may have refreshed while this one waited for the lock.
            if self._attempted_at is not None and now - self._attempted_at < self._refetch_min_seconds:
                return
            if not force and self._fetched_at is not None and now - self._fetched_at < self._cache_seconds:
                return
            self._attempted_at = self._clock()
            try:
                async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as http:
                    url = self._jwks_url or await self._discover(http)
                    response = await http.get(url)
                    response.raise_for_status()
                    self._keys = _public_keys(response.json())
                self._fetched_at = self._clock()
                self.fetches += 1
            except (httpx.HTTPError, ValueError, IssuerUnreachable) as exc:
                # Keep the keys we had: an issuer outage must not turn every valid token away.
                log.warning("issuer keys could not be fetched", extra={"error": type(exc).__name__})

    async def _discover(self, http: httpx.AsyncClient) -> str:
        response = await http.get(self.issuer + DISCOVERY_PATH)
        response.raise_for_status()
        document = response.json()
        # OIDC Discovery 1.0, section 4.3: the document must name the issuer we were configured with.
        if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != self.issuer:
            raise IssuerUnreachable("discovery document names another issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise IssuerUnreachable("discovery document has no jwks_uri")
        self._jwks_url = jwks_uri
        return jwks_uri


async def discover_token_endpoint(issuer: str, *, timeout: float = 5.0,
                                  transport: httpx.AsyncBaseTransport | None = None) -> str:
    """The issuer's token endpoint, from its OIDC discovery document."""
    async with httpx.AsyncClient(timeout=timeout, transport=transport) as http:
        response = await http.get(issuer.rstrip("/") + DISCOVERY_PATH)
        response.raise_for_status()
        endpoint = response.json().get("token_endpoint")
    if not isinstance(endpoint, str):
        raise IssuerUnreachable("discovery document has no token_endpoint")
    return endpoint
