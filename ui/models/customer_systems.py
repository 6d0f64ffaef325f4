"""The customer systems of the sources file as a read-only table: what the file says about
each, and what the last "Check systems" found."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from caseapp.services.sources_admin import SystemCheck, SystemSummary
from ui.models.frozen_rows import AnyIndex, FrozenRowsModel

PASSWORD_LABELS = {"not_needed": "not needed", "stored": "stored", "not_stored": "NOT stored",
                   "unknown": "keyring unavailable"}
KIND_LABELS = {"database": "database", "manual": "by hand"}
BAD = QColor("#b3261e")
GOOD = QColor("#1b6e2f")


@dataclass(frozen=True)
class SystemRow:
    system: SystemSummary
    check: SystemCheck | None = None
    checking: bool = False


class CustomerSystemsModel(FrozenRowsModel[SystemRow]):
    COL_NAME = 0
    COL_LABEL = 1
    COL_KIND = 2
    COL_WHERE = 3
    COL_TABLES = 4
    COL_PASSWORD = 5
    COL_REACHABLE = 6
    HEADERS = ("System", "Label", "Kind", "Where", "Tables", "Password", "Reachable")

    def set_systems(self, systems: list[SystemSummary] | tuple[SystemSummary, ...]) -> None:
        """New systems (a file was read or saved): earlier check results no longer apply."""
        self.set_rows(tuple(SystemRow(system) for system in systems))

    def set_checking(self, checking: bool) -> None:
        self.set_rows(tuple(replace(row, checking=checking) for row in self._rows))

    def set_checks(self, checks: tuple[SystemCheck, ...]) -> None:
        by_name = {check.name: check for check in checks}
        self.set_rows(tuple(replace(row, check=by_name.get(row.system.name), checking=False)
                            for row in self._rows))

    def update_system(self, system: SystemSummary) -> None:
        """One system's new state (a password stored), its check result kept."""
        self.set_rows(tuple(replace(row, system=system) if row.system.name == system.name
                            else row for row in self._rows))

    def system(self, row: int) -> SystemSummary | None:
        return self._rows[row].system if 0 <= row < len(self._rows) else None

    def system_row(self, row: int) -> SystemRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, name: str) -> int | None:
        return next((n for n, row in enumerate(self._rows) if row.system.name == name), None)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index)
        if row is None:
            return None
        column = index.column()
        if role == self.RowRole:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == self.SortRole:
            return row.system.tables if column == self.COL_TABLES else self._text(row, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._colour(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.COL_TABLES:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, row: SystemRow, column: int) -> str:
        system = row.system
        if column == self.COL_NAME:
            return system.name
        if column == self.COL_LABEL:
            return system.label
        if column == self.COL_KIND:
            return KIND_LABELS[system.kind]
        if column == self.COL_WHERE:
            return system.where
        if column == self.COL_TABLES:
            return str(system.tables) if system.kind == "database" else ""
        if column == self.COL_PASSWORD:
            return PASSWORD_LABELS[system.password]
        if column == self.COL_REACHABLE:
            return _reachable(row)
        return ""

    def _tooltip(self, row: SystemRow, column: int) -> str:
        system = row.system
        if column == self.COL_PASSWORD:
            if system.password == "unknown":
                return system.password_note
            if system.password == "not_needed":
                return ("Searched by hand" if system.kind == "manual" else
                        "The url names no user: no password is used")
            return f"Keyring secret source:{system.name}"
        if column == self.COL_REACHABLE and row.check is not None:
            return row.check.verdict()
        if column == self.COL_LABEL and system.line:
            return f"Line {system.line} of the sources file"
        return self._text(row, column)

    def _colour(self, row: SystemRow, column: int) -> QColor | None:
        if column == self.COL_PASSWORD and system_lacks_password(row.system):
            return BAD
        if column == self.COL_REACHABLE and row.check is not None and not row.checking:
            if row.check.state == "ok":
                return GOOD
            if not row.check.searchable:
                return BAD
        return None


def details_text(row: SystemRow) -> str:
    """Everything about one system, unabridged (the table's cells are cut to fit)."""
    system = row.system
    where = f", line {system.line} of the file" if system.line else ""
    if system.password == "not_needed":
        password = ("not needed (searched by hand)" if system.kind == "manual" else
                    "not needed (the url names no user)")
    elif system.password == "unknown":
        password = f"unknown: {system.password_note}"
    else:
        password = (f"{PASSWORD_LABELS[system.password]} in the keyring as "
                    f"source:{system.name}")
    check = ("checking…" if row.checking else row.check.verdict() if row.check
             else "not checked yet (Check systems)")
    return (f"{system.label} ({system.name}{where})\nWhere: {system.where}\n"
            f"Password: {password}\nCheck: {check}")


def system_lacks_password(system: SystemSummary) -> bool:
    return system.password in ("not_stored", "unknown")


def _reachable(row: SystemRow) -> str:
    if row.checking:
        return "checking…"
    check = row.check
    if check is None:
        return "not checked"
    if check.state == "ok":
        return "yes"
    if check.state == "manual":
        return "— (by hand)"
    if check.state == "unreachable":
        return "NO: " + "; ".join(check.problems)
    return "yes, but " + "; ".join(check.problems)
