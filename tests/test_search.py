"""Full-text search (issue 6): one search box over cases, parties, messages, notes, scans
and letters, with filters and marked snippets, on SQLite FTS5 and PostgreSQL tsvector
alike; the index kept current by every write; any typed text a valid search."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text

from caseapp.cli import main
from caseapp.clock import Clock
from caseapp.db.models import Case, Document, Message
from caseapp.errors import InvalidInput, NotFound
from caseapp.search.fuzzy import widen
from caseapp.search.query import parse_query
from caseapp.search.text import fold_words
from caseapp.services import Desk
from caseapp.services.dto import CaseQuery, NewCase, PartyData, StepRequest
from caseapp.services.scans import ScannedLetter
from caseapp.services.search import SearchQuery, SearchResults
from tests.conftest import FIXED_NOW, Staff

HOSTILE = ["Dr.", "O'Brien", "a+b", "-", '"', "NEAR(", "NEAR(a b", "*", "AND OR NOT",
           "%_", "x" * 10_000, "nu\x00nez", "\x00", "😀", "😀 nunez", "'", "\\", "(",
           ")", "a:b", "^", "col:nunez", "a OR b", "-nunez", "nunez -", '"unclosed nun',
           '""', "'; DROP TABLE cases; --", "ñ" * 150, " ", "\u202enunez", "a & b | !c",
           "<->", ":*", "\t\n", "a" * 101 + " nunez", "1.5", "$100", "#4", "@", "@@"]


def refs(results: SearchResults) -> list[str]:
    return [hit.ref for hit in results.hits]


def find(desk: Desk, text_: str, **filters: object) -> list[str]:
    return refs(desk.search(SearchQuery(text=text_, **filters)))  # type: ignore[arg-type]


def make_cases(desk: Desk) -> dict[str, str]:
    """Four cases: José Núñez (email, CA), Emily Carter and her son (postal, a child,
    VA), Bob Miller (phone, overdue), Ana Ruiz (web, to be assigned to carol)."""
    jose = desk.create_case(NewCase(
        channel="email", request_types=("delete",), summary="Wants his data deleted",
        requester=PartyData(name="José Núñez", email="jose.nunez+cars@example.com",
                            phone="(916) 555-0143", postal_address="12 Elm Street, "
                            "Sacramento", postal_code="95814", state="CA"),
        received_on=date(2026, 3, 2))).case.ref
    emily = desk.create_case(NewCase(
        channel="postal", request_types=("access",),
        requester=PartyData(name="Emily Carter", email="emily.carter@example.net",
                            state="VA", relationship="parent"),
        subject=PartyData(name="Tyler Carter", is_child=True, age=11),
        received_on=date(2026, 2, 20))).case.ref
    bob = desk.create_case(NewCase(
        channel="phone", request_types=("opt_out_marketing",),
        requester=PartyData(name='Robert "Bob" Miller', phone="+1 212 555 0187",
                            state="CA"),
        received_on=date(2025, 11, 3))).case.ref
    ana = desk.create_case(NewCase(
        channel="web", request_types=("correct",),
        requester=PartyData(name="Ana Ruiz", email="ana@example.org", state="CA"),
        received_on=date(2026, 3, 3))).case.ref
    return {"jose": jose, "emily": emily, "bob": bob, "ana": ana}


# --- finding a case ------------------------------------------------------------------


def test_accents_and_case_are_folded(desk: Desk) -> None:
    cases = make_cases(desk)
    for typed in ("Nunez", "NÚÑEZ", "núñez", "nunez jose", "José", "nún"):
        assert find(desk, typed) == [cases["jose"]], typed
    assert find(desk, "carter") == [cases["emily"]]  # requester and child: one case
    assert find(desk, "tyler") == [cases["emily"]]
    assert find(desk, "nunez carter") == []  # every word must match


def test_a_phone_number_typed_any_way_finds_its_case(desk: Desk) -> None:
    cases = make_cases(desk)
    for typed in ("(916) 555-0143", "916.555.0143", "+19165550143", "9165550143",
                  "916-555-0143", "+1 916 555 0143", "555-0143", "916 555 0143"):
        assert find(desk, typed) == [cases["jose"]], typed
    for typed in ("212-555-0187", "(212) 555 0187", "+12125550187"):
        assert find(desk, typed) == [cases["bob"]], typed
    assert find(desk, "(916) 555-0199") == []


def test_an_email_address_finds_its_case(desk: Desk) -> None:
    cases = make_cases(desk)
    for typed in ("jose.nunez+cars@example.com", "jose.nunez@example.com",
                  "JOSE.NUNEZ@EXAMPLE.COM", "<jose.nunez@example.com>", "example.com"):
        assert find(desk, typed) == [cases["jose"]], typed
    assert find(desk, "emily.carter@example.net") == [cases["emily"]]
    assert find(desk, "ana@example.com") == []  # the same local part elsewhere is not her
    assert find(desk, "PR-2026-00002") == [cases["emily"]]


def test_words_of_messages_notes_scans_and_letters_find_the_case(desk: Desk) -> None:
    cases = make_cases(desk)
    desk.add_note(cases["emily"], "Spoke with the dealership in Poughkeepsie")
    desk.attach_scan(cases["bob"], ScannedLetter(
        filename="letter.png", data=b"scan of a letter", media_type="image/png",
        text="Please stop sending me brochures about the Zephyrine sedan", page_count=1))
    with desk.ctx.write() as session:  # any writer, not only the services, keeps it right
        case = session.scalars(select(Case).where(Case.ref == cases["ana"])).one()
        session.add(Message(case=case, direction="in", channel="email",
                            subject="Wrong birthday on file", body_text="My VIN is "
                            "1HGCM82633A004352 and my dog is called Quillfeather",
                            created_at=desk.clock.now()))
        session.add(Document(case=case, kind="letter", filename="ack.pdf", sha256="0" * 64,
                             size=1, text="We received your correction request about "
                             "Marblehead", created_at=desk.clock.now()))
    assert find(desk, "poughkeepsie") == [cases["emily"]]
    assert find(desk, "zephyrine") == [cases["bob"]]
    assert find(desk, "brochures sedan") == [cases["bob"]]
    assert find(desk, "quillfeather") == [cases["ana"]]
    assert find(desk, "birthday") == [cases["ana"]]
    assert find(desk, "1HGCM82633A004352") == [cases["ana"]]
    assert find(desk, "marblehead") == [cases["ana"]]


def test_the_last_word_matches_as_typed_and_quotes_keep_words_together(desk: Desk) -> None:
    cases = make_cases(desk)
    assert find(desk, "Núñ") == [cases["jose"]]
    assert find(desk, "nun ") == []  # a finished word is a whole word
    assert find(desk, "sacram*") == [cases["jose"]]
    assert find(desk, '"elm street"') == [cases["jose"]]
    assert find(desk, '"street elm"') == []
    assert find(desk, '"jose nu') == [cases["jose"]]  # an unclosed quote, still typing


def test_a_scan_taken_in_from_the_command_line_is_found_by_its_ocr_text(desk: Desk) -> None:
    """The intake scan path (OCR'd text into the message and the document)."""
    changed = desk.create_case_from_scan(
        NewCase(channel="postal", request_types=("delete",),
                requester=PartyData(name="Grace O'Brien", state="CA"),
                received_on=date(2026, 3, 1)),
        ScannedLetter(filename="scan.pdf", data=b"%PDF scan", media_type="application/pdf",
                      text="Dear Sir, I bought a Vireo hatchback from your Fresno dealer.",
                      page_count=1))
    assert find(desk, "vireo fresno") == [changed.case.ref]
    assert find(desk, "O'Brien") == [changed.case.ref]
    assert find(desk, "obrien") == [changed.case.ref]


# --- filters ---------------------------------------------------------------------------


def test_filters_narrow_and_an_empty_text_lists_by_them(staff: Staff) -> None:
    desk = staff.alice
    cases = make_cases(desk)
    desk.assign(cases["ana"], "carol")
    desk.take_step(cases["emily"], StepRequest("acknowledge"))
    everyone = set(cases.values())
    assert set(find(desk, "")) == everyone
    assert desk.search(SearchQuery()).total == 4
    assert find(desk, "", channel="postal") == [cases["emily"]]
    assert find(desk, "", request_type="delete") == [cases["jose"]]
    assert find(desk, "", jurisdiction="va") == [cases["emily"]]
    assert find(desk, "", child=True) == [cases["emily"]]
    assert find(desk, "", assignee="carol") == [cases["ana"]]
    assert find(desk, "", status="acknowledged") == [cases["emily"]]
    assert find(desk, "", overdue=True) == [cases["bob"]]
    assert set(find(desk, "", received_from=date(2026, 3, 1))) == {cases["jose"], cases["ana"]}
    assert find(desk, "", received_to=date(2025, 12, 31)) == [cases["bob"]]
    assert find(desk, "", received_from=date(2026, 3, 2), received_to=date(2026, 3, 2)) == [
        cases["jose"]]
    # text and filters together
    assert find(desk, "example", jurisdiction="CA") == [cases["jose"], cases["ana"]] or set(
        find(desk, "example", jurisdiction="CA")) == {cases["jose"], cases["ana"]}
    assert find(desk, "carter", channel="email") == []
    # pages and the total
    first = desk.search(SearchQuery(limit=3))
    second = desk.search(SearchQuery(limit=3, offset=3))
    assert (first.total, len(first.hits), len(second.hits)) == (4, 3, 1)
    assert set(refs(first) + refs(second)) == everyone
    with pytest.raises(InvalidInput, match="Unknown status"):
        desk.search(SearchQuery(status="bogus"))
    with pytest.raises(InvalidInput, match="ends before it starts"):
        desk.search(SearchQuery(received_from=date(2026, 3, 2), received_to=date(2026, 3, 1)))


# --- kept current ----------------------------------------------------------------------


def test_a_change_is_searchable_at_once_and_old_text_no_longer_matches(desk: Desk) -> None:
    cases = make_cases(desk)
    desk.add_note(cases["jose"], "Customer mentioned a Tamarind convertible")
    assert find(desk, "tamarind") == [cases["jose"]]
    desk.update_party(cases["jose"], "requester", PartyData(
        name="Joseph Northcott", email="jnorthcott@example.com", phone="(916) 555-0143",
        state="CA"))
    assert find(desk, "nunez") == []
    assert find(desk, "jose.nunez@example.com") == []
    assert find(desk, "northcott") == [cases["jose"]]
    assert find(desk, "jnorthcott@example.com") == [cases["jose"]]
    desk.update_case(cases["emily"], summary="Asked about the Lindenwood newsletter")
    assert find(desk, "lindenwood") == [cases["emily"]]
    desk.update_case(cases["emily"], summary="")
    assert find(desk, "lindenwood") == []


def test_a_message_moved_between_cases_moves_in_the_index(desk: Desk) -> None:
    cases = make_cases(desk)
    with desk.ctx.write() as session:
        case = session.scalars(select(Case).where(Case.ref == cases["ana"])).one()
        session.add(Message(case=case, direction="in", channel="email", subject="Gorseway",
                            created_at=desk.clock.now()))
    assert find(desk, "gorseway") == [cases["ana"]]
    with desk.ctx.write() as session:
        message = session.scalars(select(Message).where(Message.subject == "Gorseway")).one()
        message.case = session.scalars(select(Case).where(Case.ref == cases["bob"])).one()
    assert find(desk, "gorseway") == [cases["bob"]]


def test_a_rolled_back_change_leaves_the_index_as_it_was(desk: Desk) -> None:
    cases = make_cases(desk)
    with pytest.raises(RuntimeError), desk.ctx.write() as session:
        case = session.scalars(select(Case).where(Case.ref == cases["ana"])).one()
        case.summary = "Heliotrope"
        session.flush()
        raise RuntimeError("changed my mind")
    assert find(desk, "heliotrope") == []
    assert find(desk, "ruiz") == [cases["ana"]]


def test_a_deleted_case_leaves_the_index(desk: Desk) -> None:
    cases = make_cases(desk)
    with desk.ctx.write() as session:
        session.delete(session.scalars(select(Case).where(Case.ref == cases["ana"])).one())
    assert find(desk, "ruiz") == []
    with desk.db.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM search_documents")) == 3


def test_a_case_deleted_around_the_orm_leaves_the_fts_table_too(sqlite_desk: Desk) -> None:
    cases = make_cases(sqlite_desk)
    with sqlite_desk.db.engine.begin() as connection:  # the cascade fires the trigger
        for table in ("audit_events", "parties", "case_request_types"):
            connection.execute(text(f"DELETE FROM {table} WHERE case_id = "
                                    "(SELECT id FROM cases WHERE ref = :ref)"),
                               {"ref": cases["ana"]})
        connection.execute(delete(Case).where(Case.ref == cases["ana"]))
        hits = connection.execute(text(
            "SELECT rowid FROM search_fts WHERE search_fts MATCH 'ruiz'")).all()
    assert hits == []


def test_the_desk_indexes_cases_it_has_no_document_for_and_reindex_rebuilds(
        database_url: str, desk: Desk) -> None:
    cases = make_cases(desk)
    assert find(desk, "nunez") == [cases["jose"]]
    with desk.db.engine.begin() as connection:  # as a database from before search
        connection.execute(text("DELETE FROM search_documents"))
    assert find(desk, "nunez") == []  # this desk looked already
    fresh = Desk(database_url, "alice", clock=desk.clock)
    try:
        assert find(fresh, "nunez") == [cases["jose"]]
        with desk.db.engine.begin() as connection:
            connection.execute(text("UPDATE search_documents SET folded = 'stale' "))
        assert find(fresh, "nunez") == []
        assert fresh.rebuild_search_index() == 4
        assert find(fresh, "nunez") == [cases["jose"]]
        assert find(fresh, "stale") == []
    finally:
        fresh.close()


# --- snippets --------------------------------------------------------------------------


def test_snippets_mark_the_matched_words(desk: Desk) -> None:
    cases = make_cases(desk)
    long_note = ("Lorem ipsum dolor sit amet " * 20 + "the customer Núñez asked about "
                 "the Quetzal warranty " + "consectetur adipiscing elit " * 20)
    desk.add_note(cases["jose"], long_note)
    hit = desk.search(SearchQuery(text="nunez quetzal")).hits[0]
    snippet = hit.snippet
    assert hit.ref == cases["jose"] and snippet.source == "note"
    marked = [snippet.text[start:end] for start, end in snippet.spans]
    assert marked == ["Núñez", "Quetzal"]
    assert snippet.text.startswith("…") and snippet.text.endswith("…")
    assert len(snippet.text) <= 170
    phone = desk.search(SearchQuery(text="916.555.0143")).hits[0].snippet
    assert [phone.text[s:e] for s, e in phone.spans] == ["(916) 555-0143"]
    prefix = desk.search(SearchQuery(text="quetz")).hits[0].snippet
    assert [prefix.text[s:e] for s, e in prefix.spans] == ["Quetzal"]
    listed = desk.search(SearchQuery(jurisdiction="VA")).hits[0]
    assert listed.snippet.spans == () and listed.case.requester_name == "Emily Carter"
    assert listed.case.status_label and listed.case.due_on


# --- any input is a valid search --------------------------------------------------------


def _words_of(desk: Desk, ref: str) -> set[str]:
    with desk.db.engine.connect() as connection:
        folded = connection.scalar(text(
            "SELECT d.folded FROM search_documents d JOIN cases c ON c.id = d.case_id "
            "WHERE c.ref = :ref"), {"ref": ref})
    return set(str(folded).split())


def _check_hits(desk: Desk, typed: str) -> None:
    """Never an error; every hit holds every word searched (a prefix for the last)."""
    results = desk.search(SearchQuery(text=typed))
    parsed = parse_query(typed)
    if parsed.matches_nothing:
        assert results.total == 0 and not results.hits
    assert results.total >= len(results.hits)
    similar = dict(results.similar)  # a word that found nothing, and the names tried
    for hit in results.hits:
        words = _words_of(desk, hit.ref)
        for term in parsed.terms:
            for index, word in enumerate(term.words):
                last = term.prefix and index == len(term.words) - 1
                choices = (word, *similar.get(word, ())) if len(term.words) == 1 else (word,)
                if last:
                    assert any(w.startswith(c) for w in words for c in choices), \
                        (typed, hit.ref, word)
                else:
                    assert any(c in words for c in choices), (typed, hit.ref, word)


def test_hostile_input_never_raises_and_never_finds_what_does_not_match(desk: Desk) -> None:
    cases = make_cases(desk)
    desk.add_note(cases["jose"], "Dr. O'Brien said a+b, NEAR the AND/OR gate; 100% sure_")
    for typed in HOSTILE:
        _check_hits(desk, typed)
    assert find(desk, "Dr.") == [cases["jose"]]
    assert find(desk, "O'Brien") == [cases["jose"]]
    assert find(desk, "a+b") == [cases["jose"]]
    assert find(desk, "x" * 10_000) == []
    assert find(desk, "nu\x00nez") == []  # NUL separates: "nu" and "nez" are no words here
    assert find(desk, "😀 nunez") == [cases["jose"]]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.text(max_size=60))
def test_any_text_is_a_valid_search_on_sqlite(sqlite_desk: Desk, typed: str) -> None:
    if not sqlite_desk.search(SearchQuery(limit=1)).total:
        make_cases(sqlite_desk)
    _check_hits(sqlite_desk, typed)


@given(typed=st.text())
def test_any_text_parses_into_a_query_fts5_accepts(typed: str) -> None:
    parsed = parse_query(typed)
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 "
                       "remove_diacritics 2')")
    connection.execute("INSERT INTO t VALUES ('jose nunez 19165550143')")
    if parsed.terms:
        connection.execute("SELECT rowid FROM t WHERE t MATCH ?", (parsed.to_fts5(),)).fetchall()
    connection.close()


def test_the_parser_quotes_every_term() -> None:
    assert parse_query("Dr. O'Brien").to_fts5() == '"dr" AND "obrien" *'
    assert parse_query("Dr. O'Brien ").to_tsquery() == "'dr' & 'obrien'"
    assert parse_query("a+b").to_fts5() == '"a b" *'
    assert parse_query("a+b").to_tsquery() == "('a' <-> 'b':*)"
    assert parse_query("(916) 555-0143").to_fts5() == '"19165550143"'
    assert parse_query("jose.nunez@example.com ").to_fts5() == '"jose nunez example com"'
    assert parse_query("-").is_empty and parse_query('"').is_empty
    assert parse_query("AND OR NOT ").to_fts5() == '"and" AND "or" AND "not"'
    assert parse_query("x" * 500).matches_nothing
    assert fold_words("José Núñez-O'Brien") == ["jose", "nunez", "obrien"]


def test_a_hit_lists_the_request_types_in_the_order_they_were_taken(desk: Desk) -> None:
    types = ("opt_out_marketing", "access", "delete")
    ref = desk.create_case(NewCase(channel="email", request_types=types,
                                   requester=PartyData(name="Imogen Threlkeld",
                                                       email="it@example.org"))).case.ref
    desk.create_case(NewCase(channel="phone", request_types=("correct",),
                             requester=PartyData(name="Imogen Arbuckle")))
    hits = {hit.ref: hit.case for hit in desk.search(SearchQuery(text="Imogen ")).hits}
    listed = {row.ref: row for row in desk.list_cases(CaseQuery(view="all")).rows}
    assert hits[ref].request_types == listed[ref].request_types == types
    other = next(r for r in hits if r != ref)
    assert hits[other].request_types == listed[other].request_types == ("correct",)
    filtered = desk.search(SearchQuery(text="Threlkeld", channel="email")).hits
    assert [hit.case.request_types for hit in filtered] == [types]


# --- a misspelled name ------------------------------------------------------------------


def test_a_misspelled_name_finds_its_case_and_says_which_names_it_searched(
        desk: Desk) -> None:
    cases = make_cases(desk)
    for typed, who in (("Nunes", "jose"), ("nunes ", "jose"), ("Jsoe Nunez", "jose"),
                       ("José Nunes", "jose"), ("Carrter", "emily"), ("Cartre ", "emily"),
                       ("Emilly Carter", "emily"), ("Tylre", "emily"), ("Milller", "bob"),
                       ("Mller ", "bob")):
        found = desk.search(SearchQuery(text=typed))
        assert refs(found) == [cases[who]], typed
        assert found.similar, typed  # the window and the command say so
    results = desk.search(SearchQuery(text="Carrter "))
    assert results.similar == (("carrter", ("carter",)),)
    # The misspelled name within the filters only, and with a word that does match.
    assert find(desk, "Carrter", channel="email") == []
    assert find(desk, "Nunes Sacramento") == [cases["jose"]]


def test_a_name_found_as_typed_is_not_widened_and_short_words_are_left_alone(
        desk: Desk) -> None:
    cases = make_cases(desk)
    desk.create_case(NewCase(channel="email", request_types=("access",),
                             requester=PartyData(name="Carla Carver", email="cc@example.org"),
                             received_on=date(2026, 3, 4)))
    exact = desk.search(SearchQuery(text="carter "))
    assert refs(exact) == [cases["emily"]] and exact.similar == ()  # not Carver too
    assert find(desk, "Bop ") == []  # three letters: too short to guess
    assert find(desk, "Ann ") == []
    assert find(desk, "Qwxyz ") == []  # nothing close: nothing found, no error
    assert desk.search(SearchQuery(text="Qwxyz ")).similar == ()


def test_a_relative_period_moves_with_the_day_it_runs(staff: Staff) -> None:
    desk = staff.alice
    cases = make_cases(desk)  # received 2025-11-03 (Bob) to 2026-03-03 (Ana); today 03-04
    week = SearchQuery(received_within="7_days")
    assert set(refs(desk.search(week))) == {cases["ana"], cases["jose"]}
    saved = desk.save_search("This week", week)
    assert SearchQuery.from_json(saved.query.to_json()).received_within == "7_days"
    desk.set_clock(Clock(fixed=FIXED_NOW + timedelta(days=5)))  # 03-09: 03-03 to 03-09
    assert refs(desk.search(desk.list_saved_searches()[0].query)) == [cases["ana"]]
    assert refs(desk.search(SearchQuery(received_within="last_year"))) == [cases["bob"]]
    with pytest.raises(InvalidInput, match="Unknown period"):
        desk.search(SearchQuery(received_within="fortnight"))


def test_a_known_name_is_never_searched_as_another_person(desk: Desk) -> None:
    cases = make_cases(desk)  # Emily Carter lives in Virginia
    desk.create_case(NewCase(channel="email", request_types=("access",), requester=PartyData(
        name="Carla Carver", email="cc@example.org", postal_address="1 K Street, Sacramento",
        postal_code="95814", state="CA"), received_on=date(2026, 3, 4)))
    for typed, filters in (("Carter Sacramento ", {}), ("Carter 95814 ", {}),
                           ("Carter ", {"status": "withdrawn"}), ("Carter", {"channel": "web"})):
        results = desk.search(SearchQuery(text=typed, **filters))  # type: ignore[arg-type]
        assert refs(results) == [] and results.similar == (), (typed, filters)
    # A word that is in a message but no name, and a filter that leaves nothing: the same.
    desk.add_note(cases["bob"], "The dealer in Fresno called.")
    assert find(desk, "Fresno ", channel="email") == []
    # Typed on: the last word a prefix that begins words elsewhere, yet no name; the words
    # together find nothing, so the close names are tried.
    desk.add_note(cases["ana"], "She returned a printer cartridge.")
    assert find(desk, "Emily Cartr") == [cases["emily"]]
    misspelled = desk.search(SearchQuery(text="Cartr ", channel="postal"))
    assert refs(misspelled) == [cases["emily"]]  # misspelled: searched as the close name
    assert misspelled.similar == (("cartr", ("carter",)),)


def test_the_names_follow_the_cases(desk: Desk) -> None:
    cases = make_cases(desk)
    assert find(desk, "Ruis ") == [cases["ana"]]
    desk.update_party(cases["ana"], "requester", PartyData(
        name="Ana Delgado", email="ana@example.org", state="CA"))
    assert find(desk, "Ruis ") == []  # her old name is no longer a name of the desk
    assert find(desk, "Delgato ") == [cases["ana"]]


@given(typed=st.text(max_size=40),
       names=st.lists(st.text(alphabet="abcdeñé", min_size=2, max_size=9), max_size=8))
def test_a_widened_query_is_one_both_backends_accept(typed: str, names: list[str]) -> None:
    vocabulary = tuple(dict.fromkeys(w for name in names for w in fold_words(name)))
    widened = widen(parse_query(typed), vocabulary) or parse_query(typed)
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 "
                       "remove_diacritics 2')")
    connection.execute("INSERT INTO t VALUES ('abcd abcde')")
    if widened.terms:
        connection.execute("SELECT rowid FROM t WHERE t MATCH ?",
                           (widened.to_fts5(),)).fetchall()
        assert widened.to_tsquery().count("(") == widened.to_tsquery().count(")")
    connection.close()


def test_widening_keeps_phrases_numbers_and_exact_words() -> None:
    vocabulary = ("smith", "smyth", "nunez", "jose")
    widened = widen(parse_query("Smtih 555-0143 \"jose nunez\" "), vocabulary)
    assert widened is not None
    assert widened.to_fts5() == '("smtih" OR "smith") AND "555 0143" AND "jose nunez"'
    assert widened.to_tsquery() == ("('smtih' | 'smith') & ('555' <-> '0143') & "
                                    "('jose' <-> 'nunez')")
    typing = widen(parse_query("Smitj"), vocabulary)
    assert typing is not None and typing.to_fts5() == '("smitj" * OR "smith" *)'
    assert widen(parse_query("zzzz"), vocabulary) is None


# --- saved searches and the command line ----------------------------------------------


def test_saved_searches_are_kept_per_user(staff: Staff) -> None:
    query = SearchQuery(text="nunez", channel="email", overdue=True,
                        received_from=date(2026, 1, 1), limit=7)
    saved = staff.alice.save_search("  Overdue  email ", query)
    assert saved.name == "Overdue email"
    assert saved.query == SearchQuery(text="nunez", channel="email", overdue=True,
                                      received_from=date(2026, 1, 1))  # not the page
    staff.alice.save_search("Children", SearchQuery(child=True))
    staff.alice.save_search("Overdue email", SearchQuery(overdue=True))  # replaced
    assert [(s.name, s.query) for s in staff.alice.list_saved_searches()] == [
        ("Children", SearchQuery(child=True)), ("Overdue email", SearchQuery(overdue=True))]
    assert staff.carol.list_saved_searches() == ()
    staff.alice.delete_saved_search("Children")
    assert [s.name for s in staff.alice.list_saved_searches()] == ["Overdue email"]
    with pytest.raises(NotFound):
        staff.carol.delete_saved_search("Overdue email")
    with pytest.raises(InvalidInput):
        staff.alice.save_search("   ", query)
    with pytest.raises(InvalidInput, match="Unknown channel"):
        staff.alice.save_search("bad", SearchQuery(channel="pigeon"))


def test_the_search_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    import json

    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    base = ["--db", url, "--user", "alice"]
    assert main([*base, "init"]) == 0
    assert main([*base, "cases", "new", "--type", "delete", "--name", "José Núñez",
                 "--phone", "916-555-0143", "--state", "CA"]) == 0
    capsys.readouterr()
    assert main([*base, "search", "916.555.0143", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["total"] == 1
    hit = found["hits"][0]
    assert (hit["ref"], hit["requester_name"]) == ("PR-2026-00001", "José Núñez")
    start, end = hit["snippet"]["spans"][0]
    assert hit["snippet"]["text"][start:end] == "916-555-0143"
    assert main([*base, "search", "nunez", "--type", "delete", "--jurisdiction", "CA"]) == 0
    out = capsys.readouterr().out
    assert "PR-2026-00001" in out and "[Núñez]" in out and "1 case(s)" in out
    assert main([*base, "search", "NEAR(", "--channel", "phone"]) == 0
    assert "0 case(s)" in capsys.readouterr().out
    assert main([*base, "search", "--reindex"]) == 0
    assert "1 case(s)" in capsys.readouterr().out
    assert main([*base, "search", "x", "--status", "bogus"]) == 2
    assert "Unknown status" in capsys.readouterr().err


def test_the_total_is_the_same_on_every_page(desk: Desk) -> None:
    make_cases(desk)
    for offset, shown in ((0, 3), (3, 1), (10, 0)):
        results = desk.search(SearchQuery(limit=3, offset=offset))
        assert (results.total, len(results.hits)) == (4, shown), offset
        texts = desk.search(SearchQuery(text="example ", limit=1, offset=offset))
        assert texts.total == 3, offset  # José, Emily and Ana write from example.* domains
        # With a filter too, past the last page included (counted apart there).
        narrowed = desk.search(SearchQuery(text="example ", status="received", limit=1,
                                           offset=offset))
        assert narrowed.total == 3, offset


def test_a_word_in_too_many_cases_lists_the_newest_and_says_more(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past COUNT_LIMIT matches a word is not ranked (ranking would read every match):
    the newest cases come first and the total says "more than"; filters that narrow it
    to few enough give the exact count again."""
    import caseapp.services.search as search_service

    cases = make_cases(desk)  # José, Emily and Ana write from example.* domains
    monkeypatch.setattr(search_service, "COUNT_LIMIT", 2)
    many = desk.search(SearchQuery(text="example"))
    newest_first = [cases["ana"], cases["emily"], cases["jose"]]  # created last, first
    assert (refs(many), many.total, many.more) == (newest_first, 2, True)
    assert refs(desk.search(SearchQuery(text="example", limit=1, offset=1))) == [
        cases["emily"]]
    narrowed = desk.search(SearchQuery(text="example", jurisdiction="CA"))
    assert (set(refs(narrowed)), narrowed.total, narrowed.more) == (
        {cases["jose"], cases["ana"]}, 2, False)
    page = desk.search(SearchQuery(text="example", channel="postal", limit=1))
    assert (refs(page), page.total, page.more) == ([cases["emily"]], 1, False)
    still_many = desk.search(SearchQuery(text="example", received_from=date(2026, 1, 1)))
    assert (still_many.total, still_many.more) == (2, True)
    monkeypatch.setattr(search_service, "COUNT_LIMIT", 3)
    exact = desk.search(SearchQuery(text="example"))
    assert (exact.total, exact.more) == (3, False)


def test_the_search_command_says_when_a_word_is_too_common(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import caseapp.services.search as search_service

    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    base = ["--db", f"sqlite:///{tmp_path / 'cli.sqlite3'}", "--user", "alice"]
    assert main([*base, "init"]) == 0
    for name in ("Ann Lee", "Bo Diaz", "Cy Park"):
        assert main([*base, "cases", "new", "--type", "delete", "--name", name,
                     "--email", f"{name.split()[0].lower()}@example.com"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(search_service, "COUNT_LIMIT", 2)
    assert main([*base, "search", "example"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == ("more than 2 cases, the newest 3 shown (the words are too common "
                       "to rank: add a word or a filter)")
    assert out[0].split()[0] == "PR-2026-00003"  # the newest first
    assert main([*base, "search", "example", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert (found["total"], found["more"], len(found["hits"])) == (2, True, 3)


# --- the snippet's quick path for plain text --------------------------------------------

_ASCII_TEXT = st.text(alphabet="abcXYZ019 '`_-.,@()\n", max_size=80)
# Plain words beside accented ones: each plain word takes the quick path in any text.
_MIXED_TEXT = st.text(alphabet="abcXYZ019 '`_-.,@()\nñÉüß’ﬁ\u0301", max_size=80)


def _matches_word_by_word(section: str, words: frozenset[str], prefixes: frozenset[str]
                          ) -> list[tuple[int, int, str]]:
    """What the snippet marks, every word of the text folded on its own (the rule the
    quick path for plain text must keep): a search word, or the start of the last one."""
    from caseapp.search.text import WORD

    found = []
    for match in WORD.finditer(section):
        for word in fold_words(match.group(0)):
            hit = word if word in words else next(
                (prefix for prefix in prefixes if word.startswith(prefix)), None)
            if hit is not None:
                found.append((match.start(), match.end(), hit))
                break
    return found


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(section=_ASCII_TEXT | _MIXED_TEXT, picks=st.lists(st.integers(0, 20), max_size=3))
def test_plain_text_marks_the_same_words_as_folding_each_word(section: str,
                                                              picks: list[int]) -> None:
    from caseapp.search.snippet import _matches

    folded = fold_words(section)
    words = {folded[i % len(folded)] for i in picks} if folded else set()
    if not words or any(not w.isalpha() for w in words):
        return  # digits bring phone numbers in: a rule of its own
    query = parse_query(" ".join(sorted(words)))
    assume(query.words | query.prefixes)  # a lone letter may be no search word
    expected = sorted(_matches_word_by_word(section, query.words, query.prefixes))
    if section.isascii():
        assert expected  # the words were taken from the text
    else:  # marks between letters split words the whole text's folding joins
        assume(expected)
    assert _matches(section, query) == expected


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(section=_ASCII_TEXT | _MIXED_TEXT, picks=st.lists(st.integers(0, 20), max_size=3),
       typed_on=st.booleans())
def test_a_section_is_passed_over_only_when_it_holds_no_searched_word(
        section: str, picks: list[int], typed_on: bool) -> None:
    """Sections are read word by word only when the quick look (the words as substrings
    of the text folded whole) finds them: it may be wrong the other way, never this way."""
    from caseapp.search.snippet import _matches, _may_match

    folded = fold_words(section)
    words = sorted({folded[i % len(folded)] for i in picks}) if folded else []
    text_ = " ".join(word[:max(1, len(word) - 1)] if typed_on else word for word in words)
    query = parse_query(text_ + ("" if typed_on else " "))
    assume(query.terms)
    if _matches(section, query):
        assert _may_match(section, query)


@given(st.text(max_size=60))
def test_folding_plain_text_once_is_folding_it_for_good(text_: str) -> None:
    from caseapp.records.normalize import fold

    once = fold(text_)
    assert fold(once) == once
    if text_.isascii():
        assert once == " ".join(once.split()) and once == once.lower()
