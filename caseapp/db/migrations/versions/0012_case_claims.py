"""shared desks: who is working on a case (a claim with a lease)

``cases.claimed_by`` names the user working on the case, ``claimed_at`` since when and
``claim_expires_at`` when the lease runs out unless the holder's window renews it (a
workstation that crashed lets go by itself). A claim is taken by a conditional UPDATE
(caseapp.services.claims), never by a lock, so it works the same on SQLite and
PostgreSQL. Claims do not change the case's version: renewing a lease never makes the
holder's own edit stale.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN on both databases (nullable: no table copy, which
    # on SQLite would drop the search documents that cascade from ``cases``).
    op.add_column("cases", sa.Column("claimed_by", sa.String(length=100), nullable=True))
    op.add_column("cases", sa.Column("claimed_at", sa.DateTime(), nullable=True))
    op.add_column("cases", sa.Column("claim_expires_at", sa.DateTime(), nullable=True))
    op.create_index("ix_cases_claimed_by", "cases", ["claimed_by"])


def downgrade() -> None:
    op.drop_index("ix_cases_claimed_by", table_name="cases")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch copy (see upgrade).
    op.execute("ALTER TABLE cases DROP COLUMN claim_expires_at")
    op.execute("ALTER TABLE cases DROP COLUMN claimed_at")
    op.execute("ALTER TABLE cases DROP COLUMN claimed_by")
