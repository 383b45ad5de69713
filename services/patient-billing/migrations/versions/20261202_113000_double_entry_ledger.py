"""double_entry_ledger: accounts per responsible party (guarantors, effective-dated members), the journal (entries
with balanced lines, integer cents), open items, unapplied credits, payments and pending-insurance markers. The
single-entry account_entries of each patient are carried into the journal (each old kind as its balanced entry)
and the open items rebuilt first-in first-out; the old tables are dropped.

Revision ID: 20261202_113000
Revises: 20261202_054600
Create Date: 2026-12-02 11:30:00
"""
from collections.abc import Sequence
from datetime import date

import rcm_shared.db.types
import sqlalchemy as sa
from alembic import op

revision: str = '20261202_113000'
down_revision: str | None = '20261202_054600'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# old single-entry kind -> (entry kind, the ledger on the other side of patient A/R, A/R is debited)
OLD_KINDS = {
    "self_pay_charge": ("charge", "self_pay_revenue", True),
    "patient_responsibility": ("responsibility", "insurance_transfer", True),
    "refund": ("refund", "patient_cash", True),
    "payment": ("payment", "patient_cash", False),
    "credit": ("adjustment", "patient_adjustments", False),
    "responsibility_reversal": ("reversal", "insurance_transfer", False),
}


def upgrade() -> None:
    op.create_table('billing_accounts',
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('guarantor_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('balance_cents', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', rcm_shared.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_billing_accounts')),
    sa.UniqueConstraint('practice_id', 'guarantor_id', name='uq_billing_accounts_practice_guarantor'))
    op.create_table('account_members',
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('relationship', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('practice_id', 'patient_id', 'effective_from', name=op.f('pk_account_members')))
    op.create_index('ix_account_members_account', 'account_members', ['account_id'])
    op.create_table('journal_entries',
    sa.Column('entry_id', sa.String(length=36), nullable=False),
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source_id', sa.String(length=120), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('posted_at', rcm_shared.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=True),
    sa.Column('visit_id', sa.String(length=64), nullable=True),
    sa.Column('claim_id', sa.String(length=64), nullable=True),
    sa.Column('reverses_entry_id', sa.String(length=36), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_journal_entries')),
    sa.UniqueConstraint('practice_id', 'source_id', name='uq_journal_entries_source'))
    op.create_index('ix_journal_entries_account', 'journal_entries', ['account_id', 'posted_at'])
    op.create_index('ix_journal_entries_visit', 'journal_entries', ['practice_id', 'visit_id'])
    op.create_index('ix_journal_entries_reverses', 'journal_entries', ['reverses_entry_id'])
    op.create_table('journal_lines',
    sa.Column('line_id', AUTO_ID, autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.String(length=36), nullable=False),
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('ledger', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('debit_cents', sa.BigInteger(), nullable=False),
    sa.Column('credit_cents', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('line_id', name=op.f('pk_journal_lines')))
    op.create_index('ix_journal_lines_practice_ledger', 'journal_lines', ['practice_id', 'ledger'])
    op.create_index('ix_journal_lines_entry', 'journal_lines', ['entry_id'])
    op.create_table('open_items',
    sa.Column('item_id', sa.String(length=36), nullable=False),
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('open_cents', sa.BigInteger(), nullable=False),
    sa.Column('visit_id', sa.String(length=64), nullable=True),
    sa.Column('claim_id', sa.String(length=64), nullable=True),
    sa.Column('program', sa.String(length=64), nullable=True),
    sa.Column('clinician', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_open_items')))
    op.create_index('ix_open_items_account', 'open_items', ['account_id'])
    op.create_index('ix_open_items_practice_date', 'open_items', ['practice_id', 'service_date'])
    op.create_table('unapplied_credits',
    sa.Column('credit_id', sa.String(length=36), nullable=False),
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('remaining_cents', sa.BigInteger(), nullable=False),
    sa.Column('for_patient_id', sa.String(length=64), nullable=True),
    sa.Column('for_service_date', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('credit_id', name=op.f('pk_unapplied_credits')))
    op.create_index('ix_unapplied_credits_account', 'unapplied_credits', ['account_id'])
    op.create_table('patient_payments',
    sa.Column('payment_id', sa.String(length=64), nullable=False),
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('entry_id', sa.String(length=36), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('refunded_cents', sa.BigInteger(), nullable=False),
    sa.Column('reversed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('payment_id', name=op.f('pk_patient_payments')))
    op.create_index('ix_patient_payments_account', 'patient_payments', ['account_id'])
    op.create_table('pending_insurance',
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('program', sa.String(length=64), nullable=True),
    sa.Column('clinician', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('practice_id', 'patient_id', 'service_date', name=op.f('pk_pending_insurance')))
    op.create_index('ix_pending_insurance_account', 'pending_insurance', ['account_id'])
    _carry_over()
    with op.batch_alter_table('account_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_account_entries_account')
    op.drop_table('account_entries')
    op.drop_table('patient_accounts')


def _carry_over() -> None:
    """Each old account becomes the patient's own (self-guarantor) account; each old entry its balanced entry."""
    bind = op.get_bind()
    old_accounts = bind.execute(sa.text(
        "SELECT account_id, practice_id, patient_id, updated_at FROM patient_accounts")).all()
    for acc in old_accounts:
        rows = bind.execute(sa.text(
            "SELECT entry_id, kind, amount, source_id, claim_id, service_date, posted_at FROM account_entries "
            "WHERE account_id = :a ORDER BY posted_at, entry_id"), {"a": acc.account_id}).all()
        opened = min((_day(r.service_date or r.posted_at) for r in rows), default=date(2000, 1, 1))
        debits: list[list] = []  # [item_id, service_date, amount, open, kind, claim_id]
        credit = 0
        for r in rows:
            kind, other, ar_debit = OLD_KINDS[r.kind]
            cents = int(r.amount)  # the old Cents column held integer cents
            day = _day(r.service_date or r.posted_at)
            bind.execute(sa.text(
                "INSERT INTO journal_entries (entry_id, practice_id, account_id, kind, source_id, effective_date, "
                "posted_at, patient_id, claim_id, reasons, detail) VALUES (:e, :p, :a, :k, :s, :d, :t, :pt, :c, "
                "'[]', '{}')"), {"e": r.entry_id, "p": acc.practice_id, "a": acc.account_id, "k": kind,
                                 "s": r.source_id, "d": day, "t": r.posted_at, "pt": acc.patient_id, "c": r.claim_id})
            ar = (cents, 0) if ar_debit else (0, cents)
            bind.execute(sa.text(
                "INSERT INTO journal_lines (entry_id, practice_id, ledger, account_id, debit_cents, credit_cents) "
                "VALUES (:e, :p, 'patient_ar', :a, :d, :c), (:e, :p, :o, NULL, :c, :d)"),
                {"e": r.entry_id, "p": acc.practice_id, "a": acc.account_id, "o": other, "d": ar[0], "c": ar[1]})
            if ar_debit:
                debits.append([r.entry_id, day, cents, cents, kind, r.claim_id])
            else:
                credit += cents
        for item in sorted(debits, key=lambda d: (d[1], d[0])):
            applied = min(credit, item[3])
            item[3] -= applied
            credit -= applied
        balance = sum(d[3] for d in debits) - credit
        bind.execute(sa.text(
            "INSERT INTO billing_accounts (account_id, practice_id, guarantor_id, kind, balance_cents, updated_at) "
            "VALUES (:a, :p, :g, 'individual', :b, :t)"),
            {"a": acc.account_id, "p": acc.practice_id, "g": acc.patient_id, "b": balance, "t": acc.updated_at})
        bind.execute(sa.text(
            "INSERT INTO account_members (practice_id, patient_id, effective_from, account_id, relationship) "
            "VALUES (:p, :pt, :f, :a, 'self')"), {"p": acc.practice_id, "pt": acc.patient_id, "f": opened,
                                                  "a": acc.account_id})
        for item_id, day, amount, open_cents, kind, claim_id in debits:
            if open_cents:
                bind.execute(sa.text(
                    "INSERT INTO open_items (item_id, practice_id, account_id, patient_id, service_date, kind, "
                    "amount_cents, open_cents, claim_id) VALUES (:i, :p, :a, :pt, :d, :k, :m, :o, :c)"),
                    {"i": item_id, "p": acc.practice_id, "a": acc.account_id, "pt": acc.patient_id, "d": day,
                     "k": kind, "m": amount, "o": open_cents, "c": claim_id})
        if credit:
            bind.execute(sa.text(
                "INSERT INTO unapplied_credits (credit_id, practice_id, account_id, patient_id, received_on, "
                "remaining_cents) VALUES (:i, :p, :a, :pt, :d, :c)"),
                {"i": f"carried-{acc.account_id}", "p": acc.practice_id, "a": acc.account_id, "pt": acc.patient_id,
                 "d": opened, "c": credit})


def _day(value: object) -> date:
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if hasattr(value, "date") and callable(value.date):
        return value.date()  # type: ignore[no-any-return]
    assert isinstance(value, date)
    return value


def downgrade() -> None:
    """Back to one account per patient with single-entry rows: each journal entry's A/R movement on the account
    becomes one row (an A/R debit a charge or responsibility, a credit a payment or credit); guarantors are lost."""
    op.create_table('patient_accounts',
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('balance', rcm_shared.db.types.Cents(), nullable=False),
    sa.Column('updated_at', rcm_shared.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_patient_accounts')),
    sa.UniqueConstraint('practice_id', 'patient_id', name='uq_patient_accounts_practice_patient'))
    op.create_table('account_entries',
    sa.Column('entry_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('amount', rcm_shared.db.types.Cents(), nullable=False),
    sa.Column('source_id', sa.String(length=80), nullable=False),
    sa.Column('claim_id', sa.String(length=36), nullable=True),
    sa.Column('service_date', sa.Date(), nullable=True),
    sa.Column('posted_at', rcm_shared.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['patient_accounts.account_id'],
                            name=op.f('fk_account_entries_account_id_patient_accounts')),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_account_entries')),
    sa.UniqueConstraint('account_id', 'source_id', name='uq_account_entries_source'))
    with op.batch_alter_table('account_entries', schema=None) as batch_op:
        batch_op.create_index('ix_account_entries_account', ['account_id', 'posted_at'], unique=False)
    bind = op.get_bind()
    bind.execute(sa.text(
        "INSERT INTO patient_accounts (account_id, practice_id, patient_id, balance, updated_at) "
        "SELECT account_id, practice_id, guarantor_id, balance_cents, updated_at FROM billing_accounts"))
    bind.execute(sa.text(
        "INSERT INTO account_entries (entry_id, account_id, kind, amount, source_id, claim_id, service_date, "
        "posted_at, detail) SELECT e.entry_id, l.account_id, CASE WHEN l.debit_cents > 0 THEN "
        "(CASE e.kind WHEN 'responsibility' THEN 'patient_responsibility' WHEN 'refund' THEN 'refund' "
        "ELSE 'self_pay_charge' END) ELSE (CASE e.kind WHEN 'payment' THEN 'payment' ELSE 'credit' END) END, "
        "l.debit_cents + l.credit_cents, e.source_id, e.claim_id, e.effective_date, e.posted_at, CAST('{}' AS JSON) "
        "FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.entry_id AND l.ledger = 'patient_ar' "
        "WHERE e.kind <> 'transfer'"))
    for table in ('pending_insurance', 'patient_payments', 'unapplied_credits', 'open_items', 'journal_lines',
                  'journal_entries', 'account_members', 'billing_accounts'):
        for index in sa.inspect(bind).get_indexes(table):
            op.drop_index(index['name'], table_name=table)
        op.drop_table(table)
