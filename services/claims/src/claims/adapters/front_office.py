"""The questions claims asks other services over HTTP before a claim leaves (eligibility, authorization,
credentialing). Answers that cannot be had are reported as unknown, never guessed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import httpx
from rcm_shared.config import ServiceSettings
from rcm_shared.http.auth import PRACTICE_HEADER
from rcm_shared.identity.client import ClientCredentials, TokenSource, TokenUnavailable

from claims.domain.scrubbing import CredentialingDecision

log = logging.getLogger("claims.front_office")
# What claims may ask of the others; the issuer's rules/clients.yaml allows this client these and no more.
SCOPES = ("eligibility:read", "authorizations:read")


@dataclass(frozen=True)
class CoverageAnswer:
    known: bool
    active: bool | None = None
    coverage_from: date | None = None
    coverage_to: date | None = None


@dataclass(frozen=True)
class AuthorizationAnswer:
    known: bool
    required: bool | None = None
    authorization_number: str | None = None
    missing_reason: str | None = None


class FrontOffice(Protocol):
    async def coverage(self, practice_id: str, patient_id: str, payer_id: str, on: date) -> CoverageAnswer: ...

    async def authorization(self, practice_id: str, visit_id: str, patient_id: str, payer_id: str, on: date,
                            cpt_code: str) -> AuthorizationAnswer: ...

    async def credentialed(self, practice_id: str, npi: str, payer_id: str, on: date,
                           credential: str = "") -> CredentialingDecision | None: ...


class HttpFrontOffice:
    """Calls eligibility and authorizations with this service's client-credentials token (only the scopes above,
    for every practice), naming the claim's practice in X-Practice-Id on each request."""

    def __init__(self, settings: ServiceSettings, *, timeout: float = 3.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 credentials: TokenSource | None = None) -> None:
        self.settings = settings
        self.eligibility_url = settings.service_urls.get("eligibility", "http://127.0.0.1:8001")
        self.authorizations_url = settings.service_urls.get("authorizations", "http://127.0.0.1:8005")
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)
        if credentials is None and settings.client_id and settings.client_secret:
            credentials = ClientCredentials(
                issuer=settings.jwt_issuer, client_id=settings.client_id,
                client_secret=settings.client_secret.get_secret_value(), scopes=SCOPES,
                token_url=settings.token_url)
        self._credentials = credentials

    async def _get(self, url: str, practice_id: str, params: dict[str, str]) -> tuple[int, Any]:
        if self._credentials is None:
            return 0, None  # no client credentials configured: every answer is unknown, never guessed
        for attempt in (1, 2):
            try:
                headers = {"Authorization": f"Bearer {await self._credentials.bearer()}",
                           PRACTICE_HEADER: practice_id}
                r = await self._client.get(url, params=params, headers=headers)
            except TokenUnavailable as exc:
                log.warning("no service token", extra={"error": str(exc)})
                return 0, None
            except httpx.HTTPError:
                return 0, None
            if r.status_code == 401 and attempt == 1:
                self._credentials.forget()  # revoked, or signed by a key the callee does not know yet
                continue
            break
        try:
            return r.status_code, r.json()
        except ValueError:
            return r.status_code, None

    async def coverage(self, practice_id: str, patient_id: str, payer_id: str, on: date) -> CoverageAnswer:
        status, body = await self._get(f"{self.eligibility_url}/v1/patients/{patient_id}/coverage", practice_id,
                                       {"payer_id": payer_id, "on": on.isoformat()})
        if status == 404:
            return CoverageAnswer(known=True, active=None)  # no eligibility on file
        if status != 200 or not body or not body.get("coverage"):
            return CoverageAnswer(known=False)
        item = body["coverage"][0]
        begin, end = item.get("coverage_begin"), item.get("coverage_end")
        return CoverageAnswer(True, bool(item.get("active")), date.fromisoformat(begin) if begin else None,
                              date.fromisoformat(end) if end else None)

    async def authorization(self, practice_id: str, visit_id: str, patient_id: str, payer_id: str, on: date,
                            cpt_code: str) -> AuthorizationAnswer:
        status, body = await self._get(f"{self.authorizations_url}/v1/authorization-lookup", practice_id, {
            "visit_id": visit_id, "patient_id": patient_id, "payer_id": payer_id,
            "date_of_service": on.isoformat(), "cpt_code": cpt_code})
        if status != 200 or body is None:
            return AuthorizationAnswer(known=False)
        return AuthorizationAnswer(True, body.get("required"), body.get("authorization_number"),
                                   body.get("missing_reason"))

    async def credentialed(self, practice_id: str, npi: str, payer_id: str, on: date,
                           credential: str = "") -> CredentialingDecision | None:
        """The registry's whole decision: whether, and under which NPIs (2310B / 2310D) the claim may go out."""
        params = {"npi": npi, "payer_id": payer_id, "date_of_service": on.isoformat()}
        if credential:
            params["credential"] = credential
        status, body = await self._get(f"{self.authorizations_url}/v1/credentialing/check", practice_id, params)
        if status != 200 or not isinstance(body, dict):
            return None
        allowed = body.get("allowed") is True
        return CredentialingDecision(allowed, str(body.get("reason") or ""),
                                     body.get("rendering_npi") if allowed else None,
                                     body.get("supervising_npi") if allowed else None)

    async def close(self) -> None:
        await self._client.aclose()
