"""Base for event payloads: strict (unknown fields refused), money as Decimal."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class EventPayload(BaseModel):
    """A versioned integration-event payload. ``event_type`` + ``schema_version`` name it on the wire."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str]
    summary: ClassVar[str] = ""
