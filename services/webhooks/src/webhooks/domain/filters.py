"""Which events an endpoint receives: its event-type filters, each an event type the platform publishes, a family
(``claim.*``: every type starting ``claim.``) or ``*`` (everything). A filter naming nothing we publish is refused,
so a typo does not silently deliver nothing."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from webhooks.domain.exceptions import UnknownEventType

EVERYTHING = "*"
TEST_EVENT_TYPE = "webhook.test"
MAX_FILTERS = 100


def validate_filters(filters: Sequence[str], known_types: Collection[str]) -> tuple[str, ...]:
    if not filters:
        raise UnknownEventType("event_types", "name at least one event type (or * for every event)")
    if len(filters) > MAX_FILTERS:
        raise UnknownEventType("event_types", f"at most {MAX_FILTERS} filters")
    kept: list[str] = []
    for i, name in enumerate(filters):
        if name == EVERYTHING or name in known_types or (
                name.endswith(".*") and any(t.startswith(name[:-1]) for t in known_types)):
            if name not in kept:
                kept.append(name)
            continue
        raise UnknownEventType(f"event_types[{i}]", "is not an event type the platform publishes "
                                                    "(GET /v1/webhook-event-types lists them)")
    return tuple(kept)


def matches(filters: Collection[str], event_type: str) -> bool:
    """Does an endpoint with these filters receive ``event_type``? The test event goes only where it is sent."""
    if event_type == TEST_EVENT_TYPE:
        return False
    return any(f in (EVERYTHING, event_type) or (f.endswith(".*") and event_type.startswith(f[:-1]))
               for f in filters)
