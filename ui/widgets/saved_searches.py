"""The navigation's "Saved searches": click one to run it, delete one from its menu."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from caseapp.services.search import SavedSearchView

NameRole = Qt.ItemDataRole.UserRole


class SavedSearches(QWidget):
    chosen = Signal(object)  # SavedSearchView
    delete_requested = Signal(str)  # its name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._views: dict[str, SavedSearchView] = {}
        self.heading = QLabel("Saved searches")
        self.heading.setStyleSheet("font-weight: bold; color: #5f6b76; padding: 6px 4px 2px;")
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemActivated.connect(self._clicked)
        self.empty = QLabel("None yet: search, then “Save search…”.")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #5f6b76; padding: 2px 4px;")
        self.menu: QMenu | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.heading)
        layout.addWidget(self.empty)
        layout.addWidget(self.list)
        self.set_searches(())

    def set_searches(self, views: tuple[SavedSearchView, ...]) -> None:
        self._views = {view.name: view for view in views}
        self.list.clear()
        for view in views:
            item = QListWidgetItem(view.name)  # a list item shows its text as text
            item.setData(NameRole, view.name)
            item.setToolTip(f"Run the saved search “{view.name}” (right-click to delete)")
            self.list.addItem(item)
        self.list.setVisible(bool(views))
        self.empty.setVisible(not views)
        rows = max(len(views), 1)
        self.list.setMaximumHeight(min(rows, 8) * 28 + 6)

    def names(self) -> list[str]:
        return list(self._views)

    def choose(self, name: str) -> None:
        view = self._views.get(name)
        if view is not None:
            self.chosen.emit(view)

    def _clicked(self, item: QListWidgetItem) -> None:
        self.choose(str(item.data(NameRole)))

    def menu_at(self, position: QPoint) -> QMenu | None:
        """The context menu of the saved search at ``position`` (in the list's viewport)."""
        item = self.list.itemAt(position)
        if item is None:
            return None
        name = str(item.data(NameRole))
        menu = QMenu(self)
        delete = QAction(f"Delete “{name}”", menu)
        delete.triggered.connect(lambda _checked=False: self.delete_requested.emit(name))
        menu.addAction(delete)
        self.menu = menu
        return menu

    def _menu(self, position: QPoint) -> None:
        menu = self.menu_at(position)
        if menu is not None:
            menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            menu.popup(self.list.viewport().mapToGlobal(position))
