"""Emailing an issued letter: its stored PDF sent over SMTP, then put on record.

The order is what makes a failure harmless: the letter and the address are read and
checked, the message is built and handed to the server, and only once the server
accepted it does one transaction store the sent message in the case thread (raw bytes
in ``Blob``), set the letter's ``emailed_at``/``emailed_to`` and write the audit event
``letter.emailed``. Anything that fails before that changes nothing and says why.
A letter already emailed is sent again only when asked for explicitly (``again``).

No letter goes out twice by accident: before the message is handed to the server, a short
write transaction claims the letter (``sending_at``/``sending_by``; every workstation takes
the write lock in turn, so only one claim can win). While another workstation's claim is
younger than :data:`CLAIM_LIMIT` the letter is not sent; an older claim is from a sender
that crashed and is taken over. The server is talked to outside any transaction; the
transaction that records the email also clears the claim, and a send that fails clears it
(so a retry works).
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseapp import audit, config
from caseapp.config import SmtpSettings
from caseapp.db.models import Blob, Case, Document, DownstreamNotice, Letter, Message
from caseapp.errors import (
    ConfigError,
    DatabaseUnavailable,
    InvalidInput,
    NotFound,
    TransitionRefused,
    UserError,
)
from caseapp.letters.mailer import (
    DEFAULT_TIMEOUT_S,
    BuiltMessage,
    OutgoingLetter,
    SmtpCheck,
    build_letter_message,
    check_address,
    check_server,
    not_configured,
    send_raw,
)
from caseapp.secrets import get_secret, store_secret
from caseapp.services import claims
from caseapp.services.cases import load_case, touch
from caseapp.services.context import ServiceContext
from caseapp.services.views import party_of

__all__ = ["CLAIM_LIMIT", "EmailedLetter", "SmtpCheck", "SmtpSettings", "check_smtp",
           "email_letter", "load_smtp_settings", "password_stored", "save_smtp_settings"]

CLAIM_LIMIT = timedelta(minutes=5)
"""How long a workstation's claim to be emailing a letter keeps others from sending it;
an older claim is from a sender that crashed (sending itself times out well before)."""


@dataclass(frozen=True)
class EmailedLetter:
    """A letter the server accepted, as recorded with the case."""

    ref: str
    serial: str
    to: str
    subject: str
    message_id: str
    """The email's Message-ID; a reply that names it threads back to the case."""
    message_db_id: int
    """The outgoing message in the case thread (Desk.get_message / raw_message)."""
    emailed_at: datetime
    again: bool
    """True when the letter had been emailed before."""

    def sentence(self) -> str:
        return (f"Letter {self.serial} of {self.ref} was emailed to {self.to}"
                f"{' again' if self.again else ''}.")


@dataclass(frozen=True)
class _Prepared:
    letter: OutgoingLetter
    letter_id: int
    emailed_before: bool


def _password(settings: SmtpSettings, password: str | None) -> str | None:
    """The typed password, else the stored one; None when the server needs no login."""
    if not settings.user:
        return None
    return password if password else get_secret(settings.secret_name)


def email_letter(ctx: ServiceContext, ref: str, serial: str, settings: SmtpSettings, *,
                 to: str | None = None, again: bool = False, password: str | None = None,
                 ssl_context: ssl.SSLContext | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> EmailedLetter:
    """Email letter ``serial`` of case ``ref`` to the requester (or the notice's
    recipient, or ``to``) with its PDF attached, and record it once the server took it."""
    if not settings.configured:
        raise not_configured()
    prepared = _prepare(ctx, ref, serial, to, again)
    secret = _password(settings, password)
    if settings.user and not secret:
        raise ConfigError(f"No password is stored for {settings.user} at {settings.host}. "
                           "Store it in Settings → Outgoing mail, or run: caseapp smtp "
                           "password")
    now = ctx.clock.now()
    built = build_letter_message(settings, prepared.letter, now=now)
    prepared = _claim(ctx, ref, prepared, again, now)
    try:
        send_raw(settings, secret, built.raw, [prepared.letter.to], ssl_context=ssl_context,
                 timeout_s=timeout_s)
    except BaseException:
        _release(ctx, prepared.letter_id, now)
        raise
    try:
        return _record(ctx, ref, prepared, settings, built, now)
    except UserError as error:
        raise DatabaseUnavailable(
            f"Letter {serial} WAS emailed to {prepared.letter.to} (Message-ID "
            f"{built.message_id}), but it could not be put on record with {ref}: "
            f"{error.message} Add a note to the case saying it was emailed; do not send it "
            "again.") from None


def check_smtp(settings: SmtpSettings, password: str | None = None, *,
               ssl_context: ssl.SSLContext | None = None,
               timeout_s: float = 20) -> SmtpCheck:
    """Connect and log in with ``settings`` (and the password typed, or the stored one);
    nothing is sent and no database is touched."""
    if not settings.configured:
        raise not_configured()
    secret = _password(settings, password)
    if settings.user and not secret:
        raise ConfigError(f"Type the password of {settings.user} to test the connection "
                           "(no password is stored for it yet).")
    return check_server(settings, secret, ssl_context=ssl_context, timeout_s=timeout_s)


def load_smtp_settings(config_file: Path | None = None) -> SmtpSettings:
    """The ``[smtp]`` of the settings file (the user's unless ``config_file``); not set
    up when that file does not exist yet (saving creates it)."""
    if config_file is not None and not config_file.exists():
        return SmtpSettings()
    return config.load_settings(config_file).smtp


def save_smtp_settings(settings: SmtpSettings, password: str | None = None,
                       config_file: Path | None = None) -> Path:
    """Settings into the file (only its ``[smtp]`` replaced), then the password, when
    given, into the keyring (never into the file); the file written."""
    file = config.save_smtp_settings(settings, config_file)
    if password and settings.user:
        store_secret(settings.secret_name, password)
    return file


def password_stored(settings: SmtpSettings) -> bool:
    """Whether the keyring holds the login's password (True when none is needed)."""
    return not settings.user or bool(get_secret(settings.secret_name))


# --- before sending: read and check ----------------------------------------------------------


def _letter_row(session: Session, case: Case, serial: str) -> Letter:
    row = session.scalars(select(Letter).where(Letter.case_id == case.id,
                                               Letter.serial == serial.strip())).first()
    if row is None:
        raise NotFound(f"{case.ref} has no letter {serial.strip()}.")
    return row


def _addressee(session: Session, case: Case, row: Letter) -> tuple[str, str, str]:
    """(email, name, who) of whom the letter is written to."""
    if row.notice_id is not None:
        notice = session.get(DownstreamNotice, row.notice_id)
        if notice is not None:
            return notice.email.strip(), notice.recipient_name, notice.recipient_name
    requester = party_of(case, "requester")
    if requester is None:
        return "", "", "the requester"
    return requester.email.strip(), requester.name, "the requester"


def _prepare(ctx: ServiceContext, ref: str, serial: str, to: str | None,
             again: bool) -> _Prepared:
    with ctx.read() as session:
        case = load_case(session, ref)
        row = _letter_row(session, case, serial)
        email, name, who = _addressee(session, case, row)
        if to is not None and to.strip():
            address = check_address(to, "The address to send to")
            if address.lower() != email.lower():
                name = ""
        elif not email:
            raise InvalidInput(
                f"{case.ref}: letter {row.serial} cannot be emailed: {who} has no email "
                "address. Add it to the case, give an address to send it to (caseapp email "
                f"{case.ref} {row.serial} --to ADDRESS), or print and mail the letter.")
        else:
            address = check_address(email, f"The email address of {who}")
        if row.emailed_at is not None and not again:
            raise _already_emailed(ctx, case, row)
        blob = session.get(Blob, row.sha256)
        if blob is None:
            raise NotFound(f"The PDF of letter {row.serial} is not stored.")
        document = session.get(Document, row.document_id) if row.document_id else None
        filename = (document.filename if document is not None
                    else f"{case.ref}-{row.kind}-{row.serial}.pdf")
        text = document.text if document is not None else ""
        subject = row.subject if case.ref in row.subject else f"{row.subject} [{case.ref}]"
        parent = _last_message_from(session, case, address)
        letter = OutgoingLetter(
            to=address, to_name=name, subject=subject, text=text, pdf=blob.data,
            filename=filename, in_reply_to=(parent.message_id or "") if parent else "",
            references=tuple(parent.reference_ids.split()) if parent else ())
        return _Prepared(letter, row.id, row.emailed_at is not None)


def _already_emailed(ctx: ServiceContext, case: Case, row: Letter) -> TransitionRefused:
    assert row.emailed_at is not None
    return TransitionRefused(
        f"Letter {row.serial} was already emailed to {row.emailed_to} on "
        f"{ctx.clock.local_date(row.emailed_at).isoformat()} at "
        f"{row.emailed_at:%H:%M} UTC. Send it again only on purpose (caseapp email "
        f"{case.ref} {row.serial} --again).")


def _last_message_from(session: Session, case: Case, address: str) -> Message | None:
    """The addressee's latest mail in the case thread: the email answers it."""
    return session.scalars(
        select(Message).where(Message.case_id == case.id, Message.direction == "in",
                              Message.channel == "email", Message.auto_kind == "",
                              Message.message_id.is_not(None),
                              func.lower(Message.from_addr) == address.lower())
        .order_by(Message.id.desc()).limit(1)).first()


# --- the claim: one workstation at a time sends a letter --------------------------------------


def _claim(ctx: ServiceContext, ref: str, prepared: _Prepared, again: bool,
           now: datetime) -> _Prepared:
    """Claim the letter for this workstation (committed before anything is sent); refused
    while another claim is younger than CLAIM_LIMIT, or when the letter was emailed
    meanwhile and ``again`` was not asked for. The prepared letter, as emailed before or
    not at the moment of the claim."""
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        row = session.get(Letter, prepared.letter_id)
        if row is None:
            raise NotFound(f"{case.ref}: the letter was removed before it could be sent.")
        if row.sending_at is not None and row.sending_at > now - CLAIM_LIMIT:
            by = row.sending_by or "another workstation"
            if row.sending_by == actor.username:
                by += " (you, in another window or on another workstation)"
            raise TransitionRefused(
                f"Letter {row.serial} is being emailed by {by} since "
                f"{ctx.clock.local_date(row.sending_at).isoformat()} "
                f"{row.sending_at:%H:%M:%S} UTC; it is not sent a second time. Look at the "
                f"letter again in a few minutes: if it is not recorded as emailed by then, "
                f"send it again.")
        if row.emailed_at is not None and not again:
            raise _already_emailed(ctx, case, row)
        # Refused while someone else works on it; else sending claims it (audited now:
        # the letter.emailed event is written once the server took the mail).
        claims.hold(ctx, session, case, actor, own_event=True)
        row.sending_at, row.sending_by = now, actor.username[:100]
        emailed_before = row.emailed_at is not None
    return _Prepared(prepared.letter, prepared.letter_id, emailed_before)


def _ours(row: Letter, username: str, claimed_at: datetime) -> bool:
    return row.sending_at == claimed_at and row.sending_by == username[:100]


def _release(ctx: ServiceContext, letter_id: int, claimed_at: datetime) -> None:
    """Clear this workstation's claim after a failed send (best effort: a claim left
    behind goes stale after CLAIM_LIMIT); a claim another workstation took over stays."""
    try:
        with ctx.write() as session:
            row = session.get(Letter, letter_id)
            if row is not None and _ours(row, ctx.username, claimed_at):
                row.sending_at, row.sending_by = None, ""
    except Exception:  # the send's own error is the one to report
        pass


# --- after the server accepted it: on record ---------------------------------------------------


def _record(ctx: ServiceContext, ref: str, prepared: _Prepared, settings: SmtpSettings,
            built: BuiltMessage, now: datetime) -> EmailedLetter:
    letter = prepared.letter
    sha256 = hashlib.sha256(built.raw).hexdigest()
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        row = session.get(Letter, prepared.letter_id)
        if row is None:
            raise NotFound(f"{case.ref}: the letter was removed while it was being sent.")
        if session.get(Blob, sha256) is None:
            session.add(Blob(sha256=sha256, size=len(built.raw), data=built.raw,
                             created_at=now))
        message = Message(
            case=case, direction="out", channel="email", disposition="case",
            message_id=built.message_id, in_reply_to=letter.in_reply_to,
            reference_ids=" ".join(built.references), subject=letter.subject,
            sender=formataddr((settings.from_name, settings.from_address)),
            from_addr=settings.from_address[:320],
            recipients=formataddr((letter.to_name, letter.to)), sent_at=now,
            received_at=None, body_text=letter.text, raw_sha256=sha256,
            size=len(built.raw), source_label=f"letter {row.serial} emailed by "
            f"{actor.username}", created_at=now)
        session.add(message)
        session.flush()
        # The PDF as the message's attachment (the same stored bytes as the letter).
        session.add(Document(case=case, message_id=message.id, kind="attachment",
                             filename=letter.filename, media_type="application/pdf",
                             sha256=row.sha256, size=len(letter.pdf), created_at=now))
        row.emailed_at, row.emailed_to = now, letter.to[:320]
        if _ours(row, actor.username, now):  # not a claim another took over meanwhile
            row.sending_at, row.sending_by = None, ""
        touch(case, now)
        audit.record(session, actor=actor.username, action="letter.emailed", at=now,
                     case=case, detail={"letter": row.id, "serial": row.serial,
                                        "to": letter.to, "message": message.id,
                                        "message_id": built.message_id, "sha256": sha256,
                                        "pdf_sha256": row.sha256,
                                        "again": prepared.emailed_before})
        session.flush()
        return EmailedLetter(ref=case.ref, serial=row.serial, to=letter.to,
                             subject=letter.subject, message_id=built.message_id,
                             message_db_id=message.id, emailed_at=now,
                             again=prepared.emailed_before)
