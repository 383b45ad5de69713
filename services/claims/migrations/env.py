"""Alembic environment of the claims service (its own database, its own history)."""

from claims.adapters.orm import metadata
from rcm_shared.db.migrations import run_migrations_env

run_migrations_env(metadata)
