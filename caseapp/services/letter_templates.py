"""Letter texts as an administrator edits them: listed, previewed, saved, reverted.

The shipped texts (resources/letters) are never changed; an edited text is saved in the
user's settings folder (``letters/<language>/<kind>.toml``) and used instead. A text is
checked before it is saved (syntax and placeholders, against a context holding every
placeholder) and so can never produce a letter with a gap; the save is atomic, keeps
the previous edited text as ``.bak`` and is audited with the text's SHA-256.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from caseapp import audit
from caseapp.errors import InvalidInput
from caseapp.files import write_text_atomically
from caseapp.letters.kinds import LETTER_KINDS
from caseapp.letters.layout import load_organization
from caseapp.letters.sample import sample_context
from caseapp.letters.templates import check_template, parse_template
from caseapp.letters.words import load_words
from caseapp.resources import resources_dir
from caseapp.services.context import ServiceContext
from caseapp.services.letters import RenderedLetter, lay_out, letter_file
from caseapp.vocabulary import LANGUAGES

SAMPLE_REF = "PR-2026-00042"
SAMPLE_SERIAL = "SAMPLE"


@dataclass(frozen=True)
class TemplateInfo:
    kind: str
    label: str
    language: str
    edited: bool
    """An administrator's text is used instead of the shipped one."""
    path: Path


def _relative(kind: str, language: str) -> str:
    if kind not in LETTER_KINDS:
        raise InvalidInput(f"Unknown letter '{kind}' (known: {', '.join(LETTER_KINDS)}).")
    if language not in LANGUAGES:
        raise InvalidInput(f"Letters are written in {', '.join(LANGUAGES)}.")
    return f"{language}/{kind}.toml"


def list_templates(edited: Path) -> list[TemplateInfo]:
    folder = resources_dir()
    infos = []
    for kind, info in LETTER_KINDS.items():
        for language in LANGUAGES:
            path = letter_file(folder, edited, _relative(kind, language))
            infos.append(TemplateInfo(kind, info.label, language,
                                      path.is_relative_to(edited), path))
    return infos


def template_text(edited: Path, kind: str, language: str) -> str:
    path = letter_file(resources_dir(), edited, _relative(kind, language))
    return path.read_text(encoding="utf-8")


def shipped_text(kind: str, language: str) -> str:
    return (resources_dir() / "letters" / _relative(kind, language)).read_text(
        encoding="utf-8")


def preview_template(edited: Path, kind: str, language: str, text: str) -> RenderedLetter:
    """The text as a letter filled with sample values (every list filled), or
    TemplateProblem naming the line: what the editor shows while it is typed."""
    template = parse_template(text, kind, language, "edited")
    context = sample_context(language)
    rendered = check_template(template, context)
    folder = resources_dir()
    words = load_words(folder, language)
    org = load_organization(letter_file(folder, edited, "organization.toml"), language)
    return lay_out(words, org, rendered, kind=kind, language=language, ref=SAMPLE_REF,
                   received_on=context["case"]["received_on"], serial=SAMPLE_SERIAL,
                   address=tuple(context["requester"]["address"]),
                   email=context["requester"]["email"], staff_name=context["staff"]["name"],
                   today=context["letter"]["date"], folder=folder)


def save_template(ctx: ServiceContext, edited: Path, kind: str, language: str,
                  text: str) -> TemplateInfo:
    """Save an administrator's text after checking it; the earlier edited text is kept as
    .bak. Refused (TemplateProblem) when it would not render."""
    relative = _relative(kind, language)
    preview_template(edited, kind, language, text)  # raises before anything is written
    target = edited / relative
    with ctx.write() as session:
        actor = ctx.require_role(session, "admin")
        audit.record(session, actor=actor.username, action="letter.template_saved",
                     at=ctx.clock.now(),
                     detail={"kind": kind, "language": language,
                             "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()})
        session.flush()
        write_text_atomically(target, text)  # a failure here undoes the audit record
    return TemplateInfo(kind, LETTER_KINDS[kind].label, language, True, target)


def revert_template(ctx: ServiceContext, edited: Path, kind: str, language: str
                    ) -> TemplateInfo:
    """Go back to the shipped text (the edited one is kept as .bak)."""
    relative = _relative(kind, language)
    with ctx.write() as session:
        actor = ctx.require_role(session, "admin")
        target = edited / relative
        audit.record(session, actor=actor.username, action="letter.template_reverted",
                     at=ctx.clock.now(), detail={"kind": kind, "language": language})
        session.flush()
        if target.exists():
            os.replace(target, target.with_name(target.name + ".bak"))
    return TemplateInfo(kind, LETTER_KINDS[kind].label, language, False,
                        resources_dir() / "letters" / relative)
