"""Kill -9 drill (issue 9): SIGKILL a process of the platform at a random moment of a flow (visits -> claims ->
837P -> the payer's 835 -> postings -> patient entries, reporting's facts and webhook deliveries), let the
supervisor start it again, finish the flow, and count what every service holds: 0 lost, 0 doubled.

The platform runs as ``rcm up`` runs it (the issuer, the supervised broker and every service as processes) on real
PostgreSQL; the client plays the EHR, the biller and the payer over HTTP (``rcm demo``'s steps) and, like any
client, asks again when a request meets a process that is down (an Idempotency-Key on every visit; an 835 file sent
twice is the same ERA). A local receiver is registered with the webhooks service for claim status changes. The
counts are read in each service's own database, as a person would count them in SQL.

``make test``: one process (a service, the broker or the issuer), chosen at random, killed once at a random moment
of a small flow; the seed is printed (``RCM_DRILL_SEED=<seed>`` runs the same plan again). ``make drills``
(``RCM_DRILL_SCALE=full``): every service, the broker and the issuer, each killed at several random moments of a
round of its own. Prints ``DRILL kill9`` (the plan and what was counted) and ``DRILL kill9_reconciliation``.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from rcm_cli import demo
from rcm_cli import platform as embedded
from rcm_cli.payer import read_837_claims
from rcm_shared.clock import SystemClock
from rcm_shared.config import ServiceSettings
from rcm_shared.testing.metrics import samples_by_label

FULL = os.environ.get("RCM_DRILL_SCALE") == "full"
pytestmark = pytest.mark.timeout(3600 if FULL else 900)

VICTIMS = (*embedded.SERVICES, embedded.BROKER, embedded.ISSUER)
# Where in a round a kill is aimed; it lands a random 0-2 s after the stage starts, while the stage's work (and
# the events it sets off) is under way.
STAGES = ("visits", "claims", "submission", "payer", "posting")
VISITS_PER_ROUND = 12  # a full run's nine rounds stay under 110 insured visits: one claim a patient a day
KILLS_EACH = 3 if FULL else 1  # per victim
STEP_TIMEOUT = 420.0  # a restarted service imports and migrates again: a minute or more on a busy 2-core machine
SETTLE_SECONDS = 300.0


@dataclass(frozen=True)
class Kill:
    victim: str
    stage: str
    delay: float

    def __str__(self) -> str:
        return f"{self.victim}@{self.stage}+{self.delay:.1f}s"


def kill_plan(rng: random.Random) -> list[list[Kill]]:
    """One round per victim: ``make test`` one victim drawn at random, ``make drills`` every process, each killed
    ``KILLS_EACH`` times at random moments of its round."""
    victims = list(VICTIMS) if FULL else [rng.choice(VICTIMS)]
    rng.shuffle(victims)
    return [[Kill(v, stage, round(rng.uniform(0.0, 2.0), 1)) for stage in sorted(
        rng.sample(STAGES, KILLS_EACH), key=STAGES.index)] for v in victims]


class Killer:
    """Kills in a thread of its own, one at a time: sleep the kill's delay, SIGKILL the process running now, wait
    until the supervisor has started it again. The flow goes on meanwhile."""

    def __init__(self, platform: embedded.RunningPlatform) -> None:
        self.platform = platform
        self.requests: queue.Queue[Kill | None] = queue.Queue()
        self.done: list[str] = []
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="kill9", daemon=True)
        self.thread.start()

    def at(self, kill: Kill) -> None:
        self.requests.put(kill)

    def _run(self) -> None:
        while (kill := self.requests.get()) is not None:
            try:
                time.sleep(kill.delay)
                self._kill(kill.victim)
                self.done.append(str(kill))
            except BaseException as exc:  # seen by the test in finish()
                self.errors.append(exc)

    def _kill(self, victim: str) -> None:
        platform = self.platform
        restarts = platform.restarts(victim)
        process = platform.broker.process if victim == embedded.BROKER else platform.processes[victim]  # issuer too
        os.kill(process.pid, signal.SIGKILL)
        platform.supervisor.wait_for(lambda: platform.restarts(victim) > restarts, 120, f"{victim} restarted")
        platform.supervisor.wait_ready(STEP_TIMEOUT)

    def finish(self) -> list[str]:
        """Wait for the kills still queued (each with its restart), then the kills done."""
        self.requests.put(None)
        self.thread.join(timeout=STEP_TIMEOUT * 3)
        assert not self.thread.is_alive(), f"kills still running after the flow: done {self.done}"
        if self.errors:
            raise self.errors[0]
        return list(self.done)


class RetryingClient(demo.Platform):
    """The demo's client, asking again while a process is down or starting (connection refused, 5xx)."""

    def _again(self, call: Callable[[], httpx.Response]) -> httpx.Response:
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            try:
                response = call()
                if response.status_code < 500:
                    return response
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("a request was never answered")
            time.sleep(0.5)

    def post(self, service: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        r = self._again(lambda: self.client.post(self.urls[service] + path, json=body, **kwargs))
        if r.status_code >= 400 and r.status_code != 409:
            raise RuntimeError(f"{service} {path} answered {r.status_code}: {r.text[:300]}")
        return r

    def get(self, service: str, path: str, **params: Any) -> Any:
        r = self._again(lambda: self.client.get(self.urls[service] + path, params=params))
        r.raise_for_status()
        return r.json()


class Receiver:
    """An integrator's endpoint: counts each webhook message id it was sent."""

    def __init__(self) -> None:
        received: Counter[str] = Counter()
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                received[self.headers["webhook-id"]] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def visit(n: int, insured: int, today: date, rng: random.Random) -> dict[str, Any]:
    """The n-th visit: every fifth self-pay; insured ones alternate between the two authorized patients, each on a
    day of its own (the scrubber holds the same services twice as a duplicate claim, which would stop the flow), and
    every sixth goes to the patient without an authorization (held: counted as a claim, never submitted)."""
    if n % 5 == 4:
        body = demo._self_pay_visit(n, today - timedelta(days=rng.randint(2, 28)))
    else:
        authorized = [p for p in demo.PATIENTS if p["authorized"]]
        unauthorized = [p for p in demo.PATIENTS if not p["authorized"]]
        patient = unauthorized[0] if insured % 6 == 5 else authorized[insured % len(authorized)]
        body = demo._visit(n, patient, today - timedelta(days=2 + insured % 55), rng)
    body["external_visit_id"] = f"kill9-{n}"
    return body


def run_round(api: RetryingClient, killer: Killer, kills: list[Kill], first: int, count: int, rng: random.Random,
              clearinghouse: Path, today: date, insured_so_far: int) -> tuple[int, int]:
    """One pass of the flow, the round's kills aimed at their stages. Returns (insured, self-pay) visits sent."""
    def stage(name: str) -> None:
        for kill in kills:
            if kill.stage == name:
                killer.at(kill)

    stage("visits")
    insured = 0
    for n in range(first, first + count):
        body = visit(n, insured_so_far + insured, today, rng)
        insured += body.get("billing_model") != "self_pay"
        api.post("claims", "/v1/visits", body, headers={"Idempotency-Key": body["external_visit_id"]})
    stage("claims")
    demo.wait_claims_built(api, insured_so_far + insured, STEP_TIMEOUT)
    stage("submission")
    demo.submit_clean_claims(api, STEP_TIMEOUT)
    stage("payer")
    era_ids = demo.answer_submitted_claims(api, clearinghouse, today)
    stage("posting")
    demo.wait_eras_processed(api, era_ids, STEP_TIMEOUT)
    demo.wait_claims_settled(api, STEP_TIMEOUT)
    return insured, count - insured


SQL: dict[str, dict[str, str]] = {
    "claims": {
        "visits": "SELECT count(*) FROM visits",
        "visits_doubled": "SELECT count(*) FROM (SELECT external_visit_id FROM visits GROUP BY practice_id, "
                          "external_visit_id HAVING count(*) > 1) d",
        "insured_visits": "SELECT count(*) FROM visits WHERE billing_model = 'insurance'",
        "self_pay_visits": "SELECT count(*) FROM visits WHERE billing_model = 'self_pay'",
        "claims": "SELECT count(DISTINCT visit_id) FROM claims WHERE replaces_claim_id IS NULL",
        "claims_doubled": "SELECT count(*) FROM (SELECT visit_id FROM claims WHERE replaces_claim_id IS NULL "
                          "GROUP BY visit_id HAVING count(*) > 1) d",
        "submitted": "SELECT count(*) FROM claims WHERE submitted_at IS NOT NULL",
        "unsettled": "SELECT count(*) FROM claims WHERE status IN ('submitted', 'accepted')",
        "held": "SELECT count(*) FROM claims WHERE status = 'held'",
        "waiting": "SELECT count(*) FROM claims WHERE status IN ('awaiting_facts', 'scrubbed')",
        "status_events": "SELECT count(*) FROM outbox WHERE topic = 'claim-status-changed'",
    },
    "remittance": {
        "copies": "SELECT count(*) FROM submitted_claims",
        "postings": "SELECT count(*) FROM claim_postings WHERE unapplied = 0 AND reversed_by_posting_id IS NULL",
        "postings_doubled": "SELECT count(*) FROM (SELECT claim_id FROM claim_postings WHERE unapplied = 0 AND "
                            "reversed_by_posting_id IS NULL GROUP BY claim_id HAVING count(*) > 1) d",
        "unapplied": "SELECT count(*) FROM claim_postings WHERE unapplied <> 0",
        "duplicate_payments": "SELECT count(*) FROM era_exceptions WHERE kind = 'duplicate_claim_payment'",
        "patient_share_claims": "SELECT count(*) FROM claim_postings WHERE unapplied = 0 AND "
                                "reversed_by_posting_id IS NULL AND patient_responsibility > 0",
        "patient_share_cents": "SELECT coalesce(sum(patient_responsibility), 0) FROM claim_postings WHERE "
                               "unapplied = 0 AND reversed_by_posting_id IS NULL",
    },
    "patient-billing": {
        "charges": "SELECT count(*) FROM journal_entries WHERE kind = 'charge'",
        "charges_doubled": "SELECT count(*) FROM (SELECT visit_id FROM journal_entries WHERE kind = 'charge' "
                           "GROUP BY visit_id HAVING count(*) > 1) d",
        "responsibility": "SELECT count(*) FROM journal_entries WHERE kind = 'responsibility'",
        "responsibility_doubled": "SELECT count(*) FROM (SELECT claim_id FROM journal_entries WHERE kind = "
                                  "'responsibility' GROUP BY claim_id HAVING count(*) > 1) d",
        "responsibility_cents": "SELECT coalesce(sum(l.debit_cents - l.credit_cents), 0) FROM journal_lines l "
                                "JOIN journal_entries e ON e.entry_id = l.entry_id WHERE e.kind = 'responsibility' "
                                "AND l.ledger = 'patient_ar'",
    },
    "authorizations": {
        "visits": "SELECT count(*) FROM ledger_visits",
        "answers": "SELECT count(*) FROM visit_determinations",
    },
    "eligibility": {"visits": "SELECT count(*) FROM session_visits"},
    "reporting": {
        "visits": "SELECT count(*) FROM visits",
        "submissions": "SELECT count(*) FROM claim_submissions",
        "postings": "SELECT count(*) FROM claim_postings",
    },
    "webhooks": {
        "status_events": "SELECT count(*) FROM events WHERE event_type = 'claim.status-changed'",
        "deliveries": "SELECT count(*) FROM deliveries WHERE NOT replay",
        "delivered": "SELECT count(*) FROM deliveries WHERE NOT replay AND status = 'delivered'",
        "deliveries_doubled": "SELECT count(*) FROM (SELECT event_id FROM deliveries WHERE NOT replay "
                              "GROUP BY endpoint_id, event_id HAVING count(*) > 1) d",
    },
}


def count_rows(database_urls: dict[str, str]) -> dict[str, int]:
    """Every figure of ``SQL``, as ``<service>.<figure>``."""
    async def run() -> dict[str, int]:
        found: dict[str, int] = {}
        for service, queries in SQL.items():
            conn = await asyncpg.connect(database_urls[service].replace("postgresql+asyncpg", "postgresql"))
            try:
                for name, sql in queries.items():
                    found[f"{service}.{name}"] = int(await conn.fetchval(sql))
            finally:
                await conn.close()
        return found

    return asyncio.run(run())


def clearinghouse_figures(clearinghouse: Path) -> dict[str, int]:
    """Claims in the 837P files sent (a claim in two files was submitted twice) and in the payer's 835 answers."""
    sent = Counter(c.patient_control_number for f in (clearinghouse / "outbound").glob("*.x12")
                   for c in read_837_claims(f.read_text()))
    answered = sum(1 for f in (clearinghouse / "outbound").glob("*.x12")
                   if (clearinghouse / "remittance" / f"835_{f.stem}.x12").exists()
                   for _ in read_837_claims(f.read_text()))
    return {"sent": len(sent), "sent_twice": sum(1 for n in sent.values() if n > 1), "answered": answered}


def gaps(c: dict[str, int], sent: int, files: dict[str, int], received: Counter[str]) -> dict[str, int]:
    """What each service lacks against what it should hold (negative: more than it should: doubled)."""
    return {
        "visits": sent - c["claims.visits"],
        "claims": c["claims.insured_visits"] - c["claims.claims"],
        "authorizations": c["claims.insured_visits"] - c["authorizations.visits"],
        "authorization_answers": c["claims.insured_visits"] - c["authorizations.answers"],
        "eligibility": c["claims.insured_visits"] - c["eligibility.visits"],
        "remittance_copies": c["claims.submitted"] - c["remittance.copies"],
        "submitted_files": c["claims.submitted"] - files["sent"],
        "postings": files["answered"] - c["remittance.postings"],
        "claims_unsettled": c["claims.unsettled"],
        "self_pay_charges": c["claims.self_pay_visits"] - c["patient-billing.charges"],
        "patient_responsibility": c["remittance.patient_share_claims"] - c["patient-billing.responsibility"],
        "patient_cents": c["remittance.patient_share_cents"] - c["patient-billing.responsibility_cents"],
        "reporting_visits": c["claims.visits"] - c["reporting.visits"],
        "reporting_submissions": c["remittance.copies"] - c["reporting.submissions"],
        "reporting_postings": c["remittance.postings"] - c["reporting.postings"],
        "webhook_events": c["claims.status_events"] - c["webhooks.status_events"],
        "webhook_deliveries": c["webhooks.status_events"] - c["webhooks.delivered"],
        "webhooks_received": c["webhooks.delivered"] - len(received),
    }


def doubles(c: dict[str, int], files: dict[str, int], received: Counter[str]) -> dict[str, int]:
    return {
        "visits": c["claims.visits_doubled"], "claims": c["claims.claims_doubled"],
        "submitted_twice": files["sent_twice"], "postings": c["remittance.postings_doubled"],
        "duplicate_payments": c["remittance.duplicate_payments"],
        "self_pay_charges": c["patient-billing.charges_doubled"],
        "patient_responsibility": c["patient-billing.responsibility_doubled"],
        "webhook_deliveries": c["webhooks.deliveries_doubled"],
    }


def test_drill_a_process_killed_at_a_random_moment_loses_nothing_and_doubles_nothing(
        drill_platform: embedded.RunningPlatform, receiver: Receiver) -> None:
    seed = int(os.environ.get("RCM_DRILL_SEED") or random.SystemRandom().randrange(1_000_000))
    rng = random.Random(seed)
    plan = kill_plan(rng)
    print(f"DRILL kill9_plan: seed={seed} kills={' '.join(str(k) for r in plan for k in r)}")
    platform = drill_platform
    api = RetryingClient(platform.urls(), platform.issuer_url)
    today = SystemClock(ServiceSettings().practice_time_zone).today()
    clearinghouse = platform.root / "clearinghouse"
    demo.set_up_practice(api, today, approved_units=1000)
    endpoint = api.post("webhooks", "/v1/webhook-endpoints", {"url": receiver.url,
                                                             "event_types": ["claim.status-changed"]})
    assert endpoint.status_code == 201, endpoint.text
    started = time.monotonic()
    killer = Killer(platform)
    sent = insured = 0
    try:
        for kills in plan:
            more_insured, more_self_pay = run_round(api, killer, kills, sent, VISITS_PER_ROUND, rng, clearinghouse,
                                                    today, insured)
            insured += more_insured
            sent += more_insured + more_self_pay
    finally:
        done = killer.finish()

    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        counted, files = count_rows(platform.database_urls), clearinghouse_figures(clearinghouse)
        lost = {k: v for k, v in gaps(counted, sent, files, receiver.received).items() if v}
        doubled = {k: v for k, v in doubles(counted, files, receiver.received).items() if v}
        if (not lost and not doubled) or time.monotonic() > deadline:
            break
        time.sleep(2)
    # Webhooks are at least once: a message sent again after a kill keeps its webhook-id, so the receiver drops it.
    # Counted, not a double.
    resent = sum(n - 1 for n in receiver.received.values())
    print(f"DRILL kill9: seed={seed} kills={len(done)} [{' '.join(done)}] visits={sent} insured={insured} "
          f"claims={counted['claims.claims']} held={counted['claims.held']} submitted={counted['claims.submitted']} "
          f"remittance_copies={counted['remittance.copies']} answered={files['answered']} "
          f"postings={counted['remittance.postings']} patient_entries={counted['patient-billing.responsibility']} "
          f"self_pay_charges={counted['patient-billing.charges']} "
          f"reporting_postings={counted['reporting.postings']} webhooks_delivered={counted['webhooks.delivered']} "
          f"webhooks_resent={resent} lost={sum(v for v in lost.values() if v > 0)} "
          f"doubled={sum(doubled.values()) + sum(-v for v in lost.values() if v < 0)} "
          f"seconds={time.monotonic() - started:.0f}")
    assert len(done) == sum(len(r) for r in plan), f"kills done: {done}"
    assert not lost and not doubled, f"seed {seed}: lost {lost} doubled {doubled}; {json.dumps(counted)}"
    assert counted["remittance.postings"] > 0 and counted["patient-billing.responsibility"] > 0
    assert counted["claims.submitted"] >= insured * 2 // 3, "most claims went the whole way (few held)"

    checks = samples_by_label(platform.urls()["claims"], "rcm_reconciliation_gaps", "check")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (len(checks) < 2 or any(checks.values())):
        time.sleep(1)
        checks = samples_by_label(platform.urls()["claims"], "rcm_reconciliation_gaps", "check")
    print(f"DRILL kill9_reconciliation: {' '.join(f'{k}={v:.0f}' for k, v in sorted(checks.items()))}")
    assert checks == {"visits_without_claim": 0, "submitted_claims_without_remittance_copy": 0}, checks
