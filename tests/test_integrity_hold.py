"""A large embedded database is checked after the window opens (not before the desk
opens): until that check passes the desk is read-only, and a database that fails it is
never written to. INTEGRITY_AT_START_BYTES is set to 0 so a small file counts as large."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import caseapp.services as services
from caseapp.clock import Clock
from caseapp.errors import DatabaseBeingChecked, DatabaseDamaged, DatabaseUnavailable
from caseapp.services import Desk
from caseapp.services.dto import CaseQuery, NewCase, PartyData, StepRequest
from caseapp.services.search import SearchQuery
from tests.conftest import make_desk
from tests.test_encryption import corrupt

# FIXED_NOW (15:00 UTC on March 4) at the desk in New York.
CHECKING = ("The database is still being checked (started 10:00); changes can be made when "
            "the check is done — usually under a minute.")


def new_case(desk: Desk, name: str) -> str:
    return desk.create_case(NewCase(
        channel="phone", request_types=("access",),
        requester=PartyData(name=f"{name} " + "x" * 250, state="CA"))).case.ref


@pytest.fixture
def large_file(sqlite_url: str, clock: Clock, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database with 40 cases (the first for Gloriousmuddle), reopened as a large file."""
    desk = make_desk(sqlite_url, "alice", clock, tmp_path / "backups")
    new_case(desk, "Gloriousmuddle")
    for n in range(39):
        new_case(desk, f"Person {n}")
    desk.back_up(tmp_path / "backups" / "cases-manual.sqlite3")
    desk.close()
    monkeypatch.setattr(services, "INTEGRITY_AT_START_BYTES", 0)
    yield sqlite_url


def opened(url: str, clock: Clock, tmp_path: Path) -> Desk:
    desk = make_desk(url, "alice", clock, tmp_path / "backups")
    assert not desk.integrity_checked_at_start()
    assert not desk.writes_held()  # nothing is held until the window's check is due
    return desk


def test_a_desk_being_checked_refuses_changes_and_reads(large_file: str, clock: Clock,
                                                       tmp_path: Path) -> None:
    desk = opened(large_file, clock, tmp_path)
    try:
        assert desk.hold_writes_for_check() == "10:00"
        assert desk.writes_held()
        ref = desk.search(SearchQuery("Gloriousmuddle")).hits[0].ref
        assert desk.get_case(ref).ref == ref
        assert desk.count_cases(CaseQuery(view="all")) == 40
        events = len(desk.get_case(ref).history)
        with pytest.raises(DatabaseBeingChecked) as refused:
            desk.add_note(ref, "Called back")
        assert refused.value.message == CHECKING
        for write in (lambda d: new_case(d, "Late Arrival"),
                      lambda d: d.take_step(ref, StepRequest("acknowledge")),
                      lambda d: d.claim_case(ref)):
            with pytest.raises(DatabaseBeingChecked, match="still being checked"):
                write(desk)
        # Another user's desk on the same database is held too.
        with pytest.raises(DatabaseBeingChecked):
            desk.as_user("alice").add_note(ref, "Called back")
        assert desk.count_cases(CaseQuery(view="all")) == 40
        assert len(desk.get_case(ref).history) == events

        desk.check_integrity([tmp_path / "backups"])  # sound: changes go through again
        assert not desk.writes_held() and desk.integrity_checked_at_start()
        desk.add_note(ref, "Called back")
        assert desk.count_cases(CaseQuery(view="all")) == 40
        assert len(desk.get_case(ref).history) > events
        assert desk.hold_writes_for_check() == ""  # checked: nothing to hold any more
        new_case(desk, "After the check")
    finally:
        desk.close()


def test_writes_stay_refused_after_a_failing_check(large_file: str, clock: Clock,
                                                   tmp_path: Path) -> None:
    path = Path(large_file.removeprefix("sqlite:///"))
    corrupt(path)
    desk = opened(large_file, clock, tmp_path)  # too large to be checked before it opens
    try:
        desk.hold_writes_for_check()
        damaged = path.read_bytes()
        with pytest.raises(DatabaseDamaged) as raised:
            desk.check_integrity([tmp_path / "backups"])
        assert "cases-manual.sqlite3" in raised.value.message  # the backup to restore
        assert desk.writes_held()
        with pytest.raises(DatabaseUnavailable, match="is damaged: nothing is written"):
            new_case(desk, "Late Arrival")
        assert path.read_bytes() == damaged
    finally:
        desk.close()


def test_a_check_that_could_not_run_keeps_changes_held(large_file: str, clock: Clock,
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    desk = opened(large_file, clock, tmp_path)
    try:
        desk.hold_writes_for_check()
        check = desk.db.integrity_problems
        unreadable = [True]

        def first_unreadable(*, quick: bool = True, limit: int = 20) -> tuple[str, ...]:
            if unreadable.pop() if unreadable else False:
                raise DatabaseUnavailable("The database file cannot be read.")
            return check(quick=quick, limit=limit)

        monkeypatch.setattr(desk.db, "integrity_problems", first_unreadable)
        with pytest.raises(DatabaseUnavailable, match="cannot be read"):
            desk.check_integrity()
        with pytest.raises(DatabaseBeingChecked):
            new_case(desk, "Late Arrival")
        desk.check_integrity()  # checked again, and sound
        new_case(desk, "Late Arrival")
    finally:
        desk.close()


def test_a_large_file_to_be_upgraded_is_checked_before_the_upgrade_writes_to_it(
        tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    from alembic import command
    from sqlalchemy import text

    from caseapp.db import migrate
    from caseapp.db.engine import Database

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    db = Database(url)
    config = migrate._config()
    with db.engine.begin() as connection:  # left by the first release
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    db.dispose()
    monkeypatch.setattr(services, "INTEGRITY_AT_START_BYTES", 0)  # a "large" file
    desk = Desk(url, "alice", clock=clock)
    try:
        desk.prepare(tmp_path / "backups")
        # Checked first (the upgrade writes), so nothing is left for the window to check.
        assert desk.integrity_checked_at_start()
        assert migrate.current_revision(desk.db) == migrate.head_revision()
    finally:
        desk.close()
    again = Desk(url, "alice", clock=clock)
    try:
        again.prepare(tmp_path / "backups")  # up to date: left to the window, as before
        assert not again.integrity_checked_at_start()
        with again.db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 1
    finally:
        again.close()


def test_a_check_still_running_when_a_backup_is_restored_has_no_say(
        large_file: str, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Restored from Settings → Backups… while the window's check of the old file runs:
    what that check finds (here: damage) is about the file replaced, so it changes
    nothing; the restored database (checked by the restore) takes changes."""
    import threading

    desk = opened(large_file, clock, tmp_path)
    try:
        desk.hold_writes_for_check()
        started, release = threading.Event(), threading.Event()
        real = desk.db.integrity_problems
        calls: list[bool] = []

        def slow_then_real(quick: bool = True) -> tuple[str, ...]:
            calls.append(quick)
            if len(calls) > 1:
                return real(quick=quick)
            started.set()
            assert release.wait(30)
            return ("*** in database main *** Page 3: the old file's damage",)

        monkeypatch.setattr(desk.db, "integrity_problems", slow_then_real)
        outcome: list[object] = []

        def check() -> None:
            try:
                outcome.append(desk.check_integrity([tmp_path / "backups"]))
            except DatabaseDamaged as error:
                outcome.append(error)

        checking = threading.Thread(target=check)
        checking.start()
        assert started.wait(30)
        desk.restore_backup(tmp_path / "backups" / "cases-manual.sqlite3",
                            tmp_path / "before-restore", replace=True)
        release.set()
        checking.join(30)
        assert outcome == [None]  # no damage reported for the restored database
        assert not desk.writes_held()
        new_case(desk, "After The Restore")  # changes are taken
    finally:
        desk.close()
