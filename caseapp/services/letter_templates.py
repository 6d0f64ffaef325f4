"""Letter texts, the organization profile and the logo as an administrator sets them for
the whole desk: listed, previewed, saved, reverted.

The shipped texts (resources/letters) are never changed. What an administrator saves is
kept in the case database (``letter_texts``), so every workstation of a shared desk
prints with it, and is audited with its SHA-256 in the same transaction. A text is
checked before it is saved (syntax, and every placeholder in every branch) and so can
never produce a letter with a gap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from caseapp import audit
from caseapp.db.models import Blob, LetterText
from caseapp.errors import InvalidInput
from caseapp.letters.kinds import LETTER_KINDS
from caseapp.letters.layout import check_logo, parse_organization
from caseapp.letters.sample import sample_context
from caseapp.letters.templates import check_template, parse_template
from caseapp.letters.words import load_words
from caseapp.resources import resources_dir
from caseapp.services.context import ServiceContext
from caseapp.services.letters import LOGO, ORGANIZATION, RenderedLetter, desk_texts, lay_out
from caseapp.vocabulary import LANGUAGES

SAMPLE_REF = "PR-2026-00042"
SAMPLE_SERIAL = "SAMPLE"
MAX_TEXT = 200_000
MAX_LOGO = 2 * 1024 * 1024


@dataclass(frozen=True)
class TemplateInfo:
    kind: str
    label: str
    language: str
    edited: bool
    """An administrator's text is used instead of the shipped one."""
    where: str
    """Where the text in use is: the shipped file, or who saved it for the desk, when."""
    saved_by: str = ""
    saved_at: datetime | None = None


def _name(kind: str, language: str) -> str:
    if kind not in LETTER_KINDS:
        raise InvalidInput(f"Unknown letter '{kind}' (known: {', '.join(LETTER_KINDS)}).")
    if language not in LANGUAGES:
        raise InvalidInput(f"Letters are written in {', '.join(LANGUAGES)}.")
    return f"{language}/{kind}.toml"


def _info(kind: str, language: str, row: LetterText | None) -> TemplateInfo:
    name = _name(kind, language)
    if row is None:
        return TemplateInfo(kind, LETTER_KINDS[kind].label, language, False,
                            f"shipped: resources/letters/{name}")
    return TemplateInfo(kind, LETTER_KINDS[kind].label, language, True,
                        f"edited for this desk by {row.saved_by} on {row.saved_at:%Y-%m-%d}",
                        row.saved_by, row.saved_at)


def list_templates(ctx: ServiceContext) -> list[TemplateInfo]:
    with ctx.read() as session:
        return [_info(kind, language, session.get(LetterText, _name(kind, language)))
                for kind in LETTER_KINDS for language in LANGUAGES]


def template_text(ctx: ServiceContext, kind: str, language: str) -> str:
    name = _name(kind, language)
    with ctx.read() as session:
        return desk_texts(session).text(name)[0]


def shipped_text(kind: str, language: str) -> str:
    return (resources_dir() / "letters" / _name(kind, language)).read_text(encoding="utf-8")


def preview_template(ctx: ServiceContext, kind: str, language: str, text: str
                     ) -> RenderedLetter:
    """The text as a letter filled with sample values (every list filled), or
    TemplateProblem naming the line: what the editor shows while it is typed."""
    template = parse_template(text, kind, language, "edited")
    context = sample_context(language)
    rendered = check_template(template, context)
    folder = resources_dir()
    with ctx.read() as session:
        org = desk_texts(session, folder).organization(language)
    return lay_out(load_words(folder, language), org, rendered, kind=kind, language=language,
                   ref=SAMPLE_REF, received_on=context["case"]["received_on"],
                   serial=SAMPLE_SERIAL, address=tuple(context["requester"]["address"]),
                   email=context["requester"]["email"], staff_name=context["staff"]["name"],
                   today=context["letter"]["date"], folder=folder)


def _save(ctx: ServiceContext, session: Session, name: str, text: str, sha256: str,
          action: str, detail: dict[str, str]) -> LetterText:
    actor = ctx.require_role(session, "admin")
    now = ctx.clock.now()
    row = session.get(LetterText, name)
    if row is None:
        row = LetterText(name=name, text=text, sha256=sha256, saved_by=actor.username,
                         saved_at=now)
        session.add(row)
    else:
        row.text, row.sha256, row.saved_by, row.saved_at = text, sha256, actor.username, now
    audit.record(session, actor=actor.username, action=action, at=now,
                 detail={**detail, "sha256": sha256})
    session.flush()
    return row


def _revert(ctx: ServiceContext, session: Session, name: str, action: str,
            detail: dict[str, str]) -> None:
    actor = ctx.require_role(session, "admin")
    row = session.get(LetterText, name)
    if row is not None:
        session.delete(row)
    audit.record(session, actor=actor.username, action=action, at=ctx.clock.now(),
                 detail=detail)


def _checked_size(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"A letter text has at most {MAX_TEXT:,} characters.")


def save_template(ctx: ServiceContext, kind: str, language: str, text: str) -> TemplateInfo:
    """Save an administrator's text for the whole desk after checking it; refused
    (TemplateProblem) when it would not render, whatever the case."""
    name = _name(kind, language)
    _checked_size(text)
    preview_template(ctx, kind, language, text)  # raises before anything is written
    with ctx.write() as session:
        row = _save(ctx, session, name, text, hashlib.sha256(text.encode()).hexdigest(),
                    "letter.template_saved", {"kind": kind, "language": language})
        return _info(kind, language, row)


def revert_template(ctx: ServiceContext, kind: str, language: str) -> TemplateInfo:
    """Go back to the shipped text (audited; the edited one stays in the audit trail's
    hash only)."""
    name = _name(kind, language)
    with ctx.write() as session:
        _revert(ctx, session, name, "letter.template_reverted",
                {"kind": kind, "language": language})
    return _info(kind, language, None)


def organization_text(ctx: ServiceContext) -> str:
    with ctx.read() as session:
        return desk_texts(session).text(ORGANIZATION)[0]


def save_organization(ctx: ServiceContext, text: str) -> None:
    """The letterhead and contact lines for the whole desk, checked in every language."""
    _checked_size(text)
    for language in LANGUAGES:
        parse_organization(text, "the organization profile", language)
    with ctx.write() as session:
        _save(ctx, session, ORGANIZATION, text, hashlib.sha256(text.encode()).hexdigest(),
              "letter.organization_saved", {})


def revert_organization(ctx: ServiceContext) -> None:
    with ctx.write() as session:
        _revert(ctx, session, ORGANIZATION, "letter.organization_reverted", {})


def set_logo(ctx: ServiceContext, data: bytes | None) -> None:
    """The picture beside the name on every letter (None: no logo); a PNG or JPEG."""
    if data is None:
        with ctx.write() as session:
            _revert(ctx, session, LOGO, "letter.logo_removed", {})
        return
    if len(data) > MAX_LOGO:
        raise InvalidInput(f"A logo has at most {MAX_LOGO // 1024 // 1024} MB.")
    width, height = check_logo(data)
    sha256 = hashlib.sha256(data).hexdigest()
    with ctx.write() as session:
        if session.get(Blob, sha256) is None:
            session.add(Blob(sha256=sha256, size=len(data), data=data,
                             created_at=ctx.clock.now()))
        _save(ctx, session, LOGO, "", sha256, "letter.logo_set",
              {"size": f"{width}x{height}"})
