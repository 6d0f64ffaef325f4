"""Whole-database dumps for the action tests: what changed, cell by cell.

A dump maps each table to its rows by key (SQLite: the rowid; the dealer CRM: its key
columns), each row the tuple of its values as the driver gives them; comparing two dumps
gives the exact set of changed cells, so a test can say "these and nothing else"."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, text

from caseapp.records.action_model import ActionPlan, ActionResult

Dump = dict[str, tuple[tuple[str, ...], dict[str, tuple[object, ...]]]]
Cell = tuple[str, str, str]
"""(database table, key, column) or (table, key, "<gone>") / "<new>"."""


def dump_sqlite(path: Path) -> Dump:
    connection = sqlite3.connect(path)
    try:
        names = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        dump: Dump = {}
        for name in names:
            cursor = connection.execute(f'SELECT rowid, * FROM "{name}" ORDER BY rowid')
            columns = tuple(d[0] for d in cursor.description[1:])
            dump[name] = (columns, {str(row[0]): tuple(row[1:]) for row in cursor})
        return dump
    finally:
        connection.close()


CRM_TABLES = {"crm.contacts": "contact_no", "crm.vehicles": "vin"}


def dump_crm(url: str) -> Dump:
    engine = create_engine(url)
    try:
        dump: Dump = {}
        with engine.connect() as connection:
            for name, key in CRM_TABLES.items():
                result = connection.execute(text(f"SELECT * FROM {name} ORDER BY {key}"))
                columns = tuple(result.keys())
                index = columns.index(key)
                dump[name] = (columns, {str(row[index]): tuple(row) for row in result})
        return dump
    finally:
        engine.dispose()


def diff(before: Dump, after: Dump) -> set[Cell]:
    cells: set[Cell] = set()
    for table, (columns, rows) in before.items():
        later = after[table][1]
        for key, row in rows.items():
            if key not in later:
                cells.add((table, key, "<gone>"))
                continue
            cells.update((table, key, name)
                         for name, old, new in zip(columns, row, later[key], strict=True)
                         if old != new or type(old) is not type(new))
        cells.update((table, key, "<new>") for key in later if key not in rows)
    return cells


def planned_cells(plan: ActionPlan) -> set[Cell]:
    """The cells the preview says will change."""
    cells: set[Cell] = set()
    for source in plan.sources:
        for table in source.tables:
            for change in table.changes:
                if change.operation == "delete":
                    cells.add((table.db_table, change.key, "<gone>"))
                else:
                    cells.update((table.db_table, change.key, c.column) for c in change.columns)
    return cells


def allowed_cells(result: ActionResult) -> tuple[set[tuple[str, str]], set[Cell]]:
    """The rows an execution says it changed, and every cell it may have changed there."""
    rows: set[tuple[str, str]] = set()
    cells: set[Cell] = set()
    for source in result.sources:
        for table in source.tables:
            for key in table.changed:
                rows.add((table.db_table, key))
                cells.add((table.db_table, key, "<gone>"))
                cells.update((table.db_table, key, c) for c in table.set_values)
    return rows, cells


def without(dump: Dump, rows: set[tuple[str, str]]) -> Dump:
    """The dump less the given (table, key) rows: everything an action must not touch."""
    return {table: (columns, {k: v for k, v in found.items() if (table, k) not in rows})
            for table, (columns, found) in dump.items()}
