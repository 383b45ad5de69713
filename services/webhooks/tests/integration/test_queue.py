"""The queue on PostgreSQL: the due heads of every (endpoint, subject) line are found however long the lines held
behind a failing receiver are, and a delivery is leased to one worker only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rcm_shared.testing.fixtures import settings_for
from webhooks.bootstrap import build_runtime, build_services
from webhooks.config import WebhooksSettings
from webhooks.domain.model import Endpoint, Secret
from webhooks.service_layer import delivery
from webhooks.service_layer.fan_out import delivery_row

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 3, 1, 8, tzinfo=UTC)


async def test_long_held_lines_do_not_crowd_out_the_others(broker, databases) -> None:  # type: ignore[no-untyped-def]
    from rcm_shared.clock import FixedClock

    settings = settings_for(WebhooksSettings, databases.create("webhooks_queue"), broker)
    assert isinstance(settings, WebhooksSettings)
    services = build_services(settings, FixedClock(NOW))
    runtime = build_runtime(services)
    await runtime.migrate()
    try:
        async with services.uows() as uow:
            for name in ("failing", "healthy"):
                await uow.endpoints.add(Endpoint(name, "practice-a", f"https://{name}.example/", ("*",), False,
                                                 NOW, secrets=[Secret(f"s-{name}", "whsec_" + "A" * 44, NOW)]))
            await uow.events.add_new([{"event_id": f"e{i}", "practice_id": "practice-a", "event_type": "x",
                                       "subject": "s", "occurred_at": NOW, "received_at": NOW,
                                       "cloud_event": {}} for i in range(3000)])
            # 2,000 events of 200 claims held behind the failing receiver's retries, queued first
            rows = [{**delivery_row("failing", f"e{i}", f"claim-{i % 200}", NOW),
                     "next_attempt_at": NOW + timedelta(hours=2) if i < 200 else NOW} for i in range(2000)]
            rows += [delivery_row("healthy", f"e{2000 + i}", f"claim-{i}", NOW) for i in range(3)]
            await uow.deliveries.enqueue(rows)
        claimed = await delivery.claim_due(services.uows, now=NOW, lease_for=timedelta(minutes=1), limit=50)
        assert len(claimed) == 3, "only the healthy endpoint's heads are due"
        async with services.uows() as uow:
            found = [await uow.deliveries.get(i) for i in claimed]
        assert {d.endpoint_id for d in found if d} == {"healthy"}
        again = await delivery.claim_due(services.uows, now=NOW, lease_for=timedelta(minutes=1), limit=50)
        assert again == [], "leased: no second worker gets them"
    finally:
        await runtime.db.dispose()


async def test_phi_travels_only_to_an_https_endpoint_that_asked_while_its_practice_opts_in(broker, databases) -> None:  # type: ignore[no-untyped-def]
    import json

    from rcm_shared.clock import FixedClock
    from webhooks.bootstrap import load_rulebook
    from webhooks.domain.commands import SetPhiOptIn
    from webhooks.service_layer.endpoints import set_phi_opt_in

    settings = settings_for(WebhooksSettings, databases.create("webhooks_phi"), broker)
    assert isinstance(settings, WebhooksSettings)
    services = build_services(settings, FixedClock(NOW))
    runtime = build_runtime(services)
    await runtime.migrate()
    event = {"specversion": "1.0", "id": "e-phi", "type": "claim.submitted", "subject": "c-1",
             "practiceid": "practice-a", "data": {"claim_id": "c-1", "date_of_service": "2026-11-30",
                                                  "patient_control_number": "PCN-X"}}
    try:
        async with services.uows() as uow:
            await set_phi_opt_in(uow, SetPhiOptIn("practice-a", True), now=NOW)
            for name, url, wants in (("asks", "https://ehr.example/in", True), ("plain", "http://ehr.example/in",
                                                                                 True),
                                     ("default", "https://ehr.example/in", False)):
                await uow.endpoints.add(Endpoint(name, "practice-a", url, ("*",), wants, NOW,
                                                 secrets=[Secret(f"s-{name}", "whsec_" + "A" * 44, NOW)]))
            await uow.events.add_new([{"event_id": "e-phi", "practice_id": "practice-a",
                                       "event_type": "claim.submitted", "subject": "c-1", "occurred_at": NOW,
                                       "received_at": NOW, "cloud_event": event}])
            ids = await uow.deliveries.enqueue([delivery_row(n, "e-phi", "c-1", NOW)
                                                for n in ("asks", "plain", "default")])
        rules = load_rulebook()

        async def body(delivery_id: int) -> dict[str, object]:
            attempt = await delivery.prepare(services.uows, delivery_id, rules=rules, now=NOW)
            assert attempt is not None
            return dict(json.loads(attempt.body))

        asks, plain, default = [await body(i) for i in ids]
        assert asks == event, "the whole event, PHI included"
        assert "PCN-X" not in json.dumps(plain) and "PCN-X" not in json.dumps(default)
        async with services.uows() as uow:
            await set_phi_opt_in(uow, SetPhiOptIn("practice-a", False), now=NOW)
        assert (await body(ids[0]))["data"] == {"claim_id": "c-1"}, "opting out stops PHI at once"
    finally:
        await runtime.db.dispose()
