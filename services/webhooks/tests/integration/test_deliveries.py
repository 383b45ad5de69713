"""Webhooks end to end on PostgreSQL and the embedded broker, delivering to local receivers the test starts: one
healthy, one slow (times out, then is retried), one failing (retried over the three-day schedule, then disabled),
one answering 410 (disabled at once), one redirecting (not followed) and one answering a huge body. Time is an
injected clock: three days of backoff pass in seconds."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from rcm_shared.clock import FixedClock
from rcm_shared.contracts import topics
from rcm_shared.contracts.claims import ClaimLineV1, ClaimStatusChangedV1, ClaimSubmittedV1
from rcm_shared.contracts.registry import envelope_for
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes
from standardwebhooks import Webhook
from webhooks.bootstrap import build_app, load_rulebook
from webhooks.config import WebhooksSettings
from webhooks.domain.signature import verify

from .receivers import Receivers, receivers

pytestmark = pytest.mark.integration
SCHEDULE = load_rulebook().delivery.schedules[0]
PHI = ("PCN-CASEY-EXAMPLE", "2026-11-30", "1234567893", "90837")


def _settings(databases: Any, broker: Any, name: str) -> WebhooksSettings:
    settings = settings_for(WebhooksSettings, databases.create(name), broker,
                            allowed_destination_networks={"*": ["127.0.0.0/8"]}, plain_http_practices=["*"],
                            delivery_poll_seconds=0.05, delivery_timeout_seconds=0.5,
                            delivery_connect_timeout_seconds=0.5)
    assert isinstance(settings, WebhooksSettings)
    return settings


def _status(claim_id: str, previous: str, status: str, practice: str = "practice-a") -> Any:
    return envelope_for(ClaimStatusChangedV1(claim_id=claim_id, practice_id=practice, previous_status=previous,
                                             status=status), source="claims", subject=claim_id, practice_id=practice)


def _submitted(claim_id: str) -> Any:
    return envelope_for(ClaimSubmittedV1(
        claim_id=claim_id, visit_id="v-1", practice_id="practice-a", patient_id="p-1", payer_id="SBXHP",
        patient_control_number=PHI[0], frequency_code="1", total_charge=Decimal("150.00"),
        date_of_service=datetime(2026, 11, 30).date(), rendering_npi=PHI[2], batch_id="b-1",
        interchange_control_number="000000001",
        lines=[ClaimLineV1(line_number=1, procedure_code=PHI[3], units=1, charge=Decimal("150.00"))]),
        source="claims", subject=claim_id, practice_id="practice-a")


async def _register(client: httpx.AsyncClient, url: str, event_types: list[str]) -> dict[str, Any]:
    answer = await client.post("/v1/webhook-endpoints", headers=auth(),
                               json={"url": url, "event_types": event_types})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _log(client: httpx.AsyncClient, endpoint_id: str) -> list[dict[str, Any]]:
    answer = await client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=auth())
    assert answer.status_code == 200, answer.text
    return list(reversed(answer.json()["items"]))  # oldest first


async def _endpoint(client: httpx.AsyncClient, endpoint_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/v1/webhook-endpoints/{endpoint_id}", headers=auth())).json()
    return body


def _events(received: Receivers, path: str) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in received.seen[path]]


async def test_signed_ordered_retried_and_disabled_deliveries(broker, databases, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    app = build_app(_settings(databases, broker, "webhooks"), clock=clock)
    async with receivers() as received, running(app) as client:
        healthy = await _register(client, received.url("healthy"), ["claim.*"])
        slow = await _register(client, received.url("slow"), ["claim.status-changed"])
        failing = await _register(client, received.url("failing"), ["claim.status-changed"])
        gone = await _register(client, received.url("gone"), ["claim.status-changed"])
        redirect = await _register(client, received.url("redirect"), ["claim.submitted"])
        huge = await _register(client, received.url("huge"), ["claim.submitted"])

        submitted, first, second = _submitted("c-1"), _status("c-1", "created", "submitted"), \
            _status("c-1", "submitted", "accepted")
        await publish_envelopes(broker.bootstrap, topics.CLAIM_SUBMITTED, [submitted])
        await publish_envelopes(broker.bootstrap, topics.CLAIM_STATUS_CHANGED,
                                [first, second, _status("c-9", "created", "submitted", practice="practice-b")])

        # healthy: every claim event of its practice, signed (the reference package verifies), as the CloudEvent
        # with the Kafka event's id, PHI withheld
        await eventually(lambda: _async(len(received.seen["healthy"]) >= 3), timeout=60, what="healthy deliveries")
        by_id = {r.headers["webhook-id"]: r for r in received.seen["healthy"]}
        assert set(by_id) == {submitted.id, first.id, second.id}, "the other practice's event is not delivered"
        for message_id, request in by_id.items():
            event = Webhook(healthy["secret"]).verify(request.body, request.headers)
            assert event["id"] == message_id and event["specversion"] == "1.0"
            assert request.headers["content-type"] == "application/cloudevents+json"
        claim = json.loads(by_id[submitted.id].body)
        assert claim["data"]["claim_id"] == "c-1" and claim["data"]["total_charge"] == "150.00"
        assert claim["phiwithheld"] is True and "date_of_service" not in claim["data"]
        assert not any(value in by_id[submitted.id].body.decode() for value in PHI)
        order = [r.headers["webhook-id"] for r in received.seen["healthy"]]
        assert order.index(first.id) < order.index(second.id), "one subject's events in order"

        # gone: 410 disables at once; the next event of the subject is held, not sent
        await eventually(lambda: _has(client, gone["endpoint_id"], "status", "disabled"), what="410 disables")
        assert (await _endpoint(client, gone["endpoint_id"]))["disabled_reason"] == "gone"
        assert [e["id"] for e in _events(received, "gone")] == [first.id]

        # redirect: not followed, a failed attempt; huge answer: delivered, the body not read to its end
        await eventually(lambda: _attempts(client, redirect["endpoint_id"], 0, 1), what="redirect attempt")
        (tried,) = await _log(client, redirect["endpoint_id"])
        assert tried["attempt_log"][0]["status_code"] == 307 and tried["attempt_log"][0]["error"] == "redirect"
        assert tried["status"] == "pending"
        await eventually(lambda: _has_delivery(client, huge["endpoint_id"], 0, "delivered"), what="huge answer")

        # slow: the first attempt times out; the second event of the subject waits for the first
        await eventually(lambda: _attempts(client, slow["endpoint_id"], 0, 1), what="slow attempt")
        log = await _log(client, slow["endpoint_id"])
        assert log[0]["attempt_log"][0]["error"] == "timeout" and log[0]["status"] == "pending"
        assert log[1]["attempts"] == 0, "event n+1 waits for event n of its subject"
        clock.advance(SCHEDULE.retry_after[0])
        await eventually(lambda: _has_delivery(client, slow["endpoint_id"], 1, "delivered"), what="slow retried")
        log = await _log(client, slow["endpoint_id"])
        assert [d["status"] for d in log] == ["delivered", "delivered"]
        assert [a["status_code"] for a in log[0]["attempt_log"]] == [None, 204]
        assert log[0]["attempt_log"][1]["latency_ms"] >= 0
        assert [e["id"] for e in _events(received, "slow")] == [first.id, first.id, second.id]

        # failing: retried on the schedule for about three days, then given up and the endpoint disabled; the
        # subject's next event never overtook it
        for attempt, wait in enumerate(SCHEDULE.retry_after, start=1):
            await eventually(lambda n=attempt: _attempts(client, failing["endpoint_id"], 0, n),  # type: ignore[misc]
                             what=f"failing attempt {attempt}")
            clock.advance(wait)
        await eventually(lambda: _has(client, failing["endpoint_id"], "status", "disabled"), what="disabled")
        log = await _log(client, failing["endpoint_id"])
        assert (log[0]["status"], log[0]["attempts"]) == ("given_up", SCHEDULE.max_attempts)
        assert (log[1]["status"], log[1]["attempts"]) == ("pending", 0), "held while disabled"
        assert {e["id"] for e in _events(received, "failing")} == {first.id}
        assert (await _endpoint(client, failing["endpoint_id"]))["disabled_reason"] == "failing"

        # the practice re-enables: what was held goes (and fails again here, which the log shows)
        enabled = await client.post(f"/v1/webhook-endpoints/{gone['endpoint_id']}/enable", headers=auth())
        assert enabled.status_code == 200 and enabled.json()["status"] == "enabled"
        await eventually(lambda: _has_delivery(client, gone["endpoint_id"], 1, "given_up"), what="held delivered")
        assert [e["id"] for e in _events(received, "gone")] == [first.id, second.id]

        # replay: one event, then a time range, with the events' own ids, signed with a secret in force
        replayed = await client.post(f"/v1/webhook-endpoints/{healthy['endpoint_id']}/replay", headers=auth(),
                                     json={"event_id": first.id})
        assert replayed.status_code == 202 and replayed.json()["queued"] == 1
        await eventually(lambda: _async(len(received.seen["healthy"]) == 4), what="replayed event")
        again = received.seen["healthy"][-1]
        assert again.headers["webhook-id"] == first.id
        assert verify(first.id, int(again.headers["webhook-timestamp"]), again.body,
                      again.headers["webhook-signature"], healthy["secret"])
        window = {"since": (clock.now() - timedelta(days=5)).isoformat(), "until": clock.now().isoformat()}
        ranged = await client.post(f"/v1/webhook-endpoints/{healthy['endpoint_id']}/replay", headers=auth(),
                                   json=window)
        assert ranged.json()["queued"] == 3
        await eventually(lambda: _async(len(received.seen["healthy"]) == 7), what="replayed range")

        # rotation: both secrets sign during the overlap, only the new one after
        rotated = (await client.post(f"/v1/webhook-endpoints/{healthy['endpoint_id']}/rotate-secret",
                                     headers=auth())).json()
        test = await client.post(f"/v1/webhook-endpoints/{healthy['endpoint_id']}/test", headers=auth())
        assert test.status_code == 202
        await eventually(lambda: _async(len(received.seen["healthy"]) == 8), what="test event")
        request = received.seen["healthy"][-1]
        assert json.loads(request.body)["type"] == "webhook.test"
        stamp = int(request.headers["webhook-timestamp"])
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        for secret in (healthy["secret"], rotated["secret"]):
            assert verify(request.headers["webhook-id"], stamp, request.body, request.headers["webhook-signature"],
                          secret)
        clock.advance(SCHEDULE.secret_overlap)
        await client.post(f"/v1/webhook-endpoints/{healthy['endpoint_id']}/test", headers=auth())
        await eventually(lambda: _async(len(received.seen["healthy"]) == 9), what="second test event")
        request = received.seen["healthy"][-1]
        stamp = int(request.headers["webhook-timestamp"])
        assert verify(request.headers["webhook-id"], stamp, request.body, request.headers["webhook-signature"],
                      rotated["secret"])
        assert not verify(request.headers["webhook-id"], stamp, request.body, request.headers["webhook-signature"],
                          healthy["secret"])

        # a deleted endpoint: gone from the list, nothing replayed to it
        assert (await client.delete(f"/v1/webhook-endpoints/{healthy['endpoint_id']}", headers=auth())
                ).status_code == 204
        refused = await client.post(f"/v1/webhook-endpoints/{healthy['endpoint_id']}/replay", headers=auth(),
                                    json={"event_id": first.id})
        assert refused.status_code == 409 and refused.json()["type"].endswith("/endpoint-deleted")
        listed = (await client.get("/v1/webhook-endpoints", headers=auth())).json()["items"]
        assert healthy["endpoint_id"] not in {e["endpoint_id"] for e in listed}
    assert not [r.getMessage() for r in caplog.records if any(v in r.getMessage() + str(r.__dict__) for v in PHI)]


async def test_bad_input_is_refused_with_problem_json(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = _settings(databases, broker, "webhooks_bad")
    settings.run_workers = False
    async with running(build_app(settings)) as client:
        async def refused(body: dict[str, Any]) -> dict[str, Any]:
            answer = await client.post("/v1/webhook-endpoints", headers=auth(), json=body)
            assert answer.status_code == 422, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            problem: dict[str, Any] = answer.json()
            return problem

        private = await refused({"url": "https://10.1.2.3/hook", "event_types": ["*"]})
        assert private["type"].endswith("/forbidden-destination") and private["errors"][0]["field"] == "url"
        metadata = await refused({"url": "https://169.254.169.254/latest", "event_types": ["*"]})
        assert metadata["type"].endswith("/forbidden-destination")
        unknown = await refused({"url": "https://127.0.0.1/hook", "event_types": ["claim.submitted", "claim.paid"]})
        assert unknown["type"].endswith("/unknown-event-type") and unknown["errors"][0]["field"] == "event_types[1]"
        credentials = await refused({"url": "https://user:pw@127.0.0.1/hook", "event_types": ["*"]})
        assert credentials["type"].endswith("/invalid-destination") and "pw" not in json.dumps(credentials)
        phi = await refused({"url": "https://127.0.0.1/hook", "event_types": ["*"], "include_phi": True})
        assert phi["type"].endswith("/phi-not-allowed"), "no opt-in yet"
        assert (await client.put("/v1/webhook-settings", headers=auth(), json={"phi_opt_in": True})).status_code == 200
        over_http = await refused({"url": "http://127.0.0.1/hook", "event_types": ["*"], "include_phi": True})
        assert over_http["type"].endswith("/phi-not-allowed"), "PHI only over https"
        opted = await client.post("/v1/webhook-endpoints", headers=auth(), json={
            "url": "https://127.0.0.1/hook", "event_types": ["*"], "include_phi": True})
        assert opted.status_code == 201 and opted.json()["include_phi"] is True

        missing = await client.post(f"/v1/webhook-endpoints/{opted.json()['endpoint_id']}/replay", headers=auth(),
                                    json={"event_id": "no-such-event"})
        assert missing.status_code == 404
        other = await client.get(f"/v1/webhook-endpoints/{opted.json()['endpoint_id']}",
                                 headers=auth("practice-b"))
        assert other.status_code == 404, "another practice's endpoint does not exist for it"
        read_only = await client.post("/v1/webhook-endpoints", headers=auth(scopes=["webhooks:read"]),
                                      json={"url": "https://127.0.0.1/hook", "event_types": ["*"]})
        assert read_only.status_code == 403


async def _async(value: bool) -> bool:
    return value


async def _has(client: httpx.AsyncClient, endpoint_id: str, key: str, value: Any) -> bool:
    return bool((await _endpoint(client, endpoint_id)).get(key) == value)


async def _attempts(client: httpx.AsyncClient, endpoint_id: str, index: int, at_least: int) -> bool:
    log = await _log(client, endpoint_id)
    return len(log) > index and log[index]["attempts"] >= at_least


async def _has_delivery(client: httpx.AsyncClient, endpoint_id: str, index: int, status: str) -> bool:
    log = await _log(client, endpoint_id)
    return len(log) > index and log[index]["status"] == status


async def test_a_restart_loses_nothing_and_an_attempt_cut_short_is_sent_again(broker, databases) -> None:  # type: ignore[no-untyped-def]
    from webhooks.service_layer import delivery

    settings = _settings(databases, broker, "webhooks_restart")
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    async with receivers() as received:
        first = build_app(settings.model_copy(update={"run_workers": False}), clock=clock)
        async with running(first) as client:
            endpoint = await _register(client, received.url("healthy"), ["*"])
            queued = []
            for _ in range(2):
                answer = await client.post(f"/v1/webhook-endpoints/{endpoint['endpoint_id']}/test", headers=auth())
                queued.append(answer.json()["event_id"])
            # a worker claims the first one and dies before sending it: its lease stands
            worker = first.state.worker
            leased = await delivery.claim_due(worker.uows, now=clock.now(), lease_for=worker.lease_for, limit=1)
            assert len(leased) == 1
        assert not received.seen["healthy"]

        second = build_app(settings, clock=clock)
        async with running(second) as client:
            log = await _log(client, endpoint["endpoint_id"])
            assert [d["status"] for d in log] == ["pending", "pending"]
            assert await second.state.worker.tick() == 0, "leased, and the next one waits behind it"
            assert not received.seen["healthy"]
            clock.advance(second.state.worker.lease_for)
            await eventually(lambda: _has_delivery(client, endpoint["endpoint_id"], 1, "delivered"),
                             what="delivered after the restart")
        assert [r.headers["webhook-id"] for r in received.seen["healthy"]] == queued, "in order, each once"
