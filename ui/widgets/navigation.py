"""The left-hand list of case views (My cases, All open, …) with their counts."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListWidget,
    QListWidgetItem,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)


@dataclass(frozen=True)
class NavEntry:
    view: str  # CaseQuery.view
    label: str
    tooltip: str


NAV_ENTRIES = (
    NavEntry("mine", "My cases", "Open cases assigned to you"),
    NavEntry("to_review", "To review", "Cases opened from mail whose classification is "
             "not confirmed yet"),
    NavEntry("open", "All open", "Every open case"),
    NavEntry("due_soon", "Due soon", "Open cases due within 7 days"),
    NavEntry("overdue", "Overdue", "Open cases past their response deadline"),
    NavEntry("closed", "Closed", "Closed, denied, withdrawn and duplicate cases"),
    NavEntry("all", "All", "Every case"),
)
#: Mail that opened no case; shown on the intake page, not in the case list.
INTAKE_ENTRIES = (
    NavEntry("not_request", "Not a request", "Auto-replies and bounces that answer no "
             "case"),
    NavEntry("quarantined", "Quarantine", "Mail that could not be read safely"),
)
#: The desk at a glance (ui/pages/dashboard_page.py), above the case views.
DASHBOARD_VIEW = "dashboard"
DASHBOARD_ENTRY = NavEntry(DASHBOARD_VIEW, "Dashboard", "Due today and this week, overdue, "
                           "waiting, yours; open cases by status, type and channel; the "
                           "weeks' requests received and closed (Ctrl+Shift+D)")
ALL_ENTRIES = (DASHBOARD_ENTRY, *NAV_ENTRIES, *INTAKE_ENTRIES)
INTAKE_VIEWS = frozenset(e.view for e in INTAKE_ENTRIES)
#: Views whose page takes the place of the case list and the case page.
PAGE_VIEWS = INTAKE_VIEWS | {DASHBOARD_VIEW}

CountRole = Qt.ItemDataRole.UserRole + 1
ViewRole = Qt.ItemDataRole.UserRole


class _CountDelegate(QStyledItemDelegate):
    """Draws the count right-aligned after the label."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        super().paint(painter, option, index)
        if index.data(ViewRole) in (NAV_ENTRIES[0].view, INTAKE_ENTRIES[0].view):
            # the case views below the dashboard, the mail below the case views
            painter.save()
            painter.setPen(option.palette.mid().color())
            top = option.rect.top() + 1
            painter.drawLine(option.rect.left() + 6, top, option.rect.right() - 6, top)
            painter.restore()
        count = index.data(CountRole)
        if count is None:
            return
        painter.save()
        font = QFont(option.font)
        font.setBold(index.data(ViewRole) in ("overdue", "quarantined", "to_review")
                     and count > 0)
        painter.setFont(font)
        rect: QRect = option.rect.adjusted(0, 0, -10, 0)
        painter.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         f"{count:,}")
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width() + 50, max(size.height(), 28))


class Navigation(QListWidget):
    view_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setItemDelegate(_CountDelegate(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for entry in ALL_ENTRIES:
            item = QListWidgetItem(entry.label)
            item.setData(ViewRole, entry.view)
            item.setToolTip(entry.tooltip)
            self.addItem(item)
        self.currentRowChanged.connect(self._row_changed)

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(ALL_ENTRIES):
            self.view_selected.emit(ALL_ENTRIES[row].view)

    def select_view(self, view: str) -> None:
        for row, entry in enumerate(ALL_ENTRIES):
            if entry.view == view:
                self.setCurrentRow(row)

    def current_view(self) -> str:
        row = self.currentRow()
        return ALL_ENTRIES[row].view if 0 <= row < len(ALL_ENTRIES) else "open"

    def set_counts(self, counts: dict[str, int]) -> None:
        for row, entry in enumerate(ALL_ENTRIES):
            item = self.item(row)
            if item is not None and entry.view in counts:
                item.setData(CountRole, counts[entry.view])

    def count_of(self, view: str) -> int | None:
        for row, entry in enumerate(ALL_ENTRIES):
            if entry.view == view:
                item = self.item(row)
                value = item.data(CountRole) if item is not None else None
                return int(value) if value is not None else None
        return None
