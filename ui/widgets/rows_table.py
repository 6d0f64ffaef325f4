"""A sortable, read-only table over a FrozenRowsModel, by rows: what is selected, what is
current, and the selection kept (by the rows' ids) across a reload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QTableView, QWidget

from ui.models.frozen_rows import FrozenRowsModel, Row

Select = QItemSelectionModel.SelectionFlag


class RowsTable(QTableView, Generic[Row]):
    def __init__(self, model: FrozenRowsModel[Row], *, multi: bool = False,
                 widths: dict[int, int] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows_model = model
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(FrozenRowsModel.SortRole)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the desk's order until asked
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection if multi
                              else QAbstractItemView.SelectionMode.SingleSelection)
        self.setTabKeyNavigation(False)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        for column, width in (widths or {}).items():
            self.setColumnWidth(column, width)
        header.setStretchLastSection(True)  # the columns keep their width; the last fills

    def current_row(self) -> Row | None:
        return self.rows_model.row_at(self.proxy.mapToSource(self.currentIndex()))

    def selected_rows(self) -> list[Row]:
        """The selected rows in the order shown (the current one when none is selected)."""
        selection = self.selectionModel()
        indexes = sorted(selection.selectedRows(), key=lambda index: index.row())
        rows = [self.rows_model.row_at(self.proxy.mapToSource(i)) for i in indexes]
        found = [row for row in rows if row is not None]
        if not found:
            current = self.current_row()
            return [current] if current is not None else []
        return found

    def set_rows(self, rows: tuple[Row, ...], key: Callable[[Row], Any]) -> None:
        """New rows; those selected before (by ``key``) stay selected, the current too."""
        kept = {key(row) for row in self.selected_rows()}
        current = self.current_row()
        current_key = key(current) if current is not None else None
        self.rows_model.set_rows(rows)
        self.select_where(lambda row: key(row) in kept,
                          current=lambda row: key(row) == current_key)

    def select_where(self, wanted: Callable[[Row], bool],
                     current: Callable[[Row], bool] | None = None) -> None:
        selection = QItemSelection()
        model = self.rows_model
        current_index = None
        for number in range(model.rowCount()):
            row = model.row_at(model.index(number, 0))
            if row is None:
                continue
            proxy_index = self.proxy.mapFromSource(model.index(number, 0))
            if wanted(row):
                selection.select(proxy_index, proxy_index)
                if current_index is None:
                    current_index = proxy_index
            if current is not None and current(row):
                current_index = proxy_index
        selection_model = self.selectionModel()
        if current_index is not None:
            selection_model.setCurrentIndex(current_index, Select.NoUpdate | Select.Rows)
        selection_model.select(selection, Select.ClearAndSelect | Select.Rows)
