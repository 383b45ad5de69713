"""Tables of the patient documents (statements, superbills, Good Faith Estimates) and the facts they are made
from, on patient billing's metadata (``adapters/orm.py`` imports this module so Alembic sees them).

Every issued document keeps exactly what was shown: its content as JSON and its PDF's bytes with their SHA-256.
"""

from __future__ import annotations

from rcm_shared.db.types import UtcDateTime
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from patient_billing.adapters.orm import metadata

# -- who is on a document (letterhead, clinicians, patients and guarantors): PHI, read and written audited -------

practice_profiles = Table(
    "practice_profiles", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("address_lines", JSON, nullable=False),
    Column("phone", String(40), nullable=False),
    Column("npi", String(10), nullable=False),
    Column("tax_id", String(9), nullable=False),
    Column("time_zone", String(64), nullable=True),  # for business days (else the deployment's)
    Column("statement_day", Integer, nullable=True),  # the practice's statement cycle day (else the rules')
    Column("updated_at", UtcDateTime, nullable=False),
)

clinicians = Table(
    "clinicians", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("npi", String(10), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("credential", String(20), nullable=False),
    Column("license_number", String(40), nullable=False),
    Column("license_state", String(2), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

people = Table(
    "people", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("person_id", String(64), primary_key=True),  # a patient id, or a guarantor id
    Column("name", String(120), nullable=False),
    Column("date_of_birth", Date, nullable=True),
    Column("address_lines", JSON, nullable=False),
    Column("email", String(200), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

# -- facts other services publish, kept here (never recomputed) --------------------------------------------------

visit_codings = Table(
    "visit_codings", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("visit_id", String(64), primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("billing_model", String(20), nullable=False),
    Column("payer_id", String(64), nullable=True),
    Column("rendering_npi", String(10), nullable=False),
    Column("program", String(64), nullable=True),
    Column("services", JSON, nullable=False),  # claims' coded services: procedure code, modifiers, units
    Column("diagnoses", JSON, nullable=False),  # ICD-10, in claims' order
    Column("place_of_service", String(2), nullable=True),
    Column("voided", Boolean, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)
Index("ix_visit_codings_patient", visit_codings.c.practice_id, visit_codings.c.patient_id,
      visit_codings.c.date_of_service)

claim_insurance = Table(
    "claim_insurance", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("claim_id", String(64), primary_key=True),
    Column("charge_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("adjusted_cents", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# -- statements ----------------------------------------------------------------------------------------------------

statement_runs = Table(
    "statement_runs", metadata,
    Column("run_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("statement_date", Date, nullable=False),
    Column("status", String(20), nullable=False),  # running | completed
    Column("total", Integer, nullable=False),  # accounts to state (fixed when the run starts)
    Column("issued", Integer, nullable=False),
    Column("emailed", Integer, nullable=False),
    Column("after_account_id", String(36), nullable=True),  # the cursor: accounts up to here are done
    Column("print_file", String(300), nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    UniqueConstraint("practice_id", "statement_date", name="uq_statement_runs_cycle"),
)

statements = Table(
    "statements", metadata,
    Column("statement_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("run_id", String(36), nullable=True),
    Column("account_id", String(36), nullable=False),
    Column("guarantor_id", String(64), nullable=False),
    Column("statement_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("balance_cents", BigInteger, nullable=False),
    Column("amount_due_cents", BigInteger, nullable=False),
    Column("content", JSON, nullable=False),  # exactly what was shown
    Column("pdf", LargeBinary, nullable=False),
    Column("pdf_sha256", String(64), nullable=False),
    Column("payment_link_id", String(64), nullable=True),
    Column("delivery", String(20), nullable=False),  # email | print
    Column("emailed_at", UtcDateTime, nullable=True),
    Column("issued_at", UtcDateTime, nullable=False),
    UniqueConstraint("practice_id", "account_id", "statement_date", name="uq_statements_account_cycle"),
)
Index("ix_statements_run", statements.c.run_id, statements.c.account_id)
Index("ix_statements_account", statements.c.practice_id, statements.c.account_id, statements.c.statement_date)
Index("ix_statements_payment_link", statements.c.payment_link_id)

balance_holds = Table(
    "balance_holds", metadata,
    Column("hold_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("account_id", String(36), nullable=False),
    Column("item_id", String(36), nullable=False),
    Column("kind", String(20), nullable=False),  # payment_plan | gfe_dispute
    Column("amount_cents", BigInteger, nullable=False),
    Column("source_id", String(64), nullable=False),  # the plan or dispute that holds it
    Column("placed_at", UtcDateTime, nullable=False),
    Column("released_at", UtcDateTime, nullable=True),
)
Index("ix_balance_holds_account", balance_holds.c.practice_id, balance_holds.c.account_id)

# -- links (a portal or payment link names a token, never the document or the patient) ---------------------------

document_links = Table(
    "document_links", metadata,
    Column("token", String(64), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("document_type", String(20), nullable=False),  # statement | superbill | estimate
    Column("document_id", String(36), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_document_links_document", document_links.c.document_type, document_links.c.document_id)

# -- superbills and Good Faith Estimates ---------------------------------------------------------------------------

superbills = Table(
    "superbills", metadata,
    Column("superbill_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("source_key", String(120), nullable=False),  # visit:<id> or period:<from>:<to>
    Column("variant", String(20), nullable=False),  # superbill | cms1500
    Column("content", JSON, nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("pdf_sha256", String(64), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
)
Index("ix_superbills_patient", superbills.c.practice_id, superbills.c.patient_id)

estimates = Table(
    "good_faith_estimates", metadata,
    Column("estimate_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("status", String(20), nullable=False),  # due | issued | superseded
    Column("trigger", String(20), nullable=False),  # scheduled | requested | replan
    Column("asked_on", Date, nullable=False),  # the day it was scheduled or requested (the clock starts)
    Column("first_service_date", Date, nullable=True),
    Column("due_by", Date, nullable=False),
    Column("version", Integer, nullable=False),
    Column("replaces_estimate_id", String(36), nullable=True),
    Column("covers_from", Date, nullable=False),
    Column("covers_to", Date, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("plan", JSON, nullable=False),  # the expected services, providers, diagnoses (what is estimated)
    Column("content", JSON, nullable=True),  # the issued estimate as shown
    Column("pdf", LargeBinary, nullable=True),
    Column("pdf_sha256", String(64), nullable=True),
    Column("watch", JSON, nullable=False),  # per provider: what the dispute watch already announced
    Column("issued_at", UtcDateTime, nullable=True),
    Column("retain_until", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_good_faith_estimates_patient", estimates.c.practice_id, estimates.c.patient_id)
Index("ix_good_faith_estimates_due", estimates.c.practice_id, estimates.c.status, estimates.c.due_by)

gfe_disputes = Table(
    "gfe_disputes", metadata,
    Column("dispute_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("estimate_id", String(36), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("account_id", String(36), nullable=False),
    Column("provider_npi", String(10), nullable=False),
    Column("bill_date", Date, nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("disputed_cents", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),  # open | resolved
    Column("resolved_on", Date, nullable=True),
    Column("resolution", String(200), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_gfe_disputes_estimate", gfe_disputes.c.practice_id, gfe_disputes.c.estimate_id)
