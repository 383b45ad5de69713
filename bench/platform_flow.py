"""End-to-end throughput through the real platform: five service processes, the embedded broker, PostgreSQL.

What is timed (wall clock, from this client):

* visits accepted: M ``POST /v1/visits`` with bounded concurrency, until the last 201;
* visits end to end: from the first POST until every visit has a claim scrubbed (coded and drafted at intake;
  authorizations answers the visit from visit-completed; claims' claim-facts consumer keeps the answer and the
  eligibility check in its projection and scrubs the claim, saved with its events staged);
* a submission run: one ``POST /v1/submission-batches`` that batches every clean claim into 837P files and
  hands them to the sandbox clearinghouse (the periodic submission job is switched off for the run);
* an ERA: one large 835 ``POST /v1/eras`` and the seconds until remittance has parsed, balanced and posted it
  (``GET /v1/eras/{id}`` leaves ``received``). That path includes the outbox relay, the broker and the
  era-posting consumer, not only the posting itself.

The practice set-up the scrubber needs is seeded first (the clinician and the group enrolled with the payer;
per patient, about one per ten visits, a prior authorization and a coverage check with the sandbox payer), so
every claim comes out clean; any that do not are counted with their error findings. Claims asks nobody while it
scrubs (its projection holds the facts), so there are no per-claim questions to time.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from rcm_cli.platform import SERVICES, RunningPlatform, start_platform
from rcm_cli.tokens import request_token
from rcm_shared.broker import free_port
from rcm_shared.clock import SystemClock
from rcm_shared.config import ServiceSettings
from rcm_shared.testing.databases import TestDatabases

PRACTICE = "bench-practice"
PAYER = {"payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN"}
ADDRESS = {"line1": "100 MAIN ST", "city": "HARTFORD", "state": "CT", "postal_code": "06103"}
BILLING: dict[str, Any] = {"npi": "1245319599", "name": "RIVERSIDE COUNSELING GROUP", "tax_id": "123456789",
                           "address": ADDRESS}
RENDERING = {"npi": "1234567893", "first_name": "JORDAN", "last_name": "RIVERA", "credential": "LCSW"}
# A practice's patients, on the two active members of the eligibility service's sandbox plan table (the
# sandbox matches member id and birth date): every patient is its own person to the scrubber (names are in
# its duplicate fingerprint) with its own coverage check and prior authorization, about ten visits each.
MEMBERS = (("SBX000001", "1988-04-12"), ("SBX000004", "2001-11-11"))
FIRST_NAMES = ("ALEX", "CASEY", "MORGAN", "JORDAN", "RILEY", "SAM", "TAYLOR", "JAMIE", "AVERY", "QUINN")
LAST_NAMES = ("SAMPLE", "EXAMPLE", "TESTER", "DEMO", "MOCK", "TRIAL", "PILOT", "PROBE", "CHECK", "SPECIMEN")
VISITS_PER_PATIENT = 10
# Distinct services per patient, so no claim is a duplicate of another: date of service (2-71 days ago:
# inside every filing limit) x psychotherapy length (90837/90834/90832) x modality.
DAYS = 70
MINUTES = (53, 45, 30)
MODALITIES = ("in_person", "video")
MAX_VISITS = len(FIRST_NAMES) * len(LAST_NAMES) * DAYS * len(MINUTES) * len(MODALITIES)
CLEAN = {"scrubbed", "submitted"}


@dataclass
class PlatformResult:
    visits: int = 0
    patients: int = 0
    startup_seconds: float = 0.0
    seed_seconds: float = 0.0
    accept_seconds: float = 0.0
    end_to_end_seconds: float = 0.0
    claim_statuses: dict[str, int] = field(default_factory=dict)
    held_findings: dict[str, int] = field(default_factory=dict)
    submission_seconds: float = 0.0
    submission: dict[str, Any] = field(default_factory=dict)
    submitted_claims: int = 0
    era_claims: int = 0
    era_bytes: int = 0
    era_upload_seconds: float = 0.0
    era_posted_seconds: float = 0.0
    era_status: str = ""
    settle_seconds: float = 0.0
    build_samples: list[tuple[float, int]] = field(default_factory=list)
    era_summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def accept_rate(self) -> float:
        return self.visits / self.accept_seconds if self.accept_seconds else 0.0

    @property
    def end_to_end_rate(self) -> float:
        return self.visits / self.end_to_end_seconds if self.end_to_end_seconds else 0.0


def patients(visits: int) -> list[dict[str, str]]:
    count = min(len(FIRST_NAMES) * len(LAST_NAMES), max(1, -(-visits // VISITS_PER_PATIENT)))
    out = []
    for i in range(count):
        member_id, dob = MEMBERS[i % len(MEMBERS)]
        out.append({"patient_id": f"bench-pt-{i:03d}", "member_id": member_id, "dob": dob,
                    "first": FIRST_NAMES[i % len(FIRST_NAMES)], "last": LAST_NAMES[i // len(FIRST_NAMES)]})
    return out


def visit_body(n: int, people: list[dict[str, str]], today: date) -> dict[str, Any]:
    patient = people[n % len(people)]
    k = n // len(people)
    days_ago = 2 + k % DAYS
    minutes = MINUTES[(k // DAYS) % len(MINUTES)]
    modality = MODALITIES[(k // (DAYS * len(MINUTES))) % len(MODALITIES)]
    return {
        "external_visit_id": f"bench-{n:06d}", "patient_id": patient["patient_id"],
        "patient": {"first_name": patient["first"], "last_name": patient["last"], "birth_date": patient["dob"],
                    "gender": "U", "address": ADDRESS},
        "coverage": {**PAYER, "member_id": patient["member_id"]},
        "date_of_service": (today - timedelta(days=days_ago)).isoformat(), "service_kind": "psychotherapy",
        "psychotherapy_minutes": minutes, "modality": modality, "patient_at_home": modality == "video",
        "diagnoses": ["F41.1"], "rendering": RENDERING, "billing_provider": BILLING,
    }


def _headers(issuer: str) -> dict[str, str]:
    token = request_token(issuer, practices=[PRACTICE], role="practice-owner", subject="rcm-bench")
    return {"Authorization": f"Bearer {token}"}


async def _ok(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 400:
        raise RuntimeError(f"{what} answered {response.status_code}: {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


async def _seed(client: httpx.AsyncClient, urls: dict[str, str], today: date, people: list[dict[str, str]],
                visits: int) -> None:
    for npi in (RENDERING["npi"], BILLING["npi"]):
        await _ok(await client.post(f"{urls['authorizations']}/v1/credentialing/enrollments", json={
            "npi": npi, "payer_id": PAYER["payer_id"], "effective_from": (today - timedelta(days=365)).isoformat()}),
            "enrollment")
    units = min(1000, visits // len(people) + 5)
    gate = asyncio.Semaphore(8)

    async def seed_patient(patient: dict[str, str]) -> None:
        async with gate:
            await _ok(await client.post(f"{urls['authorizations']}/v1/authorizations", json={
                "number": f"AUTH-{patient['patient_id'].upper()}", "patient_id": patient["patient_id"],
                "payer_id": PAYER["payer_id"], "cpt_codes": ["90832", "90834", "90837"], "approved_units": units,
                "start": (today - timedelta(days=DAYS + 5)).isoformat(),
                "end": (today + timedelta(days=30)).isoformat()}), "authorization")
            check = await _ok(await client.post(f"{urls['eligibility']}/v1/coverage-checks", json={
                "patient_id": patient["patient_id"], **PAYER, "provider_npi": BILLING["npi"],
                "provider_name": BILLING["name"],
                "subscriber": {"first_name": patient["first"], "last_name": patient["last"],
                               "member_id": patient["member_id"], "birth_date": patient["dob"]},
                "service_date": (today - timedelta(days=30)).isoformat()}), "coverage check")
            if not check.get("results"):
                raise RuntimeError("the sandbox payer returned no coverage results")

    # The first patient alone: two concurrent first uses of a control-number sequence both try to create its
    # row (rcm_shared.db.sequences), and one gets a 500 (reported to the lead; not worked around in services).
    await seed_patient(people[0])
    await asyncio.gather(*(seed_patient(p) for p in people[1:]))


async def _post_visits(client: httpx.AsyncClient, url: str, visits: int, concurrency: int, today: date,
                       people: list[dict[str, str]]) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(visits):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            body = visit_body(n, people, today)
            r = await client.post(f"{url}/v1/visits", json=body,
                                  headers={"Idempotency-Key": body["external_visit_id"]})
            if r.status_code != 201:
                raise RuntimeError(f"POST /v1/visits answered {r.status_code}: {r.text[:300]}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _all_claims(client: httpx.AsyncClient, url: str, status: str | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        if status:
            params["status"] = status
        page = await _ok(await client.get(f"{url}/v1/claims", params=params), "GET /v1/claims")
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def _wait_claims(client: httpx.AsyncClient, url: str, visits: int, timeout: float, started: float,
                       samples: list[tuple[float, int]]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    claims: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        claims = await _all_claims(client, url)
        scrubbed = [c for c in claims if c["status"] != "awaiting_facts"]  # drafted at intake, then waits
        samples.append((time.perf_counter() - started, len(scrubbed)))
        if len(scrubbed) >= visits:
            return claims
        await asyncio.sleep(0.5)
    raise RuntimeError(f"only {len(claims)} of {visits} claims were built within {timeout:.0f} s")


def visible_steps(samples: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """When the count of built claims changed: the claims consumer commits a whole poll (up to 500 events)
    in one transaction, so claims appear in steps, not one by one."""
    steps: list[tuple[float, int]] = []
    for t, n in samples:
        if n and (not steps or n != steps[-1][1]):
            steps.append((t, n))
    return steps


async def _settle(client: httpx.AsyncClient, url: str, timeout: float = 30.0) -> float:
    """Wait until remittance has booked the submitted claims' copies (its books stop moving), so the ERA is
    timed on a quiet platform rather than behind the claim-submitted events."""
    started = time.perf_counter()
    last = None
    while time.perf_counter() - started < timeout:
        books = await _ok(await client.get(f"{url}/v1/ledger/trial-balance"), "GET /v1/ledger/trial-balance")
        if last is not None and books["total_debits"] == last and books["total_debits"] not in ("0", "0.00"):
            break
        last = books["total_debits"]
        await asyncio.sleep(1.0)
    return time.perf_counter() - started


async def _era(client: httpx.AsyncClient, url: str, era: bytes, result: PlatformResult, timeout: float) -> None:
    started = time.perf_counter()
    accepted = await _ok(await client.post(f"{url}/v1/eras", content=era, headers={
        "content-type": "application/edi-x12", "x-file-name": "bench-10k.835"}), "POST /v1/eras")
    result.era_upload_seconds = time.perf_counter() - started
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = await _ok(await client.get(f"{url}/v1/eras/{accepted['era_id']}"), "GET /v1/eras/{id}")
        if body["status"] != "received":
            result.era_posted_seconds = time.perf_counter() - started
            result.era_status = body["status"]
            result.era_summary = body.get("summary") or {}
            return
        await asyncio.sleep(0.1)
    result.era_status = "still received"
    result.era_posted_seconds = float("nan")
    result.notes.append(f"the ERA was not posted within {timeout:.0f} s")


async def _drive(platform: RunningPlatform, result: PlatformResult, visits: int, concurrency: int,
                 era: bytes | None, timeouts: dict[str, float]) -> None:
    urls = platform.urls()
    today = SystemClock(ServiceSettings().practice_time_zone).today()  # the practice's date, as the services count it
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    headers = _headers(platform.issuer_url)
    async with httpx.AsyncClient(headers=headers, timeout=timeouts["request"], limits=limits) as client:
        started = time.perf_counter()
        people = patients(visits)
        result.patients = len(people)
        await _seed(client, urls, today, people, visits)
        result.seed_seconds = time.perf_counter() - started

        started = time.perf_counter()
        await _post_visits(client, urls["claims"], visits, concurrency, today, people)
        result.accept_seconds = time.perf_counter() - started
        claims = await _wait_claims(client, urls["claims"], visits, timeouts["claims"], started,
                                    result.build_samples)
        result.end_to_end_seconds = time.perf_counter() - started
        result.claim_statuses = dict(Counter(c["status"] for c in claims))
        result.held_findings = dict(Counter(f["code"] for c in claims if c["status"] not in CLEAN
                                            for f in c["findings"] if f.get("severity", "error") == "error"))

        started = time.perf_counter()
        result.submission = await _ok(await client.post(f"{urls['claims']}/v1/submission-batches"),
                                      "POST /v1/submission-batches")
        result.submission_seconds = time.perf_counter() - started
        result.submitted_claims = len(await _all_claims(client, urls["claims"], "submitted"))

        if era is not None:
            result.settle_seconds = await _settle(client, urls["remittance"])
            result.era_bytes = len(era)
            result.era_claims = era.count(b"CLP*")
            await _era(client, urls["remittance"], era, result, timeouts["era"])


def measure(root: Path, *, visits: int = 500, concurrency: int = 16, era: bytes | None = None,
            timeouts: dict[str, float] | None = None) -> PlatformResult:
    """Start everything on free ports with fresh PostgreSQL databases, drive it, and always tear it down."""
    if visits > MAX_VISITS:
        raise ValueError(f"at most {MAX_VISITS} distinct visits are generated")
    limits = {"request": 120.0, "claims": 240.0, "era": 120.0, **(timeouts or {})}
    shutil.rmtree(root, ignore_errors=True)
    result = PlatformResult(visits=visits)
    databases = TestDatabases()
    platform: RunningPlatform | None = None
    try:
        database_urls = {name: databases.create(name) for name in SERVICES}
        ports: dict[str, int] = {}
        while len(set(ports.values())) < len(SERVICES):
            ports = {name: free_port() for name in SERVICES}
        started = time.perf_counter()
        # The periodic submission job is off so the timed submission run batches every clean claim itself.
        platform = start_platform(root, ports=ports, database_urls=database_urls,
                                  extra_env={"RCM_SUBMISSION_INTERVAL_SECONDS": "3600"})
        result.startup_seconds = time.perf_counter() - started
        asyncio.run(_drive(platform, result, visits, concurrency, era, limits))
        return result
    finally:
        if platform is not None:
            platform.stop()
        databases.drop_all()
