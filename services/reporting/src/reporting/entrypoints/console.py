"""The operators' console: server-rendered pages (Jinja2) over the reporting read model and the owners' queues.

- Sign-in through the issuer's development login; the token it returns is the session (adapters/console_session)
  and every owner service is called with it, so each service decides what this person may see and do.
- Reporting's own figures are read in-process through the same read use cases as ``/v1`` (service_layer/reports),
  for the practice the person works in, and audited like the API (who looked at which practice's figures).
- Forms (sign-in, practice switch, queue actions) carry a CSRF token and redirect after posting (no resubmits).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from rcm_shared.http.audit import entry_for
from rcm_shared.http.auth import Identity, Principal, token_verifier
from rcm_shared.http.errors import ProblemError
from rcm_shared.identity.verifier import InvalidToken
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reporting.adapters.console_session import CSRF_FIELD, NONCE_COOKIE, ConsoleSessions, CsrfRefused
from reporting.adapters.owner_services import (
    KERNEL_FILTERS,
    KERNEL_QUEUE_LABELS,
    KERNEL_QUEUES,
    KERNEL_RESOLUTIONS,
    KERNEL_SORTS,
    KERNEL_STATES,
    QUEUE_SCOPES,
    QUEUES,
    REPORTED_QUEUES,
    SERVICE_READ_SCOPES,
    SERVICE_WRITE_SCOPES,
    Answer,
    IssuerLogin,
    OwnerServices,
    OwnerUnavailable,
    QueueSpec,
)
from reporting.domain import charts
from reporting.domain.console import (
    DENIAL_DIMENSIONS,
    DENIAL_QUEUE_OF_ROLE,
    JUDGEMENTS,
    KPI_LABELS,
    MANY_PRACTICES,
    NEEDS_NPI,
    ROLES,
    Viewer,
    amount,
    cents,
)
from reporting.domain.exceptions import BadFilter
from reporting.entrypoints.dependencies import ReportingServices, ServicesDep
from reporting.service_layer import reports, views
from reporting.service_layer.reports import Window

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def _judged(judgement: str) -> str:
    return JUDGEMENTS.get(judgement, judgement)


templates.env.filters.update({"cents": cents, "amount": amount, "judged": _judged})
router = APIRouter(prefix="/console", include_in_schema=False)
PRACTICE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
USERNAME = re.compile(r"^[A-Za-z0-9_.@:+-]{1,120}$")
CLAIM_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
ITEM_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DAY_KPIS = frozenset({"days_in_ar", "submission_lag_days"})
TREND_KPIS = ("first_pass_clean_rate", "denial_rate", "days_in_ar", "ar_over_60_share", "net_collection_rate",
              "coding_denial_rate", "held_before_submission_rate", "submission_lag_days")
MAX_DRILL_ROWS = 500
KERNEL_DONE = {"assign": "Assigned to you:", "unassign": "Unassigned:", "start": "Started:", "wait": "Parked:",
               "note": "Note added to", "resolve": "Resolved:", "reopen": "Reopened:"}
Day = Annotated[date | None, Query()]


class SignInNeeded(Exception):
    """No session, or its token expired or no longer verifies: back to the sign-in page."""


class NotAllowed(Exception):
    """The page needs a scope this person does not hold."""


# ------------------------------------------------------------------------------------------------ wiring


class ConsoleHeaders:
    """Security headers on every console response: a strict CSP (our own scripts and styles only, no inline
    script), no framing, no sniffing, no caching of pages that carry a practice's figures."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/console"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; "
                                                 b"img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
                                                 b"base-uri 'none'"),
                    (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY")]
                if not scope["path"].startswith("/console/static"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def install_console(app: FastAPI, services: ReportingServices, owners: OwnerServices, login: IssuerLogin,
                    sessions: ConsoleSessions) -> None:
    app.state.console = (owners, login, sessions)
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=str(HERE / "static")), name="console-static")
    app.add_middleware(ConsoleHeaders)

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse(f"/console/sign-in?{urlencode({'next': target})}", status_code=303)
        sessions.end(response)
        return response

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, exc: NotAllowed) -> Response:
        return templates.TemplateResponse(request, "message.html", {
            **_chrome(request, None), "title": "Not for your role",
            "message": "Your role does not open this page."}, status_code=403)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return templates.TemplateResponse(request, "message.html", {
            **_chrome(request, None), "title": "Form expired",
            "message": "This form was not sent from this console session. Open the page again and retry."},
            status_code=403)


def _parts(request: Request) -> tuple[OwnerServices, IssuerLogin, ConsoleSessions]:
    owners, login, sessions = request.app.state.console
    return owners, login, sessions


async def _viewer(request: Request) -> tuple[Viewer, str]:
    """The signed-in person and their token; SignInNeeded when there is none or it no longer verifies."""
    _, _, sessions = _parts(request)
    token = sessions.token_of(request)
    if not token:
        raise SignInNeeded()
    try:
        verified = await token_verifier(request.app).verify(token)
        identity = Identity.from_claims(verified.claims)
    except (InvalidToken, ProblemError) as exc:  # an unreadable or expired token: sign in again
        raise SignInNeeded() from exc
    practices = tuple(sorted(p for p in identity.practices if p != "*"))
    if not practices:
        raise SignInNeeded()
    chosen = sessions.practice_of(request)
    practice = chosen if chosen in practices else practices[0]
    viewer = Viewer(identity.subject, practice, practices, identity.scopes, identity.roles, identity.npi)
    request.state.principal = Principal(identity.subject, practice, identity.scopes, identity.roles, identity.npi,
                                        identity.client_id)
    request.state.viewer = viewer
    return viewer, token


async def _audit(request: Request, services: ReportingServices, object_type: str, object_id: str = "*") -> None:
    """The console's reads are audited as the API's are: who, which practice, what, when."""
    entry = entry_for(request.scope)
    if entry.tables is None:
        return
    entry.object_type, entry.action, entry.object_id = f"console_{object_type}", "read", object_id
    async with services.db.transaction() as session:
        await entry.record_in(session)


def _chrome(request: Request, viewer: Viewer | None) -> dict[str, Any]:
    """What every page's frame needs: navigation, practice switcher, CSRF token."""
    _, _, sessions = _parts(request)
    token = sessions.token_of(request) or ""
    return {"viewer": viewer, "nav": viewer.pages(QUEUE_SCOPES) if viewer else [],
            "csrf": sessions.csrf_for(token) if token else "", "csrf_field": CSRF_FIELD,
            "path": request.url.path}


def _page(request: Request, viewer: Viewer, template: str, context: Mapping[str, Any], status: int = 200
          ) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {**_chrome(request, viewer), **context},
                                      status_code=status)


def _need(viewer: Viewer, scope: str) -> None:
    if not viewer.may(scope):
        raise NotAllowed()


def _window(services: ReportingServices, start: date | None, end: date | None, as_of: date | None = None,
            default_days: int = 91) -> Window:
    return Window.of(services.clock, as_of, start, end, default_days=default_days)


async def _form(request: Request, bound_to: str | None) -> dict[str, str]:
    """The posted form, once its CSRF token is checked."""
    _, _, sessions = _parts(request)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    sessions.check_csrf(request, bound_to, values.get(CSRF_FIELD))
    return values


# ------------------------------------------------------------------------------------------------ sign-in


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    viewer, _ = await _viewer(request)
    pages = viewer.pages(QUEUE_SCOPES)
    return RedirectResponse(pages[0][0] if pages else "/console/sign-in", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, next: str = "/console") -> Response:
    _, _, sessions = _parts(request)
    nonce = sessions.nonce_of(request)
    response = templates.TemplateResponse(request, "sign_in.html", {
        **_chrome(request, None), "roles": ROLES, "next": _safe_next(next), "error": None, "form": {},
        "csrf": sessions.csrf_for(nonce)})
    sessions.keep_nonce(response, request, nonce)
    return response


def _safe_next(target: str) -> str:
    return target if target.startswith("/console") and "//" not in target and "\\" not in target else "/console"


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    _, login, sessions = _parts(request)
    form = await _form(request, request.cookies.get(NONCE_COOKIE))
    username, role = form.get("username", "").strip(), form.get("role", "")
    practices = form.get("practice", "").split()
    npi = form.get("npi", "").strip() or None
    error = None
    if not USERNAME.fullmatch(username):
        error = ("username", "User name: letters, digits and _ . @ : + - only.")
    elif role not in ROLES:
        error = ("role", "Choose a role.")
    elif not practices or not all(PRACTICE.fullmatch(p) for p in practices):
        error = ("practice", "Practice: one practice id (several, separated by spaces, for an operator).")
    elif len(practices) > 1 and role not in MANY_PRACTICES:
        error = ("practice", "This role works for one practice.")
    elif role in NEEDS_NPI and (npi is None or not re.fullmatch(r"[12][0-9]{9}", npi)):
        error = ("npi", "A clinician signs in with their NPI (10 digits).")
    answer: Answer | None = None
    if error is None:
        try:
            answer = await login.sign_in(username, role, practices, npi)
        except OwnerUnavailable:
            error = ("username", "The sign-in service does not answer. Try again in a moment.")
        else:
            if not answer.ok:
                error = ("username", f"Sign-in refused: {answer.problem()}")
    if error is not None or answer is None:
        nonce = request.cookies.get(NONCE_COOKIE) or ""
        return templates.TemplateResponse(request, "sign_in.html", {
            **_chrome(request, None), "roles": ROLES, "next": _safe_next(form.get("next", "/console")),
            "error": error, "csrf": sessions.csrf_for(nonce),
            "form": {"username": username, "role": role, "practice": " ".join(practices), "npi": npi or ""}},
            status_code=400)
    response = RedirectResponse(_safe_next(form.get("next", "/console")), status_code=303)
    sessions.start(response, request, answer.body["access_token"], int(answer.body.get("expires_in", 3600)),
                   sorted(practices)[0])
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    _, _, sessions = _parts(request)
    await _form(request, sessions.token_of(request))
    response = RedirectResponse("/console/sign-in", status_code=303)
    sessions.end(response)
    return response


@router.post("/practice")
async def switch_practice(request: Request) -> Response:
    viewer, token = await _viewer(request)
    _, _, sessions = _parts(request)
    form = await _form(request, token)
    practice = form.get("practice", "")
    if practice not in viewer.practices:
        raise NotAllowed()
    target = _safe_next(form.get("next", "/console"))
    response = RedirectResponse(target.split("?")[0], status_code=303)
    sessions.switch_practice(response, request, practice)
    return response


# ------------------------------------------------------------------------------------------------ figures


def _kpi_card(shown: Mapping[str, Any]) -> dict[str, Any]:
    name = shown["kpi"]
    label, about = KPI_LABELS.get(name, (name, ""))
    unit = " days" if name in DAY_KPIS else "%"
    target = shown.get("target")
    goal = None
    if target:
        sign = "≥" if target["direction"] == "at_least" else "≤"
        goal = f"goal {sign} {target['goal']}{unit}, trouble past {target['trouble']}{unit}"
    count_unit = "$" if shown["unit"] == "cents" else shown["unit"]
    if shown["unit"] == "cents":
        counts = f"{cents(shown['numerator'])} of {cents(shown['denominator'])}"
    elif name in DAY_KPIS:
        counts = f"over {shown['denominator']} {'claims' if name == 'submission_lag_days' else 'days'}"
        if name == "days_in_ar":
            counts = f"A/R {cents(shown['numerator'])}"
    else:
        counts = f"{shown['numerator']} of {shown['denominator']} {count_unit}"
    return {"kpi": name, "label": label, "about": about,
            "value": None if shown["value"] is None else f"{Decimal(shown['value']):.1f}{unit}",
            "judgement": shown["judgement"], "judgement_label": JUDGEMENTS.get(shown["judgement"], ""),
            "goal": goal, "counts": counts, "claims": shown["claims"], "base_claims": shown["base_claims"]}


def _trend_points(points: list[dict[str, Any]], kpi: str, period: str) -> list[charts.Point]:
    out = []
    for p in points:
        begins = p["period_start"]
        label = begins.strftime("%b %-d") if period == "week" else begins.strftime("%b %Y")
        raw = p.get(kpi)
        out.append(charts.Point(label, None if raw is None else Decimal(str(raw))))
    return out


@router.get("/kpis", response_class=HTMLResponse)
async def kpi_board(request: Request, services: ServicesDep, start: Annotated[date | None, Query(alias="from")] = None,
                    end: Annotated[date | None, Query(alias="to")] = None, period: str = "week") -> Response:
    viewer, _ = await _viewer(request)
    _need(viewer, "reporting:read")
    period = "month" if period == "month" else "week"
    try:
        window = _window(services, start, end)
    except BadFilter as exc:
        return _page(request, viewer, "message.html", {"title": "Dates", "message": str(exc)}, 422)
    async with services.db.sessions() as session:
        board = await reports.board(session, viewer.practice_id, window, services.rules)
        trend = await reports.trend(session, viewer.practice_id, window, period, services.rules)  # type: ignore[arg-type]
    await _audit(request, services, "kpi_board")
    cards = [_kpi_card(k) for k in board["kpis"]]
    targets = trend["targets"]
    trend_charts = []
    for name in TREND_KPIS:
        target = targets.get(name, {})
        label = KPI_LABELS.get(name, (name, ""))[0]
        trend_charts.append({"kpi": name, "label": label, "svg": charts.trend_chart(
            f"trend-{name}", f"{label} by {period}", _trend_points(trend["points"], name, period),
            goal=Decimal(target["goal"]) if target else None, trouble=Decimal(target["trouble"]) if target else None,
            unit=" days" if name in DAY_KPIS else "%")})
    return _page(request, viewer, "kpis.html", {
        "title": "KPI board", "cards": cards, "trend_charts": trend_charts, "window": window, "period": period,
        "query": urlencode({"from": window.start.isoformat(), "to": window.end.isoformat()})})


async def _claim_rows(services: ReportingServices, practice_id: str, claim_ids: list[str]) -> list[dict[str, Any]]:
    async with services.db.sessions() as session:
        return await views.claim_rows(session, practice_id, claim_ids[:MAX_DRILL_ROWS])


@router.get("/kpis/{kpi}", response_class=HTMLResponse)
async def kpi_claims(request: Request, kpi: str, services: ServicesDep,
                     start: Annotated[date | None, Query(alias="from")] = None,
                     end: Annotated[date | None, Query(alias="to")] = None, show: str = "numerator",
                     by: str | None = None, group: str | None = None) -> Response:
    viewer, _ = await _viewer(request)
    _need(viewer, "reporting:read")
    if kpi not in KPI_LABELS:
        return _page(request, viewer, "message.html", {"title": "No such figure", "message": "Unknown KPI."}, 404)
    window = _window(services, start, end)
    async with services.db.sessions() as session:
        figure = await reports.figure(session, viewer.practice_id, kpi, window, services.rules)
    show = "base" if show == "base" else "numerator"
    ids = figure["base_claim_ids"] if show == "base" else figure["claim_ids"]
    rows = await _claim_rows(services, viewer.practice_id, list(ids))
    if by in DENIAL_DIMENSIONS and group is not None:
        column = DENIAL_DIMENSIONS[by]
        rows = [r for r in rows if (r.get(column) or "(none)") == group]
    await _audit(request, services, "kpi_claims", kpi)
    return _page(request, viewer, "claims.html", {
        "title": KPI_LABELS[kpi][0], "card": _kpi_card(figure), "rows": rows, "show": show, "kpi": kpi,
        "total": len(ids), "visit_ids": figure.get("visit_ids") or [], "window": window, "group": group,
        "query": urlencode({"from": window.start.isoformat(), "to": window.end.isoformat()})})


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
async def claim_detail(request: Request, claim_id: str, services: ServicesDep) -> Response:
    viewer, _ = await _viewer(request)
    if not CLAIM_ID.fullmatch(claim_id):
        return _page(request, viewer, "message.html", {"title": "No such claim", "message": "Not found."}, 404)
    async with services.db.sessions() as session:
        story = await views.claim_story(session, viewer.practice_id, claim_id)
    mine = story is not None and (viewer.reads_reports or (
        viewer.own_figures_only and story["claim"]["clinician_npi"] == viewer.npi))
    if story is None or not mine:
        return _page(request, viewer, "message.html", {
            "title": "No such claim", "message": "There is no such claim in this practice."}, 404)
    await _audit(request, services, "claim", claim_id)
    return _page(request, viewer, "claim.html", {"title": f"Claim {claim_id}", **story,
                                                 "claims_url": viewer.may("claims:read")})


@router.get("/denials", response_class=HTMLResponse)
async def denials(request: Request, services: ServicesDep, by: str = "category",
                  start: Annotated[date | None, Query(alias="from")] = None,
                  end: Annotated[date | None, Query(alias="to")] = None) -> Response:
    viewer, _ = await _viewer(request)
    _need(viewer, "reporting:read")
    by = by if by in DENIAL_DIMENSIONS else "category"
    window = _window(services, start, end)
    async with services.db.sessions() as session:
        found = await reports.denials_by(session, viewer.practice_id, window, by, services.rules)
    await _audit(request, services, "denial_report")
    groups = sorted(found["groups"], key=lambda g: -Decimal(g["denial_rate"] or 0))
    return _page(request, viewer, "denials.html", {
        "title": "Denials", "groups": groups, "by": by, "dimensions": list(DENIAL_DIMENSIONS), "window": window,
        "query": urlencode({"from": window.start.isoformat(), "to": window.end.isoformat()})})


@router.get("/aging", response_class=HTMLResponse)
async def aging(request: Request, services: ServicesDep, by: str = "payer", as_of: Day = None) -> Response:
    viewer, _ = await _viewer(request)
    _need(viewer, "reporting:read")
    by = by if by in ("all", "payer", "program", "clinician") else "payer"
    window = _window(services, None, None, as_of)
    async with services.db.sessions() as session:
        found = await reports.ar_aging(session, viewer.practice_id, window, None if by == "all" else by,
                                       services.rules)
    await _audit(request, services, "ar_aging")
    buckets: list[str] = found["buckets"]
    sides = []
    for owed_by in ("payer", "patient"):
        groups = found[owed_by]
        totals = [(label, sum(int(g["buckets"][label]["cents"]) for g in groups.values())) for label in buckets]
        sides.append({"owed_by": owed_by, "total": sum(c for _, c in totals), "groups": groups,
                      "svg": charts.bucket_bars(f"aging-{owed_by}", f"{owed_by.title()} A/R by age", totals),
                      "totals": totals})
    return _page(request, viewer, "aging.html", {
        "title": "A/R aging", "sides": sides, "buckets": buckets, "by": by, "as_of": window.today,
        "total_cents": found["total_cents"]})


@router.get("/aging/claims", response_class=HTMLResponse)
async def aging_claims(request: Request, services: ServicesDep, owed_by: str, group: str, bucket: str,
                       by: str = "payer", as_of: Day = None) -> Response:
    viewer, _ = await _viewer(request)
    _need(viewer, "reporting:read")
    by = by if by in ("all", "payer", "program", "clinician") else "payer"
    window = _window(services, None, None, as_of)
    async with services.db.sessions() as session:
        found = await reports.ar_aging(session, viewer.practice_id, window, None if by == "all" else by,
                                       services.rules)
    side = found.get(owed_by) if owed_by in ("payer", "patient") else None
    cell = ((side or {}).get(group) or {}).get("buckets", {}).get(bucket) if side is not None else None
    ids = list(dict.fromkeys(cell["claim_ids"])) if cell else []
    rows = await _claim_rows(services, viewer.practice_id, ids)
    await _audit(request, services, "ar_aging_claims")
    return _page(request, viewer, "claims.html", {
        "title": f"{owed_by.title()} A/R {bucket} days: {group}", "card": None, "rows": rows, "total": len(ids),
        "show": "numerator", "kpi": None, "visit_ids": [], "window": window, "group": None, "query": "",
        "note": f"{cents(int(cell['cents']))} in {cell['charges']} items" if cell else None})


def _month(month: str | None, services: ReportingServices) -> date:
    if month and re.fullmatch(r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])", month):
        return date.fromisoformat(f"{month}-01")
    return services.clock.today().replace(day=1)


def _previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def _months_around(day: date) -> tuple[str, str]:
    previous = (day.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    following = (day.replace(day=28) + timedelta(days=4)).strftime("%Y-%m")
    return previous, following


@router.get("/clinicians", response_class=HTMLResponse)
async def clinicians(request: Request, services: ServicesDep, month: str | None = None) -> Response:
    viewer, _ = await _viewer(request)
    if viewer.own_figures_only:
        return RedirectResponse("/console/me" + (f"?month={month}" if month else ""), status_code=303)
    _need(viewer, "reporting:read")
    day = _month(month, services)
    async with services.db.sessions() as session:
        found = await reports.clinician_summary(session, viewer.practice_id, day, _window(services, None, None),
                                                services.rules)
        if month is None and not found["clinicians"]:  # early in a month: last month is what people look at
            day = _previous_month(day)
            found = await reports.clinician_summary(session, viewer.practice_id, day,
                                                    _window(services, None, None), services.rules)
    await _audit(request, services, "clinician_summary")
    rows = found["clinicians"]
    totals = {k: sum(int(r[k]) for r in rows) for k in ("sessions", "billed_cents", "paid_cents", "in_ar_cents")}
    previous, following = _months_around(day)
    return _page(request, viewer, "clinicians.html", {
        "title": "Clinician summary", "rows": rows, "totals": totals, "month": found["month"],
        "previous": previous, "following": following, "own": False})


@router.get("/me", response_class=HTMLResponse)
async def my_figures(request: Request, services: ServicesDep, month: str | None = None) -> Response:
    viewer, _ = await _viewer(request)
    _need(viewer, "reporting:own")
    if viewer.npi is None:
        raise NotAllowed()
    day = _month(month, services)
    async with services.db.sessions() as session:
        found = await reports.own_summary(session, viewer.practice_id, viewer.npi, day,
                                          _window(services, None, None), services.rules)
        if month is None and not found["clinician"]["sessions"]:
            day = _previous_month(day)
            found = await reports.own_summary(session, viewer.practice_id, viewer.npi, day,
                                              _window(services, None, None), services.rules)
        rows = await views.claim_rows(session, viewer.practice_id, found["clinician"]["claim_ids"][:MAX_DRILL_ROWS])
    await _audit(request, services, "clinician_summary", viewer.npi)
    previous, following = _months_around(day)
    mine = found["clinician"]
    return _page(request, viewer, "clinicians.html", {
        "title": "My figures", "rows": [mine], "totals": None, "month": found["month"], "previous": previous,
        "following": following, "own": True, "claims": rows})


# ------------------------------------------------------------------------------------------------ queues


def _routing_of(viewer: Viewer) -> str | None:
    """The denial routing a role works (remittance routes to billing, senior or the clinical liaison)."""
    return DENIAL_QUEUE_OF_ROLE.get(viewer.role)


def _queue_label(name: str) -> str:
    return KERNEL_QUEUE_LABELS.get(name) or name.replace("_", " ").replace("-", " ").capitalize()


def _readable_queues(viewer: Viewer) -> list[QueueSpec]:
    return [q for q in QUEUES if viewer.may(q.read_scope)]


@router.get("/queues", response_class=HTMLResponse)
async def queues(request: Request, services: ServicesDep) -> Response:
    viewer, token = await _viewer(request)
    owners, _, _ = _parts(request)
    readable_services = [s for s, scope in SERVICE_READ_SCOPES.items() if viewer.may(scope)]
    if not readable_services:
        raise NotAllowed()
    moved = await owners.moved_services(token, viewer.practice_id, readable_services)
    rows: list[dict[str, Any]] = []
    for service, kernel_queues in moved.items():
        active = {q.queue: q.active for q in kernel_queues}
        known = [name for name, (owner, _, _) in KERNEL_QUEUES.items() if owner == service]
        for name in [*known, *sorted(set(active) - set(known))]:  # the service's queues, empty ones too
            about = KERNEL_QUEUES[name][2] if name in KERNEL_QUEUES else "On the shared work-item kernel"
            rows.append({"key": f"kernel:{service}:{name}", "label": _queue_label(name), "service": service,
                         "count": active.get(name, 0), "about": about, "error": None})
    own_shape = [q for q in _readable_queues(viewer) if q.service not in moved]
    answers = await asyncio.gather(*(_safe_items(owners, q, token, viewer.practice_id, {}) for q in own_shape))
    for spec, answer in zip(own_shape, answers, strict=True):
        count = len(answer.body) if answer.ok and isinstance(answer.body, list) else None
        rows.append({"key": spec.key, "label": spec.label, "service": spec.service, "count": count,
                     "about": spec.about, "error": None if answer.ok else answer.problem()})
    return _page(request, viewer, "queues.html", {"title": "Work queues", "queues": rows})


async def _safe_items(owners: OwnerServices, spec: QueueSpec, token: str, practice: str,
                      filters: Mapping[str, str]) -> Answer:
    try:
        return await owners.queue_items(spec, token, practice, filters)
    except OwnerUnavailable:
        return Answer(503, {"title": f"{spec.service} does not answer"})


def _cell(value: Any, money: bool) -> str:
    if value is None or value == "":
        return "—"
    if money:
        return amount(value)
    if isinstance(value, list):
        parts = [(v.get("message") or v.get("code") or v.get("rule") or "") if isinstance(v, dict) else str(v)
                 for v in value]
        return "; ".join(p for p in parts if p) or "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if UUID.fullmatch(text):
        return text[:8]  # as the demo and the CLI show ids; the full id is in the action's outcome
    if re.fullmatch(r"[a-z]+(_[a-z]+)+", text):
        return text.replace("_", " ")  # a category or routing name (documentation_medical_necessity)
    return text[:19].replace("T", " ") if re.fullmatch(r"\d{4}-\d\d-\d\dT.*", text) else text[:160]


@router.get("/queues/{key}", response_class=HTMLResponse)
async def queue(request: Request, key: str, services: ServicesDep) -> Response:
    viewer, token = await _viewer(request)
    owners, _, _ = _parts(request)
    params = {k: v for k, v in request.query_params.items() if k not in ("notice", "error")}
    notice, problem = request.query_params.get("notice"), request.query_params.get("error")
    if key.startswith("kernel:"):
        return await _kernel_queue(request, viewer, token, owners, key, params, notice, problem)
    spec = next((q for q in QUEUES if q.key == key), None)
    if spec is None or not viewer.may(spec.read_scope):
        return _page(request, viewer, "message.html", {"title": "No such queue", "message": "Not found."}, 404)
    answer = await _safe_items(owners, spec, token, viewer.practice_id, params)
    items = answer.body if answer.ok and isinstance(answer.body, list) else []
    rows = [{"id": str(i.get(spec.id_field, "")), "claim_id": i.get("claim_id") if spec.reported else None,
             "cells": [_cell(i.get(f), h.endswith("$")) for f, h in spec.columns], "version": None}
            for i in items]
    actions = [a for a in spec.actions if viewer.may(a.scope)]
    return _page(request, viewer, "queue.html", {
        "title": spec.label, "spec_key": spec.key, "about": spec.about, "service": spec.service,
        "headings": [h.rstrip(" $") for _, h in spec.columns], "rows": rows, "actions": actions,
        "filters": [(name, label, params.get(name, "")) for name, label in spec.filters], "kernel": False,
        "choices": spec.choices, "mine": _routing_of(viewer) if spec.key == "denials" else None,
        "error": None if answer.ok else answer.problem(), "notice": notice, "problem": problem,
        "reads_reports": viewer.reads_reports})


async def _kernel_queue(request: Request, viewer: Viewer, token: str, owners: OwnerServices, key: str,
                        params: dict[str, str], notice: str | None, problem: str | None) -> Response:
    _, service, name = (key.split(":", 2) + ["", ""])[:3]
    if service not in SERVICE_READ_SCOPES or not viewer.may(SERVICE_READ_SCOPES[service]):
        return _page(request, viewer, "message.html", {"title": "No such queue", "message": "Not found."}, 404)
    query: list[tuple[str, str]] = [("queue", name)]
    query += [(k, params[k]) for k, _ in KERNEL_FILTERS if params.get(k)]
    if params.get("state") in KERNEL_STATES:
        query.append(("state", params["state"]))
    sort = params.get("sort", "priority")
    query.append(("sort", sort if sort in KERNEL_SORTS else "priority"))
    try:
        answer = await owners.kernel_items(service, token, viewer.practice_id, query)
    except OwnerUnavailable:
        answer = Answer(503, {"title": f"{service} does not answer"})
    items = answer.body.get("items", []) if answer.ok and isinstance(answer.body, dict) else []
    # A service may still list a queue in its own shape (eligibility's GET /v1/work-items): read what is there.
    rows = [{"id": i["item_id"], "claim_id": i.get("subject_id") if i.get("subject_type") == "claim"
             and name in REPORTED_QUEUES else None,
             "version": i.get("version"), "state": i.get("state") or i.get("status"),
             "cells": [_cell(i.get("summary") or i.get("next_action") or i.get("kind"), False),
                       _cell(i.get("state") or i.get("status"), False), _cell(i.get("priority"), False),
                       _cell(i.get("payer_id"), False), _cell(i.get("clinician_npi"), False),
                       _cell(i.get("amount"), True), _cell(i.get("due_on"), False), _cell(i.get("age_days"), False),
                       _cell(i.get("assignee"), False)]} for i in items]
    return _page(request, viewer, "queue.html", {
        "title": _queue_label(name), "spec_key": key,
        "about": f"Worked through {service}'s work-item API", "service": service,
        "headings": ["Item", "State", "Priority", "Payer", "Clinician", "Amount", "Due", "Age (days)", "Assignee"],
        "rows": rows, "actions": [], "kernel": viewer.may(SERVICE_WRITE_SCOPES[service]),
        "filters": [(k, label, params.get(k, "")) for k, label in KERNEL_FILTERS],
        "states": KERNEL_STATES, "state": params.get("state", ""), "sorts": KERNEL_SORTS,
        "resolutions": KERNEL_RESOLUTIONS.get(name, ()),
        "sort": params.get("sort", "priority"), "error": None if answer.ok else answer.problem(), "notice": notice,
        "choices": {}, "mine": None,
        "problem": problem, "reads_reports": viewer.reads_reports})


@router.post("/queues/{key}/items/{item_id}")
async def act(request: Request, key: str, item_id: str) -> Response:
    viewer, token = await _viewer(request)
    owners, _, _ = _parts(request)
    form = await _form(request, token)
    back = f"/console/queues/{key}"
    if not ITEM_ID.fullmatch(item_id):
        return RedirectResponse(f"{back}?{urlencode({'error': 'Not a work item id.'})}", status_code=303)
    if key.startswith("kernel:"):
        _, service, _ = (key.split(":", 2) + ["", ""])[:3]
        if service not in SERVICE_WRITE_SCOPES:
            raise NotAllowed()
        body: dict[str, Any] = {"action": form.get("action", "")}
        if body["action"] == "assign":
            body["assignee"] = viewer.subject
        for name in ("waiting_on", "resolution_code", "note"):
            if form.get(name):
                body[name] = form[name]
        if form.get("version", "").isdigit():
            body["version"] = int(form["version"])
        answer = await owners.kernel_act(service, item_id, token, viewer.practice_id, body)
        done = (f"{KERNEL_DONE.get(body['action'], body['action'])} {item_id[:8]} (now "
                f"{str(answer.body.get('state')).replace('_', ' ')})") if answer.ok and isinstance(
            answer.body, dict) else None
    else:
        spec = next((q for q in QUEUES if q.key == key), None)
        action = next((a for a in spec.actions if a.key == form.get("action")), None) if spec else None
        if spec is None or action is None:
            return RedirectResponse(f"{back}?{urlencode({'error': 'No such action.'})}", status_code=303)
        try:
            answer = await owners.queue_act(spec, action, item_id, token, viewer.practice_id, form)
        except OwnerUnavailable:
            answer = Answer(503, {"title": f"{spec.service} does not answer"})
        status = answer.body.get("status") if answer.ok and isinstance(answer.body, dict) else None
        done = f"{action.label}: {item_id}" + (f" is now {status}" if status else " done") if answer.ok else None
    if done is not None:
        return RedirectResponse(f"{back}?{urlencode({'notice': done})}", status_code=303)
    return RedirectResponse(f"{back}?{urlencode({'error': answer.problem()[:300]})}", status_code=303)


def build_console(app: FastAPI, services: ReportingServices) -> None:
    """Wire the console into reporting's app (bootstrap calls this): the owners' URLs, the issuer, the cookies."""
    settings = services.settings
    secret = settings.console_secret.get_secret_value().encode() if settings.console_secret else None
    token_url = settings.console_token_url or f"{settings.jwt_issuer.rstrip('/')}/token"
    install_console(app, services, OwnerServices(settings.service_urls), IssuerLogin(token_url),
                    ConsoleSessions(secret, settings.console_secure_cookies))

