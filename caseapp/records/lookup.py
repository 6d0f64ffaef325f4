"""Finding a data subject's records in every customer system.

For each database source, independently of the others:

1. the desk-side index (caseapp.records.index) gives candidate keys: exact tokens
   (email forms, E.164 phone, VIN, customer id, parent's email) and blocking keys for
   fuzzy matching (surname + first initial, ZIP + surname initial: a candidate is
   missed only when the first letter of a name and the ZIP or the surname all differ);
2. those rows are **re-read from the source by key** and checked again
   (caseapp.records.matching), so a stale index never reports a row that no longer
   matches or no longer exists;
3. a cheap direct query on the raw identifier columns, with the obvious raw spellings
   (email as typed and lower-cased, the phone's common formats, the ZIP), finds rows
   added since the index was built: only rows with keys beyond the last one indexed, or
   the whole table when it was never indexed;
4. parent links carry hits both ways: a customer found brings its subscriptions,
   visits, leads...; a row found on its own (an old address, a subscription email)
   brings its parent customer, and so on.

A source that cannot be reached, or whose tables do not match the sources file, is
reported by name with the reason and the others are still searched; the lookup is then
incomplete, never "nothing found". Manual sources are reported as such (their owner
searches by hand). Nothing here writes to a customer system.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Column, ColumnElement, Connection, Engine, Row, and_, func, or_
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from caseapp.errors import EnvironmentProblem
from caseapp.records.connect import SecretLookup, open_engine, unreachable_reason
from caseapp.records.dbtables import (
    AnySelect,
    BoundTable,
    SchemaMismatch,
    columns_needed,
    key_json,
    key_text,
    reflect_source,
)
from caseapp.records.index import (
    Candidates,
    IndexReport,
    SourceIndex,
    build_index,
    index_path,
    subject_tokens,
)
from caseapp.records.matching import (
    MIN_SCORE,
    Reason,
    RowMatch,
    address_agrees,
    evaluate,
    row_facts,
    with_address_of,
)
from caseapp.records.sources import Source, SourcesConfig
from caseapp.records.sources import Table as MappedTable
from caseapp.records.subject import (
    Subject,
    email_variants,
    name_variants,
    phone_variants,
)
from caseapp.secrets import get_secret

SourceState = Literal["found", "nothing_found", "unreachable", "schema_mismatch", "manual"]
Progress = Callable[[int, int, str], None]
"""(sources done, sources in all, the source being searched: its label)"""
Cancel = Callable[[], bool]

STALE_AFTER_HOURS = 24
CHUNK = 500
MAX_LINK_ROUNDS = 6
MAX_HITS_PER_SOURCE = 5000


class LookupCancelled(Exception):
    """The lookup was cancelled; nothing was stored."""


@dataclass(frozen=True)
class FoundRecord:
    source: str
    table: str
    category: str
    key: str
    score: float
    reasons: tuple[Reason, ...]
    via: str
    snapshot: Mapping[str, object]
    """The row's key and identifier columns at lookup time (nothing else)."""

    def why(self) -> str:
        return ", ".join(r.text() for r in self.reasons)


@dataclass(frozen=True)
class SourceOutcome:
    source: str
    label: str
    state: SourceState
    detail: str = ""
    records: tuple[FoundRecord, ...] = ()
    warnings: tuple[str, ...] = ()
    index_refreshed_at: datetime | None = None

    @property
    def searched(self) -> bool:
        return self.state in ("found", "nothing_found")


@dataclass(frozen=True)
class LookupReport:
    outcomes: tuple[SourceOutcome, ...]
    seconds: float

    @property
    def complete(self) -> bool:
        """Every database source searched (manual ones are followed up by their task)."""
        return all(o.state not in ("unreachable", "schema_mismatch") for o in self.outcomes)

    @property
    def records(self) -> tuple[FoundRecord, ...]:
        return tuple(r for o in self.outcomes for r in o.records)


def snapshot_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


@dataclass
class _Hit:
    table: str
    row: dict[str, object]
    match: RowMatch
    via: str
    expanded: bool = False


@dataclass
class _Search:
    """One source searched for one subject."""

    source: Source
    engine: Engine
    tables: Mapping[str, BoundTable]
    index: SourceIndex | None
    subject: Subject
    fuzzy: bool
    cancel: Cancel | None
    now: datetime
    stale_after: timedelta
    hits: dict[tuple[str, str], _Hit] = field(default_factory=dict)
    addresses: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    """Rows of nameless child tables (address history) at the subject's address."""
    warnings: list[str] = field(default_factory=list)
    refreshed_at: datetime | None = None

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel():
            raise LookupCancelled

    def run(self) -> tuple[FoundRecord, ...]:
        exact, blocks = subject_tokens(self.subject, self.fuzzy)
        candidates = Candidates({})
        if self.index is not None:
            try:
                candidates = self.index.candidates(exact, blocks)
            except sqlite3.Error:  # closed by a rebuild meanwhile: search without it
                self.index = None
        if candidates.skipped_blocks:
            self.warnings.append(f"{candidates.skipped_blocks} name or ZIP key(s) too common "
                                 "to narrow the fuzzy search were left out")
        unindexed = []
        with self.engine.connect() as connection:
            for mapped in self.source.tables:
                self.check_cancel()
                bound = self.tables[mapped.name]
                state = (self.index.usable(self.source, mapped) if self.index is not None
                         else None)
                if state is None:
                    unindexed.append(mapped.label)
                else:
                    if self.refreshed_at is None or state.refreshed_at < self.refreshed_at:
                        self.refreshed_at = state.refreshed_at
                rows = self._read(connection, bound, candidates.keys.get(mapped.name, ()),
                                  None if state is None else state.last_key)
                for row in rows:
                    self._consider(mapped, row)
            self._resolve_addresses(connection)
            self._follow_links(connection)
        if unindexed:
            self.warnings.append("not indexed yet, searched directly (slower): "
                                 + ", ".join(unindexed))
        if self.refreshed_at is not None and self.now - self.refreshed_at > self.stale_after:
            hours = int((self.now - self.refreshed_at).total_seconds() // 3600)
            self.warnings.append(f"the index is {hours} hours old: rows changed since are "
                                 "found only after caseapp lookup --reindex")
        return tuple(self._found(hit) for hit in sorted(
            self.hits.values(), key=lambda h: (-h.match.score, h.table,
                                               key_text(h.row[self._key(h.table)]))))

    def _key(self, table: str) -> str:
        return self.tables[table].mapped.key

    # -- reading rows --

    def _columns(self, bound: BoundTable) -> tuple[str, ...]:
        return columns_needed(self.source, bound.mapped)

    def _read(self, connection: Connection, bound: BoundTable, keys: Iterable[object],
              after: object) -> list[dict[str, object]]:
        """The index's candidates, re-read by key, and in the same statement the rows the
        direct query finds: added since the index (keys after ``after``), or anywhere in
        a table never indexed."""
        wanted = sorted(keys, key=key_json)
        conditions = direct_conditions(bound, self.subject, self.fuzzy)
        direct: ColumnElement[bool] | None = None
        if conditions:
            direct = or_(*conditions)
            if after is not None:
                direct = and_(bound.key > after, direct)
        chunks = [wanted[start:start + CHUNK] for start in range(0, len(wanted), CHUNK)]
        rows: list[dict[str, object]] = []
        for number, chunk in enumerate(chunks or [[]]):
            parts: list[ColumnElement[bool]] = [bound.key.in_(chunk)] if chunk else []
            if direct is not None and number == 0:
                parts.append(direct)
            if parts:
                query = bound.select_columns(self._columns(bound)).where(or_(*parts))
                rows += [dict(r._mapping) for r in _execute(connection, query)]
        return rows

    # -- deciding --

    def _consider(self, mapped: MappedTable, row: dict[str, object],
                  link: tuple[float, str] | None = None) -> bool:
        """Add or improve the row's hit; True if it is new or better."""
        if row.get(mapped.key) is None:
            return False
        own = evaluate(row_facts(mapped, row), self.subject)
        via = ""
        match = own
        if own is not None and any(r.kind == "parent_email" for r in own.reasons):
            via = "parent email"
        if link is not None and (own is None or own.score < link[0]):
            reasons = (Reason("link", "parent"), *(own.reasons if own else ()))
            match, via = RowMatch(link[0], reasons), link[1]
        if match is None and link is None and _address_only(mapped) \
                and self.subject.names and address_agrees(row_facts(mapped, row), self.subject):
            self.addresses.setdefault(mapped.name, []).append(row)
        if match is None or match.score < MIN_SCORE:
            return False
        ident = (mapped.name, key_json(row[mapped.key]))
        current = self.hits.get(ident)
        if current is not None and current.match.score >= match.score:
            return False
        if current is None and len(self.hits) >= MAX_HITS_PER_SOURCE:
            return False
        self.hits[ident] = _Hit(mapped.name, row, match, via)
        return True

    def _resolve_addresses(self, connection: Connection) -> None:
        """A nameless row at the subject's address (an old address) is the subject's when
        its parent row carries the subject's name: the parent is checked with that
        address added to its own."""
        for table, rows in self.addresses.items():
            mapped = self.tables[table].mapped
            assert mapped.parent is not None
            link = mapped.parent
            parent = self.tables[link.table]
            target = parent.column(link.parent_column)
            by_value: dict[str, list[dict[str, object]]] = {}
            for row in rows:
                if row.get(link.column) is not None:
                    by_value.setdefault(key_text(row[link.column]), []).append(row)
            values = typed_values(target, [r[0][link.column] for r in by_value.values()])
            for start in range(0, len(values), CHUNK):
                query = parent.select_columns(self._columns(parent)).where(
                    target.in_(values[start:start + CHUNK]))
                for found in _execute(connection, query):
                    row = dict(found._mapping)
                    facts = row_facts(parent.mapped, row)
                    for child in by_value.get(key_text(row[link.parent_column]), ()):
                        match = evaluate(with_address_of(facts, row_facts(mapped, child)),
                                         self.subject)
                        if match is not None:
                            self._consider(parent.mapped, row, (match.score,
                                                                f"linked from {table}"))
                            break

    def _follow_links(self, connection: Connection) -> None:
        for _ in range(MAX_LINK_ROUNDS):
            todo = [hit for hit in self.hits.values() if not hit.expanded]
            if not todo:
                return
            self.check_cancel()
            for hit in todo:
                hit.expanded = True
            changed = False
            for table in {hit.table for hit in todo}:
                mine = [hit for hit in todo if hit.table == table]
                changed |= self._children_of(connection, table, mine)
                changed |= self._parent_of(connection, table, mine)
            if not changed:
                return

    def _children_of(self, connection: Connection, table: str, hits: list[_Hit]) -> bool:
        changed = False
        parent = self.tables[table].mapped
        for child in self.source.children(table):
            assert child.parent is not None
            bound = self.tables[child.name]
            link_column = bound.column(child.parent.column)
            by_value: dict[str, _Hit] = {}
            for hit in hits:
                value = hit.row.get(child.parent.parent_column)
                if value is not None:
                    by_value[key_json(value)] = hit
            values = typed_values(link_column, [h.row[child.parent.parent_column]
                                                for h in by_value.values()])
            for start in range(0, len(values), CHUNK):
                query = bound.select_columns(self._columns(bound)).where(
                    link_column.in_(values[start:start + CHUNK]))
                for found in _execute(connection, query):
                    row = dict(found._mapping)
                    owner = by_value.get(key_json(row[child.parent.column]))
                    if owner is None:  # e.g. an integer key held as text: match loosely
                        owner = next((h for h in by_value.values() if key_text(
                            h.row[child.parent.parent_column]) == key_text(
                            row[child.parent.column])), None)
                    if owner is None:
                        continue
                    changed |= self._consider(child, row, (
                        owner.match.score, f"parent link from {parent.name}"))
        return changed

    def _parent_of(self, connection: Connection, table: str, hits: list[_Hit]) -> bool:
        mapped = self.tables[table].mapped
        if mapped.parent is None:
            return False
        link = mapped.parent
        parent_bound = self.tables[link.table]
        # A parent already found at least as strongly needs no second reading.
        found_parents = {key_text(h.row.get(link.parent_column)): h.match.score
                         for h in self.hits.values() if h.table == link.table}
        own = [h for h in hits if not any(r.kind == "link" for r in h.match.reasons)
               and found_parents.get(key_text(h.row.get(link.column)), -1.0) < h.match.score]
        target = parent_bound.column(link.parent_column)
        by_value = {key_json(h.row[link.column]): h for h in own
                    if h.row.get(link.column) is not None}
        values = typed_values(target, [h.row[link.column] for h in by_value.values()])
        changed = False
        for start in range(0, len(values), CHUNK):
            query = parent_bound.select_columns(self._columns(parent_bound)).where(
                target.in_(values[start:start + CHUNK]))
            for found in _execute(connection, query):
                row = dict(found._mapping)
                owner = by_value.get(key_json(row[link.parent_column])) or next(
                    (h for h in by_value.values()
                     if key_text(h.row[link.column]) == key_text(row[link.parent_column])),
                    None)
                if owner is not None:
                    changed |= self._consider(parent_bound.mapped, row, (
                        owner.match.score, f"linked from {table}"))
        return changed

    def _found(self, hit: _Hit) -> FoundRecord:
        bound = self.tables[hit.table]
        mapped = bound.mapped
        shown = [mapped.key, *(c for cs in mapped.identifiers.values() for c in cs)]
        if mapped.parent:
            shown.append(mapped.parent.column)
        snapshot = {column: snapshot_value(hit.row.get(column))
                    for column in dict.fromkeys(shown)}
        return FoundRecord(self.source.name, hit.table, mapped.category,
                           key_text(hit.row[mapped.key]), hit.match.score,
                           hit.match.reasons, hit.via, snapshot)


def _execute(connection: Connection, query: AnySelect) -> list[Row[Any]]:
    return list(connection.execute(query))


def _address_only(table: MappedTable) -> bool:
    """A child table holding an address and no name (where a person used to live)."""
    ids = table.identifiers
    return (table.parent is not None
            and not any(k in ids for k in ("first_name", "last_name", "full_name"))
            and any(k in ids for k in ("street", "postal_code")))


def typed_values(column: Column[object], values: Iterable[object]) -> list[object]:
    """Values bound in the column's own type (PostgreSQL compares no text with integers):
    digits become numbers for a number column; anything becomes text for a text one."""
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = object
    typed: list[object] = []
    for value in values:
        if python_type is int:
            if isinstance(value, int) and not isinstance(value, bool):
                typed.append(value)
            elif isinstance(value, str) and value.strip().isdigit() and len(value) < 19:
                typed.append(int(value))
        elif python_type is str:
            typed.append(value if isinstance(value, str) else str(value))
        else:
            typed.append(value)
    return list(dict.fromkeys(typed))


def direct_conditions(bound: BoundTable, subject: Subject, fuzzy: bool
                      ) -> list[ColumnElement[bool]]:
    """Equality on the raw columns with the spellings a system may hold."""
    mapped = bound.mapped
    conditions: list[ColumnElement[bool]] = []

    def add(kind: str, values: Iterable[object]) -> None:
        wanted = list(values)
        if not wanted:
            return
        for name in mapped.columns_for(kind):
            column = bound.column(name)
            typed = typed_values(column, wanted)
            if typed:
                conditions.append(column.in_(typed))

    for kind, emails in (("email", subject.emails), ("parent_email", subject.parent_emails)):
        # Emails in any case and with stray spaces: compared lower-cased and trimmed.
        lowered = sorted({e.lower() for e in email_variants(
            subject.raw_emails if kind == "email" else (), emails)})
        for name in mapped.columns_for(kind) if lowered else ():
            column = bound.column(name)
            if _is_text(column):
                conditions.append(func.lower(func.trim(column)).in_(lowered))
    add("phone", phone_variants(subject.raw_phones, subject.phones))
    add("vin", [v for vin in subject.vins for v in (vin, vin.lower())])
    add("customer_id", [v for c in subject.customer_ids for v in (c, c.lower())])
    if fuzzy and subject.can_fuzzy:
        add("postal_code", [v for z in subject.zips for v in (z, z.lstrip("0"))])
        for name in mapped.columns_for("postal_code"):
            column = bound.column(name)
            if _is_text(column):
                conditions += [column.startswith(f"{z}-", autoescape=True)
                               for z in subject.zips]
        tokens = [t for name in subject.names for t in name.block_tokens]
        add("last_name", [v for t in tokens for v in name_variants(t)])
        for name in mapped.columns_for("full_name"):
            column = bound.column(name)
            if _is_text(column):
                conditions += [func.lower(column).contains(t, autoescape=True)
                               for t in tokens]
    return conditions


def _is_text(column: Column[object]) -> bool:
    try:
        return column.type.python_type is str
    except NotImplementedError:
        return False


class RecordSystems:
    """The customer systems of a sources file: connections (kept between lookups),
    their reflected tables, and their desk-side indexes."""

    def __init__(self, config: SourcesConfig, data_dir: Path, index_dir: Path | None = None,
                 secret: SecretLookup = get_secret,
                 stale_after_hours: float = STALE_AFTER_HOURS) -> None:
        self.config = config
        self.data_dir = data_dir
        self.index_dir = index_dir or data_dir / "record_index"
        self.secret = secret
        self.stale_after = timedelta(hours=stale_after_hours)
        self._connected: dict[str, tuple[Engine, dict[str, BoundTable]]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._opened: list[SourceIndex] = []

    def close(self) -> None:
        with self._lock:
            for engine, _ in self._connected.values():
                engine.dispose()
            self._connected.clear()
            for index in self._opened:
                index.close()
            self._opened.clear()
        self._local = threading.local()

    def _release(self, path: Path) -> None:
        """Close every open reader of an index file (Windows replaces no open file)."""
        with self._lock:
            for index in [i for i in self._opened if i.path == path]:
                index.close()
                self._opened.remove(index)

    def _index(self, source: Source) -> SourceIndex | None:
        """The source's index file, kept open per thread until the file changes (a
        rebuild renames a new one into place; a refresh writes to it)."""
        path = index_path(self.index_dir, source)
        try:
            found = path.stat()
        except OSError:
            return None
        stamp = (found.st_ino, found.st_mtime_ns, found.st_size)
        cache: dict[Path, tuple[tuple[int, int, int], SourceIndex]] = getattr(
            self._local, "indexes", None) or {}
        self._local.indexes = cache
        held = cache.pop(path, None)
        if held is not None:
            if held[0] == stamp and not held[1].closed:
                cache[path] = held
                return held[1]
            with self._lock:
                if held[1] in self._opened:
                    self._opened.remove(held[1])
            held[1].close()
        index = SourceIndex.open(path)
        if index is not None:
            cache[path] = (stamp, index)
            with self._lock:
                self._opened.append(index)
        return index

    def connect(self, source: Source) -> tuple[Engine, dict[str, BoundTable]]:
        """The source's engine and reflected tables (SourceUnavailable, SchemaMismatch or
        a driver error if it cannot be had)."""
        with self._lock:
            if source.name in self._connected:
                return self._connected[source.name]
        engine = open_engine(source, self.data_dir, self.secret)
        try:
            tables = reflect_source(source, engine)
        except BaseException:
            engine.dispose()
            raise
        with self._lock:
            if source.name in self._connected:  # another thread was quicker
                engine.dispose()
                return self._connected[source.name]
            self._connected[source.name] = (engine, tables)
        return engine, tables

    def forget(self, source: Source) -> None:
        with self._lock:
            connected = self._connected.pop(source.name, None)
        if connected is not None:
            connected[0].dispose()

    def search_source(self, source: Source, subject: Subject, *, now: datetime,
                      fuzzy: bool = True, cancel: Cancel | None = None) -> SourceOutcome:
        if source.manual is not None:
            return SourceOutcome(source.name, source.label, "manual",
                                 f"searched by hand: {source.manual.owner}")
        try:
            engine, tables = self.connect(source)
        except EnvironmentProblem as problem:
            return SourceOutcome(source.name, source.label, "unreachable", problem.message)
        except SchemaMismatch as mismatch:
            return SourceOutcome(source.name, source.label, "schema_mismatch",
                                 "; ".join(mismatch.problems))
        except SQLAlchemyError as error:
            url = open_url(source, self)
            return SourceOutcome(source.name, source.label, "unreachable",
                                 f"{source.label}: {unreachable_reason(error, url)}")
        index = self._index(source)
        search = _Search(source, engine, tables, index, subject, fuzzy, cancel, now,
                         self.stale_after)
        try:
            records = search.run()
        except SQLAlchemyError as error:
            self.forget(source)  # reconnect and reflect again next time
            return SourceOutcome(source.name, source.label, "unreachable",
                                 f"{source.label}: {unreachable_reason(error, engine.url)}")
        return SourceOutcome(source.name, source.label,
                             "found" if records else "nothing_found", "", records,
                             tuple(search.warnings), search.refreshed_at)

    def lookup(self, subject: Subject, *, now: datetime, fuzzy: bool = True,
               progress: Progress | None = None, cancel: Cancel | None = None
               ) -> LookupReport:
        """Every source searched, each on its own; LookupCancelled if cancelled."""
        started = time.perf_counter()
        outcomes = []
        sources = self.config.sources
        for number, source in enumerate(sources):
            if cancel is not None and cancel():
                raise LookupCancelled
            if progress is not None:
                progress(number, len(sources), source.label)
            outcomes.append(self.search_source(source, subject, now=now, fuzzy=fuzzy,
                                               cancel=cancel))
        if progress is not None:
            progress(len(sources), len(sources), "")
        return LookupReport(tuple(outcomes), time.perf_counter() - started)

    def reindex(self, name: str | None = None, *, now: datetime, full: bool = False,
                progress: Callable[[str, int, int], None] | None = None,
                cancel: Cancel | None = None) -> tuple[IndexReport | SourceOutcome, ...]:
        """Build or refresh the index of one source (by name) or of all database
        sources; a source that cannot be read is reported (as a SourceOutcome) and the
        others are still indexed."""
        sources = [self.config.source(name)] if name else list(self.config.sources)
        results: list[IndexReport | SourceOutcome] = []
        for source in sources:
            if source.manual is not None:
                continue
            def step(done: int, total: int, label: str = source.label) -> None:
                if progress is not None:
                    progress(label, done, total)

            try:
                engine, tables = self.connect(source)
                self._release(index_path(self.index_dir, source))
                results.append(build_index(source, engine, tables, self.index_dir, now=now,
                                           full=full, progress=step, cancel=cancel))
            except EnvironmentProblem as problem:
                results.append(SourceOutcome(source.name, source.label, "unreachable",
                                             problem.message))
            except SchemaMismatch as mismatch:
                results.append(SourceOutcome(source.name, source.label, "schema_mismatch",
                                             "; ".join(mismatch.problems)))
            except SQLAlchemyError as error:
                self.forget(source)
                reason = unreachable_reason(error, open_url(source, self))
                results.append(SourceOutcome(source.name, source.label, "unreachable",
                                             f"{source.label}: {reason}"))
        return tuple(results)

    def read_rows(self, source: Source, table: str, keys: Iterable[str]
                  ) -> dict[str, dict[str, object]]:
        """Whole rows by key (as record_hits.record_key holds them), for access reports."""
        engine, tables = self.connect(source)
        bound = tables[table]
        wanted = typed_values(bound.key, [bound.key_value(k) for k in keys])
        names = list(dict.fromkeys((*columns_needed(source, bound.mapped),
                                    *(c.name for c in bound.table.columns))))
        names = [n for n in names if n in bound.columns]
        rows: dict[str, dict[str, object]] = {}
        with engine.connect() as connection:
            for start in range(0, len(wanted), CHUNK):
                query = bound.select_columns(names).where(
                    bound.key.in_(wanted[start:start + CHUNK]))
                for found in connection.execute(query):
                    row = dict(found._mapping)
                    rows[key_text(row[bound.mapped.key])] = row
        return rows


def open_url(source: Source, systems: RecordSystems) -> URL:
    return make_url(source.url_for(systems.data_dir))
