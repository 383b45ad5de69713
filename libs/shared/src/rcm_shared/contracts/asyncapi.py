"""Generate the AsyncAPI document (docs/asyncapi.yaml) from the contracts, so it cannot drift."""

from __future__ import annotations

from typing import Any

import yaml

from rcm_shared.contracts.envelope import CLOUDEVENTS_CONTENT_TYPE, EventEnvelope
from rcm_shared.contracts.registry import REGISTRY
from rcm_shared.contracts.topics import ALL_TOPICS, dead_letter_topic

KAFKA_HEADERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "content-type": {"const": CLOUDEVENTS_CONTENT_TYPE},
        "event-type": {"type": "string", "description": "the CloudEvent's type again, for routing without parsing"},
        "traceparent": {"type": "string", "description": "W3C trace context (also the traceparent extension)"},
    },
}


def build_asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"CloudEvent": _schema(EventEnvelope.model_json_schema(mode="serialization")),
                               "KafkaHeaders": KAFKA_HEADERS}
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
                "contentType": CLOUDEVENTS_CONTENT_TYPE,
                "headers": {"$ref": "#/components/schemas/KafkaHeaders"},
                # Structured mode: the value is the CloudEvent; this event's payload is its `data`.
                "payload": {"allOf": [
                    {"$ref": "#/components/schemas/CloudEvent"},
                    {"type": "object", "properties": {
                        "type": {"const": event_type}, "schemaversion": {"const": version},
                        "data": {"$ref": f"#/components/schemas/{name}"}}}]},
                "bindings": {"kafka": {"key": {"type": "string", "description": "the CloudEvent's subject: the "
                                               "aggregate id (never PHI)"}, "bindingVersion": "0.5.0"}},
                "x-schema-version": version,
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
            "description": "Every message follows the CloudEvents 1.0 Kafka protocol binding in structured mode: "
            "the value is the event in the CloudEvents JSON format (content-type application/cloudevents+json), the "
            "key is its subject. Extensions: schemaversion, practiceid, correlationid, causationid, traceparent. The "
            "payload is the event's data. Generated from libs/shared/src/rcm_shared/contracts; do not edit by hand.",
        },
        "defaultContentType": CLOUDEVENTS_CONTENT_TYPE,
        "channels": channels,
        "components": {"messages": messages, "schemas": schemas},
    }


def _schema(schema: dict[str, Any]) -> dict[str, Any]:
    # Pydantic nests sub-models under $defs with #/$defs refs; keep them local to each schema.
    return schema


def render_asyncapi() -> str:
    return yaml.safe_dump(build_asyncapi(), sort_keys=False, allow_unicode=True, width=110)
