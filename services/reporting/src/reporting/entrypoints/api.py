"""HTTP routes of reporting: parse the filters, call one read use case, answer. Every route needs the
``reporting:read`` scope and answers for the practice of the token (X-Practice-Id picks one of a billing
company's practices); every read is audited (who looked at which practice's figures, and who was refused).
Refusals become problem+json in one place (``bootstrap.DOMAIN_ERRORS``); a malformed filter is a 422 naming the
query parameter."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from rcm_shared.http.audit import audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.schemas import PlausibleDate

from reporting.domain.targets import KPI_NAMES
from reporting.entrypoints.dependencies import ReportingServices, ServicesDep
from reporting.service_layer import reports
from reporting.service_layer.reports import Window

router = APIRouter(prefix="/v1", tags=["reporting"])
Reader = Annotated[Principal, require_scope("reporting:read")]
OwnReader = Annotated[Principal, require_scope("reporting:own")]
ID = r"^[A-Za-z0-9_.:-]+$"
From = Annotated[PlausibleDate | None, Query(alias="from", description="first date of service (default: 90 days "
                                                                       "before 'to')")]
To = Annotated[PlausibleDate | None, Query(alias="to", description="last date of service (default: today)")]
Month = Annotated[str | None, Query(pattern=r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$",
                                    description="YYYY-MM (default: this month)")]
AsOf = Annotated[PlausibleDate | None, Query(description="the day A/R is measured on (default: today)")]
KpiName = Literal["first_pass_clean_rate", "denial_rate", "coding_denial_rate", "days_in_ar", "ar_over_60_share",
                  "net_collection_rate", "uninterrupted_coverage_rate", "submission_lag_days",
                  "held_before_submission_rate", "eligibility_verified_rate"]
assert set(KpiName.__args__) == set(KPI_NAMES)  # type: ignore[attr-defined]


def _window(services: ReportingServices, start: date | None, end: date | None, as_of: date | None) -> Window:
    return Window.of(services.clock, as_of, start, end)


@router.get("/kpis", dependencies=[audited("kpi_board")],
            summary="The KPI board: every KPI with its target, judgement and counts")
async def kpi_board(principal: Reader, services: ServicesDep, start: From = None, end: To = None,
                    as_of: AsOf = None) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await reports.board(session, principal.practice_id, _window(services, start, end, as_of),
                                   services.rules)


@router.get("/kpis/{kpi}/claims", dependencies=[audited("kpi_claims")],
            summary="One KPI opened down to the claims behind its numerator and its base")
async def kpi_claims(kpi: Annotated[KpiName, Path()], principal: Reader, services: ServicesDep,
                     start: From = None, end: To = None, as_of: AsOf = None) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await reports.figure(session, principal.practice_id, kpi, _window(services, start, end, as_of),
                                    services.rules)


@router.get("/kpis/trend", dependencies=[audited("kpi_trend")],
            summary="The rate KPIs per week or month of date of service, with their targets")
async def kpi_trend(principal: Reader, services: ServicesDep, period: Literal["week", "month"] = "month",
                    start: From = None, end: To = None, as_of: AsOf = None) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await reports.trend(session, principal.practice_id, _window(services, start, end, as_of), period,
                                   services.rules)


@router.get("/denials", dependencies=[audited("denial_report")],
            summary="Denial rate by category, payer, CPT, clinician or program, with the claims denied")
async def denials(principal: Reader, services: ServicesDep,
                  by: Literal["category", "payer", "cpt", "clinician", "program"] = "category",
                  start: From = None, end: To = None, as_of: AsOf = None) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await reports.denials_by(session, principal.practice_id, _window(services, start, end, as_of), by,
                                        services.rules)


@router.get("/ar-aging", dependencies=[audited("ar_aging")],
            summary="A/R aging split payer vs patient, by payer, program or clinician, with the claims in each bucket")
async def ar_aging(principal: Reader, services: ServicesDep,
                   by: Literal["all", "payer", "program", "clinician"] = "all", as_of: AsOf = None
                   ) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await reports.ar_aging(session, principal.practice_id, _window(services, None, None, as_of),
                                      None if by == "all" else by, services.rules)


@router.get("/clinician-summary", dependencies=[audited("clinician_summary")],
            summary="Per clinician for a month: sessions delivered, billed, paid, still in A/R")
async def clinician_summary(principal: Reader, services: ServicesDep,
                            month: Month = None) -> dict[str, Any]:
    day = date.fromisoformat(f"{month}-01") if month else services.clock.today()
    async with services.db.sessions() as session:
        return await reports.clinician_summary(session, principal.practice_id, day,
                                               _window(services, None, None, None), services.rules)


@router.get("/my-figures", dependencies=[audited("clinician_summary")],
            summary="A clinician's own month (scope reporting:own, the token's npi): sessions, billed, paid, in A/R; "
                    "a token with no npi: none")
async def my_figures(principal: OwnReader, services: ServicesDep, month: Month = None) -> dict[str, Any]:
    day = date.fromisoformat(f"{month}-01") if month else services.clock.today()
    if principal.npi is None:  # a token naming no clinician has no figures of its own, and sees nobody else's
        return {"month": day.strftime("%Y-%m"), "clinician": None}
    async with services.db.sessions() as session:
        return await reports.own_summary(session, principal.practice_id, principal.npi, day,
                                         _window(services, None, None, None), services.rules)


@router.get("/claims", dependencies=[audited("claim_facts", "read")],
            summary="The fact rows of the named claims (what a figure's claim ids open to)")
async def claim_facts(principal: Reader, services: ServicesDep,
                      ids: Annotated[list[Annotated[str, Query(pattern=ID, max_length=64)]],
                                     Query(min_length=1, max_length=500)]) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await reports.claims(session, principal.practice_id, ids)
