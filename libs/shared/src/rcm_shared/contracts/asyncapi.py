"""Generate the AsyncAPI document (docs/asyncapi.yaml) from the contracts, so it cannot drift."""

from __future__ import annotations

from typing import Any

import yaml

from rcm_shared.contracts.envelope import EventEnvelope
from rcm_shared.contracts.registry import REGISTRY
from rcm_shared.contracts.topics import ALL_TOPICS, dead_letter_topic


def build_asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"EventEnvelope": _schema(EventEnvelope.model_json_schema())}
    for topic in ALL_TOPICS:
        refs = []
        for (event_type, version), model in sorted(REGISTRY.items()):
            if model.topic != topic:
                continue
            name = model.__name__
            schemas[name] = _schema(model.model_json_schema())
            messages[name] = {
                "name": event_type,
                "title": f"{event_type} v{version}",
                "summary": model.summary,
                "contentType": "application/json",
                "headers": {"$ref": "#/components/schemas/EventEnvelope"},
                "payload": {"$ref": f"#/components/schemas/{name}"},
                "x-schema-version": version,
                "x-kafka-key": "envelope.subject (aggregate id, never PHI)",
            }
            refs.append({"$ref": f"#/components/messages/{name}"})
        channels[topic] = {"address": topic, "messages": {r["$ref"].rsplit("/", 1)[1]: r for r in refs}}
        channels[dead_letter_topic(topic)] = {
            "address": dead_letter_topic(topic),
            "description": f"Dead letters of {topic}: the original bytes, with headers dlq-reason, "
            "dlq-consumer, dlq-attempts, dlq-original-offset.",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Mental-health revenue-cycle platform events",
            "version": "1.0.0",
            "description": "Every integration event travels in one CloudEvents-style envelope; the payload is "
            "in envelope.data. Generated from libs/shared/src/rcm_shared/contracts; do not edit by hand.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "components": {"messages": messages, "schemas": schemas},
    }


def _schema(schema: dict[str, Any]) -> dict[str, Any]:
    # Pydantic nests sub-models under $defs with #/$defs refs; keep them local to each schema.
    return schema


def render_asyncapi() -> str:
    return yaml.safe_dump(build_asyncapi(), sort_keys=False, allow_unicode=True, width=110)
