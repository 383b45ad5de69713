"""Refusals of the webhooks domain; ``bootstrap.DOMAIN_ERRORS`` maps each to problem+json once. Messages name the
field and never echo a URL's query or a payload."""

from __future__ import annotations


class WebhookRefusal(Exception):
    """Bad input a practice can fix; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class InvalidDestination(WebhookRefusal):
    """Not an absolute http(s) URL, or plain http where HTTPS is required."""


class ForbiddenDestination(WebhookRefusal):
    """A loopback, link-local, private or otherwise internal address the practice's configuration does not allow."""


class UnknownEventType(WebhookRefusal):
    """An event-type filter naming no event the platform publishes."""


class PhiNotAllowed(WebhookRefusal):
    """PHI asked for without the practice's opt-in, or over plain http."""


class EndpointNotFound(Exception):
    """No endpoint with that id in this practice (or it was deleted)."""


class EventNotFound(Exception):
    """No event with that id was received for this practice."""


class EndpointDeleted(Exception):
    """The endpoint was deleted: nothing more is delivered to it, nor replayed."""
