"""Backups and restores (caseapp.services.backup, caseapp backup/restore), on SQLite and on
PostgreSQL: the drill (back up while another thread writes, restore into a new place,
every count and the audit chain as the manifest says), what a restore refuses, and the
schedule."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from caseapp.cli import main
from caseapp.clock import Clock
from caseapp.config import BackupSettings, ConfigError, Paths, load_settings
from caseapp.db import cipher
from caseapp.demo import load_demo
from caseapp.errors import InvalidInput
from caseapp.services import Desk
from caseapp.services import backup as service_backup
from caseapp.services.dto import CaseQuery, NewCase, PartyData
from tests import pg_server
from tests.conftest import make_desk


def new_case(desk: Desk, name: str) -> str:
    return desk.create_case(NewCase(channel="phone", request_types=("access",),
                                    requester=PartyData(name=name, state="CA"))).case.ref


def new_place(database_url: str, tmp_path: Path) -> str:
    """An empty database beside ``database_url``'s, on the same backend."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored' / 'cases.sqlite3'}"
    server = database_url.rsplit("/", 1)[0]
    name = f"r_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server}/{name}"


# --- the drill -------------------------------------------------------------------------------


def test_backup_drill_during_use_restored_into_a_new_place(
        desk: Desk, database_url: str, tmp_path: Path, clock: Clock) -> None:
    load_demo(desk, cases=40, seed=7)
    writer = desk.as_user("alice")
    stop = threading.Event()
    written: list[str] = []
    problems: list[BaseException] = []

    def keep_writing() -> None:
        try:
            while not stop.is_set():
                written.append(new_case(writer, f"Written during the backup {len(written)}"))
        except BaseException as error:  # shown by the assertion below
            problems.append(error)

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        while len(written) < 3:  # the writer is busy when the backup starts
            stop.wait(0.05)
        steps: list[str] = []
        result = desk.back_up(tmp_path / "backups" / "drill.backup",
                              progress=lambda done, total, what: steps.append(what))
        during = len(written)
    finally:
        stop.set()
        thread.join()
    assert not problems, problems
    assert steps[-1] == "Done"
    manifest = result.manifest
    assert service_backup.manifest_path(result.path).exists()
    assert manifest.row_counts["cases"] >= 40 + 3
    assert manifest.audit_events > 40 and len(manifest.audit_head_hash) == 64
    total = desk.count_cases(CaseQuery(view="all"))
    assert total > manifest.row_counts["cases"] or during == len(written)

    target = new_place(database_url, tmp_path)
    other = Desk(target, "alice", clock=clock)
    try:
        restored = other.restore_backup(result.path, tmp_path / "safety", replace=False)
        assert restored.previous is None  # nothing was there to keep
        other.check_ready()
        assert other.count_cases(CaseQuery(view="all")) == manifest.row_counts["cases"]
        report = other.verify_audit()
        assert report.ok, report
        assert (report.events, report.head_hash) == (manifest.audit_events,
                                                     manifest.audit_head_hash)
        assert other.backups(tmp_path / "backups") == []  # a manual one is not scheduled
    finally:
        other.close()
    if database_url.startswith("sqlite"):
        assert cipher.file_kind(result.path) == "encrypted"
        assert b"Written during the backup" not in result.path.read_bytes()


# --- what restoring refuses -------------------------------------------------------------------


@pytest.fixture
def made(desk: Desk, tmp_path: Path) -> service_backup.BackupResult:
    for n in range(3):
        new_case(desk, f"Before the backup {n}")
    return desk.back_up(tmp_path / "made.backup")


def test_a_file_that_is_no_backup_is_refused(desk: Desk, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(InvalidInput, match="not a backup of a case database"):
        desk.restore_backup(junk, tmp_path / "safety", replace=True)
    service_backup.manifest_path(junk).write_text('{"format": "something else"}')
    with pytest.raises(InvalidInput, match="not the manifest of a caseapp backup"):
        desk.restore_backup(junk, tmp_path / "safety", replace=True)
    assert not (tmp_path / "safety").exists()


def test_a_truncated_backup_is_refused_and_nothing_changes(
        desk: Desk, made: service_backup.BackupResult, tmp_path: Path) -> None:
    data = made.path.read_bytes()
    made.path.write_bytes(data[: len(data) // 2])
    new_case(desk, "After the backup")
    with pytest.raises(service_backup.BackupProblem, match="incomplete"):
        desk.restore_backup(made.path, tmp_path / "safety", replace=True)
    assert desk.count_cases(CaseQuery(view="all")) == 4
    assert not (tmp_path / "safety").exists()


def test_a_backup_missing_its_newest_audit_events_is_refused(
        desk: Desk, made: service_backup.BackupResult, tmp_path: Path) -> None:
    # The manifest says the chain goes further than the copy holds: events were lost.
    manifest_file = service_backup.manifest_path(made.path)
    data = json.loads(manifest_file.read_text())
    data["audit"]["events"] += 2
    data["row_counts"]["audit_events"] += 2
    manifest_file.write_text(json.dumps(data))
    with pytest.raises(service_backup.BackupProblem) as raised:
        desk.restore_backup(made.path, tmp_path / "safety", replace=True)
    assert "audit_events" in raised.value.message or "newest events" in raised.value.message
    assert desk.count_cases(CaseQuery(view="all")) == 3


def test_restore_over_a_database_needs_yes_and_keeps_the_current_one_first(
        desk: Desk, made: service_backup.BackupResult, tmp_path: Path,
        clock: Clock) -> None:
    later = new_case(desk, "Made after the backup")
    with pytest.raises(InvalidInput, match="--yes"):
        desk.restore_backup(made.path, tmp_path / "safety", replace=False)
    assert desk.get_case(later).ref == later  # nothing changed
    result = desk.restore_backup(made.path, tmp_path / "safety", replace=True)
    assert result.previous is not None and result.previous.parent == tmp_path / "safety"
    # The desk goes on with the restored database: the later case is gone...
    assert desk.count_cases(CaseQuery(view="all")) == 3
    assert desk.verify_audit().ok
    new_case(desk, "After the restore")  # ...and it takes new work
    # ...and the replaced database is itself a backup that restores.
    again = desk.restore_backup(result.previous, tmp_path / "safety2", replace=True)
    assert again.manifest.row_counts["cases"] == 4
    assert desk.get_case(later).requester.name == "Made after the backup"


def test_a_sqlite_backup_cannot_go_into_postgresql(sqlite_desk: Desk, tmp_path: Path,
                                                   postgres_server: pg_server.PostgresServer
                                                   ) -> None:
    made = sqlite_desk.back_up(tmp_path / "a.backup")
    with pytest.raises(InvalidInput, match="backup of a sqlite database"):
        service_backup.restore(postgres_server.url, made.path, replace=True,
                               backup_dir=tmp_path / "safety")


# --- the schedule -------------------------------------------------------------------------------


def test_scheduled_backups_when_due_keeping_the_newest(desk: Desk, tmp_path: Path) -> None:
    folder = tmp_path / "scheduled"
    start = datetime(2026, 3, 4, 9, 0)
    made = []
    for hours in (0, 1, 24, 48, 72):
        result = service_backup.run_scheduled(desk.db, folder, 24, 2,
                                              now=start + timedelta(hours=hours))
        made.append(None if result is None else result.path)
    assert made[1] is None  # an hour after the last one: not due
    assert all(made[i] is not None for i in (0, 2, 3, 4))
    kept = [file for file, _manifest in desk.backups(folder)]
    assert kept == [made[3], made[4]]  # the newest two
    assert not made[0].exists() and not service_backup.manifest_path(made[0]).exists()


def test_backup_settings_are_checked(tmp_path: Path) -> None:
    file = tmp_path / "settings.toml"
    file.write_text('[backup]\nfolder = "/srv/caseapp-backups"\nevery_hours = 6\nkeep = 30\n')
    settings = load_settings(file)
    assert settings.backup == BackupSettings("/srv/caseapp-backups", 6, 30)
    assert settings.backup.folder_path(settings.paths) == Path("/srv/caseapp-backups")
    assert BackupSettings().folder_path(Paths(tmp_path, tmp_path)) == tmp_path / "backups"
    for bad, message in (("every_hours = -1", "every_hours"), ("keep = 0", "keep"),
                         ("keep = \"all\"", "keep"), ("when = 3", "unknown")):
        file.write_text(f"[backup]\n{bad}\n")
        with pytest.raises(ConfigError, match=message):
            load_settings(file)


# --- the command line -----------------------------------------------------------------------------


def test_backup_and_restore_from_the_command_line(
        sqlite_url: str, clock: Clock, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    desk = make_desk(sqlite_url, "alice", clock, tmp_path / "backups")
    new_case(desk, "Kept by the backup")
    desk.close()
    file = tmp_path / "cli.backup"
    assert main(["--db", sqlite_url, "--user", "alice", "backup", str(file)]) == 0
    out = capsys.readouterr().out
    assert "Backed up 1 case (" in out and str(file) in out
    assert main(["--db", sqlite_url, "--user", "alice", "restore", str(file)]) == 2
    err = capsys.readouterr().err
    assert "--yes" in err and "Nothing was changed" in err
    assert main(["--db", sqlite_url, "--user", "alice", "restore", str(file), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "audit chain intact" in out and "backed up first" in out
    assert main(["--db", sqlite_url, "--user", "alice", "audit", "verify"]) == 0
    # Scheduled (for cron): made once, then not due.
    assert main(["--db", sqlite_url, "--user", "alice", "backup", "--scheduled"]) == 0
    assert "Backed up" in capsys.readouterr().out
    assert main(["--db", sqlite_url, "--user", "alice", "backup", "--scheduled"]) == 0
    assert "No backup due" in capsys.readouterr().out
    assert main(["--db", sqlite_url, "--user", "alice", "backup", "--list"]) == 0
    assert "1 scheduled backup(s)" in capsys.readouterr().out
