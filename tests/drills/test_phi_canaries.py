"""Drill: PHI canaries. The whole platform runs as processes (the issuer, the broker, five services on real
PostgreSQL); the demo flow (coverage checks, visits, 837P, the payer's 835s, postings, patient balances) runs with
canary values in patient names, a member id, a diagnosis and a date of service; refused requests carry canaries
in JSON keys and values; poison messages carry a canary key and a canary event type. Then every process's log,
every dead letter's headers, every error body and every service's metrics are searched: no canary may appear.

`make drills` (RCM_DRILL_SCALE=full) sends more visits through.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import rcm_cli.demo as demo_module
from rcm_cli import platform as embedded
from rcm_shared.broker import EmbeddedBroker, free_port
from rcm_shared.contracts.topics import dead_letter_topic
from rcm_shared.testing.databases import TestDatabases
from rcm_shared.testing.fixtures import ISSUER_URL_ENV, auth
from rcm_shared.testing.kafka import publish, read_topic

pytestmark = pytest.mark.e2e
FULL = os.environ.get("RCM_DRILL_SCALE", "small") == "full"
PRACTICE = demo_module.PRACTICE
FIRST, LAST = "QZVCANARYFIRST", "QZVCANARYLAST"
MEMBER_ID = "QZV9CANARY77"
DIAGNOSIS = "F42.2"  # a real ICD-10 code (mixed obsessional thoughts and acts) used nowhere else here
SERVICE_DATE = date.today() - timedelta(days=41)
KEY = "QZVCANARYKEY HOLLOWAY"
EVENT_TYPE = "QZVCANARYTYPE"
CANARIES = [FIRST, LAST, MEMBER_ID, DIAGNOSIS, DIAGNOSIS.replace(".", ""), SERVICE_DATE.isoformat(),
            SERVICE_DATE.strftime("%Y%m%d"), "QZVCANARYKEY", "HOLLOWAY", EVENT_TYPE, "QZVCANARYVALUE"]
ADDRESS = {"line1": "100 MAIN ST", "city": "HARTFORD", "state": "CT", "postal_code": "06103"}
# Consumers of visit-completed: each dead-letters each poison message once.
VISIT_CONSUMERS = 4


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[embedded.RunningPlatform]:
    dbs = TestDatabases()
    (tmp_path / "log").mkdir()
    broker = EmbeddedBroker.start(log_path=tmp_path / "log" / "broker.log")
    ports = {name: free_port() for name in embedded.SERVICES}
    urls = {name: dbs.create(name) for name in embedded.SERVICES}
    monkeypatch.setenv("RCM_VAR_DIR", str(tmp_path))
    started = embedded.start_platform(tmp_path, ports=ports, database_urls=urls, broker=broker)
    monkeypatch.setenv(ISSUER_URL_ENV, started.issuer_url)
    try:
        yield started
    finally:
        started.stop()
        dbs.drop_all()


def canary_visit(external_id: str) -> dict[str, Any]:
    return {
        "external_visit_id": external_id, "patient_id": "drill-pt-canary",
        "patient": {"first_name": FIRST, "last_name": LAST, "birth_date": "1988-04-12", "gender": "U",
                    "address": ADDRESS},
        "coverage": {"payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN", "member_id": MEMBER_ID},
        "date_of_service": SERVICE_DATE.isoformat(), "service_kind": "psychotherapy", "psychotherapy_minutes": 53,
        "modality": "in_person", "patient_at_home": False, "diagnoses": [DIAGNOSIS],
        "rendering": demo_module.CLINICIANS[0], "billing_provider": demo_module.BILLING,
    }


def refused_requests(urls: dict[str, str]) -> list[httpx.Response]:
    """Requests that must be refused, with canaries where a careless error body or log would repeat them."""
    headers = auth(PRACTICE)
    bad_visit = {**canary_visit("drill-bad-1"), KEY: 1}
    bad_visit["patient"] = {**bad_visit["patient"], KEY: "x"}
    wrong_types = {**canary_visit("drill-bad-2"), "psychotherapy_minutes": "QZVCANARYVALUE",
                   "date_of_service": f"{LAST}-{FIRST}"}
    coverage = {"patient_id": "drill-pt-canary", "payer_id": "SBXHP", "provider_npi": "1245319599",
                "provider_name": "RIVERSIDE COUNSELING GROUP", "service_date": SERVICE_DATE.isoformat(),
                "subscriber": {"first_name": FIRST, "last_name": f"{LAST}*", "member_id": MEMBER_ID, KEY: 1}}
    with httpx.Client(timeout=30) as http:
        return [
            http.post(f"{urls['claims']}/v1/visits", json=bad_visit, headers=headers),
            http.post(f"{urls['claims']}/v1/visits", json=wrong_types, headers=headers),
            http.post(f"{urls['claims']}/v1/visits", content=f'{{"{KEY}": "{FIRST}",'.encode(),
                      headers={**headers, "content-type": "application/json"}),
            http.post(f"{urls['eligibility']}/v1/coverage-checks", json=coverage, headers=headers),
            http.post(f"{urls['patient-billing']}/v1/patients/drill-pt-canary/payments",
                      json={"amount": "QZVCANARYVALUE", "method": "cash", KEY: FIRST}, headers=headers),
            http.get(f"{urls['claims']}/v1/claims", params={"limit": FIRST}, headers=headers),
            http.get(f"{urls['claims']}/v1/claims/{FIRST}", headers=headers),
            http.get(f"{urls['remittance']}/v1/eras", headers={"Authorization": f"Bearer {FIRST}.{LAST}.x"}),
            # Not refused: answered under a request id of ours, not the canary.
            http.get(f"{urls['patient-billing']}/v1/accounts", headers={**headers, "x-request-id": FIRST * 5}),
        ]


def poison_messages() -> list[tuple[bytes | None, bytes]]:
    def envelope(**changes: Any) -> bytes:
        body: dict[str, Any] = {"id": str(uuid.uuid4()), "type": "visit-completed", "schema_version": 1,
                                "source": "drill", "time": "2026-12-02T00:00:00Z", "subject": str(uuid.uuid4()),
                                "practice_id": PRACTICE, "data": {"visit_id": str(uuid.uuid4()), KEY: FIRST}}
        body.update(changes)
        return json.dumps(body).encode()

    return [(b"drill-1", envelope()), (b"drill-2", envelope(type=EVENT_TYPE)),
            (b"drill-3", envelope(**{KEY: LAST}))]


def hits_in(text: str) -> list[str]:
    return [c for c in CANARIES if re.search(re.escape(c), text, re.IGNORECASE)]


def test_no_canary_reaches_a_log_a_dead_letter_an_error_body_or_a_metric(
        platform: embedded.RunningPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    urls = platform.urls()
    # The demo's patients under canary names (their sandbox member ids, so coverage is found), with the canary
    # diagnosis on every visit.
    canary_patients = [{**p, "first": FIRST, "last": LAST} for p in demo_module.PATIENTS]
    monkeypatch.setattr(demo_module, "PATIENTS", canary_patients)
    original_visit = demo_module._visit
    monkeypatch.setattr(demo_module, "_visit", lambda *a: {**original_visit(*a), "diagnoses": [DIAGNOSIS]})
    with httpx.Client(timeout=30, headers=auth(PRACTICE)) as http:
        # A member the payer does not know, with a canary id: a rejected coverage check and a claim for it.
        check = http.post(f"{urls['eligibility']}/v1/coverage-checks", json={
            "patient_id": "drill-pt-canary", "payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN",
            "provider_npi": "1245319599", "provider_name": "RIVERSIDE COUNSELING GROUP",
            "service_date": SERVICE_DATE.isoformat(),
            "subscriber": {"first_name": FIRST, "last_name": LAST, "member_id": MEMBER_ID}})
        assert check.status_code == 201, check.text
        visit = http.post(f"{urls['claims']}/v1/visits", json=canary_visit("drill-canary-1"))
        assert visit.status_code == 201, visit.text
        payment = http.post(f"{urls['patient-billing']}/v1/patients/drill-pt-canary/payments",
                            json={"amount": "12.34", "method": "check", "reference": MEMBER_ID})
        assert payment.status_code == 201, payment.text
    demo_module.demo(visits=40 if FULL else 8, seed=11)

    errors = refused_requests(urls)
    *refused, odd_request_id = errors
    assert all(400 <= r.status_code < 500 for r in refused), [(r.request.url.path, r.status_code) for r in refused]
    assert odd_request_id.status_code == 200 and FIRST not in odd_request_id.headers["x-request-id"]
    asyncio.run(publish(platform.broker.bootstrap, "visit-completed", poison_messages()))
    expected_dead = len(poison_messages()) * VISIT_CONSUMERS
    dead = asyncio.run(read_topic(platform.broker.bootstrap, dead_letter_topic("visit-completed"),
                                  expect=expected_dead, timeout=60))
    assert len(dead) >= expected_dead, f"{len(dead)} dead letters, {expected_dead} expected"
    reasons = [dict(d.headers).get("dlq-reason", b"").decode() for d in dead]
    assert any("(unknown field)" in r for r in reasons) and any("unknown event type" in r for r in reasons)

    found: dict[str, list[str]] = {}
    log_bytes = 0
    for log in sorted((platform.root / "log").glob("*.log")):
        text = log.read_text(errors="replace")
        log_bytes += len(text)
        if hits_in(text):
            found[f"log {log.name}"] = hits_in(text)
    for n, record in enumerate(dead):
        headers = " ".join(f"{k}={v.decode(errors='replace')}" for k, v in record.headers or ())
        if hits_in(headers):
            found[f"dead letter {n} headers"] = hits_in(headers)
    for n, response in enumerate(errors):
        if hits_in(response.text) or hits_in(json.dumps(dict(response.headers))):
            found[f"error body {n} ({response.status_code})"] = hits_in(response.text + str(response.headers))
    for name, url in urls.items():
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        if hits_in(metrics):
            found[f"metrics {name}"] = hits_in(metrics)
    hits = sum(len(v) for v in found.values())
    print(f"DRILL phi-canaries: canaries={len(CANARIES)} logs={len(list((platform.root / 'log').glob('*.log')))} "
          f"log_bytes={log_bytes} dead_letters={len(dead)} error_bodies={len(errors)} metrics={len(urls)} "
          f"hits={hits}")
    assert not found, found
