"""Alembic environment: always called from caseapp.db.migrate with a live connection."""

from __future__ import annotations

from alembic import context

from caseapp.db.migrate import include_name
from caseapp.db.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
    compare_type=True,
    include_name=include_name,  # the search index is no model
)
with context.begin_transaction():
    context.run_migrations()
