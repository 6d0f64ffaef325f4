"""intake: messages kept whole (raw bytes in blobs), quarantine and "not a request",
mailbox dedupe, cases opened from an unconfirmed proposal

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TEXT_COLUMNS = ("quarantine_reason", "in_reply_to", "reference_ids", "html_sanitized",
                 "blocked", "defects", "classification", "source_label")


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blobs")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disposition", sa.String(length=20), nullable=False,
                                      server_default="case"))
        batch_op.add_column(sa.Column("auto_kind", sa.String(length=20), nullable=False,
                                      server_default=""))
        for name in _TEXT_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("from_addr", sa.String(length=320), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("received_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("size", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("mailbox_key", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("imap_uidvalidity", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("imap_uid", sa.BigInteger(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_messages_raw_sha256"))
        batch_op.create_unique_constraint(batch_op.f("uq_messages_raw_sha256"), ["raw_sha256"])
        batch_op.create_unique_constraint(
            "uq_messages_mailbox_uid", ["mailbox_key", "imap_uidvalidity", "imap_uid"]
        )
        batch_op.create_index(batch_op.f("ix_messages_disposition"), ["disposition"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_messages_from_addr"), ["from_addr"], unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intake_review", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("intake_review")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_from_addr"))
        batch_op.drop_index(batch_op.f("ix_messages_disposition"))
        batch_op.drop_constraint("uq_messages_mailbox_uid", type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_messages_raw_sha256"), type_="unique")
        batch_op.create_index(batch_op.f("ix_messages_raw_sha256"), ["raw_sha256"],
                              unique=False)
        for name in ("imap_uid", "imap_uidvalidity", "mailbox_key", "size", "received_at",
                     "from_addr", *reversed(_TEXT_COLUMNS), "auto_kind", "disposition"):
            batch_op.drop_column(name)
    op.drop_table("blobs")
