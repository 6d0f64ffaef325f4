"""Letters: a case's letter rendered as a draft, or issued (serial, PDF stored with the
case, its SHA-256 and serial audited in the same transaction).

A letter that would go out with a required field empty is refused with a message that
names it: no postal address for a letter to print and mail, no email address for one
to email. A template that cannot render (syntax, unknown placeholder) never produces a
letter.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp import audit
from caseapp.db.models import (
    Blob,
    Case,
    Document,
    DownstreamNotice,
    Letter,
    LetterCounter,
    LetterText,
    Task,
)
from caseapp.errors import InvalidInput, NotFound, TransitionRefused
from caseapp.letters.blocks import plain_text, read_blocks
from caseapp.letters.kinds import DELIVERIES, LETTER_KINDS
from caseapp.letters.layout import Organization, Page, parse_organization, render_pdf
from caseapp.letters.templates import (
    RenderedText,
    TemplateProblem,
    parse_template,
    render,
    visible,
)
from caseapp.letters.words import Words, load_words
from caseapp.records.lookup import RecordSystems
from caseapp.resources import resources_dir
from caseapp.services import claims, records
from caseapp.services.cases import load_case, touch
from caseapp.services.context import ServiceContext
from caseapp.services.letter_context import Extra, build_context, require_verified
from caseapp.services.views import facts_of
from caseapp.vocabulary import LANGUAGES
from caseapp.workflow.machine import Actor, options

DRAFT_SERIAL = "DRAFT"
RETURNED_FOLLOW_UP_DAYS = 2


@dataclass(frozen=True)
class LetterRequest:
    kind: str
    language: str = ""
    """"" for the case's language."""
    delivery: str = "file"
    """post (printed and mailed: needs a postal address), email (needs an email
    address), file (a PDF only)."""
    needed: str = ""
    notice_id: int | None = None
    once_per_day: bool = False
    """Give back the case's letter of this kind issued today (not emailed) instead of a
    second one: a daily batch run twice, or on two workstations at once."""


@dataclass(frozen=True)
class RenderedLetter:
    ref: str
    kind: str
    language: str
    serial: str
    title: str
    subject: str
    text: str
    """The letter as plain text (the email body; its SHA-256 is printed on it)."""
    pdf: bytes
    sha256: str
    """Of the PDF."""
    filename: str
    recipient: tuple[str, ...] = ()
    """The address block as printed (or the email address)."""
    email: str = ""
    """Where the letter would be emailed ("" when nobody's address is known)."""
    fingerprint: str = ""
    """SHA-256 of the content, printed in the footer."""
    texts_sha256: str = ""
    """SHA-256 of the text, profile and logo it was made with."""
    letter_id: int | None = None
    document_id: int | None = None


def _check(request: LetterRequest) -> None:
    if request.kind not in LETTER_KINDS:
        raise InvalidInput(f"Unknown letter '{request.kind}' (known: "
                           f"{', '.join(LETTER_KINDS)}).")
    if request.language and request.language not in LANGUAGES:
        raise InvalidInput(f"Letters are written in {', '.join(LANGUAGES)}, not "
                           f"'{request.language}'.")
    if request.delivery not in DELIVERIES:
        raise InvalidInput(f"A letter goes out by {', '.join(DELIVERIES)}.")


def _recipient(session: Session, case: Case, context: dict[str, object],
               request: LetterRequest) -> tuple[list[str], str]:
    """The address block and the email address of whoever the letter goes to."""
    if LETTER_KINDS[request.kind].to == "recipient":
        notice = session.get(DownstreamNotice, request.notice_id or 0)
        assert notice is not None  # build_context checked it
        lines = [notice.recipient_name, *_address_lines(notice.postal_address)]
        email = notice.email
    else:
        requester = context["requester"]
        assert isinstance(requester, dict)
        lines, email = list(requester["address"]), str(requester["email"])
    # Printed as they are, outside the template: cleaned the same way as its values.
    return [line for line in map(visible, lines) if line], visible(email)


def _address_lines(address: str) -> list[str]:
    """A one-line address from the sources file ("Office, PO Box 5100, Wilmington, DE
    19850") as the lines of an address block; the city stays with its state and ZIP."""
    if "\n" in address:
        return [line.strip() for line in address.splitlines() if line.strip()]
    parts = [part.strip() for part in address.split(",") if part.strip()]
    if len(parts) >= 2 and re.fullmatch(r"[A-Z]{2}\s+\d{5}(-\d{4})?", parts[-1]):
        parts[-2:] = [f"{parts[-2]}, {parts[-1]}"]
    return parts


def _required(case: Case, kind: str, delivery: str, address: list[str], email: str) -> None:
    who = "the recipient" if LETTER_KINDS[kind].to == "recipient" else "the requester"
    if delivery == "post" and len(address) < 2:
        raise InvalidInput(f"{case.ref}: the letter cannot be mailed: {who} has no postal "
                           "address. Add it to the case, or send the letter by email.")
    if delivery == "email" and not email:
        raise InvalidInput(f"{case.ref}: the letter cannot be emailed: {who} has no email "
                           "address. Add it to the case, or print and mail the letter.")


@dataclass(frozen=True)
class DeskTexts:
    """What the desk prints with: the texts an administrator set for the whole desk (in
    the database) over the shipped ones (resources/letters), and the logo."""

    folder: Path
    edited: dict[str, str]
    logo: bytes | None
    logo_sha256: str = ""

    def text(self, name: str) -> tuple[str, str]:
        """(the text of ``en/denial.toml`` or ``organization.toml``, where it is from)."""
        if name in self.edited:
            return self.edited[name], f"{name} (edited for this desk)"
        path = self.folder / "letters" / name
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except OSError as error:
            raise TemplateProblem(f"The letter text {path} cannot be read "
                                  f"({error.strerror})") from None

    def organization(self, language: str) -> Organization:
        text, source = self.text(ORGANIZATION)
        return parse_organization(text, source, language, self.logo)

    def fingerprint(self, *names: str) -> str:
        """SHA-256 of the texts a letter was made with and of the logo."""
        digest = hashlib.sha256()
        for name in names:
            digest.update(self.text(name)[0].encode("utf-8") + b"\0")
        digest.update(self.logo_sha256.encode("ascii"))
        return digest.hexdigest()


ORGANIZATION = "organization.toml"
LOGO = "logo"


def desk_texts(session: Session, folder: Path | None = None) -> DeskTexts:
    rows = {row.name: row for row in session.scalars(select(LetterText))}
    logo_row = rows.pop(LOGO, None)
    logo = session.get(Blob, logo_row.sha256) if logo_row is not None else None
    return DeskTexts(folder or resources_dir(), {name: row.text for name, row in rows.items()},
                     logo.data if logo is not None else None,
                     logo_row.sha256 if logo_row is not None else "")


def _compose(ctx: ServiceContext, session: Session, case: Case, request: LetterRequest,
             serial: str, extra: Extra, folder: Path) -> RenderedLetter:
    # A notice to a business downstream is in English, whatever the requester's language.
    to_recipient = LETTER_KINDS[request.kind].to == "recipient"
    language = request.language or ("en" if to_recipient else case.language) or "en"
    words: Words = load_words(folder, language)
    texts = desk_texts(session, folder)
    org = texts.organization(language)
    context = build_context(ctx, session, case, request.kind, words, org, serial, extra)
    address, email = _recipient(session, case, context, request)
    _required(case, request.kind, request.delivery, address, email)
    name = f"{language}/{request.kind}.toml"
    body, source = texts.text(name)
    template = parse_template(body, request.kind, language, source)
    text = render(template, context)
    staff = context["staff"]
    assert isinstance(staff, dict)
    letter = lay_out(
        words, org, text, kind=request.kind, language=language, ref=case.ref,
        received_on=words.date(case.received_on), serial=serial, address=tuple(address),
        email=email, staff_name=str(staff["name"]), today=words.date(ctx.clock.today()),
        folder=folder)
    return dataclasses.replace(letter, texts_sha256=texts.fingerprint(name, ORGANIZATION))


def lay_out(words: Words, org: Organization, text: RenderedText, *, kind: str,
            language: str, ref: str, received_on: str, serial: str,
            address: tuple[str, ...], email: str, staff_name: str, today: str,
            folder: Path) -> RenderedLetter:
    """The rendered text on paper: letterhead, address, references, footer with the
    content fingerprint (SHA-256 of serial, case, title, address and text)."""
    plain = plain_text(read_blocks(text.body))
    fingerprint = hashlib.sha256(
        "\n".join([serial, ref, text.title, *address, plain]).encode("utf-8")).hexdigest()
    page = Page(
        organization=org, recipient=address or (email,), date_line=today,
        references=((words["case"], ref), (words["received"], received_on),
                    (words["serial"], serial)),
        title=text.title,
        footer=f"{words['case']} {ref} · {words['serial']} {serial}\n"
               f"{words['fingerprint']} SHA-256 {fingerprint}",
        page_label=words["page"], signature=(words["closing"], "", staff_name, org.name),
        metadata=(("title", text.title), ("subject", text.subject),
                  ("author", org.name), ("keywords", f"{ref} {serial}")),
        watermark=words["draft"] if serial == DRAFT_SERIAL else "")
    pdf = render_pdf(page, text.body, folder, invariant=True)
    return RenderedLetter(
        ref=ref, kind=kind, language=language, serial=serial, title=text.title,
        subject=text.subject, text=plain, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(),
        filename=f"{ref}-{kind}-{serial}.pdf", recipient=address, email=email,
        fingerprint=fingerprint)


def _extra(ctx: ServiceContext, systems: RecordSystems | None, ref: str,
           request: LetterRequest) -> Extra:
    access = None
    if request.kind == "access_report":
        require_verified_case(ctx, ref)  # before reading anyone's records
        if systems is None:
            raise InvalidInput("The access report reads the customer systems: none are set up.")
        access = records.access_report_data(ctx, systems, ref)
    return Extra(needed=request.needed, notice_id=request.notice_id, access=access)


def require_verified_case(ctx: ServiceContext, ref: str) -> None:
    with ctx.read() as session:
        require_verified(load_case(session, ref))


def draft(ctx: ServiceContext, systems: RecordSystems | None, ref: str,
          request: LetterRequest, folder: Path | None = None) -> RenderedLetter:
    """The letter as it would be issued now, marked DRAFT; nothing is stored."""
    _check(request)
    extra = _extra(ctx, systems, ref, request)
    with ctx.read() as session:
        case = load_case(session, ref)
        return _compose(ctx, session, case, request, DRAFT_SERIAL, extra,
                        folder or resources_dir())


def _next_serial(session: Session, year: int) -> str:
    counter = session.get(LetterCounter, year)
    if counter is None:
        counter = LetterCounter(year=year, last=0)
        session.add(counter)
    counter.last += 1
    return f"L-{year}-{counter.last:06d}"


def issue(ctx: ServiceContext, systems: RecordSystems | None, ref: str,
          request: LetterRequest, folder: Path | None = None) -> RenderedLetter:
    """Issue the letter: a serial, the PDF stored with the case, the letter recorded and
    audited (serial, kind, SHA-256), all in one transaction."""
    _check(request)
    extra = _extra(ctx, systems, ref, request)
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        _may_send(ctx, case, actor, request.kind)
        if request.once_per_day:
            # Inside the write transaction, which every workstation takes in turn.
            earlier = _issued_today(ctx, session, case, request)
            if earlier is not None:
                return earlier
        # Refused while someone else works on it; else issuing claims the case.
        claimed = claims.hold(ctx, session, case, actor)
        serial = _next_serial(session, ctx.clock.today().year)
        # Written in one flush with the letter below (reading goes on meanwhile).
        with session.no_autoflush:
            letter = _compose(ctx, session, case, request, serial, extra,
                              folder or resources_dir())
            stored = session.get(Blob, letter.sha256) is not None
        now = ctx.clock.now()
        if not stored:
            session.add(Blob(sha256=letter.sha256, size=len(letter.pdf), data=letter.pdf,
                             created_at=now))
        document = Document(case=case, kind="letter", filename=letter.filename,
                            media_type="application/pdf", sha256=letter.sha256,
                            size=len(letter.pdf), text=letter.text, created_at=now)
        row = Letter(case_id=case.id, document=document, kind=request.kind,
                     language=letter.language, serial=serial, sha256=letter.sha256,
                     title=letter.title[:300], subject=letter.subject[:300],
                     delivery=request.delivery, recipient="\n".join(letter.recipient),
                     fingerprint=letter.fingerprint, texts_sha256=letter.texts_sha256,
                     notice_id=request.notice_id, issued_at=now,
                     issued_by=actor.username, mail_method="", tracking_number="",
                     emailed_to="", sending_by="")
        session.add_all([document, row])
        session.flush()  # the letter's id, for the audit record
        touch(case, now)
        audit.record(session, actor=actor.username, action="letter.issued", at=now, case=case,
                     detail={"letter": row.id, "kind": request.kind, "serial": serial,
                             "sha256": letter.sha256, "fingerprint": letter.fingerprint,
                             "texts_sha256": letter.texts_sha256,
                             "language": letter.language,
                             "delivery": request.delivery, **claimed})
        # The commit writes the audit record and the case with the index.
        return dataclasses.replace(letter, letter_id=row.id, document_id=document.id)


def _may_send(ctx: ServiceContext, case: Case, actor: Actor, kind: str) -> None:
    """A response says what the desk decided and did: it is issued when it is approved
    (by whoever may take "Approve, response sent", a second person for a deletion), or
    again after it was sent; before that it can only be previewed as a draft."""
    if kind not in RESPONSE_KINDS or case.status in ("response_sent", "closed"):
        return
    step = next((option for option in options(ctx.workflow, facts_of(case), actor)
                 if option.name == "approve_and_send"), None)
    if case.status == "review" and step is not None and step.allowed:
        return
    why = (step.why_not if case.status == "review" and step is not None
           else "submit the case for review first")
    raise TransitionRefused(
        f"{case.ref}: a response is issued when it is approved ({why}); until then it can "
        "be previewed as a draft.")


def _issued_today(ctx: ServiceContext, session: Session, case: Case, request: LetterRequest
                  ) -> RenderedLetter | None:
    rows = session.scalars(select(Letter).where(
        Letter.case_id == case.id, Letter.kind == request.kind,
        Letter.delivery == request.delivery).order_by(Letter.id.desc()))
    for row in rows:
        if ctx.clock.local_date(row.issued_at) != ctx.clock.today():
            return None
        if row.emailed_at is None and row.returned_on is None:
            blob = session.get(Blob, row.sha256)
            document = session.get(Document, row.document_id) if row.document_id else None
            if blob is None:
                return None
            return RenderedLetter(
                ref=case.ref, kind=row.kind, language=row.language, serial=row.serial,
                title=row.title, subject=row.subject,
                text=document.text if document else "", pdf=blob.data, sha256=row.sha256,
                filename=document.filename if document else f"{row.serial}.pdf",
                recipient=tuple(row.recipient.splitlines()), fingerprint=row.fingerprint,
                letter_id=row.id, document_id=row.document_id)
    return None


def letter_pdf(ctx: ServiceContext, ref: str, serial: str) -> bytes:
    with ctx.read() as session:
        row = find_letter(session, load_case(session, ref), serial)
        blob = session.get(Blob, row.sha256)
        if blob is None:
            raise NotFound(f"The PDF of letter {serial} is not stored.")
        return blob.data


RESPONSE_KINDS: Final = ("access_report", "correction_confirmation", "opt_out_confirmation",
                         "deletion_confirmation", "parent_response")
"""The letters that answer a request: issued when the response is approved. (A denial
and an appeal decision follow their own steps.)"""
STEP_AFTER_SENDING: Final = {"acknowledgement": "acknowledge",
                             **dict.fromkeys(RESPONSE_KINDS, "approve_and_send")}
"""The workflow step that sending a kind of letter completes: offered, never taken
silently (the acknowledgement acknowledges; the response is the response sent)."""

MAIL_METHODS: Final = {"first_class": "First-class mail", "certified": "Certified mail",
                       "certified_return_receipt": "Certified mail, return receipt",
                       "priority": "Priority mail"}
"""How a printed letter was mailed; certified mail has a tracking number."""


@dataclass(frozen=True)
class LetterView:
    id: int
    ref: str
    kind: str
    kind_label: str
    language: str
    serial: str
    title: str
    subject: str
    delivery: str
    recipient: tuple[str, ...]
    sha256: str
    fingerprint: str
    issued_at: datetime
    """UTC."""
    issued_on: date
    """The desk's local day it was issued."""
    issued_by: str
    mailed_on: date | None
    mail_method: str
    tracking_number: str
    emailed_at: datetime | None
    emailed_to: str
    returned_on: date | None
    notice_id: int | None

    @property
    def status(self) -> str:
        """Where the letter is: returned, mailed, emailed, or issued (not sent yet)."""
        if self.returned_on is not None:
            return "returned"
        if self.mailed_on is not None:
            return "mailed"
        if self.emailed_at is not None:
            return "emailed"
        return "issued"


def _view(ctx: ServiceContext, case: Case, row: Letter) -> LetterView:
    return LetterView(
        id=row.id, ref=case.ref, kind=row.kind, kind_label=LETTER_KINDS[row.kind].label
        if row.kind in LETTER_KINDS else row.kind, language=row.language, serial=row.serial,
        title=row.title, subject=row.subject, delivery=row.delivery,
        recipient=tuple(row.recipient.splitlines()), sha256=row.sha256,
        fingerprint=row.fingerprint, issued_at=row.issued_at,
        issued_on=ctx.clock.local_date(row.issued_at), issued_by=row.issued_by,
        mailed_on=row.mailed_on, mail_method=row.mail_method,
        tracking_number=row.tracking_number, emailed_at=row.emailed_at,
        emailed_to=row.emailed_to, returned_on=row.returned_on, notice_id=row.notice_id)


def list_letters(ctx: ServiceContext, ref: str) -> list[LetterView]:
    """The case's letters, oldest first."""
    with ctx.read() as session:
        case = load_case(session, ref)
        rows = session.scalars(select(Letter).where(Letter.case_id == case.id)
                               .order_by(Letter.id))
        return [_view(ctx, case, row) for row in rows]


def find_letter(session: Session, case: Case, serial: str) -> Letter:
    """The case's letter with this serial, or NotFound."""
    row = session.scalars(select(Letter).where(Letter.case_id == case.id,
                                               Letter.serial == serial.strip())).first()
    if row is None:
        raise NotFound(f"{case.ref} has no letter {serial}.")
    return row


def record_mailing(ctx: ServiceContext, ref: str, serial: str, *, method: str,
                   mailed_on: date | None = None, tracking_number: str = "") -> LetterView:
    """A printed letter went in the mail: when and how (certified mail with its
    tracking number). Recorded again, it replaces the earlier record, audited."""
    if method not in MAIL_METHODS:
        raise InvalidInput(f"A letter is mailed by {', '.join(MAIL_METHODS)}.")
    tracking = " ".join(tracking_number.split())
    if method.startswith("certified") and not tracking:
        raise InvalidInput("Certified mail has a tracking number: enter it from the "
                           "receipt.")
    if len(tracking) > 60:
        raise InvalidInput("A tracking number has at most 60 characters.")
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        row = find_letter(session, case, serial)
        day = mailed_on or ctx.clock.today()
        if day > ctx.clock.today():
            raise InvalidInput("A letter cannot be mailed in the future.")
        issued_on = ctx.clock.local_date(row.issued_at)
        if day < issued_on:
            raise InvalidInput(f"Letter {row.serial} was issued on {issued_on}; it cannot be "
                               "mailed before.")
        row.mailed_on, row.mail_method, row.tracking_number = day, method, tracking
        row.returned_on = None
        touch(case, ctx.clock.now())
        audit.record(session, actor=actor.username, action="letter.mailed",
                     at=ctx.clock.now(), case=case,
                     detail={"letter": row.id, "serial": row.serial, "on": day.isoformat(),
                             "method": method, "tracking": tracking})
        return _view(ctx, case, row)


def record_returned(ctx: ServiceContext, ref: str, serial: str, *,
                    returned_on: date | None = None, note: str = "") -> LetterView:
    """The post office returned a mailed letter as undeliverable; a task asks for a new
    address or another way to reach the requester."""
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        row = find_letter(session, case, serial)
        if row.mailed_on is None:
            raise TransitionRefused(f"Letter {row.serial} was not recorded as mailed.")
        day = returned_on or ctx.clock.today()
        if day < row.mailed_on:
            raise InvalidInput(f"Letter {row.serial} was mailed on {row.mailed_on}; it "
                               "cannot come back before.")
        row.returned_on = day
        now = ctx.clock.now()
        touch(case, now)
        case.tasks.append(Task(
            kind="follow_up", status="open", created_at=now,
            due_on=ctx.clock.today() + timedelta(days=RETURNED_FOLLOW_UP_DAYS),
            title=f"Letter {row.serial} came back undeliverable: find a new address, or "
                  "email it"))
        audit.record(session, actor=actor.username, action="letter.returned", at=now,
                     case=case, detail={"letter": row.id, "serial": row.serial,
                                        "on": day.isoformat(), "note": note.strip()[:500]})
        return _view(ctx, case, row)
