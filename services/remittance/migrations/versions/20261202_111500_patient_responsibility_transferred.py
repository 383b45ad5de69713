"""patient_responsibility_transferred: remittance's patient_ar journal lines (journal_lines) become the transfer account (what was
handed to patient-billing, the one owner of patient A/R; docs/decisions.md 2026-12-02). Amounts are untouched.

Revision ID: 20261202_111500
Revises: 20261202_063126
Create Date: 2026-12-02 11:15:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '20261202_111500'
down_revision: str | None = '20261202_063126'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE journal_lines SET account = 'patient_responsibility_transferred' WHERE account = 'patient_ar'")


def downgrade() -> None:
    op.execute("UPDATE journal_lines SET account = 'patient_ar' WHERE account = 'patient_responsibility_transferred'")
