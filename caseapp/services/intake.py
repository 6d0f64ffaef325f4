"""Taking mail in: each message becomes a new case, joins its case, goes to the "not a
request" list or to quarantine — once, whatever happens.

One message is one unit of work: the message, its raw bytes, its attachments, the case
it opens or joins and the audit events commit together or not at all. Dedupe is checked
again inside that unit (writers are serialized by the audit chain's lock), so two
workstations importing the same file, or a fetch after a crash, never take a message in
twice: the same mailbox UID, or the same bytes, is a duplicate. The Message-ID is only a
hint: the same Message-ID with other bytes (a copy relayed twice) joins the first one's
case.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from caseapp import audit
from caseapp.db.models import Blob, Case, Document, MailboxUid, Message, Note, Task
from caseapp.errors import InvalidInput, NotFound
from caseapp.intake.classify import Proposal, classify
from caseapp.intake.mailtypes import MailRejected, ParsedMail
from caseapp.intake.sources import SourceItem, canonical_mail
from caseapp.intake.worker import MailParser
from caseapp.services.cases import EMAIL_PATTERN, check_version, insert_case, load_case, touch
from caseapp.services.context import ServiceContext
from caseapp.services.dto import (
    AttachmentView,
    Changed,
    IntakeItem,
    IntakeResult,
    MessageDetail,
    NewCase,
    PartyData,
)
from caseapp.services.views import case_detail

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


def take_in(ctx: ServiceContext, parser: MailParser, item: SourceItem,
            origin: MailOrigin | None = None) -> IntakeResult:
    """Take one message in; returns what became of it. Raises only environment problems
    (database gone, disk full): a bad message is a result, never an exception."""
    ready = _read(ctx, parser, item, origin or MailOrigin(item.label))
    if isinstance(ready, IntakeResult):
        return ready
    return _commit([ready], ctx)[0]


def take_in_many(ctx: ServiceContext, parser: MailParser, items: Iterable[SourceItem],
                 batch: int = 50) -> Iterator[IntakeResult]:
    """Take in many messages, ``batch`` per unit of work, reading (parsing, classifying)
    two at a time; one result per item, in order, each only once it is committed."""
    from concurrent.futures import ThreadPoolExecutor

    def read(item: SourceItem) -> _Ready | IntakeResult:
        return _read(ctx, parser, item, MailOrigin(item.label))

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="intake-read") as pool:
        chunk: list[SourceItem] = []
        for item in itertools.chain(items, [None]):
            if item is not None:
                chunk.append(item)
                if len(chunk) < batch:
                    continue
            if not chunk:
                break
            done = list(pool.map(read, chunk))
            chunk = []
            waiting = [r for r in done if isinstance(r, _Ready)]
            stored = iter(_commit(waiting, ctx) if waiting else [])
            for result in done:
                yield result if isinstance(result, IntakeResult) else next(stored)


def _read(ctx: ServiceContext, parser: MailParser, item: SourceItem,
          origin: MailOrigin) -> _Ready | IntakeResult:
    """Everything before the unit of work: dedupe by a read, parse, classify."""
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
    is_outlook = item.kind == "msg"
    stored = item.data if is_outlook else canonical_mail(item.data)
    sha256 = _digest(stored)
    seen = _already_taken_in(ctx, sha256, origin)
    if seen is not None:
        return seen
    try:
        mime = canonical_mail(parser.convert_msg(item.data)) if is_outlook else stored
        parsed = parser.parse(mime)
    except MailRejected as exc:
        return _Ready(origin, stored, sha256, reason=exc.reason)
    proposal = classify(parsed.subject, parsed.text, parsed.from_name, parsed.from_addr)
    return _Ready(origin, stored, sha256, parsed, proposal)


def _commit(ready: list[_Ready], ctx: ServiceContext) -> list[IntakeResult]:
    """Store messages in one unit of work; if that fails on a constraint (another
    workstation took one of them in meanwhile), store them one by one instead."""
    try:
        with ctx.write() as session:
            actor = ctx.actor(session).username
            return [_write(ctx, session, actor, r) for r in ready]
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


def _write(ctx: ServiceContext, session: Session, actor: str, ready: _Ready) -> IntakeResult:
    if ready.parsed is None or ready.proposal is None:
        return _quarantine_in(ctx, session, actor, ready.origin, ready.stored, ready.sha256,
                              ready.reason)
    return _store_in(ctx, session, actor, ready.origin, ready.stored, ready.sha256 or "",
                     ready.parsed, ready.proposal)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------- dedupe --

def _find_duplicate(session: Session, sha256: str, origin: MailOrigin) -> Message | None:
    if origin.mailbox_key is not None and origin.uid is not None:
        seen = session.get(MailboxUid, (origin.mailbox_key, origin.uidvalidity, origin.uid))
        if seen is not None and seen.message_id is not None:
            return session.get(Message, seen.message_id)
    return session.scalars(select(Message).where(Message.raw_sha256 == sha256).limit(1)).first()


def _twin(session: Session, parsed: ParsedMail) -> Message | None:
    """The same mail in other bytes (saved again by Outlook, relayed twice, an .msg of an
    IMAP message): the same Message-ID, sender, subject and text."""
    if not parsed.message_id:
        return None
    for candidate in session.scalars(
            select(Message).where(Message.message_id == parsed.message_id).limit(5)):
        if (candidate.from_addr == parsed.from_addr[:320]
                and candidate.subject == parsed.subject
                and candidate.body_text.strip() == parsed.text.strip()):
            return candidate
    return None


def _remember_uid(session: Session, origin: MailOrigin, message: Message | None,
                  now: datetime) -> None:
    """Record a mailbox message as dealt with (taken in, or a duplicate of ``message``)."""
    if origin.mailbox_key is None or origin.uid is None or origin.uidvalidity is None:
        return
    key = (origin.mailbox_key, origin.uidvalidity, origin.uid)
    if session.get(MailboxUid, key) is None:
        session.add(MailboxUid(mailbox_key=origin.mailbox_key, uidvalidity=origin.uidvalidity,
                               uid=origin.uid, message_id=message.id if message else None,
                               seen_at=now))


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
    with ctx.read() as session:
        existing = _find_duplicate(session, sha256, origin)
        if existing is None:
            return None
        result = _duplicate_result(origin.label, existing)
        known = origin.uid is None or session.get(
            MailboxUid, (origin.mailbox_key, origin.uidvalidity, origin.uid)) is not None
    if not known:
        # The same message delivered again under a new UID: on record, so a server
        # without custom keywords does not offer it at every check.
        with ctx.write() as session:
            _remember_uid(session, origin, session.get(Message, existing.id),
                          ctx.clock.now())
    return result


# ------------------------------------------------------------------------ storing --

def _put_blob(session: Session, sha256: str, data: bytes, now: datetime) -> None:
    if session.get(Blob, sha256) is None:
        session.add(Blob(sha256=sha256, size=len(data), data=data, created_at=now))


def _quarantine(ctx: ServiceContext, origin: MailOrigin, data: bytes, sha256: str | None,
                reason: str, channel: str = "email") -> IntakeResult:
    with ctx.write() as session:
        return _quarantine_in(ctx, session, ctx.actor(session).username, origin, data,
                              sha256, reason, channel)


def _quarantine_in(ctx: ServiceContext, session: Session, actor: str, origin: MailOrigin,
                   data: bytes, sha256: str | None, reason: str,
                   channel: str = "email") -> IntakeResult:
    kept = data[:MAX_QUARANTINE_BYTES]
    existing = _find_duplicate(session, sha256 or "-", origin)
    now = ctx.clock.now()
    if existing is not None:
        _remember_uid(session, origin, existing, now)
        return _duplicate_result(origin.label, existing)
    if kept:
        _put_blob(session, _digest(kept), kept, now)
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
    session.flush()
    _remember_uid(session, origin, message, now)
    audit.record(session, actor=actor, action="message.quarantined", at=now,
                 detail={"message": message.id, "sha256": sha256 or "",
                         "reason": reason[:300]})
    return IntakeResult(origin.label, "quarantined", "", reason, message.id)


def _loose_header(data: bytes, name: bytes) -> str:
    """A header line for the quarantine list, read without parsing (bounded)."""
    match = re.search(rb"(?im)^" + name + rb":[ \t]*([^\r\n]{0,300})", data[:65536])
    if not match:
        return ""
    return match.group(1).decode("utf-8", "replace").replace("\x00", "\ufffd").strip()


def _thread_target(session: Session, parsed: ParsedMail) -> tuple[Case | None, str]:
    """The case this message belongs to, and why: a case reference in the subject, a
    reply to (or a bounce of) one of its messages, or the same Message-ID."""
    for match in CASE_REF_IN_TEXT.finditer(parsed.subject):
        ref = f"PR-{match.group(1)}-{match.group(2)}"
        case = session.scalars(select(Case).where(Case.ref == ref)).first()
        if case is not None:
            return case, f"{ref} in the subject"
    wanted = [i for i in (parsed.in_reply_to, *parsed.references,
                          *parsed.reported_message_ids) if i][:100]
    hint = [parsed.message_id] if parsed.message_id else []
    for ids, why in ((wanted, "a reply to a message of the case"),
                     (hint, "the same Message-ID as a message of the case")):
        if not ids:
            continue
        found = session.scalars(
            select(Message).where(Message.message_id.in_(ids), Message.case_id.is_not(None))
            .order_by(Message.id.desc()).limit(1)
        ).first()
        if found is not None and found.case is not None:
            return found.case, why
    return None, ""


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


def _store_in(ctx: ServiceContext, session: Session, actor: str, origin: MailOrigin,
              stored: bytes, sha256: str, parsed: ParsedMail, proposal: Proposal
              ) -> IntakeResult:
    existing = _find_duplicate(session, sha256, origin) or _twin(session, parsed)
    now = ctx.clock.now()
    if existing is not None:
        _remember_uid(session, origin, existing, now)
        return _duplicate_result(origin.label, existing)
    received_at = _arrival(origin, parsed, now)
    target, why = _thread_target(session, parsed)
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
                             _new_case(parsed, proposal, received_at))
        created = True
    _put_blob(session, sha256, stored, now)
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
    session.flush()
    _remember_uid(session, origin, message, now)
    for attachment in parsed.attachments:
        _put_blob(session, attachment.sha256, attachment.data, now)
        session.add(Document(
            case=target, message_id=message.id, kind="attachment",
            filename=attachment.filename_sanitized, media_type=attachment.media_type[:100],
            sha256=attachment.sha256, size=attachment.size, created_at=now,
        ))
    detail: dict[str, object] = {"message": message.id, "sha256": sha256,
                                 "attachments": len(parsed.attachments)}
    if target is None:
        audit.record(session, actor=actor, action="message.not_request", at=now,
                     detail={**detail, "auto": auto})
        session.flush()
        what = "a bounce" if auto == "bounce" else "an auto-reply"
        return IntakeResult(origin.label, "not_request", "",
                            f"{what} that answers no case", message.id)
    if created:
        if closed_ref:
            session.add(Note(case=target, author=actor, created_at=now,
                             body=f"This mail answers {closed_ref}, which was closed "
                                  f"({why}): opened as a new case."))
        audit.record(session, actor=actor, action="message.received", at=now,
                     case=target, detail={**detail, "opened_case": True,
                                          "after_closed": closed_ref})
        session.flush()
        described = _describe(target, proposal)
        if closed_ref:
            described += f" · writes again after {closed_ref} was closed"
        return IntakeResult(origin.label, "created", target.ref, described, message.id)
    touch(target, now)
    if not auto:
        # Staff must notice a reply: it may be the verification they were waiting for.
        session.add(Task(case=target, kind="follow_up",
                         title=f"Read the new message from {_sender(parsed)[:200]}",
                         due_on=ctx.clock.today(), status="open", created_at=now))
    elif auto == "bounce":
        # A letter or notice of ours did not arrive: the requester may be waiting for it.
        session.add(Task(case=target, kind="follow_up",
                         title="A message to the requester bounced: check the address "
                               "and send it again (or by post)",
                         due_on=ctx.clock.today(), status="open", created_at=now))
    audit.record(session, actor=actor, action="message.threaded", at=now,
                 case=target, detail={**detail, "why": why, "auto": auto})
    session.flush()
    label = {"bounce": "bounce, ", "auto_reply": "auto-reply, "}.get(auto, "")
    return IntakeResult(origin.label, "threaded", target.ref, f"{label}{why}", message.id)


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


# ------------------------------------------------------------ lists and reading --

def intake_queue(ctx: ServiceContext, disposition: str, limit: int = 500
                 ) -> tuple[IntakeItem, ...]:
    """The "not a request" list or the quarantine, newest first."""
    if disposition not in ("not_request", "quarantined"):
        raise InvalidInput("The list is either not_request or quarantined.")
    with ctx.read() as session:
        rows = session.scalars(
            select(Message).where(Message.disposition == disposition,
                                  Message.case_id.is_(None))
            .order_by(Message.id.desc()).limit(limit)
        ).all()
        return tuple(
            IntakeItem(m.id, m.disposition, m.subject, m.sender or m.from_addr,
                       m.received_at or m.created_at, m.quarantine_reason or m.auto_kind,
                       m.source_label)
            for m in rows
        )


def intake_queue_count(ctx: ServiceContext, disposition: str) -> int:
    """How many messages the list holds (it shows the newest 500)."""
    from sqlalchemy import func

    with ctx.read() as session:
        return int(session.scalar(
            select(func.count()).select_from(Message)
            .where(Message.disposition == disposition, Message.case_id.is_(None))) or 0)


def known_uids(ctx: ServiceContext, mailbox_key: str, uidvalidity: int) -> set[int]:
    """The UIDs of a mailbox (of this UIDVALIDITY) already taken in."""
    with ctx.read() as session:
        return {int(uid) for uid in session.scalars(
            select(MailboxUid.uid).where(MailboxUid.mailbox_key == mailbox_key,
                                         MailboxUid.uidvalidity == uidvalidity))}


def message_count(ctx: ServiceContext) -> int:
    """Messages and letters ever taken in (0 on a desk that has not yet seen any mail)."""
    from sqlalchemy import func

    with ctx.read() as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def review_count(ctx: ServiceContext) -> int:
    from sqlalchemy import func

    with ctx.read() as session:
        return int(session.scalar(select(func.count()).select_from(Case)
                                  .where(Case.intake_review.is_(True))) or 0)


def get_message(ctx: ServiceContext, message_db_id: int) -> MessageDetail:
    with ctx.read() as session:
        message = session.get(Message, message_db_id)
        if message is None:
            raise NotFound(f"No message {message_db_id}.")
        documents = session.scalars(
            select(Document).where(Document.message_id == message.id).order_by(Document.id)
        ).all()
        return MessageDetail(
            id=message.id, disposition=message.disposition,
            case_ref=message.case.ref if message.case else "",
            direction=message.direction, channel=message.channel,
            subject=message.subject, sender=message.sender, recipients=message.recipients,
            sent_at=message.sent_at, received_at=message.received_at,
            body_text=message.body_text, html_sanitized=message.html_sanitized,
            blocked=tuple(b for b in message.blocked.split("\n") if b),
            auto_kind=message.auto_kind, quarantine_reason=message.quarantine_reason,
            source_label=message.source_label,
            classification=message.classification,
            attachments=tuple(AttachmentView(d.id, d.filename, d.media_type, d.size, d.sha256)
                              for d in documents),
        )


def document_bytes(ctx: ServiceContext, document_id: int) -> tuple[str, str, bytes]:
    """(file name, media type, bytes) of a stored attachment or scan, for an explicit
    open or save by staff; nothing is ever opened automatically."""
    with ctx.read() as session:
        document = session.get(Document, document_id)
        if document is None:
            raise NotFound(f"No document {document_id}.")
        blob = session.get(Blob, document.sha256)
        if blob is None:
            raise NotFound(f"The contents of {document.filename} are not stored.")
        return document.filename, document.media_type, blob.data


def raw_message(ctx: ServiceContext, message_db_id: int) -> bytes:
    with ctx.read() as session:
        message = session.get(Message, message_db_id)
        if message is None or not message.raw_sha256:
            raise NotFound(f"No message {message_db_id}.")
        blob = session.get(Blob, message.raw_sha256)
        if blob is None:
            raise NotFound("The original bytes of this message were too large to keep.")
        return blob.data


# ------------------------------------------------------------------- staff actions --

def confirm_intake(ctx: ServiceContext, ref: str, expected_version: int | None) -> Changed:
    """Staff have checked (and corrected) what the classifier proposed."""
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        check_version(case, expected_version)
        if not case.intake_review:
            return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,),
                           list_changed=False)
        case.intake_review = False
        touch(case, ctx.clock.now())
        audit.record(session, actor=actor.username, action="case.intake_confirmed",
                     at=case.updated_at, case=case,
                     detail={"request_types": list(case.type_names),
                             "jurisdiction": case.jurisdiction,
                             "is_privacy_request": case.is_privacy_request})
        session.flush()
        return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,))


def attach_to_case(ctx: ServiceContext, message_db_ids: Iterable[int], ref: str) -> Changed:
    """Move messages from the not-a-request list or quarantine into a case (staff know
    better than the rules which case a stray auto-reply belongs to)."""
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        moved = []
        for message_db_id in message_db_ids:
            message = session.get(Message, message_db_id)
            if message is None:
                raise NotFound(f"No message {message_db_id}.")
            if message.case_id is not None:
                where = message.case.ref if message.case else "a case"
                raise InvalidInput(f"That message is already in {where}.")
            message.case = case
            previous = message.disposition
            message.disposition = "case"
            for document in session.scalars(select(Document)
                                            .where(Document.message_id == message.id)):
                document.case = case
            moved.append({"message": message.id, "from": previous})
        if not moved:
            return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,),
                           list_changed=False)
        touch(case, ctx.clock.now())
        audit.record(session, actor=actor.username, action="message.attached",
                     at=case.updated_at, case=case, detail={"moved": moved})
        session.flush()
        return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,))


def open_case_from_message(ctx: ServiceContext, message_db_id: int, new: NewCase) -> Changed:
    """A case from a message on the not-a-request list or in quarantine, as staff typed it."""
    with ctx.write() as session:
        actor = ctx.actor(session)
        message = session.get(Message, message_db_id)
        if message is None:
            raise NotFound(f"No message {message_db_id}.")
        if message.case_id is not None:
            raise InvalidInput("That message is already in a case.")
        received = message.received_at or message.created_at
        case = insert_case(ctx, session, actor.username,
                           replace(new, received_at=new.received_at or received))
        previous = message.disposition
        message.case = case
        message.disposition = "case"
        for document in session.scalars(select(Document)
                                        .where(Document.message_id == message.id)):
            document.case = case
        audit.record(session, actor=actor.username, action="message.attached",
                     at=ctx.clock.now(), case=case,
                     detail={"moved": [{"message": message.id, "from": previous}],
                             "opened_case": True})
        session.flush()
        return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,))
