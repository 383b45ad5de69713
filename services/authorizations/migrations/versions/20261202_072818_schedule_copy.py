"""schedule_copy: the schedule's one home is eligibility; authorizations keeps a read-only copy fed by
visit-scheduled (booked_visits) instead of its own schedule intake (scheduled_visits). What the intake held is
carried over.

Revision ID: 20261202_072818
Revises: 20261202_072817
Create Date: 2026-12-02 07:28:18
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import rcm_shared.db.types
import sqlalchemy as sa
from alembic import op

revision: str = '20261202_072818'
down_revision: str | None = '20261202_072817'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("practice_id", "visit_id", "patient_id", "payer_id", "service_date", "cpt_code", "cancelled")


def _columns() -> list[sa.ColumnClause]:
    return [sa.column(c) for c in COLUMNS]


def upgrade() -> None:
    booked = op.create_table('booked_visits',
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('visit_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('payer_id', sa.String(length=80), nullable=True),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('cpt_code', sa.String(length=10), nullable=True),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', rcm_shared.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('practice_id', 'visit_id', name=op.f('pk_booked_visits'))
    )
    with op.batch_alter_table('booked_visits', schema=None) as batch_op:
        batch_op.create_index('ix_booked_visits_day', ['practice_id', 'service_date'], unique=False)
    copied = sa.select(*_columns(), sa.bindparam("now", datetime.now(UTC), type_=rcm_shared.db.types.UtcDateTime()))
    op.execute(sa.insert(booked).from_select([*COLUMNS, "updated_at"],
                                             copied.select_from(sa.table("scheduled_visits"))))
    op.drop_table('scheduled_visits')


def downgrade() -> None:
    scheduled = op.create_table('scheduled_visits',
    sa.Column('practice_id', sa.VARCHAR(length=64), nullable=False),
    sa.Column('visit_id', sa.VARCHAR(length=64), nullable=False),
    sa.Column('patient_id', sa.VARCHAR(length=64), nullable=False),
    sa.Column('payer_id', sa.VARCHAR(length=80), nullable=False),
    sa.Column('service_date', sa.DATE(), nullable=False),
    sa.Column('cpt_code', sa.VARCHAR(length=10), nullable=False),
    sa.Column('cancelled', sa.BOOLEAN(), nullable=False),
    sa.PrimaryKeyConstraint('practice_id', 'visit_id', name=op.f('pk_scheduled_visits'))
    )
    op.execute(sa.insert(scheduled).from_select(list(COLUMNS), sa.select(*_columns()).select_from(
        sa.table("booked_visits")).where(sa.column("payer_id").is_not(None), sa.column("cpt_code").is_not(None))))
    with op.batch_alter_table('booked_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_booked_visits_day')
    op.drop_table('booked_visits')
