"""Alembic environment of the authorizations service (its own database, its own history)."""

from authorizations.adapters.orm import metadata
from rcm_shared.db.migrations import run_migrations_env

run_migrations_env(metadata)
