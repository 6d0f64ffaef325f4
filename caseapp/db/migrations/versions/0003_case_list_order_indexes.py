"""indexes for the case list's default orders

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 11:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_priority_due", "cases", ["priority", "due_on"])
    op.create_index("ix_cases_due", "cases", ["due_on"])


def downgrade() -> None:
    op.drop_index("ix_cases_due", table_name="cases")
    op.drop_index("ix_cases_priority_due", table_name="cases")
