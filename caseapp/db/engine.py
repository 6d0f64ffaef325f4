"""Opening the case database: SQLite (SQLCipher-encrypted, WAL, foreign keys, secure
delete) or PostgreSQL (psycopg 3).

An embedded database file is always encrypted (caseapp.db.cipher: the key is in the
keyring; a plain file is converted when first opened). Every SQLite connection runs with
``secure_delete`` on (deleted content is overwritten with zeros, in the file and in the
write-ahead log) and temporary tables in memory; :meth:`Database.checkpoint` folds the
log into the file and truncates it, after a deletion, so no deleted page stays in it.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from caseapp.db import cipher, postgres
from caseapp.db.purged import guard_purged_cases
from caseapp.errors import (
    DatabaseBeingChecked,
    DatabaseDamaged,
    DatabaseUnavailable,
    DiskFull,
    InvalidInput,
)
from caseapp.search.tracking import track_changes


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _normalize_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


__all__ = ["ENCRYPT_EMBEDDED", "Database", "DatabaseDamaged", "describe_database_error",
           "is_sqlite", "make_engine", "sqlite_path"]

ENCRYPT_EMBEDDED = True
"""Embedded database files are encrypted. Tests of the second layer (secure delete on a
file they read as plain bytes) set it to False; there is no setting for it."""


def _configure_sqlite(engine: Engine, key: str | None, *, read_only: bool = False) -> None:
    @event.listens_for(engine, "do_connect")
    def do_connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        connection = dialect.dbapi.connect(*cargs, **cparams)
        try:
            cipher.apply_key(connection, key)  # SQLCipher: the key comes first
        except BaseException:
            connection.close()
            raise
        return connection

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so a unit of work's reads
        # and writes share one transaction (pysqlite's legacy mode defers BEGIN).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        if not read_only:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # Deleted content overwritten with zeros (file and log); no temporary files.
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.execute("PRAGMA temp_store = MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def _make_folder(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseUnavailable(
            f"Cannot create the folder for the database {path.parent}: {error.strerror}"
        ) from error


def make_engine(url: str, *, key: str | None = None, read_only: bool = False) -> Engine:
    """The engine of ``url``; for SQLite through SQLCipher, keyed with ``key`` (None: a
    plain file or an in-memory database) and, with ``read_only``, never written to."""
    try:
        url = _normalize_url(url)
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise InvalidInput(f"Not a database URL: {url!r}") from error
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            _make_folder(path)
        if read_only and path is not None:
            url = f"sqlite:///file:{path}?mode=ro&uri=true"
        # hide_parameters: a driver error never quotes a row's values (caseapp.logs).
        engine = create_engine(url, module=cipher.dbapi, hide_parameters=True,
                               connect_args={"check_same_thread": False, "timeout": 10})
        _configure_sqlite(engine, key, read_only=read_only)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # TLS never falling back to clear text; the password from the keyring
        # (caseapp.db.postgres).
        pg_engine = create_engine(
            url,
            pool_pre_ping=True,
            hide_parameters=True,
            connect_args={"connect_timeout": 10, "application_name": "caseapp",
                          **postgres.connect_args(parsed)},
        )
        postgres.use_keyring_password(pg_engine, parsed)
        return pg_engine
    raise InvalidInput(
        f"Unsupported database {parsed.get_backend_name()!r}: use sqlite:///FILE or "
        "postgresql+psycopg://USER@HOST/DB"
    )


def describe_database_error(error: BaseException, url: str) -> Exception:
    """Turn a driver error into the known problem staff should see, if it is one."""
    message = str(getattr(error, "orig", error)).lower()
    where = make_url(url).render_as_string(hide_password=True)
    if "disk is full" in message or "no space left" in message or (
        isinstance(getattr(error, "orig", None), OSError)
        and getattr(error.orig, "errno", None) == errno.ENOSPC  # type: ignore[attr-defined]
    ):
        return DiskFull(
            "The disk is full: nothing was saved. Free some space and try again."
        )
    if "file is not a database" in message or "disk image is malformed" in message:
        return DatabaseUnavailable(
            f"{where} is not a case database, the file is damaged, or its key is not the "
            "one in the keyring: nothing was changed. Check the path, or restore the file "
            "from a backup (caseapp restore FILE)."
        )
    if isinstance(error, exc.OperationalError | exc.InterfaceError):
        if "database is locked" in message:
            return DatabaseUnavailable(
                "The database is busy (locked by another program) — nothing was saved. "
                "Try again in a moment."
            )
        if "readonly" in message or "read-only" in message:
            return DatabaseUnavailable(f"The database {where} is read-only: nothing was saved.")
        if "certificate" in message:  # verify-full refused the server: no clear text either
            return DatabaseUnavailable(
                f"The case database's server ({where}) could not be verified, so no "
                "connection was made: nothing was saved. Its TLS certificate must be "
                "signed by the CA in the sslrootcert file and name the server's address; "
                "ask the administrator for the desk's CA file (Settings → Database…). "
                f"Details: {str(getattr(error, 'orig', error)).strip().splitlines()[0]}"
            )
        return DatabaseUnavailable(
            f"The case database ({where}) cannot be reached: nothing was saved. "
            f"Details: {str(getattr(error, 'orig', error)).strip().splitlines()[0]}"
        )
    return RuntimeError(str(error))


class Database:
    """An engine plus a session factory for one case database."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = _normalize_url(url)
        self.read_only = read_only
        path = sqlite_path(self.url)
        self.key: str | None = None
        """The SQLCipher key of an embedded database file (from the keyring)."""
        if path is not None and ENCRYPT_EMBEDDED:
            _make_folder(path)
            self.key = cipher.open_key(path)
        self.engine = make_engine(self.url, key=self.key, read_only=read_only)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        track_changes(self.session_factory)  # the search index, in the same transaction
        self.integrity_checked = False
        """Whether the embedded file passed its integrity check in this run."""
        self.damaged: tuple[str, ...] = ()
        """What the integrity check found; while set, no unit of work commits."""
        self.checking_since = ""
        """While a large file's integrity check runs in the background: when it started
        (the desk's local time, "10:42"). No unit of work begins or commits meanwhile."""
        self.restores = 0
        """How many times the file was replaced by a restored backup in this run."""
        event.listen(self.session_factory, "before_flush", self._refuse_if_held)
        event.listen(self.session_factory, "before_commit", self._refuse_if_held)
        guard_purged_cases(self.session_factory)  # nothing new on a purged case

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose driver errors come out as known problems (DiskFull, ...)."""
        session = self.session_factory()
        try:
            yield session
        except (exc.OperationalError, exc.InterfaceError) as error:
            session.rollback()
            raise describe_database_error(error, self.url) from error
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _refuse_if_held(self, *_args: Any) -> None:
        self.refuse_if_writes_held()

    def refuse_if_writes_held(self) -> None:
        """Raise what a write is told while the database is damaged or being checked."""
        if self.damaged:
            raise DatabaseDamaged(
                f"The case database {self.display_url} is damaged: nothing is written to it "
                "(restore it from a backup: Settings → Backups…, or caseapp restore FILE).",
                problems=self.damaged)
        if self.checking_since:
            raise DatabaseBeingChecked(
                f"The database is still being checked (started {self.checking_since}); "
                "changes can be made when the check is done — usually under a minute.")

    @property
    def writes_held(self) -> bool:
        return bool(self.damaged or self.checking_since)

    def hold_writes_for_check(self, started: str) -> None:
        """No unit of work begins or commits until :meth:`end_check_hold` (the check
        passed) or :meth:`refuse_writes` (it failed)."""
        self.checking_since = started or "just now"

    def end_check_hold(self) -> None:
        self.checking_since = ""

    def refuse_writes(self, problems: tuple[str, ...]) -> None:
        """From now on no unit of work commits (the integrity check failed)."""
        self.damaged = problems or ("damaged",)

    def allow_writes(self) -> None:
        """A restored, checked database: writes are allowed again (and a check of the
        file it replaced, still running, has no say: ``restores``)."""
        self.damaged = ()
        self.checking_since = ""
        self.integrity_checked = True
        self.restores += 1

    def file_size(self) -> int | None:
        """The embedded file's size in bytes (None for PostgreSQL or no file yet)."""
        path = self.path
        if path is None:
            return None
        try:
            return path.stat().st_size
        except OSError:
            return None

    @property
    def path(self) -> Path | None:
        """The embedded database's file (None for PostgreSQL)."""
        return sqlite_path(self.url)

    def raw_sqlite(self) -> Any:
        """A new keyed ``sqlcipher3`` connection to the embedded file (caller closes it)."""
        path = self.path
        assert path is not None
        return cipher.connect(path, self.key, read_only=self.read_only, timeout=30.0,
                              check_same_thread=False)

    def checkpoint(self) -> None:
        """SQLite: fold the write-ahead log into the file and truncate it (after deleting
        personal data: the log then holds none of the pages before the deletion). Best
        effort: a reader still open elsewhere may keep part of it until its next turn."""
        if not self.is_sqlite or self.read_only or self.path is None:
            return
        raw = self.engine.raw_connection()
        try:
            driver: Any = raw.driver_connection
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except exc.DBAPIError:
            pass
        except cipher.dbapi.Error:  # busy or locked: the next checkpoint does it
            pass
        finally:
            raw.close()

    def integrity_problems(self, *, quick: bool = True, limit: int = 20) -> tuple[str, ...]:
        """SQLite's own check of the file (``quick_check``, or the full
        ``integrity_check``); empty when it is sound. Nothing to check on PostgreSQL."""
        if not self.is_sqlite or self.path is None:
            return ()
        pragma = "quick_check" if quick else "integrity_check"
        try:
            connection = self.raw_sqlite()
        except DatabaseUnavailable:
            raise
        except cipher.dbapi.DatabaseError as error:
            return (str(error),)
        try:
            rows = connection.execute(f"PRAGMA {pragma}({int(limit)})").fetchall()
        except cipher.dbapi.DatabaseError as error:
            return (str(error),)
        finally:
            connection.close()
        found = tuple(str(row[0]) for row in rows)
        return () if found == ("ok",) else found

    def dispose(self) -> None:
        self.engine.dispose()
