"""search: the words of the parties' names per case, for finding a misspelled name

``search_names`` holds each case's folded name words (requester, data subject, agent...);
the search service reads the distinct words to suggest the names closest to a word that
found nothing. Kept current with the case's search document (caseapp.search.index).

The search documents are emptied so that the desk rebuilds them, with the names, on its
first search (caseapp.services.search.ensure_index); `caseapp search --reindex` does the
same at once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_names",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_search_names_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_names")),
        # Ids never reused, so a new highest id tells the name cache a case changed.
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_search_names_case_id"), "search_names", ["case_id"])
    op.create_index(op.f("ix_search_names_word"), "search_names", ["word"])
    op.execute("DELETE FROM search_documents")


def downgrade() -> None:
    op.drop_index(op.f("ix_search_names_word"), table_name="search_names")
    op.drop_index(op.f("ix_search_names_case_id"), table_name="search_names")
    op.drop_table("search_names")
