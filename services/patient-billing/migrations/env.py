"""Alembic environment of the patient-billing service (its own database, its own history)."""

from patient_billing.adapters.orm import metadata
from rcm_shared.db.migrations import run_migrations_env

run_migrations_env(metadata)
