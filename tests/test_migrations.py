"""Each service's Alembic history builds exactly the tables its code declares (no drift, no forgotten
revision). Runs on SQLite: fast, and the embedded default must migrate too."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from rcm_shared.db.migrations import alembic_config
from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "migrations").is_dir())


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_build_what_the_code_declares(service: str, tmp_path: Path) -> None:
    orm = importlib.import_module(f"{service.replace('-', '_')}.adapters.orm")
    config = alembic_config(ROOT / "services" / service / "migrations", f"sqlite+aiosqlite:///{tmp_path}/m.db")
    command.upgrade(config, "head")
    engine = create_engine(f"sqlite:///{tmp_path}/m.db")
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), orm.metadata)
    assert drift == [], f"run: uv run python tools/new_migration.py {service} <slug>"
    command.downgrade(config, "base")  # every revision can be undone as well


def test_every_service_has_migrations() -> None:
    assert SERVICES == ["authorizations", "claims", "eligibility", "patient-billing", "remittance", "reporting",
                        "webhooks"]
