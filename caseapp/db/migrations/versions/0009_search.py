"""full-text search: one search document per case, its index (SQLite FTS5 / PostgreSQL
tsvector with GIN), and saved searches

The index starts empty: the desk fills in the documents of cases that have none on its
first search (caseapp.services.search.ensure_index), with the code that builds them
then, and `caseapp search --reindex` rebuilds everything.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SQLITE_INDEX = (
    # External content: the folded words live in search_documents only.
    "CREATE VIRTUAL TABLE search_fts USING fts5(folded, content='search_documents', "
    "content_rowid='case_id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO search_fts(rowid, folded) VALUES (new.case_id, new.folded); END",
    "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, folded) "
    "VALUES ('delete', old.case_id, old.folded); END",
    "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, folded) "
    "VALUES ('delete', old.case_id, old.folded); "
    "INSERT INTO search_fts(rowid, folded) VALUES (new.case_id, new.folded); END",
)
POSTGRES_INDEX = (
    "ALTER TABLE search_documents ADD COLUMN tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', folded)) STORED",
    "CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)",
)


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sections", sa.Text(), nullable=False),
        sa.Column("folded", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_search_documents_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_search_documents")),
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_INDEX if dialect == "sqlite" else POSTGRES_INDEX:
        op.execute(statement)
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query_json", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
        sa.UniqueConstraint("owner", "name", name=op.f("uq_saved_searches_owner_name")),
    )


def downgrade() -> None:
    op.drop_table("saved_searches")
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("search_documents_ai", "search_documents_ad", "search_documents_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_documents")
