from __future__ import annotations

from rcm_shared.config import ServiceSettings


class AuthorizationsSettings(ServiceSettings):
    service_name: str = "authorizations"
    http_port: int = 8005
    database_url: str = "sqlite+aiosqlite:///var/authorizations.db"
