"""Settings of the local issuer (``RCM_ISSUER_`` environment)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

RULES = Path(__file__).resolve().parent / "rules"


class IssuerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RCM_ISSUER_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8010
    # The issuer identifier (`iss`) and the base of every URL it publishes; services are configured with the same.
    public_url: str | None = None
    audience: str = "rcm-platform"
    state_dir: Path = Path("var/issuer")  # keys and generated client secrets, mode 0600
    roles_file: Path = RULES / "roles.yaml"
    clients_file: Path = RULES / "clients.yaml"
    client_secrets_file: Path | None = None  # unset: <state_dir>/client_secrets.json, generated on first start
    client_token_ttl_seconds: int = 900
    user_token_ttl_seconds: int = 3600
    user_token_max_ttl_seconds: int = 12 * 3600
    # The development login hands out a token for any user name, role and practice: never on in production.
    development_login: bool = True
    log_level: str = "INFO"

    @property
    def issuer(self) -> str:
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    @property
    def keys_file(self) -> Path:
        return self.state_dir / "keys.json"

    @property
    def secrets_file(self) -> Path:
        return self.client_secrets_file or self.state_dir / "client_secrets.json"

    @property
    def key_overlap_seconds(self) -> int:
        # A superseded key stays published while a token it signed can still be alive.
        return max(self.client_token_ttl_seconds, self.user_token_max_ttl_seconds)
