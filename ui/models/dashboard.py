"""The dashboard's counts of open cases (by status, request type or channel) as a small
read-only table: the name, then how many."""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor

from caseapp.services.dashboard import Count
from ui.models.frozen_rows import CellsModel

ZERO_COLOR = QColor("#8a949e")


class CountsModel(CellsModel[Count]):
    COL_NAME = 0
    COL_COUNT = 1
    HEADERS: ClassVar[tuple[str, ...]] = ("", "Open")

    def __init__(self, title: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.title = title  # the first column's header: Status, Request type, Channel

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (section == self.COL_NAME and orientation == Qt.Orientation.Horizontal
                and role == Qt.ItemDataRole.DisplayRole):
            return self.title
        return super().headerData(section, orientation, role)

    def text(self, row: Count, column: int) -> str:
        return row.label if column == self.COL_NAME else f"{row.count:,}"

    def sort_value(self, row: Count, column: int) -> Any:
        return row.label if column == self.COL_NAME else row.count

    def tooltip(self, row: Count, column: int) -> str:
        cases = f"{row.count:,} open case{'s' if row.count != 1 else ''}: {row.label}"
        return cases + (" — Enter or double-click lists them" if row.query else "")

    def colour(self, row: Count, column: int) -> QColor | None:
        return ZERO_COLOR if row.count == 0 else None

    def numeric(self, column: int) -> bool:
        return column == self.COL_COUNT

    def count_of(self, key: str) -> int | None:
        """The count shown for ``key`` (a status, type or channel), None if not listed."""
        return next((row.count for row in self._rows if row.key == key), None)
