"""The read use cases: the KPI board, one figure opened down to its claims, trends, A/R aging, denials by
dimension, the clinician monthly summary. Each loads the practice's rows (views), hands them to the pure KPI
functions (domain/kpi.py) with the rules in force on the day asked about, and shapes the answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from rcm_shared.clock import Clock
from sqlalchemy.ext.asyncio import AsyncSession

from reporting.domain import kpi
from reporting.domain.exceptions import BadFilter
from reporting.domain.facts import ClaimFact, FactRules, as_of, claim_fact
from reporting.domain.patient_ar import OpenCharge, apply_payments
from reporting.domain.patient_ar import as_of as ledger_as_of
from reporting.domain.targets import Measurement, ReportingRules
from reporting.service_layer import views

MAX_PERIOD_DAYS = 3 * 366
MAX_TREND_POINTS = 160


@dataclass(frozen=True)
class Window:
    """The dates of service a report covers, and the day it is measured on (``today``). A day before the clock's
    (``historical``): every claim and the patient ledger are taken back to what they were at its end."""

    start: date
    end: date
    today: date
    historical: bool = False
    day_of: Callable[[datetime], date] | None = None

    @classmethod
    def of(cls, clock: Clock, as_of: date | None, start: date | None, end: date | None, *,
           default_days: int = 90) -> Window:
        today = as_of or clock.today()
        end = end or today
        start = start or end - timedelta(days=default_days - 1)
        if start > end:
            raise BadFilter("from", "must not be after 'to'")
        if (end - start).days >= MAX_PERIOD_DAYS:
            raise BadFilter("from", f"a report covers at most {MAX_PERIOD_DAYS} days")
        return cls(start, end, today, today < clock.today(), clock.date_at)


@dataclass(frozen=True)
class PracticeBook:
    """Everything a report of one practice computes from, loaded once."""

    facts: list[ClaimFact]
    patient: list[OpenCharge]

    @property
    def collected(self) -> dict[str, int]:
        return kpi.patient_collected_by_claim(self.patient)


async def _book(session: AsyncSession, practice_id: str, window: Window, rules: ReportingRules) -> PracticeBook:
    """The practice's claim rows and open patient charges; as they stood at the end of a past day when asked."""
    charges, money = await views.patient_ledger(session, practice_id)
    if not window.historical:
        return PracticeBook(await views.claim_facts_of(session, practice_id), apply_payments(charges, money))
    assert window.day_of is not None
    fact_rules = FactRules(rules.measurement_on(window.today).clean_first_outcomes)
    facts = [claim_fact(as_of(h, window.today, window.day_of), fact_rules)
             for h in await views.claim_histories(session, practice_id)]
    return PracticeBook(facts, apply_payments(*ledger_as_of(charges, money, window.today)))


@dataclass(frozen=True)
class FrontEnd:
    """What the front-end KPIs read besides the claims: authorizations' answers, insured visits, coverage checks."""

    determined: list[kpi.DeterminedVisit]
    visits: list[kpi.InsuredVisit]
    checks: list[kpi.CoverageCheck]


async def _front_end(session: AsyncSession, practice_id: str, window: Window, measurement: Measurement) -> FrontEnd:
    earliest = window.start - timedelta(days=measurement.eligibility_verified_within_days)
    return FrontEnd(await views.determined_visits(session, practice_id),
                    await views.insured_visits(session, practice_id, window.start, window.end),
                    await views.coverage_checks(session, practice_id, earliest, window.end))


def _figures(book: PracticeBook, window: Window, measurement: Measurement, front: FrontEnd) -> list[kpi.Figure]:
    cohort = kpi.in_period(book.facts, window.start, window.end)
    items = kpi.ar_items(book.facts, book.patient)
    return [
        kpi.first_pass_clean_rate(cohort),
        kpi.denial_rate(cohort),
        kpi.denial_rate(cohort, categories=measurement.coding_categories, kpi="coding_denial_rate"),
        kpi.days_in_ar(items, book.facts, window.today, measurement.days_in_ar_window_days),
        kpi.ar_over_share(items, window.today, measurement.over_days),
        kpi.net_collection_rate(cohort, book.collected),
        kpi.uninterrupted_coverage([d for d in front.determined if window.start <= d.date_of_service <= window.end],
                                   measurement.episode_gap_days),
        kpi.submission_lag(cohort),
        kpi.held_before_submission_rate(cohort),
        kpi.eligibility_verified(front.visits, front.checks, measurement.eligibility_verified_within_days,
                                 {f.visit_id: f.claim_id for f in book.facts
                                  if f.visit_id is not None and f.status != "corrected"}),
    ]


def _shown(figure: kpi.Figure, rules: ReportingRules, today: date) -> dict[str, Any]:
    target = rules.targets_on(today).get(figure.kpi)
    return {
        "kpi": figure.kpi, "value": None if figure.value is None else str(figure.value), "unit": figure.unit,
        "numerator": figure.numerator, "denominator": figure.denominator,
        "target": None if target is None else {"direction": target.direction, "goal": str(target.goal),
                                               "trouble": str(target.trouble), "source": target.source},
        "judgement": "no_target" if target is None else target.judge(figure.value),
        "claims": len(figure.claim_ids), "base_claims": len(figure.base_claim_ids),
        # visit ids stay behind the drill-down (GET /v1/kpis/{kpi}/claims); the board shows how many
        "detail": {(k.removesuffix("_ids") + "s" if k.endswith("_visit_ids") else k):
                   (len(v) if k.endswith("_visit_ids") else v)  # type: ignore[arg-type]
                   for k, v in figure.detail.items()},
    }


def _period(window: Window) -> dict[str, Any]:
    return {"from": window.start, "to": window.end, "as_of": window.today}


async def board(session: AsyncSession, practice_id: str, window: Window, rules: ReportingRules) -> dict[str, Any]:
    """Every KPI with its target, judgement and counts (claims behind each: ``figure``)."""
    measurement = rules.measurement_on(window.today)
    book = await _book(session, practice_id, window, rules)
    figures = _figures(book, window, measurement, await _front_end(session, practice_id, window, measurement))
    return {**_period(window), "rules_versions": dict(rules.versions),
            "kpis": [_shown(f, rules, window.today) for f in figures]}


async def figure(session: AsyncSession, practice_id: str, name: str, window: Window, rules: ReportingRules
                 ) -> dict[str, Any]:
    """One KPI opened: the ids of the claims behind its numerator and its base (an episode KPI names visits)."""
    measurement = rules.measurement_on(window.today)
    book = await _book(session, practice_id, window, rules)
    found = {f.kpi: f for f in _figures(book, window, measurement,
                                        await _front_end(session, practice_id, window, measurement))}
    if name not in found:
        raise BadFilter("kpi", f"unknown KPI (one of {', '.join(sorted(found))})")
    f = found[name]
    return {**_period(window), **_shown(f, rules, window.today), "claim_ids": list(f.claim_ids),
            "base_claim_ids": list(f.base_claim_ids),
            "visit_ids": list(f.detail.get("interrupted_visit_ids") or f.detail.get(  # type: ignore[call-overload]
                "unverified_visit_ids") or ())}


async def trend(session: AsyncSession, practice_id: str, window: Window, period: kpi.Period,
                rules: ReportingRules) -> dict[str, Any]:
    """The rate KPIs per week or month of date of service (a cohort each), and A/R (days in A/R, the share over
    60 days) as it stood at the end of each period (or today, for the period running)."""
    if len(kpi.periods(window.start, window.end, period)) > MAX_TREND_POINTS:
        raise BadFilter("period", f"at most {MAX_TREND_POINTS} {period}s in one trend")
    measurement = rules.measurement_on(window.today)
    book = await _book(session, practice_id, window, rules)
    targets = {name: {"goal": str(t.goal), "trouble": str(t.trouble), "direction": t.direction}
               for name, t in rules.targets_on(window.today).items()}
    points = kpi.trend(book.facts, book.collected, window.start, window.end, period, measurement)
    histories = await views.claim_histories(session, practice_id)
    charges, money = await views.patient_ledger(session, practice_id)
    assert window.day_of is not None
    settled = kpi.settled_facts(histories, window.day_of, measurement)  # computed once for every point
    for point in points:
        begins = point["period_start"]
        assert isinstance(begins, date)
        day = min(kpi.period_end(begins, period), window.today)
        assert window.day_of is not None
        days, over = kpi.ar_as_of(histories, charges, money, day, window.day_of, measurement, settled)
        point.update({"ar_as_of": day, "days_in_ar": None if days.value is None else str(days.value),
                      "ar_over_60_share": None if over.value is None else str(over.value),
                      "ar_cents": over.denominator})
    return {**_period(window), "period": period, "targets": targets, "points": points}


async def denials_by(session: AsyncSession, practice_id: str, window: Window, dimension: str,
                     rules: ReportingRules) -> dict[str, Any]:
    book = await _book(session, practice_id, window, rules)
    rows = kpi.denial_rate_by(kpi.in_period(book.facts, window.start, window.end), dimension)
    target = rules.targets_on(window.today).get("denial_rate")
    return {**_period(window), "by": dimension, "groups": [
        {"group": group, "denial_rate": None if f.value is None else str(f.value), "denied": f.numerator,
         "adjudicated": f.denominator, "judgement": target.judge(f.value) if target else "no_target",
         "claim_ids": list(f.claim_ids)} for group, f in rows.items()]}


async def ar_aging(session: AsyncSession, practice_id: str, window: Window, by: str | None,
                   rules: ReportingRules) -> dict[str, Any]:
    today = window.today
    measurement = rules.measurement_on(today)
    book = await _book(session, practice_id, window, rules)
    items = kpi.ar_items(book.facts, book.patient)
    return {"as_of": today, "by": by or "all", "buckets": [b.label for b in measurement.aging_buckets],
            "total_cents": sum(i.cents for i in items), **kpi.aging(items, today, measurement, by)}


async def clinician_summary(session: AsyncSession, practice_id: str, month: date, window: Window,
                            rules: ReportingRules) -> dict[str, Any]:
    first = month.replace(day=1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    book = await _book(session, practice_id, window, rules)
    sessions = await views.sessions_between(session, practice_id, first, last)
    rows = kpi.clinician_summary(sessions, book.facts, book.patient, first)
    return {"month": first.strftime("%Y-%m"), "clinicians": [{"clinician_npi": npi, **row}
                                                             for npi, row in rows.items()]}


async def own_summary(session: AsyncSession, practice_id: str, npi: str, month: date, window: Window,
                      rules: ReportingRules) -> dict[str, Any]:
    """One clinician's row of the monthly summary (zeros when they saw no one), and nobody else's."""
    summary = await clinician_summary(session, practice_id, month, window, rules)
    mine = next((row for row in summary["clinicians"] if row["clinician_npi"] == npi),
                {"clinician_npi": npi, "sessions": 0, "billed_cents": 0, "paid_cents": 0, "in_ar_cents": 0,
                 "claim_ids": []})
    return {"month": summary["month"], "clinician": mine}


async def claims(session: AsyncSession, practice_id: str, claim_ids: list[str]) -> dict[str, Any]:
    return {"items": await views.claim_rows(session, practice_id, claim_ids)}
