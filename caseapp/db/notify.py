"""Telling other workstations which cases changed: PostgreSQL NOTIFY, in the same
transaction as the change.

Every change to a case writes an audit event (caseapp.audit) in its transaction, so the
cases a transaction changed are the ``case_id`` of the audit events it flushed (and any
case row it flushed). Just before the commit, the session sends ``NOTIFY caseapp_cases``
with those ids (comma-separated; split so that no payload nears PostgreSQL's 8,000-byte
limit). PostgreSQL delivers a notification only when, and if, its transaction commits,
so a listener never hears of a change that was rolled back. SQLite has no NOTIFY:
caseapp.services.changes polls it instead.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker

from caseapp.db.models import AuditEvent, Case

CHANNEL = "caseapp_cases"
MAX_PAYLOAD = 7000  # bytes; PostgreSQL refuses 8,000 and more
_IDS_KEY = "caseapp.notify.case_ids"
_installed: weakref.WeakSet[sessionmaker[Session]] = weakref.WeakSet()


def payloads(case_ids: set[int]) -> list[str]:
    """The ids as comma-separated payloads, each under MAX_PAYLOAD bytes."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for case_id in sorted(case_ids):
        item = str(case_id)
        if current and size + len(item) + 1 > MAX_PAYLOAD:
            chunks.append(",".join(current))
            current, size = [], 0
        current.append(item)
        size += len(item) + 1
    if current:
        chunks.append(",".join(current))
    return chunks


def parse_payload(payload: str) -> set[int]:
    return {int(part) for part in payload.split(",") if part.strip().isdigit()}


def _collect(session: Session, _flush_context: Any) -> None:
    ids: set[int] = session.info.setdefault(_IDS_KEY, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent) and obj.case_id is not None:
            ids.add(obj.case_id)
        elif isinstance(obj, Case) and obj.id is not None:
            ids.add(obj.id)


def _publish(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        session.info.pop(_IDS_KEY, None)
        return
    session.flush()  # what is still pending is part of the commit: collect it too
    ids: set[int] = session.info.pop(_IDS_KEY, set())
    for payload in payloads(ids):
        session.execute(text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": CHANNEL, "payload": payload})


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_IDS_KEY, None)


def publish_case_changes(factory: sessionmaker[Session]) -> None:
    """Make every commit of this factory's sessions notify the cases it changed (once per
    factory, however many desks share it)."""
    if factory in _installed:
        return
    _installed.add(factory)
    event.listen(factory, "after_flush", _collect)
    event.listen(factory, "before_commit", _publish)
    event.listen(factory, "after_rollback", _forget)
    event.listen(factory, "after_soft_rollback", _forget)
