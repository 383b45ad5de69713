"""The plumbing every service's FHIR routes share.

Resources are built as dicts by each service's codec (``edi/fhir.py``) and validated here through
``fhir.resources`` (the R4B models: R4B is a technical correction of R4 whose Coverage, CoverageEligibilityResponse,
Claim, ClaimResponse, ExplanationOfBenefit, PaymentReconciliation, Account and Invoice are R4's), so nothing leaves
that a FHIR client would refuse. Searches accept only the parameters a route declares: an unknown or malformed one
is a 400 with an OperationOutcome naming it (FHIR lets a server ignore unknown parameters; an integrator who
misspells ``patient`` and gets every coverage back is worse served). Errors here are OperationOutcomes, never
problem+json, and never echo the value sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fhir.resources.R4B import get_fhir_model_class

FHIR_JSON = "application/fhir+json"
MAX_COUNT = 200
ONE_DAY = timedelta(days=1)
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_DATE = re.compile(r"^(eq|ne|gt|lt|ge|le)?(\d{4}-\d{2}-\d{2})$")


class FhirError(Exception):
    """An OperationOutcome answer: HTTP status, issue code (invalid, not-found, not-supported...), diagnostics."""

    def __init__(self, status: int, code: str, diagnostics: str, *, expression: str | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression

    def outcome(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": "error", "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = [self.expression]
        return validated({"resourceType": "OperationOutcome", "issue": [issue]})


def install_fhir_errors(app: FastAPI) -> None:
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FhirError)
        return JSONResponse(exc.outcome(), status_code=exc.status, media_type=FHIR_JSON)

    app.add_exception_handler(FhirError, handler)


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as a FHIR client receives it, after ``fhir.resources`` accepted it (ValueError if not)."""
    model = get_fhir_model_class(resource["resourceType"])
    parsed = model.model_validate(resource)
    out: dict[str, Any] = json.loads(parsed.model_dump_json(exclude_none=True))
    return out


def fhir_response(resource: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(validated(resource), status_code=status, media_type=FHIR_JSON)


NOT_FOUND = "no such resource in this practice"


async def read_one(value: str, fetch: Callable[[str], Awaitable[dict[str, Any] | None]], *,
                   audit: Any | None = None) -> JSONResponse:
    """A read by id: the id checked (and named to the audit entry), the resource or a 404 OperationOutcome (the
    same whether it does not exist or is another practice's)."""
    rid = resource_id(value)
    if audit is not None:
        audit.object_id = rid
    found = await fetch(rid)
    if found is None:
        raise FhirError(404, "not-found", NOT_FOUND)
    return fhir_response(found)


def resource_id(value: str) -> str:
    """A path id, as FHIR allows it ([A-Za-z0-9-.]{1,64}); anything else is not found (and not echoed)."""
    if not _ID.match(value):
        raise FhirError(404, "not-found", "no such resource")
    return value


class Kind(Enum):
    TOKEN = "token"  # status=active
    REFERENCE = "reference"  # patient=Patient/123 or patient=123
    DATE = "date"  # created=ge2026-01-01&created=lt2026-02-01


@dataclass(frozen=True)
class DateRange:
    lower: date | None = None  # inclusive
    upper: date | None = None  # inclusive

    def contains(self, day: date) -> bool:
        return (self.lower is None or day >= self.lower) and (self.upper is None or day <= self.upper)


@dataclass
class Search:
    values: dict[str, Any] = field(default_factory=dict)
    count: int = 50
    offset: int = 0

    def get(self, name: str) -> Any:
        return self.values.get(name)


def parse_search(request: Request, spec: Mapping[str, Kind], *, allowed_tokens: Mapping[str, Sequence[str]]
                 | None = None, reference_type: str = "Patient",
                 reference_types: Mapping[str, str] | None = None) -> Search:
    """The route's search parameters, strictly: each known, well formed, at most once (dates: a range).
    A reference is ``<type>/<id>`` or the bare id; its type is ``reference_types[name]``, else ``reference_type``."""
    search = Search()
    seen: set[str] = set()
    for name, value in request.query_params.multi_items():
        if name == "_count":
            if not value.isdigit() or not 1 <= int(value) <= MAX_COUNT:
                raise _bad(name, f"_count must be 1..{MAX_COUNT}")
            search.count = int(value)
            continue
        if name == "_page":
            search.offset = _page_offset(value)
            continue
        kind = spec.get(name)
        if kind is None:
            raise FhirError(400, "not-supported", f"unknown search parameter; supported: "
                            f"{', '.join(sorted([*spec, '_count']))}", expression=name if _safe(name) else None)
        if kind is Kind.DATE:
            search.values[name] = _date_range(name, value, search.values.get(name) or DateRange())
            continue
        if name in seen:
            raise _bad(name, "given more than once")
        seen.add(name)
        if kind is Kind.REFERENCE:
            target = (reference_types or {}).get(name, reference_type)
            ref = value.removeprefix(f"{target}/")
            if not _ID.match(ref):
                raise _bad(name, f"not a {target} reference")
            search.values[name] = ref
        else:
            allowed = (allowed_tokens or {}).get(name)
            if allowed is not None and value not in allowed:
                raise _bad(name, f"one of {', '.join(allowed)}")
            if not _ID.match(value):
                raise _bad(name, "not a token")
            search.values[name] = value
    return search


def searchset(request: Request, resources: list[dict[str, Any]], search: Search, *, more: bool,
              total: int | None = None) -> JSONResponse:
    """A searchset Bundle of ``resources`` with self and (when ``more``) next links that keep the search."""
    base = str(request.base_url).rstrip("/")
    path = request.url.path
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "_page"]

    def link(offset: int) -> str:
        query = params + ([("_page", _page_token(offset))] if offset else [])
        return f"{base}{path}" + (f"?{urlencode(query)}" if query else "")

    links = [{"relation": "self", "url": link(search.offset)}]
    if more:
        links.append({"relation": "next", "url": link(search.offset + search.count)})
    if search.offset:
        links.append({"relation": "previous", "url": link(max(0, search.offset - search.count))})
    type_path = path.rsplit("/", 1)[0] if path.count("/") > 3 else path
    bundle: dict[str, Any] = {
        "resourceType": "Bundle", "type": "searchset", "link": links,
        "entry": [{"fullUrl": f"{base}{type_path}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                  for r in resources]}
    if total is not None:
        bundle["total"] = total
    return fhir_response(bundle)


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _page_offset(token: str) -> int:
    try:
        value = json.loads(base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise _bad("_page", "use the next link of a previous page") from exc
    offset = value.get("o") if isinstance(value, dict) else None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise _bad("_page", "use the next link of a previous page")
    return offset


def _date_range(name: str, value: str, current: DateRange) -> DateRange:
    match = _DATE.match(value)
    if match is None:
        raise _bad(name, "a date as [eq|gt|lt|ge|le]YYYY-MM-DD")
    prefix, text = match.group(1) or "eq", match.group(2)
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise _bad(name, "not a calendar date") from exc
    lower, upper = current.lower, current.upper
    if prefix == "ne":
        raise FhirError(400, "not-supported", "the ne prefix is not supported", expression=name)
    if (prefix, day) in (("gt", date.max), ("lt", date.min)):
        raise _bad(name, "no day after it (or before it) in the calendar")
    if prefix in ("eq", "ge"):
        lower = max(lower, day) if lower else day
    if prefix == "gt":
        lower = max(lower, day + ONE_DAY) if lower else day + ONE_DAY
    if prefix in ("eq", "le"):
        upper = min(upper, day) if upper else day
    if prefix == "lt":
        upper = min(upper, day - ONE_DAY) if upper else day - ONE_DAY
    return DateRange(lower, upper)


def _safe(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z_:.\-]{1,40}", name))


def _bad(name: str, message: str) -> FhirError:
    return FhirError(400, "invalid", f"search parameter {name}: {message}", expression=name)


def capability_router(*, service: str, resources: Mapping[str, Mapping[str, Kind]]) -> Any:
    """``GET /fhir/r4/metadata``: the CapabilityStatement of what this service serves (no patient data, so no token,
    as FHIR clients expect when they discover a server)."""
    from fastapi import APIRouter  # local: only services that serve FHIR build this router

    router = APIRouter(prefix="/fhir/r4", tags=["FHIR R4"])
    kinds = {Kind.TOKEN: "token", Kind.REFERENCE: "reference", Kind.DATE: "date"}

    @router.get("/metadata", summary="CapabilityStatement: the FHIR resources and searches this service serves")
    async def metadata(request: Request) -> JSONResponse:
        return fhir_response({
            "resourceType": "CapabilityStatement", "status": "active", "date": "2026-12-02", "kind": "instance",
            "fhirVersion": "4.0.1", "format": ["json"],
            "software": {"name": f"rcm-{service}"},
            "implementation": {"description": f"{service}: read-only FHIR view",
                               "url": str(request.base_url).rstrip("/") + "/fhir/r4"},
            "rest": [{"mode": "server", "security": {"description": "Bearer token (OAuth2 client credentials or "
                                                                    "user login) with the service's read scope"},
                      "resource": [{"type": name, "interaction": [{"code": "read"}, {"code": "search-type"}],
                                    "searchParam": [{"name": p, "type": kinds[k]} for p, k in params.items()]}
                                   for name, params in resources.items()]}]})

    return router
