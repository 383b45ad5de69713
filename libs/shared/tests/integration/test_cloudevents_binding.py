"""Every message we put on Kafka is a CloudEvent under the Kafka protocol binding (structured mode), as the
`cloudevents` SDK reads it: staged one at a time or in bulk, with and without a causing event, published by the
relay to the real broker, then parsed from the record's headers, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka, from_structured
from cloudevents.core.formats.json import JSONFormat
from rcm_shared.broker import EmbeddedBroker
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import ClaimStatusChangedV1, EventEnvelope, envelope_for, topics
from rcm_shared.contracts.envelope import CLOUDEVENTS_CONTENT_TYPE
from rcm_shared.db.engine import create_engine, session_factory
from rcm_shared.db.platform_tables import add_platform_tables
from rcm_shared.db.types import service_metadata
from rcm_shared.messaging import OutboxRelay, stage_event, stage_events
from rcm_shared.testing.kafka import read_topic

pytestmark = pytest.mark.integration


def status(claim: str, to: str) -> ClaimStatusChangedV1:
    return ClaimStatusChangedV1(claim_id=claim, practice_id="p-ce", previous_status="draft", status=to)


async def test_published_events_are_structured_cloudevents_the_sdk_reads(tmp_path: Path,
                                                                         broker: EmbeddedBroker) -> None:
    metadata = service_metadata()
    platform = add_platform_tables(metadata)
    settings = ServiceSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'ce.db'}",
                               kafka_bootstrap_servers=broker.bootstrap)
    engine = create_engine(settings.database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)
    cause = envelope_for(status("c-0", "scrubbed"), source="claims", subject="c-0", practice_id="p-ce")
    async with sessions() as session, session.begin():
        single = await stage_event(session, platform, status("c-1", "submitted"), source="claims", subject="c-1",
                                   practice_id="p-ce")
        many = await stage_events(session, platform, [(status(f"c-{n}", "accepted"), f"c-{n}") for n in (2, 3)],
                                  source="claims", practice_id="p-ce", causation=cause)
    relay = OutboxRelay(settings, sessions, platform)
    assert await relay.publish_pending() == 3
    records = await read_topic(broker.bootstrap, topics.CLAIM_STATUS_CHANGED, expect=3)
    await engine.dispose()

    assert len(records) == 3
    by_id = {}
    for record in records:
        headers = {k: v for k, v in record.headers}
        assert headers["content-type"] == CLOUDEVENTS_CONTENT_TYPE.encode()
        message = KafkaMessage(headers=headers, key=record.key, value=record.value)
        event = from_structured(message, JSONFormat())
        assert from_kafka(message, JSONFormat()).get_id() == event.get_id(), "content-type says structured"
        assert event.get_specversion() == "1.0"
        assert event.get_type() == "claim.status-changed" and event.get_source() == "claims"
        assert event.get_subject() == record.key.decode(), "the key is the subject"
        assert event.get_datacontenttype() == "application/json"
        assert event.get_extension("practiceid") == "p-ce" and int(event.get_extension("schemaversion")) == 1
        data = event.get_data()
        assert isinstance(data, dict) and data["claim_id"] == event.get_subject()
        by_id[event.get_id()] = (event, EventEnvelope.from_bytes(record.value))

    assert set(by_id) == {single.id, *many}
    for event_id in many:
        event, envelope = by_id[event_id]
        assert event.get_extension("causationid") == cause.id == envelope.causation_id
        assert event.get_extension("correlationid") == cause.id
    assert "causationid" not in by_id[single.id][0].get_attributes(), "absent attributes are left out, not null"


def test_events_written_before_the_binding_are_still_read() -> None:
    legacy = (b'{"id":"e-1","type":"claim.status-changed","schema_version":1,"source":"claims",'
              b'"time":"2026-11-30T12:00:00Z","subject":"c-1","practice_id":"p-1","correlation_id":null,'
              b'"causation_id":null,"traceparent":null,"data":{"claim_id":"c-1"}}')
    envelope = EventEnvelope.from_bytes(legacy)
    assert (envelope.practice_id, envelope.schema_version, envelope.specversion) == ("p-1", 1, "1.0")
    assert b'"practiceid":"p-1"' in envelope.to_bytes() and b"practice_id" not in envelope.to_bytes()
