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
    # Identity: services only verify tokens (docs/architecture.md, "Identity"). The issuer is an OpenID Connect
    # provider in production and `rcm-issuer` in `make run`; its keys come from jwks_url, or from its discovery
    # document when jwks_url is unset. jwks (a JWKS document trusted as given) is for tests and air-gapped sites.
    jwt_issuer: str = "http://127.0.0.1:8010"
    jwt_audience: str = "rcm-platform"
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["ES256"])
    jwt_leeway_seconds: int = 30
    jwks_url: str | None = None
    jwks: str | None = None
    jwks_cache_seconds: float = 300.0
    jwks_refetch_min_seconds: float = 5.0
    # This service's own client credentials, for the calls it makes to other services (client-credentials grant).
    client_id: str | None = None
    client_secret: SecretStr | None = None
    token_url: str | None = None  # unset: the issuer's discovery document names it
    run_workers: bool = True
    consumer_group_prefix: str | None = None
    outbox_poll_seconds: float = 0.2
    outbox_batch_size: int = 500
    # Published outbox rows are kept this long, then pruned: within it, what a broker lost (the embedded broker keeps
    # nothing over a restart; a topic re-created on Kafka) is published again (the consumers' inboxes drop repeats).
    outbox_retention_seconds: float = 86400.0
    outbox_prune_seconds: float = 300.0
    # How often consumers and relays compare what they know with the broker's log (cluster id, partition ends).
    kafka_log_check_seconds: float = 2.0
    # The relay confirms the broker's cluster id before sending at most this often while rounds succeed (relay.py).
    outbox_cluster_check_seconds: float = 0.5
    # An offset commit the broker keeps refusing (a topic it no longer has) is given up after this; the events are
    # read again and dropped by the inbox.
    kafka_commit_timeout_seconds: float = 10.0
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
