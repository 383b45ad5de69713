"""Settings every service shares. Each process reads its own environment (``RCM_`` prefix)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """One settings class per service subclasses this and sets ``service_name`` and its port default."""

    model_config = SettingsConfigDict(env_prefix="RCM_", extra="ignore")

    service_name: str = "service"
    environment: str = "embedded"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    database_url: str = "sqlite+aiosqlite:///var/service.db"
    database_pool_size: int = 10
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None  # CA bundle for SSL / SASL_SSL; unset: the system's trust store
    kafka_topic_partitions: int = 4
    # Tansu holds a JoinGroup for half the session timeout: the embedded default and tests keep it short.
    kafka_session_timeout_ms: int = 10000
    kafka_replication_factor: int = 1
    jwt_secret: SecretStr = SecretStr("dev-only-secret-change-me-0123456789abcdef")
    jwt_issuer: str = "rcm-dev"
    jwt_audience: str = "rcm-platform"
    run_workers: bool = True
    consumer_group_prefix: str | None = None
    outbox_poll_seconds: float = 0.2
    outbox_batch_size: int = 500
    consumer_max_attempts: int = 5
    consumer_retry_base_seconds: float = 0.2
    otel_exporter_endpoint: str | None = None
    log_level: str = "INFO"
    service_urls: dict[str, str] = Field(default_factory=dict)
    # The practice's time zone: business dates ('today': filing limits, follow-ups, aging) are its dates.
    practice_time_zone: str = "America/New_York"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
