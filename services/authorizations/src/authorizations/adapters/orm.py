"""Tables of the authorizations database: authorizations, the visits that consume them, credentialing."""

from __future__ import annotations

from rcm_shared.db.platform_tables import AutoId, add_platform_tables
from rcm_shared.db.sequences import control_number_table
from rcm_shared.db.types import UtcDateTime, service_metadata
from rcm_shared.work_items.tables import add_work_item_tables
from sqlalchemy import JSON, Boolean, Column, Date, Index, Integer, String, Table, Text

metadata = service_metadata()
platform = add_platform_tables(metadata)
# The queues authorizations owns (renewals due, missing authorizations), on the work-item kernel.
work_item_tables = add_work_item_tables(metadata)

authorizations = Table(
    "authorizations", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("number", String(50), primary_key=True),
    Column("authorization_id", String(36), nullable=False, unique=True),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("cpt_codes", JSON, nullable=False),
    Column("approved_units", Integer, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("cancelled_on", Date, nullable=True),  # the practice's date the payer's cancellation was recorded
)
Index("ix_authorizations_group", authorizations.c.practice_id, authorizations.c.patient_id,
      authorizations.c.payer_id)

# Every visit event seen, per visit (the ledger is recomputed from these: order of arrival does not matter), with
# the clinicians it names (credentialing decides about them; null for visits applied before events named them).
ledger_visits = Table(
    "ledger_visits", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("visit_id", String(36), primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("service_date", Date, nullable=False),
    Column("cpt_code", String(10), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("voided", Boolean, nullable=False),
    Column("rendering_npi", String(10), nullable=True),
    Column("rendering_credential", String(20), nullable=True),
    Column("supervising_npi", String(10), nullable=True),
    Column("supervising_credential", String(20), nullable=True),
    Column("billing_npi", String(10), nullable=True),
)
Index("ix_ledger_visits_group", ledger_visits.c.practice_id, ledger_visits.c.patient_id, ledger_visits.c.payer_id)
# a registry change re-decides the visits of one payer since a date of service
Index("ix_ledger_visits_payer_day", ledger_visits.c.practice_id, ledger_visits.c.payer_id,
      ledger_visits.c.service_date)

# The answer announced last for each visit (visit-authorization-determined): its sequence, and what it said, so a
# later fact re-announces a visit only when its answer changes.
visit_determinations = Table(
    "visit_determinations", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("visit_id", String(36), primary_key=True),
    Column("sequence", Integer, nullable=False),
    Column("answer", JSON, nullable=False),
    Column("determined_at", UtcDateTime, nullable=False),
)

consumptions = Table(
    "unit_consumptions", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("visit_id", String(36), primary_key=True),
    Column("authorization_number", String(50), nullable=False),
    Column("consumed_at", UtcDateTime, nullable=False),
)

missing = Table(
    "missing_authorizations", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("visit_id", String(36), primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("service_date", Date, nullable=False),
    Column("cpt_code", String(10), nullable=False),
    Column("reason", String(30), nullable=False),
    Column("found_at", UtcDateTime, nullable=False),
)

enrollments = Table(
    "credentialing_enrollments", metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("practice_id", String(64), nullable=False),
    Column("npi", String(10), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("plan", String(60), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=True),
)
Index("ix_enrollments_npi", enrollments.c.practice_id, enrollments.c.npi)

supervisions = Table(
    "credentialing_supervisions", metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("practice_id", String(64), nullable=False),
    Column("supervisee_npi", String(10), nullable=False),
    Column("supervisor_npi", String(10), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=True),
)

supervision_policies = Table(
    "supervision_policies", metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("practice_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("plan", String(60), nullable=False),
    Column("allows_supervisor_billing", Boolean, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=True),
)

# Every prior-authorization request sent, with what came back: the review's status (approved / modified /
# denied / pended / rejected / unreadable), the payer's codes, and - for pended or rejected ones - the work.
authorization_requests = Table(
    "authorization_requests", metadata,
    Column("request_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("trace_number", String(50), nullable=False, unique=True),
    Column("channel", String(20), nullable=True),  # sandbox | x12-278 | pas-fhir (null: before channels)
    Column("request_body", Text, nullable=False),  # the 278 request or the PAS request bundle
    Column("response_body", Text, nullable=True),
    Column("decision", String(20), nullable=False),
    Column("action_code", String(2), nullable=True),  # HCR01 / PAS reviewActionCode
    Column("authorization_number", String(50), nullable=True),
    Column("reason", String(200), nullable=True),
    Column("rejections", JSON, nullable=True),  # AAA / PAS errors: codes and field names, never values
    Column("follow_up_on", Date, nullable=True),  # a pended review: when to chase the payer
    Column("requested_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
)
Index("ix_authorization_requests_open", authorization_requests.c.practice_id, authorization_requests.c.decision)
Index("ix_authorization_requests_number", authorization_requests.c.practice_id,
      authorization_requests.c.authorization_number)

concurrent_reviews = Table(
    "concurrent_reviews", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("reference", String(60), primary_key=True),
    Column("authorization_number", String(50), nullable=False),
    Column("submitted_on", Date, nullable=False),
    Column("requested_units", Integer, nullable=True),
    Column("requested_end", Date, nullable=True),
    Column("outcome", String(20), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

control_numbers = control_number_table(metadata)

# A local, read-only copy of the practice's schedule, as eligibility (its owner) announces it on visit-scheduled:
# what is booked, so exhaustion can be forecast before it happens. Keyed by the EHR's appointment id.
booked_visits = Table(
    "booked_visits", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("visit_id", String(64), primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=True),  # null: booked as self-pay
    Column("service_date", Date, nullable=False),
    Column("cpt_code", String(10), nullable=True),
    Column("cancelled", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),  # when the copy last took an event for it
)
Index("ix_booked_visits_day", booked_visits.c.practice_id, booked_visits.c.service_date)
