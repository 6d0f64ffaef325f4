"""mailbox UIDs dealt with, duplicates included

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailbox_uids",
        sa.Column("mailbox_key", sa.String(length=300), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"],
                                name=op.f("fk_mailbox_uids_message_id_messages"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("mailbox_key", "uidvalidity", "uid",
                                name=op.f("pk_mailbox_uids")),
    )
    # The UIDs already recorded on messages count as dealt with.
    op.execute(
        "INSERT INTO mailbox_uids (mailbox_key, uidvalidity, uid, message_id, seen_at) "
        "SELECT mailbox_key, imap_uidvalidity, imap_uid, id, created_at FROM messages "
        "WHERE mailbox_key IS NOT NULL AND imap_uidvalidity IS NOT NULL "
        "AND imap_uid IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("mailbox_uids")
