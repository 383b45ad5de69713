"""One FHIR base URL in front of the services that own the resources: ``GET /fhir/r4/<Type>[/<id>]`` goes to the
service whose CapabilityStatement lists ``<Type>``; ``GET /fhir/r4/metadata`` is their statements merged.

A router and nothing more. It holds no token, no data and no database: the caller's bearer token, practice header
and request id go through unchanged, and the owning service checks the scope, the practice, audits the read and
answers; the front passes its answer back as it is. The ``Host`` the caller used goes through too, so the links a
service writes into a Bundle (self, next, fullUrl) point at the front. Which service serves what is learnt from
the services' own ``/fhir/r4/metadata`` (asked again when a type is not known, at most every few seconds), so a
resource added to a service needs no change here. Read-only, like the FHIR API behind it.

Run: ``python -m rcm_shared.fhir.front`` with ``RCM_SERVICE_URLS`` (a JSON map of service name to base URL),
``RCM_HTTP_HOST`` and ``RCM_HTTP_PORT`` (8000), as a service's settings.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from rcm_shared.fhir.api import FhirError, fhir_response, install_fhir_errors, resource_id

PASSED_REQUEST_HEADERS = ("authorization", "x-practice-id", "x-request-id", "accept", "host")
PASSED_RESPONSE_HEADERS = ("content-type", "x-request-id", "www-authenticate", "retry-after")
_TYPE = r"^[A-Z][A-Za-z]{1,63}$"


class Owners:
    """Resource type -> the base URL of the service that serves it, from the services' CapabilityStatements."""

    def __init__(self, services: Mapping[str, str], client: httpx.AsyncClient, *, refresh_seconds: float = 5.0):
        self.services = dict(services)
        self.client = client
        self.refresh_seconds = refresh_seconds
        self.by_type: dict[str, str] = {}
        self.statements: dict[str, dict[str, Any]] = {}  # service URL -> its CapabilityStatement
        self._asked_at = -1e9
        self._lock = asyncio.Lock()

    async def discover(self, *, force: bool = False) -> None:
        async with self._lock:
            if not force and time.monotonic() - self._asked_at < self.refresh_seconds:
                return
            self._asked_at = time.monotonic()
            answers = await asyncio.gather(*(self._statement(url) for url in self.services.values()))
            for url, statement in zip(self.services.values(), answers, strict=True):
                if statement is None:
                    continue  # down for now (kept from before), or no FHIR there
                self.statements[url] = statement
                for resource in statement.get("rest", [{}])[0].get("resource", []):
                    self.by_type[str(resource["type"])] = url

    async def _statement(self, url: str) -> dict[str, Any] | None:
        try:
            answer = await self.client.get(f"{url}/fhir/r4/metadata", timeout=5)
        except httpx.HTTPError:
            return None
        if answer.status_code != 200:
            return None
        body: dict[str, Any] = answer.json()
        return body if body.get("resourceType") == "CapabilityStatement" else None

    async def owner(self, resource_type: str) -> str | None:
        if resource_type not in self.by_type:
            await self.discover()
        return self.by_type.get(resource_type)


def build_front(services: Mapping[str, str], *, client: httpx.AsyncClient | None = None,
                refresh_seconds: float = 5.0) -> FastAPI:
    """The front's app over ``services`` (name -> base URL). ``client``: how it reaches them (tests pass one
    bound to in-process apps)."""
    http = client or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))
    owners = Owners(services, http, refresh_seconds=refresh_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        yield
        if client is None:
            await http.aclose()

    app = FastAPI(title="FHIR R4 front", lifespan=lifespan,
                  description="One base URL for the platform's FHIR R4 reads; each type is served by its owner.")
    install_fhir_errors(app)
    app.state.owners = owners

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        await owners.discover()
        ready = bool(owners.by_type)
        return JSONResponse({"status": "ok" if ready else "waiting", "types": sorted(owners.by_type)},
                            status_code=200 if ready else 503)

    @app.get("/fhir/r4/metadata", summary="The CapabilityStatement of every FHIR resource the platform serves")
    async def metadata(request: Request) -> JSONResponse:
        await owners.discover()
        resources = sorted((r for s in owners.statements.values() for r in s.get("rest", [{}])[0].get("resource", [])),
                           key=lambda r: str(r["type"]))
        if not resources:
            raise FhirError(503, "transient", "no FHIR service is answering yet")
        first = next(iter(owners.statements.values()))
        return fhir_response({
            **{k: first[k] for k in ("resourceType", "status", "date", "kind", "fhirVersion", "format")},
            "software": {"name": "rcm-fhir-front"},
            "implementation": {"description": "revenue-cycle platform: read-only FHIR view",
                               "url": str(request.base_url).rstrip("/") + "/fhir/r4"},
            "rest": [{**first["rest"][0], "resource": resources}]})

    @app.api_route("/fhir/r4/{resource_type}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    @app.api_route("/fhir/r4/{resource_type}/{item}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def forward(request: Request, resource_type: str, item: str | None = None) -> Response:
        if request.method != "GET":
            raise FhirError(405, "not-supported", "this FHIR API is read-only")
        if not re.match(_TYPE, resource_type):
            raise FhirError(404, "not-supported", "no such resource type here")
        if item is not None:
            resource_id(item)
        owner = await owners.owner(resource_type)
        if owner is None:
            raise FhirError(404, "not-supported", "no such resource type here; see /fhir/r4/metadata")
        headers = {k: v for k, v in request.headers.items() if k in PASSED_REQUEST_HEADERS}
        headers["x-forwarded-proto"] = request.url.scheme
        target = f"{owner}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
        try:
            answer = await http.get(target, headers=headers)
        except httpx.HTTPError as exc:
            raise FhirError(503, "transient", "the service that serves this resource is not answering") from exc
        return Response(answer.content, status_code=answer.status_code,
                        headers={k: v for k, v in answer.headers.items() if k in PASSED_RESPONSE_HEADERS})

    return app


def main() -> None:  # pragma: no cover - the process `rcm up` runs
    import uvicorn

    from rcm_shared.config import ServiceSettings

    settings = ServiceSettings(service_name="fhir")  # RCM_SERVICE_URLS, RCM_HTTP_HOST, RCM_HTTP_PORT (8000)
    uvicorn.run(build_front(settings.service_urls), host=settings.http_host, port=settings.http_port,
                log_level="warning", proxy_headers=False)


if __name__ == "__main__":  # pragma: no cover
    main()
