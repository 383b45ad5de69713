"""Patient billing against real PostgreSQL and the real broker: events in, balances and events out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from patient_billing.bootstrap import build_app
from patient_billing.config import PatientBillingSettings
from rcm_shared.contracts import PatientResponsibilityAssessedV1, envelope_for, topics
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, publish, publish_envelopes, read_topic

pytestmark = pytest.mark.integration


def assessment(patient_id: str, total: str, assessment_id: str, practice: str = "practice-a"):  # type: ignore[no-untyped-def]
    payload = PatientResponsibilityAssessedV1(
        assessment_id=assessment_id, posting_id="post-1", claim_id="claim-1", patient_id=patient_id,
        practice_id=practice, date_of_service=date(2026, 10, 1), deductible=Decimal("0"),
        coinsurance=Decimal("0"), copay=Decimal(total), total=Decimal(total))
    return envelope_for(payload, source="remittance", subject="claim-1", practice_id=practice)


async def test_responsibility_posts_once_and_announces_the_new_balance(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(PatientBillingSettings, databases.create("pb"), broker)
    clock = fixed_clock(datetime(2026, 11, 1, 3, 59, tzinfo=UTC))  # 23:59 on 31 October in New York (EDT)
    app = build_app(settings, clock=clock)
    async with running(app) as client:
        event = assessment("pat-100", "30.00", "asm-1")
        # The same event delivered twice (relay retry, rebalance): applied once.
        await publish_envelopes(broker.bootstrap, topics.PATIENT_RESPONSIBILITY_ASSESSED, [event, event])

        async def balance() -> Decimal | None:
            r = await client.get("/v1/patients/pat-100/account", headers=auth())
            return Decimal(r.json()["balance"]) if r.status_code == 200 else None

        assert await eventually(balance, what="account balance") == Decimal("30.00")
        changed = await read_topic(broker.bootstrap, topics.PATIENT_BALANCE_CHANGED, expect=1)
        body = (await client.get("/v1/patients/pat-100/account", headers=auth())).json()
        assert len(changed) == 1, "one posting, one announcement"
        assert changed[0].key == body["account_id"].encode(), "keyed by the account id, never the patient id"
        assert len(body["entries"]) == 1
        # Service date 2026-10-01: on the practice's 31 October the open 30.00 is 30 days old, and only there.
        assert {k: v for k, v in body["aging"].items() if Decimal(v)} == {"0-30": "30.00"}
        # Two minutes later it is 1 November in New York (UTC's date did not change): 31 days old.
        clock.advance(timedelta(minutes=2))
        body = (await client.get("/v1/patients/pat-100/account", headers=auth())).json()
        assert {k: v for k, v in body["aging"].items() if Decimal(v)} == {"31-60": "30.00"}

        # Another practice's token sees nothing of practice-a's patient.
        other = await client.get("/v1/patients/pat-100/account", headers=auth("practice-b"))
        assert other.status_code == 404
        assert other.headers["content-type"].startswith("application/problem+json")


async def test_poison_event_goes_to_the_dead_letter_topic_and_the_consumer_goes_on(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(PatientBillingSettings, databases.create("pb"), broker)
    app = build_app(settings)
    async with running(app) as client:
        await publish(broker.bootstrap, topics.PATIENT_RESPONSIBILITY_ASSESSED,
                      [(b"poison-key", b"{not json at all")])
        await publish_envelopes(broker.bootstrap, topics.PATIENT_RESPONSIBILITY_ASSESSED,
                                [assessment("pat-200", "12.50", "asm-2")])
        dead = await read_topic(broker.bootstrap, topics.PATIENT_RESPONSIBILITY_ASSESSED + ".dlq", expect=1)
        poison = [r for r in dead if r.key == b"poison-key"]
        assert poison, "the undecodable message must be dead-lettered"
        headers = dict(poison[0].headers)
        assert headers["dlq-reason"].startswith(b"undecodable event")

        async def balance() -> Decimal | None:
            r = await client.get("/v1/patients/pat-200/account", headers=auth())
            return Decimal(r.json()["balance"]) if r.status_code == 200 else None

        assert await eventually(balance, what="the next event still applied") == Decimal("12.50")


async def test_payment_api_is_idempotent_and_refuses_bad_input(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(PatientBillingSettings, databases.create("pb"), broker)
    app = build_app(settings)
    async with running(app) as client:
        headers = {**auth(), "Idempotency-Key": "pay-1"}
        body = {"amount": "20.00", "method": "card"}
        first = await client.post("/v1/patients/pat-300/payments", json=body, headers=headers)
        second = await client.post("/v1/patients/pat-300/payments", json=body, headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert second.headers.get("idempotent-replayed") == "true"
        assert len(first.json()["entries"]) == 1
        reused = await client.post("/v1/patients/pat-300/payments", json={**body, "amount": "21.00"},
                                   headers=headers)
        assert reused.status_code == 422

        unknown = await client.post("/v1/patients/pat-300/payments", json={**body, "tip": 1}, headers=auth())
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["field"] == "body.(unknown field)", "a client's key is not echoed"
        malformed = await client.post("/v1/patients/pat-300/payments", content=b"{oops",
                                      headers={**auth(), "content-type": "application/json"})
        assert malformed.status_code == 400
        float_cents = await client.post("/v1/patients/pat-300/payments", json={**body, "amount": "1.005"},
                                        headers=auth())
        assert float_cents.status_code == 422
        no_token = await client.post("/v1/patients/pat-300/payments", json=body)
        assert no_token.status_code == 401
        wrong_scope = await client.post("/v1/patients/pat-300/payments", json=body,
                                        headers=auth(scopes=["patient-billing:read"]))
        assert wrong_scope.status_code == 403
        account = (await client.get("/v1/patients/pat-300/account", headers=auth())).json()
        assert Decimal(account["balance"]) == Decimal("-20.00")
        assert len(account["entries"]) == 1
