from __future__ import annotations

from pydantic import SecretStr
from rcm_shared.config import ServiceSettings


class EligibilitySettings(ServiceSettings):
    """How this deployment runs (ports, database, the payer connection, job cadence). Business numbers (when the
    batch runs, rates, thresholds) are rules files (``domain/rules/*.yaml``), not settings."""

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
    # The nightly batch job wakes this often to see whether a run is due (when: rules/nightly_batch.yaml).
    nightly_batch_enabled: bool = True
    nightly_batch_poll_seconds: float = 60.0
    # Queued automatic re-checks (eligibility denials, carve-outs, late bookings) go out this often, within each
    # payer's rate (rules/payer_limits.yaml).
    recheck_poll_seconds: float = 5.0
