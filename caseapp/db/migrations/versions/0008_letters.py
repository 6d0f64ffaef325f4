"""letters issued for cases, their serial counter, and the desk's letter texts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("serial", sa.String(length=30), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("delivery", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("texts_sha256", sa.String(length=64), nullable=False, server_default=""),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("mailed_on", sa.Date(), nullable=True),
        sa.Column("mail_method", sa.String(length=40), nullable=False),
        sa.Column("tracking_number", sa.String(length=60), nullable=False),
        sa.Column("emailed_at", sa.DateTime(), nullable=True),
        sa.Column("emailed_to", sa.String(length=320), nullable=False),
        sa.Column("sending_at", sa.DateTime(), nullable=True),
        sa.Column("sending_by", sa.String(length=100), nullable=False, server_default=""),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_letters_case_id_cases"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name=op.f("fk_letters_document_id_documents"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["notice_id"], ["downstream_notices.id"],
                                name=op.f("fk_letters_notice_id_downstream_notices"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letters")),
        sa.UniqueConstraint("serial", name=op.f("uq_letters_serial")),
    )
    op.create_index(op.f("ix_letters_case_id"), "letters", ["case_id"])
    op.create_table(
        "letter_texts",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("saved_by", sa.String(length=100), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_letter_texts")),
    )
    op.create_table(
        "letter_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_letter_counters")),
    )


def downgrade() -> None:
    op.drop_table("letter_counters")
    op.drop_table("letter_texts")
    op.drop_index(op.f("ix_letters_case_id"), table_name="letters")
    op.drop_table("letters")
