"""End to end, across processes: the token issuer and the services as separate processes on real PostgreSQL
and the real broker; `rcm demo` sends visits through, plays the payer, and the books must balance, and the
reporting read model's claim rows and KPIs agree with the claims the other services hold. Tokens come
from the issuer (the services trust only its JWKS), and claims asks the others with its client credentials. An
integrator's local receiver, registered with the webhooks service, gets the demo's claim events signed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from rcm_cli import platform as embedded
from rcm_cli.demo import PRACTICE, demo
from rcm_shared.testing.fixtures import auth
from rcm_shared.testing.kafka import eventually
from standardwebhooks import Webhook

pytestmark = pytest.mark.e2e


def test_visits_to_posted_eras_and_patient_balances(running_platform: embedded.RunningPlatform) -> None:
    pids = {p.pid for name, p in running_platform.processes.items() if name in embedded.SERVICES}
    assert len(pids) == len(embedded.SERVICES), "one process per service"
    assert running_platform.processes[embedded.ISSUER].pid not in pids, "the issuer is a process of its own"
    urls = running_platform.urls()
    headers = auth(PRACTICE)
    received: list[tuple[dict[str, str], bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    endpoint = httpx.post(f"{urls['webhooks']}/v1/webhook-endpoints", headers=headers, timeout=10, json={
        "url": f"http://127.0.0.1:{receiver.server_address[1]}/", "event_types": ["claim.status-changed"]})
    assert endpoint.status_code == 201, endpoint.text
    demo(visits=16, seed=3)

    claims = httpx.get(f"{urls['claims']}/v1/claims", params={"limit": 500}, headers=headers).json()["items"]
    statuses = {c["status"] for c in claims}
    assert "paid" in statuses
    assert not statuses & {"submitted", "accepted", "draft"}, statuses
    books = httpx.get(f"{urls['remittance']}/v1/ledger/trial-balance", headers=headers).json()
    assert books["balanced"] is True
    # One set of patient books: remittance only records what it handed to patient-billing (a transfer account)
    transferred = Decimal(books["patient_responsibility_transferred"])
    assert transferred == Decimal(books["accounts"]["patient_responsibility_transferred"]["balance"])
    assert "patient_ar" not in books["accounts"], "patient A/R is patient-billing's alone"
    accounts = httpx.get(f"{urls['patient-billing']}/v1/accounts", headers=headers).json()["items"]
    # the demo's card-payment step bills its own two patients (self-pay and a no-show fee on a plan): not insured
    insured_balances = sum(Decimal(a["balance"]) for a in accounts
                           if a["patient_id"] not in ("demo-pt-selfpay", "demo-pt-plan"))
    assert insured_balances == transferred, "patient responsibility moved to the patients' accounts, to the cent"
    paid = sum(Decimal(c["paid"]) for c in claims)
    assert paid == Decimal(books["accounts"]["undeposited_era"]["balance"])
    outbound = list((running_platform.root / "clearinghouse" / "outbound").glob("*.x12"))
    assert outbound, "837P files are kept in the clearinghouse drop folder"
    alerts = httpx.get(f"{urls['eligibility']}/v1/session-limit-alerts", headers=headers).json()["items"]
    assert any(a["patient_id"] == "demo-pt-2" for a in alerts), "the 20-visit plan member is nearly out"

    async def paid_claim_delivered() -> bool:
        return any(json.loads(body)["data"].get("status") == "paid" for _, body in received)

    asyncio.run(eventually(paid_claim_delivered, timeout=60, what="a paid claim's webhook"))
    receiver.shutdown()
    for request_headers, body in received:
        event = Webhook(endpoint.json()["secret"]).verify(body, request_headers)
        assert event["type"] == "claim.status-changed" and event["practiceid"] == PRACTICE
    assert {json.loads(b)["data"]["claim_id"] for _, b in received} <= {c["claim_id"] for c in claims}
    _reporting_agrees(urls["reporting"], headers, claims)
    _an_integrator_reads_a_claim_and_its_eob(running_platform, claims)


def _reporting_agrees(url: str, headers: dict[str, str], claims: list[dict[str, Any]]) -> None:
    """Reporting, fed only by the topics, holds each claim as the claims service does (status, billed, paid) and
    its KPI board counts them: visits -> claims -> ERA -> reporting."""
    submitted = [c for c in claims if c["status"] not in ("draft", "scrubbed", "held")]
    expected = {c["claim_id"]: (c["status"], _cents(c["total_charge"]), _cents(c["paid"])) for c in submitted}

    def rows() -> dict[str, tuple[str, int, int]]:
        found = httpx.get(f"{url}/v1/claims", params=[("ids", c) for c in expected], headers=headers,
                          timeout=30).json()
        return {r["claim_id"]: (r["status"], r["billed_cents"], r["paid_cents"]) for r in found["items"]}

    deadline = time.monotonic() + 90  # reporting reads the topics on its own time: poll, never sleep a fixed time
    while rows() != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    assert rows() == expected, "reporting's claim rows agree with the claims service"
    board = {k["kpi"]: k for k in httpx.get(f"{url}/v1/kpis", headers=headers, timeout=30).json()["kpis"]}
    adjudicated = [c for c in submitted if c["status"] in ("paid", "partially_paid", "denied")]
    assert board["denial_rate"]["denominator"] == len(adjudicated)
    assert board["denial_rate"]["numerator"] == sum(c["status"] in ("denied", "partially_paid") for c in adjudicated)
    assert board["first_pass_clean_rate"]["denominator"] > 0
    assert board["first_pass_clean_rate"]["target"]["goal"] == "92"
    drill = httpx.get(f"{url}/v1/kpis/denial_rate/claims", headers=headers, timeout=30).json()
    assert set(drill["base_claim_ids"]) == {c["claim_id"] for c in adjudicated}


def _an_integrator_reads_a_claim_and_its_eob(platform: embedded.RunningPlatform,
                                            claims: list[dict[str, Any]]) -> None:
    """One FHIR base URL (the front `rcm up` runs): `rcm fhir claim` reads a paid Claim, its ClaimResponse and its
    ExplanationOfBenefit, each valid FHIR, the EOB's payment the claim's."""
    from fhir.resources.R4B.claim import Claim
    from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit
    from rcm_cli import main
    from typer.testing import CliRunner

    paid = next(c for c in claims if c["status"] == "paid")
    result = CliRunner().invoke(main.app, ["fhir", "claim", paid["claim_id"], "--practice", PRACTICE, "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert Claim.model_validate(found["claim"]).status == "active"
    assert found["claim_response"]["outcome"] == "complete"
    (eob,) = [ExplanationOfBenefit.model_validate(e) for e in found["explanations_of_benefit"]]
    paid_to_provider = next(t.amount.value for t in eob.total or [] if t.category.coding[0].code == "paidtoprovider")
    assert paid_to_provider == Decimal(paid["paid"]) and eob.claim.reference == f"Claim/{paid['claim_id']}"
    statement = httpx.get(f"{platform.fhir_url}/fhir/r4/metadata", timeout=10).json()
    assert {r["type"] for r in statement["rest"][0]["resource"]} == {
        "Coverage", "CoverageEligibilityResponse", "Claim", "ClaimResponse", "ExplanationOfBenefit",
        "PaymentReconciliation", "Account", "Invoice"}


def _cents(amount: str) -> int:
    return int(Decimal(amount) * 100)


def test_a_killed_service_loses_nothing_and_applies_nothing_twice(
        running_platform: embedded.RunningPlatform) -> None:
    urls = running_platform.urls()
    headers = auth("practice-kill")
    victim = running_platform.processes["patient-billing"]
    payments = [{"amount": "10.00", "method": "cash"} for _ in range(5)]
    for n, body in enumerate(payments):
        r = httpx.post(f"{urls['patient-billing']}/v1/patients/pt-k/payments", json=body,
                       headers={**headers, "Idempotency-Key": f"pay-{n}"})
        assert r.status_code == 201
    os.kill(victim.pid, signal.SIGKILL)
    # The supervisor notices and starts it again on the same port.
    running_platform.wait_restarted("patient-billing")
    assert running_platform.processes["patient-billing"].pid != victim.pid
    # Retried requests after the crash replay their stored answers; the account holds each payment once.
    for n, body in enumerate(payments):
        r = httpx.post(f"{urls['patient-billing']}/v1/patients/pt-k/payments", json=body,
                       headers={**headers, "Idempotency-Key": f"pay-{n}"})
        assert r.status_code == 201
    account = httpx.get(f"{urls['patient-billing']}/v1/patients/pt-k/account", headers=headers).json()
    assert Decimal(account["balance"]) == Decimal("-50.00")
    assert len(account["entries"]) == 5

