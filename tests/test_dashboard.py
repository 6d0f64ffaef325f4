"""The dashboard (issue 6): its tiles, counts and weekly figures on a desk of known cases
(both backends) and on the demo desk, each checked against figures computed here from the
raw rows; every tile's count is what its search finds; the search filters behind the
tiles (due today / this week, waiting on verification or downstream answers, mine)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from caseapp.cli import main as cli_main
from caseapp.clock import Clock
from caseapp.db.models import Case, CaseRequestType, DownstreamNotice, User
from caseapp.errors import InvalidInput
from caseapp.services import Desk
from caseapp.services.dashboard import Dashboard
from caseapp.services.dto import NewCase, PartyData, StepRequest
from caseapp.services.search import SearchQuery
from tests.conftest import FIXED_NOW, Staff, make_desk

DESK_TZ = ZoneInfo("America/New_York")
TODAY = date(2026, 3, 4)  # FIXED_NOW at the desk, a Wednesday: this week began on 2 March
# The workflow's states, written out here rather than read from the rules under test.
OPEN = {"received", "acknowledged", "verifying", "info_requested", "in_progress", "review",
        "response_sent", "on_hold"}
AWAITING_RESPONSE = OPEN - {"response_sent"}  # the response clock still runs
CLOSED = {"closed", "denied", "duplicate", "withdrawn", "closed_unverified"}
WAITING_ON_IDENTITY = {"verifying", "info_requested"}
TILE_KEYS = ["due_today", "due_week", "overdue", "verification", "downstream", "mine"]


def _at(staff: Staff, moment: datetime) -> None:
    staff.set_clock(Clock(fixed=moment))


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 17)  # 12:00 at the desk (EST)


def _new(staff: Staff, name: str, received: date, types: tuple[str, ...] = ("delete",),
         channel: str = "email", assignee: str | None = None) -> str:
    _at(staff, _noon(received))
    return staff.carol.create_case(NewCase(
        channel=channel, request_types=types, jurisdiction="CA", received_on=received,
        assignee=assignee, requester=PartyData(
            name=name, email=f"{name.split()[0].lower()}@example.com", state="CA"),
    )).case.ref


def _steps(staff: Staff, ref: str, moment: datetime, *steps: str, who: Desk | None = None,
           reason: str = "Given by the requester.", other: str = "") -> None:
    """Steps taken one after the other, from ``moment`` on, a minute apart."""
    for number, step in enumerate(steps):
        _at(staff, moment + timedelta(minutes=number))
        (who or staff.carol).take_step(ref, StepRequest(
            step=step, reason=reason, method="email_match", other_case=other))


def _notice(staff: Staff, ref: str, *, sent: bool = True, answered: bool = False) -> None:
    """A downstream notice (as a deletion leaves one), sent and answered through the
    services."""
    with staff.alice.db.session() as session:
        case_id = session.scalar(select(Case.id).where(Case.ref == ref))
        assert case_id is not None
        notice = DownstreamNotice(
            case_id=case_id, recipient_key="dealer-17", recipient_name="Sunset Motors",
            recipient_kind="dealer", subject="Deletion request", body="Please delete.",
            due_on=TODAY + timedelta(days=10), created_at=FIXED_NOW)
        session.add(notice)
        session.commit()
        notice_id = notice.id
    if sent:
        staff.carol.mark_notice_sent(ref, notice_id, "email")
    if answered:
        staff.carol.record_notice_answer(ref, notice_id, acknowledged=True)


@pytest.fixture
def known(staff: Staff) -> Iterator[dict[str, str]]:
    """Cases on either side of every edge a tile or a week has (see each comment)."""
    refs: dict[str, str] = {}
    # Due today (received 45 days ago), alice's: due today, due this week, mine.
    refs["today"] = _new(staff, "Tia Today", date(2026, 1, 18), assignee="alice")
    # Due on the 6th day after today: the last day of "this week".
    refs["week_end"] = _new(staff, "Wes End", date(2026, 1, 24), ("access", "delete"),
                            channel="postal")
    _steps(staff, refs["week_end"], _noon(date(2026, 1, 26)), "acknowledge")
    # Due the day after: in no due tile.
    refs["week_after"] = _new(staff, "Ada After", date(2026, 1, 25), ("correct",),
                              channel="phone")
    # Due yesterday: overdue, carol's.
    refs["overdue"] = _new(staff, "Owen Late", date(2026, 1, 17), assignee="carol")
    _steps(staff, refs["overdue"], _noon(date(2026, 1, 19)), "acknowledge")
    # Due today but answered: its clock stopped, in no due tile and not overdue.
    refs["answered"] = _new(staff, "Ann Sent", date(2026, 1, 18), ("access",), channel="web")
    _steps(staff, refs["answered"], _noon(date(2026, 2, 2)), "acknowledge",
           "start_verification", "verify", "submit_for_review")
    _steps(staff, refs["answered"], _noon(date(2026, 2, 3)), "approve_and_send",
           who=staff.bob)
    # Waiting on identity: verifying (alice's) and information requested.
    refs["verifying"] = _new(staff, "Vic Verify", date(2026, 3, 2), assignee="alice")
    _steps(staff, refs["verifying"], _noon(date(2026, 3, 2)), "acknowledge",
           "start_verification")
    refs["info"] = _new(staff, "Ines Info", date(2026, 2, 20), ("access",))
    _steps(staff, refs["info"], _noon(date(2026, 2, 21)), "acknowledge",
           "start_verification", "request_information")
    # On hold while verifying: not waiting on the requester's identity.
    refs["held"] = _new(staff, "Hal Hold", date(2026, 2, 25), ("access",))
    _steps(staff, refs["held"], _noon(date(2026, 2, 26)), "acknowledge",
           "start_verification", "hold")
    # Downstream notices: sent and unanswered (counts); answered; not sent yet; sent on a
    # case withdrawn since (at 22:00 on Sunday 1 March at the desk: last week).
    for key, name in (("notice_sent", "Nia Sent"), ("notice_answered", "Ned Answered"),
                      ("notice_unsent", "Una Unsent"), ("notice_closed", "Cleo Closed")):
        refs[key] = _new(staff, name, date(2026, 2, 10), channel="in_person")
        _steps(staff, refs[key], _noon(date(2026, 2, 11)), "acknowledge",
               "start_verification", "verify")
    _notice(staff, refs["notice_sent"])
    _notice(staff, refs["notice_answered"], answered=True)
    _notice(staff, refs["notice_unsent"], sent=False)
    _notice(staff, refs["notice_closed"])
    _steps(staff, refs["notice_closed"], datetime(2026, 3, 2, 3, 0), "withdraw")
    # Received on the first day of the twelve weeks shown, denied this week.
    refs["denied"] = _new(staff, "Dee First", date(2025, 12, 15), ("opt_out_marketing",))
    _steps(staff, refs["denied"], datetime(2026, 3, 2, 15, 0), "deny")
    # Received the day before the twelve weeks; withdrawn at the very first moment of
    # them (midnight at the desk on Monday 15 December).
    refs["before"] = _new(staff, "Bea Before", date(2025, 12, 14), ("access",))
    _steps(staff, refs["before"], datetime(2025, 12, 15, 5, 0), "withdraw")
    # A duplicate (closed on 23 February), and a closed case of alice's (not "mine").
    refs["duplicate"] = _new(staff, "Tia Today", date(2026, 2, 22))
    _steps(staff, refs["duplicate"], _noon(date(2026, 2, 23)), "mark_duplicate",
           other=refs["today"])
    refs["mine_closed"] = _new(staff, "Mo Mine", date(2026, 2, 1), assignee="alice")
    _steps(staff, refs["mine_closed"], _noon(date(2026, 2, 5)), "withdraw")
    _at(staff, FIXED_NOW)
    due = {key: staff.alice.get_case(refs[key]).deadlines.respond_by for key in
           ("today", "week_end", "week_after", "overdue", "answered")}
    assert due == {"today": TODAY, "week_end": date(2026, 3, 10),
                   "week_after": date(2026, 3, 11), "overdue": date(2026, 3, 3),
                   "answered": TODAY}, "the set-up's deadlines moved: fix the set-up"
    yield refs


# --- figures computed here, from the raw rows ---------------------------------------------


@dataclass(frozen=True)
class Raw:
    ref: str
    status: str
    channel: str
    received_on: date
    due_on: date
    closed_at: datetime | None
    assignee: str | None
    types: frozenset[str]
    notice_sent: bool  # a downstream notice sent and not answered


def _raw(desk: Desk) -> list[Raw]:
    with desk.db.session() as session:
        types: dict[int, set[str]] = defaultdict(set)
        for case_id, request_type in session.execute(
                select(CaseRequestType.case_id, CaseRequestType.request_type)):
            types[case_id].add(request_type)
        waiting = set(session.scalars(select(DownstreamNotice.case_id).where(
            DownstreamNotice.status == "sent")))
        rows = session.execute(
            select(Case.id, Case.ref, Case.status, Case.channel, Case.received_on,
                   Case.due_on, Case.closed_at, User.username)
            .outerjoin(User, User.id == Case.assignee_id)).all()
    return [Raw(ref, status, channel, received, due, closed, assignee,
                frozenset(types[case_id]), case_id in waiting)
            for case_id, ref, status, channel, received, due, closed, assignee in rows]


def _expected_tiles(raw: list[Raw], today: date, username: str) -> dict[str, set[str]]:
    running = [r for r in raw if r.status in AWAITING_RESPONSE]
    return {
        "due_today": {r.ref for r in running if r.due_on == today},
        "due_week": {r.ref for r in running if today <= r.due_on <= today + timedelta(6)},
        "overdue": {r.ref for r in running if r.due_on < today},
        "verification": {r.ref for r in raw if r.status in WAITING_ON_IDENTITY},
        "downstream": {r.ref for r in raw if r.status in OPEN and r.notice_sent},
        "mine": {r.ref for r in raw if r.status in OPEN and r.assignee == username},
    }


def _local_day(moment: datetime) -> date:
    return moment.replace(tzinfo=UTC).astimezone(DESK_TZ).date()


def _expected_weeks(raw: list[Raw], today: date, weeks: int = 12
                    ) -> list[tuple[date, int, int]]:
    monday = today - timedelta(days=today.weekday())
    starts = [monday - timedelta(weeks=weeks - 1 - n) for n in range(weeks)]
    received: Counter[date] = Counter()
    closed: Counter[date] = Counter()
    for r in raw:
        received[r.received_on - timedelta(days=r.received_on.weekday())] += 1
        if r.status in CLOSED:
            assert r.closed_at is not None, r.ref
            day = _local_day(r.closed_at)
            closed[day - timedelta(days=day.weekday())] += 1
    return [(start, received[start], closed[start]) for start in starts]


def _searched(desk: Desk, query: SearchQuery) -> tuple[int, set[str]]:
    results = desk.search(replace(query, limit=500))
    return results.total, {hit.ref for hit in results.hits}


def _check_against_raw(desk: Desk, board: Dashboard) -> None:
    """Every figure of ``board`` as computed here; every tile's search lists its cases."""
    raw = _raw(desk)
    today = desk.clock.today()
    assert board.today == today
    expected = _expected_tiles(raw, today, desk.username)
    assert [tile.key for tile in board.tiles] == TILE_KEYS
    for tile in board.tiles:
        assert tile.count == len(expected[tile.key]), tile.key
        assert _searched(desk, tile.query) == (tile.count, expected[tile.key]), tile.key
    open_cases = [r for r in raw if r.status in OPEN]
    assert {c.key: c.count for c in board.by_status if c.count} == dict(
        Counter(r.status for r in open_cases))
    assert {c.key: c.count for c in board.by_type if c.count} == dict(
        Counter(t for r in open_cases for t in r.types))
    assert {c.key: c.count for c in board.by_channel if c.count} == dict(
        Counter(r.channel for r in open_cases))
    assert board.open_cases == len(open_cases)
    for count in board.by_status:  # a status opens exactly its cases
        assert count.query is not None
        assert _searched(desk, count.query) == (
            count.count, {r.ref for r in open_cases if r.status == count.key})
    assert [(w.start, w.received, w.closed) for w in board.weeks] == _expected_weeks(
        raw, today, len(board.weeks))


# --- a known desk ------------------------------------------------------------------------


def test_tiles_on_a_known_desk(staff: Staff, known: dict[str, str]) -> None:
    board = staff.alice.dashboard()
    listed = {tile.key: _searched(staff.alice, tile.query)[1] for tile in board.tiles}
    names = {ref: key for key, ref in known.items()}
    assert {key: {names[ref] for ref in refs} for key, refs in listed.items()} == {
        "due_today": {"today"},
        "due_week": {"today", "week_end"},
        "overdue": {"overdue"},
        "verification": {"verifying", "info"},
        "downstream": {"notice_sent"},
        "mine": {"today", "verifying"},
    }
    assert {tile.key: tile.count for tile in board.tiles} == {
        "due_today": 1, "due_week": 2, "overdue": 1, "verification": 2, "downstream": 1,
        "mine": 2}
    assert board.tile("overdue").label == "Overdue"
    assert all(tile.explanation for tile in board.tiles)
    _check_against_raw(staff.alice, board)
    # "My cases" is whoever looks.
    carol = staff.carol.dashboard()
    assert carol.tile("mine").count == 1
    assert _searched(staff.carol, carol.tile("mine").query)[1] == {known["overdue"]}
    _check_against_raw(staff.carol, carol)


def test_counts_of_open_cases_on_a_known_desk(staff: Staff, known: dict[str, str]) -> None:
    board = staff.alice.dashboard()
    by_status = {c.key: (c.label, c.count) for c in board.by_status}
    assert list(by_status) == ["received", "acknowledged", "verifying", "info_requested",
                               "in_progress", "review", "response_sent", "on_hold"]
    assert by_status == {
        "received": ("Received", 2),  # today, week_after
        "acknowledged": ("Acknowledged", 2),  # week_end, overdue
        "verifying": ("Identity verification", 1),
        "info_requested": ("Information requested", 1),
        "in_progress": ("In progress", 3),  # the three notices of open cases
        "review": ("Review / approval", 0),
        "response_sent": ("Response sent", 1),
        "on_hold": ("On hold", 1),
    }
    assert board.open_cases == 11
    types = {c.key: c.count for c in board.by_type}
    assert types == {"access": 4, "delete": 7, "correct": 1, "opt_out_marketing": 0,
                     "opt_out_sale_share": 0, "limit_sensitive": 0, "appeal": 0, "other": 0}
    assert next(c.label for c in board.by_type if c.key == "access") == (
        "Access / right to know")
    assert {c.key: c.count for c in board.by_channel} == {
        "email": 5, "postal": 1, "phone": 1, "web": 1, "in_person": 3}
    assert all(c.query is None for c in board.by_type + board.by_channel)


def test_weeks_received_and_closed_on_a_known_desk(staff: Staff,
                                                   known: dict[str, str]) -> None:
    board = staff.alice.dashboard()
    assert len(board.weeks) == 12
    assert board.weeks[0].start == date(2025, 12, 15)
    assert board.weeks[-1].start == date(2026, 3, 2) and board.weeks[-1].end == date(2026, 3, 8)
    assert all(w.start.weekday() == 0 for w in board.weeks)
    figures = {w.start: (w.received, w.closed) for w in board.weeks}
    # This week: verifying received; denied closed. The one withdrawn on Sunday night at
    # the desk (Monday 03:00 UTC) closed last week, beside the duplicate.
    assert figures[date(2026, 3, 2)] == (1, 1)
    assert figures[date(2026, 2, 23)] == (1, 2)  # held received; notice_closed, duplicate
    # The first week: denied was received on its Monday; before was withdrawn at its
    # first moment but received the day before, outside the weeks shown.
    assert figures[date(2025, 12, 15)] == (1, 1)
    assert sum(w.received for w in board.weeks) == len(known) - 1  # all but "before"
    assert sum(w.closed for w in board.weeks) == 5
    _check_against_raw(staff.alice, board)
    short = staff.alice.dashboard(weeks=1)
    assert [(w.start, w.received, w.closed) for w in short.weeks] == [
        (date(2026, 3, 2), 1, 1)]
    with pytest.raises(InvalidInput, match="weeks"):
        staff.alice.dashboard(weeks=0)


def test_a_change_shows_on_the_next_dashboard(staff: Staff, known: dict[str, str]) -> None:
    desk = staff.alice
    assert desk.dashboard().tile("due_today").count == 1
    desk.take_step(known["today"], StepRequest("withdraw", reason="By phone."))
    board = desk.dashboard()
    assert (board.tile("due_today").count, board.tile("mine").count) == (0, 1)
    assert board.weeks[-1].closed == 2
    _check_against_raw(desk, board)


def test_the_desk_day_turns_at_midnight_at_the_desk(staff: Staff,
                                                     known: dict[str, str]) -> None:
    """04:30 UTC on 5 March is still the 4th at the desk; 05:30 UTC is the 5th."""
    desk = staff.alice
    _at(staff, datetime(2026, 3, 5, 4, 30))
    late = desk.dashboard()
    assert (late.tile("due_today").count, late.tile("overdue").count) == (1, 1)
    _at(staff, datetime(2026, 3, 5, 5, 30))
    next_day = desk.dashboard()
    assert next_day.today == date(2026, 3, 5)
    assert (next_day.tile("due_today").count, next_day.tile("overdue").count) == (0, 2)
    assert _searched(desk, next_day.tile("due_week").query)[1] == {
        known["week_end"], known["week_after"]}
    _check_against_raw(desk, next_day)
    # The next Monday starts a new week: the twelve move on by one.
    _at(staff, datetime(2026, 3, 9, 5, 0))
    assert desk.dashboard().weeks[-1].start == date(2026, 3, 9)
    assert desk.dashboard().weeks[0].start == date(2025, 12, 22)


def test_an_empty_desk(desk: Desk) -> None:
    board = desk.dashboard()
    assert [tile.count for tile in board.tiles] == [0] * 6
    assert board.open_cases == 0
    assert len(board.by_status) == 8 and len(board.by_channel) == 5
    assert [(w.received, w.closed) for w in board.weeks] == [(0, 0)] * 12


def test_the_dashboard_is_a_few_queries_whatever_the_number_of_cases(
        staff: Staff, known: dict[str, str]) -> None:
    statements: list[str] = []
    engine = staff.alice.db.engine

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        staff.alice.dashboard()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) <= 6, queries


# --- the search filters behind the tiles ----------------------------------------------------


def _found(desk: Desk, **filters: object) -> set[str]:
    return _searched(desk, SearchQuery(**filters))[1]  # type: ignore[arg-type]


def test_search_filters_due_waiting_and_mine(staff: Staff, known: dict[str, str]) -> None:
    desk = staff.alice
    assert _found(desk, due="today") == {known["today"]}
    assert _found(desk, due="week") == {known["today"], known["week_end"]}
    assert _found(desk, waiting_on="verification") == {known["verifying"], known["info"]}
    assert _found(desk, waiting_on="downstream") == {known["notice_sent"]}
    assert _found(desk, mine=True) == {known["today"], known["verifying"]}
    assert _found(staff.bob, mine=True) == set()
    # With the other filters and the text.
    assert _found(desk, due="week", channel="postal") == {known["week_end"]}
    assert _found(desk, mine=True, waiting_on="verification") == {known["verifying"]}
    assert _found(desk, text="Tia", due="today") == {known["today"]}
    # Yesterday, "this week" started a day earlier and ended on the 9th.
    _at(staff, datetime(2026, 3, 3, 17))
    assert _found(desk, due="today") == {known["overdue"]}
    assert _found(desk, due="week") == {known["overdue"], known["today"]}
    for bad in ({"due": "month"}, {"waiting_on": "payment"}):
        with pytest.raises(InvalidInput, match="Unknown"):
            desk.search(SearchQuery(**bad))  # type: ignore[arg-type]


def test_saved_search_keeps_the_new_filters(staff: Staff, known: dict[str, str]) -> None:
    desk = staff.alice
    saved = desk.save_search("My due this week", SearchQuery(due="week", mine=True))
    assert saved.query == SearchQuery(due="week", mine=True)
    (listed,) = desk.list_saved_searches()
    assert _searched(desk, listed.query)[1] == {known["today"]}


# --- the demo desk -------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql",
                                                                marks=pytest.mark.postgres)])
def demo_desk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Desk]:
    """``caseapp init --demo`` as staff get it (fewer cases, the same mix)."""
    from caseapp.demo import load_demo
    from tests.conftest import _fresh_postgres_database

    folder: Path = tmp_path_factory.mktemp("demo_dashboard")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'cases.sqlite3'}"
    else:
        url = _fresh_postgres_database(request.getfixturevalue("postgres_server").url)
    desk = make_desk(url, "alice", Clock(fixed=FIXED_NOW), folder / "backups")
    load_demo(desk, cases=150, today=TODAY)
    yield desk
    desk.close()


@pytest.mark.parametrize("days_later", [0, 2, 9])
def test_the_demo_desk_matches_its_raw_rows(demo_desk: Desk, days_later: int) -> None:
    """As of the demo's day and a few days on (cases fall due, weeks turn), for the first
    user and for one of the demo staff."""
    clock = Clock(fixed=FIXED_NOW + timedelta(days=days_later))
    maria = demo_desk.as_user("maria.lopez")
    try:
        for desk in (demo_desk, maria):
            desk.set_clock(clock)
            board = desk.dashboard()
            _check_against_raw(desk, board)
            assert board.open_cases > 0 and board.tile("mine").count > 0
            assert sum(w.received for w in board.weeks) > 0
            assert sum(w.closed for w in board.weeks) > 0
    finally:
        demo_desk.set_clock(Clock(fixed=FIXED_NOW))


def test_the_dashboard_command_gives_the_tiles_and_the_searches_that_list_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    assert cli_main(["--db", url, "init", "--demo", "--cases", "40"]) == 0
    capsys.readouterr()
    assert cli_main(["--db", url, "dashboard", "--json", "--weeks", "4"]) == 0
    board = json.loads(capsys.readouterr().out)
    assert len(board["weeks"]) == 4 and len(board["tiles"]) == 6
    assert board["open_cases"] == sum(s["count"] for s in board["by_status"])
    for tile in board["tiles"]:
        assert cli_main(["--db", url, "search", *tile["search"].split(), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["total"] == tile["count"], tile["key"]
    assert cli_main(["--db", url, "dashboard"]) == 0
    out = capsys.readouterr().out
    assert "caseapp search --overdue" in out and "Open cases by channel:" in out
