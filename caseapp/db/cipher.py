"""Encryption at rest of the embedded case database (SQLCipher through ``sqlcipher3``).

Every embedded (SQLite) case database file is encrypted with SQLCipher 4 (AES-256, an HMAC
per page): the file, its write-ahead log (``-wal``) and shared-memory index hold no
readable personal data. The key is 256 random bits made on first start and kept in the
operating system's keyring (caseapp.secrets, which refuses plaintext keyrings), one entry
per database file: ``database:/absolute/path/cases.sqlite3``. It is used as a raw key
(``PRAGMA key = "x'…'"``), so opening a connection costs no key derivation.

A plain SQLite database (every desk before encryption, a demo made before it) is converted
when it is first opened: the write-ahead log is folded in, ``sqlcipher_export`` writes an
encrypted copy beside it, the copy is checked (integrity and every table's row count)
and renamed over the plain file, whose bytes are then overwritten with zeros (best effort:
an SSD or a copy-on-write file system may keep old blocks until they are reused). Plain
backups of it in the backup folder are encrypted the same way (:func:`encrypt_plain_backups`).
Nothing plain is left behind by the conversion.

Errors say what to do: no key in the keyring for an encrypted file
(:class:`DatabaseKeyMissing`), a key that does not open it (:class:`DatabaseKeyWrong`), a
locked or missing keyring (caseapp.secrets.SecretStoreUnavailable, reworded).
"""

from __future__ import annotations

import contextlib
import os
import secrets as random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import sqlcipher3

from caseapp.errors import DatabaseUnavailable
from caseapp.secrets import SecretStoreUnavailable, get_secret, store_secret

dbapi: Any = sqlcipher3
"""The DB-API module of SQLCipher (untyped), for the engine and for backups."""

SQLITE_HEADER = b"SQLite format 3\x00"
KEY_PREFIX = "database:"
KeyLookup = Callable[[str], str | None]
KeyStore = Callable[[str, str], None]

FileKind = Literal["new", "plain", "encrypted"]


class DatabaseKeyMissing(DatabaseUnavailable):
    """The file is encrypted and the keyring holds no key for it."""


class DatabaseKeyWrong(DatabaseUnavailable):
    """The key in the keyring does not open the file (or the file is not a database)."""


def key_name(path: Path) -> str:
    """The keyring entry of the key of the database file ``path``."""
    return KEY_PREFIX + str(path.expanduser().resolve())


def new_key() -> str:
    """256 random bits, as 64 hexadecimal digits."""
    return random.token_hex(32)


def key_pragma(key: str) -> str:
    if len(key) != 64 or any(c not in "0123456789abcdefABCDEF" for c in key):
        raise DatabaseKeyWrong("The database key in the keyring is not a key this program "
                               "made (64 hexadecimal digits expected); nothing was changed.")
    return f"PRAGMA key = \"x'{key}'\""


def file_kind(path: Path) -> FileKind:
    """``new`` (no file, or an empty one), ``plain`` SQLite, or ``encrypted``."""
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return "new"
    except OSError as error:
        raise DatabaseUnavailable(f"The database {path} cannot be read: "
                                  f"{error.strerror or error}") from error
    if not header:
        return "new"
    return "plain" if header == SQLITE_HEADER else "encrypted"


def connect(path: Path | str, key: str | None, *, read_only: bool = False,
            timeout: float = 10.0, check_same_thread: bool = True) -> Any:
    """A ``sqlcipher3`` connection to ``path``, keyed (None: a plain file). The key is
    checked at once: a wrong one raises :class:`DatabaseKeyWrong`."""
    target = f"file:{Path(path)}?mode=ro" if read_only else str(path)
    connection = dbapi.connect(target, uri=read_only, timeout=timeout,
                               check_same_thread=check_same_thread)
    try:
        apply_key(connection, key)
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except dbapi.DatabaseError as error:
        connection.close()
        raise DatabaseKeyWrong(_wrong_key_text(Path(path))) from error
    return connection


def apply_key(connection: Any, key: str | None) -> None:
    """Key a new connection: the first statement it runs (SQLCipher's rule)."""
    connection.execute("PRAGMA cipher_log_level = NONE")  # no "ERROR CORE" lines on stderr
    if key is not None:
        connection.execute(key_pragma(key))


def _wrong_key_text(path: Path) -> str:
    return (f"The case database {path} cannot be opened with the key this workstation's "
            f"keyring holds for it (keyring entry \"{key_name(path)}\"): the key is not its "
            "own, or the file is damaged or no database. Nothing was changed. Put the "
            "database's key back into the keyring (caseapp database-key --import), or "
            "restore the database from a backup (caseapp restore FILE).")


# --- the key of a database file -----------------------------------------------------------


def _keyring_problem(path: Path, error: SecretStoreUnavailable) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"The case database {path} is encrypted with a key kept in the keyring, and the "
        f"keyring cannot be used now: {error.message}")


def read_key(path: Path, *, lookup: KeyLookup | None = None) -> str | None:
    """The key the keyring holds for ``path`` (None if none); keyring problems raise."""
    try:
        return (lookup or get_secret)(key_name(path))
    except SecretStoreUnavailable as error:
        raise _keyring_problem(path, error) from None


def save_key(path: Path, key: str, *, store: KeyStore | None = None) -> None:
    try:
        (store or store_secret)(key_name(path), key)
    except SecretStoreUnavailable as error:
        raise _keyring_problem(path, error) from None


def open_key(path: Path, *, lookup: KeyLookup | None = None,
             store: KeyStore | None = None) -> str:
    """The key of the database file ``path``, ready to use.

    A new (or empty) file gets a new key, stored in the keyring before anything is
    written. A plain file is converted (:func:`encrypt_file`). An encrypted file needs
    its key in the keyring (:class:`DatabaseKeyMissing` otherwise), and the key must
    open it (:class:`DatabaseKeyWrong` otherwise).
    """
    kind = file_kind(path)
    key = read_key(path, lookup=lookup)
    if kind == "encrypted":
        if key is None:
            raise DatabaseKeyMissing(
                f"{path} is no plain SQLite database: it is an encrypted case database whose "
                f"key this workstation's keyring does not hold (keyring entry "
                f"\"{key_name(path)}\"), or no database at all. Nothing was changed. Check "
                "the path; put the database's key back (caseapp database-key --import, with "
                "the key exported where it was made), or restore the database from a backup "
                "(caseapp restore FILE).")
        connect(path, key).close()  # DatabaseKeyWrong when it does not open it
        return key
    if key is None:
        key = new_key()
        save_key(path, key, store=store)
    if kind == "plain":
        encrypt_file(path, key)
    return key


# --- converting plain files ----------------------------------------------------------------


def _sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def table_counts(connection: Any) -> dict[str, int]:
    """Rows per table (FTS5 shadow tables included), for checking a copy."""
    names = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name")]
    return {name: int(connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
            for name in names}


def encrypt_file(path: Path, key: str, *, target: Path | None = None) -> Path:
    """Encrypt the plain SQLite file ``path`` with ``key``.

    Without ``target`` the encrypted copy replaces ``path`` (and its ``-wal``/``-shm``),
    and the plain bytes are overwritten; with ``target`` the plain file is left alone and
    the copy is written there. The copy is checked before it is used: a failure leaves
    ``path`` as it was and raises DatabaseUnavailable.
    """
    destination = target or path.with_name(f".{path.name}.encrypting")
    with contextlib.suppress(FileNotFoundError):
        destination.unlink()
    try:
        plain = connect(path, None, timeout=30.0)
        try:
            # Fold the write-ahead log in, so the file alone is the whole database.
            plain.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            expected = table_counts(plain)
            plain.execute(f"ATTACH DATABASE ? AS encrypted KEY \"x'{key}'\"",
                          (str(destination),))
            plain.execute("SELECT sqlcipher_export('encrypted')").fetchone()
            version = plain.execute("PRAGMA main.user_version").fetchone()[0]
            plain.execute(f"PRAGMA encrypted.user_version = {int(version)}")
            plain.execute("DETACH DATABASE encrypted")
        finally:
            plain.close()
        check = connect(destination, key)
        try:
            problems = check.execute("PRAGMA integrity_check").fetchall()
            counts = table_counts(check)
        finally:
            check.close()
        if problems != [("ok",)] or counts != expected:
            raise DatabaseUnavailable(
                f"Encrypting the database {path} failed: the encrypted copy did not match "
                "the original. Nothing was changed.")
        _fsync(destination)
    except BaseException:
        if target is None:
            with contextlib.suppress(OSError):
                destination.unlink()
        raise
    if target is not None:
        return target
    wal, shm = _sidecars(path)
    with path.open("r+b") as old:  # kept open: its bytes are overwritten once renamed
        os.replace(destination, path)
        _fsync_dir(path.parent)
        for sidecar in (wal, shm):  # the plain database's log and index (empty now)
            with contextlib.suppress(FileNotFoundError):
                sidecar.unlink()
        _overwrite(old)
    return path


def _overwrite(handle: Any) -> None:
    """Zeros over a file's bytes through an open handle (the file may be unlinked)."""
    size = os.fstat(handle.fileno()).st_size
    handle.seek(0)
    chunk = b"\0" * (1 << 20)
    left = size
    while left > 0:
        written = handle.write(chunk[:min(left, len(chunk))])
        left -= written
    handle.flush()
    os.fsync(handle.fileno())


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def scrub_file(path: Path) -> None:
    """Overwrite ``path`` with zeros, then delete it (and its -wal and -shm)."""
    for file in (path, *_sidecars(path)):
        try:
            with file.open("r+b") as handle:
                _overwrite(handle)
        except FileNotFoundError:
            continue
        file.unlink()


def plain_backups(path: Path, backup_dir: Path) -> Iterator[Path]:
    """The plain SQLite copies of ``path`` in ``backup_dir`` (before-upgrade copies made
    before encryption): files named like ``STEM-….SUFFIX`` with a plain SQLite header."""
    if not backup_dir.is_dir():
        return
    for candidate in sorted(backup_dir.glob(f"{path.stem}-*{path.suffix}")):
        if candidate.is_file() and file_kind(candidate) == "plain":
            yield candidate


def encrypt_plain_backups(path: Path, key: str, backup_dir: Path) -> list[Path]:
    """Encrypt, in place, the plain copies of ``path`` in ``backup_dir`` with ``key``."""
    done = []
    for plain in plain_backups(path, backup_dir):
        encrypt_file(plain, key)
        done.append(plain)
    return done


# --- online copies ------------------------------------------------------------------------


BackupProgress = Callable[[int, int], None]


def copy_database(open_source: Callable[[], Any], target: Path, key: str | None, *,
                  progress: BackupProgress | None = None) -> None:
    """Copy a live database to the new file ``target`` with SQLite's online backup API,
    encrypted with ``key`` (the source's own key, so the copy is no plainer than the
    database), as one consistent snapshot: the copy runs in one step, so writers of other
    connections never make it start over (WAL: they are not blocked either).
    ``open_source`` gives a new keyed connection to the source (closed here)."""
    partial = target.with_name(f".{target.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    source = open_source()
    try:
        destination = connect(partial, key)
        try:
            source.backup(destination, pages=-1)
            if progress is not None:
                progress(1, 1)
            destination.execute("PRAGMA journal_mode = DELETE").fetchone()
        finally:
            destination.close()
        _fsync(partial)
        os.replace(partial, target)
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    finally:
        source.close()
