"""Service-to-service calls: an OAuth 2.0 client-credentials token (RFC 6749, section 4.4) carrying only the
scopes this caller needs, kept until shortly before it expires."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import httpx

from rcm_shared.identity.keys import discover_token_endpoint


class TokenSource(Protocol):
    """Where a caller gets the bearer token for its next call (ClientCredentials; a signed test token)."""

    async def bearer(self) -> str: ...

    def forget(self) -> None: ...


class TokenUnavailable(Exception):
    """The issuer gave no token (down, or it refused our credentials); the message never holds a secret."""


class ClientCredentials:
    def __init__(self, *, issuer: str, client_id: str, client_secret: str, scopes: Sequence[str],
                 token_url: str | None = None, refresh_margin_seconds: float = 60.0, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self._secret = client_secret
        self.scopes = sorted(set(scopes))
        self._token_url = token_url
        self._margin = refresh_margin_seconds
        self._timeout = timeout
        self._transport = transport
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def bearer(self) -> str:
        """A valid access token: the cached one, or a new one when it is within the margin of expiry."""
        if self._token is not None and self._clock() < self._expires_at - self._margin:
            return self._token
        async with self._lock:
            if self._token is not None and self._clock() < self._expires_at - self._margin:
                return self._token
            self._token, self._expires_at = await self._fetch()
            return self._token

    def forget(self) -> None:
        """Drop the cached token (the callee said 401: the key may have rotated or the token been revoked)."""
        self._token = None

    async def _fetch(self) -> tuple[str, float]:
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as http:
                url = self._token_url or await discover_token_endpoint(self.issuer, timeout=self._timeout,
                                                                       transport=self._transport)
                self._token_url = url
                started = self._clock()
                response = await http.post(url, data={"grant_type": "client_credentials",
                                                      "scope": " ".join(self.scopes)},
                                           auth=(self.client_id, self._secret))
        except (httpx.HTTPError, ValueError) as exc:
            raise TokenUnavailable(f"issuer unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            error = "unknown"
            try:
                error = str(response.json().get("error", "unknown"))[:60]
            except ValueError:
                pass
            raise TokenUnavailable(f"issuer refused the client-credentials grant: {response.status_code} {error}")
        body = response.json()
        token, expires_in = body.get("access_token"), body.get("expires_in", 300)
        if not isinstance(token, str) or not isinstance(expires_in, int | float):
            raise TokenUnavailable("issuer answered without an access token")
        self.fetches += 1
        return token, started + float(expires_in)
