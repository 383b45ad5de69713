"""The sandbox card processor: a small ASGI app speaking the subset of Stripe's HTTP API patient billing uses, so
the official ``stripe`` client is exercised against it (its api base pointed here) in tests, `rcm up` and the demo.

What it speaks (form-encoded requests, JSON answers, Stripe's object and error shapes):

- ``POST /v1/customers``, ``GET /v1/payment_methods/{id}``
- ``POST /v1/setup_intents`` (``confirm=true``: a card saved for later, off-session use)
- ``POST /v1/payment_intents`` (``confirm=true``), ``GET /v1/payment_intents/{id}``, ``GET /v1/charges``
- ``POST /v1/refunds`` (never above what is left of the charge)
- ``POST /v1/checkout/sessions``: a hosted payment page at ``GET /pay/{session_id}`` (statements link to it)
- ``GET /v1/events``; every event is also delivered to the configured webhook endpoint, signed as Stripe signs
  (``Stripe-Signature: t=...,v1=HMAC-SHA256(secret, "t.payload")``), retried with backoff until accepted.
- ``Idempotency-Key`` on every POST: the same key and parameters answer the first response again (one charge,
  however many times or however concurrently it is sent); the same key with other parameters is refused.

Test payment methods (Stripe's names): ``pm_card_visa`` succeeds; ``pm_card_chargeDeclined`` and
``pm_card_chargeDeclinedInsufficientFunds`` decline; ``pm_card_authenticationRequired`` needs the cardholder
(3-D Secure: ``requires_action`` with a page to complete it, or declined ``authentication_required`` off-session);
``pm_card_chargeCustomerFail`` saves fine and fails later, when it is charged.

Faults for drills and tests: ``POST /_sandbox/faults`` ``{"outage": true}`` answers every API call 503 until
turned off; ``POST /_sandbox/events/{id}/redeliver`` sends an event again (a duplicate webhook).

State is kept in memory: a restarted sandbox forgets its objects (as a fresh Stripe test account would).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger("patient_billing.sandbox.processor")
API_VERSION = "2026-10-28.sandbox"


@dataclass(frozen=True)
class TestCard:
    brand: str
    last4: str
    setup: str  # succeeded | requires_action | declined
    charge: str  # succeeded | declined | requires_action
    decline_code: str = "generic_decline"


TEST_CARDS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("visa", "4242", "succeeded", "succeeded"),
    "pm_card_mastercard": TestCard("mastercard", "4444", "succeeded", "succeeded"),
    "pm_card_chargeDeclined": TestCard("visa", "0002", "declined", "declined"),
    "pm_card_chargeDeclinedInsufficientFunds": TestCard("visa", "9995", "declined", "declined",
                                                        "insufficient_funds"),
    "pm_card_authenticationRequired": TestCard("visa", "3184", "requires_action", "requires_action"),
    "pm_card_chargeCustomerFail": TestCard("visa", "0341", "succeeded", "declined"),
}


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, *, code: str | None = None, param: str | None = None,
                 decline_code: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.code, self.param, self.decline_code = status, kind, code, param, decline_code
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.kind, "message": str(self)}
        for name in ("code", "param", "decline_code"):
            if getattr(self, name):
                error[name] = getattr(self, name)
        return {"error": {**error, **self.extra}}


@dataclass
class SandboxState:
    api_key: str
    webhook_url: str | None
    webhook_secret: str
    public_url: str
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    idempotent: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    outage: bool = False
    delivered: list[tuple[str, int]] = field(default_factory=list)  # (event id, status) of each webhook attempt
    deliver: Callable[[bytes, str], Any] | None = None  # tests: take the signed webhook instead of posting it

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"

    def charges(self) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if o["object"] == "charge"]


def sign(payload: bytes, secret: str, at: int | None = None) -> str:
    """The ``Stripe-Signature`` header for ``payload``."""
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _form(raw: bytes) -> dict[str, Any]:
    """Stripe's form encoding (``metadata[a]=1``, ``items[0][price]=x``) as nested dicts and lists."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode(), keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    parsed: dict[str, Any] = _lists(out)
    return parsed


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


def _amount(params: dict[str, Any], name: str = "amount") -> int:
    value = params.get(name)
    if value is None or not str(value).isdigit() or int(value) <= 0:
        raise ApiError(400, "invalid_request_error", f"Invalid positive integer: {name}", param=name,
                       code="parameter_invalid_integer")
    return int(value)


def build_app(*, api_key: str = "sk_test_sandbox", webhook_url: str | None = None,
              webhook_secret: str = "whsec_sandbox",  # noqa: S107 (a sandbox default)
              public_url: str = "http://127.0.0.1:8011") -> Starlette:
    state = SandboxState(api_key, webhook_url, webhook_secret, public_url.rstrip("/"))
    tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ events and webhooks
    def emit(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = {"id": state.new_id("evt"), "object": "event", "api_version": API_VERSION,
                 "created": int(time.time()), "type": kind, "livemode": False, "pending_webhooks": 1,
                 "data": {"object": dict(obj)}, "request": {"id": None, "idempotency_key": None}}
        state.events.append(event)
        state.objects[str(event["id"])] = event
        _send_later(event)
        return event

    def _send_later(event: dict[str, Any]) -> None:
        try:
            task = asyncio.get_running_loop().create_task(_deliver(event))
        except RuntimeError:
            return
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _deliver(event: dict[str, Any]) -> None:
        payload = json.dumps(event).encode()
        if state.deliver is not None:
            state.deliver(payload, sign(payload, state.webhook_secret))
            return
        if not state.webhook_url:
            return
        delay = 0.5
        for _ in range(8):
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    response = await client.post(state.webhook_url, content=payload, headers={
                        "Content-Type": "application/json", "Stripe-Signature": sign(payload, state.webhook_secret)})
                state.delivered.append((event["id"], response.status_code))
                if response.status_code < 300:
                    return
            except httpx.HTTPError:
                state.delivered.append((event["id"], 0))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)
        log.warning("webhook not accepted after retries", extra={"event_id": event["id"]})

    # ------------------------------------------------------------------ objects
    def payment_method(pm_id: str) -> dict[str, Any]:
        card = TEST_CARDS.get(pm_id)
        if card is None and pm_id not in state.objects:
            raise ApiError(400, "invalid_request_error", f"No such PaymentMethod: '{pm_id}'", param="payment_method",
                           code="resource_missing")
        obj = state.objects.get(pm_id)
        if obj is None:
            assert card is not None
            obj = {"id": pm_id, "object": "payment_method", "type": "card", "customer": None,
                   "card": {"brand": card.brand, "last4": card.last4, "exp_month": 12, "exp_year": 2034}}
            state.objects[pm_id] = obj
        return obj

    def card_of(pm_id: str) -> TestCard:
        return TEST_CARDS.get(pm_id) or TEST_CARDS["pm_card_visa"]

    def customer(params: dict[str, Any]) -> dict[str, Any]:
        obj = {"id": state.new_id("cus"), "object": "customer", "created": int(time.time()),
               "metadata": params.get("metadata", {}), "description": params.get("description")}
        state.objects[obj["id"]] = obj
        return obj

    def setup_intent(params: dict[str, Any]) -> dict[str, Any]:
        pm_id = str(params.get("payment_method") or "")
        pm = payment_method(pm_id)
        card = card_of(pm_id)
        obj: dict[str, Any] = {
            "id": state.new_id("seti"), "object": "setup_intent", "created": int(time.time()),
            "customer": params.get("customer"), "payment_method": pm_id, "usage": params.get("usage", "off_session"),
            "metadata": params.get("metadata", {}), "status": "requires_confirmation", "next_action": None,
            "last_setup_error": None}
        state.objects[obj["id"]] = obj
        if params.get("confirm") != "true":
            return obj
        if card.setup == "declined":
            obj["status"] = "requires_payment_method"
            obj["last_setup_error"] = {"code": "card_declined", "decline_code": card.decline_code}
            emit("setup_intent.setup_failed", obj)
            raise ApiError(402, "card_error", "Your card was declined.", code="card_declined",
                           decline_code=card.decline_code, extra={"setup_intent": obj})
        if card.setup == "requires_action":
            obj["status"] = "requires_action"
            obj["next_action"] = {"type": "redirect_to_url", "redirect_to_url": {
                "url": f"{state.public_url}/authenticate/{obj['id']}", "return_url": params.get("return_url")}}
            return obj
        obj["status"] = "succeeded"
        pm["customer"] = params.get("customer")
        emit("setup_intent.succeeded", obj)
        return obj

    def payment_intent(params: dict[str, Any]) -> dict[str, Any]:
        amount = _amount(params)
        pm_id = str(params.get("payment_method") or "")
        if params.get("confirm") == "true":
            payment_method(pm_id)
        obj: dict[str, Any] = {
            "id": state.new_id("pi"), "object": "payment_intent", "created": int(time.time()), "amount": amount,
            "amount_received": 0, "currency": params.get("currency", "usd"), "customer": params.get("customer"),
            "payment_method": pm_id or None, "metadata": params.get("metadata", {}),
            "description": params.get("description"), "status": "requires_confirmation", "latest_charge": None,
            "next_action": None, "last_payment_error": None}
        state.objects[obj["id"]] = obj
        if params.get("confirm") == "true":
            confirm(obj, off_session=params.get("off_session") == "true")
        return obj

    def confirm(obj: dict[str, Any], *, off_session: bool) -> None:
        card = card_of(str(obj["payment_method"]))
        if card.charge == "requires_action" and not off_session:
            obj["status"] = "requires_action"
            obj["next_action"] = {"type": "redirect_to_url", "redirect_to_url": {
                "url": f"{state.public_url}/authenticate/{obj['id']}", "return_url": None}}
            emit("payment_intent.requires_action", obj)
            return
        if card.charge != "succeeded":
            code = "authentication_required" if card.charge == "requires_action" else "card_declined"
            decline = "authentication_required" if card.charge == "requires_action" else card.decline_code
            obj["status"] = "requires_payment_method"
            obj["last_payment_error"] = {"type": "card_error", "code": code, "decline_code": decline,
                                         "message": "Your card was declined."}
            emit("payment_intent.payment_failed", obj)
            raise ApiError(402, "card_error", "Your card was declined.", code=code, decline_code=decline,
                           extra={"payment_intent": obj})
        succeed(obj)

    def succeed(obj: dict[str, Any]) -> None:
        charge = {"id": state.new_id("ch"), "object": "charge", "amount": obj["amount"], "amount_refunded": 0,
                  "payment_intent": obj["id"], "status": "succeeded", "paid": True, "refunded": False,
                  "created": int(time.time()), "metadata": obj["metadata"]}
        state.objects[charge["id"]] = charge
        obj.update(status="succeeded", amount_received=obj["amount"], latest_charge=charge["id"], next_action=None)
        emit("payment_intent.succeeded", obj)

    def refund(params: dict[str, Any]) -> dict[str, Any]:
        pi = state.objects.get(str(params.get("payment_intent")))
        if pi is None or pi["object"] != "payment_intent":
            raise ApiError(400, "invalid_request_error", "No such payment_intent", param="payment_intent",
                           code="resource_missing")
        charge = state.objects.get(str(pi.get("latest_charge")))
        if charge is None:
            raise ApiError(400, "invalid_request_error", "This PaymentIntent has no successful charge to refund",
                           param="payment_intent", code="charge_not_refundable")
        left = charge["amount"] - charge["amount_refunded"]
        amount = _amount(params) if "amount" in params else left
        if left == 0:
            raise ApiError(400, "invalid_request_error", "Charge has already been refunded.",
                           code="charge_already_refunded")
        if amount > left:
            raise ApiError(400, "invalid_request_error",
                           f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                           param="amount", code="amount_too_large")
        obj = {"id": state.new_id("re"), "object": "refund", "amount": amount, "charge": charge["id"],
               "payment_intent": pi["id"], "status": "succeeded", "created": int(time.time()),
               "metadata": params.get("metadata", {}), "reason": params.get("reason")}
        state.objects[obj["id"]] = obj
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        emit("refund.created", obj)
        emit("charge.refunded", charge)
        return obj

    def checkout_session(params: dict[str, Any]) -> dict[str, Any]:
        items = params.get("line_items") or []
        total = 0
        for i, item in enumerate(items):
            price = item.get("price_data", {}) if isinstance(item, dict) else {}
            total += _amount(price, "unit_amount") * int(item.get("quantity", "1"))
            if not price:
                raise ApiError(400, "invalid_request_error", "line item needs price_data",
                               param=f"line_items[{i}][price_data]")
        if total <= 0:
            raise ApiError(400, "invalid_request_error", "Missing required param: line_items.", param="line_items")
        obj = {"id": state.new_id("cs"), "object": "checkout.session", "mode": params.get("mode", "payment"),
               "amount_total": total, "currency": "usd", "status": "open", "payment_status": "unpaid",
               "payment_intent": None, "client_reference_id": params.get("client_reference_id"),
               "metadata": params.get("metadata", {}), "success_url": params.get("success_url"),
               "created": int(time.time())}
        obj["url"] = f"{state.public_url}/pay/{obj['id']}"
        state.objects[obj["id"]] = obj
        return obj

    # ------------------------------------------------------------------ HTTP
    def authorized(request: Request) -> None:
        if state.outage:
            raise ApiError(503, "api_error", "The sandbox processor is unavailable (simulated outage).")
        if request.headers.get("authorization") != f"Bearer {state.api_key}":
            raise ApiError(401, "invalid_request_error", "Invalid API Key provided.")

    def error_response(exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    def creating(make: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                authorized(request)
                params = _form(raw)
                key = request.headers.get("idempotency-key")
                scoped = f"{request.url.path}:{key}" if key else None
                fingerprint = hashlib.sha256(raw).hexdigest()
                if scoped is not None and scoped in state.idempotent:
                    seen, status, body = state.idempotent[scoped]
                    if seen != fingerprint:
                        raise ApiError(400, "idempotency_error", "Keys for idempotent requests can only be used "
                                       "with the same parameters they were first used with.")
                    return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"})
                try:
                    status, body = 200, make(params)
                except ApiError as exc:
                    if exc.status >= 500:
                        raise
                    status, body = exc.status, exc.body()
                if scoped is not None:
                    state.idempotent[scoped] = (fingerprint, status, body)
                return JSONResponse(body, status_code=status)
            except ApiError as exc:
                return error_response(exc)
        return endpoint

    def reading(find: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                authorized(request)
                return JSONResponse(find(request))
            except ApiError as exc:
                return error_response(exc)
        return endpoint

    def retrieve(kind: str) -> Callable[[Request], dict[str, Any]]:
        def find(request: Request) -> dict[str, Any]:
            object_id = request.path_params["object_id"]
            obj = state.objects.get(object_id)
            if obj is None and kind == "payment_method" and object_id in TEST_CARDS:
                obj = payment_method(object_id)
            if obj is None or obj["object"] != kind:
                raise ApiError(404, "invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing")
            return obj
        return find

    def listing(items: list[dict[str, Any]], url: str) -> dict[str, Any]:
        return {"object": "list", "url": url, "has_more": False, "data": items}

    def list_charges(request: Request) -> dict[str, Any]:
        wanted = request.query_params.get("payment_intent")
        items = [c for c in state.charges() if wanted is None or c["payment_intent"] == wanted]
        return listing(sorted(items, key=lambda c: c["created"], reverse=True), "/v1/charges")

    def list_events(request: Request) -> dict[str, Any]:
        kind = request.query_params.get("type")
        return listing([e for e in reversed(state.events) if kind is None or e["type"] == kind], "/v1/events")

    async def faults(request: Request) -> Response:
        body = await request.json()
        state.outage = bool(body.get("outage", state.outage))
        return JSONResponse({"outage": state.outage})

    async def redeliver(request: Request) -> Response:
        event = state.objects.get(request.path_params["event_id"])
        if event is None or event["object"] != "event":
            return JSONResponse({"error": {"message": "no such event"}}, status_code=404)
        await _deliver(event)
        return JSONResponse({"redelivered": event["id"]})

    async def pay_page(request: Request) -> Response:
        session = state.objects.get(request.path_params["session_id"])
        if session is None or session["object"] != "checkout.session":
            return HTMLResponse("<h1>No such payment page</h1>", status_code=404)
        if request.method == "POST":
            form = dict(parse_qsl((await request.body()).decode()))
            return _pay(session, form.get("payment_method", "pm_card_visa"))
        amount = f"{session['amount_total'] / 100:.2f}"
        if session["status"] == "complete":
            return HTMLResponse(f"<h1>Paid</h1><p>${amount} received. Thank you.</p>")
        options = "".join(f'<option value="{html.escape(pm)}">{html.escape(pm)} ({c.brand} {c.last4})</option>'
                          for pm, c in TEST_CARDS.items())
        return HTMLResponse(
            "<!doctype html><title>Pay your statement</title><h1>Pay your statement</h1>"
            f"<p>Amount due: <strong>${amount}</strong></p>"
            f'<form method="post"><label>Test card <select name="payment_method">{options}</select></label>'
            '<button type="submit">Pay</button></form><p><small>Sandbox processor: no real card is charged.</small>')

    def _pay(session: dict[str, Any], pm_id: str) -> Response:
        if session["status"] == "complete":
            return HTMLResponse("<h1>Already paid</h1>")
        try:
            pi = payment_intent({"amount": str(session["amount_total"]), "payment_method": pm_id, "confirm": "true",
                                 "metadata": session["metadata"]})
        except ApiError as exc:
            return HTMLResponse(f"<h1>Payment declined</h1><p>{html.escape(str(exc))}</p>", status_code=402)
        if pi["status"] != "succeeded":
            return HTMLResponse(f'<h1>Authentication needed</h1><a href="{pi["next_action"]["redirect_to_url"]["url"]}"'
                                '>Authenticate</a>', status_code=402)
        session.update(status="complete", payment_status="paid", payment_intent=pi["id"])
        emit("checkout.session.completed", session)
        return HTMLResponse(f"<h1>Paid</h1><p>${session['amount_total'] / 100:.2f} received. Thank you.</p>")

    async def authenticate(request: Request) -> Response:
        """The cardholder completes 3-D Secure (a POST approves it; ``?fail=1`` refuses it)."""
        obj = state.objects.get(request.path_params["intent_id"])
        if obj is None or obj.get("status") != "requires_action":
            return HTMLResponse("<h1>Nothing to authenticate</h1>", status_code=404)
        if request.method == "GET":
            return HTMLResponse('<h1>Authenticate this payment</h1><form method="post"><button>Complete</button>'
                                '</form>')
        if request.query_params.get("fail"):
            obj.update(status="requires_payment_method", next_action=None,
                       last_payment_error={"code": "authentication_required"})
            emit(f"{obj['object']}.{'setup_failed' if obj['object'] == 'setup_intent' else 'payment_failed'}", obj)
            return HTMLResponse("<h1>Authentication failed</h1>", status_code=402)
        if obj["object"] == "setup_intent":
            obj.update(status="succeeded", next_action=None)
            payment_method(str(obj["payment_method"]))["customer"] = obj["customer"]
            emit("setup_intent.succeeded", obj)
        else:
            succeed(obj)
        return HTMLResponse("<h1>Authenticated</h1>")

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "outage": state.outage})

    routes = [
        Route("/v1/customers", creating(customer), methods=["POST"]),
        Route("/v1/setup_intents", creating(setup_intent), methods=["POST"]),
        Route("/v1/setup_intents/{object_id}", reading(retrieve("setup_intent")), methods=["GET"]),
        Route("/v1/payment_intents", creating(payment_intent), methods=["POST"]),
        Route("/v1/payment_intents/{object_id}", reading(retrieve("payment_intent")), methods=["GET"]),
        Route("/v1/payment_methods/{object_id}", reading(retrieve("payment_method")), methods=["GET"]),
        Route("/v1/charges", reading(list_charges), methods=["GET"]),
        Route("/v1/refunds", creating(refund), methods=["POST"]),
        Route("/v1/refunds/{object_id}", reading(retrieve("refund")), methods=["GET"]),
        Route("/v1/checkout/sessions", creating(checkout_session), methods=["POST"]),
        Route("/v1/checkout/sessions/{object_id}", reading(retrieve("checkout.session")), methods=["GET"]),
        Route("/v1/events", reading(list_events), methods=["GET"]),
        Route("/v1/events/{object_id}", reading(retrieve("event")), methods=["GET"]),
        Route("/pay/{session_id}", pay_page, methods=["GET", "POST"]),
        Route("/authenticate/{intent_id}", authenticate, methods=["GET", "POST"]),
        Route("/_sandbox/faults", faults, methods=["POST"]),
        Route("/_sandbox/events/{event_id}/redeliver", redeliver, methods=["POST"]),
        Route("/healthz", health), Route("/readyz", health),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    return app


def main() -> None:
    """``python -m patient_billing.sandbox.processor``: the sandbox on RCM_SANDBOX_PROCESSOR_PORT (8011)."""
    import uvicorn

    port = int(os.environ.get("RCM_SANDBOX_PROCESSOR_PORT", "8011"))
    app = build_app(api_key=os.environ.get("RCM_PROCESSOR_API_KEY", "sk_test_sandbox"),
                    webhook_url=os.environ.get("RCM_SANDBOX_WEBHOOK_URL") or None,
                    webhook_secret=os.environ.get("RCM_PROCESSOR_WEBHOOK_SECRET", "whsec_sandbox"),
                    public_url=os.environ.get("RCM_SANDBOX_PROCESSOR_URL", f"http://127.0.0.1:{port}"))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
