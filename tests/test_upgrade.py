"""Upgrading an existing desk's database: the SQLite file is backed up first."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest
from alembic import command

from caseapp.clock import Clock
from caseapp.db import cipher
from caseapp.db.engine import Database
from caseapp.db.migrate import _config, current_revision, head_revision
from caseapp.errors import DatabaseUnavailable
from caseapp.services import Desk


def test_an_old_database_is_backed_up_then_upgraded(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "old.sqlite3"
    old = Database(f"sqlite:///{path}")
    config = _config()
    with old.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with old.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO users (username, display_name, role, active, created_at) "
            "VALUES ('alice', 'Alice', 'admin', 1, '2026-01-01 00:00:00')"
        )
    old.dispose()

    desk = Desk(f"sqlite:///{path}", "alice", clock=clock)
    backup = desk.prepare(tmp_path / "backups")

    assert backup is not None and backup.parent == tmp_path / "backups"
    assert "before-upgrade" in backup.name
    with closing(cipher.connect(backup, desk.db.key)) as copy:  # encrypted, its key
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
        assert copy.execute("SELECT username FROM users").fetchall() == [("alice",)]
    assert current_revision(desk.db) == head_revision()
    assert [u.username for u in desk.list_users()] == ["alice"]
    # Nothing to do the second time: no new backup.
    assert desk.prepare(tmp_path / "backups") is None
    assert [p.suffix for p in (tmp_path / "backups").iterdir() if p.suffix == ".sqlite3"] == [
        ".sqlite3"
    ]
    desk.close()


def test_a_database_from_a_newer_caseapp_is_refused_untouched(tmp_path: Path,
                                                              clock: Clock) -> None:
    path = tmp_path / "newer.sqlite3"
    desk = Desk(f"sqlite:///{path}", "alice", clock=clock)
    desk.prepare(tmp_path / "backups")
    desk.close()
    key = cipher.read_key(path)
    with closing(cipher.connect(path, key)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
        connection.commit()
    again = Desk(f"sqlite:///{path}", "alice", clock=clock)
    try:
        with pytest.raises(DatabaseUnavailable, match="newer version of caseapp"):
            again.prepare(tmp_path / "backups")
    finally:
        again.close()
    with closing(cipher.connect(path, key)) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (
            "9999",)
