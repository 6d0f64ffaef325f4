"""A case's search document: everything the search box finds a case by.

``sections`` are what staff read (the original text, whitespace collapsed, each with
where it comes from: for the snippet); ``folded`` is what is indexed: the folded words of
every section, plus each email and phone number in the forms it may be typed in (phones
as E.164 digits and national number, emails also without their plus-tag).

The identifiers come first (reference, parties), then messages, notes, scans and letters,
so a long thread never pushes them out of PostgreSQL's phrase positions.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from caseapp.db.models import (
    Case,
    CaseRequestType,
    Document,
    Letter,
    Message,
    Note,
    Party,
)
from caseapp.search.text import (
    email_words,
    find_identifiers,
    fold_words,
    phone_digits,
    phone_forms,
)

MAX_SECTION = 100_000
"""Characters kept of one message, note or document text (a scan of a whole book...)."""
MAX_DOCUMENT = 500_000
"""Characters indexed per case (PostgreSQL refuses a tsvector over 1 MB)."""
BATCH = 200
"""Cases read per round when (re)building documents."""


@dataclass(frozen=True)
class Section:
    source: str  # case | requester | subject | message | note | scan | attachment | letter
    text: str


@dataclass
class CaseText:
    """What a case's document is built from (plain values, read with Core)."""

    ref: str
    summary: str = ""
    request_types: list[str] = field(default_factory=list)
    parties: list[dict[str, str]] = field(default_factory=list)
    messages: list[tuple[str, str, str]] = field(default_factory=list)  # subject, from, body
    notes: list[str] = field(default_factory=list)
    documents: list[tuple[str, str, str]] = field(default_factory=list)  # kind, name, text
    letters: list[tuple[str, str]] = field(default_factory=list)  # serial, title


@dataclass(frozen=True)
class SearchDocument:
    sections: tuple[Section, ...]
    folded: str
    names: tuple[str, ...] = ()  # the parties' name words, folded, each once

    def sections_json(self) -> str:
        return json.dumps([[s.source, s.text] for s in self.sections], ensure_ascii=False)


def sections_from_json(stored: str) -> tuple[Section, ...]:
    try:
        items = json.loads(stored)
        return tuple(Section(str(source), str(text)) for source, text in items)
    except (ValueError, TypeError):
        return ()


def _clean(text: str, limit: int = MAX_SECTION) -> str:
    return " ".join(text[:limit].replace("\x00", " ").split())


def build_document(case: CaseText) -> SearchDocument:
    sections, party_words, names = _sections(case)
    kept = _kept(sections)
    return SearchDocument(tuple(kept), _folded([_section_words(s) for s in kept],
                                               party_words), names)


def _sections(case: CaseText) -> tuple[list[Section], list[str], tuple[str, ...]]:
    """The case's sections in order, the words its parties' emails and phones are also
    indexed as, and the parties' folded name words."""
    sections: list[Section] = []
    extra: list[str] = []  # words indexed beside the sections' own

    def add(source: str, text: str) -> None:
        cleaned = _clean(text)
        if cleaned:
            sections.append(Section(source, cleaned))

    add("case", " · ".join(part for part in (case.ref, case.summary,
                                              " ".join(case.request_types)) if part))
    names: dict[str, None] = {}
    for party in case.parties:
        names.update(dict.fromkeys(word for word in fold_words(party["name"]) if len(word) > 1))
        add(party["role"], " · ".join(party[key] for key in (
            "name", "email", "phone", "postal_address", "postal_code", "state") if party[key]))
        if party["email"]:
            extra += email_words(party["email"])
        digits = phone_digits(party["phone"]) if party["phone"] else None
        if digits:
            extra += phone_forms(digits)
    seen: set[str] = set()  # a scan's text is also its message's body: indexed once
    for subject, sender, body in case.messages:
        add("message", " · ".join(part for part in (subject, sender) if part))
        if body.strip() and body not in seen:
            seen.add(body)
            add("message", body)
    for body in case.notes:
        add("note", body)
    for kind, filename, text in case.documents:
        if text.strip() and text not in seen:
            seen.add(text)
            add(kind, text)
        elif filename and kind != "letter":
            add(kind, filename)
    for serial, title in case.letters:
        add("letter", _letter_line(serial, title))
    return sections, extra, tuple(names)


def _letter_line(serial: str, title: str) -> str:
    return f"{serial} · {title}"


def _kept(sections: Sequence[Section]) -> list[Section]:
    """The sections indexed: the first MAX_DOCUMENT characters."""
    total = 0
    kept: list[Section] = []
    for section in sections:
        if total >= MAX_DOCUMENT:
            break
        kept.append(Section(section.source, section.text[:MAX_DOCUMENT - total]))
        total += len(kept[-1].text)
    return kept


SectionWords = tuple[list[str], list[str]]
"""A section's folded words, and the other forms of the emails and phones in it."""


def _section_words(section: Section) -> SectionWords:
    words = fold_words(section.text)
    extra: list[str] = []
    for found in find_identifiers(section.text):
        if found.kind == "phone":
            extra += phone_forms(found.words[0])
        else:
            plain = email_words(section.text[found.start:found.end])
            extra += plain[len(found.words):]  # the untagged form, if any
    return words, extra


def _folded(sections: Sequence[SectionWords], party_words: list[str]) -> str:
    """What is indexed: every section's words, then the parties' email and phone forms,
    then the other forms of what the sections hold."""
    words: list[str] = []
    extra = list(party_words)
    for section_words, section_extra in sections:
        words += section_words
        extra += section_extra
    return " ".join(words + extra)


@dataclass
class AddedRows:
    """A case's documents and letters added in a transaction that changed nothing else
    of the case its document is built from (caseapp.search.tracking)."""

    documents: list[tuple[int, str, str, str]] = field(default_factory=list)
    """id, kind, filename, text."""
    letters: list[tuple[int, str, str]] = field(default_factory=list)
    """id, serial, title."""


def extend_document(stored_sections: str, stored_folded: str, letters_before: int,
                    added: AddedRows) -> SearchDocument | None:
    """The stored document of a case (built by ``build_document`` when the case had
    ``letters_before`` letters) with ``added`` in it, exactly as ``build_document`` would
    build it from the case now: the new documents after the others (ids only grow), the
    new letters last. Its ``names`` are left empty: the parties did not change.

    None when that cannot be told from the stored document: it was cut at MAX_DOCUMENT,
    it is not what this code builds, or a new document's text is also indexed from
    elsewhere (a scan's text is its message's body); the case is rebuilt then."""
    old = list(sections_from_json(stored_sections))
    split = len(old) - letters_before  # the letters' lines come last, one each
    if (not old or split < 1 or sum(len(s.text) for s in old) >= MAX_DOCUMENT
            or any(s.source != "letter" for s in old[split:])):
        return None
    old_words = [_section_words(s) for s in old]
    tokens = stored_folded.split()
    words = [word for section_words, _ in old_words for word in section_words]
    extra = [word for _, section_extra in old_words for word in section_extra]
    party_end = len(tokens) - len(extra)
    if party_end < len(words) or tokens[:len(words)] != words or tokens[party_end:] != extra:
        return None
    texts = {s.text for s in old}
    new: list[Section] = []
    for _id, kind, filename, text in sorted(added.documents):
        if text.strip():
            cleaned = _clean(text)
            if not cleaned or cleaned in texts:  # maybe indexed once already: rebuild
                return None
            texts.add(cleaned)
            new.append(Section(kind, cleaned))
        elif filename and kind != "letter" and _clean(filename):
            new.append(Section(kind, _clean(filename)))
    lines = [Section("letter", _clean(_letter_line(serial, title)))
             for _id, serial, title in sorted(added.letters)]
    sections = [*old[:split], *new, *old[split:], *lines]
    kept = _kept(sections)
    if len(kept) == len(sections) and kept[-1].text == sections[-1].text:  # none cut
        folded = [*old_words[:split], *map(_section_words, new), *old_words[split:],
                  *map(_section_words, lines)]
    else:
        folded = [_section_words(s) for s in kept]
    return SearchDocument(tuple(kept), _folded(folded, tokens[len(words):party_end]))


def _chunks(ids: Sequence[int], size: int = BATCH) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def load_case_texts(connection: Connection, case_ids: Iterable[int]) -> dict[int, CaseText]:
    """The texts of the cases that exist among ``case_ids`` (missing ones are left out)."""
    result: dict[int, CaseText] = {}
    for ids in _chunks(sorted(set(case_ids))):
        for case_id, ref, summary in connection.execute(
                select(Case.id, Case.ref, Case.summary).where(Case.id.in_(ids))):
            result[case_id] = CaseText(ref=ref, summary=summary or "")
        found = [case_id for case_id in ids if case_id in result]
        if not found:
            continue
        types: dict[int, list[str]] = defaultdict(list)
        for case_id, request_type in connection.execute(
                select(CaseRequestType.case_id, CaseRequestType.request_type)
                .where(CaseRequestType.case_id.in_(found)).order_by(CaseRequestType.id)):
            types[case_id].append(request_type)
        for case_id, names in types.items():
            result[case_id].request_types = names
        for row in connection.execute(
                select(Party.case_id, Party.role, Party.name, Party.email, Party.phone,
                       Party.postal_address, Party.postal_code, Party.state)
                .where(Party.case_id.in_(found)).order_by(Party.id)):
            result[row.case_id].parties.append({
                "role": row.role, "name": row.name or "", "email": row.email or "",
                "phone": row.phone or "", "postal_address": row.postal_address or "",
                "postal_code": row.postal_code or "", "state": row.state or ""})
        for owner, subject, sender, body in connection.execute(
                select(Message.case_id, Message.subject, Message.sender, Message.body_text)
                .where(Message.case_id.in_(found)).order_by(Message.id)):
            if owner is not None:
                result[owner].messages.append((subject or "", sender or "", body or ""))
        for case_id, body in connection.execute(
                select(Note.case_id, Note.body).where(Note.case_id.in_(found))
                .order_by(Note.id)):
            result[case_id].notes.append(body or "")
        for owner, kind, filename, text in connection.execute(
                select(Document.case_id, Document.kind, Document.filename, Document.text)
                .where(Document.case_id.in_(found)).order_by(Document.id)):
            if owner is not None:
                result[owner].documents.append((kind, filename or "", text or ""))
        for case_id, serial, title in connection.execute(
                select(Letter.case_id, Letter.serial, Letter.title)
                .where(Letter.case_id.in_(found)).order_by(Letter.id)):
            result[case_id].letters.append((serial, title or ""))
    return result
