from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from rcm_shared.config import ServiceSettings


class RemittanceSettings(ServiceSettings):
    service_name: str = "remittance"
    http_port: int = 8003
    database_url: str = "sqlite+aiosqlite:///var/remittance.db"
    senior_review_threshold: Decimal = Decimal("250.00")
    # The clearinghouse's ERA mailbox: one folder per practice (<dir>/<practice_id>/*.835 or *.x12).
    era_pickup_dir: Path | None = None
    era_pickup_seconds: float = 5.0
