"""Broker restart drill (issue 9, item 1): kill -9 the embedded broker in the middle of a flow, let the supervisor
start it again on the same port (empty: Tansu keeps nothing on disk), send more visits, and count what every
service holds: 0 lost, 0 doubled.

The platform runs as ``rcm up`` runs it (the issuer, the supervised broker and the five services as processes) on
real PostgreSQL. Visits go in over HTTP; the counts are read in each service's own database, as a person would count
them in SQL. ``RCM_DRILL_SCALE=full`` (``make drills``) sends more visits and kills the broker more often, also while
submitted claims are on their way to remittance. Prints one ``DRILL broker_restart`` line."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from rcm_cli import platform as embedded
from rcm_cli.demo import PATIENTS, Platform, _self_pay_visit, _visit, set_up_practice
from rcm_shared.clock import SystemClock
from rcm_shared.config import ServiceSettings
from rcm_shared.testing.metrics import samples_by_label
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

FULL = os.environ.get("RCM_DRILL_SCALE") == "full"
pytestmark = pytest.mark.timeout(1800 if FULL else 600)

# (visits before the first kill, visits while the broker is down and after, kills while claims are submitted)
SCALE = (40, 60, 2) if FULL else (10, 14, 1)
SETTLE_SECONDS = 180.0


def _query(url: str, sql: str) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(text(sql))).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _scalar(url: str, sql: str) -> int:
    return int(_query(url, sql)[0][0])


def kill_broker(platform: embedded.RunningPlatform) -> None:
    """SIGKILL the broker, then wait until the supervisor has it listening again on the same port."""
    restarts = platform.restarts(embedded.BROKER)
    os.kill(platform.broker.process.pid, signal.SIGKILL)
    platform.supervisor.wait_for(lambda: platform.restarts(embedded.BROKER) > restarts, 60, "broker restarted")
    platform.supervisor.wait_ready(180)


def post_visits(api: Platform, first: int, count: int, rng: random.Random) -> None:
    today = SystemClock(ServiceSettings().practice_time_zone).today()
    for n in range(first, first + count):
        dos = today - timedelta(days=rng.randint(2, 28))
        body = _self_pay_visit(n, dos) if n % 5 == 4 else _visit(n, rng.choice(PATIENTS), dos, rng)
        body["external_visit_id"] = f"drill-{n}"
        for _attempt in range(20):  # a request that meets a restarting broker is simply retried by the client
            try:
                api.post("claims", "/v1/visits", body, headers={"Idempotency-Key": body["external_visit_id"]})
                break
            except (httpx.HTTPError, RuntimeError):
                time.sleep(0.5)
        else:
            raise AssertionError(f"visit {n} was never accepted")


def counts(db: dict[str, str]) -> dict[str, int]:
    claims_db, remit, pb, auth, elig = (db["claims"], db["remittance"], db["patient-billing"], db["authorizations"],
                                        db["eligibility"])
    return {
        "visits": _scalar(claims_db, "SELECT count(*) FROM visits"),
        "insured_visits": _scalar(claims_db, "SELECT count(*) FROM visits WHERE billing_model = 'insurance'"),
        "self_pay_visits": _scalar(claims_db, "SELECT count(*) FROM visits WHERE billing_model = 'self_pay'"),
        "claims": _scalar(claims_db, "SELECT count(DISTINCT visit_id) FROM claims WHERE replaces_claim_id IS NULL"),
        "claims_doubled": _scalar(claims_db, "SELECT count(*) FROM (SELECT visit_id FROM claims WHERE "
                                             "replaces_claim_id IS NULL GROUP BY visit_id HAVING count(*) > 1) d"),
        "submitted": _scalar(claims_db, "SELECT count(*) FROM claims WHERE submitted_at IS NOT NULL"),
        "remittance_copies": _scalar(remit, "SELECT count(*) FROM submitted_claims"),
        "authorizations_visits": _scalar(auth, "SELECT count(*) FROM ledger_visits"),
        "authorizations_answers": _scalar(auth, "SELECT count(*) FROM visit_determinations"),
        "eligibility_visits": _scalar(elig, "SELECT count(*) FROM session_visits"),
        "patient_charges": _scalar(pb, "SELECT count(*) FROM journal_entries WHERE kind = 'charge'"),
        "patient_charges_doubled": _scalar(pb, "SELECT count(*) FROM (SELECT visit_id FROM journal_entries WHERE "
                                               "kind = 'charge' GROUP BY visit_id HAVING count(*) > 1) d"),
    }


def missing(c: dict[str, int], sent: int) -> dict[str, int]:
    """How many each service lacks (negative: more than sent: doubled)."""
    return {
        "visits": sent - c["visits"],
        "claims": c["insured_visits"] - c["claims"],
        "authorizations": c["insured_visits"] - c["authorizations_visits"],
        "authorization_answers": c["insured_visits"] - c["authorizations_answers"],
        "eligibility": c["insured_visits"] - c["eligibility_visits"],
        "patient_billing": c["self_pay_visits"] - c["patient_charges"],
        "remittance": c["submitted"] - c["remittance_copies"],
    }


def submit_all(api: Platform) -> None:
    try:
        api.post("claims", "/v1/submission-batches")
    except (httpx.HTTPError, RuntimeError):
        pass  # the submission job runs on its own too; the next round asks again


def test_drill_a_broker_restart_loses_nothing_and_doubles_nothing(
        drill_platform: embedded.RunningPlatform) -> None:
    before, after, kills_in_submission = SCALE
    rng = random.Random(11)
    api = Platform(drill_platform.urls(), drill_platform.issuer_url)
    set_up_practice(api, SystemClock(ServiceSettings().practice_time_zone).today(), approved_units=500)
    db = drill_platform.database_urls
    started = time.monotonic()

    post_visits(api, 0, before, rng)
    kill_broker(drill_platform)  # events of these visits are in outboxes, on the broker, or half consumed
    kills = 1
    post_visits(api, before, after, rng)
    sent = before + after

    deadline = time.monotonic() + SETTLE_SECONDS
    last: dict[str, int] = {}
    while time.monotonic() < deadline:
        submit_all(api)
        if kills - 1 < kills_in_submission and _scalar(db["claims"], "SELECT count(*) FROM claims WHERE "
                                                                     "submitted_at IS NOT NULL") > 0:
            kill_broker(drill_platform)  # claim-submitted events on their way to remittance
            kills += 1
            continue
        last = counts(db)
        gaps = missing(last, sent)
        scrubbed_waiting = _scalar(db["claims"], "SELECT count(*) FROM claims WHERE status = 'scrubbed'")
        if not any(gaps.values()) and not scrubbed_waiting and kills - 1 >= kills_in_submission:
            break
        time.sleep(1.0)
    gaps = missing(last, sent)
    lost = sum(v for v in gaps.values() if v > 0)
    doubled = last.get("claims_doubled", 0) + last.get("patient_charges_doubled", 0) + sum(
        -v for v in gaps.values() if v < 0)
    print(f"DRILL broker_restart: visits={sent} broker_kills={kills} insured={last.get('insured_visits')} "
          f"self_pay={last.get('self_pay_visits')} claims={last.get('claims')} "
          f"submitted={last.get('submitted')} remittance_copies={last.get('remittance_copies')} "
          f"authorizations={last.get('authorizations_visits')} eligibility={last.get('eligibility_visits')} "
          f"patient_charges={last.get('patient_charges')} lost={lost} doubled={doubled} "
          f"seconds={time.monotonic() - started:.0f}")
    assert lost == 0 and doubled == 0, f"after {SETTLE_SECONDS:.0f} s: {gaps} {last}"
    assert last["submitted"] > 0, "claims were submitted, so remittance's copies were counted"
    # The reconciliation check agrees: both gauges are there and fall to 0 (visits and claims older than 5 s).
    deadline = time.monotonic() + 60
    checks = samples_by_label(drill_platform.urls()["claims"], "rcm_reconciliation_gaps", "check")
    while time.monotonic() < deadline and (len(checks) < 2 or any(checks.values())):
        time.sleep(1)
        checks = samples_by_label(drill_platform.urls()["claims"], "rcm_reconciliation_gaps", "check")
    print(f"DRILL broker_restart_reconciliation: {' '.join(f'{k}={v:.0f}' for k, v in sorted(checks.items()))}")
    assert checks == {"visits_without_claim": 0, "submitted_claims_without_remittance_copy": 0}, checks
