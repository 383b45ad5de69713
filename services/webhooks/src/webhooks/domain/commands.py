"""What a practice asks of the webhooks service (imperative), built by the routes from validated input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RegisterEndpoint:
    practice_id: str
    url: str
    event_types: tuple[str, ...]
    include_phi: bool = False
    description: str = ""


@dataclass(frozen=True)
class ReplayEvents:
    """One event (``event_id``) or every event the endpoint's filters match received in [since, until)."""

    practice_id: str
    endpoint_id: str
    event_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class SetPhiOptIn:
    practice_id: str
    phi_opt_in: bool
