"""The audit trail: an append-only hash chain written in the same transaction as the change.

Each event's hash covers its own content and the previous event's hash, so deleting,
reordering or editing any row breaks the chain from there on; ``verify`` finds the
first broken link. Writers lock the single ``audit_head`` row, which serializes appends
on PostgreSQL; SQLite serializes writers anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caseapp.db.models import AuditEvent, AuditHead, Case

GENESIS = "0" * 64


def canonical_json(detail: Mapping[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def link_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, case_ref: str | None, action: str,
    detail_json: str,
) -> str:
    content = "\x1f".join(
        [prev_hash, str(seq), at.isoformat(), actor, case_ref or "", action, detail_json]
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def lock_chain(session: Session) -> AuditHead:
    """Take the writer's lock for this transaction and return the chain head."""
    transaction = session.get_transaction()
    held = session.info.get(_LOCK_KEY)
    if held is not None and transaction is not None and held[0] is transaction:
        # Locked already in this transaction: the row is ours until it ends.
        return held[1]  # type: ignore[no-any-return]
    # A no-op UPDATE first: on SQLite it takes the write lock before anything is read,
    # so the transaction never has to upgrade a stale read snapshot.
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    session.info[_LOCK_KEY] = (session.get_transaction(), head)
    return head


_LOCK_KEY = "caseapp.audit.lock"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    at: datetime,
    case: Case | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    head = lock_chain(session)
    detail_json = canonical_json(detail or {})
    seq = head.seq + 1
    case_ref = case.ref if case is not None else None
    digest = link_hash(head.hash, seq, at, actor, case_ref, action, detail_json)
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=actor,
        case_id=case.id if case is not None else None,
        case_ref=case_ref,
        action=action,
        detail=detail_json,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(event)
    head.seq = seq
    head.hash = digest
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    first_broken_seq: int | None
    problem: str
    head_hash: str


def verify(session: Session, batch: int = 5000) -> ChainReport:
    """Walk the whole chain in order; report the first link that does not hold."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for event in rows:
            problem = ""
            if event.seq != expected_seq:
                problem = f"event {expected_seq} is missing (next is {event.seq})"
            elif event.prev_hash != prev:
                problem = "does not point at the event before it"
            elif event.hash != link_hash(prev, event.seq, event.at, event.actor, event.case_ref,
                                         event.action, event.detail):
                problem = "its content was changed after it was written"
            if problem:
                return ChainReport(False, count, expected_seq if event.seq != expected_seq
                                   else event.seq, problem, prev)
            prev = event.hash
            expected_seq += 1
            count += 1
            last_seq = event.seq
        session.expunge_all()
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != prev):
        return ChainReport(
            False, count, count + 1,
            f"the chain ends at event {count} but the head says {head.seq}: "
            "events were removed from the end",
            prev,
        )
    return ChainReport(True, count, None, "", prev)
