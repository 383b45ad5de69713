"""Settings of the reporting service (RCM_* environment). Targets and measuring rules live in rules files."""

from __future__ import annotations

from rcm_shared.config import ServiceSettings


class ReportingSettings(ServiceSettings):
    service_name: str = "reporting"
    http_port: int = 8006
    database_url: str = "sqlite+aiosqlite:///var/reporting.db"
    # A folder of rules files replacing the packaged ones of the same name (RCM_RULES_DIR); unset: the packaged.
    rules_dir: str | None = None
