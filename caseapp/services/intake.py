"""Taking mail in: each message becomes a new case, joins its case, goes to the "not a
request" list or to quarantine — once, whatever happens.

A message, its raw bytes, its attachments, the case it opens or joins and the audit
events commit together or not at all, in one unit of work with the rest of its batch (a
batch that fails is stored again message by message, so one bad message loses no other).
Dedupe is checked again inside that unit (writers are serialized by the audit chain's
lock), so two workstations importing the same file, or a fetch after a crash, never take a
message in twice: the same mailbox UID, or the same bytes, is a duplicate. The Message-ID
is only a hint: the same Message-ID with other bytes (a copy relayed twice) joins the
first one's case.

A batch is stored in two passes: every message's rows (and the cases they open, audited
as they are opened), then, once those are written and have their ids, what refers to
them: attachments, mailbox UIDs and each message's own audit event, in order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, selectinload

from caseapp import audit
from caseapp.db.models import (
    Blob,
    Case,
    Document,
    MailboxUid,
    Message,
    Note,
    RefCounter,
    Task,
)
from caseapp.errors import InvalidInput
from caseapp.intake.classify import Proposal
from caseapp.intake.mailtypes import MailRejected, ParsedMail
from caseapp.intake.sources import SourceItem, canonical_mail
from caseapp.intake.worker import MailParser
from caseapp.services.cases import EMAIL_PATTERN, insert_case, touch
from caseapp.services.context import ServiceContext
from caseapp.services.dto import (
    IntakeResult,
    NewCase,
    PartyData,
)

CASE_REF_IN_TEXT = re.compile(r"\bPR-(\d{4})-(\d{5,})\b", re.I)
MAX_QUARANTINE_BYTES = 25 * 1024 * 1024
"""Bytes kept of a message in quarantine (the rest stays in the file or on the server)."""
_SUBJECT_LIMIT = 300
PLAUSIBLE_AGE = timedelta(days=3 * 366)
"""An arrival older than this is not believed (a wrong clock or a forged header)."""


@dataclass(frozen=True)
class MailOrigin:
    """Where a message came from: a file, or a mailbox's (UIDVALIDITY, UID)."""

    label: str
    mailbox_key: str | None = None
    uidvalidity: int | None = None
    uid: int | None = None
    received_at: datetime | None = None
    """When it reached the mailbox (IMAP INTERNALDATE), UTC naive."""


# ------------------------------------------------------------------ the entry point --

@dataclass(frozen=True)
class _Ready:
    """A message read (parsed and classified, or found unreadable) and not yet stored."""

    origin: MailOrigin
    stored: bytes
    sha256: str | None
    parsed: ParsedMail | None = None
    proposal: Proposal | None = None
    reason: str = ""
    """Why it goes to quarantine, when ``parsed`` is None."""


@dataclass(frozen=True)
class _Unread:
    """A message whose stored form and hash are known, not yet found to be a duplicate,
    to parse and classify."""

    origin: MailOrigin
    item: SourceItem
    stored: bytes
    sha256: str


@dataclass(frozen=True)
class _Copy:
    """The same bytes as an earlier message of this import (of this batch or of one read
    but not yet stored): read as that one was, and found its duplicate when stored."""

    origin: MailOrigin
    of: Future[_Ready]


AHEAD_BYTES = 200 * 1024 * 1024
"""Mail read ahead of the batch being stored, at most (about; one batch always)."""
SHARE_BYTES = 8 * 1024 * 1024
"""Mail handed to a worker at once, at most (one larger message goes alone)."""

_Slot = IntakeResult | _Ready | _Copy | Future[_Ready]
_Share = list[tuple[_Unread, Future[_Ready]]]
"""Mails handed to one worker at once, each with the future its answer goes to."""


@dataclass(frozen=True)
class _Batch:
    """A batch being read: one slot per message, in order."""

    slots: list[_Slot]
    reading: dict[str, Future[_Ready]]
    """Its messages being read, by hash (for later copies of them)."""
    size: int = 0
    """Bytes of the messages it reads (held until it is stored)."""


def take_in(ctx: ServiceContext, parser: MailParser, item: SourceItem,
            origin: MailOrigin | None = None) -> IntakeResult:
    """Take one message in; returns what became of it. Raises only environment problems
    (database gone, disk full): a bad message is a result, never an exception."""
    ready = _read(ctx, parser, item, origin or MailOrigin(item.label))
    if isinstance(ready, IntakeResult):
        return ready
    return _commit([ready], ctx)[0]


def take_in_many(ctx: ServiceContext, parser: MailParser, items: Iterable[SourceItem],
                 batch: int = 50, ahead: int = 3) -> Iterator[IntakeResult]:
    """Take in many messages, ``batch`` per unit of work; one result per item, in order,
    each only once it is committed. While a batch is stored, up to ``ahead`` batches
    after it are read: checked for duplicates (one query each), then parsed and
    classified in the worker processes, half a batch to each. Reading ahead keeps the
    workers busy on one core while this thread stores on the other."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="intake-read")
    try:
        source = iter(items)
        reading: deque[_Batch] = deque()
        for chunk in iter(lambda: list(itertools.islice(source, batch)), []):
            reading.append(_start_reading(ctx, parser, pool, chunk, reading))
            # Ahead no further than ``ahead`` batches, nor than AHEAD_BYTES of mail (a
            # mailbox of large attachments is not held in memory a few batches deep).
            while len(reading) > max(ahead, 1) or (
                    len(reading) > 1 and sum(b.size for b in reading) > AHEAD_BYTES):
                yield from _store_batch(ctx, reading.popleft())
        while reading:
            yield from _store_batch(ctx, reading.popleft())
    finally:
        # Stopped early (the caller closed the iterator, or an error): the shares being
        # read are waited for, those not yet started are dropped.
        pool.shutdown(wait=True, cancel_futures=True)


def _start_reading(ctx: ServiceContext, parser: MailParser, pool: Executor,
                   items: list[SourceItem], uncommitted: Iterable[_Batch]) -> _Batch:
    prepared = [_prepare(item, MailOrigin(item.label)) for item in items]
    unread = [p for p in prepared if isinstance(p, _Unread)]
    seen = iter(_already_taken_in_many(ctx, [(u.sha256, u.origin) for u in unread])
                if unread else [])
    # Mails of the batches read but not yet stored are not in the database yet: a copy
    # of one is taken from its reading, not read again.
    earlier = {sha: read for batch in uncommitted for sha, read in batch.reading.items()}
    reading: dict[str, Future[_Ready]] = {}
    slots: list[_Slot] = []
    mails: _Share = []
    for one in prepared:
        if not isinstance(one, _Unread):
            slots.append(one)
            continue
        duplicate = next(seen)
        if duplicate is not None:
            slots.append(duplicate)
        elif one.sha256 in earlier:
            slots.append(_Copy(one.origin, earlier[one.sha256]))
        else:
            future: Future[_Ready]
            if one.item.kind == "msg":  # converted to MIME first, by a worker of its own
                future = pool.submit(_parse, parser, one)
            else:
                future = Future()
                mails.append((one, future))
            earlier[one.sha256] = reading[one.sha256] = future
            slots.append(future)
    for share in _shares(mails):
        _read_share(pool, parser, share)
    return _Batch(slots, reading, sum(len(unread.stored) for unread, _ in mails))


def _shares(mails: _Share) -> Iterator[_Share]:
    """Two shares, one per reading thread, each handed to a worker at once; large mail
    in shares of at most SHARE_BYTES (a share holds its worker until it is all read, and
    other readers wait for a worker)."""
    half = (len(mails) + 1) // 2
    for part in (mails[:half], mails[half:]):
        share: _Share = []
        size = 0
        for mail in part:
            if share and size + len(mail[0].stored) > SHARE_BYTES:
                yield share
                share, size = [], 0
            share.append(mail)
            size += len(mail[0].stored)
        if share:
            yield share


def _read_share(pool: Executor, parser: MailParser, share: _Share) -> None:
    def dropped(job: Future[None]) -> None:
        if job.cancelled():  # the import stopped before this share was read
            for _, future in share:
                future.cancel()

    pool.submit(_read_mails, parser, share).add_done_callback(dropped)


def _read_mails(parser: MailParser, share: _Share) -> None:
    """Parse and classify mails in one worker; each one's future is set as it comes."""
    try:
        answers = parser.parse_classified_each([unread.stored for unread, _ in share])
        for (unread, future), answer in zip(share, answers, strict=True):
            future.set_result(_parsed(unread, answer))
    except BaseException as exc:
        for _, future in share:
            if not future.done():
                future.set_exception(exc)


def _parsed(unread: _Unread, answer: tuple[ParsedMail, Proposal] | MailRejected) -> _Ready:
    """A message read by a worker: ready to store, or for quarantine if it was refused."""
    if isinstance(answer, MailRejected):
        return _Ready(unread.origin, unread.stored, unread.sha256, reason=answer.reason)
    return _Ready(unread.origin, unread.stored, unread.sha256, *answer)


def _store_batch(ctx: ServiceContext, batch: _Batch) -> Iterator[IntakeResult]:
    done: list[IntakeResult | _Ready] = []
    for slot in batch.slots:
        if isinstance(slot, _Copy):
            done.append(replace(slot.of.result(), origin=slot.origin))
        elif isinstance(slot, Future):
            done.append(slot.result())
        else:
            done.append(slot)
    waiting = [r for r in done if isinstance(r, _Ready)]
    stored = iter(_commit(waiting, ctx) if waiting else [])
    for result in done:
        yield result if isinstance(result, IntakeResult) else next(stored)


def _read(ctx: ServiceContext, parser: MailParser, item: SourceItem,
          origin: MailOrigin) -> _Ready | IntakeResult:
    """Everything before the unit of work: dedupe by a read, parse, classify."""
    prepared = _prepare(item, origin)
    if not isinstance(prepared, _Unread):
        return prepared
    seen = _already_taken_in(ctx, prepared.sha256, origin)
    if seen is not None:
        return seen
    return _parse(parser, prepared)


def _prepare(item: SourceItem, origin: MailOrigin) -> _Unread | _Ready | IntakeResult:
    """What is kept of a message and its hash; a result (or quarantine) for an item
    that holds no message."""
    if item.kind == "scan":
        return IntakeResult(item.label, "failed", detail="a scan: take it in with "
                            "import_scan")
    if not item.data:
        if not item.sha256 and origin.uid is None:
            return IntakeResult(item.label, "failed", detail=item.error)
        # Too large to keep: on record (by hash, or by mailbox UID) so it is not lost.
        return _Ready(origin, b"", item.sha256 or None, reason=item.error)
    # What is kept and hashed: the canonical mail, or an Outlook file as it came (its
    # conversion to MIME is not byte-stable, so it could not dedupe).
    stored = item.data if item.kind == "msg" else canonical_mail(item.data)
    return _Unread(origin, item, stored, _digest(stored))


def _parse(parser: MailParser, unread: _Unread) -> _Ready:
    """Parse and classify (in the worker processes); a message they refuse goes to
    quarantine."""
    try:
        mime = (canonical_mail(parser.convert_msg(unread.item.data))
                if unread.item.kind == "msg" else unread.stored)
        return _parsed(unread, parser.parse_classified(mime))
    except MailRejected as exc:
        return _parsed(unread, exc)


def _commit(ready: list[_Ready], ctx: ServiceContext) -> list[IntakeResult]:
    """Store messages in one unit of work; if that fails on a constraint (another
    workstation took one of them in meanwhile), store them one by one instead."""
    try:
        with ctx.write() as session:
            actor = ctx.actor(session).username
            known = _Known.load(session, {r.sha256 for r in ready if r.sha256},
                                [r.origin for r in ready],
                                [r.parsed for r in ready if r.parsed is not None])
            # Every message's rows first, then (once written, so they have their ids)
            # what refers to them: documents, mailbox UIDs and the audit events, in order.
            finishing = [_write(ctx, session, actor, known, r) for r in ready]
            session.flush()
            return [finish() for finish in finishing]
    except IntegrityError:
        if len(ready) > 1:
            return [result for r in ready for result in _commit([r], ctx)]
        seen = _already_taken_in(ctx, ready[0].sha256 or "-", ready[0].origin)
        if seen is None:
            raise
        return [seen]
    except (InvalidInput, DataError) as exc:
        # Something in one message the database will not take (a value out of range):
        # find which, and put that one in quarantine rather than stop the mailbox.
        if len(ready) > 1:
            return [result for r in ready for result in _commit([r], ctx)]
        one = ready[0]
        reason = f"could not be stored ({_short(exc)})"
        if one.parsed is None:
            return [IntakeResult(one.origin.label, "failed", detail=reason)]
        return _commit([_Ready(one.origin, one.stored, one.sha256, reason=reason)], ctx)


def _short(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).splitlines()[0]
    return text[:200]


_Finish = Callable[[], IntakeResult]
"""What is left to store of a message once its row is written: it returns the result."""


def _write(ctx: ServiceContext, session: Session, actor: str, known: _Known,
           ready: _Ready) -> _Finish:
    if ready.parsed is None or ready.proposal is None:
        return _quarantine_in(ctx, session, actor, known, ready.origin, ready.stored,
                              ready.sha256, ready.reason)
    return _store_in(ctx, session, actor, known, ready.origin, ready.stored,
                     ready.sha256 or "", ready.parsed, ready.proposal)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------- dedupe --

_IN_LIMIT = 500
"""Values per IN list of a query (the drivers' limits on parameters are far higher)."""

_UidKey = tuple[str, int, int]


def _uid_key(origin: MailOrigin) -> _UidKey | None:
    if origin.mailbox_key is None or origin.uidvalidity is None or origin.uid is None:
        return None
    return origin.mailbox_key, origin.uidvalidity, origin.uid


def _in_slices(values: Iterable[Any]) -> Iterator[list[Any]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _IN_LIMIT):
        yield ordered[start:start + _IN_LIMIT]


def _thread_ids(parsed: ParsedMail) -> list[str]:
    """The Message-IDs a message answers (or, for a bounce, reports on)."""
    return [i for i in (parsed.in_reply_to, *parsed.references,
                        *parsed.reported_message_ids) if i][:100]


def _refs_in(subject: str) -> list[str]:
    return [f"PR-{m.group(1)}-{m.group(2)}" for m in CASE_REF_IN_TEXT.finditer(subject)]


class _Known:
    """What a unit of work's messages need to know of the database: their duplicates
    (same bytes, same mailbox UID, a twin by Message-ID), the cases they answer and the
    blobs already stored. Read in a few queries for the whole batch, and kept current as
    the batch adds messages and cases, so storing each message asks the database
    nothing (and flushes nothing of the message before it just to ask)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.by_sha: dict[str, Message] = {}
        self.uids: dict[_UidKey, Message | None] = {}
        """Mailbox messages dealt with (of the UIDs asked about), and their message."""
        self.uids_asked: set[_UidKey] = set()
        self.blobs: set[str] = set()
        self.blobs_asked: set[str] = set()
        self.cases: dict[str, Case] = {}
        self.by_message_id: dict[str, list[Message]] = {}
        """Of the Message-IDs asked about: the first five messages (twin candidates),
        then the latest one in a case, if another."""
        self.added_by_message_id: dict[str, list[tuple[int, Message]]] = {}
        """The messages this batch added, numbered in order (not all written yet)."""
        self.added_count = 0
        self.counter: RefCounter | None = None
        """The year's case numbers, held: the session holds what it loaded only weakly,
        and reading it again for every case opened would flush each time."""

    @staticmethod
    def load(session: Session, shas: set[str], origins: Sequence[MailOrigin],
             parsed: Sequence[ParsedMail]) -> _Known:
        known = _Known(session)
        with_case = selectinload(Message.case)
        for values in _in_slices(shas):
            known.by_sha.update((m.raw_sha256 or "", m) for m in session.scalars(
                select(Message).where(Message.raw_sha256.in_(values)).options(with_case)))
        uid_keys = {k for k in map(_uid_key, origins) if k is not None}
        known.uids_asked = uid_keys
        for mailbox_key, uidvalidity in {(k[0], k[1]) for k in uid_keys}:
            wanted = [k[2] for k in uid_keys if k[:2] == (mailbox_key, uidvalidity)]
            for values in _in_slices(wanted):
                rows = session.execute(
                    select(MailboxUid.uid, MailboxUid.message_id).where(
                        MailboxUid.mailbox_key == mailbox_key,
                        MailboxUid.uidvalidity == uidvalidity, MailboxUid.uid.in_(values)))
                for uid, message_db_id in rows:
                    known.uids[(mailbox_key, uidvalidity, uid)] = (
                        session.get(Message, message_db_id, options=[with_case])
                        if message_db_id is not None else None)
        if parsed:
            known.blobs_asked = shas | {a.sha256 for p in parsed for a in p.attachments}
            for values in _in_slices(known.blobs_asked):
                known.blobs.update(session.scalars(
                    select(Blob.sha256).where(Blob.sha256.in_(values))))
            known._load_threads(parsed)
        return known

    def _load_threads(self, parsed: Sequence[ParsedMail]) -> None:
        session = self.session
        refs = {ref for p in parsed for ref in _refs_in(p.subject)}
        for values in _in_slices(refs):
            self.cases.update((c.ref, c) for c in session.scalars(
                select(Case).where(Case.ref.in_(values))))
        message_ids = {i for p in parsed for i in (p.message_id, *_thread_ids(p)) if i}
        rows: dict[str, list[tuple[int, int | None]]] = {}
        for values in _in_slices(message_ids):
            for db_id, message_id, case_id in session.execute(
                    select(Message.id, Message.message_id, Message.case_id)
                    .where(Message.message_id.in_(values))):
                rows.setdefault(message_id or "", []).append((db_id, case_id))
        chosen: dict[str, list[int]] = {}
        for message_id, found in rows.items():
            found.sort()
            ids = [db_id for db_id, _case in found[:5]]
            in_case = [db_id for db_id, case_id in found if case_id is not None]
            if in_case and in_case[-1] not in ids:
                ids.append(in_case[-1])
            chosen[message_id] = ids
        loaded: dict[int, Message] = {}
        for values in _in_slices(i for ids in chosen.values() for i in ids):
            loaded.update((m.id, m) for m in session.scalars(
                select(Message).where(Message.id.in_(values))
                .options(selectinload(Message.case))))
        for message_id, ids in chosen.items():
            self.by_message_id[message_id] = [loaded[i] for i in ids if i in loaded]

    # -- what a message finds --

    def duplicate(self, sha256: str, origin: MailOrigin) -> Message | None:
        """The message taken in already as this one: the same mailbox UID, or bytes."""
        key = _uid_key(origin)
        if key is not None and self.uids.get(key) is not None:
            return self.uids[key]
        return self.by_sha.get(sha256)

    def twin(self, parsed: ParsedMail) -> Message | None:
        """The same mail in other bytes (saved again by Outlook, relayed twice, an .msg
        of an IMAP message): the same Message-ID, sender, subject and text."""
        if not parsed.message_id:
            return None
        candidates = [*self.by_message_id.get(parsed.message_id, []),
                      *(m for _n, m in self.added_by_message_id.get(parsed.message_id, []))]
        for candidate in candidates[:5]:
            if (candidate.from_addr == parsed.from_addr[:320]
                    and candidate.subject == parsed.subject
                    and candidate.body_text.strip() == parsed.text.strip()):
                return candidate
        return None

    def thread_target(self, parsed: ParsedMail) -> tuple[Case | None, str]:
        """The case this message belongs to, and why: a case reference in the subject, a
        reply to (or a bounce of) one of its messages, or the same Message-ID."""
        for ref in _refs_in(parsed.subject):
            if ref in self.cases:
                return self.cases[ref], f"{ref} in the subject"
        hint = [parsed.message_id] if parsed.message_id else []
        for ids, why in ((_thread_ids(parsed), "a reply to a message of the case"),
                         (hint, "the same Message-ID as a message of the case")):
            # The latest message of a case with one of these Message-IDs: of this
            # batch, else of the database.
            added = [(n, m) for i in ids for n, m in self.added_by_message_id.get(i, [])
                     if m.case is not None]
            if added:
                return max(added, key=lambda pair: pair[0])[1].case, why
            found = [m for i in ids for m in self.by_message_id.get(i, [])
                     if m.case is not None]
            if found:
                return max(found, key=lambda m: m.id).case, why
        return None, ""

    def uid_known(self, origin: MailOrigin) -> bool:
        key = _uid_key(origin)
        return key is None or key in self.uids

    # -- what the batch adds --

    def claim_uid(self, origin: MailOrigin, message: Message | None) -> bool:
        """A mailbox message dealt with (taken in, or a duplicate of ``message``), for
        the batch's later messages; True if that is to be recorded (:meth:`record_uid`,
        once ``message`` is written)."""
        key = _uid_key(origin)
        if key is None or key in self.uids:
            return False
        self.uids[key] = message
        return True

    def record_uid(self, origin: MailOrigin, message: Message | None,
                   now: datetime) -> None:
        key = _uid_key(origin)
        if key is None:
            return
        if key in self.uids_asked or self.session.get(MailboxUid, key) is None:
            self.session.add(MailboxUid(mailbox_key=key[0], uidvalidity=key[1], uid=key[2],
                                        message_id=message.id if message else None,
                                        seen_at=now))

    def put_blob(self, sha256: str, data: bytes, now: datetime) -> None:
        if sha256 in self.blobs:
            return
        if sha256 in self.blobs_asked or self.session.get(Blob, sha256) is None:
            self.session.add(Blob(sha256=sha256, size=len(data), data=data, created_at=now))
        self.blobs.add(sha256)

    def added(self, message: Message) -> None:
        if message.raw_sha256:
            self.by_sha.setdefault(message.raw_sha256, message)
        if message.message_id:
            self.added_count += 1
            self.added_by_message_id.setdefault(message.message_id, []).append(
                (self.added_count, message))

    def opened(self, case: Case, year: int) -> None:
        self.cases[case.ref] = case
        if self.counter is None or self.counter.year != year:
            self.counter = self.session.get(RefCounter, year)


def _duplicate_result(label: str, existing: Message) -> IntakeResult:
    where = {
        "case": f"already in {existing.case.ref}" if existing.case else "already taken in",
        "not_request": "already on the not-a-request list",
        "quarantined": "already in quarantine",
    }.get(existing.disposition, "already taken in")
    return IntakeResult(label, "duplicate", existing.case.ref if existing.case else "",
                        where, existing.id)


def _already_taken_in(ctx: ServiceContext, sha256: str,
                      origin: MailOrigin) -> IntakeResult | None:
    return _already_taken_in_many(ctx, [(sha256, origin)])[0]


def _already_taken_in_many(ctx: ServiceContext, wanted: Sequence[tuple[str, MailOrigin]]
                           ) -> list[IntakeResult | None]:
    """For each (hash, origin): the duplicate result if taken in already, else None.
    One read for them all."""
    unknown: list[tuple[MailOrigin, int]] = []
    results: list[IntakeResult | None] = []
    with ctx.read() as session:
        known = _Known.load(session, {sha for sha, _origin in wanted},
                            [origin for _sha, origin in wanted], [])
        for sha256, origin in wanted:
            existing = known.duplicate(sha256, origin)
            if existing is None:
                results.append(None)
                continue
            results.append(_duplicate_result(origin.label, existing))
            if not known.uid_known(origin):
                unknown.append((origin, existing.id))
    if unknown:
        # The same message delivered again under a new UID: on record, so a server
        # without custom keywords does not offer it at every check.
        with ctx.write() as session:
            now, known = ctx.clock.now(), _Known(session)
            for origin, message_db_id in unknown:
                existing = session.get(Message, message_db_id)
                if known.claim_uid(origin, existing):
                    known.record_uid(origin, existing, now)
    return results


# ------------------------------------------------------------------------ storing --

def _quarantine(ctx: ServiceContext, origin: MailOrigin, data: bytes, sha256: str | None,
                reason: str, channel: str = "email") -> IntakeResult:
    with ctx.write() as session:
        known = _Known.load(session, {sha256} if sha256 else set(), [origin], [])
        finish = _quarantine_in(ctx, session, ctx.actor(session).username, known, origin,
                                data, sha256, reason, channel)
        session.flush()
        return finish()


def _quarantine_in(ctx: ServiceContext, session: Session, actor: str, known: _Known,
                   origin: MailOrigin, data: bytes, sha256: str | None, reason: str,
                   channel: str = "email") -> _Finish:
    kept = data[:MAX_QUARANTINE_BYTES]
    existing = known.duplicate(sha256 or "-", origin)
    now = ctx.clock.now()
    if existing is not None:
        return _as_duplicate(known, origin, existing, now)
    if kept:
        known.put_blob(_digest(kept), kept, now)
    message = Message(
        direction="in", channel=channel, disposition="quarantined",
        quarantine_reason=reason[:2000], raw_sha256=sha256, size=len(data),
        source_label=origin.label[:2000], body_text="",
        subject=_loose_header(kept, b"subject"), sender=_loose_header(kept, b"from"),
        received_at=origin.received_at or now,
        mailbox_key=origin.mailbox_key, imap_uidvalidity=origin.uidvalidity,
        imap_uid=origin.uid, created_at=now,
        # The kept bytes' own hash, to find them again (may be a prefix of the whole).
        defects=f"kept bytes sha256 {_digest(kept)}" if kept else "nothing kept",
    )
    session.add(message)
    known.added(message)
    new_uid = known.claim_uid(origin, message)

    def finish() -> IntakeResult:
        if new_uid:
            known.record_uid(origin, message, now)
        audit.record(session, actor=actor, action="message.quarantined", at=now,
                     detail={"message": message.id, "sha256": sha256 or "",
                             "reason": reason[:300]})
        return IntakeResult(origin.label, "quarantined", "", reason, message.id)

    return finish


def _as_duplicate(known: _Known, origin: MailOrigin, existing: Message,
                  now: datetime) -> _Finish:
    """A duplicate of ``existing`` (which this batch may still be writing)."""
    new_uid = known.claim_uid(origin, existing)

    def finish() -> IntakeResult:
        if new_uid:
            known.record_uid(origin, existing, now)
        return _duplicate_result(origin.label, existing)

    return finish


def _loose_header(data: bytes, name: bytes) -> str:
    """A header line for the quarantine list, read without parsing (bounded)."""
    match = re.search(rb"(?im)^" + name + rb":[ \t]*([^\r\n]{0,300})", data[:65536])
    if not match:
        return ""
    return match.group(1).decode("utf-8", "replace").replace("\x00", "\ufffd").strip()


def _auto_kind(parsed: ParsedMail) -> str:
    if parsed.is_bounce:
        return "bounce"
    return "auto_reply" if parsed.auto_submitted else ""


def _new_case(parsed: ParsedMail, proposal: Proposal, received_at: datetime) -> NewCase:
    name = proposal.names[0] if proposal.names else parsed.from_name
    email = parsed.from_addr or (proposal.emails[0] if proposal.emails else "")
    postal_code = proposal.postal_codes[0] if proposal.postal_codes else ""
    requester = PartyData(
        name=name[:300],
        email=email if EMAIL_PATTERN.match(email) and len(email) <= 254 else "",
        phone=proposal.phones[0] if proposal.phones else "",
        postal_address=proposal.postal_address or "", postal_code=postal_code,
        relationship=("parent" if proposal.is_child
                      else "authorized_agent" if proposal.via_agent else "self"),
    )
    subject: PartyData | None = None
    if proposal.is_child:
        subject = PartyData(name=proposal.child_name or "", is_child=True,
                            age=proposal.child_age, relationship="self")
    elif proposal.via_agent:
        subject = PartyData(name="", relationship="self")
    if not (requester.name or requester.email or requester.phone):
        requester = PartyData(name="(sender unknown)", relationship=requester.relationship)
    summary = parsed.subject.strip()[:_SUBJECT_LIMIT] or "(no subject)"
    return NewCase(
        channel="email",
        request_types=proposal.request_types or ("other",),
        requester=requester,
        subject=subject,
        jurisdiction=proposal.jurisdiction,
        received_at=received_at,
        summary=summary,
        language=proposal.language if proposal.language in ("en", "es") else "en",
        is_privacy_request=proposal.is_privacy_request,
        intake_review=True,
    )


def _describe(case: Case, proposal: Proposal) -> str:
    bits = [", ".join(case.type_names), case.jurisdiction]
    if case.is_child:
        bits.append("child")
    if case.via_agent:
        bits.append("agent")
    if not proposal.is_privacy_request:
        bits.append("not a privacy request?")
    return " · ".join(b for b in bits if b)


def _store_in(ctx: ServiceContext, session: Session, actor: str, known: _Known,
              origin: MailOrigin, stored: bytes, sha256: str, parsed: ParsedMail,
              proposal: Proposal) -> _Finish:
    existing = known.duplicate(sha256, origin) or known.twin(parsed)
    now = ctx.clock.now()
    if existing is not None:
        return _as_duplicate(known, origin, existing, now)
    received_at = _arrival(origin, parsed, now)
    target, why = known.thread_target(parsed)
    auto = _auto_kind(parsed)
    created = False
    closed_ref = ""
    if target is not None and target.purged_at is not None:
        # Its personal information was purged: nothing new is filed with it. A person
        # writing again makes a new case naming it; an auto-reply goes to the intake list.
        closed_ref, target = ("" if auto else target.ref), None
    if (target is not None and not auto and "Message-ID" not in why
            and not ctx.workflow.state(target.status).is_open):
        # A person writing again after their case was closed may be asking for
        # something new: a case of its own, which names the closed one.
        closed_ref, target = target.ref, None
    if target is None and not auto:
        # A case opened from mail is timed from the mail's arrival, never from a
        # later import: the legal clock started when it reached the mailbox.
        target = insert_case(ctx, session, actor,
                             _new_case(parsed, proposal, received_at), flush=False)
        known.opened(target, ctx.clock.today().year)
        created = True
    known.put_blob(sha256, stored, now)
    message = Message(
        case=target, direction="in", channel="email",
        disposition="case" if target is not None else "not_request",
        auto_kind=auto, message_id=parsed.message_id[:998] or None,
        in_reply_to=parsed.in_reply_to, reference_ids=" ".join(parsed.references),
        subject=parsed.subject, sender=_sender(parsed), from_addr=parsed.from_addr[:320],
        recipients=", ".join(parsed.to), sent_at=parsed.date, received_at=received_at,
        body_text=parsed.text, html_sanitized=parsed.html_sanitized,
        blocked="\n".join(parsed.blocked), defects="\n".join(parsed.defects),
        classification=json.dumps(asdict(proposal), ensure_ascii=False),
        raw_sha256=sha256, size=len(stored),
        source_label=origin.label[:2000], mailbox_key=origin.mailbox_key,
        imap_uidvalidity=origin.uidvalidity, imap_uid=origin.uid, created_at=now,
    )
    session.add(message)
    known.added(message)
    new_uid = known.claim_uid(origin, message)
    for attachment in parsed.attachments:
        known.put_blob(attachment.sha256, attachment.data, now)
    if created and closed_ref:
        session.add(Note(case=target, author=actor, created_at=now,
                         body=f"This mail answers {closed_ref}, which was closed "
                              f"({why}): opened as a new case."))
    if target is not None and not created:
        touch(target, now)
        if not auto:
            # Staff must notice a reply: it may be the verification they were waiting for.
            session.add(Task(case=target, kind="follow_up",
                             title=f"Read the new message from {_sender(parsed)[:200]}",
                             due_on=ctx.clock.today(), status="open", created_at=now))
        elif auto == "bounce":
            # A letter or notice of ours did not arrive: the requester may be waiting.
            session.add(Task(case=target, kind="follow_up",
                             title="A message to the requester bounced: check the address "
                                   "and send it again (or by post)",
                             due_on=ctx.clock.today(), status="open", created_at=now))

    def finish() -> IntakeResult:
        if new_uid:
            known.record_uid(origin, message, now)
        for attachment in parsed.attachments:
            session.add(Document(
                case=target, message_id=message.id, kind="attachment",
                filename=attachment.filename_sanitized,
                media_type=attachment.media_type[:100], sha256=attachment.sha256,
                size=attachment.size, created_at=now,
            ))
        detail: dict[str, object] = {"message": message.id, "sha256": sha256,
                                     "attachments": len(parsed.attachments)}
        if target is None:
            audit.record(session, actor=actor, action="message.not_request", at=now,
                         detail={**detail, "auto": auto})
            what = "a bounce" if auto == "bounce" else "an auto-reply"
            return IntakeResult(origin.label, "not_request", "",
                                f"{what} that answers no case", message.id)
        if created:
            audit.record(session, actor=actor, action="message.received", at=now,
                         case=target, detail={**detail, "opened_case": True,
                                              "after_closed": closed_ref})
            described = _describe(target, proposal)
            if closed_ref:
                described += f" · writes again after {closed_ref} was closed"
            return IntakeResult(origin.label, "created", target.ref, described, message.id)
        audit.record(session, actor=actor, action="message.threaded", at=now,
                     case=target, detail={**detail, "why": why, "auto": auto})
        label = {"bounce": "bounce, ", "auto_reply": "auto-reply, "}.get(auto, "")
        return IntakeResult(origin.label, "threaded", target.ref, f"{label}{why}",
                            message.id)

    return finish


def _arrival(origin: MailOrigin, parsed: ParsedMail, now: datetime) -> datetime:
    """When the legal clock starts: the mailbox's arrival time, else our server's
    Received stamp, else the sender's Date; never later than now (UTC, naive)."""
    for moment in (origin.received_at, parsed.arrived, parsed.date):
        if moment is None:
            continue
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        if moment < now - PLAUSIBLE_AGE:
            continue  # a sender's clock (or a forged header) set to 1900: not believed
        return min(moment, now)
    return now


def _sender(parsed: ParsedMail) -> str:
    if parsed.from_name and parsed.from_addr:
        return f"{parsed.from_name} <{parsed.from_addr}>"
    return parsed.from_addr or parsed.from_name or "(unknown sender)"
