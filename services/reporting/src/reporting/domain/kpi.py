"""The KPIs practices steer by (seed 003), computed from the per-claim fact rows: pure functions, no I/O.

Every figure is a :class:`Figure`: its value, the counts (or cents) it is the ratio of, and the claims behind its
numerator and its base, so a person can open any number down to the claims that make it.

Definitions (the thresholds and knobs are data: rules/kpi_targets.yaml, rules/reporting.yaml):

* first-pass clean-claim rate: original claims (frequency 1) whose first pass is decided, the share never
  rejected and paid in full on their first posting;
* denial rate: adjudicated claims (at least one posting), the share denied in whole or in part (a denial raised,
  or a posting with outcome denied), overall and by denial category, payer, CPT, clinician and program;
  coding-related denial rate: the same, for the coding categories;
* days in A/R: A/R today (payer and patient, on claims) over the average daily charges (original claims by date of
  service) of the window before today;
* A/R over 60 days: the share of A/R whose date of service is older than ``over_days``;
* net collection rate: collected (payer paid plus patient payments applied to the claim) over billed less
  contractual adjustments, on adjudicated claims not replaced or voided;
* lag from date of service to submission: days, mean and median, on original claims;
* held before submission: the share of submitted original claims the scrubber held first (worked by hand before
  they could go: the platform's "recoded by hand");
* authorized episodes with uninterrupted coverage: a patient's run of visits needing authorization with one payer
  (cut after ``episode_gap_days`` without one), authorized when one of its visits was covered, uninterrupted when
  none of them lacked a covering authorization (authorizations' latest answer per visit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import median
from typing import Literal

from reporting.domain.facts import ClaimFact, ClaimHistory, FactRules, as_of, claim_fact, last_day
from reporting.domain.patient_ar import OpenCharge, PatientCharge, PatientMoney, apply_payments
from reporting.domain.patient_ar import as_of as ledger_as_of
from reporting.domain.targets import Measurement

Period = Literal["week", "month"]
Dimension = Literal["category", "payer", "cpt", "clinician", "program"]
HUNDRED = Decimal(100)


def percent(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    return (HUNDRED * numerator / denominator).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Figure:
    """A KPI value (None: nothing to measure yet) with what it is made of. ``numerator`` / ``denominator`` are
    counts or cents (``unit`` says which); ``claim_ids`` are the claims behind the numerator, ``base_claim_ids``
    those behind the denominator."""

    kpi: str
    value: Decimal | None
    numerator: int
    denominator: int
    unit: str
    claim_ids: tuple[str, ...] = ()
    base_claim_ids: tuple[str, ...] = ()
    detail: Mapping[str, object] = field(default_factory=dict)


def _ids(facts: Iterable[ClaimFact]) -> tuple[str, ...]:
    return tuple(sorted(f.claim_id for f in facts))


def in_period(facts: Iterable[ClaimFact], start: date, end: date) -> list[ClaimFact]:
    """Claims with a date of service in [start, end]."""
    return [f for f in facts if f.date_of_service is not None and start <= f.date_of_service <= end]


# ------------------------------------------------------------------------------------------------ rates


def first_pass_clean_rate(facts: Iterable[ClaimFact]) -> Figure:
    base = [f for f in facts if f.original and f.first_pass_clean is not None]
    clean = [f for f in base if f.first_pass_clean]
    return Figure("first_pass_clean_rate", percent(len(clean), len(base)), len(clean), len(base), "claims",
                  _ids(clean), _ids(base))


def denial_rate(facts: Iterable[ClaimFact], *, categories: frozenset[str] | None = None,
                kpi: str = "denial_rate") -> Figure:
    """Share of adjudicated claims denied (in ``categories`` only, when given)."""
    base = [f for f in facts if f.adjudicated]
    denied = [f for f in base if f.denied and (categories is None or f.denial_category in categories)]
    return Figure(kpi, percent(len(denied), len(base)), len(denied), len(base), "claims", _ids(denied), _ids(base))


DIMENSIONS: Mapping[str, Callable[[ClaimFact], str | None]] = {
    "payer": lambda f: f.payer_id,
    "cpt": lambda f: f.cpt_code,
    "clinician": lambda f: f.clinician_npi,
    "program": lambda f: f.program,
    "category": lambda f: f.denial_category,
}


def denial_rate_by(facts: Iterable[ClaimFact], dimension: str) -> dict[str, Figure]:
    """Denial rate per value of ``dimension``. By category, the base is every adjudicated claim (the share of all
    claims denied for that reason); by the others, the adjudicated claims of that payer, code, clinician or
    program. A missing value (no program on the visit) is reported as "(none)"."""
    key = DIMENSIONS[dimension]
    adjudicated = [f for f in facts if f.adjudicated]
    if dimension == "category":
        cats = sorted({f.denial_category for f in adjudicated if f.denied and f.denial_category})
        return {c: denial_rate(adjudicated, categories=frozenset({c})) for c in cats}
    groups: dict[str, list[ClaimFact]] = {}
    for f in adjudicated:
        groups.setdefault(key(f) or "(none)", []).append(f)
    return {g: denial_rate(items) for g, items in sorted(groups.items())}


def net_collection_rate(facts: Iterable[ClaimFact], patient_collected: Mapping[str, int]) -> Figure:
    base = [f for f in facts if f.adjudicated and f.status not in ("corrected", "voided")]
    collected = sum(f.paid_cents + patient_collected.get(f.claim_id, 0) for f in base)
    collectible = sum(f.billed_cents - f.adjusted_cents for f in base)
    value = percent(collected, collectible) if collectible > 0 else None
    return Figure("net_collection_rate", value, collected, collectible, "cents", _ids(base), _ids(base))


def submission_lag(facts: Iterable[ClaimFact]) -> Figure:
    base = [f for f in facts if f.original and f.submitted_on is not None and f.date_of_service is not None]
    lags = [(f.submitted_on - f.date_of_service).days for f in base]  # type: ignore[operator]
    mean = (Decimal(sum(lags)) / len(lags)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if lags else None
    detail = {"median_days": str(Decimal(median(lags)).quantize(Decimal("0.1"))) if lags else None,
              "max_days": max(lags) if lags else None}
    return Figure("submission_lag_days", mean, sum(lags), len(lags), "days", _ids(base), _ids(base), detail)


def held_before_submission_rate(facts: Iterable[ClaimFact]) -> Figure:
    base = [f for f in facts if f.original and f.submitted_on is not None]
    held = [f for f in base if f.held_before_submission]
    return Figure("held_before_submission_rate", percent(len(held), len(base)), len(held), len(base), "claims",
                  _ids(held), _ids(base))


# ------------------------------------------------------------------------------------------------ A/R


@dataclass(frozen=True, slots=True)
class ArItem:
    """One open amount: a claim's payer balance or its patient share, or a self-pay charge (no claim)."""

    owed_by: Literal["payer", "patient"]
    claim_id: str | None
    charge_id: str
    payer_id: str | None
    program: str | None
    clinician_npi: str | None
    dated: date
    cents: int


def ar_items(facts: Iterable[ClaimFact], patient_open: Iterable[OpenCharge]) -> list[ArItem]:
    by_id = {f.claim_id: f for f in facts}
    items = [ArItem("payer", f.claim_id, f.claim_id, f.payer_id, f.program, f.clinician_npi, f.date_of_service,
                    f.payer_open_cents)
             for f in by_id.values() if f.payer_open_cents > 0 and f.date_of_service is not None]
    for oc in patient_open:
        if oc.open_cents <= 0:
            continue
        fact = by_id.get(oc.charge.claim_id) if oc.charge.claim_id else None
        items.append(ArItem(
            "patient", oc.charge.claim_id, oc.charge.charge_id, fact.payer_id if fact else None,
            fact.program if fact else None, fact.clinician_npi if fact else None,
            fact.date_of_service if fact and fact.date_of_service else oc.charge.charged_on, oc.open_cents))
    return items


def _claims_of(items: Iterable[ArItem]) -> tuple[str, ...]:
    return tuple(sorted({i.claim_id for i in items if i.claim_id}))


def ar_over_share(items: Sequence[ArItem], today: date, over_days: int) -> Figure:
    old = [i for i in items if (today - i.dated).days > over_days]
    total, old_cents = sum(i.cents for i in items), sum(i.cents for i in old)
    value = percent(old_cents, total) if total > 0 else None
    return Figure("ar_over_60_share", value, old_cents, total, "cents", _claims_of(old), _claims_of(items),
                  {"over_days": over_days})


def days_in_ar(items: Sequence[ArItem], facts: Iterable[ClaimFact], today: date, window_days: int) -> Figure:
    """A/R on claims over the average daily charges of original claims with a date of service in the window."""
    on_claims = [i for i in items if i.claim_id is not None]
    ar = sum(i.cents for i in on_claims)
    start = today - timedelta(days=window_days - 1)
    charged = [f for f in facts if f.original and f.date_of_service is not None
               and start <= f.date_of_service <= today]
    charges = sum(f.billed_cents for f in charged)
    value = None
    if charges > 0:
        value = (Decimal(ar) * window_days / charges).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return Figure("days_in_ar", value, ar, charges, "cents", _claims_of(on_claims), _ids(charged),
                  {"window_days": window_days, "average_daily_charges": str(
                      (Decimal(charges) / window_days / 100).quantize(Decimal("0.01")))})


def aging(items: Iterable[ArItem], today: date, measurement: Measurement, by: str | None = None
          ) -> dict[str, dict[str, dict[str, object]]]:
    """A/R by owed_by (payer / patient), then by group (``by``: payer, program, clinician; None: all), then by
    bucket: cents and the claims in it (a self-pay charge has no claim; its charge id is counted instead)."""
    out: dict[str, dict[str, dict[str, object]]] = {"payer": {}, "patient": {}}
    labels = [b.label for b in measurement.aging_buckets]
    for item in sorted(items, key=lambda i: i.charge_id):
        group = "all" if by is None else ({"payer": item.payer_id, "program": item.program,
                                           "clinician": item.clinician_npi}[by] or "(none)")
        row = out[item.owed_by].setdefault(group, {"total_cents": 0, "buckets": {
            label: {"cents": 0, "claim_ids": [], "charges": 0} for label in labels}})
        bucket = row["buckets"][measurement.bucket(max(0, (today - item.dated).days))]  # type: ignore[index]
        bucket["cents"] += item.cents
        bucket["charges"] += 1
        if item.claim_id:
            bucket["claim_ids"].append(item.claim_id)
        row["total_cents"] = int(row["total_cents"]) + item.cents  # type: ignore[call-overload]
    return out


# ------------------------------------------------------------------------------------------------ trends


def period_start(day: date, period: Period) -> date:
    return day - timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)


def periods(start: date, end: date, period: Period) -> list[date]:
    out, cursor = [], period_start(start, period)
    while cursor <= end:
        out.append(cursor)
        cursor = cursor + timedelta(days=7) if period == "week" else (cursor.replace(day=28) + timedelta(days=4)
                                                                      ).replace(day=1)
    return out


def trend(facts: Iterable[ClaimFact], patient_collected: Mapping[str, int], start: date, end: date,
          period: Period, measurement: Measurement) -> list[dict[str, object]]:
    """The rate KPIs per week or month of date of service (the claims of that period: a cohort)."""
    groups: dict[date, list[ClaimFact]] = {p: [] for p in periods(start, end, period)}
    for f in in_period(facts, start, end):
        assert f.date_of_service is not None
        groups[period_start(f.date_of_service, period)].append(f)
    rows: list[dict[str, object]] = []
    for begins, cohort in groups.items():
        figures = [first_pass_clean_rate(cohort), denial_rate(cohort),
                   denial_rate(cohort, categories=measurement.coding_categories, kpi="coding_denial_rate"),
                   net_collection_rate(cohort, patient_collected), submission_lag(cohort),
                   held_before_submission_rate(cohort)]
        rows.append({"period_start": begins, "claims": len(cohort),
                     **{f.kpi: None if f.value is None else str(f.value) for f in figures}})
    return rows


def period_end(begins: date, period: Period) -> date:
    if period == "week":
        return begins + timedelta(days=6)
    return (begins.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def settled_facts(histories: Iterable[ClaimHistory], day_of: Callable[[datetime], date], measurement: Measurement
                  ) -> dict[str, tuple[date | None, ClaimFact]]:
    """Each claim's fact row from its whole history, with the day of its latest fact: on any day from then on the
    claim stood as it stands now, so a trend of A/R takes it back only to days before that."""
    rules = FactRules(measurement.clean_first_outcomes)
    return {h.claim_id: (last_day(h, day_of), claim_fact(h, rules)) for h in histories}


def ar_as_of(histories: Sequence[ClaimHistory], charges: Sequence[PatientCharge], money: Sequence[PatientMoney],
             day: date, day_of: Callable[[datetime], date], measurement: Measurement,
             settled: Mapping[str, tuple[date | None, ClaimFact]] | None = None) -> tuple[Figure, Figure]:
    """Days in A/R and the share of A/R over ``over_days`` at the end of ``day``: every claim and the patient
    ledger taken back to what they were that day (a trend of A/R needs no snapshots). ``settled``
    (:func:`settled_facts`): claims with nothing after ``day`` are taken as they are, not recomputed."""
    rules = FactRules(measurement.clean_first_outcomes)

    def fact_on(h: ClaimHistory) -> ClaimFact:
        known = settled.get(h.claim_id) if settled is not None else None
        if known is not None and known[0] is not None and known[0] <= day:
            return known[1]
        return claim_fact(as_of(h, day, day_of), rules)

    facts = [fact_on(h) for h in histories]
    patient = apply_payments(*ledger_as_of(charges, money, day))
    items = ar_items(facts, patient)
    return (days_in_ar(items, facts, day, measurement.days_in_ar_window_days),
            ar_over_share(items, day, measurement.over_days))


# ------------------------------------------------------------------------------------------------ clinicians


@dataclass(frozen=True, slots=True)
class Session:
    visit_id: str
    clinician_npi: str
    date_of_service: date
    voided: bool


def clinician_summary(sessions: Iterable[Session], facts: Iterable[ClaimFact], patient_open: Iterable[OpenCharge],
                      month: date) -> dict[str, dict[str, object]]:
    """Per clinician, for the month of ``month``: sessions delivered (visits, insured or not, not voided), and on
    the claims for that month's visits (a replaced claim counted once, by its replacement): billed, paid (payer
    and patient) and still in A/R (payer and patient), with the claim ids."""
    first = month.replace(day=1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    out: dict[str, dict[str, object]] = {}

    def row(npi: str) -> dict[str, object]:
        return out.setdefault(npi, {"sessions": 0, "billed_cents": 0, "paid_cents": 0, "in_ar_cents": 0,
                                    "claim_ids": []})

    for s in sessions:
        if not s.voided and first <= s.date_of_service <= last:
            r = row(s.clinician_npi)
            r["sessions"] = int(r["sessions"]) + 1  # type: ignore[call-overload]
    collected: dict[str, int] = {}
    still_open: dict[str, int] = {}
    for oc in patient_open:
        if oc.charge.claim_id:
            collected[oc.charge.claim_id] = collected.get(oc.charge.claim_id, 0) + oc.collected_cents
            still_open[oc.charge.claim_id] = still_open.get(oc.charge.claim_id, 0) + oc.open_cents
    for f in sorted(in_period(facts, first, last), key=lambda f: f.claim_id):
        if f.status in ("corrected",) or f.clinician_npi is None or f.submitted_on is None:
            continue
        r = row(f.clinician_npi)
        r["billed_cents"] = int(r["billed_cents"]) + f.billed_cents  # type: ignore[call-overload]
        r["paid_cents"] = int(r["paid_cents"]) + f.paid_cents + collected.get(f.claim_id, 0)  # type: ignore[call-overload]
        r["in_ar_cents"] = (int(r["in_ar_cents"]) + f.payer_open_cents  # type: ignore[call-overload]
                            + still_open.get(f.claim_id, 0))
        r["claim_ids"].append(f.claim_id)  # type: ignore[attr-defined]
    return dict(sorted(out.items()))


def patient_collected_by_claim(patient_open: Iterable[OpenCharge]) -> dict[str, int]:
    out: dict[str, int] = {}
    for oc in patient_open:
        if oc.charge.claim_id:
            out[oc.charge.claim_id] = out.get(oc.charge.claim_id, 0) + oc.collected_cents
    return out


# ------------------------------------------------------------------------------------------------ coverage


@dataclass(frozen=True, slots=True)
class InsuredVisit:
    visit_id: str
    patient_id: str
    payer_id: str
    date_of_service: date


@dataclass(frozen=True, slots=True)
class CoverageCheck:
    """eligibility-checked: the payer's answer for a patient, as of a day."""

    check_id: str
    patient_id: str
    payer_id: str
    as_of: date
    active: bool


def eligibility_verified(visits: Iterable[InsuredVisit], checks: Iterable[CoverageCheck], within_days: int,
                         claim_of_visit: Mapping[str, str]) -> Figure:
    """Share of insured visits whose coverage with their payer was found active by a check dated in the
    ``within_days`` before the date of service (or on it): the front end's part in eligibility denials. The claims
    behind it are the visits' claims (a visit not billed yet has none)."""
    by_member: dict[tuple[str, str], list[date]] = {}
    for c in checks:
        if c.active:
            by_member.setdefault((c.patient_id, c.payer_id), []).append(c.as_of)
    base = list(visits)
    verified = [v for v in base if any(
        timedelta(0) <= v.date_of_service - day <= timedelta(days=within_days)
        for day in by_member.get((v.patient_id, v.payer_id), ()))]
    verified_ids = {v.visit_id for v in verified}
    unverified = sorted(v.visit_id for v in base if v.visit_id not in verified_ids)

    def claims(items: Iterable[InsuredVisit]) -> tuple[str, ...]:
        return tuple(sorted(claim_of_visit[v.visit_id] for v in items if v.visit_id in claim_of_visit))

    return Figure("eligibility_verified_rate", percent(len(verified), len(base)), len(verified), len(base), "visits",
                  claims(verified), claims(base), {"within_days": within_days, "unverified_visit_ids": unverified})


@dataclass(frozen=True, slots=True)
class DeterminedVisit:
    """Authorizations' latest answer for one insured visit (visit-authorization-determined)."""

    visit_id: str
    patient_id: str
    payer_id: str
    date_of_service: date
    authorization_required: bool
    authorization_number: str | None
    missing_reason: str | None


def uninterrupted_coverage(visits: Iterable[DeterminedVisit], gap_days: int) -> Figure:
    by_group: dict[tuple[str, str], list[DeterminedVisit]] = {}
    for v in visits:
        if v.authorization_required:
            by_group.setdefault((v.patient_id, v.payer_id), []).append(v)
    episodes: list[list[DeterminedVisit]] = []
    for group in by_group.values():
        group.sort(key=lambda v: (v.date_of_service, v.visit_id))
        current: list[DeterminedVisit] = []
        for v in group:
            if current and (v.date_of_service - current[-1].date_of_service).days > gap_days:
                episodes.append(current)
                current = []
            current.append(v)
        episodes.append(current)
    authorized = [e for e in episodes if any(v.authorization_number for v in e)]
    whole = [e for e in authorized if all(v.missing_reason is None for v in e)]
    interrupted = [e for e in authorized if e not in whole]
    return Figure("uninterrupted_coverage_rate", percent(len(whole), len(authorized)), len(whole), len(authorized),
                  "episodes", detail={
                      "interrupted_visit_ids": sorted(v.visit_id for e in interrupted for v in e
                                                      if v.missing_reason is not None),
                      "gap_days": gap_days})
