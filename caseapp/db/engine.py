"""Opening the case database: SQLite (WAL, foreign keys) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from caseapp.db.purged import guard_purged_cases
from caseapp.errors import DatabaseUnavailable, DiskFull, InvalidInput
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


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so a unit of work's reads
        # and writes share one transaction (pysqlite's legacy mode defers BEGIN).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    try:
        url = _normalize_url(url)
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise InvalidInput(f"Not a database URL: {url!r}") from error
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseUnavailable(
                    f"Cannot create the folder for the database {path.parent}: {error.strerror}"
                ) from error
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10, "application_name": "caseapp"},
        )
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
            f"{where} is not a case database, or the file is damaged: nothing was changed. "
            "Check the path, or restore the file from a backup."
        )
    if isinstance(error, exc.OperationalError | exc.InterfaceError):
        if "database is locked" in message:
            return DatabaseUnavailable(
                "The database is busy (locked by another program) — nothing was saved. "
                "Try again in a moment."
            )
        if "readonly" in message or "read-only" in message:
            return DatabaseUnavailable(f"The database {where} is read-only: nothing was saved.")
        return DatabaseUnavailable(
            f"The case database ({where}) cannot be reached: nothing was saved. "
            f"Details: {str(getattr(error, 'orig', error)).strip().splitlines()[0]}"
        )
    return RuntimeError(str(error))


class Database:
    """An engine plus a session factory for one case database."""

    def __init__(self, url: str) -> None:
        self.url = _normalize_url(url)
        self.engine = make_engine(self.url)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        track_changes(self.session_factory)  # the search index, in the same transaction
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

    def dispose(self) -> None:
        self.engine.dispose()
