"""Where prior-authorization requests go: the payer's utilization-management review, over one of three channels
chosen per payer by data (``rules/utilization_review.yaml``):

- ``sandbox``: the in-process sandbox payer (``sandbox/reviewer.py``): our 278 request in, its 278 response out,
  read by the same reader as a real answer;
- ``x12-278``: the 278 request POSTed over HTTPS (``application/edi-x12``) to a clearinghouse or payer
  real-time endpoint that answers with the 278 response;
- ``pas-fhir``: Da Vinci PAS, the request Bundle POSTed to ``<endpoint>/Claim/$submit`` (``application/fhir+json``)
  and the response Bundle's ClaimResponse read back.

Each returns a ``ReviewExchange``: what was sent, what came back, and the ``ReviewResponse`` read from it (None
with the reason when it could not be read). A payer that cannot be reached raises ``ReviewUnavailable``. Bodies
carry PHI: they are stored with the request, never logged, never put in an exception message.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx
from rcm_shared.x12 import X12SyntaxError
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

from authorizations.domain.model import AuthorizationRequest
from authorizations.domain.review import Rejection, ReviewResponse
from authorizations.domain.review_routes import ReviewRoutes, Route
from authorizations.edi.pas import build_pas_request, operation_outcome_issues, read_pas_response
from authorizations.edi.pas_resources import FHIR_JSON, PasFormatError
from authorizations.edi.x12_278 import X12_MEDIA, build_278
from authorizations.edi.x12_278_response import read_278_response
from authorizations.sandbox.reviewer import SandboxReviewer

log = logging.getLogger(__name__)


class ReviewUnavailable(Exception):
    """The payer did not answer (transport, credentials, 5xx): nothing was decided; try again later.
    The message names statuses and codes only."""

    def __init__(self, message: str, *, error_code: str = "") -> None:
        super().__init__(message)
        self.error_code = error_code

    @property
    def problem_extra(self) -> dict[str, str]:
        """Added to the 503 problem: what the payer's endpoint answered (a status or transport code)."""
        return {"error_code": self.error_code}


@dataclass(frozen=True)
class ReviewExchange:
    channel: str
    request_body: str
    response_body: str
    response: ReviewResponse | None
    unreadable: str = ""  # why the answer could not be read: where, never what


class UtilizationReview(Protocol):
    async def submit(self, request: AuthorizationRequest, control: ControlNumbers) -> ReviewExchange: ...


def _x12_exchange(channel: str, request_278: str, answer: str) -> ReviewExchange:
    try:
        return ReviewExchange(channel, request_278, answer, read_278_response(answer))
    except X12SyntaxError as exc:
        return ReviewExchange(channel, request_278, answer, None, f"278 response unreadable: {exc}")


def _verify(verify: bool | str | ssl.SSLContext) -> bool | ssl.SSLContext:
    # A CA bundle path (a partner's private CA); httpx 0.28 deprecates passing the path itself.
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


class SandboxUtilizationReview:
    channel = "sandbox"

    def __init__(self, reviewer: SandboxReviewer, parties: InterchangeParties) -> None:
        self._reviewer = reviewer
        self._parties = parties
        self._payer_parties = InterchangeParties(sender_id=parties.receiver_id, receiver_id=parties.sender_id,
                                                 usage=parties.usage)

    async def submit(self, request: AuthorizationRequest, control: ControlNumbers) -> ReviewExchange:
        request_278 = build_278(request, control, self._parties)
        answer = self._reviewer.answer_278(request_278, control, self._payer_parties)
        return _x12_exchange(self.channel, request_278, answer)


class X12HttpsUtilizationReview:
    """A real-time 278 endpoint: the request interchange is the body; the response interchange comes back."""

    channel = "x12-278"

    def __init__(self, url: str, parties: InterchangeParties, *, bearer_token: str | None = None,
                 timeout: float = 30.0, verify: bool | str | ssl.SSLContext = True,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        self._parties = parties
        headers = {"Accept": X12_MEDIA, **({"Authorization": f"Bearer {bearer_token}"} if bearer_token else {})}
        self._client_args: dict[str, object] = {"timeout": timeout, "headers": headers, "verify": _verify(verify),
                                                "transport": transport}

    async def submit(self, request: AuthorizationRequest, control: ControlNumbers) -> ReviewExchange:
        request_278 = build_278(request, control, self._parties)
        response = await _post(self._client_args, self.url, request_278.encode(), X12_MEDIA, self.channel,
                               request.trace_number)
        if response.status_code != httpx.codes.OK:
            raise _unavailable(response.status_code, self.channel, request.trace_number)
        return _x12_exchange(self.channel, request_278, response.text)


class PasFhirUtilizationReview:
    """A payer's Da Vinci PAS endpoint (``Claim/$submit``), FHIR R4 JSON over HTTPS."""

    channel = "pas-fhir"

    def __init__(self, base_url: str, *, originator: str, bearer_token: str | None = None, timeout: float = 30.0,
                 verify: bool | str | ssl.SSLContext = True,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = base_url.rstrip("/") + "/Claim/$submit"
        self._originator = originator
        headers = {"Accept": FHIR_JSON, **({"Authorization": f"Bearer {bearer_token}"} if bearer_token else {})}
        self._client_args: dict[str, object] = {"timeout": timeout, "headers": headers, "verify": _verify(verify),
                                                "transport": transport}

    async def submit(self, request: AuthorizationRequest, control: ControlNumbers) -> ReviewExchange:
        bundle = build_pas_request(request, created=control.created_at, originator=self._originator)
        body = json.dumps(bundle, separators=(",", ":"))
        response = await _post(self._client_args, self.url, body.encode(), FHIR_JSON, self.channel,
                               request.trace_number)
        answer = response.text
        if response.status_code in (httpx.codes.BAD_REQUEST, httpx.codes.UNPROCESSABLE_ENTITY):
            # The payer refused the bundle itself: its OperationOutcome says where (codes and paths only).
            issues = operation_outcome_issues(_json(answer)) or [("invalid", "")]
            rejections = tuple(Rejection(path or "Bundle", "33", "C") for _, path in issues)
            return ReviewExchange(self.channel, body, answer,
                                  ReviewResponse(request.trace_number, self._originator, rejections=rejections,
                                                 payer_id=request.payer_id))
        if response.status_code != httpx.codes.OK:
            raise _unavailable(response.status_code, self.channel, request.trace_number)
        try:
            return ReviewExchange(self.channel, body, answer, read_pas_response(_json(answer), request))
        except PasFormatError as exc:
            return ReviewExchange(self.channel, body, answer, None, f"PAS response unreadable: {exc}")


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        return None


def _unavailable(status: int, channel: str, trace: str) -> ReviewUnavailable:
    log.warning("utilization review answered HTTP %s (channel=%s trace=%s)", status, channel, trace)
    return ReviewUnavailable(f"{channel} endpoint answered HTTP {status}", error_code=f"HTTP{status}")


async def _post(client_args: dict[str, object], url: str, body: bytes, media: str, channel: str,
                trace: str) -> httpx.Response:
    try:
        async with httpx.AsyncClient(**client_args) as client:  # type: ignore[arg-type]
            response = await client.post(url, content=body, headers={"Content-Type": media})
    except httpx.HTTPError as exc:
        log.warning("utilization review unreachable: %s (channel=%s trace=%s)", type(exc).__name__, channel, trace)
        raise ReviewUnavailable(f"{channel} endpoint unreachable: {type(exc).__name__}",
                                error_code="TransportError") from exc
    log.info("utilization review answered HTTP %s (channel=%s trace=%s)", response.status_code, channel, trace)
    return response


class RoutedUtilizationReview:
    """Sends each request over the channel its payer is routed to on the day it is sent."""

    def __init__(self, routes: ReviewRoutes, connect: Callable[[Route], UtilizationReview]) -> None:
        self.routes = routes
        self._connect = connect
        self._connections: dict[tuple[str, str, str], UtilizationReview] = {}

    def channel_for(self, request: AuthorizationRequest, control: ControlNumbers) -> Route:
        return self.routes.route_for(request.payer_id, control.created_at.date())

    async def submit(self, request: AuthorizationRequest, control: ControlNumbers) -> ReviewExchange:
        route = self.channel_for(request, control)
        key = (route.channel, route.endpoint, route.payer_id)
        if key not in self._connections:
            self._connections[key] = self._connect(route)
        return await self._connections[key].submit(request, control)

