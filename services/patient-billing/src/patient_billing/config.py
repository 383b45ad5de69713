"""Settings of the patient-billing service (RCM_* environment). Business numbers live in rules files, not here."""

from __future__ import annotations

from rcm_shared.config import ServiceSettings


class PatientBillingSettings(ServiceSettings):
    service_name: str = "patient-billing"
    http_port: int = 8004
    database_url: str = "sqlite+aiosqlite:///var/patient-billing.db"
    # A folder of rules files replacing the packaged ones of the same name (RCM_RULES_DIR); unset: the packaged ones.
    rules_dir: str | None = None
