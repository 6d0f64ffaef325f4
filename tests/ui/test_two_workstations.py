"""Two workstations on one PostgreSQL, each with its own window and its own connection:
what a new case, a claim and a take-over at one look like at the other, heard through
LISTEN/NOTIFY without a refresh; closing a window lets its claims go."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from caseapp.clock import Clock
from caseapp.services import Desk
from tests import pg_server
from tests.conftest import _fresh_postgres_database, make_desk
from tests.ui.conftest import new_case, open_window
from tests.ui.helpers import click, open_case

pytestmark = pytest.mark.postgres


@pytest.fixture
def two_desks(postgres_server: pg_server.PostgresServer, clock: Clock,
              tmp_path: Path) -> Iterator[tuple[Desk, Desk]]:
    url = _fresh_postgres_database(postgres_server.url)
    alice = make_desk(url, "alice", clock, tmp_path / "backups-a")  # the first: admin
    alice.add_user("bob", "agent", "Bob Agent")
    bob = make_desk(url, "bob", clock, tmp_path / "backups-b")  # another workstation
    try:
        yield alice, bob
    finally:
        bob.close()
        alice.close()


def test_two_workstations_work_the_same_desk(qtbot: QtBot, two_desks: tuple[Desk, Desk],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    alice_desk, bob_desk = two_desks
    alice = open_window(qtbot, alice_desk, monkeypatch)
    bob = open_window(qtbot, bob_desk, monkeypatch)
    try:
        # Alice's workstation takes a case in: Bob's list shows it without a refresh.
        ref = new_case(alice_desk, "Mara Quist").case.ref
        qtbot.waitUntil(lambda: bob.window.model.position_of(ref) is not None, timeout=10_000)
        bob.settle()
        open_case(bob, ref)
        open_case(alice, ref)
        assert alice.window.case_page.claim_banner.state == "free"
        # Bob starts work on it: Alice sees who holds it, and since when.
        click(qtbot, bob.window.case_page.claim_banner.claim_button)
        bob.settle()
        qtbot.waitUntil(lambda: bob.window.case_page.claim_banner.state == "mine",
                        timeout=10_000)
        banner = alice.window.case_page.claim_banner
        qtbot.waitUntil(lambda: banner.state == "held", timeout=10_000)
        assert "Held by bob since" in banner.text.text()
        assert not banner.claim_button.isVisibleTo(banner)  # no second person on it
        # Alice (an administrator) takes it over: Bob's window says so.
        click(qtbot, banner.take_over_button)
        alice.settle()
        assert banner.state == "mine"
        bob_banner = bob.window.case_page.claim_banner
        qtbot.waitUntil(lambda: bob_banner.state == "held", timeout=10_000)
        assert "Held by alice since" in bob_banner.text.text()
        assert not bob_banner.take_over_button.isVisibleTo(bob_banner)  # an agent cannot
        # Closing Alice's window lets the case go: Bob may start on it again.
        alice.window.shutdown()
        qtbot.waitUntil(lambda: bob_banner.state == "free", timeout=10_000)
        assert bob_desk.get_case(ref).claim is None
        assert alice.reports == [] and bob.reports == []
    finally:
        bob.window.shutdown()
        alice.window.shutdown()


def test_a_workstation_clock_minutes_off_the_server_is_warned_about_once(
        qtbot: QtBot, two_desks: tuple[Desk, Desk], monkeypatch: pytest.MonkeyPatch) -> None:
    # The real clocks agree (one machine; the test above sees no warning): this
    # workstation's is made to read 4 minutes behind the server's.
    _alice, bob_desk = two_desks
    real = bob_desk.clock_offset()
    assert real is not None and abs(real) < 5
    monkeypatch.setattr(bob_desk, "clock_offset", lambda: 240.0)
    bob = open_window(qtbot, bob_desk, monkeypatch)
    try:
        qtbot.waitUntil(lambda: bool(bob.reports), timeout=10_000)
        assert [report.kind for report in bob.reports] == ["warning"]
        assert "4 min behind the database server's" in bob.reports[0].text
        assert "NTP" in bob.reports[0].text
    finally:
        bob.window.shutdown()
