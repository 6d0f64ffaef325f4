"""Postal letters: a scan, its OCR text and the case it opens or joins.

The OCR and the reading of the letter happen before the unit of work (they take
seconds); what is stored — the scan's bytes, its text, the letter as a message of the
case, the case itself and the audit events — commits together. A scan taken in before
(the same bytes) is never taken in twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp import audit
from caseapp.db.models import Blob, Case, Document, Message
from caseapp.errors import InvalidInput
from caseapp.intake.letter import LetterFields, read_letter
from caseapp.services.cases import insert_case, load_case, touch
from caseapp.services.context import ServiceContext
from caseapp.services.dto import Changed, IntakeResult, NewCase, PartyData
from caseapp.services.views import case_detail


@dataclass(frozen=True)
class ScannedLetter:
    """A scan as staff confirm it: the file, its OCR text, and when it reached the PO box."""

    filename: str
    data: bytes
    media_type: str
    text: str
    page_count: int
    date_written: date | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def proposal_for(letter_text: str, received_on: date, *,
                 fields: LetterFields | None = None) -> NewCase:
    """The new case a letter proposes (staff confirm it; the received date too)."""
    found = fields or read_letter(letter_text)
    proposal = found.proposal
    requester = PartyData(
        name=(found.sender_name or (proposal.names[0] if proposal.names else ""))[:300],
        email=found.email or (proposal.emails[0] if proposal.emails else ""),
        phone=found.phone or (proposal.phones[0] if proposal.phones else ""),
        postal_address=found.postal_address or proposal.postal_address or "",
        postal_code=found.postal_code or (proposal.postal_codes[0]
                                          if proposal.postal_codes else ""),
        state=found.state or "",
        relationship=("parent" if proposal.is_child
                      else "authorized_agent" if proposal.via_agent else "self"),
    )
    subject: PartyData | None = None
    if proposal.is_child:
        subject = PartyData(name=proposal.child_name or "", is_child=True,
                            age=proposal.child_age)
    elif proposal.via_agent:
        subject = PartyData()
    written = f" of {found.date_written:%B %-d, %Y}" if found.date_written else ""
    return NewCase(
        channel="postal",
        request_types=proposal.request_types or ("other",),
        requester=requester,
        subject=subject,
        jurisdiction=proposal.jurisdiction,
        received_on=received_on,
        summary=f"Letter{written}",
        language=proposal.language if proposal.language in ("en", "es") else "en",
        is_privacy_request=proposal.is_privacy_request,
    )


def _existing(session: Session, sha256: str) -> Message | None:
    return session.scalars(select(Message).where(Message.raw_sha256 == sha256)).first()


def _store_letter(ctx: ServiceContext, session: Session, case: Case,
                  letter: ScannedLetter) -> Message:
    now = ctx.clock.now()
    if session.get(Blob, letter.sha256) is None:
        session.add(Blob(sha256=letter.sha256, size=len(letter.data), data=letter.data,
                         created_at=now))
    written = f" of {letter.date_written:%B %-d, %Y}" if letter.date_written else ""
    sender = next((p.name for p in case.parties if p.role == "requester"), "")
    message = Message(
        case=case, direction="in", channel="postal", disposition="case",
        subject=f"Letter{written}", sender=sender, body_text=letter.text,
        raw_sha256=letter.sha256, size=len(letter.data), source_label=letter.filename[:2000],
        sent_at=None, received_at=case.received_at if not case.messages else now,
        created_at=now,
    )
    session.add(message)
    session.flush()
    session.add(Document(
        case=case, message_id=message.id, kind="scan", filename=letter.filename[:300],
        media_type=letter.media_type, sha256=letter.sha256, size=len(letter.data),
        text=letter.text, created_at=now,
    ))
    return message


def create_case_from_scan(ctx: ServiceContext, new: NewCase, letter: ScannedLetter,
                          *, to_review: bool = False) -> Changed:
    """A case from a postal letter, with the scan and its text kept in its thread."""
    if new.received_on is None and new.received_at is None:
        raise InvalidInput("Enter the day the letter reached the PO box: the legal clock "
                           "starts then.")
    with ctx.write() as session:
        existing = _existing(session, letter.sha256)
        if existing is not None:
            where = existing.case.ref if existing.case else "the intake lists"
            raise InvalidInput(f"This scan was already taken in ({where}).")
        actor = ctx.actor(session)
        case = insert_case(ctx, session, actor.username,
                           replace(new, channel="postal", intake_review=to_review))
        message = _store_letter(ctx, session, case, letter)
        audit.record(session, actor=actor.username, action="message.received",
                     at=ctx.clock.now(), case=case,
                     detail={"message": message.id, "sha256": letter.sha256,
                             "scan_pages": letter.page_count, "opened_case": True})
        session.flush()
        return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,))


def attach_scan(ctx: ServiceContext, ref: str, letter: ScannedLetter) -> Changed:
    """A further letter of the same case (a signed form, a copy of an ID...)."""
    with ctx.write() as session:
        existing = _existing(session, letter.sha256)
        if existing is not None:
            where = existing.case.ref if existing.case else "the intake lists"
            raise InvalidInput(f"This scan was already taken in ({where}).")
        actor = ctx.actor(session)
        case = load_case(session, ref)
        message = _store_letter(ctx, session, case, letter)
        touch(case, ctx.clock.now())
        audit.record(session, actor=actor.username, action="message.threaded",
                     at=case.updated_at, case=case,
                     detail={"message": message.id, "sha256": letter.sha256,
                             "scan_pages": letter.page_count, "why": "attached by staff"})
        session.flush()
        return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,))


def scan_already_taken_in(ctx: ServiceContext, sha256: str) -> IntakeResult | None:
    with ctx.read() as session:
        existing = _existing(session, sha256)
        if existing is None:
            return None
        ref = existing.case.ref if existing.case else ""
        return IntakeResult("", "duplicate", ref, f"already in {ref}" if ref else
                            "already taken in", existing.id)


def take_in_scan(ctx: ServiceContext, item_label: str, data: bytes, received_on: date
                 ) -> IntakeResult:
    """A scan from the command line: OCR, a case opened from what the letter says (to
    review, like mail), or quarantine when it cannot be read. Never raises for a bad scan."""
    from caseapp.intake.ocr import ScanUnreadable, ocr_scan
    from caseapp.services.intake import MailOrigin, _quarantine

    sha256 = hashlib.sha256(data).hexdigest()
    seen = scan_already_taken_in(ctx, sha256)
    if seen is not None:
        return replace(seen, label=item_label)
    try:
        scan = ocr_scan(data, item_label)
    except ScanUnreadable as exc:
        # Kept with the PO-box day, so a case opened from it by hand is timed right.
        arrived = ctx.clock.start_of_local_day(received_on)
        return _quarantine(ctx, MailOrigin(item_label, received_at=arrived), data, sha256,
                           exc.message, channel="postal")
    fields = read_letter(scan.text)
    letter = ScannedLetter(filename=item_label.rsplit("/", 1)[-1], data=data,
                           media_type=scan.media_type, text=scan.text,
                           page_count=scan.page_count, date_written=fields.date_written)
    try:
        changed = create_case_from_scan(ctx, proposal_for(scan.text, received_on,
                                                          fields=fields),
                                        letter, to_review=True)
    except InvalidInput as exc:
        if "already taken in" in exc.message:
            seen = scan_already_taken_in(ctx, sha256)
            if seen is not None:
                return replace(seen, label=item_label)
        return IntakeResult(item_label, "failed", detail=exc.message)
    case = changed.case
    return IntakeResult(item_label, "created", case.ref,
                        f"{', '.join(case.request_types)} · {case.jurisdiction} · letter of "
                        f"{scan.page_count} page(s), received {received_on}")
