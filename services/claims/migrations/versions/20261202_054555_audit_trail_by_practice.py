"""audit_trail_by_practice: GET /v1/audit-events reads one practice's trail, newest first, by id

Revision ID: 20261202_054555
Revises: 20261130_191025
Create Date: 2026-12-02 05:45:55.655532
"""
from collections.abc import Sequence

from alembic import op

revision: str = '20261202_054555'
down_revision: str | None = '20261130_191025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_practice', ['practice_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_practice')
