"""retention purge: redactable audit details, cases.purged_at

The audit chain's links now cover the SHA-256 of each event's detail instead of the
detail itself (caseapp.audit), so that the retention purge can take personal data out of
an old event's detail and the chain still verifies: ``audit_events.detail_sha256`` keeps
the digest of a redacted detail (NULL for every other event). ``cases.purged_at`` says
when the purge took a case's personal information out.

The existing chain is re-linked in the new form, after checking each link in the old
form, in order. A chain that was already broken is re-linked only up to the first
broken link and left as it was from there on, so ``caseapp audit verify`` reports the
same first broken event after the upgrade as before it: an upgrade never launders a
tampered chain. The head moves with the chain when it pointed at its last event.

The downgrade re-links in the old form; it is refused once the purge redacted an event
(the old form cannot verify it).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
BATCH = 5000

_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("at", sa.DateTime()),
    sa.column("actor", sa.String()),
    sa.column("case_ref", sa.String()),
    sa.column("action", sa.String()),
    sa.column("detail", sa.Text()),
    sa.column("detail_sha256", sa.String()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
_head = sa.table(
    "audit_head",
    sa.column("id", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("hash", sa.String()),
)

# The two link forms, frozen here (caseapp.audit may change; this migration may not).
Link = Callable[[str, int, datetime, str, str | None, str, str], str]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _link(prev: str, seq: int, at: datetime, actor: str, case_ref: str | None, action: str,
          covered: str) -> str:
    return _sha256("\x1f".join([prev, str(seq), at.isoformat(), actor, case_ref or "", action,
                                covered]))


def link_v1(prev: str, seq: int, at: datetime, actor: str, case_ref: str | None,
            action: str, detail_json: str) -> str:
    """Before 0011: the link covers the detail's JSON."""
    return _link(prev, seq, at, actor, case_ref, action, detail_json)


def link_v2(prev: str, seq: int, at: datetime, actor: str, case_ref: str | None,
            action: str, detail_json: str) -> str:
    """From 0011: the link covers the SHA-256 of the detail's JSON."""
    return _link(prev, seq, at, actor, case_ref, action, _sha256(detail_json))


def relink(connection: sa.Connection, old: Link, new: Link) -> None:
    """Check each link in the ``old`` form and write it in the ``new`` one, in order, up to
    the first link that does not hold (that one and the rest stay as they were)."""
    old_prev = new_prev = GENESIS
    expected = 1
    intact = True
    last_seq = 0
    while intact:
        rows = connection.execute(
            sa.select(_events.c.id, _events.c.seq, _events.c.at, _events.c.actor,
                      _events.c.case_ref, _events.c.action, _events.c.detail,
                      _events.c.prev_hash, _events.c.hash)
            .where(_events.c.seq > last_seq).order_by(_events.c.seq).limit(BATCH)).all()
        if not rows:
            break
        updates = []
        for row in rows:
            detail = row.detail if row.detail is not None else ""
            if (row.seq != expected or row.prev_hash != old_prev
                    or row.hash != old(old_prev, row.seq, row.at, row.actor, row.case_ref,
                                       row.action, detail)):
                intact = False
                break
            digest = new(new_prev, row.seq, row.at, row.actor, row.case_ref, row.action,
                         detail)
            updates.append({"row_id": row.id, "new_prev": new_prev, "new_hash": digest})
            old_prev, new_prev = row.hash, digest
            expected += 1
            last_seq = row.seq
        if updates:
            connection.execute(
                _events.update().where(_events.c.id == sa.bindparam("row_id"))
                .values(prev_hash=sa.bindparam("new_prev"), hash=sa.bindparam("new_hash")),
                updates)
    # The head follows the chain's end when it pointed at it (a head that did not still
    # does not: a chain cut short stays reported as such).
    connection.execute(_head.update().where(_head.c.id == 1, _head.c.hash == old_prev)
                       .values(hash=new_prev))


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (no copy of the tables: SQLite adds a nullable
    # column in place).
    op.add_column("audit_events", sa.Column("detail_sha256", sa.String(length=64),
                                            nullable=True))
    op.add_column("cases", sa.Column("purged_at", sa.DateTime(), nullable=True))
    relink(op.get_bind(), link_v1, link_v2)


def downgrade() -> None:
    connection = op.get_bind()
    redacted = connection.execute(sa.select(sa.func.count()).select_from(_events)
                                  .where(_events.c.detail_sha256.is_not(None))).scalar()
    if redacted:
        raise RuntimeError(f"{redacted} audit event(s) were redacted by the retention purge: "
                           "the audit chain of before 0011 cannot verify them")
    relink(connection, link_v2, link_v1)
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): copying ``cases`` in batch mode would
    # drop the table its search documents cascade from.
    op.execute("ALTER TABLE cases DROP COLUMN purged_at")
    op.execute("ALTER TABLE audit_events DROP COLUMN detail_sha256")
