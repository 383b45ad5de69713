from __future__ import annotations

from pydantic import SecretStr
from rcm_shared.config import ServiceSettings


class EligibilitySettings(ServiceSettings):
    service_name: str = "eligibility"
    http_port: int = 8001
    database_url: str = "sqlite+aiosqlite:///var/eligibility.db"
    payer_gateway: str = "sandbox"  # sandbox | caqh-core
    payer_gateway_url: str | None = None
    # CAQH CORE connectivity: the trading-partner ids of the CORE envelope (not the ISA ids) and credentials
    payer_gateway_username: str | None = None
    payer_gateway_password: SecretStr | None = None
    payer_gateway_bearer_token: SecretStr | None = None
    payer_gateway_sender_id: str = "RCMPLATFORM"
    payer_gateway_receiver_id: str = "CLEARINGHOUSE"
    payer_gateway_timeout_seconds: float = 30.0
    payer_gateway_verify_tls: bool = True
    payer_gateway_ca_bundle: str | None = None  # a CA file for a partner's private certificate authority
    submitter_id: str = "RCMPLATFORM"
    receiver_id: str = "CLEARINGHOUSE"
    session_limit_alert_at_remaining: int = 3
