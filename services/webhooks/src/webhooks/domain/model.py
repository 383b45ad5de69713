"""The aggregates: an endpoint (a practice's subscription: where, which events, its secrets, whether it is
enabled) and a delivery (one event owed to one endpoint, with its attempts). Each guards its own changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from webhooks.domain.exceptions import EndpointDeleted
from webhooks.domain.schedule import DeliverySchedule

EndpointStatus = Literal["enabled", "disabled", "deleted"]
DeliveryStatus = Literal["pending", "delivered", "given_up"]
#: Why an endpoint was disabled: the receiver answered 410 Gone, it failed for too long, or the practice paused it.
DisabledReason = Literal["gone", "failing", "paused"]


@dataclass
class Secret:
    secret_id: str
    value: str
    created_at: datetime
    expires_at: datetime | None = None  # set when a newer secret replaced it; signs until then

    def in_force(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass
class Endpoint:
    endpoint_id: str
    practice_id: str
    url: str
    event_types: tuple[str, ...]
    include_phi: bool
    created_at: datetime
    description: str = ""
    status: EndpointStatus = "enabled"
    disabled_reason: DisabledReason | None = None
    disabled_at: datetime | None = None
    failing_since: datetime | None = None
    secrets: list[Secret] = field(default_factory=list)

    def secrets_in_force(self, now: datetime) -> list[str]:
        """Newest first: during a rotation's overlap, the new secret and the one it replaces."""
        return [s.value for s in sorted(self.secrets, key=lambda s: s.created_at, reverse=True) if s.in_force(now)]

    def rotate(self, secret: Secret, now: datetime, overlap_ends: datetime) -> None:
        self._not_deleted()
        for old in self.secrets:
            if old.in_force(now):
                old.expires_at = min(old.expires_at or overlap_ends, overlap_ends)
        self.secrets.append(secret)

    def record_success(self) -> None:
        self.failing_since = None

    def record_failure(self, now: datetime, schedule: DeliverySchedule, *, gone: bool) -> None:
        """A failed attempt: 410 Gone disables at once; otherwise once it has failed without a success for longer
        than the schedule allows."""
        if self.status != "enabled":
            return
        if gone:
            self._disable("gone", now)
            return
        if self.failing_since is None:
            self.failing_since = now
        if schedule.endpoint_failing_too_long(self.failing_since, now):
            self._disable("failing", now)

    def enable(self) -> None:
        self._not_deleted()
        self.status, self.disabled_reason, self.disabled_at, self.failing_since = "enabled", None, None, None

    def pause(self, now: datetime) -> None:
        self._not_deleted()
        self._disable("paused", now)

    def delete(self, now: datetime) -> None:
        self.status, self.disabled_at = "deleted", now

    def _disable(self, reason: DisabledReason, now: datetime) -> None:
        self.status, self.disabled_reason, self.disabled_at = "disabled", reason, now

    def _not_deleted(self) -> None:
        if self.status == "deleted":
            raise EndpointDeleted("the endpoint was deleted")


@dataclass(frozen=True)
class AttemptOutcome:
    """What one HTTP attempt came to. ``error`` is a kind (timeout, connect, redirect, status, destination), never
    the receiver's text (which could echo what we sent)."""

    at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


@dataclass
class Delivery:
    delivery_id: int
    endpoint_id: str
    event_id: str
    subject: str
    next_attempt_at: datetime
    status: DeliveryStatus = "pending"
    attempts: int = 0
    attempt_log: list[AttemptOutcome] = field(default_factory=list)

    def record(self, outcome: AttemptOutcome, schedule: DeliverySchedule) -> None:
        """An attempt's outcome: delivered, rescheduled by the schedule, or given up (schedule used up, or 410)."""
        if self.status != "pending":
            return  # an attempt that raced a replay or a give-up changes nothing
        self.attempts += 1
        self.attempt_log.append(outcome)
        if outcome.succeeded:
            self.status = "delivered"
            return
        later = None if outcome.gone else schedule.next_attempt_at(self.attempts, outcome.at)
        if later is None:
            self.status = "given_up"
        else:
            self.next_attempt_at = later

    def give_up(self) -> None:
        if self.status == "pending":
            self.status = "given_up"

