"""Settings of the reporting service (RCM_* environment). Targets and measuring rules live in rules files."""

from __future__ import annotations

from pydantic import SecretStr
from rcm_shared.config import ServiceSettings


class ReportingSettings(ServiceSettings):
    service_name: str = "reporting"
    http_port: int = 8006
    database_url: str = "sqlite+aiosqlite:///var/reporting.db"
    # A folder of rules files replacing the packaged ones of the same name (RCM_RULES_DIR); unset: the packaged.
    rules_dir: str | None = None
    # The console (/console): the key its forms' CSRF tokens are signed with (unset: one per process, so set it when
    # running several replicas); cookies Secure always / never (unset: when the request came over HTTPS); where the
    # development sign-in asks the issuer for a token (unset: <RCM_JWT_ISSUER>/token).
    console_secret: SecretStr | None = None
    console_secure_cookies: bool | None = None
    console_token_url: str | None = None
