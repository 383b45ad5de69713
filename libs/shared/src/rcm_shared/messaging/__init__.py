"""Outbox publishing, inbox-deduplicated consuming, dead letters."""

from rcm_shared.messaging.consumer import BatchHandler, EventConsumer, EventHandler, PermanentEventError
from rcm_shared.messaging.dispatch import batch_dispatcher, event_dispatcher
from rcm_shared.messaging.outbox import stage_event, stage_events
from rcm_shared.messaging.relay import OutboxRelay

__all__ = ["BatchHandler", "EventConsumer", "EventHandler", "OutboxRelay", "PermanentEventError", "batch_dispatcher",
           "event_dispatcher", "stage_event", "stage_events"]
