"""The sandbox payer over HTTP, answering from ``rules/sandbox_reviewer.yaml`` like a payer's endpoints would:

- ``POST /fhir/Claim/$submit``: Da Vinci PAS, a request Bundle in (``application/fhir+json``), the response
  Bundle out; a bundle it cannot read gets 400 with an OperationOutcome;
- ``POST /x12/278``: a real-time 278, the request interchange in (``application/edi-x12``), the 278 response out.

With ``bearer_token`` set, both ask for it (401 otherwise). Run locally with
``uvicorn --factory authorizations.sandbox.payer_app:build_sandbox_payer_app``; the adapter tests start
it on a free port over TLS.
"""

from __future__ import annotations

import itertools
import json
from collections import deque

from authorizations.edi.pas_resources import FHIR_JSON, PasFormatError
from authorizations.edi.x12_278 import X12_MEDIA
from authorizations.sandbox.reviewer import SandboxReviewer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from rcm_shared.clock import Clock, SystemClock
from rcm_shared.x12 import X12SyntaxError
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties


def _outcome(status: int, code: str, diagnostics: str) -> JSONResponse:
    return JSONResponse({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": code, "diagnostics": diagnostics}]}, status_code=status, media_type=FHIR_JSON)


def build_sandbox_payer_app(reviewer: SandboxReviewer, *, bearer_token: str | None = None,
                            payer_id: str = "SBXUMO", clock: Clock | None = None) -> FastAPI:
    clock = clock or SystemClock()  # the interchange's own date and time stamps
    app = FastAPI(title="Sandbox payer: utilization review (X12 278, Da Vinci PAS)")
    # What arrived (media type and body), newest last: the tests look at it; bounded for long local runs.
    app.state.received = deque(maxlen=100)
    control = itertools.count(1)
    parties = InterchangeParties(sender_id=payer_id, receiver_id="RCMPLATFORM")

    def authorized(request: Request) -> bool:
        return bearer_token is None or request.headers.get("authorization") == f"Bearer {bearer_token}"

    @app.post("/fhir/Claim/$submit")
    async def pas_submit(request: Request) -> Response:
        if not authorized(request):
            return _outcome(401, "login", "a valid bearer token is required")
        media = request.headers.get("content-type", "")
        body = await request.body()
        app.state.received.append((media, body))
        if not media.startswith((FHIR_JSON, "application/json")):
            return _outcome(415, "not-supported", "send application/fhir+json")
        try:
            answer = reviewer.answer_pas(json.loads(body), clock.now())
        except (ValueError, RecursionError) as exc:  # PasFormatError, JSON that is not JSON (or nested past parsing)
            reason = str(exc) if isinstance(exc, PasFormatError) else "the body is not JSON"
            return _outcome(400, "invalid", reason)
        return JSONResponse(answer, media_type=FHIR_JSON)

    @app.post("/x12/278")
    async def x12_278(request: Request) -> Response:
        if not authorized(request):
            return Response("a valid bearer token is required", status_code=401, media_type="text/plain")
        media = request.headers.get("content-type", "")
        body = await request.body()
        app.state.received.append((media, body))
        n = next(control)
        try:
            answer = reviewer.answer_278(body.decode("utf-8", errors="replace"),
                                         ControlNumbers(n, n, 1, clock.now()), parties)
        except ValueError as exc:  # X12SyntaxError; X12ValueError when a read value cannot be written back
            reason = str(exc) if isinstance(exc, X12SyntaxError) else "the answer cannot carry a value of the request"
            return Response(f"278 request unreadable: {reason}", status_code=400, media_type="text/plain")
        return Response(answer, media_type=X12_MEDIA)

    return app
