"""The index kept current in the same transaction as the change, for every writer.

After each flush the session notes which cases' indexed rows changed (the case's
reference or summary, its request types, parties, messages, notes, documents, letters;
new and deleted ones; a message or document moved from one case to another counts for
both). Just before the transaction commits those cases' documents are rebuilt from what
the database now holds, once per case however many flushes there were; a case that is
gone leaves the index. A rollback forgets the list with the changes.

A case whose only change is new documents and letters (issuing a letter adds one of
each) keeps the rest of its stored document: the new rows' text is added to it
(caseapp.search.index.extend_cases), which comes to what the rebuild would write without
reading the whole case again. A change to a document or letter that leaves what is
indexed of it (a letter's mailing or emailing recorded) changes nothing in the index.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction, sessionmaker

from caseapp.db.history import history
from caseapp.db.models import (
    Case,
    CaseRequestType,
    Document,
    Letter,
    Message,
    Note,
    Party,
)
from caseapp.search.document import AddedRows
from caseapp.search.index import extend_cases, reindex_cases

PENDING = "caseapp.search.pending"
"""session.info key: the ids of the cases to index before the commit."""
ADDED = "caseapp.search.added"
"""session.info key: case id → the documents and letters added to it (AddedRows)."""

_CHILDREN = (CaseRequestType, Party, Message, Note, Document, Letter)
_CASE_FIELDS = ("ref", "summary")
_INDEXED = {Document: ("case_id", "case", "kind", "filename", "text"),
            Letter: ("case_id", "serial", "title")}
"""What a case's search document holds of its documents and letters."""


def _case_ids(obj: object, changed: bool) -> Iterator[int]:
    """The cases ``obj`` (new, deleted: ``changed``; else modified) belongs to."""
    if isinstance(obj, Case):
        if obj.id is not None and (changed or any(
                history(obj, name).has_changes() for name in _CASE_FIELDS)):
            yield obj.id
        return
    if isinstance(obj, _CHILDREN):
        for value in (*history(obj, "case_id").sum(), obj.case_id):
            if isinstance(value, int):
                yield value


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    pending: set[int] = session.info.setdefault(PENDING, set())
    added: dict[int, AddedRows] = session.info.setdefault(ADDED, {})
    for obj in session.new:
        # As flushed: a later change to what is indexed of it makes the case rebuilt.
        if isinstance(obj, Document) and obj.case_id is not None:
            added.setdefault(obj.case_id, AddedRows()).documents.append(
                (obj.id, obj.kind, obj.filename or "", obj.text or ""))
        elif isinstance(obj, Letter) and obj.case_id is not None:
            added.setdefault(obj.case_id, AddedRows()).letters.append(
                (obj.id, obj.serial, obj.title or ""))
        else:
            pending.update(_case_ids(obj, True))
    for obj in session.dirty:
        indexed = _INDEXED.get(type(obj))
        if indexed is not None:
            if any(history(obj, name).has_changes() for name in indexed):
                pending.update(_case_ids(obj, False))
        elif session.is_modified(obj, include_collections=False):
            pending.update(_case_ids(obj, False))
    for obj in session.deleted:
        pending.update(_case_ids(obj, True))


def _before_commit(session: Session) -> None:
    if not session.info.get(PENDING) and not session.info.get(ADDED) and not session.new \
            and not session.dirty and not session.deleted:
        return
    session.flush()  # the last changes too, so they are in the list
    pending: set[int] = session.info.pop(PENDING, None) or set()
    added: dict[int, AddedRows] = session.info.pop(ADDED, None) or {}
    only_added = {case_id: rows for case_id, rows in added.items() if case_id not in pending}
    if only_added:
        pending |= extend_cases(session.connection(), only_added)
    if pending:
        reindex_cases(session.connection(), pending)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed or rolled back: the list is done with
        session.info.pop(PENDING, None)
        session.info.pop(ADDED, None)
    elif transaction.nested:
        # A savepoint that is rolled back takes its rows with it: the cases they were
        # added to are rebuilt from what is there.
        added: dict[int, AddedRows] = session.info.pop(ADDED, None) or {}
        session.info.setdefault(PENDING, set()).update(added)


def track_changes(factory: sessionmaker[Any]) -> None:
    """Keep the search index current for every session ``factory`` makes."""
    if not event.contains(factory, "after_flush", _after_flush):
        event.listen(factory, "after_flush", _after_flush)
        event.listen(factory, "before_commit", _before_commit)
        event.listen(factory, "after_transaction_end", _after_transaction_end)
