"""Messaging subscriptions on real PostgreSQL and the real broker: message-exchanged metered once per message, a
plan change mid-period prorated, one invoice (one balanced ledger charge) per period, closing twice changes nothing,
cancellation stops the next period; refusals are problem+json naming the field."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import patient_billing.domain as rules_package
import pytest
import yaml
from patient_billing.bootstrap import build_app
from patient_billing.config import PatientBillingSettings
from rcm_shared.clock import FixedClock
from rcm_shared.contracts import MessageExchangedV1, envelope_for, topics
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes

pytestmark = pytest.mark.integration


@dataclass
class Harness:
    client: httpx.AsyncClient
    clock: FixedClock
    bootstrap: str
    app: Any

    async def close(self, **body: Any) -> list[dict[str, Any]]:
        closed = await self.client.post("/v1/subscriptions/close-period", headers=auth(), json=body)
        assert closed.status_code == 200, closed.text
        invoices: list[dict[str, Any]] = closed.json()["invoices"]
        return invoices


@pytest.fixture
async def harness(broker, databases) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    settings = settings_for(PatientBillingSettings, databases.create("pb_subs"), broker)
    clock = FixedClock(datetime(2026, 11, 1, 17, tzinfo=UTC))
    app = build_app(settings, clock=clock)
    async with running(app) as client:
        yield Harness(client, clock, broker.bootstrap, app)


def message(n: int, day: int, direction: str = "clinician_to_patient") -> Any:
    return envelope_for(MessageExchangedV1(
        message_id=f"msg-{n}", practice_id="practice-a", patient_id="pt-msg", clinician_id="clin-1",
        direction=direction, sent_at=datetime(2026, 11, day, 15, tzinfo=UTC), minutes=3),
        source="ehr", subject=f"msg-{n}", practice_id="practice-a")


async def test_a_subscription_meters_messages_and_closes_each_period_into_one_invoice(harness: Harness) -> None:
    h = harness
    subscribed = await h.client.post("/v1/patients/pt-msg/subscriptions", headers=auth(),
                                     json={"plan_id": "messaging-basic"})
    assert subscribed.status_code == 201, subscribed.text
    sub_id = subscribed.json()["subscription_id"]
    again = await h.client.post("/v1/patients/pt-msg/subscriptions", headers=auth(),
                                json={"plan_id": "pay-per-exchange"})
    assert again.status_code == 422 and "patient_id" in again.text
    unknown = await h.client.post("/v1/patients/pt-other/subscriptions", headers=auth(), json={"plan_id": "gold"})
    assert unknown.status_code == 422 and "plan_id" in unknown.text
    assert (await h.client.post("/v1/patients/pt-x/subscriptions", json={"plan_id": "messaging-basic"})
            ).status_code == 401

    replies = [message(n, 3) for n in range(10)]
    await publish_envelopes(h.bootstrap, topics.MESSAGE_EXCHANGED, [
        *replies, replies[0], message(100, 4, "patient_to_clinician"), message(101, 20, "patient_to_clinician")])

    async def metered() -> dict[str, Any] | None:
        body: dict[str, Any] = (await h.client.get(f"/v1/subscriptions/{sub_id}", headers=auth())).json()
        return body if body["current_period"]["messages"] == 12 else None

    view = await eventually(metered, what="12 messages metered (a redelivery once)")
    assert view["current_period"] == {"period": "2026-11", "messages": 12, "minutes": 36,
                                    "billable_messages": 10}

    h.clock.set(datetime(2026, 11, 16, 17, tzinfo=UTC))
    changed = await h.client.post(f"/v1/subscriptions/{sub_id}/plan", headers=auth(),
                                  json={"plan_id": "messaging-unlimited"})
    assert changed.status_code == 200 and changed.json()["plan_id"] == "messaging-unlimited", changed.text
    early = await h.client.post("/v1/subscriptions/close-period", headers=auth(), json={"period": "2026-11"})
    assert early.status_code == 422 and "period" in early.text

    h.clock.set(datetime(2026, 12, 1, 17, tzinfo=UTC))
    [invoice] = await h.close()
    # basic 15/30 days: 24.50 with 4 included, 10 replies -> 6 x 7.50; unlimited 15/30 days: 64.50
    assert invoice["period"] == "2026-11" and Decimal(invoice["total"]) == Decimal("134.00")
    assert await h.close(period="2026-11") == [], "a period closes once"
    lines = (await h.client.get(f"/v1/subscriptions/{sub_id}/invoices", headers=auth())).json()["items"][0]["lines"]
    assert [(x["plan_id"], x["days"], x["overage_messages"]) for x in lines] == [
        ("messaging-basic", 15, 6), ("messaging-unlimited", 15, 0)]
    account = (await h.client.get("/v1/patients/pt-msg/account", headers=auth())).json()
    assert Decimal(account["balance"]) == Decimal("134.00")
    trial = (await h.client.get("/v1/ledger/trial-balance", headers=auth())).json()
    assert trial["balanced"] and trial["total_debits"] == trial["total_credits"]

    h.clock.set(datetime(2026, 12, 5, 17, tzinfo=UTC))
    cancelled = await h.client.post(f"/v1/subscriptions/{sub_id}/cancel", headers=auth())
    assert cancelled.json()["state"] == "cancelled" and cancelled.json()["ends_on"] == "2026-12-31"
    h.clock.set(datetime(2027, 1, 2, 17, tzinfo=UTC))
    [job] = [job for name, _, job in h.app.state.runtime.periodic if name == "subscription-periods"]
    [december] = (await job())["invoices"]  # the service's own periodic close: last month, every practice
    assert december["period"] == "2026-12" and december["total_cents"] == 12900
    assert await job() == {"invoices": [], "refused": []}
    h.clock.set(datetime(2027, 2, 2, 17, tzinfo=UTC))
    assert await h.close() == [], "cancelled: the next period is not billed"


async def test_concurrent_subscribes_make_one_subscription(harness: Harness) -> None:
    answers = await asyncio.gather(*(harness.client.post(
        "/v1/patients/pt-race/subscriptions", headers=auth(), json={"plan_id": "pay-per-exchange"})
        for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [201] + [422] * 7
    refused = next(a for a in answers if a.status_code == 422).json()
    assert refused["type"].endswith("subscription-refused") and "pt-race" not in str(refused)


async def test_bad_input_is_problem_json_naming_the_field(harness: Harness) -> None:
    c = harness.client
    for body in ({"period": "2026-13"}, {"period": 202611}, {"period": "2026-11", "extra": 1}):
        answer = await c.post("/v1/subscriptions/close-period", headers=auth(), json=body)
        assert answer.status_code == 422 and answer.headers["content-type"].startswith("application/problem+json")
    assert "period" in (await c.post("/v1/subscriptions/close-period", headers=auth(),
                                     json={"period": "2026-13"})).text
    bad_plan = await c.post("/v1/patients/pt-b/subscriptions", headers=auth(), json={"plan_id": "a b"})
    assert bad_plan.status_code == 422 and "plan_id" in bad_plan.text
    missing = await c.post("/v1/subscriptions/nope/cancel", headers=auth())
    assert missing.status_code == 404
    read_only = await c.post("/v1/patients/pt-b/subscriptions", headers=auth(scopes=["patient-billing:read"]),
                             json={"plan_id": "messaging-basic"})
    assert read_only.status_code == 403
    assert (await c.get("/v1/patients/pt-b/account", headers=auth())).status_code == 404, "nothing half-written"


async def test_a_subscription_the_rules_cannot_price_is_refused_and_the_others_close(
        broker, databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    packaged = yaml.safe_load((Path(rules_package.__file__).parent / "rules" / "subscriptions.yaml").read_text())
    for plan in packaged["plans"]:
        if plan["id"] == "pay-per-exchange":
            plan["effective_to"] = "2026-10-31"  # retired, no successor: November cannot be priced
    (tmp_path / "subscriptions.yaml").write_text(yaml.safe_dump(packaged))
    settings = settings_for(PatientBillingSettings, databases.create("pb_subs_rules"), broker,
                            rules_dir=str(tmp_path))
    clock = FixedClock(datetime(2026, 10, 20, 17, tzinfo=UTC))
    async with running(build_app(settings, clock=clock)) as client:
        for patient, plan_id in (("pt-old", "pay-per-exchange"), ("pt-new", "messaging-basic")):
            made = await client.post(f"/v1/patients/{patient}/subscriptions", headers=auth(), json={"plan_id": plan_id})
            assert made.status_code == 201, made.text
        clock.set(datetime(2026, 12, 1, 17, tzinfo=UTC))
        closed = (await client.post("/v1/subscriptions/close-period", headers=auth(),
                                    json={"period": "2026-11"})).json()
        assert [Decimal(i["total"]) for i in closed["invoices"]] == [Decimal("49.00")]
        assert len(closed["refused"]) == 1 and "pay-per-exchange" in closed["refused"][0]["reason"]
