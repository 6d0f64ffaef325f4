"""What an import did: one row per message or file, a summary line; a created or
threaded row opens its case (double-click or Enter)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from caseapp.services.dto import IntakeResult
from ui.mail_import import ImportOutcome
from ui.models.intake import OPENS_A_CASE, ImportResultsModel


class ImportResultsDialog(QDialog):
    open_case = Signal(str)

    def __init__(self, outcome: ImportOutcome, parent: QWidget | None = None, *,
                 title: str = "", summary: str = "") -> None:
        super().__init__(parent)
        self.outcome = outcome
        self.results = outcome.results
        self.setWindowTitle(title or ("Import cancelled" if outcome.cancelled
                                      else "Mail imported"))
        self.resize(900, 480)
        self.summary = QLabel(summary or outcome.summary())
        self.summary.setWordWrap(True)
        font = self.summary.font()
        font.setBold(True)
        self.summary.setFont(font)
        hint = QLabel("Double-click (or Enter on) a new or threaded message to open its case.")
        hint.setStyleSheet("color: #5f6b76;")
        self.model = ImportResultsModel(self)
        self.model.set_rows(outcome.results)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(ImportResultsModel.SortRole)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.setColumnWidth(ImportResultsModel.COL_OUTCOME, 140)
        self.table.setColumnWidth(ImportResultsModel.COL_CASE, 120)
        self.table.setColumnWidth(ImportResultsModel.COL_ITEM, 300)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Interactive)
        # Double-click and Enter both "activate" a row.
        self.table.activated.connect(self.activate)
        if outcome.results:
            self.table.selectRow(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.table.setFocus()

    def result_at(self, row: int) -> IntakeResult | None:
        return self.model.row_at(self.proxy.mapToSource(self.proxy.index(row, 0)))

    def activate(self, index: QModelIndex) -> None:
        result = self.model.row_at(self.proxy.mapToSource(index))
        if result is not None and result.outcome in OPENS_A_CASE and result.case_ref:
            self.open_case.emit(result.case_ref)
