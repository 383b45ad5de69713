"""Claims asks remittance which submitted claims it holds a copy of (the reconciliation check, a periodic job: never
a consumer). An answer that cannot be had is ``None``: unknown, never taken for "all there" or "all missing"."""

from __future__ import annotations

import logging
from typing import Protocol

import httpx
from rcm_shared.config import ServiceSettings
from rcm_shared.http.auth import PRACTICE_HEADER
from rcm_shared.identity.client import ClientCredentials, TokenSource, TokenUnavailable

log = logging.getLogger("claims.reconciliation")
# The issuer's rules/clients.yaml allows the claims client this scope.
SCOPES = ("remittance:read",)
PAGE = 200  # claim ids per question (remittance takes at most 200)


class RemittanceCopies(Protocol):
    async def held(self, practice_id: str, claim_ids: list[str]) -> set[str] | None: ...


class HttpRemittanceCopies:
    """``GET /v1/claim-copies`` on remittance with this service's client-credentials token."""

    def __init__(self, settings: ServiceSettings, *, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None, credentials: TokenSource | None = None) -> None:
        self.url = settings.service_urls.get("remittance", "http://127.0.0.1:8003") + "/v1/claim-copies"
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)
        if credentials is None and settings.client_id and settings.client_secret:
            credentials = ClientCredentials(
                issuer=settings.jwt_issuer, client_id=settings.client_id,
                client_secret=settings.client_secret.get_secret_value(), scopes=SCOPES,
                token_url=settings.token_url)
        self._credentials = credentials

    async def held(self, practice_id: str, claim_ids: list[str]) -> set[str] | None:
        if self._credentials is None:
            return None
        found: set[str] = set()
        for start in range(0, len(claim_ids), PAGE):
            page = claim_ids[start:start + PAGE]
            try:
                response = await self._client.get(self.url, params=[("claim_id", c) for c in page], headers={
                    "Authorization": f"Bearer {await self._credentials.bearer()}", PRACTICE_HEADER: practice_id})
            except (httpx.HTTPError, TokenUnavailable) as exc:
                log.warning("remittance not asked", extra={"error": type(exc).__name__})
                return None
            if response.status_code == 401:
                self._credentials.forget()
                return None
            if response.status_code != 200:
                log.warning("remittance did not answer", extra={"status": response.status_code})
                return None
            found |= {item["claim_id"] for item in response.json().get("items", [])}
        return found

    async def close(self) -> None:
        await self._client.aclose()
