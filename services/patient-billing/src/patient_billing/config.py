from __future__ import annotations

from rcm_shared.config import ServiceSettings


class PatientBillingSettings(ServiceSettings):
    service_name: str = "patient-billing"
    http_port: int = 8004
    database_url: str = "sqlite+aiosqlite:///var/patient-billing.db"
