"""The audit trail: an append-only hash chain written in the same transaction as the change.

Each event's hash covers its own content and the previous event's hash, so deleting,
reordering or editing any row breaks the chain from there on; ``verify`` finds the
first broken link. Writers lock the single ``audit_head`` row, which serializes appends
on PostgreSQL; SQLite serializes writers anyway.

The link covers the SHA-256 of the event's detail (its canonical JSON), not the JSON
itself (migration 0011). That is what lets the retention purge (caseapp.services.retention)
take the personal data out of an old event's detail without breaking the chain: the
redacted event keeps the digest of what it said (``detail_sha256``, NULL for every event
never redacted) and a detail that names the purge event (``"_redacted": {"by": SEQ}``),
and that later ``case.purged`` event of the same case seals every detail it redacted
(``redacted_sha256``). So ``verify`` still finds any change: to a redacted event's digest
(the link), to what it kept (the seal), a redaction no purge made (no seal for it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
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


def detail_digest(detail_json: str) -> str:
    """What a link covers of an event's detail: the SHA-256 of its canonical JSON."""
    return hashlib.sha256(detail_json.encode("utf-8")).hexdigest()


def link_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, case_ref: str | None, action: str,
    detail_json: str,
) -> str:
    """The hash of an event whose detail is ``detail_json``."""
    return digest_link_hash(prev_hash, seq, at, actor, case_ref, action,
                            detail_digest(detail_json))


def digest_link_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, case_ref: str | None, action: str,
    detail_sha256: str,
) -> str:
    """The hash of an event from its detail's digest (all a redacted event still has)."""
    content = "\x1f".join(
        [prev_hash, str(seq), at.isoformat(), actor, case_ref or "", action, detail_sha256]
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
    if case is not None and case in session.new:  # not written yet: its id comes then
        event.case = case
    session.add(event)
    head.seq = seq
    head.hash = digest
    return event


# --- redaction (the retention purge) ---------------------------------------------------

PURGE_ACTION = "case.purged"
REDACTED_KEY = "_redacted"
"""The key of a redacted detail that names the purge event: ``{"by": SEQ, "removed": [...]}``."""
SEAL_KEY = "redacted_sha256"
COUNT_KEY = "redacted_events"
"""Keys of a purge event's detail: the seal over the details it redacted, and how many."""


def redact(event: AuditEvent, kept: Mapping[str, Any], by_seq: int) -> str:
    """Replace ``event``'s detail by the keys ``kept`` of it and a note naming the purge
    event ``by_seq`` (still to be written, in this transaction); its digest stays, so its
    link holds. Returns the new detail (for the purge event's seal)."""
    if event.detail_sha256 is not None:
        raise ValueError(f"audit event {event.seq} was redacted already")
    if by_seq <= event.seq:
        raise ValueError("a redaction is sealed by a later event")
    try:
        before = json.loads(event.detail)
    except ValueError:
        before = {}
    removed = sorted(set(before) - set(kept)) if isinstance(before, dict) else []
    detail_json = canonical_json({**kept, REDACTED_KEY: {"by": by_seq, "removed": removed}})
    event.detail_sha256 = detail_digest(event.detail)
    event.detail = detail_json
    return detail_json


def seal(redacted: Sequence[tuple[int, str]]) -> str:
    """The digest a purge event keeps of the details it redacted (seq, new detail)."""
    hasher = hashlib.sha256()
    for seq, detail_json in sorted(redacted):
        hasher.update(f"{seq}\x1f{detail_json}\x1e".encode())
    return hasher.hexdigest()


def _redacted_by(detail_json: str) -> int | None:
    try:
        detail = json.loads(detail_json)
        by = detail[REDACTED_KEY]["by"]
    except (ValueError, TypeError, KeyError):
        return None
    return by if isinstance(by, int) and not isinstance(by, bool) else None


@dataclass
class _Redaction:
    seq: int
    detail: str
    case_ref: str | None


def _seal_problem(event: AuditEvent, redactions: list[_Redaction]) -> str:
    """Why the purge event ``event`` does not seal exactly ``redactions`` ("" if it does)."""
    if event.action != PURGE_ACTION:
        return (f"events {_seqs(redactions)} say a purge at event {event.seq} removed their "
                "details, but that event is no purge")
    try:
        detail = json.loads(event.detail)
    except ValueError:
        detail = {}
    claimed = detail.get(COUNT_KEY, 0) if isinstance(detail, dict) else 0
    if claimed != len(redactions):
        return (f"the purge redacted {claimed} event(s) but {len(redactions)} say it did: "
                "details were removed or put back outside the purge")
    if any(r.case_ref != event.case_ref for r in redactions):
        return f"events {_seqs(redactions)} of another case say this purge removed their details"
    if redactions and detail.get(SEAL_KEY) != seal([(r.seq, r.detail) for r in redactions]):
        return (f"what events {_seqs(redactions)} kept after the purge was changed "
                "afterwards")
    return ""


def _seqs(redactions: list[_Redaction]) -> str:
    return ", ".join(str(r.seq) for r in redactions)


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
    pending: dict[int, list[_Redaction]] = {}  # purge event seq -> the details it redacted
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for event in rows:
            problem = ""
            digest = (event.detail_sha256 if event.detail_sha256 is not None
                      else detail_digest(event.detail))
            if event.seq != expected_seq:
                problem = f"event {expected_seq} is missing (next is {event.seq})"
            elif event.prev_hash != prev:
                problem = "does not point at the event before it"
            elif event.hash != digest_link_hash(prev, event.seq, event.at, event.actor,
                                                event.case_ref, event.action, digest):
                problem = "its content was changed after it was written"
            elif event.detail_sha256 is not None:
                by = _redacted_by(event.detail)
                if by is None or by <= event.seq:
                    problem = "its detail was removed, but not by a purge"
                else:
                    pending.setdefault(by, []).append(
                        _Redaction(event.seq, event.detail, event.case_ref))
            if not problem and (event.seq in pending or event.action == PURGE_ACTION):
                problem = _seal_problem(event, pending.pop(event.seq, []))
            if problem:
                return ChainReport(False, count, expected_seq if event.seq != expected_seq
                                   else event.seq, problem, prev)
            prev = event.hash
            expected_seq += 1
            count += 1
            last_seq = event.seq
        session.expunge_all()
    if pending:
        first = min(r.seq for redactions in pending.values() for r in redactions)
        return ChainReport(False, first - 1, first,
                           "its detail was removed, but no purge event seals it", prev)
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != prev):
        return ChainReport(
            False, count, count + 1,
            f"the chain ends at event {count} but the head says {head.seq}: "
            "events were removed from the end",
            prev,
        )
    return ChainReport(True, count, None, "", prev)
