"""The case database: schema by migrations on both backends, SQLite settings, the backup
taken before an upgrade, and readable errors when the database cannot be had."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import exc, inspect, text

from caseapp.clock import Clock
from caseapp.db import cipher, migrate
from caseapp.db.engine import Database
from caseapp.errors import DatabaseUnavailable
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData
from tests.conftest import make_desk

TABLES = {"users", "cases", "case_request_types", "parties", "notes", "tasks", "messages",
          "documents", "audit_events", "audit_head", "ref_counters", "clock_overrides",
          "alembic_version"}


def add_cases(desk: Desk, count: int) -> None:
    for number in range(count):
        desk.create_case(NewCase(channel="email", request_types=("access", "delete"),
                                 requester=PartyData(name=f"Person {number}", state="CA")))


def row_counts(connection: sqlite3.Connection | object) -> dict[str, int]:
    names = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for name in names}


def test_migrations_build_the_schema_on_an_empty_database(database_url: str,
                                                          tmp_path: Path) -> None:
    db = Database(database_url)
    try:
        assert migrate.current_revision(db) is None
        assert migrate.needs_upgrade(db)
        assert migrate.upgrade(db, tmp_path / "backups") is None  # nothing to back up
        assert migrate.current_revision(db) == migrate.head_revision()
        assert not migrate.needs_upgrade(db)
        assert set(inspect(db.engine).get_table_names()) >= TABLES
        with db.engine.connect() as connection:
            head = connection.execute(text("SELECT id, seq, hash FROM audit_head")).all()
        assert [tuple(row) for row in head] == [(1, 0, "0" * 64)]
        assert not (tmp_path / "backups").exists()
    finally:
        db.dispose()


def test_preparing_again_changes_nothing(database_url: str, clock: Clock,
                                         tmp_path: Path) -> None:
    desk = make_desk(database_url, "alice", clock, tmp_path / "backups")
    try:
        add_cases(desk, 2)
        before = desk.verify_audit()
        columns = {table: [c["name"] for c in inspect(desk.db.engine).get_columns(table)]
                   for table in TABLES}
        assert desk.prepare(tmp_path / "backups") is None
        again = Desk(database_url, "alice", clock=clock)
        try:
            assert again.prepare(tmp_path / "backups") is None
            again.check_ready()
        finally:
            again.close()
        after = desk.verify_audit()
        assert (after.ok, after.events, after.head_hash) == (True, before.events,
                                                             before.head_hash)
        assert columns == {table: [c["name"] for c in inspect(desk.db.engine).get_columns(
            table)] for table in TABLES}
        assert [u.username for u in desk.list_users()] == ["alice"]
        assert desk.current_user().role == "admin"
    finally:
        desk.close()


def test_an_unprepared_database_says_how_to_set_it_up(database_url: str,
                                                      clock: Clock) -> None:
    desk = Desk(database_url, "alice", clock=clock)
    try:
        with pytest.raises(DatabaseUnavailable, match="Run: caseapp init"):
            desk.check_ready()
    finally:
        desk.close()


def test_a_later_user_of_a_database_starts_as_an_agent(database_url: str, clock: Clock,
                                                       tmp_path: Path) -> None:
    first = make_desk(database_url, "alice", clock, tmp_path / "b")
    second = make_desk(database_url, "dora", clock, tmp_path / "b")
    try:
        assert first.current_user().role == "admin"
        assert second.current_user().role == "agent"
    finally:
        first.close()
        second.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys_enforced(sqlite_desk: Desk) -> None:
    add_cases(sqlite_desk, 1)
    with sqlite_desk.db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    with pytest.raises(exc.IntegrityError), sqlite_desk.db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO notes (case_id, author, created_at, body) "
            "VALUES (999, 'x', '2026-03-04 15:00:00', 'orphan')"))


def test_the_backup_copy_opens_and_holds_the_same_rows(sqlite_desk: Desk,
                                                       tmp_path: Path) -> None:
    add_cases(sqlite_desk, 5)
    sqlite_desk.add_note("PR-2026-00003", "Kept in the backup")
    backup = migrate.backup_sqlite_file(sqlite_desk.db, tmp_path / "copies", "test")
    assert backup is not None and backup.exists()
    assert backup.parent == tmp_path / "copies" and "before-test" in backup.name
    live_path = Path(str(sqlite_desk.db.engine.url.database))
    key = sqlite_desk.db.key  # the copy is encrypted with the database's own key
    with closing(cipher.connect(live_path, key)) as live, \
            closing(cipher.connect(backup, key)) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert row_counts(copy) == row_counts(live)
        assert row_counts(copy)["cases"] == 5
        assert copy.execute("SELECT body FROM notes").fetchall() == [("Kept in the backup",)]
    # The copy is a working case database in its own right.
    restored = Desk(f"sqlite:///{backup}", "alice")
    try:
        restored.check_ready()
        assert restored.get_case("PR-2026-00005").request_types == ("access", "delete")
        assert restored.verify_audit().ok
    finally:
        restored.close()


def test_there_is_nothing_to_back_up_on_postgresql_or_for_a_new_file(
    database_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    try:
        assert migrate.backup_sqlite_file(db, tmp_path / "copies", "test") is None
        assert not (tmp_path / "copies").exists()
    finally:
        db.dispose()


def test_an_older_schema_is_refused_until_prepared_and_the_backup_keeps_it(
    tmp_path: Path, clock: Clock
) -> None:
    # (tests/test_upgrade.py covers the upgrade itself; this is what staff see around it.)
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    db = Database(url)
    config = migrate._config()
    with db.engine.begin() as connection:  # a database left by the first release
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO users (username, display_name, role, active, created_at) "
            "VALUES ('alice', 'Alice', 'admin', 1, '2026-01-02 10:00:00')"))
    db.dispose()
    desk = Desk(url, "alice", clock=clock)
    try:
        with pytest.raises(DatabaseUnavailable, match="older than this program"):
            desk.check_ready()
        backup = desk.prepare(tmp_path / "backups")
        assert backup is not None and backup.exists()
        assert f"before-upgrade-to-{migrate.head_revision()}" in backup.name
        with closing(cipher.connect(backup, desk.db.key)) as copy:
            assert copy.execute("SELECT version_num FROM alembic_version").fetchone() == (
                "0001",)
            assert copy.execute("SELECT username FROM users").fetchall() == [("alice",)]
            names = {r[0] for r in copy.execute("SELECT name FROM sqlite_master")}
            assert "clock_overrides" not in names
        assert migrate.current_revision(desk.db) == migrate.head_revision()
        desk.check_ready()
        assert desk.current_user().role == "admin"
    finally:
        desk.close()


# --- a database that cannot be had ----------------------------------------------------

def assert_readable(error: DatabaseUnavailable) -> None:
    message = error.message
    assert "\n" not in message
    for noise in ("Traceback", "[SQL", "sqlalche.me", "Background on this error"):
        assert noise not in message


def test_a_postgresql_server_that_is_not_there(clock: Clock, tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    desk = Desk(f"postgresql://clerk:s3cret@127.0.0.1:{port}/cases", "alice", clock=clock)
    try:
        with pytest.raises(DatabaseUnavailable) as raised:
            desk.prepare(tmp_path)
        assert_readable(raised.value)
        assert "cannot be reached" in raised.value.message
        assert f"127.0.0.1:{port}" in raised.value.message
        assert "s3cret" not in raised.value.message  # passwords never shown
        with pytest.raises(DatabaseUnavailable):
            desk.check_ready()
    finally:
        desk.close()


def test_a_sqlite_file_under_a_file_instead_of_a_folder(tmp_path: Path, clock: Clock) -> None:
    (tmp_path / "letters.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(DatabaseUnavailable) as raised:
        Desk(f"sqlite:///{tmp_path / 'letters.pdf' / 'cases.sqlite3'}", "alice", clock=clock)
    assert_readable(raised.value)
    assert "Cannot create the folder" in raised.value.message


@pytest.mark.parametrize("path", ["/proc/caseapp-test.sqlite3",
                                  "/proc/caseapp-test/cases.sqlite3"])
def test_a_sqlite_file_where_nothing_can_be_written(path: str, clock: Clock,
                                                    tmp_path: Path) -> None:
    # /proc refuses new files even to root, like a read-only share would.
    with pytest.raises(DatabaseUnavailable) as raised:
        Desk(f"sqlite:///{path}", "alice", clock=clock).prepare(tmp_path)
    assert_readable(raised.value)
    assert "/proc" in raised.value.message


def test_a_file_that_is_not_a_database(tmp_path: Path, clock: Clock) -> None:
    junk = tmp_path / "cases.sqlite3"
    junk.write_bytes(b"%PDF-1.4 not a database " * 200)
    # Without the key, junk and an encrypted database look the same: the message says both.
    with pytest.raises(DatabaseUnavailable) as raised:
        Desk(f"sqlite:///{junk}", "alice", clock=clock)
    assert_readable(raised.value)
    assert "or no database at all" in raised.value.message
    assert junk.read_bytes().startswith(b"%PDF-1.4")  # left as it was


def test_the_migrations_build_exactly_the_models_schema(database_url: str,
                                                        tmp_path: Path) -> None:
    """A model changed without a migration (or the reverse) would fail a real upgrade."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from caseapp.db.models import Base

    db = Database(database_url)
    try:
        migrate.upgrade(db, tmp_path / "backups")
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True, "include_name": migrate.include_name})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
    finally:
        db.dispose()
