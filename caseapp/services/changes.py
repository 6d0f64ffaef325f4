"""Hearing of other workstations' changes without restarting.

``watch(db, callback)`` starts a thread that calls ``callback(CaseChanges)`` whenever
cases changed in the database, whoever changed them (this desk included):

- PostgreSQL: the thread holds a connection of its own (autocommit, ``LISTEN
  caseapp_cases``) and wakes on the notifications each committing transaction sends
  (caseapp.db.notify). A lost connection is retried every few seconds; once back, the
  callback gets ``resync=True`` (changes may have been missed: reload everything).
- SQLite: every ``poll_seconds`` the thread asks its own connection for ``PRAGMA
  data_version`` (it changes when another connection committed) and only then reads the
  audit events written since the last look, for the cases they name.

Nothing committed after ``watch()`` returned is missed: the last audit event is read
before it returns, and once the thread listens (or took its first look) it reports the
events written since then. So a window that starts the watch before it loads its list
hears of every change its list may not show (the thread starts up in the background).

The callback runs in the watcher's thread: the window turns it into a Qt signal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from caseapp.db.engine import Database
from caseapp.db.models import AuditEvent, Case
from caseapp.db.notify import CHANNEL, parse_payload

log = logging.getLogger(__name__)

RETRY_SECONDS = 3.0
LISTEN_WAKE_SECONDS = 0.5  # how soon a stopped listener notices


@dataclass(frozen=True)
class CaseChanges:
    """Cases changed since the last call (by anyone, this desk too)."""

    refs: frozenset[str] = field(default_factory=frozenset)
    case_ids: frozenset[int] = field(default_factory=frozenset)
    resync: bool = False
    """Changes may have been missed (the connection was lost): reload everything."""


Callback = Callable[[CaseChanges], None]


class ChangeWatch:
    """A running watcher; ``stop()`` ends it (and waits for its thread)."""

    def __init__(self, db: Database, callback: Callback, poll_seconds: float) -> None:
        self._db = db
        self._callback = callback
        self._poll = poll_seconds
        self._stopping = threading.Event()
        self.listening = threading.Event()
        """Set once the thread listens (or polls); changes committed since the watch
        started are reported either way."""
        self._since = _last_seq(db)
        """The last audit event when the watch started (None: not read): the thread
        reports what was written after it, however late it starts."""
        target = self._listen if not db.is_sqlite else self._poll_sqlite
        self._thread = threading.Thread(target=target, name="caseapp-changes", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _deliver(self, changes: CaseChanges) -> None:
        if self._stopping.is_set():
            return
        try:
            self._callback(changes)
        except Exception:  # a broken callback must not end the watching
            log.exception("The change callback failed")

    # --- PostgreSQL ----------------------------------------------------------------------
    def _listen(self) -> None:
        missed = False
        while not self._stopping.is_set():
            try:
                self._listen_once(resync=missed)
            except Exception as error:  # the server went away: try again, then resync
                log.warning("Listening for changes failed (%s); retrying", error)
            missed = True
            self.listening.clear()
            self._stopping.wait(RETRY_SECONDS)

    def _listen_once(self, resync: bool) -> None:
        # A connection of the engine's (same address, TLS and password), taken out of the
        # pool for good: it sits in LISTEN for as long as the watch runs.
        fairy = self._db.engine.raw_connection()
        connection: Any = fairy.driver_connection
        fairy.detach()
        try:
            connection.autocommit = True
            connection.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            since, self._since = self._since, None  # the start's baseline, once
            if resync or since is None:
                self._deliver(CaseChanges(resync=True))
            else:  # committed before LISTEN took hold, after the watch started
                missed = _ids_since_pg(connection, since)
                if missed:
                    self._deliver(CaseChanges(refs=_refs_pg(connection, missed),
                                              case_ids=frozenset(missed)))
            while not self._stopping.is_set():
                ids: set[int] = set()
                for notice in connection.notifies(timeout=LISTEN_WAKE_SECONDS, stop_after=1):
                    ids |= parse_payload(notice.payload)
                if ids:  # and what else arrived with it, in one delivery
                    for notice in connection.notifies(timeout=0.05):
                        ids |= parse_payload(notice.payload)
                    self._deliver(CaseChanges(refs=_refs_pg(connection, ids),
                                              case_ids=frozenset(ids)))
        finally:
            connection.close()

    # --- SQLite --------------------------------------------------------------------------
    def _poll_sqlite(self) -> None:
        missed = False
        while not self._stopping.is_set():
            try:
                with self._db.engine.connect() as connection:
                    self._poll_with(connection, resync=missed)
            except Exception as error:
                log.warning("Polling the database for changes failed (%s); retrying", error)
            missed = True
            self.listening.clear()
            self._stopping.wait(RETRY_SECONDS)

    def _poll_with(self, connection: Connection, resync: bool) -> None:
        # The version first: a commit after it changes it, one before it is read below.
        version = _data_version(connection)
        since, self._since = self._since, None  # the start's baseline, once
        if resync or since is None:
            last_seq = connection.scalar(
                select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0
            connection.rollback()
            self.listening.set()
            self._deliver(CaseChanges(resync=True))
        else:  # what was committed since the watch started, however late this thread is
            self.listening.set()
            last_seq = self._report_since(connection, since)
        while not self._stopping.wait(self._poll):
            now_version = _data_version(connection)
            if now_version == version:
                connection.rollback()
                continue
            version = now_version
            last_seq = self._report_since(connection, last_seq)

    def _report_since(self, connection: Connection, last_seq: int) -> int:
        """Report the cases of the audit events after ``last_seq``; the last one's seq."""
        rows = connection.execute(
            select(AuditEvent.seq, AuditEvent.case_id, AuditEvent.case_ref)
            .where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq)).all()
        connection.rollback()
        if not rows:
            return last_seq
        ids = frozenset(row.case_id for row in rows if row.case_id is not None)
        refs = frozenset(row.case_ref for row in rows if row.case_ref)
        if ids:
            self._deliver(CaseChanges(refs=refs, case_ids=ids))
        return int(rows[-1].seq)


def _last_seq(db: Database) -> int | None:
    """The last audit event's seq (None when the database cannot be read now: the thread
    then starts with a resync)."""
    try:
        with db.engine.connect() as connection:
            return int(connection.scalar(
                select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)
    except Exception as error:  # the thread retries and resyncs
        log.warning("Reading where the changes start failed (%s)", error)
        return None


def _ids_since_pg(connection: Any, seq: int) -> set[int]:
    rows = connection.execute(
        f"SELECT DISTINCT case_id FROM {AuditEvent.__tablename__} "
        "WHERE seq > %s AND case_id IS NOT NULL", (seq,)).fetchall()
    return {int(row[0]) for row in rows}


def _data_version(connection: Connection) -> int:
    return int(connection.exec_driver_sql("PRAGMA data_version").scalar() or 0)


def _refs_pg(connection: Any, ids: set[int]) -> frozenset[str]:
    rows = connection.execute(f"SELECT ref FROM {Case.__tablename__} WHERE id = ANY(%s)",
                              (sorted(ids),)).fetchall()
    return frozenset(row[0] for row in rows)


def watch(db: Database, callback: Callback, poll_seconds: float = 2.0) -> ChangeWatch:
    return ChangeWatch(db, callback, poll_seconds)
