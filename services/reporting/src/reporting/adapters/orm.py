"""Tables of the reporting database: the facts kept of each billing event (one row per event id, so replays and
duplicates change nothing and arrival order does not matter) and the per-claim fact rows derived from them.

Money is integer cents (BIGINT columns named ``*_cents``). Nothing here is read by another service, and every
table can be rebuilt from the topics (docs/runbook.md, "Rebuild the reporting read model")."""

from __future__ import annotations

from rcm_shared.db.platform_tables import add_platform_tables
from rcm_shared.db.types import UtcDateTime, service_metadata
from sqlalchemy import BigInteger, Boolean, Column, Date, Index, Integer, String, Table

metadata = service_metadata()
platform = add_platform_tables(metadata)

# visit-completed: sessions delivered (insured, self-pay, subscription), by clinician and program.
visits = Table(
    "visits", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("visit_id", String(64), primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("billing_model", String(20), nullable=False),
    Column("payer_id", String(80), nullable=True),
    Column("date_of_service", Date, nullable=False),
    Column("clinician_npi", String(10), nullable=False),
    Column("program", String(60), nullable=True),
    Column("cpt_code", String(10), nullable=True),
    Column("voided", Boolean, nullable=False),
)
Index("ix_visits_day", visits.c.practice_id, visits.c.date_of_service)

# claim-submitted: the claim as it left (the earliest submission kept).
claim_submissions = Table(
    "claim_submissions", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("claim_id", String(64), primary_key=True),
    Column("visit_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("frequency_code", String(1), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("clinician_npi", String(10), nullable=False),
    Column("program", String(60), nullable=True),
    Column("cpt_code", String(10), nullable=True),
    Column("billed_cents", BigInteger, nullable=False),
    Column("submitted_on", Date, nullable=False),
)

# claim-status-changed, one row per event.
claim_status_changes = Table(
    "claim_status_changes", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("claim_id", String(64), nullable=False),
    Column("previous_status", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
Index("ix_claim_status_changes_claim", claim_status_changes.c.practice_id, claim_status_changes.c.claim_id)

# claim-payment-posted (v1 and v2), one row per posting; a reversal's amounts are negative.
claim_postings = Table(
    "claim_postings", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("posting_id", String(64), primary_key=True),
    Column("claim_id", String(64), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("patient_cents", BigInteger, nullable=False),
    Column("contractual_cents", BigInteger, nullable=False),
    Column("posted_on", Date, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
Index("ix_claim_postings_claim", claim_postings.c.practice_id, claim_postings.c.claim_id)

# denial-raised, one row per denial.
claim_denials = Table(
    "claim_denials", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("denial_id", String(64), primary_key=True),
    Column("claim_id", String(64), nullable=False),
    Column("category", String(60), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
)
Index("ix_claim_denials_claim", claim_denials.c.practice_id, claim_denials.c.claim_id)

# The per-claim fact row, recomputed from the four tables above whenever one of them changes for the claim.
claim_facts = Table(
    "claim_facts", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("claim_id", String(64), primary_key=True),
    Column("visit_id", String(64), nullable=True),
    Column("patient_id", String(64), nullable=True),
    Column("payer_id", String(80), nullable=True),
    Column("clinician_npi", String(10), nullable=True),
    Column("program", String(60), nullable=True),
    Column("cpt_code", String(10), nullable=True),
    Column("frequency_code", String(1), nullable=True),
    Column("date_of_service", Date, nullable=True),
    Column("submitted_on", Date, nullable=True),
    Column("first_posted_on", Date, nullable=True),
    Column("last_posted_on", Date, nullable=True),
    Column("billed_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("adjusted_cents", BigInteger, nullable=False),
    Column("patient_cents", BigInteger, nullable=False),
    Column("payer_open_cents", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("rejected", Boolean, nullable=False),
    Column("held_before_submission", Boolean, nullable=False),
    Column("denied", Boolean, nullable=False),
    Column("denial_category", String(60), nullable=True),
    Column("first_pass_clean", Boolean, nullable=True),
)
Index("ix_claim_facts_day", claim_facts.c.practice_id, claim_facts.c.date_of_service)

# What a patient owes: a claim's patient responsibility (patient-responsibility-assessed, signed: a reversal is
# negative) or a self-pay charge (patient-balance-changed, self_pay_charge). charge_id: "assessment:<id>" or
# "entry:<id>".
patient_charges = Table(
    "patient_charges", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("charge_id", String(80), primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("claim_id", String(64), nullable=True),
    Column("charged_on", Date, nullable=False),
    Column("cents", BigInteger, nullable=False),
)
Index("ix_patient_charges_patient", patient_charges.c.practice_id, patient_charges.c.patient_id)

# Money from a patient (payment, credit: positive) or back to them (refund: negative): patient-balance-changed.
patient_money = Table(
    "patient_money", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("entry_id", String(64), primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("cents", BigInteger, nullable=False),
    Column("entered_on", Date, nullable=False),
)

# visit-authorization-determined: the latest answer per visit (the highest sequence wins).
visit_determinations = Table(
    "visit_determinations", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("visit_id", String(64), primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("authorization_required", Boolean, nullable=False),
    Column("authorization_number", String(50), nullable=True),
    Column("missing_reason", String(40), nullable=True),
)

# eligibility-checked: each coverage check's answer (was the patient's coverage with the payer active, as of when).
eligibility_checks = Table(
    "eligibility_checks", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("check_id", String(64), primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("active", Boolean, nullable=False),
)
Index("ix_eligibility_checks_patient", eligibility_checks.c.practice_id, eligibility_checks.c.patient_id)

#: Every table the topics rebuild (the state hash covers these; the platform tables are bookkeeping).
READ_MODEL = (visits, claim_submissions, claim_status_changes, claim_postings, claim_denials, claim_facts,
              patient_charges, patient_money, visit_determinations, eligibility_checks)
