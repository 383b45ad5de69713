"""Tables of the claims database (owned by this service alone).

A claim is stored as its domain document (JSON) plus the columns that queues and reports filter on.
"""

from __future__ import annotations

from rcm_shared.db.platform_tables import AutoId, add_platform_tables
from rcm_shared.db.sequences import control_number_table
from rcm_shared.db.types import Cents, UtcDateTime, service_metadata
from rcm_shared.work_items.tables import add_work_item_tables
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = service_metadata()
platform = add_platform_tables(metadata)
# The queues claims owns (held and rejected claims), on the work-item kernel.
work_item_tables = add_work_item_tables(metadata)

visits = Table(
    "visits", metadata,
    Column("visit_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("external_visit_id", String(80), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("billing_model", String(20), nullable=False),
    Column("payer_id", String(40), nullable=True),
    Column("date_of_service", Date, nullable=False),
    Column("document", JSON, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("practice_id", "external_visit_id", name="uq_visits_practice_external"),
)

claims = Table(
    "claims", metadata,
    Column("claim_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("visit_id", String(36), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(40), nullable=False),
    Column("patient_control_number", String(38), nullable=False, unique=True),
    Column("status", String(30), nullable=False),
    Column("frequency_code", String(1), nullable=False),
    Column("total_charge", Cents, nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("rendering_npi", String(10), nullable=False),
    Column("program", String(60), nullable=True),
    Column("fingerprint", String(64), nullable=False),
    Column("payer_claim_number", String(50), nullable=True),
    Column("replaces_claim_id", String(36), nullable=True),
    Column("batch_id", String(36), nullable=True),
    Column("document", JSON, nullable=False),
    Column("findings", JSON, nullable=False),
    Column("paid", Cents, nullable=False),
    Column("patient_responsibility", Cents, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    # in awaiting_facts: since when the claim waits for another service's facts (None otherwise)
    Column("awaiting_since", UtcDateTime, nullable=True),
)
Index("ix_claims_queue", claims.c.practice_id, claims.c.status, claims.c.created_at)
Index("ix_claims_patient_payer", claims.c.practice_id, claims.c.patient_id, claims.c.payer_id)
Index("ix_claims_fingerprint", claims.c.practice_id, claims.c.fingerprint)
Index("ix_claims_visit", claims.c.visit_id)

claim_transitions = Table(
    "claim_transitions", metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("claim_id", String(36), nullable=False, index=True),
    Column("from_status", String(30), nullable=False),
    Column("to_status", String(30), nullable=False),
    Column("reason", String(200), nullable=True),
    Column("at", UtcDateTime, nullable=False),
)

batches = Table(
    "submission_batches", metadata,
    Column("batch_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("payer_id", String(40), nullable=False),
    Column("interchange_control_number", Integer, nullable=False, unique=True),
    Column("file_name", String(120), nullable=False, unique=True),
    Column("claim_count", Integer, nullable=False),
    # queued | submitted | accepted | rejected (999 or TA1) | refused (the upload itself, for good)
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),  # the last outage, or why the file was refused / rejected
    Column("interchange_ack", String(1), nullable=True),  # TA104 of the clearinghouse's TA1: A, E or R
    Column("interchange_note", String(3), nullable=True),  # TA105 note code
    Column("created_at", UtcDateTime, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=True),
)
Index("ix_batches_status", batches.c.status, batches.c.created_at)

# The 837P file of a batch, in pieces of a few hundred claims, written and read one piece at a time: neither
# the submission job nor the sender holds a whole file, however many claims it carries.
batch_chunks = Table(
    "submission_batch_chunks", metadata,
    Column("batch_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

control_numbers = control_number_table(metadata)

acknowledgments = Table(
    "acknowledgments", metadata,
    Column("ack_id", String(36), primary_key=True),
    Column("file_name", String(160), nullable=False, unique=True),
    Column("kind", String(10), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("summary", JSON, nullable=False),
)

status_inquiries = Table(
    "status_inquiries", metadata,
    Column("trace_number", String(50), primary_key=True),
    Column("claim_id", String(36), nullable=False, index=True),
    Column("practice_id", String(64), nullable=False),
    Column("file_name", String(160), nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    Column("answered_at", UtcDateTime, nullable=True),
    Column("status_codes", JSON, nullable=True),
)

# ---------------------------------------------------------------- the scrubber's projection (read-only copies)
# Kept by the claim-facts consumer from other services' announcements; claims scrubs from these and never asks.

# authorizations' visit-authorization-determined: the newest answer per visit (by its sequence)
visit_determinations = Table(
    "visit_determinations", metadata,
    Column("visit_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("determined_at", UtcDateTime, nullable=False),
    Column("authorization_required", Boolean, nullable=False),
    Column("authorization_number", String(50), nullable=True),
    Column("missing_reason", String(60), nullable=True),
    Column("units_remaining", Integer, nullable=True),
    Column("providers", JSON, nullable=False),
    Column("rendering_npi", String(10), nullable=True),
    Column("supervising_npi", String(10), nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
)

# eligibility's eligibility-checked: every check of a patient with a payer (the scrub picks the one for the date)
coverage_checks = Table(
    "coverage_checks", metadata,
    Column("check_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(40), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("coverage_from", Date, nullable=True),
    Column("coverage_to", Date, nullable=True),
    Column("checked_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)
Index("ix_coverage_checks_patient_payer", coverage_checks.c.practice_id, coverage_checks.c.patient_id,
      coverage_checks.c.payer_id)
