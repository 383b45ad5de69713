"""RFC 9457 problem+json for every error. Bodies name fields and codes, never echo input (PHI)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rcm_shared.observability.redaction import safe_location

log = logging.getLogger("rcm.http")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://rcm.example/problems/"


class ProblemError(Exception):
    """An error a client can act on: status, a stable type slug, a title, and the fields to fix."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.extra = extra or {}
        self.headers = headers


def problem_response(
    status: int, slug: str, title: str, detail: str | None = None, *,
    errors: list[dict[str, str]] | None = None, instance: str | None = None,
    extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field (its name is not repeated)",
    "json_invalid": "is not valid JSON",
}


def validation_errors(errors: list[Any]) -> list[dict[str, str]]:
    out = []
    for err in errors:
        code = err.get("type", "invalid")
        msg = _MESSAGES.get(code, err.get("msg", "is invalid"))
        # pydantic's msg never contains the input value; "input" and "ctx" may, so they are dropped. The location
        # keeps only field names our schemas declare: an unknown key is the client's text (a name, maybe).
        field = ".".join(safe_location(err.get("loc", ()), code, request=True))
        out.append({"field": field, "code": code, "message": msg})
    return out


def install_error_handlers(app: FastAPI, domain_errors: Mapping[type[Exception], tuple[int, str]] | None = None
                           ) -> None:
    mapping = dict(domain_errors or {})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem_response(400, "malformed-json", "Request body is not valid JSON",
                                    errors=validation_errors(errors))
        return problem_response(422, "validation", "Request is invalid",
                                f"{len(errors)} field(s) need attention", errors=validation_errors(errors),)

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.status, exc.slug, exc.title, exc.detail, errors=exc.errors,
                                extra=exc.extra, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {401: "Authentication required", 403: "Forbidden", 404: "Not found",
                  405: "Method not allowed", 413: "Request too large", 415: "Unsupported media type"}
        return problem_response(exc.status_code, f"http-{exc.status_code}",
                                titles.get(exc.status_code, "Request failed"),
                                str(exc.detail) if isinstance(exc.detail, str) else None,
                                headers=getattr(exc, "headers", None))

    for exc_type, (status, slug) in mapping.items():
        def _make(status: int, slug: str) -> Any:
            async def _domain(request: Request, exc: Exception) -> JSONResponse:
                field = getattr(exc, "field", None)
                errors = [{"field": field, "code": slug, "message": str(exc)}] if field else None
                # e.g. a code the caller can act on; never input values (the exception's author sees to it)
                extra = getattr(exc, "problem_extra", None)
                return problem_response(status, slug, str(exc), errors=errors,
                                        extra=extra if isinstance(extra, dict) else None)
            return _domain
        app.add_exception_handler(exc_type, _make(status, slug))

    app.add_middleware(UnexpectedErrorMiddleware)


class UnexpectedErrorMiddleware:
    """An unexpected exception becomes a 500 problem, and the request ends there.

    Not ``app.exception_handler(Exception)``: Starlette runs that handler in its outermost middleware and then
    re-raises, and uvicorn answers an exception raised after the response started by closing the connection,
    so every 500 also dropped the client's keep-alive connection (and logged a traceback that can quote
    values). Here the exception is answered and not re-raised; the connection stays usable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            # The raw path can hold ids of patients: log the route template only.
            route = getattr(scope.get("route"), "path", "unmatched")
            log.error("unhandled error", extra={"error_type": type(exc).__name__, "route": route})
            if started:  # half a response is out: only closing the connection can tell the client
                raise
            response = problem_response(500, "internal", "Internal error",
                                        "The request could not be completed; nothing was changed.")
            await response(scope, receive, send)
