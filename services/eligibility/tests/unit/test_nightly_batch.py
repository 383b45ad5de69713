"""Which scheduled patients go into the nightly batch, and when the batch is due (pure domain)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from eligibility.domain.freshness import CachedCheck, FreshnessPolicy, FreshnessRules, RefreshReason
from eligibility.domain.nightly_batch import (
    BookedVisit,
    CoverageRecord,
    NightlyBatchRules,
    NightlyBatchSchedule,
    plan_batch,
)
from eligibility.domain.payer_limits import PayerLimitRules, PayerLimits
from hypothesis import given
from hypothesis import strategies as st
from rcm_shared.rules import RulesError

from .conftest import rules_file, shipped_rules

VISIT_DAY = date(2026, 3, 3)
FRESHNESS = FreshnessRules((FreshnessPolicy(max_age_days=30, first_visit_window_days=3),))
NO_CAP = PayerLimitRules(())


def visit(patient: str, payer: str = "P1", day: date = VISIT_DAY, *, visit_id: str | None = None,
          first: bool = False) -> BookedVisit:
    return BookedVisit(visit_id or f"v-{patient}-{payer}-{day.isoformat()}", patient, payer, day, first)


def on_file(checked_on: date | None = None, *, denial: date | None = None, insurance: bool = True) -> CoverageRecord:
    return CoverageRecord(CachedCheck(checked_on) if checked_on else None, denial, insurance)


# ------------------------------------------------------------------------------------------ when


def test_due_only_from_the_run_time_on_the_evening_before() -> None:
    schedule = NightlyBatchSchedule(run_at=time(19, 0), days_ahead=1, catch_up_until=time(6, 0))
    today = date(2026, 3, 2)
    assert schedule.due_schedule_dates(datetime.combine(today, time(18, 59))) == ()
    assert schedule.due_schedule_dates(datetime.combine(today, time(19, 0))) == (date(2026, 3, 3),)
    assert schedule.due_schedule_dates(datetime.combine(today, time(23, 59))) == (date(2026, 3, 3),)


def test_a_night_missed_is_caught_up_in_the_early_morning_only() -> None:
    schedule = NightlyBatchSchedule(run_at=time(19, 0), days_ahead=1, catch_up_until=time(6, 0))
    morning = datetime(2026, 3, 3, 5, 30)
    assert schedule.due_schedule_dates(morning) == (date(2026, 3, 3),)  # today's visits, not yet checked
    assert schedule.due_schedule_dates(datetime(2026, 3, 3, 6, 0)) == ()


def test_two_days_ahead_and_the_operators_next_date() -> None:
    schedule = NightlyBatchSchedule(run_at=time(20, 30), days_ahead=2)
    evening = datetime(2026, 3, 2, 21, 0)
    assert schedule.due_schedule_dates(evening) == (date(2026, 3, 4),)
    assert schedule.next_schedule_date(evening) == date(2026, 3, 4)


def test_send_retries_then_give_up() -> None:
    schedule = NightlyBatchSchedule(send_retry_minutes=(5, 30))
    assert schedule.retry_delay(1) == timedelta(minutes=5)
    assert schedule.retry_delay(2) == timedelta(minutes=30)
    assert schedule.retry_delay(3) is None


def test_shipped_rules_load_and_pick_by_effective_date() -> None:
    rules = shipped_rules().nightly_batch
    schedule = rules.in_force(date(2026, 3, 2))
    assert schedule.days_ahead == 1 and schedule.run_at < time(23, 59)
    assert schedule.time_zone
    assert rules.in_force(date(2020, 1, 1)) == NightlyBatchSchedule()  # nothing in force: built-in defaults


@pytest.mark.parametrize(("bad", "where"), [
    ({"schedules": "nightly"}, "schedules: must be a list"),
    ({"schedules": [{"effective_from": "2026-01-01", "run_at": "7pm"}]}, "schedules[0].run_at"),
    ({"schedules": [{"effective_from": "2026-01-01", "run_at": 1140}]}, "schedules[0].run_at"),  # YAML's 19:00
    ({"schedules": [{"effective_from": "2026-01-01", "days_ahead": -1}]}, "schedules[0].days_ahead"),
    ({"schedules": [{"effective_from": "2026-01-01", "send_retry_minutes": [5, 0]}]},
     "schedules[0].send_retry_minutes"),
    ({"schedules": [{"effective_from": "2026-01-01", "time_zone": ""}]}, "schedules[0].time_zone"),
    ({"schedules": [{"run_at": "19:00"}]}, "schedules[0].effective_from: is required"),
])
def test_bad_schedule_data_is_refused_naming_the_file_and_field(bad: dict[str, object], where: str) -> None:
    with pytest.raises(RulesError, match=f"nightly_batch.yaml: {re.escape(where)}"):
        NightlyBatchRules.from_rules(rules_file("nightly_batch.yaml", bad))


# ------------------------------------------------------------------------------------------ who


def test_never_checked_goes_into_the_batch() -> None:
    plan = plan_batch([visit("pt-1")], {("pt-1", "P1"): on_file()}, FRESHNESS, NO_CAP)
    (inquiry,) = plan.send
    assert inquiry.reasons == (RefreshReason.NEVER_CHECKED,)
    assert inquiry.service_date == VISIT_DAY


def test_a_fresh_snapshot_is_not_asked_again_and_a_stale_one_is() -> None:
    records = {("fresh", "P1"): on_file(VISIT_DAY - timedelta(days=30)),
               ("stale", "P1"): on_file(VISIT_DAY - timedelta(days=31))}
    plan = plan_batch([visit("fresh"), visit("stale")], records, FRESHNESS, NO_CAP)
    assert [p.patient_id for p in plan.fresh] == ["fresh"]
    assert [(p.patient_id, p.reasons) for p in plan.send] == [("stale", (RefreshReason.STALE,))]


def test_first_visit_wants_a_recent_check() -> None:
    records = {("pt-1", "P1"): on_file(VISIT_DAY - timedelta(days=4))}
    assert plan_batch([visit("pt-1")], records, FRESHNESS, NO_CAP).fresh
    first = plan_batch([visit("pt-1", first=True)], records, FRESHNESS, NO_CAP)
    assert first.send[0].reasons == (RefreshReason.BEFORE_FIRST_VISIT,)


def test_an_eligibility_denial_since_the_last_check_sends_it_again() -> None:
    checked = VISIT_DAY - timedelta(days=2)
    plan = plan_batch([visit("pt-1")], {("pt-1", "P1"): on_file(checked, denial=checked + timedelta(days=1))},
                      FRESHNESS, NO_CAP)
    assert plan.send[0].reasons == (RefreshReason.ELIGIBILITY_DENIAL,)


def test_without_member_details_it_cannot_be_asked() -> None:
    plan = plan_batch([visit("pt-1")], {("pt-1", "P1"): on_file(insurance=False)}, FRESHNESS, NO_CAP)
    assert not plan.send and [p.patient_id for p in plan.no_insurance_on_file] == ["pt-1"]
    assert plan_batch([visit("pt-2")], {}, FRESHNESS, NO_CAP).no_insurance_on_file  # nothing stored at all


def test_several_visits_of_one_patient_and_payer_are_one_inquiry() -> None:
    later = VISIT_DAY + timedelta(days=1)
    plan = plan_batch([visit("pt-1", day=later, visit_id="b"), visit("pt-1", visit_id="a"),
                       visit("pt-1", payer="P2", visit_id="c")],
                      {("pt-1", "P1"): on_file(), ("pt-1", "P2"): on_file()}, FRESHNESS, NO_CAP)
    assert [(p.payer_id, p.visit_ids, p.service_date) for p in plan.send] == [
        ("P1", ("a", "b"), VISIT_DAY), ("P2", ("c",), VISIT_DAY)]


def test_the_payers_batch_cap_defers_the_rest_to_real_time() -> None:
    limits = PayerLimitRules((PayerLimits(payer_id="P1", batch_max_inquiries=2),))
    visits = [visit(f"pt-{i}") for i in range(5)] + [visit("pt-9", payer="P2")]
    records = {(v.patient_id, v.payer_id): on_file() for v in visits}
    plan = plan_batch(visits, records, FRESHNESS, limits)
    assert [p.patient_id for p in plan.send if p.payer_id == "P1"] == ["pt-0", "pt-1"]
    assert [p.patient_id for p in plan.over_payer_cap] == ["pt-2", "pt-3", "pt-4"]
    assert [p.patient_id for p in plan.send if p.payer_id == "P2"] == ["pt-9"]  # another payer's cap


def test_payer_specific_freshness_applies() -> None:
    rules = FreshnessRules((FreshnessPolicy(payer_id="*", max_age_days=30),
                            FreshnessPolicy(payer_id="STRICT", max_age_days=7)))
    checked = on_file(VISIT_DAY - timedelta(days=10))
    plan = plan_batch([visit("pt-1", payer="LAX"), visit("pt-1", payer="STRICT")],
                      {("pt-1", "LAX"): checked, ("pt-1", "STRICT"): checked}, rules, NO_CAP)
    assert [p.payer_id for p in plan.send] == ["STRICT"] and [p.payer_id for p in plan.fresh] == ["LAX"]


visits_strategy = st.lists(st.builds(
    visit, st.sampled_from([f"pt-{i}" for i in range(6)]), st.sampled_from(["P1", "P2", "P3"]),
    st.dates(VISIT_DAY, VISIT_DAY + timedelta(days=2)), first=st.booleans()), max_size=30)
record_strategy = st.one_of(st.none(), st.builds(
    on_file, st.one_of(st.none(), st.dates(VISIT_DAY - timedelta(days=60), VISIT_DAY)),
    denial=st.one_of(st.none(), st.dates(VISIT_DAY - timedelta(days=60), VISIT_DAY)), insurance=st.booleans()))


@given(visits_strategy, st.dictionaries(st.tuples(st.sampled_from([f"pt-{i}" for i in range(6)]),
                                                  st.sampled_from(["P1", "P2", "P3"])), record_strategy),
       st.integers(1, 4))
def test_every_patient_and_payer_lands_in_exactly_one_place(visits: list[BookedVisit],
                                                            stored: dict[tuple[str, str], CoverageRecord | None],
                                                            cap: int) -> None:
    records = {k: v for k, v in stored.items() if v is not None}
    plan = plan_batch(visits, records, FRESHNESS, PayerLimitRules((PayerLimits(batch_max_inquiries=cap),)))
    placed = [(p.patient_id, p.payer_id) for bucket in (plan.send, plan.fresh, plan.no_insurance_on_file,
                                                         plan.over_payer_cap) for p in bucket]
    assert sorted(placed) == sorted({(v.patient_id, v.payer_id) for v in visits})
    for payer in ("P1", "P2", "P3"):
        assert sum(1 for p in plan.send if p.payer_id == payer) <= cap
    assert all(records.get((p.patient_id, p.payer_id), CoverageRecord()).insurance_on_file for p in plan.send)
    assert all(p.reasons for p in plan.send) and not any(p.reasons for p in plan.fresh)
    assert plan == plan_batch(list(reversed(visits)), records, FRESHNESS,
                              PayerLimitRules((PayerLimits(batch_max_inquiries=cap),)))  # order-independent


# ------------------------------------------------------------------------------------------ the practice's date

NEW_YORK = "America/New_York"


def zone_of(name: str) -> tzinfo:
    return UTC if name == "UTC" else ZoneInfo(name)


def test_the_schedule_in_force_follows_the_practice_date_not_the_utc_date() -> None:
    # 01:30 UTC on 3 March is 20:30 on 2 March in New York: the schedule of 2 March is still the one in force.
    rules = NightlyBatchRules.from_rules(rules_file("nightly_batch.yaml", {"schedules": [
        {"effective_from": "2026-01-01", "effective_to": "2026-03-02", "run_at": "19:00", "time_zone": NEW_YORK},
        {"effective_from": "2026-03-03", "run_at": "21:00", "time_zone": NEW_YORK}]}))
    just_after_utc_midnight = datetime(2026, 3, 3, 1, 30, tzinfo=UTC)
    schedule = rules.in_force_at(just_after_utc_midnight, zone_of)
    assert schedule.run_at == time(19, 0)
    local = rules.local_now(just_after_utc_midnight, zone_of)
    assert local.date() == date(2026, 3, 2)
    assert schedule.due_schedule_dates(local) == (date(2026, 3, 3),)
    # and once it is 3 March in New York (05:00 UTC), the next one
    assert rules.in_force_at(datetime(2026, 3, 3, 5, 0, tzinfo=UTC), zone_of).run_at == time(21, 0)

