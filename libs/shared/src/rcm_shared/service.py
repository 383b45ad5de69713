"""The runtime every service shares: FastAPI app factory, background workers, entry point.

A service's composition root (``bootstrap.py``) builds its Database, handlers and consumers and hands
them here; this module owns the cross-cutting parts (auth, errors, telemetry, health, relay, consumers).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp

from rcm_shared.clock import Clock, SystemClock
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts.topics import all_topics_with_dead_letters
from rcm_shared.db.database import Database
from rcm_shared.db.migrations import upgrade_to_head
from rcm_shared.http.audit import AuditMiddleware
from rcm_shared.http.audit_trail import audit_router
from rcm_shared.http.errors import install_error_handlers, problem_response
from rcm_shared.messaging.consumer import EventConsumer
from rcm_shared.messaging.kafka import ensure_topics
from rcm_shared.messaging.relay import OutboxRelay
from rcm_shared.observability import metrics
from rcm_shared.observability.logging import configure_logging
from rcm_shared.observability.tracing import configure_tracing, server_span

log = logging.getLogger("rcm.service")
MAX_BODY_BYTES = 64 * 1024 * 1024
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class ServiceRuntime:
    """Database + outbox relay + consumers of one service process."""

    def __init__(self, settings: ServiceSettings, db: Database, migrations_dir: Path,
                 consumers: Sequence[EventConsumer] = (),
                 periodic: Sequence[tuple[str, float, Callable[[], Awaitable[Any]]]] = ()) -> None:
        self.settings = settings
        self.db = db
        self.migrations_dir = migrations_dir
        self.consumers = list(consumers)
        self.periodic = list(periodic)
        self.relay = OutboxRelay(settings, db.sessions, db.tables)
        db.on_commit(self.relay.wake)
        for consumer in self.consumers:
            consumer.add_commit_listener(self.relay.wake)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def migrate(self) -> None:
        await upgrade_to_head(self.db.engine, self.migrations_dir)

    async def start_workers(self) -> None:
        self._stop.clear()
        self._tasks.append(asyncio.create_task(self._topics_then_workers(), name="workers"))

    async def _topics_then_workers(self) -> None:
        # Topics first so consumers never race auto-creation; a broker that is down delays only the workers.
        delay = 0.5
        while not self._stop.is_set():
            try:
                await ensure_topics(self.settings, all_topics_with_dead_letters())
                break
            except Exception as exc:
                log.warning("broker not reachable yet", extra={"error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
        workers: list[Awaitable[None]] = [self.relay.run(self._stop)]
        workers += [c.run(self._stop) for c in self.consumers]
        workers += [self._every(name, seconds, job) for name, seconds, job in self.periodic]
        await asyncio.gather(*workers)

    async def _every(self, name: str, seconds: float, job: Callable[[], Awaitable[Any]]) -> None:
        while not self._stop.is_set():
            try:
                await job()
            except Exception as exc:
                log.warning("periodic job failed", extra={"job": name, "error": type(exc).__name__})
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=seconds)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                pass  # wait_for cancelled it: a consumer still joining its group has acknowledged nothing
        self._tasks.clear()
        await self.db.dispose()


def create_service_app(
    settings: ServiceSettings,
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    domain_errors: Mapping[type[Exception], tuple[int, str]] | None = None,
    migrate_on_start: bool = True,
    clock: Clock | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level)
        configure_tracing(settings.service_name, settings.otel_exporter_endpoint)
        if migrate_on_start:
            await runtime.migrate()
        if settings.run_workers:
            await runtime.start_workers()
        log.info("service started", extra={"port": settings.http_port})
        yield
        await runtime.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan,
                  openapi_tags=[{"name": "health", "description": "Liveness, readiness and metrics"}])
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.db = runtime.db
    app.state.clock = clock or SystemClock(settings.practice_time_zone)  # routes: ClockDep
    install_error_handlers(app, domain_errors)
    app.add_middleware(AuditMiddleware, service=settings.service_name)
    app.add_middleware(_TelemetryMiddleware, service=settings.service_name)  # outermost: the request id first
    app.include_router(_health_router(settings, runtime))
    for router in routers:
        app.include_router(router)
    if any(router.prefix.startswith("/fhir/") for router in routers):
        from rcm_shared.fhir.api import install_fhir_errors  # local: fhir.resources only where FHIR is served

        install_fhir_errors(app)  # OperationOutcome answers on the FHIR routes
    app.include_router(audit_router())
    return app


class _TelemetryMiddleware:
    """Trace span, latency histogram (by route template), request id, body-size guard."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            response = problem_response(413, "too-large", "Request too large",
                                        f"bodies are limited to {MAX_BODY_BYTES} bytes")
            await response(scope, receive, send)
            return
        # A client's request id is kept only if it is short and plain; otherwise ours (echoed either way).
        given = headers.get("x-request-id", "")
        request_id = given if REQUEST_ID.fullmatch(given) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        status_holder = {"status": 500}

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        started = time.perf_counter()
        with server_span(f"{scope['method']} request", headers) as span:
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", "unmatched")
                span.update_name(f"{scope['method']} {template}")
                span.set_attribute("http.request.method", scope["method"])
                span.set_attribute("http.route", template)
                span.set_attribute("http.response.status_code", status_holder["status"])
                metrics.HTTP_LATENCY.labels(self.service, scope["method"], template,
                                            str(status_holder["status"])).observe(time.perf_counter() - started)


def _health_router(settings: ServiceSettings, runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": settings.service_name}

    @router.get("/readyz", summary="Readiness: database and broker reachable")
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(runtime.db.ping(), timeout=3)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        checks["broker"] = await _broker_reachable(settings.kafka_bootstrap_servers)
        ready = all(v == "ok" for v in checks.values())
        # The service's name lets a supervisor tell its own process from another that took the port first.
        return JSONResponse({"status": "ready" if ready else "not-ready", "service": settings.service_name,
                             "checks": checks},
                            status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=True)
    async def prometheus_metrics() -> Response:
        await runtime.relay.backlog()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _broker_reachable(bootstrap: str) -> str:
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout=2)
            writer.close()
            return "ok"
        except (OSError, TimeoutError, ValueError):
            continue
    return "unavailable"


def run_cli(build_app: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings,
            migrate: Callable[[ServiceSettings], Coroutine[Any, Any, None]]) -> None:
    """``rcm-<service> [serve|migrate]``."""
    parser = argparse.ArgumentParser(prog=f"rcm-{settings.service_name}")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    args = parser.parse_args()
    if args.command == "migrate":
        asyncio.run(migrate(settings))
        return
    app = build_app(settings)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False)
