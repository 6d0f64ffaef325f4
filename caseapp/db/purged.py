"""A purged case takes no new personal information, whoever writes.

The retention purge (caseapp.services.retention) removes a closed case's personal
information and marks it ``purged_at``; the purge is not run again for it. So nothing
may be filed with it afterwards: a note, task, message, document, letter, record hit,
action or notice added to it or moved into it, or a party's name or contact details
filled in again. Checked before every flush of every session, so no service can forget.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction, sessionmaker

from caseapp.db.history import has, history, loaded_value
from caseapp.db.models import (
    Case,
    CaseRequestType,
    Document,
    DownstreamNotice,
    Letter,
    Message,
    Note,
    Party,
    RecordAction,
    RecordHit,
    SourceSearch,
    Task,
)
from caseapp.errors import InvalidInput

_CHILDREN = (CaseRequestType, Document, DownstreamNotice, Letter, Message, Note, Party,
             RecordAction, RecordHit, SourceSearch, Task)
_PERSONAL = ("name", "email", "phone", "postal_address", "postal_code")


def _case_of(session: Session, obj: Any) -> Case | None:
    case = loaded_value(obj, "case") if has(obj, "case") else None
    if isinstance(case, Case):
        return case
    case_id = getattr(obj, "case_id", None)
    if not isinstance(case_id, int):
        return None
    with session.no_autoflush:
        return session.get(Case, case_id)


def _refused(case: Case) -> InvalidInput:
    day = case.purged_at.date().isoformat() if case.purged_at else "?"
    return InvalidInput(
        f"{case.ref} was purged under the retention rule on {day}: nothing can be added to "
        "it any more. A request made now is a new case.")


def _before_flush(session: Session, _context: UOWTransaction, _instances: object) -> None:
    for obj in session.new:
        if isinstance(obj, _CHILDREN):
            case = _case_of(session, obj)
            if case is not None and case.purged_at is not None:
                raise _refused(case)
    for obj in session.dirty:
        if isinstance(obj, Case) and obj.purged_at is not None:
            if not history(obj, "purged_at").added and history(obj, "summary").added \
                    and obj.summary:
                raise _refused(obj)  # a summary written again after the purge
            continue
        if not isinstance(obj, _CHILDREN):
            continue
        case = _case_of(session, obj)
        if case is None or case.purged_at is None:
            continue
        moved_in = has(obj, "case_id") and history(obj, "case_id").added
        moved_in = moved_in or (has(obj, "case") and history(obj, "case").added)
        refilled = isinstance(obj, Party) and any(
            history(obj, name).added and getattr(obj, name) for name in _PERSONAL)
        if moved_in or refilled:
            raise _refused(case)


def guard_purged_cases(factory: sessionmaker[Any]) -> None:
    """Refuse new personal information on purged cases in every session ``factory`` makes."""
    if not event.contains(factory, "before_flush", _before_flush):
        event.listen(factory, "before_flush", _before_flush)
