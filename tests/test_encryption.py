"""The embedded database at rest: encrypted with a key from the keyring (caseapp.db.cipher),
deleted data overwritten (secure_delete, a checkpoint after a purge), a damaged file
refused at start with the newest backup named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import keyring.core
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from caseapp.clock import Clock
from caseapp.db import cipher, engine
from caseapp.db.engine import DatabaseDamaged
from caseapp.errors import DatabaseUnavailable
from caseapp.secrets import SERVICE
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData, StepRequest
from caseapp.services.search import SearchQuery
from tests.conftest import make_desk
from tests.keyring_fixtures import MemoryKeyring

CANARIES = ("Xylophanta Quirrelby", "zorbleflux@example.net", "Wombatcrescent Lane",
            "Gloriousmuddle")


def canary_case(desk: Desk) -> str:
    changed = desk.create_case(NewCase(
        channel="phone", request_types=("delete",),
        requester=PartyData(name=CANARIES[0], email=CANARIES[1], phone="555-0142",
                            postal_address=f"12 {CANARIES[2]}\nSpringfield", postal_code="94123",
                            state="CA"),
        summary=f"Wants everything about {CANARIES[3]} gone"))
    desk.add_note(changed.case.ref, f"{CANARIES[3]} called again about {CANARIES[0]}")
    return changed.case.ref


def raw_bytes(path: Path) -> bytes:
    """The database file with its write-ahead log and shared-memory index, as on disk."""
    data = b""
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if each.exists():
            data += each.read_bytes()
    return data


def found(path: Path) -> set[str]:
    data = raw_bytes(path).lower()
    return {c for c in CANARIES if c.lower().encode() in data
            or c.lower().encode("utf-16-le") in data}


@pytest.fixture
def plain_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Desks made meanwhile are plain SQLite (as every desk before encryption was)."""
    monkeypatch.setattr(engine, "ENCRYPT_EMBEDDED", False)
    yield
    monkeypatch.setattr(engine, "ENCRYPT_EMBEDDED", True)


# --- encrypted at rest ---------------------------------------------------------------------


def test_a_case_written_leaves_no_readable_personal_data_in_the_files(
        sqlite_desk: Desk) -> None:
    path = sqlite_desk.db.path
    assert path is not None
    ref = canary_case(sqlite_desk)
    assert sqlite_desk.get_case(ref).requester.name == CANARIES[0]  # readable in the app
    # Mid-use: the write-ahead log holds the new pages; none is readable.
    assert path.with_name(path.name + "-wal").exists()
    assert found(path) == set()
    assert not raw_bytes(path).startswith(cipher.SQLITE_HEADER)
    sqlite_desk.close()
    assert found(path) == set()
    # The key is 256 bits in the keyring, one entry per database file.
    key = cipher.read_key(path)
    assert key is not None and len(bytes.fromhex(key)) == 32
    assert cipher.key_name(path) == f"database:{path.resolve()}"


def test_the_plain_control_shows_the_canaries_so_the_check_can_fail(
        plain_files: None, sqlite_url: str, clock: Clock, tmp_path: Path) -> None:
    desk = make_desk(sqlite_url, "alice", clock, tmp_path / "backups")
    try:
        canary_case(desk)
        assert desk.db.path is not None and found(desk.db.path) == set(CANARIES)
    finally:
        desk.close()


def test_a_plain_database_is_encrypted_when_opened_and_no_plain_copy_is_left(
        sqlite_url: str, clock: Clock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "ENCRYPT_EMBEDDED", False)
    old = make_desk(sqlite_url, "alice", clock, tmp_path / "backups")
    ref = canary_case(old)
    path = old.db.path
    assert path is not None
    old.close()
    # A copy made before an upgrade, by the release before encryption: plain too.
    backups = tmp_path / "backups"
    backups.mkdir(exist_ok=True)
    plain_backup = backups / "cases-20260101-100000-before-upgrade-to-0010.sqlite3"
    plain_backup.write_bytes(path.read_bytes())
    assert found(path) == set(CANARIES)

    monkeypatch.setattr(engine, "ENCRYPT_EMBEDDED", True)
    desk = make_desk(sqlite_url, "alice", clock, backups)
    try:
        assert desk.get_case(ref).requester.email == CANARIES[1]
        assert desk.verify_audit().ok
        assert found(path) == set()
        assert cipher.file_kind(path) == "encrypted"
        assert cipher.file_kind(plain_backup) == "encrypted"  # encrypted in place
        assert CANARIES[0].encode() not in plain_backup.read_bytes()
        leftovers = [p.name for p in tmp_path.iterdir()
                     if p.is_file() and p.name not in {"cases.sqlite3", "cases.sqlite3-wal",
                                                       "cases.sqlite3-shm"}]
        assert leftovers == []
        # The old plain copy in the backup folder still opens, with the database's key.
        with cipher.connect(plain_backup, desk.db.key) as copy:
            assert copy.execute("SELECT count(*) FROM cases").fetchone() == (1,)
    finally:
        desk.close()


def test_fts5_and_json_work_in_the_encrypted_database(sqlite_desk: Desk) -> None:
    ref = canary_case(sqlite_desk)
    found_refs = [hit.ref for hit in sqlite_desk.search(SearchQuery("Gloriousmuddle")).hits]
    assert found_refs == [ref]
    with sqlite_desk.db.engine.connect() as connection:
        assert connection.exec_driver_sql(
            "SELECT json_extract('{\"a\": [1, 2]}', '$.a[1]')").scalar() == 2
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA cipher_version").scalar()


# --- the key: missing, wrong, keyring locked or refused --------------------------------------


def test_a_missing_key_is_a_clear_message_and_changes_nothing(
        sqlite_desk: Desk, sqlite_url: str) -> None:
    path = sqlite_desk.db.path
    assert path is not None
    canary_case(sqlite_desk)
    sqlite_desk.close()
    before = path.read_bytes()
    backend = keyring.core.get_keyring()
    backend.delete_password(SERVICE, cipher.key_name(path))
    with pytest.raises(DatabaseUnavailable) as raised:
        Desk(sqlite_url, "alice")
    message = raised.value.message
    assert "keyring does not hold" in message and "database-key --import" in message
    assert "caseapp restore" in message and "\n" not in message
    assert path.read_bytes() == before


def test_a_wrong_key_is_a_clear_message(sqlite_desk: Desk, sqlite_url: str) -> None:
    path = sqlite_desk.db.path
    assert path is not None
    sqlite_desk.close()
    keyring.core.get_keyring().set_password(SERVICE, cipher.key_name(path), cipher.new_key())
    with pytest.raises(DatabaseUnavailable, match="cannot be opened with the key"):
        Desk(sqlite_url, "alice")


class LockedKeyring(KeyringBackend):
    priority = 10  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("locked")


def test_a_locked_keyring_is_said_plainly_and_creates_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", LockedKeyring())
    path = tmp_path / "new.sqlite3"
    with pytest.raises(DatabaseUnavailable) as raised:
        Desk(f"sqlite:///{path}", "alice")
    assert "keyring is locked" in raised.value.message
    assert str(path) in raised.value.message
    assert not path.exists()


def test_a_plaintext_keyring_is_refused_for_the_key(
        tmp_path: Path, plaintext_keyring: object) -> None:
    path = tmp_path / "new.sqlite3"
    with pytest.raises(DatabaseUnavailable, match="No secure keyring"):
        Desk(f"sqlite:///{path}", "alice")
    assert not path.exists()


def test_database_key_export_and_import_on_another_workstation(
        sqlite_desk: Desk, sqlite_url: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from caseapp.cli import main

    ref = canary_case(sqlite_desk)
    sqlite_desk.close()
    assert main(["--db", sqlite_url, "database-key", "--export"]) == 0
    exported = capsys.readouterr().out.strip()
    # Another workstation: its keyring knows nothing of the file.
    monkeypatch.setattr(keyring.core, "_keyring_backend", MemoryKeyring())
    with pytest.raises(DatabaseUnavailable):
        Desk(sqlite_url, "alice")
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("00" * 32 + "\n"))
    assert main(["--db", sqlite_url, "database-key", "--import"]) == 2  # not its key
    assert "cannot be opened with the key" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(exported + "\n"))
    assert main(["--db", sqlite_url, "database-key", "--import"]) == 0
    desk = Desk(sqlite_url, "alice")
    try:
        assert desk.get_case(ref).requester.name == CANARIES[0]
    finally:
        desk.close()


# --- deleted data gone from the files (secure_delete, checkpoint) ---------------------------


def test_purged_personal_data_is_gone_from_the_file_and_its_log(
        plain_files: None, sqlite_url: str, tmp_path: Path) -> None:
    # Plain files, so the bytes can be read: the second layer under the encryption.
    closed_on = date(2024, 1, 10)
    desk = make_desk(sqlite_url, "alice", Clock(fixed=datetime(2024, 1, 8, 15)),
                     tmp_path / "backups")
    try:
        ref = canary_case(desk)
        desk.take_step(ref, StepRequest("withdraw", reason="Changed her mind"))
        path = desk.db.path
        assert path is not None
        desk.db.checkpoint()
        assert found(path) == set(CANARIES)  # planted, readable: the check can fail
        desk.set_clock(Clock(fixed=datetime(closed_on.year + 2, 2, 15, 15)))
        outcome = desk.purge([ref])
        assert [p.ref for p in outcome.purged] == [ref]
        # The purge's checkpoint folded the log in and truncated it: nothing in either.
        wal = path.with_name(path.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        assert found(path) == set()
    finally:
        desk.close()
    assert found(path) == set()


# --- integrity at start ----------------------------------------------------------------------


def corrupt(path: Path) -> None:
    """Overwrite a page in the middle of the file (what a failing disk does)."""
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek((size // 4096 // 2) * 4096 + 100)
        handle.write(b"\xde\xad\xbe\xef" * 256)


def test_a_damaged_database_is_refused_at_start_and_the_newest_backup_named(
        sqlite_url: str, clock: Clock, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    desk = make_desk(sqlite_url, "alice", clock, backups)
    for n in range(40):
        desk.create_case(NewCase(channel="phone", request_types=("access",),
                                 requester=PartyData(name=f"Person {n} " + "x" * 250,
                                                     state="CA")))
    made = desk.back_up(backups / "cases-manual.sqlite3")
    path = desk.db.path
    assert path is not None
    desk.close()
    corrupt(path)
    damaged = path.read_bytes()
    desk = Desk(sqlite_url, "alice", clock=clock)
    try:
        with pytest.raises(DatabaseDamaged) as raised:
            desk.prepare(backups)
        message = raised.value.message
        assert "is damaged" in message
        assert f"caseapp restore {made.path} --yes" in message
        # Never written to: not by the start, not by a later unit of work.
        with pytest.raises(DatabaseUnavailable, match="damaged"):
            desk.add_user("dan", "agent", "Dan")
    finally:
        desk.close()
    assert path.read_bytes() == damaged


def test_a_sound_database_passes_the_check_at_start(sqlite_desk: Desk, sqlite_url: str,
                                                    tmp_path: Path) -> None:
    canary_case(sqlite_desk)
    again = Desk(sqlite_url, "alice")
    try:
        again.prepare(tmp_path / "backups")
        assert again.integrity_checked_at_start()
        assert again.db.integrity_problems(quick=False) == ()
    finally:
        again.close()


def test_the_start_check_is_skipped_for_a_large_file_left_to_the_window(
        sqlite_url: str, clock: Clock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import caseapp.services as services

    make_desk(sqlite_url, "alice", clock, tmp_path / "backups").close()
    monkeypatch.setattr(services, "INTEGRITY_AT_START_BYTES", 0)
    desk = make_desk(sqlite_url, "alice", clock, tmp_path / "backups")
    try:
        assert desk.db.file_size() and not desk.integrity_checked_at_start()
    finally:
        desk.close()
