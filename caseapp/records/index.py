"""The desk-side identifier index: which record keys carry which identifiers.

Customer systems store identifiers in messy formats ("(916) 555-0143", "JOSE.NUNEZ@
EXAMPLE.COM", ZIP+4) and the desk cannot add indexes to them, so an exact query on a
normalized value is impossible there and a scan of a million rows per lookup too slow.
The desk keeps its own index instead: per record key, the normalized exact identifiers
(email in all its forms, E.164 phone, VIN, customer id, parent's email) and the blocking
keys fuzzy matching starts from (ZIP, surname words).

Where it lives, and why: **one SQLite file per source in the user data folder**
(``<data>/record_index/<source>.sqlite3``), not tables in the case database.
- It is a cache, rebuilt from the sources at any time: it has no place in the case
  database's backups, migrations or audit trail, and losing it loses nothing.
- The lookup's hot path is a local, covering integer index: well under a millisecond,
  whatever the case database is; on a shared PostgreSQL desk nothing extra crosses the
  network, and the index does not grow the shared database by tens of millions of rows.
- It works the same whether the case database is SQLite or PostgreSQL, because it never
  touches it. Each workstation builds its own (``caseapp lookup --reindex``); the price
  is that build per workstation, kept small by incremental refreshes.
- One file per source: a full rebuild writes a new file and renames it into place, so a
  lookup meanwhile reads the old one; a cancelled build leaves the old one as it was.

What it holds is not readable: each token is a keyed 64-bit BLAKE2 hash of
"kind:value" (the key is random per file), so the file is no copy of the customers'
emails, phones or names. (The key sits in the same file: this stops precomputed
tables, not someone holding the file and guessing one person's email.) Record keys are
stored as the sources hold them.

It is never trusted on its own: a lookup re-reads every candidate row from the source
by key and checks it again, so a stale index can miss a changed row (which the direct
query and the next refresh find) but never report a row that no longer matches.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import datetime
from hashlib import blake2b, sha256
from pathlib import Path

from sqlalchemy import Engine, func, select

from caseapp.records.dbtables import BoundTable, key_json
from caseapp.records.matching import fast_phone, row_names
from caseapp.records.nicknames import first_initials
from caseapp.records.normalize import (
    email_forms,
    normalize_vin,
    normalize_zip,
)
from caseapp.records.sources import Source
from caseapp.records.sources import Table as MappedTable
from caseapp.records.subject import PersonName, Subject, normalize_customer_id

FORMAT = "2"
BATCH = 5000
BLOCK_LIMIT = 20_000
"""A blocking key held by more records than this is too common to narrow anything."""
EXACT_KINDS = ("email", "phone", "vin", "customer_id", "parent_email")
BLOCK_KINDS = ("postal_code", "first_name", "last_name", "full_name")

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]

_SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tables (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, fingerprint TEXT NOT NULL,
    rows INTEGER NOT NULL, last_key TEXT, built_at TEXT NOT NULL, refreshed_at TEXT NOT NULL,
    seconds REAL NOT NULL);
CREATE TABLE records (id INTEGER PRIMARY KEY, tbl INTEGER NOT NULL, key TEXT NOT NULL);
CREATE TABLE tokens (token INTEGER NOT NULL, record INTEGER NOT NULL);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS tokens_token ON tokens (token, record);
CREATE INDEX IF NOT EXISTS records_table ON records (tbl);
"""


class IndexCancelled(Exception):
    """The build was cancelled; the index is as it was before."""


def index_path(folder: Path, source: Source) -> Path:
    return folder / f"{source.name}.sqlite3"


def table_fingerprint(source: Source, table: MappedTable) -> str:
    """Changes when what the index holds for the table would change."""
    described = {"url": source.url, "table": table.db_table, "key": table.key,
                 "ids": {k: list(v) for k, v in sorted(table.identifiers.items())},
                 "format": FORMAT}
    return sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


# --- tokens -----------------------------------------------------------------------------


def row_tokens(table: MappedTable, row: Mapping[str, object]) -> set[str]:
    """What the index holds for one row, as "kind:value" before hashing."""
    tokens: set[str] = set()
    ids = table.identifiers

    def values(kind: str) -> Iterator[object]:
        for column in ids.get(kind, ()):
            value = row.get(column)
            if value not in (None, ""):
                yield value

    for value in values("email"):
        tokens.update(f"e:{form}" for form in email_forms(value))
    for value in values("parent_email"):
        tokens.update(f"pe:{form}" for form in email_forms(value))
    for value in values("phone"):
        phone = fast_phone(value)
        if phone:
            tokens.add(f"p:{phone}")
    for value in values("vin"):
        vin = normalize_vin(value, check_digit=False)
        if vin:
            tokens.add(f"v:{vin}")
    for value in values("customer_id"):
        number = normalize_customer_id(value)
        if number:
            tokens.add(f"c:{number}")
    zips = {code for code in (normalize_zip(v) for v in values("postal_code")) if code}
    names = row_names(table, row)
    if names:
        tokens |= name_blocks(names, zips)
    else:  # an address without a name (an old address): found by its ZIP
        tokens.update(f"z:{code}" for code in zips)
    return tokens


def name_blocks(names: Iterable[PersonName], zips: Iterable[str]) -> set[str]:
    """The fuzzy-matching blocks of a person: surname word + first-name initial
    (nicknames' initials too), and ZIP + surname initial. A candidate shares one with the
    subject unless both the first letter of a name and the ZIP (or the surname) differ."""
    blocks: set[str] = set()
    codes = list(zips)
    for name in names:
        for word in name.block_tokens:
            blocks.update(f"nf:{word}:{initial}" for initial in first_initials(name.first))
            blocks.update(f"zl:{code}:{word[0]}" for code in codes)
    return blocks


def indexable(table: MappedTable) -> bool:
    """Whether the table has a column the index holds."""
    return any(kind in table.identifiers for kind in (*EXACT_KINDS, *BLOCK_KINDS))


def subject_tokens(subject: Subject, fuzzy: bool = True) -> tuple[set[str], set[str]]:
    """(exact tokens, blocking tokens) to look up for a subject."""
    exact = {f"e:{e}" for e in subject.emails} | {f"pe:{e}" for e in subject.parent_emails}
    exact |= {f"p:{p}" for p in subject.phones} | {f"v:{v}" for v in subject.vins}
    exact |= {f"c:{c}" for c in subject.customer_ids}
    blocks: set[str] = set()
    if fuzzy and subject.can_fuzzy:
        blocks = name_blocks(subject.names, subject.zips) | {f"z:{z}" for z in subject.zips}
    return exact, blocks


def _hasher(salt: bytes) -> Callable[[str], int]:
    def token_hash(text: str) -> int:
        digest = blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8,
                         key=salt).digest()
        return int.from_bytes(digest, "big", signed=True)

    return token_hash


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TableState:
    name: str
    fingerprint: str
    rows: int
    last_key: object
    built_at: datetime
    refreshed_at: datetime
    seconds: float


@dataclass(frozen=True)
class Candidates:
    keys: dict[str, set[object]]
    """Table name → record keys (typed as the source holds them)."""
    skipped_blocks: int = 0
    """Blocking keys too common to use (more than BLOCK_LIMIT records)."""


class SourceIndex:
    """An open index file of one source (read side)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.closed = False
        self.connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                          check_same_thread=False)
        meta = dict(self.connection.execute("SELECT name, value FROM meta").fetchall())
        if meta.get("format") != FORMAT:
            self.connection.close()
            raise sqlite3.DatabaseError("index format")
        self._hash = _hasher(bytes.fromhex(meta["salt"]))
        self.tables: dict[str, TableState] = {}
        self._ids: dict[int, str] = {}
        for tid, name, fingerprint, rows, last_key, built, refreshed, seconds in \
                self.connection.execute("SELECT id, name, fingerprint, rows, last_key, "
                                        "built_at, refreshed_at, seconds FROM tables"):
            self.tables[name] = TableState(
                name, fingerprint, rows, json.loads(last_key) if last_key else None,
                datetime.fromisoformat(built), datetime.fromisoformat(refreshed), seconds)
            self._ids[tid] = name

    @staticmethod
    def open(path: Path) -> SourceIndex | None:
        if not path.is_file():
            return None
        try:
            return SourceIndex(path)
        except (sqlite3.Error, KeyError, ValueError):
            return None  # unreadable or from another version: as if not built

    def close(self) -> None:
        self.closed = True
        self.connection.close()

    def usable(self, source: Source, table: MappedTable) -> TableState | None:
        state = self.tables.get(table.name)
        if state is None or state.fingerprint != table_fingerprint(source, table):
            return None
        return state

    def candidates(self, exact: Iterable[str], blocks: Iterable[str]) -> Candidates:
        found: dict[str, set[object]] = {}
        records: set[int] = set()
        exact_hashes = [self._hash(t) for t in exact]
        if exact_hashes:
            marks = ",".join("?" * len(exact_hashes))
            records.update(r for (r,) in self.connection.execute(
                f"SELECT record FROM tokens WHERE token IN ({marks})", exact_hashes))
        skipped = 0
        for token in blocks:
            rows = self.connection.execute(
                "SELECT record FROM tokens WHERE token = ? LIMIT ?",
                (self._hash(token), BLOCK_LIMIT + 1)).fetchall()
            if len(rows) > BLOCK_LIMIT:
                skipped += 1
                continue
            records.update(r for (r,) in rows)
        ids = sorted(records)
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            for tid, key in self.connection.execute(
                    f"SELECT tbl, key FROM records WHERE id IN ({marks})", chunk):
                found.setdefault(self._ids[tid], set()).add(json.loads(key))
        return Candidates(found, skipped)


# --- building ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexReport:
    source: str
    full: bool
    tables: dict[str, int]
    """Rows read per table in this build."""
    seconds: float
    path: Path


def _now_text(now: datetime) -> str:
    return now.isoformat(timespec="seconds")


def build_index(source: Source, engine: Engine, tables: Mapping[str, BoundTable],
                folder: Path, *, now: datetime, full: bool = False,
                progress: Progress | None = None, cancel: Cancel | None = None) -> IndexReport:
    """Scan the source's tables by key order and index them.

    ``full`` (or no usable index yet) writes a new file, renamed into place when
    complete. Otherwise the existing file is brought up to date: rows with keys beyond
    the last one indexed are added, and a table whose mapping changed is re-read whole.
    """
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    path = index_path(folder, source)
    existing = None if full else SourceIndex.open(path)
    if existing is not None:
        existing.close()
        report = _refresh(source, engine, tables, path, now, progress, cancel)
        return IndexReport(source.name, False, report, time.perf_counter() - started, path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.building")
    with suppress(FileNotFoundError):
        temp.unlink()
    try:
        with closing(sqlite3.connect(temp, isolation_level=None)) as connection:
            connection.execute("PRAGMA journal_mode=OFF")
            connection.execute("PRAGMA synchronous=OFF")
            connection.executescript(_SCHEMA)
            salt = secrets.token_bytes(16)
            connection.executemany("INSERT INTO meta VALUES (?, ?)",
                                   [("format", FORMAT), ("salt", salt.hex()),
                                    ("source", source.name), ("created_at", _now_text(now))])
            connection.execute("BEGIN")
            counts = _scan_all(source, engine, tables, connection, _hasher(salt), now,
                               progress, cancel, since=None)
            connection.execute("COMMIT")
            connection.executescript(_INDEXES)
            connection.execute("ANALYZE")
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            temp.unlink()
        raise
    return IndexReport(source.name, True, counts, time.perf_counter() - started, path)


def _refresh(source: Source, engine: Engine, tables: Mapping[str, BoundTable], path: Path,
             now: datetime, progress: Progress | None, cancel: Cancel | None
             ) -> dict[str, int]:
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        meta = dict(connection.execute("SELECT name, value FROM meta").fetchall())
        hasher = _hasher(bytes.fromhex(meta["salt"]))
        since: dict[str, object] = {}
        connection.execute("BEGIN")
        try:
            for name, fingerprint, last_key in connection.execute(
                    "SELECT name, fingerprint, last_key FROM tables").fetchall():
                mapped = next((t for t in source.tables if t.name == name), None)
                if mapped is None or fingerprint != table_fingerprint(source, mapped):
                    _drop_table(connection, name)  # re-read whole below
                else:
                    since[name] = json.loads(last_key) if last_key else None
            counts = _scan_all(source, engine, tables, connection, hasher, now, progress,
                               cancel, since=since)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    return counts


def _drop_table(connection: sqlite3.Connection, name: str) -> None:
    row = connection.execute("SELECT id FROM tables WHERE name = ?", (name,)).fetchone()
    if row is None:
        return
    connection.execute("DELETE FROM tokens WHERE record IN (SELECT id FROM records WHERE "
                       "tbl = ?)", row)
    connection.execute("DELETE FROM records WHERE tbl = ?", row)
    connection.execute("DELETE FROM tables WHERE id = ?", row)


def _scan_all(source: Source, engine: Engine, tables: Mapping[str, BoundTable],
              connection: sqlite3.Connection, hasher: Callable[[str], int], now: datetime,
              progress: Progress | None, cancel: Cancel | None,
              since: dict[str, object] | None) -> dict[str, int]:
    """Index every table (a refresh: only keys after ``since[table]``)."""
    todo = [tables[t.name] for t in source.tables if t.name in tables]
    totals: dict[str, int] = {}
    with engine.connect() as source_connection:
        for bound in todo:
            if not indexable(bound.mapped):
                totals[bound.mapped.name] = 0
                continue
            query = select(func.count()).select_from(bound.table)
            if since is not None and since.get(bound.mapped.name) is not None:
                query = query.where(bound.key > since[bound.mapped.name])
            totals[bound.mapped.name] = int(source_connection.scalar(query) or 0)
    total = sum(totals.values())
    done = 0
    counts: dict[str, int] = {}
    for bound in todo:
        name = bound.mapped.name
        fresh = since is None or name not in since
        started = time.perf_counter()
        last = None if fresh or since is None else since[name]
        if fresh:
            connection.execute(
                "INSERT INTO tables (name, fingerprint, rows, last_key, built_at, "
                "refreshed_at, seconds) VALUES (?, ?, 0, NULL, ?, ?, 0)",
                (name, table_fingerprint(source, bound.mapped), _now_text(now),
                 _now_text(now)))
        (tid,) = connection.execute("SELECT id FROM tables WHERE name = ?",
                                    (name,)).fetchone()
        read = 0
        # A table with nothing to index (found only through its parent) is not read.
        for rows in _batches(engine, bound, last) if indexable(bound.mapped) else ():
            if cancel is not None and cancel():
                raise IndexCancelled
            _add_rows(connection, bound.mapped, tid, rows, hasher)
            read += len(rows)
            last = rows[-1][bound.mapped.key]
            done += len(rows)
            if progress is not None:
                progress(min(done, total), total)
        connection.execute(
            "UPDATE tables SET rows = rows + ?, last_key = COALESCE(?, last_key), "
            "refreshed_at = ?, seconds = ? WHERE id = ?",
            (read, key_json(last) if last is not None else None, _now_text(now),
             time.perf_counter() - started, tid))
        counts[name] = read
    if progress is not None:
        progress(total, total)
    return counts


def _batches(engine: Engine, bound: BoundTable, after: object
             ) -> Iterator[list[dict[str, object]]]:
    """The table's rows in key order, BATCH at a time (keyset paging: no long-held
    cursor, and each batch is a short read for the source)."""
    mapped = bound.mapped
    wanted = [mapped.key, *(c for kind in (*EXACT_KINDS, *BLOCK_KINDS)
                            for c in mapped.identifiers.get(kind, ()))]
    names = list(dict.fromkeys(wanted))
    while True:
        query = bound.select_columns(names).where(bound.key.is_not(None))
        if after is not None:
            query = query.where(bound.key > after)
        query = query.order_by(bound.key).limit(BATCH)
        with engine.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(query)]
        if not rows:
            return
        yield rows
        after = rows[-1][mapped.key]
        if len(rows) < BATCH:
            return


def _add_rows(connection: sqlite3.Connection, table: MappedTable, tid: int,
              rows: list[dict[str, object]], hasher: Callable[[str], int]) -> None:
    start = connection.execute("SELECT COALESCE(MAX(id), 0) FROM records").fetchone()[0]
    records: list[tuple[int, int, str]] = []
    tokens: list[tuple[int, int]] = []
    for row in rows:
        found = row_tokens(table, row)
        if not found:
            continue  # never a candidate: a row without identifiers needs no entry
        record = start + len(records) + 1
        records.append((record, tid, key_json(row[table.key])))
        tokens.extend((hasher(token), record) for token in found)
    connection.executemany("INSERT INTO records (id, tbl, key) VALUES (?, ?, ?)", records)
    connection.executemany("INSERT INTO tokens (token, record) VALUES (?, ?)", tokens)
