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
from caseapp.services.dto import UserView
from caseapp.services.search import SavedSearchView, SearchQuery, SearchResults
from ui.models.search_results import SearchResultsModel, SnippetDelegate
from ui.tasks import Progress, TaskRunner
from ui.widgets.search_filters import SearchFilters

PAGE_SIZE = 100
R = SearchResultsModel
COLUMN_WIDTHS = {R.COL_REF: 112, R.COL_REQUESTER: 120, R.COL_STATUS: 95, R.COL_DUE: 118,
                 R.COL_FOUND_IN: 62}
PROBLEM_STYLE = "color: #b3261e;"
HINT_STYLE = "color: #5f6b76;"


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

        rules = desk.rules
        self.filters = SearchFilters(rules.workflow, rules.jurisdictions, desk.clock.today)
        self.filters.changed.connect(self.run)
        self.save_button = QPushButton("Save search…")
        self.save_button.setToolTip("Keep this search (text and filters) under a name in "
                                    "the navigation")
        self.save_button.clicked.connect(self.ask_name)
        self.close_button = QPushButton("Back to the list")
        self.close_button.setToolTip("Clear the search (Esc in the search field)")
        self.close_button.clicked.connect(self.close_requested)
        self.filters.add_buttons(self.save_button, self.close_button)

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
        layout.addWidget(self.filters)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        QWidget.setTabOrder(self.close_button, self.table)  # the filters, then the results

    # --- the query ---------------------------------------------------------------------
    def query(self) -> SearchQuery:
        return self.filters.fill(SearchQuery(text=self._text.strip(), limit=PAGE_SIZE))

    def has_filters(self) -> bool:
        return self.filters.is_set()

    def is_empty(self) -> bool:
        return not self._text.strip() and not self.has_filters()

    def search(self, text: str) -> None:
        self._text = text
        self.run()

    def set_users(self, users: list[UserView]) -> None:
        """The staff the assignee filter offers (main window's ``load_users``)."""
        self.filters.set_users(users)

    def apply(self, query: SearchQuery) -> None:
        """Show every filter of ``query`` (a saved search, a dashboard tile) and run it."""
        self.filters.show_query(query)
        self.search(query.text)

    def clear(self) -> None:
        """No text, no filters, no results; a search still running is dropped."""
        self._generation += 1
        self._text = ""
        self.filters.reset()
        self.results = None
        self.model.set_hits(())
        self.summary.setText("")

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
        filtered = replace(results.query, text="", limit=PAGE_SIZE, offset=0) != SearchQuery(
            limit=PAGE_SIZE)
        what = (f" for “{text}”" if text else "") + (" with these filters" if filtered else "")
        if results.total == 0:
            return f"No cases found{what}."
        shown = len(results.hits)
        if results.more:  # a word too common to rank (search.COUNT_LIMIT)
            count = (f"More than {results.total:,} cases found{what} — showing the newest "
                     f"{shown:,}; add a word or a filter to narrow the search")
        else:
            count = f"{results.total:,} case{'s' if results.total != 1 else ''} found{what}"
            if shown < results.total:
                count += f" — showing the best {shown:,}"
        similar = "".join(
            f" Nothing matched “{typed}” as typed: searched the names "
            f"{', '.join(names)} instead." for typed, names in results.similar)
        return count + "." + similar + " Enter or double-click opens a case."

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
