"""The case history (audit events of one case) as a small read-only table."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from caseapp.services.dto import HistoryEntry
from ui.formatting import moment_text

AnyIndex = QModelIndex | QPersistentModelIndex


class HistoryModel(QAbstractTableModel):
    COL_WHEN = 0
    COL_WHO = 1
    COL_WHAT = 2

    SortRole = Qt.ItemDataRole.UserRole
    RowRole = Qt.ItemDataRole.UserRole + 1

    HEADERS = ("When", "Who", "What")

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timezone = timezone
        self._rows: tuple[HistoryEntry, ...] = ()

    def set_entries(self, entries: tuple[HistoryEntry, ...]) -> None:
        self.beginResetModel()
        self._rows = tuple(reversed(entries))  # newest first
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(self.HEADERS)):
            return self.HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        entry = self._rows[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if column == self.COL_WHEN:
                return moment_text(entry.at, self._timezone)
            if column == self.COL_WHO:
                return entry.actor
            if column == self.COL_WHAT:
                return entry.summary
        if role == self.SortRole:
            return (entry.at, entry.actor, entry.summary)[column] if column < 3 else None
        if role == self.RowRole:
            return entry
        return None
