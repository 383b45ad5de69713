from __future__ import annotations

from decimal import Decimal

from rcm_shared.config import ServiceSettings


class RemittanceSettings(ServiceSettings):
    service_name: str = "remittance"
    http_port: int = 8003
    database_url: str = "sqlite+aiosqlite:///var/remittance.db"
    senior_review_threshold: Decimal = Decimal("250.00")
