"""Outbox publishing, inbox-deduplicated consuming, dead letters."""

from rcm_shared.messaging.consumer import EventConsumer, EventHandler, PermanentEventError
from rcm_shared.messaging.dispatch import event_dispatcher
from rcm_shared.messaging.outbox import stage_event, stage_events
from rcm_shared.messaging.relay import OutboxRelay

__all__ = ["EventConsumer", "EventHandler", "OutboxRelay", "PermanentEventError", "event_dispatcher", "stage_event",
           "stage_events"]
