"""Tables of the remittance database (owned by this service alone)."""

from __future__ import annotations

from rcm_shared.db.platform_tables import AutoId, add_platform_tables
from rcm_shared.db.types import Cents, UtcDateTime, service_metadata
from rcm_shared.work_items.tables import add_work_item_tables
from sqlalchemy import JSON, Column, Date, Index, Integer, LargeBinary, String, Table, Text, UniqueConstraint

metadata = service_metadata()
platform = add_platform_tables(metadata)
# The queues remittance owns (denials per routed queue, joint reviews, ERA exceptions, unapplied cash).
work_item_tables = add_work_item_tables(metadata)

eras = Table(
    "eras", metadata,
    Column("era_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("file_name", String(200), nullable=True),
    Column("content", LargeBinary, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("received_via", String(20), nullable=False),
    Column("status", String(20), nullable=False),  # received | posted | exception | duplicate
    Column("received_at", UtcDateTime, nullable=False),
    Column("processed_at", UtcDateTime, nullable=True),
    Column("summary", JSON, nullable=False),
    UniqueConstraint("practice_id", "file_sha256", name="uq_eras_practice_sha"),
)

# One row per 835 transaction (BPR/TRN): the same payment delivered twice is refused by this key.
era_payments = Table(
    "era_payments", metadata,
    Column("payment_id", String(36), primary_key=True),
    Column("era_id", String(36), nullable=False, index=True),
    Column("practice_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("trace_number", String(80), nullable=False),
    Column("total_paid", Cents, nullable=False),
    Column("method", String(10), nullable=False),
    Column("payment_date", Date, nullable=True),
    Column("claim_count", Integer, nullable=False),
    Column("deposit_id", String(36), nullable=True),
    Column("posted_at", UtcDateTime, nullable=False),
    UniqueConstraint("practice_id", "payer_id", "trace_number", name="uq_era_payments_trace"),
)

submitted_claims = Table(
    "submitted_claims", metadata,
    Column("claim_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("patient_control_number", String(38), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(40), nullable=False),
    Column("visit_id", String(36), nullable=False),
    Column("total_charge", Cents, nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("rendering_npi", String(10), nullable=False),
    Column("program", String(60), nullable=True),
    Column("lines", JSON, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    UniqueConstraint("practice_id", "patient_control_number", name="uq_submitted_claims_pcn"),
)

claim_postings = Table(
    "claim_postings", metadata,
    Column("posting_id", String(36), primary_key=True),
    Column("era_id", String(36), nullable=False, index=True),
    Column("payment_id", String(36), nullable=False),
    Column("practice_id", String(64), nullable=False),
    Column("claim_id", String(36), nullable=True, index=True),
    Column("patient_control_number", String(38), nullable=False),
    Column("claim_status_code", String(2), nullable=False),
    Column("charge", Cents, nullable=False),
    Column("paid", Cents, nullable=False),
    Column("patient_responsibility", Cents, nullable=False),
    Column("payer_claim_number", String(50), nullable=True),
    Column("unapplied", Integer, nullable=False),
    Column("posted_at", UtcDateTime, nullable=False),
    Column("detail", JSON, nullable=False),
    # Set on a posting a CLP02 22 took back, so it is reversed once and a re-issue posts as new.
    Column("reversed_by_posting_id", String(36), nullable=True),
)
# Payments waiting for their claim copy: looked up by every claim copy that arrives and by the sweeper.
Index("ix_claim_postings_waiting", claim_postings.c.practice_id, claim_postings.c.patient_control_number,
      postgresql_where=claim_postings.c.unapplied == 1, sqlite_where=claim_postings.c.unapplied == 1)

# One row per claim key (practice, patient control number), written (and so row-locked) first by every
# transaction that matches 835 money to a claim copy or reads what the other side wrote: the claim-copy
# consumer, ERA posting, the unapplied-cash sweeper and the resolution of a duplicate payment. What each
# reads after taking the key includes everything the others committed, so an ERA and its claim copy handled
# at the same moment always meet, and the same payment posted twice at once is seen as a duplicate.
claim_keys = Table(
    "claim_keys", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("patient_control_number", String(38), primary_key=True),
    Column("touched_at", UtcDateTime, nullable=False),
)

journal = Table(
    "journal_lines", metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    # Not indexed: nothing looks lines up by entry, and every ERA writes thousands of them.
    Column("entry_id", String(36), nullable=False),
    Column("posting_id", String(36), nullable=True, index=True),
    Column("practice_id", String(64), nullable=False),
    Column("account", String(40), nullable=False),
    Column("debit", Cents, nullable=False),
    Column("credit", Cents, nullable=False),
    Column("claim_id", String(36), nullable=True),
    Column("memo", String(120), nullable=True),
    Column("at", UtcDateTime, nullable=False),
)
Index("ix_journal_account", journal.c.practice_id, journal.c.account)

denials = Table(
    "denials", metadata,
    Column("denial_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("claim_id", String(36), nullable=True),
    Column("era_id", String(36), nullable=False),
    # The posting that raised it: a reversal of that posting closes it.
    Column("posting_id", String(36), nullable=True, index=True),
    Column("payer_id", String(80), nullable=True),
    Column("line_number", Integer, nullable=True),
    Column("procedure_code", String(10), nullable=True),
    Column("rendering_npi", String(10), nullable=True),
    Column("program", String(60), nullable=True),
    Column("category", String(60), nullable=False),
    Column("group_code", String(2), nullable=True),
    Column("reason_codes", JSON, nullable=False),
    Column("remark_codes", JSON, nullable=False),
    Column("amount", Cents, nullable=False),
    Column("suggested_action", String(40), nullable=False),
    Column("queue", String(40), nullable=False),
    Column("pattern_alert", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # open | reversed | resolved
    Column("date_of_service", Date, nullable=True),
    Column("raised_at", UtcDateTime, nullable=False),
    # The outcome a person worked it to (corrected_resubmission, appealed, written_off, billed_to_patient,
    # recovered) and what it links to (the corrected claim, the appeal, the write-off's reason code).
    Column("resolution_code", String(40), nullable=True),
    Column("resolution_reference", String(64), nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
)
Index("ix_denials_queue", denials.c.practice_id, denials.c.queue, denials.c.status)
Index("ix_denials_category", denials.c.practice_id, denials.c.category, denials.c.raised_at)

era_exceptions = Table(
    "era_exceptions", metadata,
    Column("exception_id", String(36), primary_key=True),
    Column("era_id", String(36), nullable=False, index=True),
    Column("practice_id", String(64), nullable=False),
    Column("kind", String(40), nullable=False),  # unparseable | unbalanced | duplicate_payment
    Column("detail", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
)

deposits = Table(
    "bank_deposits", metadata,
    Column("deposit_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("reference", String(80), nullable=False),
    Column("amount", Cents, nullable=False),
    Column("deposit_date", Date, nullable=False),
    Column("matched_payment_id", String(36), nullable=True),
    Column("imported_at", UtcDateTime, nullable=False),
    UniqueConstraint("practice_id", "reference", "amount", "deposit_date", name="uq_bank_deposits_line"),
)

underpayments = Table(
    "underpayments", metadata,
    Column("underpayment_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("posting_id", String(36), nullable=False, index=True),
    Column("claim_id", String(36), nullable=False),
    Column("payer_id", String(80), nullable=True),
    Column("line_ordinal", Integer, nullable=False),
    Column("procedure_code", String(10), nullable=False),
    Column("expected", Cents, nullable=False),
    Column("allowed", Cents, nullable=False),
    Column("shortfall", Cents, nullable=False),
    Column("status", String(20), nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
)

# Appeals of denials: one row per level filed (rules/appeals.yaml: levels and deadlines per payer). The letter is
# rendered from this row, the denial and the claim copy when asked for (adapters/appeal_letter.py).
appeals = Table(
    "appeals", metadata,
    Column("appeal_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("denial_id", String(36), nullable=False, index=True),
    Column("claim_id", String(36), nullable=True, index=True),
    Column("payer_id", String(80), nullable=True),
    Column("category", String(60), nullable=False),
    Column("level", String(40), nullable=False),
    Column("amount", Cents, nullable=False),
    Column("denied_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),  # the last day to file this level
    Column("statement", Text, nullable=True),  # the clinical liaison's statement (in the letter, never logged)
    Column("attachments", JSON, nullable=False),
    # prepared | filed | overturned | partially_overturned | upheld | withdrawn
    Column("status", String(30), nullable=False),
    Column("prepared_at", UtcDateTime, nullable=False),
    Column("prepared_by", String(200), nullable=False),
    Column("filed_on", Date, nullable=True),
    Column("decided_on", Date, nullable=True),
    Column("recovered_posting_id", String(36), nullable=True),  # the later 835 payment that an overturn brought
    Column("recovered_amount", Cents, nullable=True),
)
Index("ix_appeals_practice_status", appeals.c.practice_id, appeals.c.status, appeals.c.due_on)

# PLB adjustments whose reason names a claim (rules/posting.yaml plb_claim_reasons: WO, 72, FB): tied to the claim
# their reference names, or waiting (claim_id null) in the plb_recoupments work queue for a person to tie.
plb_recoupments = Table(
    "plb_recoupments", metadata,
    Column("plb_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("era_id", String(36), nullable=False),
    Column("payment_id", String(36), nullable=False),
    Column("payer_id", String(80), nullable=True),
    Column("reason", String(4), nullable=False),
    Column("reference", String(80), nullable=False),
    Column("amount", Cents, nullable=False),
    Column("entry_id", String(36), nullable=True),  # its journal entry (its lines carry the claim once tied)
    Column("claim_id", String(36), nullable=True, index=True),
    Column("tied_by", String(200), nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
)
