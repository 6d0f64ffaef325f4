"""The index kept current by issuing letters (caseapp.search.tracking): a case whose only
change is new documents and letters has them added to its stored document, which must
come to exactly what a rebuild writes; anything else rebuilds the case."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, select, text

from caseapp.db.models import Case, Document, Letter, Message, Note
from caseapp.search import document as search_document
from caseapp.search import tracking
from caseapp.search.document import (
    AddedRows,
    CaseText,
    build_document,
    extend_document,
    load_case_texts,
)
from caseapp.search.index import reindex_cases
from caseapp.search.text import fold_words
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData
from caseapp.services.letters import LetterRequest
from caseapp.services.scans import ScannedLetter
from caseapp.services.search import SearchQuery

# --- what is stored equals what a rebuild writes -----------------------------------------


def stored(connection: Connection) -> dict[int, tuple[str, str, list[str]]]:
    """Every case's stored sections, folded words and name words."""
    names: dict[int, list[str]] = {}
    for case_id, word in connection.execute(text(
            "SELECT case_id, word FROM search_names ORDER BY case_id, word")):
        names.setdefault(case_id, []).append(word)
    return {case_id: (sections, folded, names.get(case_id, [])) for case_id, sections, folded
            in connection.execute(text("SELECT case_id, sections, folded "
                                       "FROM search_documents ORDER BY case_id"))}


def assert_as_rebuilt(desk: Desk) -> None:
    """The stored index is what reindex_cases builds from the cases now (rolled back);
    on SQLite the full-text table agrees with the documents."""
    with desk.db.engine.connect() as connection:
        if desk.db.is_sqlite:  # raises when the FTS index differs from its content
            connection.execute(text(
                "INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))
        before = stored(connection)
        reindex_cases(connection, connection.scalars(select(Case.id)).all())
        rebuilt = stored(connection)
        connection.rollback()
    assert before == rebuilt


def find(desk: Desk, typed: str) -> list[str]:
    return [hit.ref for hit in desk.search(SearchQuery(text=typed)).hits]


def new_case(desk: Desk, name: str, number: int) -> str:
    requester = PartyData(name=name, email=f"person{number}+desk@example.com",
                          phone="(916) 555-0143", postal_address=f"{number} Main Street\n"
                          "Sacramento, CA 95814", postal_code="95814", state="CA")
    return desk.create_case(NewCase(
        channel="postal", request_types=("delete",), requester=requester,
        received_on=date(2026, 3, 2), summary="Please delete my data.")).case.ref


@pytest.fixture
def rebuilds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[set[int]]]:
    """The cases each commit rebuilt whole (not only added to)."""
    calls: list[set[int]] = []
    original = tracking.reindex_cases

    def spy(connection: Connection, case_ids: Any) -> int:
        calls.append(set(case_ids))
        return original(connection, case_ids)

    monkeypatch.setattr(tracking, "reindex_cases", spy)
    yield calls


def words_of(desk: Desk, ref: str) -> set[str]:
    with desk.db.engine.connect() as connection:
        folded = connection.scalar(text(
            "SELECT d.folded FROM search_documents d JOIN cases c ON c.id = d.case_id "
            "WHERE c.ref = :ref"), {"ref": ref})
    return set(str(folded).split())


def test_an_issued_letter_is_found_at_once_and_the_index_is_as_rebuilt(
        desk: Desk, rebuilds: list[set[int]]) -> None:
    plain = new_case(desk, "José Núñez", 1)
    busy = new_case(desk, "Zoë Ågren", 2)
    desk.add_note(busy, "Called about the Wintergreen sedan; call back at 916-555-0199")
    desk.attach_scan(busy, ScannedLetter(
        filename="letter.png", data=b"scan", media_type="image/png",
        text="Please erase me, write to zoe.agren+cars@example.org", page_count=1))
    assert_as_rebuilt(desk)
    rebuilds.clear()
    for number, ref in enumerate((plain, busy)):
        before = words_of(desk, plain) | words_of(desk, busy)
        letter = desk.issue_letter(ref, LetterRequest("acknowledgement"))
        assert_as_rebuilt(desk)
        new_words = [word for word in fold_words(letter.text)
                     if len(word) > 4 and not word.isdigit() and word not in before]
        assert new_words or number > 0, "the letter says what the cases do not"
        for word in new_words[:3]:
            assert find(desk, word) == [ref], word
        assert find(desk, letter.serial) == [ref]
    # Another letter beside the first: added after it.
    letter = desk.issue_letter(plain, LetterRequest("information_request",
                                                    needed="the VIN of the Quetzal"))
    assert find(desk, letter.serial) == [plain]
    assert_as_rebuilt(desk)
    assert rebuilds == []  # added to, never rebuilt
    # The same letter again: its text is indexed once (rebuilt), its serial is new.
    letter = desk.issue_letter(busy, LetterRequest("acknowledgement"))
    assert len(rebuilds) == 1
    assert find(desk, letter.serial) == [busy]
    assert_as_rebuilt(desk)


def test_recording_the_mailing_leaves_the_index_alone(desk: Desk,
                                                      rebuilds: list[set[int]]) -> None:
    ref = new_case(desk, "Ana María Peña", 3)
    letter = desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="post"))
    rebuilds.clear()
    desk.record_mailing(ref, letter.serial, method="certified", tracking_number="9400 11")
    desk.record_returned(ref, letter.serial)
    assert rebuilds == []
    assert_as_rebuilt(desk)


def test_a_letter_with_another_change_rebuilds_the_case(desk: Desk,
                                                        rebuilds: list[set[int]]) -> None:
    ref = new_case(desk, "Sam O'Brien", 4)
    rebuilds.clear()
    with desk.ctx.write() as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        session.add(Note(case=case, author="alice", created_at=desk.clock.now(),
                         body="Asked about the Quillfeather trim"))
        session.add(Letter(case_id=case.id, kind="acknowledgement", language="en",
                           serial="L-2026-900001", sha256="0" * 64, title="Hello",
                           subject="", delivery="file", fingerprint="0" * 64,
                           issued_at=desk.clock.now(), issued_by="alice"))
    assert len(rebuilds) == 1
    assert find(desk, "quillfeather") == [ref] and find(desk, "L-2026-900001") == [ref]
    assert_as_rebuilt(desk)


def test_a_document_with_a_text_indexed_already_rebuilds_the_case(
        desk: Desk, rebuilds: list[set[int]]) -> None:
    ref = new_case(desk, "Emily Carter", 5)
    body = "Kindly remove   everything about my Marblehead account"
    with desk.ctx.write() as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        session.add(Message(case=case, direction="in", channel="email", subject="Erase",
                            body_text=body, created_at=desk.clock.now()))
    rebuilds.clear()
    for text_ in (body, " ".join(body.split())):
        with desk.ctx.write() as session:
            case = session.scalars(select(Case).where(Case.ref == ref)).one()
            session.add(Document(case=case, kind="scan", filename="scan.png",
                                 sha256="0" * 64, size=1, text=text_,
                                 created_at=desk.clock.now()))
        assert_as_rebuilt(desk)
    assert len(rebuilds) == 2
    with desk.ctx.write() as session:  # no text: its name is indexed
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        session.add(Document(case=case, kind="attachment", filename="Gorseway.pdf",
                             sha256="0" * 64, size=1, text=" \n ",
                             created_at=desk.clock.now()))
    assert len(rebuilds) == 2
    assert find(desk, "gorseway") == [ref]
    assert_as_rebuilt(desk)


def test_a_long_case_is_rebuilt(desk: Desk, rebuilds: list[set[int]],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_document, "MAX_DOCUMENT", 400)
    ref = new_case(desk, "Ana Ruiz", 6)
    desk.add_note(ref, "Lorem ipsum dolor sit amet")
    rebuilds.clear()
    desk.issue_letter(ref, LetterRequest("acknowledgement"))  # fills it: added, then cut
    desk.issue_letter(ref, LetterRequest("acknowledgement"))  # cut already: rebuilt
    assert len(rebuilds) == 1
    assert_as_rebuilt(desk)


def test_a_letter_in_a_rolled_back_savepoint_is_not_indexed(
        desk: Desk, rebuilds: list[set[int]]) -> None:
    ref = new_case(desk, "Zoë Ågren", 7)
    rebuilds.clear()
    with desk.ctx.write() as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        case_id = case.id
        savepoint = session.begin_nested()
        session.add(Document(case=case, kind="letter", filename="x.pdf", sha256="0" * 64,
                             size=1, text="Nevermore Tamarind", created_at=desk.clock.now()))
        session.flush()
        savepoint.rollback()
    assert rebuilds == [{case_id}]
    assert find(desk, "tamarind") == []
    assert_as_rebuilt(desk)


# --- extend_document against build_document ------------------------------------------------

texts = st.sampled_from([
    "", " ", "\x00", "Hello", "hello", "Call 916-555-0143 now", "zoe+cars@example.com",
    "x" * 120, "José Núñez", "Please   delete", "Please delete", "O'Brien wrote"])
words = st.text(st.sampled_from("abcé ñ@.-+0123456789\x00"), max_size=30)
some_text = st.one_of(texts, words)


@st.composite
def cases(draw: st.DrawFn) -> tuple[CaseText, int, int]:
    """A case, and how many of its last documents and letters were just added."""
    case = CaseText(
        ref="PR-2026-00001", summary=draw(some_text),
        request_types=draw(st.lists(st.sampled_from(["delete", "access"]), max_size=2)),
        parties=[{"role": "requester", "name": draw(some_text), "email": draw(st.sampled_from(
            ["", "zoe+cars@example.com", "ana@example.org"])), "phone": draw(
            st.sampled_from(["", "(916) 555-0143", "12"])), "postal_address": draw(
            some_text), "postal_code": "", "state": "CA"}],
        messages=draw(st.lists(st.tuples(some_text, some_text, some_text), max_size=3)),
        notes=draw(st.lists(some_text, max_size=2)),
        documents=draw(st.lists(st.tuples(st.sampled_from(["scan", "letter", "attachment"]),
                                          some_text, some_text), max_size=4)),
        letters=draw(st.lists(st.tuples(st.sampled_from(["L-2026-000001", "L-2026-000002"]),
                                        some_text), max_size=3)))
    return (case, draw(st.integers(0, len(case.documents))),
            draw(st.integers(0, len(case.letters))))


@given(cases(), st.sampled_from([10_000, 200, 60]))
def test_adding_to_a_document_builds_what_a_rebuild_builds(
        drawn: tuple[CaseText, int, int], limit: int) -> None:
    case, new_documents, new_letters = drawn
    original = search_document.MAX_DOCUMENT
    search_document.MAX_DOCUMENT = limit
    try:
        before = replace(case, documents=case.documents[:len(case.documents) - new_documents],
                         letters=case.letters[:len(case.letters) - new_letters])
        old = build_document(before)
        added = AddedRows(
            documents=[(number, *row) for number, row in enumerate(
                case.documents[len(case.documents) - new_documents:])],
            letters=[(number, *row) for number, row in enumerate(
                case.letters[len(case.letters) - new_letters:])])
        extended = extend_document(old.sections_json(), old.folded, len(before.letters),
                                   added)
        if extended is not None:
            rebuilt = build_document(case)
            assert (extended.sections, extended.folded) == (rebuilt.sections, rebuilt.folded)
    finally:
        search_document.MAX_DOCUMENT = original


def test_adding_a_letter_to_a_plain_case_needs_no_rebuild() -> None:
    case = CaseText(ref="PR-2026-00001", summary="Please delete", parties=[{
        "role": "requester", "name": "José Núñez", "email": "jose+cars@example.com",
        "phone": "(916) 555-0143", "postal_address": "12 Elm Street", "postal_code": "95814",
        "state": "CA"}], messages=[("Erase", "jose@example.com", "Erase me")],
        documents=[("letter", "a.pdf", "Dear José, call 916 555 0100")],
        letters=[("L-2026-000001", "We received your request")])
    old = build_document(case)
    added = AddedRows(documents=[(9, "letter", "b.pdf", "Dear José, we deleted it")],
                      letters=[(9, "L-2026-000002", "Your data was deleted")])
    extended = extend_document(old.sections_json(), old.folded, 1, added)
    full = replace(case, documents=[*case.documents, added.documents[0][1:]],
                   letters=[*case.letters, added.letters[0][1:]])
    rebuilt = build_document(full)
    assert extended is not None
    assert (extended.sections, extended.folded) == (rebuilt.sections, rebuilt.folded)
    assert extend_document(old.sections_json(), "stale words", 1, added) is None


def test_load_case_texts_matches_the_letters_as_stored(desk: Desk) -> None:
    """The ids the additions are ordered by are the ones the rebuild orders by."""
    ref = new_case(desk, "José Núñez", 8)
    for _ in range(3):
        desk.issue_letter(ref, LetterRequest("acknowledgement"))
    with desk.db.engine.connect() as connection:
        case_id = connection.scalar(select(Case.id).where(Case.ref == ref))
        assert case_id is not None
        serials = [row[0] for row in load_case_texts(connection, [case_id])[case_id].letters]
    assert serials == sorted(serials) and len(serials) == 3
