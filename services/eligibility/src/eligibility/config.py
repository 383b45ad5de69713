from __future__ import annotations

from rcm_shared.config import ServiceSettings


class EligibilitySettings(ServiceSettings):
    service_name: str = "eligibility"
    http_port: int = 8001
    database_url: str = "sqlite+aiosqlite:///var/eligibility.db"
    payer_gateway: str = "sandbox"  # sandbox | caqh-core
    payer_gateway_url: str | None = None
    submitter_id: str = "RCMPLATFORM"
    receiver_id: str = "CLEARINGHOUSE"
    session_limit_alert_at_remaining: int = 3
