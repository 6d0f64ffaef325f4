"""The search results in place of the case list: a filter row, what was found, and a
table of the cases with the snippet that matched (bold where it matched).

Every search runs in the background (ui/tasks.py); each one gets a number and only the
newest one's results are shown — a slow search that finishes after a later one is
dropped. ``open_case`` says which case to show (Enter, double-click).
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from caseapp.errors import UserError
from caseapp.services import Desk
from caseapp.services.search import SavedSearchView, SearchQuery, SearchResults
from caseapp.vocabulary import CHANNELS, REQUEST_TYPES
from ui.formatting import channel_text, types_text
from ui.models.search_results import SearchResultsModel, SnippetDelegate
from ui.tasks import Progress, TaskRunner

PAGE_SIZE = 100
R = SearchResultsModel
COLUMN_WIDTHS = {R.COL_REF: 112, R.COL_REQUESTER: 120, R.COL_STATUS: 95, R.COL_DUE: 118,
                 R.COL_FOUND_IN: 62}
PROBLEM_STYLE = "color: #b3261e;"
HINT_STYLE = "color: #5f6b76;"


def _combo(any_text: str, items: list[tuple[str, str]]) -> QComboBox:
    combo = QComboBox()
    combo.addItem(any_text, "")
    for value, label in items:
        combo.addItem(label, value)
    # Narrow enough that the results never squeeze the case page; the list opens wide.
    combo.setSizeAdjustPolicy(
        QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(9)
    combo.view().setMinimumWidth(combo.view().sizeHintForColumn(0) + 24)
    return combo


def _select(combo: QComboBox, value: str) -> None:
    found = combo.findData(value)
    combo.setCurrentIndex(found if found >= 0 else 0)


class SearchResultsPage(QWidget):
    open_case = Signal(str)  # ref
    saved = Signal(object)  # SavedSearchView, after "Save search…"
    close_requested = Signal()
    finished = Signal()  # the newest search's results (or problem) are shown

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self._text = ""
        self._generation = 0
        self._shown_generation = 0
        self.dropped = 0  # stale results thrown away (newest search wins)
        self.results: SearchResults | None = None
        self.active_dialog: QInputDialog | None = None

        workflow = desk.rules.workflow
        self.status_combo = _combo("Any status", [(name, state.label) for name, state
                                                  in workflow.states.items()])
        self.type_combo = _combo("Any request", [(t, types_text([t])) for t in REQUEST_TYPES])
        self.channel_combo = _combo("Any channel", [(c, channel_text(c)) for c in CHANNELS])
        self.child_check = QCheckBox("Child")
        self.child_check.setToolTip("Only cases about a child under 13")
        self.overdue_check = QCheckBox("Overdue")
        self.overdue_check.setToolTip("Only cases past their due date, still awaiting a "
                                      "response")
        for combo in (self.status_combo, self.type_combo, self.channel_combo):
            combo.currentIndexChanged.connect(lambda _i: self.run())
        for check in (self.child_check, self.overdue_check):
            check.toggled.connect(lambda _on: self.run())
        self.save_button = QPushButton("Save search…")
        self.save_button.setToolTip("Keep this search (text and filters) under a name in "
                                    "the navigation")
        self.save_button.clicked.connect(self.ask_name)
        self.close_button = QPushButton("Back to the list")
        self.close_button.setToolTip("Clear the search (Esc in the search field)")
        self.close_button.clicked.connect(self.close_requested)
        # Two rows, so the page is no wider than the case list it stands in for.
        combos = QHBoxLayout()
        combos.setContentsMargins(0, 0, 0, 0)
        for combo in (self.status_combo, self.type_combo, self.channel_combo):
            combos.addWidget(combo, 1)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.child_check)
        buttons.addWidget(self.overdue_check)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)
        filters = QVBoxLayout()
        filters.setContentsMargins(0, 0, 0, 0)
        filters.addLayout(combos)
        filters.addLayout(buttons)

        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)

        self.model = SearchResultsModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setItemDelegateForColumn(R.COL_SNIPPET, SnippetDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in COLUMN_WIDTHS.items():
            self.table.setColumnWidth(column, width)
        self.table.doubleClicked.connect(self._activated)
        self.table.installEventFilter(self)  # Enter opens the current result

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    # --- the query ---------------------------------------------------------------------
    def query(self) -> SearchQuery:
        return SearchQuery(
            text=self._text.strip(),
            status=str(self.status_combo.currentData() or ""),
            request_type=str(self.type_combo.currentData() or ""),
            channel=str(self.channel_combo.currentData() or ""),
            child=self.child_check.isChecked(),
            overdue=self.overdue_check.isChecked(),
            limit=PAGE_SIZE,
        )

    def has_filters(self) -> bool:
        return replace(self.query(), text="") != SearchQuery(limit=PAGE_SIZE)

    def is_empty(self) -> bool:
        return not self._text.strip() and not self.has_filters()

    def search(self, text: str) -> None:
        self._text = text
        self.run()

    def apply(self, query: SearchQuery) -> None:
        """Show ``query``'s filters (a saved search) and run it."""
        widgets = (self.status_combo, self.type_combo, self.channel_combo,
                   self.child_check, self.overdue_check)
        for widget in widgets:
            widget.blockSignals(True)
        _select(self.status_combo, query.status)
        _select(self.type_combo, query.request_type)
        _select(self.channel_combo, query.channel)
        self.child_check.setChecked(query.child)
        self.overdue_check.setChecked(query.overdue)
        for widget in widgets:
            widget.blockSignals(False)
        self.search(query.text)

    def clear(self) -> None:
        """No text, no filters, no results; a search still running is dropped."""
        self._generation += 1
        self._text = ""
        self.apply_filters_quietly()
        self.results = None
        self.model.set_hits(())
        self.summary.setText("")

    def apply_filters_quietly(self) -> None:
        for combo in (self.status_combo, self.type_combo, self.channel_combo):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        for check in (self.child_check, self.overdue_check):
            check.blockSignals(True)
            check.setChecked(False)
            check.blockSignals(False)

    # --- running -----------------------------------------------------------------------
    def run(self) -> None:
        self._generation += 1
        generation = self._generation
        query = self.query()
        desk = self._desk
        self.summary.setStyleSheet(HINT_STYLE)
        if self.results is None:
            self.summary.setText("Searching…")

        def work(_progress: Progress) -> SearchResults:
            return desk.search(query)

        self._runner.run(work, label="Searching",
                         on_done=lambda results: self._done(generation, results),
                         on_error=lambda error: self._failed(generation, error))

    def busy(self) -> bool:
        return self._shown_generation != self._generation

    def _done(self, generation: int, results: SearchResults) -> None:
        if generation != self._generation:
            self.dropped += 1
            return
        self._shown_generation = generation
        self.results = results
        self.model.set_hits(results.hits)
        self.summary.setStyleSheet(HINT_STYLE)
        self.summary.setText(self._summary(results))
        if results.hits:
            self.table.setCurrentIndex(self.model.index(0, 0))
        self.finished.emit()

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            self.dropped += 1
            return
        self._shown_generation = generation
        if not isinstance(error, UserError):
            self._runner.report(error)
            return
        self.results = None
        self.model.set_hits(())
        self.summary.setStyleSheet(PROBLEM_STYLE)
        self.summary.setText(str(error))
        self.finished.emit()

    @staticmethod
    def _summary(results: SearchResults) -> str:
        text = results.query.text
        what = f" for “{text}”" if text else " with these filters"
        if results.total == 0:
            return f"No cases found{what}."
        shown = len(results.hits)
        count = f"{results.total:,} case{'s' if results.total != 1 else ''} found{what}"
        if shown < results.total:
            count += f" — showing the best {shown:,}"
        return count + ". Enter or double-click opens a case."

    # --- opening -----------------------------------------------------------------------
    def current_ref(self) -> str | None:
        index = self.table.currentIndex()
        row = index.row() if index.isValid() else 0
        if not 0 <= row < self.model.rowCount():
            return None
        return self.model.hit(row).case.ref

    def open_current(self) -> None:
        ref = self.current_ref()
        if ref is not None:
            self.open_case.emit(ref)

    def focus_results(self) -> None:
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        if not self.table.currentIndex().isValid() and self.model.rowCount():
            self.table.setCurrentIndex(self.model.index(0, 0))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self.table and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)):
            self.open_current()
            return True
        return super().eventFilter(watched, event)

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_case.emit(self.model.hit(index.row()).case.ref)

    # --- saving ------------------------------------------------------------------------
    def ask_name(self) -> QInputDialog:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Save search")
        dialog.setLabelText("Name of the saved search:")
        dialog.setTextValue(self._text.strip())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.textValueSelected.connect(self.save)
        self.active_dialog = dialog
        dialog.open()
        return dialog

    def save(self, name: str) -> None:
        query, desk = self.query(), self._desk

        def work(_progress: Progress) -> SavedSearchView:
            return desk.save_search(name, query)

        self._runner.run(work, label="Saving the search", on_done=self.saved.emit)
