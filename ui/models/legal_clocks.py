"""The legal clocks (jurisdiction × request type × clock) as a read-only table."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from caseapp.services.dto import ClockSetting
from caseapp.vocabulary import REQUEST_TYPE_LABELS
from ui.models.frozen_rows import AnyIndex, FrozenRowsModel

UNIT_LABELS = {"calendar_days": "days", "business_days": "business days", "months": "months"}
CLOCK_LABELS = {"acknowledge": "Acknowledge", "respond": "Respond", "extension": "Extension",
                "appeal": "Appeal"}


class LegalClockModel(FrozenRowsModel[ClockSetting]):
    COL_JURISDICTION = 0
    COL_TYPE = 1
    COL_CLOCK = 2
    COL_LENGTH = 3
    COL_SOURCE = 4
    COL_CHANGED = 5
    HEADERS = ("Jurisdiction", "Request type", "Clock", "Length", "Legal source", "Changed")

    def set_settings(self, settings: list[ClockSetting]) -> None:
        self.set_rows(tuple(settings))

    def setting(self, row: int) -> ClockSetting | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self.row_at(index)
        if item is None:
            return None
        column = index.column()
        if role == self.RowRole:
            return item
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._text(item, column, role == Qt.ItemDataRole.ToolTipRole)
        if role == self.SortRole:
            return item.days if column == self.COL_LENGTH else self._text(item, column, False)
        if role == Qt.ItemDataRole.FontRole and item.days != item.shipped_days:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def _text(self, item: ClockSetting, column: int, tooltip: bool) -> str:
        if column == self.COL_JURISDICTION:
            return item.jurisdiction_name if tooltip else item.jurisdiction
        if column == self.COL_TYPE:
            return REQUEST_TYPE_LABELS.get(item.request_type, "All types")
        if column == self.COL_CLOCK:
            return CLOCK_LABELS.get(item.clock, item.clock)
        if column == self.COL_LENGTH:
            return f"{item.days} {UNIT_LABELS.get(item.unit, item.unit)}"
        if column == self.COL_SOURCE:
            return item.source + ("" if item.configurable else " — fixed by law")
        if column == self.COL_CHANGED:
            if item.days == item.shipped_days:
                return "" if not tooltip else "As shipped"
            return f"by {item.changed_by} (shipped: {item.shipped_days})"
        return ""
