"""Alembic environment of the reporting service (its own database, its own history)."""

from rcm_shared.db.migrations import run_migrations_env
from reporting.adapters.orm import metadata

run_migrations_env(metadata)
