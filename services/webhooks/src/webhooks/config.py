"""Settings of the webhooks service (RCM_* environment). Business numbers (the retry schedule, when a failing
endpoint is disabled, the secret overlap, what a payload carries) live in rules files, not here."""

from __future__ import annotations

from pydantic import Field
from rcm_shared.config import ServiceSettings


class WebhooksSettings(ServiceSettings):
    service_name: str = "webhooks"
    http_port: int = 8007
    database_url: str = "sqlite+aiosqlite:///var/webhooks.db"
    rules_dir: str | None = None
    # The practices' configuration of destinations, kept by the operator (never by the practice's own API: a
    # tenant that could allow internal addresses could reach our network). By practice id, "*" for every practice:
    # networks a webhook may reach although they are loopback / link-local / private (e.g. {"*": ["127.0.0.0/8"]}
    # in the tests, or a practice's VPN range), and the practices allowed plain http:// (never with PHI).
    allowed_destination_networks: dict[str, list[str]] = Field(default_factory=dict)
    plain_http_practices: list[str] = Field(default_factory=list)
    # The worker: how often it looks for due deliveries, how many attempts are in flight at once, and the HTTP
    # client's limits (a receiver is given this long to answer; the lease outlives it).
    delivery_poll_seconds: float = 0.5
    delivery_concurrency: int = 20
    delivery_timeout_seconds: float = 10.0
    delivery_connect_timeout_seconds: float = 5.0
    delivery_verify_tls: bool = True
