"""One envelope for every integration event: a CloudEvents 1.0 event in structured mode.

On Kafka each message's value is the event in the CloudEvents JSON format (``content-type:
application/cloudevents+json``), the key is the subject (the CloudEvents Kafka binding's partitioning key), so an
integrator reads our topics with any CloudEvents SDK (``cloudevents.kafka.from_structured``). Why structured and
not binary mode: the event stays one self-describing byte string end to end: the outbox stores it, the relay and
an outbox replay send it, a dead letter keeps it, and a webhook delivers the same bytes, with nothing to
reassemble from headers (which some tools drop and our dead-letter headers share).

Attributes: the CloudEvents ones (``specversion``, ``id``, ``source``, ``type``, ``subject``, ``time``,
``datacontenttype``) and extensions (lower-case, as the spec requires): ``schemaversion`` (the payload's version
for ``type``), ``practiceid`` (tenancy), ``correlationid`` / ``causationid``, ``traceparent`` (the distributed
tracing extension, W3C trace context). ``subject`` and the Kafka key are aggregate ids (UUIDs), never PHI.

Python code uses snake_case names (``envelope.practice_id``); the wire uses the CloudEvents names. Events written
before the binding (``practice_id``, ``schema_version``, ... and no ``specversion``) are still read.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


def _alias(wire: str, legacy: str) -> Any:
    return {"serialization_alias": wire, "validation_alias": AliasChoices(wire, legacy)}


class EventEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), description="Unique event id (inbox key).")
    type: str = Field(description="Event type, e.g. 'visit.completed'.")
    source: str = Field(description="Producing service (a URI reference).")
    subject: str = Field(description="Aggregate id the event is about; also the Kafka key. Never PHI.")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: Literal["application/json"] = "application/json"
    schema_version: int = Field(ge=1, description="Version of the payload schema named by type.",
                                **_alias("schemaversion", "schema_version"))
    practice_id: str = Field(description="Tenant: the practice this event belongs to.",
                             **_alias("practiceid", "practice_id"))
    correlation_id: str | None = Field(default=None, **_alias("correlationid", "correlation_id"))
    causation_id: str | None = Field(default=None, **_alias("causationid", "causation_id"))
    traceparent: str | None = None
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> EventEnvelope:
        return cls.model_validate_json(raw)
