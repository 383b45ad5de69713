"""Tables of the eligibility database (owned by this service alone)."""

from __future__ import annotations

from rcm_shared.db.platform_tables import AutoId, add_platform_tables
from rcm_shared.db.sequences import control_number_table
from rcm_shared.db.types import UtcDateTime, service_metadata
from rcm_shared.work_items.tables import add_work_item_tables
from sqlalchemy import JSON, Boolean, Column, Date, Index, Integer, String, Table, Text, UniqueConstraint

metadata = service_metadata()
platform = add_platform_tables(metadata)
# The eligibility queue on the work-item kernel: one kernel item per eligibility work item, the same id
# (adapters/queue_items.py keeps them together).
queue_item_tables = add_work_item_tables(metadata)

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
    # request (front desk / claims), nightly_batch or recheck; null on rows older than the column
    Column("origin", String(20), nullable=True),
    Column("batch_run_id", String(36), nullable=True),
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

# What a 270 needs that the schedule does not say: the member as the payer knows them and who asks. Kept from the
# last coverage check or from the schedule intake, per patient and payer (PHI: never logged, never in events).
insurance_on_file = Table(
    "insurance_on_file", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("patient_id", String(64), primary_key=True),
    Column("payer_id", String(80), primary_key=True),
    Column("payer_name", String(60), nullable=False),
    Column("provider_npi", String(10), nullable=False),
    Column("provider_name", String(60), nullable=False),
    Column("provider_first_name", String(35), nullable=False),
    Column("subscriber", JSON, nullable=False),
    Column("dependent", JSON, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

# The practice's schedule: eligibility is its one home (POST /v1/schedule); changes go out on visit-scheduled.
scheduled_visits = Table(
    "scheduled_visits", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("visit_id", String(64), primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("service_date", Date, nullable=False),
    Column("cancelled", Boolean, nullable=False),
    Column("first_visit", Boolean, nullable=True),
    Column("cpt_code", String(5), nullable=True),  # what the EHR booked, when it says (authorizations' forecasts)
    Column("source", String(20), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_scheduled_visits_date", scheduled_visits.c.service_date, scheduled_visits.c.practice_id)

# One row per practice and schedule date: the unique key is what makes the nightly batch go out once, whichever
# replica or operator asks first. status: domain.model.BatchRunStatus (planned is never committed).
batch_runs = Table(
    "batch_runs", metadata,
    Column("run_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("schedule_date", Date, nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("triggered_by", String(120), nullable=True),
    Column("status", String(20), nullable=False),
    Column("payload_id", String(64), nullable=True),
    Column("interchange_control_number", Integer, nullable=True),
    Column("inquiry_count", Integer, nullable=False),
    Column("fresh_count", Integer, nullable=False),
    Column("no_insurance_count", Integer, nullable=False),
    Column("deferred_count", Integer, nullable=False),
    Column("attention_count", Integer, nullable=False),
    Column("request_x12", Text, nullable=True),
    Column("response_x12", Text, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(200), nullable=True),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("send_started_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("completed_at", UtcDateTime, nullable=True),
    UniqueConstraint("practice_id", "schedule_date", name="uq_batch_runs_once_per_night"),
)
Index("ix_batch_runs_status", batch_runs.c.status)

batch_inquiries = Table(
    "batch_inquiries", metadata,
    Column("run_id", String(36), primary_key=True),
    Column("trace_number", String(50), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("service_date", Date, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("visit_ids", JSON, nullable=False),
    Column("request_x12", Text, nullable=False),
    Column("status", String(20), nullable=False),  # pending, answered, unanswered
    Column("check_id", String(36), nullable=True),
)

# Automatic real-time re-checks (after an eligibility denial, a carve-out found by the batch, a visit booked after
# the nightly run, the batch's overflow), sent by a periodic job within each payer's rate.
recheck_requests = Table(
    "recheck_requests", metadata,
    Column("request_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("service_date", Date, nullable=False),
    Column("follows_check_id", String(36), nullable=True),
    Column("status", String(20), nullable=False),  # pending, sending, done, failed
    Column("due_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("check_id", String(36), nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_recheck_requests_due", recheck_requests.c.status, recheck_requests.c.due_at)
Index("ix_recheck_requests_member", recheck_requests.c.practice_id, recheck_requests.c.patient_id,
      recheck_requests.c.payer_id)
Index("ix_recheck_requests_sent", recheck_requests.c.payer_id, recheck_requests.c.sent_at)
# One open re-check per member: consumers on different partitions (or replicas) may queue the same member at
# once; the loser's INSERT .. ON CONFLICT DO NOTHING coalesces instead of sending a second inquiry.
OPEN_RECHECK = recheck_requests.c.status.in_(("pending", "sending"))
Index("uq_recheck_requests_open_member", recheck_requests.c.practice_id, recheck_requests.c.patient_id,
      recheck_requests.c.payer_id, unique=True, postgresql_where=OPEN_RECHECK, sqlite_where=OPEN_RECHECK)

# Answers of automatic checks that need a person (AAA rejections, inactive coverage, payer unavailable ...).
work_items = Table(
    "eligibility_work_items", metadata,
    Column("item_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("next_action", String(40), nullable=False),
    Column("reason_codes", JSON, nullable=False),
    Column("detail", String(300), nullable=False),
    Column("service_date", Date, nullable=True),
    Column("check_id", String(36), nullable=True),
    Column("run_id", String(36), nullable=True),
    Column("recheck_id", String(36), nullable=True),
    Column("status", String(20), nullable=False),  # open, resolved
    Column("occurrences", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolved_by", String(120), nullable=True),
)
Index("ix_eligibility_work_items_open", work_items.c.practice_id, work_items.c.status, work_items.c.created_at)
Index("ix_eligibility_work_items_member", work_items.c.practice_id, work_items.c.patient_id, work_items.c.payer_id)
# One open item per member and kind, whoever raises it: a concurrent repeat counts an occurrence (ON CONFLICT DO
# UPDATE) rather than adding a duplicate.
OPEN_WORK_ITEM = work_items.c.status == "open"
Index("uq_eligibility_work_items_open_member", work_items.c.practice_id, work_items.c.patient_id,
      work_items.c.payer_id, work_items.c.kind, unique=True, postgresql_where=OPEN_WORK_ITEM,
      sqlite_where=OPEN_WORK_ITEM)
