"""A source's tables as SQLAlchemy Core objects, reflected from the database.

Every query the lookup runs is built from these reflected ``Table`` objects with bound
parameters: names come from the database's own catalogue (matched to the sources
file's names), values are parameters, nothing is pasted into SQL text. Columns come
back labelled with the sources file's names, so rows read the same whatever the
database's spelling.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Engine, MetaData, Select, Table, select
from sqlalchemy.exc import NoSuchTableError

from caseapp.records.sources import Source
from caseapp.records.sources import Table as MappedTable

AnySelect = Select[*tuple[Any, ...]]


class SchemaMismatch(Exception):
    """The database lacks tables or columns the sources file names."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


def columns_needed(source: Source, table: MappedTable) -> tuple[str, ...]:
    """What a lookup reads of a row: key, identifiers, its parent link and the columns
    its child tables link to."""
    needed = [table.key, *(c for cs in table.identifiers.values() for c in cs)]
    if table.parent:
        needed.append(table.parent.column)
    needed += [child.parent.parent_column for child in source.children(table.name)
               if child.parent]
    return tuple(dict.fromkeys(needed))


@dataclass(frozen=True)
class BoundTable:
    mapped: MappedTable
    table: Table
    columns: dict[str, Column[object]]
    """Sources-file column name → the reflected column."""

    def column(self, name: str) -> Column[object]:
        return self.columns[name]

    @property
    def key(self) -> Column[object]:
        return self.columns[self.mapped.key]

    def select_columns(self, names: Iterable[str]) -> AnySelect:
        return select(*(self.columns[name].label(name) for name in names))

    def key_value(self, text: str) -> object:
        """A key stored as text (record_hits.record_key) back in the column's type."""
        try:
            python_type = self.key.type.python_type
        except NotImplementedError:
            return text
        if python_type is int:
            try:
                return int(text)
            except ValueError:
                return text
        return text


def key_text(value: object) -> str:
    """The string form of a key (record_hits.record_key)."""
    return value if isinstance(value, str) else str(value)


def key_json(value: object) -> str:
    """A key with its type kept (the desk-side index stores keys this way)."""
    return json.dumps(value if isinstance(value, int | str) else str(value))


def reflect_source(source: Source, engine: Engine) -> dict[str, BoundTable]:
    """Every table of the source reflected; SchemaMismatch lists what is missing."""
    metadata = MetaData()
    bound: dict[str, BoundTable] = {}
    problems: list[str] = []
    with engine.connect() as connection:
        for mapped in source.tables:
            schema, _, name = mapped.db_table.rpartition(".")
            try:
                table = Table(name, metadata, schema=schema or None,
                              autoload_with=connection)
            except NoSuchTableError:
                problems.append(f"table {mapped.db_table} is missing")
                continue
            by_name = {c.name: c for c in table.columns}
            by_lower = {c.name.lower(): c for c in table.columns}
            wanted = (*columns_needed(source, mapped), *mapped.never_disclose)
            columns: dict[str, Column[object]] = {}
            missing = []
            for column in dict.fromkeys((*wanted, *mapped.columns_used())):
                found = by_name.get(column)
                if found is None:
                    found = by_lower.get(column.lower())
                if found is None:
                    if column not in mapped.never_disclose:
                        missing.append(column)
                    continue
                columns[column] = found
            if missing:
                problems.append(f"table {mapped.db_table} has no column(s) "
                                f"{', '.join(missing)}")
                continue
            for other in table.columns:  # the rest, by their own names (access reports)
                columns.setdefault(other.name, other)
            bound[mapped.name] = BoundTable(mapped, table, columns)
    if problems:
        raise SchemaMismatch(problems)
    return bound
