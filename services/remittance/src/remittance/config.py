"""Settings of the remittance service (RCM_* environment). Business numbers live in rules files, not here."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from rcm_shared.config import ServiceSettings


class RemittanceSettings(ServiceSettings):
    service_name: str = "remittance"
    http_port: int = 8003
    database_url: str = "sqlite+aiosqlite:///var/remittance.db"
    # A folder of rules files replacing the packaged ones of the same name (RCM_RULES_DIR), e.g. this deployment's
    # contracted_rates.yaml; unset: the packaged rules.
    rules_dir: str | None = None
    # The clearinghouse's ERA mailbox: one folder per practice (<dir>/<practice_id>/*.835 or *.x12).
    era_pickup_dir: Path | None = None
    era_pickup_seconds: float = 5.0
    # How often unapplied cash is matched again against claim copies that arrived (the safety net behind the
    # claim-key lock): the longest a payment can wait in unapplied cash once its claim copy is here.
    unapplied_rematch_seconds: float = 60.0
    # A real clearinghouse mailbox, as well or instead: one per practice (the submitter's mailbox). Only 835s are
    # taken from it; the 999s and 277s beside them belong to claims.
    era_clearinghouse: Literal["sftp", "https"] | None = None
    era_clearinghouse_practice_id: str | None = None
    era_clearinghouse_url: str | None = None
    era_clearinghouse_api_key: str | None = None
    era_clearinghouse_ca_file: str | None = None  # a CA bundle for the HTTPS API; unset: the system's
    era_clearinghouse_sftp_host: str | None = None
    era_clearinghouse_sftp_port: int = 22
    era_clearinghouse_sftp_username: str | None = None
    era_clearinghouse_sftp_password: str | None = None
    era_clearinghouse_sftp_known_hosts: str | None = None  # a known_hosts file; unset: ~/.ssh/known_hosts
    era_clearinghouse_pickup_dir: str = "outbound"
