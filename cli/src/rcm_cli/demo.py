"""rcm demo: a realistic batch of visits through the running platform, with the payer played locally.

Seeds what a practice sets up once (clinician enrollments, prior authorizations, coverage checks), posts
the visits, submits the clean claims as 837P files to the sandbox clearinghouse, reads those files back as
the payer would, adjudicates them, posts the 835 ERAs to remittance, and prints what happened.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rcm_shared.clock import SystemClock
from rcm_shared.config import ServiceSettings
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from rcm_cli import platform as embedded
from rcm_cli.payer import PayerRules, adjudicate, read_837_claims, write_835
from rcm_cli.tokens import issuer_url, request_token

console = Console()
PRACTICE = "demo-practice"
ADDRESS = {"line1": "100 MAIN ST", "city": "HARTFORD", "state": "CT", "postal_code": "06103"}
BILLING: dict[str, Any] = {"npi": "1245319599", "name": "RIVERSIDE COUNSELING GROUP", "tax_id": "123456789",
                           "address": ADDRESS}
CLINICIANS = [
    {"npi": "1234567893", "first_name": "JORDAN", "last_name": "RIVERA", "credential": "LCSW"},
    {"npi": "1679576722", "first_name": "SAM", "last_name": "OKAFOR", "credential": "MD"},
]
# Sandbox payer members (see the eligibility service's sandbox plan table).
PATIENTS: list[dict[str, Any]] = [
    {"patient_id": "demo-pt-1", "member_id": "SBX000001", "first": "ALEX", "last": "SAMPLE", "dob": "1988-04-12",
     "authorized": True},
    {"patient_id": "demo-pt-2", "member_id": "SBX000004", "first": "CASEY", "last": "EXAMPLE", "dob": "2001-11-11",
     "authorized": True},
    {"patient_id": "demo-pt-3", "member_id": "SBX000005", "first": "MORGAN", "last": "TESTER", "dob": "1969-02-28",
     "authorized": False},
]
SANDBOX_PAYER = PayerRules(
    payer_id="SBXHP", payer_name="SANDBOX HEALTH PLAN",
    fee_schedule={"90837": Decimal("150.00"), "90834": Decimal("110.00"), "90832": Decimal("80.00"),
                  "90791": Decimal("180.00"), "99213": Decimal("95.00"), "90833": Decimal("75.00")},
    copay=Decimal("25.00"), coinsurance=Decimal("0.20"), requires_auth=True, deny_every=6)


def _visit(n: int, patient: dict[str, Any], dos: date, rng: random.Random) -> dict[str, Any]:
    kind, minutes, em, clinician = rng.choice([
        ("psychotherapy", 53, None, CLINICIANS[0]), ("psychotherapy", 45, None, CLINICIANS[0]),
        ("psychotherapy", 30, None, CLINICIANS[0]), ("em_with_psychotherapy", 25, "99213", CLINICIANS[1]),
    ])
    video = rng.random() < 0.3
    return {
        "external_visit_id": f"demo-{int(time.time())}-{n}", "patient_id": patient["patient_id"],
        "patient": {"first_name": patient["first"], "last_name": patient["last"], "birth_date": patient["dob"],
                    "gender": "U", "address": ADDRESS},
        "coverage": {"payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN", "member_id": patient["member_id"]},
        "date_of_service": dos.isoformat(), "service_kind": kind, "psychotherapy_minutes": minutes,
        "em_code": em, "modality": "video" if video else "in_person", "patient_at_home": video,
        "diagnoses": rng.choice([["F41.1"], ["F32.1", "F41.1"], ["F43.10"]]), "rendering": clinician,
        "billing_provider": BILLING, "program": rng.choice(["adult-outpatient", "anxiety-clinic"]),
    }


def _self_pay_visit(n: int, dos: date) -> dict[str, Any]:
    return {
        "external_visit_id": f"demo-{int(time.time())}-sp{n}", "patient_id": "demo-pt-selfpay",
        "patient": {"first_name": "RILEY", "last_name": "PRIVATE", "birth_date": "1990-05-05", "gender": "U",
                    "address": ADDRESS},
        "billing_model": "self_pay", "date_of_service": dos.isoformat(), "service_kind": "psychotherapy",
        "psychotherapy_minutes": 53, "diagnoses": ["F41.1"], "rendering": CLINICIANS[0], "billing_provider": BILLING,
        "self_pay_fee": "140.00",
    }


class Platform:
    def __init__(self, urls: dict[str, str], issuer: str) -> None:
        token = request_token(issuer, practices=[PRACTICE], role="practice-owner", subject="rcm-demo")
        self.urls = urls
        self.client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def post(self, service: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        r = self.client.post(self.urls[service] + path, json=body, **kwargs)
        if r.status_code >= 400 and r.status_code != 409:
            raise RuntimeError(f"{service} {path} answered {r.status_code}: {r.text[:300]}")
        return r

    def get(self, service: str, path: str, **params: Any) -> Any:
        r = self.client.get(self.urls[service] + path, params=params)
        r.raise_for_status()
        return r.json()


def _wait(what: str, check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise RuntimeError(f"timed out waiting for {what}")


def demo(visits: Annotated[int, typer.Option(help="How many visits to send")] = 24,
         seed: Annotated[int, typer.Option(help="Random seed")] = 7) -> None:
    """Send a realistic batch of visits through the running platform and play the payer."""
    try:
        state = embedded.load_state(embedded.VAR_DIR())
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    services = state["services"]
    assert isinstance(services, dict)
    api = Platform({name: info["url"] for name, info in services.items()}, issuer_url())
    clearinghouse = Path(str(state["clearinghouse_dir"]))
    rng = random.Random(seed)
    # the practice's date, as the services count it (at 21:00 in New York the machine may already be on tomorrow)
    today = SystemClock(ServiceSettings().practice_time_zone).today()

    console.rule("1. Practice set-up: enrollments, authorizations, coverage checks")
    set_up_practice(api, today)

    console.rule(f"2. {visits} visits from the EHR")
    insured = 0
    days = unbilled_days(api, today)
    taken: set[tuple[str, date]] = set()
    with Progress(console=console) as progress:
        task = progress.add_task("posting visits", total=visits)
        for n in range(visits):
            if n % 8 == 7:
                body = _self_pay_visit(n, today - timedelta(days=rng.randint(2, 28)))
            else:
                patient = rng.choice(PATIENTS)
                # A day of its own for the patient: the same services twice on a day are held as a duplicate claim
                # (what a second `rcm demo` would otherwise get for most of its visits).
                dos = next((d for d in days if (patient["patient_id"], d) not in taken),
                           today - timedelta(days=rng.randint(2, 28)))
                taken.add((patient["patient_id"], dos))
                body = _visit(n, patient, dos, rng)
                insured += 1
            api.post("claims", "/v1/visits", body, headers={"Idempotency-Key": body["external_visit_id"]})
            progress.advance(task)

    claims = wait_claims_built(api, insured)
    console.print(f"  claims: {dict(Counter(c['status'] for c in claims))}")

    console.rule("3. Submission: 837P batches to the sandbox clearinghouse")
    submit_clean_claims(api)

    console.rule("4. The payer adjudicates and sends 835 ERAs back")
    era_ids = answer_submitted_claims(api, clearinghouse, today)
    eras = wait_eras_processed(api, era_ids)
    claims = wait_claims_settled(api)
    _report(api, claims, eras)
    _patient_payments(api, today)
    _documents(api, claims, today)


def unbilled_days(api: Platform, today: date) -> list[date]:
    """The last four weeks' days (from two days ago back) on which the practice has no claim yet, newest first."""
    billed: set[str] = set()
    cursor: str | None = None
    while True:
        page = api.get("claims", "/v1/claims", limit=500, **({"cursor": cursor} if cursor else {}))
        billed.update(c["date_of_service"] for c in page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return [d for d in (today - timedelta(days=back) for back in range(2, 29)) if d.isoformat() not in billed]


def set_up_practice(api: Platform, today: date, approved_units: int = 12) -> None:
    """What a practice sets up once: its clinicians' enrollments, the prior authorizations, coverage checks."""
    for npi in [c["npi"] for c in CLINICIANS] + [BILLING["npi"]]:
        api.post("authorizations", "/v1/credentialing/enrollments", {
            "npi": npi, "payer_id": "SBXHP", "effective_from": (today - timedelta(days=365)).isoformat()})
    for patient in PATIENTS:
        if patient["authorized"]:
            api.post("authorizations", "/v1/authorizations", {
                "number": f"AUTH-{patient['patient_id'].upper()}", "patient_id": patient["patient_id"],
                "payer_id": "SBXHP", "cpt_codes": ["90832", "90834", "90837", "90833", "99213"],
                "approved_units": approved_units, "start": (today - timedelta(days=60)).isoformat(),
                "end": (today + timedelta(days=20)).isoformat()})
        check = api.post("eligibility", "/v1/coverage-checks", {
            "patient_id": patient["patient_id"], "payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN",
            "provider_npi": BILLING["npi"], "provider_name": BILLING["name"],
            "subscriber": {"first_name": patient["first"], "last_name": patient["last"],
                           "member_id": patient["member_id"], "birth_date": patient["dob"]},
            "service_date": (today - timedelta(days=30)).isoformat()}).json()
        console.print(f"  coverage {patient['patient_id']}: {check['results'][0]['status']}")


def wait_claims_built(api: Platform, insured: int, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Until the practice has ``insured`` claims and none waits for its facts (authorizations and eligibility
    announce them)."""
    def built() -> list[dict[str, Any]] | None:
        items = api.get("claims", "/v1/claims", limit=500)["items"]
        waiting = [c for c in items if c["status"] == "awaiting_facts"]
        return items if len(items) >= insured and not waiting else None

    result: list[dict[str, Any]] = _wait("claims to be built and scrubbed", built, timeout)
    return result


def submit_clean_claims(api: Platform, timeout: float = 60.0) -> None:
    """Until every clean claim is batched and handed to the clearinghouse (the submission job may be between the
    two steps)."""
    def all_batched() -> bool:
        api.post("claims", "/v1/submission-batches")
        queued = [b for b in api.get("claims", "/v1/submission-batches") if b["status"] == "queued"]
        return not queued and not api.get("claims", "/v1/claims", status="scrubbed", limit=1)["items"]

    _wait("every clean claim to be batched", all_batched, timeout)


def answer_submitted_claims(api: Platform, clearinghouse: Path, today: date) -> list[str]:
    """The payer: every 837P in the clearinghouse's outbound folder not answered yet is adjudicated, its 835 kept
    under ``remittance/`` and posted to remittance. Returns the ERA ids."""
    returned_dir = clearinghouse / "remittance"
    returned_dir.mkdir(parents=True, exist_ok=True)
    # Every 837P the payer has not answered yet (the submission job may have sent some before this call).
    files = sorted(f for f in (clearinghouse / "outbound").glob("*.x12")
                   if not (returned_dir / f"835_{f.stem}.x12").exists())
    console.print(f"  {len(files)} file(s) in var/clearinghouse/outbound to answer: {[f.name for f in files]}")
    era_ids = []
    for index, file in enumerate(files, start=1):
        submitted = read_837_claims(file.read_text())
        era = write_835(adjudicate(submitted, SANDBOX_PAYER), SANDBOX_PAYER, payee_npi=BILLING["npi"],
                        payee_name=BILLING["name"], trace_number=f"{int(time.time())}{index:03d}",
                        control_number=int(time.time()) % 900_000_000 + index, payment_date=today)
        returned = returned_dir / f"835_{file.stem}.x12"
        response = api.post("remittance", "/v1/eras", None, content=era.encode(),
                            headers={"content-type": "application/edi-x12", "x-file-name": returned.name})
        returned.write_text(era)  # answered once remittance has it
        era_ids.append(response.json()["era_id"])
        console.print(f"  {returned.name}: {len(submitted)} claims -> ERA {response.json()['era_id']}")
    return era_ids


def wait_eras_processed(api: Platform, era_ids: list[str], timeout: float = 60.0) -> list[dict[str, Any]]:
    def processed(era_id: str) -> dict[str, Any] | None:
        body: dict[str, Any] = api.get("remittance", f"/v1/eras/{era_id}")
        return body if body["status"] != "received" else None

    return [_wait("the ERA to post", lambda e=e: processed(e), timeout) for e in era_ids]


def wait_claims_settled(api: Platform, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Until no claim is still submitted or accepted (each has heard its payment or denial)."""
    def settled() -> list[dict[str, Any]] | None:
        items = api.get("claims", "/v1/claims", limit=500)["items"]
        moving = [c for c in items if c["status"] in ("submitted", "accepted")]
        return items if not moving else None

    result: list[dict[str, Any]] = _wait("claims to settle", settled, timeout)
    return result


def _report(api: Platform, claims: list[dict[str, Any]], eras: list[dict[str, Any]]) -> None:
    console.rule("5. What happened")
    table = Table(title="Claims")
    for column in ("status", "count", "charges", "paid", "patient owes"):
        table.add_column(column)
    for status, group in sorted(Counter(c["status"] for c in claims).items()):
        rows = [c for c in claims if c["status"] == status]
        table.add_row(status, str(group), str(sum(Decimal(c["total_charge"]) for c in rows)),
                      str(sum(Decimal(c["paid"]) for c in rows)), str(sum(Decimal(c["patient_responsibility"])
                                                                          for c in rows)))
    console.print(table)
    held = [c for c in claims if c["status"] == "held"]
    for claim in held[:5]:
        console.print(f"  held {claim['claim_id'][:8]}: " + "; ".join(f["code"] for f in claim["findings"]))
    for era in eras:
        console.print(f"  ERA {era['era_id'][:8]}: {era['status']} {json.dumps(era['summary'])}")
    denials = api.get("remittance", "/v1/denials")["items"]
    table = Table(title="Denials (classified and routed)")
    for column in ("claim", "category", "codes", "amount", "queue", "next action"):
        table.add_column(column)
    for d in denials:
        table.add_row(str(d["claim_id"])[:8], d["category"], ",".join(d["reason_codes"]), d["amount"], d["queue"],
                      d["suggested_action"])
    console.print(table)
    accounts = _wait("patient balances", lambda: api.get("patient-billing", "/v1/accounts")["items"] or None,
                     timeout=30)
    table = Table(title="Patient balances")
    table.add_column("patient")
    table.add_column("balance")
    for account in accounts:
        table.add_row(account["patient_id"], account["balance"])
    console.print(table)
    books = api.get("remittance", "/v1/ledger/trial-balance")
    console.print(f"  books balanced: {books['balanced']} (debits {books['total_debits']} = credits "
                  f"{books['total_credits']})")
    report = api.get("claims", "/v1/reports/claims")
    console.print(f"  first-pass clean claim rate: {report['first_pass_clean_claim_rate']}")
    console.print("Files exchanged with the payer are under var/clearinghouse/ (outbound 837P, inbound 999, "
                  "remittance 835).")
    paid = next((c["claim_id"] for c in claims if c["status"] == "paid"), None)
    if paid:
        from rcm_cli.fhir_commands import base_url

        console.print(f"As FHIR (one base URL, {base_url()}): "
                      f"./rcm fhir claim {paid}   (the Claim, its ClaimResponse and ExplanationOfBenefit)")


def _patient_payments(api: Platform, today: date) -> None:
    """Card payments through patient billing, whose stripe client talks to the sandbox card processor: a payment,
    a partial refund, a declined card, a card on file with consent and a payment plan paid by autopay."""
    console.rule("6. Patient payments: the sandbox card processor, through the stripe client")
    run = int(time.time())
    pb = api.urls["patient-billing"]

    def post(path: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        return api.client.post(pb + path, json=body, headers={"Idempotency-Key": key} if key else {})

    paid = post("/v1/patients/demo-pt-selfpay/card-payments", {"amount": "60.00", "payment_method": "pm_card_visa"},
                key=f"demo-card-{run}")
    payment = paid.json()
    console.print(f"  card payment 60.00 (test card visa 4242): HTTP {paid.status_code}, {payment.get('state')}, "
                  f"processor PaymentIntent {payment.get('processor_ref')}")
    replay = post("/v1/patients/demo-pt-selfpay/card-payments", {"amount": "60.00", "payment_method": "pm_card_visa"},
                  key=f"demo-card-{run}")
    console.print(f"  the same Idempotency-Key again: {replay.json().get('payment_id') == payment.get('payment_id')} "
                  "(one payment, one charge)")
    refund = post(f"/v1/card-payments/{payment['payment_id']}/refunds", {"amount": "15.00", "reason": "courtesy"},
                  key=f"demo-refund-{run}")
    console.print(f"  refund 15.00: HTTP {refund.status_code}, refunded so far {refund.json().get('refunded')}")
    too_much = post(f"/v1/card-payments/{payment['payment_id']}/refunds", {"amount": "50.00", "reason": "too much"})
    console.print(f"  refund 50.00 more: HTTP {too_much.status_code} ({too_much.json().get('title')})")
    declined = post("/v1/patients/demo-pt-selfpay/card-payments",
                    {"amount": "20.00", "payment_method": "pm_card_chargeDeclinedInsufficientFunds"})
    console.print(f"  a declined card: HTTP {declined.status_code}, {declined.json().get('message')} "
                  f"(work items in card-declined: "
                  f"{len(api.get('patient-billing', '/v1/work-items', queue='card-declined')['items'])})")

    api.post("patient-billing", "/v1/patients/demo-pt-plan/financial-consent", {"signed_on": today.isoformat()})
    account_id = ""
    for n in range(2):
        fee = api.post("patient-billing", "/v1/patients/demo-pt-plan/missed-appointments", {
            "visit_id": f"demo-noshow-{run}-{n}", "service_date": today.isoformat(), "outcome": "no_show"})
        account_id = fee.json()["account_id"]
    card = post("/v1/patients/demo-pt-plan/payment-methods", {
        "payment_method": "pm_card_mastercard", "autopay": True,
        "consent": {"signed_on": today.isoformat(), "text": "card-on-file-and-autopay-2026-v1"}},
        key=f"demo-card-on-file-{run}").json()
    console.print(f"  card on file with consent: {card.get('brand')} {card.get('last4')}, {card.get('status')}, "
                  f"autopay {card.get('autopay')}")
    offered = post(f"/v1/accounts/{account_id}/plans", {"installments": 3, "first_due_on": today.isoformat(),
                                                        "autopay_method_id": card.get("method_id")},
                   key=f"demo-plan-{run}")
    if offered.status_code != 201:
        console.print(f"  payment plan: HTTP {offered.status_code} {offered.json().get('detail')}")
        return
    plan_id = offered.json()["plan_id"]
    api.post("patient-billing", "/v1/plans/run", {})
    plan = api.get("patient-billing", f"/v1/plans/{plan_id}")
    table = Table(title=f"Payment plan {plan_id[:8]} ({plan['policy_id']}, autopay): {plan['state']}, "
                        f"remaining {plan['remaining']}")
    for column in ("#", "due", "amount", "state"):
        table.add_column(column)
    for item in plan["installments"]:
        table.add_row(str(item["seq"]), str(item["due_on"]), item["amount"], item["state"])
    console.print(table)
    books = api.get("patient-billing", "/v1/ledger/trial-balance")
    console.print(f"  patient ledger balanced: debits {books['total_debits']} = credits {books['total_credits']}")


def _documents(api: Platform, claims: list[dict[str, Any]], today: date) -> None:
    """Step 6: the patient's documents. A superbill of an insured visit whose codes are its claim's, a Good Faith
    Estimate for the self-pay client whose dispute watch fires as later sessions are billed above it, and the
    month's statement run with its payment link; one PDF of each is left under var/documents/."""
    console.rule("6. Patient documents: a superbill, a Good Faith Estimate, the statement run")
    out = embedded.VAR_DIR() / "documents"
    out.mkdir(parents=True, exist_ok=True)
    put = api.client.put
    base = api.urls["patient-billing"]
    for path, body in [
        ("/v1/practice-profile", {"name": "Riverside Counseling Group", "address_lines": [
            "100 Main St", "Hartford, CT 06103"], "phone": "(860) 555-0142", "npi": BILLING["npi"],
            "tax_id": BILLING["tax_id"]}),
        *[(f"/v1/clinicians/{c['npi']}", {"name": f"{c['first_name'].title()} {c['last_name'].title()}",
                                          "credential": c["credential"], "license_number": f"00{c['npi'][-5:]}",
                                          "license_state": "CT"}) for c in CLINICIANS],
        ("/v1/people/demo-pt-selfpay", {"name": "Riley Private", "date_of_birth": "1990-05-05",
                                        "address_lines": ["100 Main St", "Hartford, CT 06103"]}),
        *[(f"/v1/people/{p['patient_id']}", {"name": f"{p['first'].title()} {p['last'].title()}",
                                             "date_of_birth": p["dob"], "address_lines": ["100 Main St",
                                                                                          "Hartford, CT 06103"]})
          for p in PATIENTS]]:
        put(base + path, json=body).raise_for_status()

    claim = next(c for c in claims if c["status"] in ("paid", "partially_paid", "denied"))
    full = api.get("claims", f"/v1/claims/{claim['claim_id']}")
    # the claim names no patient; the superbill is asked of each demo patient until the visit is theirs
    superbill = next(r for p in PATIENTS if (r := api.client.post(
        base + f"/v1/patients/{p['patient_id']}/superbills", json={"visit_id": full["visit_id"]})).status_code
        in (200, 201))
    coded = [(s["procedure_code"], s["modifiers"], s["units"]) for s in superbill.json()["shown"]["visits"][0][
        "services"]]
    claimed = [(ln["procedure_code"], ln["modifiers"], ln["units"]) for ln in full["lines"]]
    console.print(f"  superbill of visit {full['visit_id'][:8]}: {coded}; its claim: {claimed}; "
                  f"{'the same codes' if coded == claimed else 'CODES DIFFER'}")
    _save(api, f"/v1/superbills/{superbill.json()['superbill_id']}/pdf", out / "superbill.pdf")

    estimate = api.post("patient-billing", "/v1/patients/demo-pt-selfpay/estimates", {
        "trigger": "requested", "issue_now": True, "diagnoses": ["F41.1"], "services": [
            {"provider_npi": CLINICIANS[0]["npi"], "procedure_code": "90837", "description": "Psychotherapy, 60 min",
             "quantity": 1, "unit_charge": "100.00"}]}).json()
    _save(api, f"/v1/estimates/{estimate['estimate_id']}/pdf", out / "gfe.pdf")
    for n in range(4):  # four more sessions at the practice's self-pay fee: the bill passes the estimate + 400.00
        body = _self_pay_visit(100 + n, today)
        api.post("claims", "/v1/visits", body, headers={"Idempotency-Key": body["external_visit_id"]})
    watched = _wait("the dispute watch", lambda: (w := api.get(
        "patient-billing", f"/v1/estimates/{estimate['estimate_id']}")["watch"]).get(CLINICIANS[0]["npi"]) ==
        "reached" and w, timeout=60)
    console.print(f"  Good Faith Estimate {estimate['estimate_id'][:8]} ({estimate['total']}): dispute watch "
                  f"{watched}")

    run = api.post("patient-billing", "/v1/statement-runs", {"statement_date": today.isoformat()}).json()
    done = _wait("the statement run", lambda: (r := api.get("patient-billing", f"/v1/statement-runs/{run['run_id']}"))[
        "status"] == "completed" and r, timeout=120)
    console.print(f"  statement run {today}: {done['issued']} statements, print file {done['print_file']}")
    account = api.get("patient-billing", "/v1/patients/demo-pt-selfpay/account")["account_id"]
    statement = api.get("patient-billing", f"/v1/accounts/{account}/statements")["items"][0]
    _save(api, f"/v1/statements/{statement['statement_id']}/pdf", out / "statement.pdf")
    console.print(f"  statement due {statement['amount_due']} by {statement['due_date']}, pay at "
                  f"{statement['shown']['payment_url']}")
    console.print(f"  PDFs: {out}/statement.pdf, superbill.pdf, gfe.pdf")


def _save(api: Platform, path: str, to: Path) -> None:
    r = api.client.get(api.urls["patient-billing"] + path)
    r.raise_for_status()
    to.write_bytes(r.content)
