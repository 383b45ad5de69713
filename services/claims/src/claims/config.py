from __future__ import annotations

from pathlib import Path

from rcm_shared.config import ServiceSettings


class ClaimsSettings(ServiceSettings):
    service_name: str = "claims"
    http_port: int = 8002
    database_url: str = "sqlite+aiosqlite:///var/claims.db"
    clearinghouse: str = "sandbox"  # sandbox | sftp | https
    clearinghouse_dir: Path = Path("var/clearinghouse")
    clearinghouse_url: str | None = None
    clearinghouse_api_key: str | None = None
    clearinghouse_sftp_host: str | None = None
    clearinghouse_sftp_port: int = 22
    clearinghouse_sftp_username: str | None = None
    clearinghouse_sftp_password: str | None = None
    clearinghouse_sftp_known_hosts: str | None = None  # a known_hosts file; unset: ~/.ssh/known_hosts
    submitter_id: str = "RCMPLATFORM"
    receiver_id: str = "CLEARINGHOUSE"
    submission_interval_seconds: float = 2.0
    response_poll_seconds: float = 5.0
    usage_indicator: str = "T"  # ISA15: T test, P production
    # Claims in one 837P file (clearinghouses cap file size; 5,000 is the guide's advice per transaction).
    # Files are written and sent a page at a time, so this does not change how much memory a run takes.
    max_claims_per_file: int = 5000
    # Claim status (276/277): ask about claims with no answer this many days after submission, then weekly.
    status_inquiry_after_days: int = 21
    status_inquiry_every_days: int = 7
    status_inquiry_poll_seconds: float = 3600.0
    # How often the awaiting-facts gauges (claims waiting, the longest wait, the projection's freshness) are read.
    awaiting_metrics_seconds: float = 15.0
    # Reconciliation (rcm_reconciliation_gaps): visits without a claim, submitted claims without a copy in remittance,
    # once this long has passed; claims submitted within the lookback are checked, every poll.
    reconciliation_after_seconds: float = 900.0
    reconciliation_lookback_days: int = 30
    reconciliation_poll_seconds: float = 60.0
    # POST /v1/visits under load: the requests waiting when a writer is free are recorded in one transaction (group
    # commit), at most this many, with at most this many such transactions in flight (rcm_shared.http.group_commit).
    intake_max_batch: int = 256
    intake_writers: int = 2
