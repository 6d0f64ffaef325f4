"""What every table model here shares: a tuple of frozen row objects, column headers, a
sort role and a row role (cf. vorta's archive table model)."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from ui.formatting import plain_tooltip

AnyIndex = QModelIndex | QPersistentModelIndex
Row = TypeVar("Row")


class FrozenRowsModel(QAbstractTableModel, Generic[Row]):
    SortRole = Qt.ItemDataRole.UserRole
    RowRole = Qt.ItemDataRole.UserRole + 1
    HEADERS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: tuple[Row, ...] = ()

    def set_rows(self, rows: tuple[Row, ...]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def row_at(self, index: AnyIndex) -> Row | None:
        """The row object behind an index, or None for an invalid one."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self._rows[index.row()]

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


class CellsModel(FrozenRowsModel[Row]):
    """A read-only table whose cells subclasses describe per (row, column): text, sort
    value, tooltip, colour, weight, alignment. Values are shown as text, never markup;
    tooltips go through ``plain_tooltip``."""

    TOOLTIP_FALLS_BACK_TO_TEXT: ClassVar[bool] = False
    """A cell without its own tooltip shows its text (for columns cut short)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bold = QFont()
        self._bold.setBold(True)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index)
        if row is None or not 0 <= index.column() < len(self.HEADERS):
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, column)
        if role == self.SortRole:
            return self.sort_value(row, column)
        if role == self.RowRole:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self.tooltip(row, column)
            if not tip and self.TOOLTIP_FALLS_BACK_TO_TEXT:
                tip = self.text(row, column)
            return plain_tooltip(tip)
        if role == Qt.ItemDataRole.ForegroundRole:
            colour = self.colour(row, column)
            return QBrush(colour) if colour is not None else None
        if role == Qt.ItemDataRole.FontRole and self.bold(row, column):
            return self._bold
        if role == Qt.ItemDataRole.TextAlignmentRole and self.numeric(column):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # --- for subclasses ------------------------------------------------------------------
    def text(self, row: Row, column: int) -> str:
        raise NotImplementedError

    def sort_value(self, row: Row, column: int) -> Any:
        return self.text(row, column)

    def tooltip(self, row: Row, column: int) -> str:
        return ""

    def colour(self, row: Row, column: int) -> QColor | None:
        return None

    def bold(self, row: Row, column: int) -> bool:
        return False

    def numeric(self, column: int) -> bool:
        return False
