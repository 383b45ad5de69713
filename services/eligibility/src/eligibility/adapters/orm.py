"""Tables of the eligibility database (owned by this service alone)."""

from __future__ import annotations

from rcm_shared.db.platform_tables import AutoId, add_platform_tables
from rcm_shared.db.sequences import control_number_table
from rcm_shared.db.types import UtcDateTime, service_metadata
from sqlalchemy import JSON, Boolean, Column, Date, Index, Integer, String, Table, Text, UniqueConstraint

metadata = service_metadata()
platform = add_platform_tables(metadata)

coverage_checks = Table(
    "coverage_checks", metadata,
    Column("check_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("service_date", Date, nullable=False),
    Column("trace_number", String(50), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    Column("next_action", String(40), nullable=False),
    Column("follows_check_id", String(36), nullable=True),
    Column("request_x12", Text, nullable=False),
    Column("response_x12", Text, nullable=True),
    Column("result", JSON, nullable=False),
    Column("checked_at", UtcDateTime, nullable=False),
)
Index("ix_coverage_checks_patient", coverage_checks.c.practice_id, coverage_checks.c.patient_id,
      coverage_checks.c.checked_at)

# The current benefits per patient and payer; history is the coverage_checks rows.
snapshots = Table(
    "benefits_snapshots", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("patient_id", String(64), primary_key=True),
    Column("payer_id", String(80), primary_key=True),
    Column("check_id", String(36), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("checked_on", Date, nullable=False),
    Column("coverage_begin", Date, nullable=True),
    Column("coverage_end", Date, nullable=True),
    Column("snapshot", JSON, nullable=False),
    Column("visit_limit", Integer, nullable=True),
    Column("payer_visits_remaining", Integer, nullable=True),
    Column("last_eligibility_denial_on", Date, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

session_visits = Table(
    "session_visits", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("visit_id", String(36), primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("service_date", Date, nullable=False),
    Column("voided", Boolean, nullable=False),
)
Index("ix_session_visits_patient", session_visits.c.practice_id, session_visits.c.patient_id,
      session_visits.c.payer_id)

session_alerts = Table(
    "session_limit_alerts", metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("practice_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("benefit_year_start", Date, nullable=False),
    Column("limit", Integer, nullable=False),
    Column("remaining", Integer, nullable=False),
    Column("visit_id", String(36), nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
    UniqueConstraint("practice_id", "patient_id", "payer_id", "benefit_year_start", "kind",
                     name="uq_session_alerts_once"),
)

control_numbers = control_number_table(metadata)
