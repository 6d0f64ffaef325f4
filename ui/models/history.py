"""The case history (audit events of one case) as a small read-only table."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt

from caseapp.services.dto import HistoryEntry
from ui.formatting import moment_text, plain_tooltip
from ui.models.frozen_rows import AnyIndex, FrozenRowsModel


class HistoryModel(FrozenRowsModel[HistoryEntry]):
    COL_WHEN = 0
    COL_WHO = 1
    COL_WHAT = 2
    HEADERS = ("When", "Who", "What")

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timezone = timezone

    def set_entries(self, entries: tuple[HistoryEntry, ...]) -> None:
        self.set_rows(tuple(reversed(entries)))  # newest first

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        entry = self.row_at(index)
        if entry is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.ToolTipRole:
            shown = self.data(index, Qt.ItemDataRole.DisplayRole)
            return plain_tooltip(shown if isinstance(shown, str) else None)
        if role == Qt.ItemDataRole.DisplayRole:
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
