"""Append-only audit of every API request on a practice's data: who, for which practice, did what to which
object, when, with what outcome, under which request id. Refused requests are audited too (401 with no
verified actor is recorded as ``anonymous``; the token itself never is).

One mechanism for every route:

- a route says what it touches with ``audited("claim")`` (in ``dependencies=[...]``, or as a parameter when it
  learns the object's id only as it goes: ``audit.object_id = visit_id``);
- a write that must commit with its audit row calls ``await audit.record_in(session)`` inside its transaction
  (``run_idempotent`` does this for every create);
- everything else is recorded by ``AuditMiddleware`` when the response starts, with the outcome read from the
  status code, before a byte of the body leaves: if the row cannot be written, the caller gets a 500, not data.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rcm_shared.db.platform_tables import PlatformTables
from rcm_shared.db.types import utcnow
from rcm_shared.http.auth import ScopeGuard
from rcm_shared.http.errors import problem_response
from rcm_shared.observability import metrics

log = logging.getLogger("rcm.audit")
ANONYMOUS = "anonymous"
# An id we may store as the object of an audit row: what our path patterns accept. Anything else (a value a
# route refused, which might be a name typed into a URL) is stored as "invalid".
_SAFE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,120}")
_STATE_KEY = "audit"


def outcome_of(status: int) -> str:
    if status < 400:
        return "success"
    return {401: "unauthenticated", 403: "forbidden", 404: "not_found", 409: "conflict",
            429: "rate_limited"}.get(status, "error" if status >= 500 else "invalid")


@dataclass(frozen=True)
class AuditSpec:
    """What a route touches: found on the route itself, so a request refused before the route ran (401, 403,
    422) is recorded against the right object type."""

    object_type: str
    action: str | None = None

    async def __call__(self, request: Request) -> AuditEntry:
        return entry_for(request.scope)


@dataclass
class AuditEntry:
    service: str
    tables: PlatformTables | None
    scope: MutableMapping[str, Any]
    object_type: str = "request"
    action: str | None = None
    object_id: str | None = None
    recorded: bool = field(default=False)

    def row(self, status: int) -> dict[str, Any]:
        state = self.scope.setdefault("state", {})
        principal, identity = state.get("principal"), state.get("identity")
        if principal is not None:
            actor, practice = principal.subject, principal.practice_id
        elif identity is not None:
            # Verified, then refused for the practice it named: kept in the caller's own practice (never in the
            # practice it tried, which would learn another tenant's user names), or none if it spans several.
            own = [p for p in identity.practices if p != "*"]
            actor, practice = identity.subject, own[0] if len(identity.practices) == 1 and own else ""
        else:
            actor, practice = ANONYMOUS, ""
        route, path_params = self.scope.get("route"), self.scope.get("path_params") or {}
        spec = audit_spec(route) if route is not None else None
        object_type = spec.object_type if spec is not None else self.object_type
        action = self.action or (spec.action if spec is not None else None) or _default_action(
            str(self.scope.get("method", "GET")), path_params)
        object_id = self.object_id
        if object_id is None:
            # A path value the route refused (400, 422) might be anything typed into a URL: not kept.
            object_id = str(list(path_params.values())[-1]) if path_params and status not in (400, 422) else "*"
        if object_id != "*" and not _SAFE_ID.fullmatch(object_id):
            object_id = "invalid"
        request_id = state.get("request_id")
        return {"at": utcnow(), "actor": actor[:200], "practice_id": practice[:64], "action": action[:80],
                "object_type": object_type[:80], "object_id": object_id, "outcome": outcome_of(status),
                "request_id": request_id[:64] if isinstance(request_id, str) else None}

    async def record_in(self, session: AsyncSession, status: int = 200) -> None:
        """Write the row in the caller's transaction: the change and its audit row commit together."""
        if self.tables is None:
            raise RuntimeError("no audit table: the app has no AuditMiddleware")
        row = self.row(status)
        await session.execute(insert(self.tables.audit_log).values(**row))

        def committed(_: Any) -> None:
            self.recorded = True  # only once the row is in: a rolled-back write is audited by the middleware

        event.listen(session.sync_session, "after_commit", committed, once=True)
        metrics.AUDIT_EVENTS.labels(self.service, row["action"], row["outcome"]).inc()


def entry_for(scope: MutableMapping[str, Any]) -> AuditEntry:
    state = scope.setdefault("state", {})
    entry: AuditEntry | None = state.get(_STATE_KEY)
    if entry is None:  # an app without the middleware (unit tests of routes): nothing is written
        entry = AuditEntry("unknown", None, scope)
        state[_STATE_KEY] = entry
    return entry


def audited(object_type: str, action: str | None = None) -> Any:
    """The route reads or changes ``object_type`` (action: read / list / write, by method, unless named)."""
    return Depends(AuditSpec(object_type, action))


def _find(dependant: Dependant, kind: type[Any]) -> Any:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, kind):
            return dependency.call
        found = _find(dependency, kind)
        if found is not None:
            return found
    return None


def audit_spec(route: Any) -> AuditSpec | None:
    dependant = getattr(route, "dependant", None)
    return _find(dependant, AuditSpec) if dependant is not None else None


def guarded(route: Any) -> bool:
    """Does the route need a bearer token? (Then it is about a practice's data, and audited.)"""
    dependant = getattr(route, "dependant", None)
    return dependant is not None and any(isinstance(d.call, ScopeGuard) for d in _walk(dependant))


def _walk(dependant: Dependant) -> list[Dependant]:
    out = []
    for dependency in dependant.dependencies:
        out.append(dependency)
        out.extend(_walk(dependency))
    return out


def _default_action(method: str, path_params: dict[str, Any]) -> str:
    if method in ("GET", "HEAD"):
        return "read" if path_params else "list"
    return "delete" if method == "DELETE" else "write"


class AuditMiddleware:
    """Records the audit row of every guarded route's request that the route did not record itself."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        db = scope["app"].state.db
        entry = AuditEntry(self.service, db.tables, scope)
        scope.setdefault("state", {})[_STATE_KEY] = entry
        started = {"done": False, "swallow": False}

        async def send_wrapper(message: Message) -> None:
            if started["swallow"]:
                return
            if message["type"] == "http.response.start" and not started["done"]:
                started["done"] = True
                if not await self._record(scope, entry, message["status"]):
                    started["swallow"] = True
                    response = problem_response(500, "internal", "Internal error",
                                                "The request could not be audited; nothing was returned.")
                    await response(scope, receive, send)
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            if not started["done"]:
                started["done"] = True
                await self._record(scope, entry, 500)
            raise

    async def _record(self, scope: Scope, entry: AuditEntry, status: int) -> bool:
        route = scope.get("route")
        if route is None or entry.recorded or not guarded(route):
            return True
        try:
            async with scope["app"].state.db.transaction() as session:
                await entry.record_in(session, status)
        except Exception as exc:
            log.error("audit row not written", extra={"error_type": type(exc).__name__,
                                                      "route": getattr(route, "path", "?")})
            return False
        return True
