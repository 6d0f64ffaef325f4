"""The centre panel: a filter box over the lazy case table, and between them, when other
workstations added cases to a list scrolled past its first page, a slim "3 new cases —
Show" bar (the list is not reloaded under the user: they choose when)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.icons import BADGE_HEIGHT, BADGE_WIDTH
from ui.models.case_table import CaseTableModel

FILTER_DELAY_MS = 300

COLUMN_WIDTHS = {
    CaseTableModel.COL_REF: 160,  # room for the REVIEW badge
    CaseTableModel.COL_STATUS: 148,
    CaseTableModel.COL_TYPES: 140,
    CaseTableModel.COL_REQUESTER: 170,
    CaseTableModel.COL_CHANNEL: 75,
    CaseTableModel.COL_JURISDICTION: 85,
    CaseTableModel.COL_RECEIVED: 90,
    CaseTableModel.COL_DUE: 236,
    CaseTableModel.COL_ASSIGNEE: 100,
    CaseTableModel.COL_HELD: 90,
}
#: On screen the deadline comes right after the reference: it is what staff scan for.
VISUAL_ORDER = (
    CaseTableModel.COL_REF, CaseTableModel.COL_DUE, CaseTableModel.COL_STATUS,
    CaseTableModel.COL_REQUESTER, CaseTableModel.COL_TYPES, CaseTableModel.COL_CHANNEL,
    CaseTableModel.COL_JURISDICTION, CaseTableModel.COL_RECEIVED, CaseTableModel.COL_ASSIGNEE,
    CaseTableModel.COL_HELD,
)

NEW_CASES_STYLE = ("#newCasesBar { background: #e8f0fe; border-bottom: 1px solid #c4d3ee; }"
                   "#newCasesBar QLabel { color: #1a3d73; }")


class NewCasesBar(QFrame):
    """The "3 new cases — Show" bar, hidden while there are none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newCasesBar")
        self.setStyleSheet(NEW_CASES_STYLE)
        self.label = QLabel()
        self.show_button = QPushButton("Show")
        self.show_button.setToolTip("Load the list again from the top, the new cases first "
                                    "(F5 loads it in its usual order)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 4, 2)
        layout.addWidget(self.label)
        layout.addWidget(self.show_button)
        layout.addStretch(1)
        self.hide()

    def set_count(self, count: int) -> None:
        self.label.setText(f"{count:,} new case{'s' if count != 1 else ''} —")
        self.setVisible(count > 0)


class CaseListPanel(QWidget):
    case_selected = Signal(str)  # ref of the case the user moved to

    def __init__(self, model: CaseTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by reference, name, email or summary")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip("Filter the list (Ctrl+F)")
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.filter_edit.textChanged.connect(lambda _text: self._filter_timer.start())
        self.filter_edit.returnPressed.connect(self.apply_filter)

        self.table = QTableView()
        self.table.setModel(model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab leaves the list for the case page
        self.table.setIconSize(QSize(BADGE_WIDTH, BADGE_HEIGHT))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in COLUMN_WIDTHS.items():
            self.table.setColumnWidth(column, width)
        for visual, logical in enumerate(VISUAL_ORDER):
            header.moveSection(header.visualIndex(logical), visual)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # desk order
        self.table.setSortingEnabled(True)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)

        self.empty_label = QLabel("No cases in this view.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #5f6b76; font-size: 13pt;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty_label)
        model.loaded.connect(self._loaded)
        self.new_cases_bar = NewCasesBar()
        model.new_cases.connect(self.new_cases_bar.set_count)
        self.new_cases_bar.show_button.clicked.connect(self.show_new_cases)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.new_cases_bar)
        layout.addWidget(self.stack, 1)

    def show_new_cases(self) -> None:
        """The list from the top, the cases added elsewhere first (the bar goes)."""
        self.model.show_new()
        self.table.scrollToTop()
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)  # the button just went

    def apply_filter(self) -> None:
        self._filter_timer.stop()
        text = self.filter_edit.text().strip()
        if text != self.model.query.text:
            self.model.set_query(replace(self.model.query, text=text))

    def set_view(self, view: str) -> None:
        if view != self.model.query.view or self.model.total is None:
            self.model.set_query(replace(self.model.query, view=view))

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def current_ref(self) -> str | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.row(index.row()).ref

    def select_ref(self, ref: str) -> bool:
        """Make a listed case the current row; False if it is not loaded."""
        position = self.model.position_of(ref)
        if position is None:
            return False
        index = self.model.index(position, 0)
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)
        return True

    def _loaded(self, total: int) -> None:
        if total == 0:
            self.empty_label.setText("No cases match this filter." if self.model.query.text
                                     else "No cases in this view.")
        self.stack.setCurrentIndex(1 if total == 0 else 0)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.case_selected.emit(self.model.row(current.row()).ref)
