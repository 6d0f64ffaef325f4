"""Planning an action in one source: which rows change and how, which are kept and why.

The same planner serves the preview (read only) and the execution (inside the source's
transaction, rows locked where the database can), so what runs is what was planned from
the rows as they are at that moment. Targets are read by their key column; for a
deletion, an opt-out and a stop-sharing, the rows of child tables (``parent`` links)
follow each target that is not kept, down every level. Everything is SQLAlchemy Core on
reflected tables with bound parameters; no SQL text is ever built.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, MetaData, select
from sqlalchemy.exc import NoSuchTableError

from caseapp.errors import InvalidInput
from caseapp.records import normalize
from caseapp.records.action_model import (
    ActionKind,
    ColumnChange,
    KeptRow,
    Notice,
    Operation,
    RowChange,
    SourcePlan,
    TablePlan,
    Value,
)
from caseapp.records.sources import (
    Deidentify,
    DeleteRows,
    Flag,
    Retention,
    Source,
    SourcesConfig,
    Suppress,
    Table,
)
from caseapp.vocabulary import IDENTIFIER_KINDS

CHUNK = 500
"""Keys per statement: far below every database's limit on bound parameters."""
SHARE_CATEGORIES = frozenset({"affiliate_shares", "dealer_leads"})
FOLLOWING_KINDS = frozenset({"delete", "opt_out", "stop_sharing"})

Row = dict[str, Any]


class PlanProblem(Exception):
    """The source cannot be planned as the file describes it (a table or column missing,
    a key column that is not unique); the message says what."""


# --- small helpers --------------------------------------------------------------------------


def chunks(values: Sequence[Any], size: int | None = None) -> Iterator[Sequence[Any]]:
    step = size or CHUNK
    for start in range(0, len(values), step):
        yield values[start:start + step]


def plain(value: Any) -> Value:
    """A value as JSON can hold it (dates, decimals and the like as text)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def same(stored: Any, wanted: Value) -> bool:
    """The stored value already is the wanted one ("95814" in an integer column too)."""
    if stored is None or wanted is None:
        return stored is None and wanted is None
    return bool(stored == wanted) or str(plain(stored)) == str(wanted)


def digest(row: Mapping[str, Any], leave_out: Collection[str] = ()) -> str:
    """A fingerprint of the row's columns other than ``leave_out``."""
    skip = {name.lower() for name in leave_out}
    items = sorted((name.lower(), repr(value)) for name, value in row.items()
                   if name.lower() not in skip)
    return hashlib.sha256(json.dumps(items).encode("utf-8")).hexdigest()[:40]


def column(table: sa.Table, name: str) -> sa.ColumnElement[Any]:
    if name in table.c:
        return table.c[name]
    for candidate in table.c:
        if candidate.name.lower() == name.lower():
            return candidate
    raise PlanProblem(f"table {table.fullname} has no column {name}")


def value_of(row: Mapping[str, Any], name: str) -> Any:
    if name in row:
        return row[name]
    lowered = name.lower()
    for key, value in row.items():
        if key.lower() == lowered:
            return value
    return None


def coerce_key(key_column: sa.ColumnElement[Any], key: str) -> object | None:
    """The key as the column's type holds it; None for a key that cannot be one."""
    try:
        python_type = key_column.type.python_type
    except NotImplementedError:
        return key
    try:
        if python_type is int:
            return int(key)
        if python_type is float:
            return float(key)
        if python_type is Decimal:
            return Decimal(key)
    except (ValueError, InvalidOperation):
        return None
    return key


def reflect(connection: Connection, tables: Iterable[Table]) -> dict[str, sa.Table]:
    metadata = MetaData()
    found: dict[str, sa.Table] = {}
    for table in tables:
        schema, _, name = table.db_table.rpartition(".")
        try:
            found[table.name] = sa.Table(name, metadata, schema=schema or None,
                                         autoload_with=connection)
        except NoSuchTableError:
            raise PlanProblem(f"table {table.db_table} is missing") from None
    return found


def select_rows(connection: Connection, table: sa.Table, where: sa.ColumnElement[Any],
                values: Sequence[Any], *, lock: bool) -> list[Row]:
    rows: list[Row] = []
    for part in chunks(values):
        statement = select(table).where(where.in_(part))
        if lock and connection.dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE locks
            statement = statement.with_for_update()
        rows.extend(dict(row._mapping) for row in connection.execute(statement))
    return rows


def depth_of(source: Source, table: Table) -> int:
    depth = 0
    while table.parent is not None:
        table = source.table(table.parent.table)
        depth += 1
    return depth


def descendants(source: Source, names: Iterable[str]) -> list[Table]:
    """The named tables and every table below them, in file order."""
    wanted = set(names)
    grew = True
    while grew:
        grew = False
        for table in source.tables:
            if table.name not in wanted and table.parent and table.parent.table in wanted:
                wanted.add(table.name)
                grew = True
    return [table for table in source.tables if table.name in wanted]


# --- corrections ----------------------------------------------------------------------------


def normalized_correction(kind: str, value: str) -> str:
    """The new value in the canonical form for its kind; InvalidInput if it is not one."""
    text = " ".join(value.split())
    checks = {"email": normalize.normalize_email, "parent_email": normalize.normalize_email,
              "phone": normalize.normalize_phone, "state": normalize.normalize_state,
              "postal_code": normalize.normalize_zip, "vin": normalize.normalize_vin,
              "ip_address": normalize.normalize_ip}
    check = checks.get(kind)
    result = check(text) if check else text
    if not result:
        raise InvalidInput(f"The new {kind.replace('_', ' ')} {value!r} is not a valid "
                           f"{kind.replace('_', ' ')}; nothing was changed")
    return result


def correction_values(table: Table,
                      corrections: Mapping[str, str]) -> tuple[dict[str, Value], str]:
    """Column → new value for this table, and a note on what could not be corrected."""
    protected = {table.key.lower()}
    if table.parent:
        protected.add(table.parent.column.lower())
    values: dict[str, Value] = {}
    notes: list[str] = []
    for name, value in corrections.items():
        if name in IDENTIFIER_KINDS:
            kind, columns = name, list(table.columns_for(name))
        else:
            kinds = [k for k, cs in table.identifiers.items() if name in cs]
            if not kinds:
                continue
            kind, columns = kinds[0], [name]
        columns = [c for c in columns if c.lower() not in protected]
        if len(columns) > 1:
            notes.append(f"{kind} is held in {len(columns)} columns ({', '.join(columns)}): "
                         "name the column to correct")
            continue
        if columns:
            values[columns[0]] = normalized_correction(kind, value)
    if not values and not notes:
        notes.append("none of the corrected identifiers is held in this table")
    return values, "; ".join(notes)


def check_corrections(config: SourcesConfig, targets: Iterable[tuple[str, str]],
                      corrections: Mapping[str, str]) -> None:
    """Every key names an identifier kind or an identifier column of a target table, and
    every value is valid for its kind (InvalidInput otherwise)."""
    if not corrections:
        raise InvalidInput("A correction needs at least one new value")
    tables = [config.source(s).table(t) for s, t in targets]
    for name, value in corrections.items():
        if name in IDENTIFIER_KINDS:
            normalized_correction(name, value)
            continue
        kinds = [k for table in tables for k, cs in table.identifiers.items() if name in cs]
        if not kinds:
            raise InvalidInput(f"{name!r} is neither an identifier kind nor an identifier "
                               "column of the confirmed records' tables; only identifiers "
                               "can be corrected")
        normalized_correction(kinds[0], value)


# --- what the action means for one table ----------------------------------------------------


@dataclass
class _Rule:
    operation: Operation
    set_values: dict[str, Value] = field(default_factory=dict)
    note: str = ""
    kept_whole: Retention | None = None
    retention: tuple[Retention, ...] = ()
    listed: bool = True
    """Rows this rule does not change are listed as unchanged (else left out)."""


def rule_for(kind: ActionKind, table: Table, corrections: Mapping[str, str]) -> _Rule:
    if kind == "delete":
        if table.kept_whole:
            return _Rule("none", kept_whole=table.kept_whole)
        deletion = table.deletion
        if isinstance(deletion, DeleteRows):
            return _Rule("delete", retention=table.retention)
        if isinstance(deletion, Deidentify):
            values: dict[str, Value] = {c: None for c in deletion.set_null}
            values.update(deletion.set_token)
            return _Rule("update", values, retention=table.retention)
        if isinstance(deletion, Suppress):
            return _Rule("update", {deletion.column: deletion.value},
                         retention=table.retention)
        return _Rule("none", note="no deletion mode is set for this table")
    if kind == "correct":
        values, note = correction_values(table, corrections)
        return _Rule("update" if values else "none", values, note=note)
    if kind == "opt_out":
        flag: Flag | None = table.opt_out
        if flag is None and isinstance(table.deletion, Suppress):
            flag = Flag(table.deletion.column, table.deletion.value)
        if flag is None:
            return _Rule("none", note="no opt-out flag is mapped for this table (opt_out = "
                         "{ column, value } in the sources file)", listed=False)
        return _Rule("update", {flag.column: flag.value})
    if table.stop_sharing is not None:
        return _Rule("update", {table.stop_sharing.column: table.stop_sharing.value})
    if table.category in SHARE_CATEGORIES:
        return _Rule("none", note="no stop-sharing flag is mapped for this table: the "
                     "recipients are told to stop")
    return _Rule("none", note="not a share or lead table: its share rows (child tables) "
                 "are marked", listed=False)


# --- the planner ----------------------------------------------------------------------------


@dataclass
class _TableWork:
    table: Table
    db: sa.Table
    rule: _Rule
    depth: int
    changes: list[RowChange] = field(default_factory=list)
    kept: list[KeptRow] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    involved: list[Row] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def changed_keys(self) -> list[str]:
        return [change.key for change in self.changes]

    def plan(self) -> TablePlan:
        return TablePlan(
            table=self.table.name, label=self.table.label, db_table=self.table.db_table,
            category=self.table.category, operation=self.rule.operation,
            set_values=dict(self.rule.set_values) if self.rule.operation == "update" else {},
            changes=tuple(self.changes), kept=tuple(self.kept),
            already_done=tuple(self.already_done), missing=tuple(self.missing),
            unchanged=tuple(self.unchanged), note=self.rule.note, depth=self.depth,
            digests=dict(self.digests))


class Planner:
    """Plans one request's targets in one source over an open connection."""

    def __init__(self, config: SourcesConfig, source: Source, kind: ActionKind,
                 corrections: Mapping[str, str], *, lock: bool) -> None:
        self.config = config
        self.source = source
        self.kind = kind
        self.corrections = corrections
        self.lock = lock
        self.reflected: dict[str, sa.Table] = {}

    def plan(self, connection: Connection, keys: Mapping[str, Sequence[str]]) -> SourcePlan:
        for name in keys:
            if not any(table.name == name for table in self.source.tables):
                raise PlanProblem(f"the sources file has no table '{name}' in "
                                  f"{self.source.label}")
        tables = (descendants(self.source, keys) if self.kind in FOLLOWING_KINDS
                  else [self.source.table(name) for name in keys])
        reflected = self.reflected = reflect(connection, tables)
        works = {table.name: _TableWork(table, reflected[table.name],
                                        rule_for(self.kind, table, self.corrections),
                                        depth_of(self.source, table))
                 for table in tables}
        followers: dict[str, list[tuple[Any, str]]] = {name: [] for name in works}
        for work in sorted(works.values(), key=lambda w: w.depth):
            self.targets(connection, work, keys.get(work.table.name, ()))
            self.followers(connection, work, followers[work.table.name])
            if self.kind in FOLLOWING_KINDS:
                self.pass_down(work, works, followers)
        plans = tuple(works[table.name].plan() for table in tables)
        return SourcePlan(source=self.source.name, label=self.source.label, state="ready",
                          tables=plans, notices=self.notices(works.values()))

    def targets(self, connection: Connection, work: _TableWork, keys: Sequence[str]) -> None:
        if not keys:
            return
        key_column = column(work.db, work.table.key)
        wanted: dict[str, object] = {}
        for key in dict.fromkeys(keys):
            value = coerce_key(key_column, key)
            if value is None:
                work.missing.append(key)
            else:
                wanted[key] = value
        rows = select_rows(connection, work.db, key_column, list(wanted.values()),
                           lock=self.lock)
        found: set[str] = set()
        for row in rows:
            key = str(value_of(row, work.table.key))
            if key in found:
                raise PlanProblem(f"the key column {work.table.key} of {work.table.db_table} "
                                  f"is not unique ({key} names more than one row)")
            found.add(key)
            self.decide(work, row, via="", target=True)
        work.missing += [key for key in wanted if key not in found]

    def followers(self, connection: Connection, work: _TableWork,
                  parents: list[tuple[Any, str]]) -> None:
        link = work.table.parent
        if not parents or link is None:
            return
        via_of: dict[Any, str] = {}
        for value, via in parents:
            via_of.setdefault(value, via)
        rows = select_rows(connection, work.db, column(work.db, link.column), list(via_of),
                           lock=self.lock)
        for row in sorted(rows, key=lambda r: str(value_of(r, work.table.key))):
            self.decide(work, row, via=via_of.get(value_of(row, link.column), ""),
                        target=False)

    def decide(self, work: _TableWork, row: Row, *, via: str, target: bool) -> None:
        key = str(value_of(row, work.table.key))
        if key in work.seen:
            return
        work.seen.add(key)
        rule = work.rule
        kept = rule.kept_whole or next((r for r in rule.retention if r.applies_to(
            {**{k.lower(): v for k, v in row.items()}, **row})), None)
        if kept is not None:
            work.kept.append(KeptRow(key=key, exception=kept.name, reason=kept.reason,
                                     legal_basis=kept.legal_basis, via=via))
            work.digests[key] = digest(row)
            return
        if rule.operation == "delete":
            work.changes.append(RowChange(key=key, operation="delete", via=via))
        elif rule.operation == "update":
            changed = tuple(ColumnChange(name, plain(value_of(row, name)), after)
                            for name, after in rule.set_values.items()
                            if not same(value_of(row, name), after))
            if changed:
                work.changes.append(RowChange(key=key, operation="update", columns=changed,
                                              via=via))
            else:
                work.already_done.append(key)
            work.digests[key] = digest(row, rule.set_values)
        elif rule.listed or target:
            work.unchanged.append(key)
        else:
            work.involved.append(row)  # passed down, not listed
            return
        work.involved.append(row)

    def pass_down(self, work: _TableWork, works: Mapping[str, _TableWork],
                  followers: dict[str, list[tuple[Any, str]]]) -> None:
        kept = {row.key for row in work.kept}
        for child in works.values():
            link = child.table.parent
            if link is None or link.table != work.table.name:
                continue
            for row in work.involved:
                key = str(value_of(row, work.table.key))
                value = value_of(row, link.parent_column)
                if key not in kept and value is not None:
                    followers[child.table.name].append((value, f"{work.table.name} {key}"))

    def notices(self, works: Iterable[_TableWork]) -> tuple[Notice, ...]:
        notices: list[Notice] = []
        for work in works:
            affected = {*work.changed_keys(), *work.already_done, *work.unchanged}
            if not affected:
                continue
            recipients = self.config.recipients_for(self.source, work.table)
            named: tuple[str, ...] = ()
            if work.table.recipient_column:
                named = tuple(sorted({
                    str(value_of(row, work.table.recipient_column)) for row in work.involved
                    if str(value_of(row, work.table.key)) in affected
                    and value_of(row, work.table.recipient_column) not in (None, "")}))
            if recipients or named:
                notices.append(Notice(source=self.source.name, table=work.table.name,
                                      label=work.table.label, category=work.table.category,
                                      recipients=recipients, named=named,
                                      rows=len(affected)))
        return tuple(notices)
