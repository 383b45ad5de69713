"""Settings of the authorizations service (RCM_* environment). Business numbers live in rules files, not here."""

from __future__ import annotations

from pydantic import Field, SecretStr
from rcm_shared.config import ServiceSettings


class AuthorizationsSettings(ServiceSettings):
    service_name: str = "authorizations"
    http_port: int = 8005
    database_url: str = "sqlite+aiosqlite:///var/authorizations.db"
    # A folder of rules files replacing the packaged ones of the same name (RCM_RULES_DIR), e.g. this deployment's
    # utilization_review.yaml (which payer goes over which channel); unset: the packaged rules.
    rules_dir: str | None = None
    # Bearer tokens for the x12-278 / pas-fhir endpoints, by payer id ("*": any payer), e.g. '{"*": "..."}'.
    utilization_review_tokens: dict[str, SecretStr] = Field(default_factory=dict)
    utilization_review_ca_bundle: str | None = None  # a partner's private certificate authority
    utilization_review_verify_tls: bool = True
    utilization_review_timeout_seconds: float = 30.0
    # How often renewals due and missing authorizations are brought into the work queues (open / close items).
    work_item_sync_seconds: float = 300.0
    submitter_id: str = "RCMPLATFORM"  # ISA06 / GS02 of the 278s we send
    trace_originator: str = "9RCMPLATFM"  # TRN03: '1' + our EIN or '9' + an id we assign (10 characters)
