"""OpenTelemetry tracing: W3C trace context travels in the event envelope and Kafka headers.

Span attributes carry ids (event id, topic, route template), never patient data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind

if TYPE_CHECKING:
    from rcm_shared.contracts.envelope import EventEnvelope

_tracer = trace.get_tracer("rcm")
_configured = False


def configure_tracing(service_name: str, otlp_endpoint: str | None) -> None:
    """Install a tracer provider once per process; export over OTLP/HTTP when an endpoint is set."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    trace.set_tracer_provider(provider)
    _configured = True


def tracer() -> trace.Tracer:
    return trace.get_tracer("rcm")


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def server_span(name: str, headers: dict[str, str]) -> Iterator[Span]:
    ctx = propagate.extract(headers)
    with tracer().start_as_current_span(name, context=ctx, kind=SpanKind.SERVER) as span:
        yield span


@contextmanager
def consume_span(topic: str, envelope: EventEnvelope, consumer: str) -> Iterator[Span]:
    carrier = {"traceparent": envelope.traceparent} if envelope.traceparent else {}
    ctx = propagate.extract(carrier)
    with tracer().start_as_current_span(f"consume {topic}", context=ctx, kind=SpanKind.CONSUMER) as span:
        span.set_attribute("messaging.system", "kafka")
        span.set_attribute("messaging.destination.name", topic)
        span.set_attribute("messaging.message.id", envelope.id)
        span.set_attribute("messaging.consumer.group.name", consumer)
        span.set_attribute("rcm.event_type", envelope.type)
        yield span


@contextmanager
def consume_batch_span(topic: str, envelopes: list[EventEnvelope], consumer: str) -> Iterator[Span]:
    """One span for a poll's events applied together, linked to each event's own trace."""
    links = []
    for envelope in envelopes:
        if envelope.traceparent:
            context = trace.get_current_span(propagate.extract({"traceparent": envelope.traceparent}))
            links.append(trace.Link(context.get_span_context()))
    with tracer().start_as_current_span(f"consume {topic}", kind=SpanKind.CONSUMER, links=links) as span:
        span.set_attribute("messaging.system", "kafka")
        span.set_attribute("messaging.destination.name", topic)
        span.set_attribute("messaging.batch.message_count", len(envelopes))
        span.set_attribute("messaging.consumer.group.name", consumer)
        yield span
