"""One envelope for every integration event (CloudEvents-shaped).

``subject`` and the Kafka key are aggregate ids (UUIDs), never PHI. ``practice_id`` carries tenancy.
``traceparent`` carries W3C trace context so one visit can be followed from the EHR call to the posting.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), description="Unique event id (inbox key).")
    type: str = Field(description="Event type, e.g. 'visit.completed'.")
    schema_version: int = Field(ge=1, description="Version of the payload schema named by type.")
    source: str = Field(description="Producing service.")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str = Field(description="Aggregate id the event is about; also the Kafka key. Never PHI.")
    practice_id: str = Field(description="Tenant: the practice this event belongs to.")
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> EventEnvelope:
        return cls.model_validate_json(raw)
