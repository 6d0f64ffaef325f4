"""The intake lists and what staff do with them: the "not a request" list and the
quarantine, a message or stored document read back, a proposed case confirmed, stray
messages moved into a case or opening one. Taking mail in is caseapp.services.intake.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy import func, select

from caseapp import audit
from caseapp.db.models import Blob, Case, Document, MailboxUid, Message
from caseapp.errors import InvalidInput, NotFound
from caseapp.services.cases import check_version, insert_case, load_case, touch
from caseapp.services.context import ServiceContext
from caseapp.services.dto import AttachmentView, Changed, IntakeItem, MessageDetail, NewCase
from caseapp.services.views import case_detail

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
    with ctx.read() as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def review_count(ctx: ServiceContext) -> int:
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
