"""Mail that opened no case: the not-a-request list (auto-replies and bounces that
answer no case) and the quarantine (mail that could not be read safely).

One page shows either list; the navigation chooses which. Staff open a message in the
safe viewer, move it into the case it belongs to, or open a case from it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QHideEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from caseapp.services import Desk
from caseapp.services.dto import Changed, IntakeItem, MessageDetail
from ui.dialogs.message_viewer import MessageViewer
from ui.dialogs.move_to_case import MoveToCaseDialog
from ui.dialogs.new_case import NewCaseDialog
from ui.models.intake import IntakeQueueModel
from ui.tasks import Progress, TaskRunner

TITLES = {
    "not_request": ("Not a request",
                    "Automatic replies and bounces that answer no case. If one belongs to a "
                    "case, move it there; if a person wrote it after all, open a case from it."),
    "quarantined": ("Quarantine",
                    "Mail that could not be read safely (damaged, too large, too deeply "
                    "nested…). Look at it in the viewer, then move it into a case or open a "
                    "case from it if it is a request."),
}


class IntakePage(QWidget):
    created = Signal(object)  # Changed: a case opened from a message
    moved = Signal(object)  # Changed: a message moved into a case

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self.disposition = "not_request"
        self._generation = 0
        self.active_dialog: QDialog | None = None

        self.title = QLabel()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.title.setFont(font)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #5f6b76;")

        self.model = IntakeQueueModel(desk.clock.timezone, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(IntakeQueueModel.SortRole)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(IntakeQueueModel.COL_DATE, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        for column, width in ((IntakeQueueModel.COL_DATE, 125),
                              (IntakeQueueModel.COL_SENDER, 230),
                              (IntakeQueueModel.COL_SUBJECT, 300),
                              (IntakeQueueModel.COL_REASON, 260)):
            self.table.setColumnWidth(column, width)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.activated.connect(lambda _index: self.open_message())
        self.table.selectionModel().currentRowChanged.connect(
            lambda _current, _previous: self._sync())

        self.empty = QLabel()
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: #5f6b76; font-size: 13pt;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)

        def action(text: str, slot: Callable[[], None], keys: str, tip: str) -> QAction:
            made = QAction(text, self)
            if keys:
                made.setShortcut(QKeySequence(keys))
            made.setToolTip(f"{tip} ({keys})" if keys else tip)
            made.setStatusTip(tip)
            made.triggered.connect(lambda _checked=False: slot())
            return made

        self.open_action = action("&Open message", self.open_message, "",
                                  "Show the message in the safe viewer (Enter in the list)")
        self.move_action = action("&Move to case…", self.ask_move, "Ctrl+M",
                                  "Move the message into the case it belongs to")
        self.new_case_action = action("Open a &case from it…", self.ask_new_case,
                                      "Ctrl+Shift+O",
                                      "A new case, prefilled from the message")
        self.actions_list = [self.open_action, self.move_action, self.new_case_action]
        buttons = QHBoxLayout()
        self.buttons: list[QPushButton] = []
        for made in self.actions_list:
            button = QPushButton(made.text().replace("&", ""))
            button.setToolTip(made.toolTip())
            button.clicked.connect(made.trigger)
            buttons.addWidget(button)
            self.buttons.append(button)
        buttons.addStretch(1)
        self.open_button, self.move_button, self.new_case_button = self.buttons

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)
        layout.addWidget(self.stack, 1)
        self.set_disposition(self.disposition, load=False)

    # --- what is shown -------------------------------------------------------------------
    def set_disposition(self, disposition: str, *, load: bool = True) -> None:
        self.disposition = disposition
        title, hint = TITLES[disposition]
        self.title.setText(title)
        self.hint.setText(hint)
        if load:
            self.reload()
        self._sync()

    def reload(self) -> None:
        self._generation += 1
        generation, desk, disposition = self._generation, self._desk, self.disposition

        def shown(items: tuple[IntakeItem, ...]) -> None:
            if generation != self._generation:
                return
            keep = self.current_item()
            self.model.set_rows(items)
            self.empty.setText("No messages on this list." if disposition == "not_request"
                               else "Nothing in quarantine.")
            self.stack.setCurrentWidget(self.table if items else self.empty)
            self.select(keep.message_db_id if keep is not None else None)
            self._sync()

        self._runner.run(lambda _p: desk.intake_queue(disposition),
                         label="Loading the list", on_done=shown)

    def select(self, message_db_id: int | None) -> None:
        row = 0
        for position in range(self.proxy.rowCount()):
            item = self._item_at(position)
            if item is not None and item.message_db_id == message_db_id:
                row = position
        if self.proxy.rowCount():
            self.table.setCurrentIndex(self.proxy.index(row, 0))

    def _item_at(self, row: int) -> IntakeItem | None:
        return self.model.row_at(self.proxy.mapToSource(self.proxy.index(row, 0)))

    def current_item(self) -> IntakeItem | None:
        return self.model.row_at(self.proxy.mapToSource(self.table.currentIndex()))

    def _sync(self) -> None:
        enabled = self.isVisible() and self.current_item() is not None
        for made, button in zip(self.actions_list, self.buttons, strict=True):
            made.setEnabled(enabled)
            button.setEnabled(self.current_item() is not None)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._sync()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._sync()

    def _open(self, dialog: QDialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.active_dialog = dialog
        dialog.open()

    # --- actions -------------------------------------------------------------------------
    def open_message(self) -> None:
        item = self.current_item()
        if item is not None:
            self._open(MessageViewer(self._desk, self._runner, item.message_db_id, self))

    def ask_move(self) -> None:
        item = self.current_item()
        if item is None:
            return
        dialog = MoveToCaseDialog(f"“{item.subject or '(no subject)'}” from {item.sender}",
                                  self)
        desk, message_db_id = self._desk, item.message_db_id

        def moved(changed: Changed) -> None:
            dialog.saved()
            self.reload()
            self.moved.emit(changed)

        def failed(error: BaseException) -> None:
            if not dialog.save_failed(error):
                self._runner.report(error)

        dialog.submitted.connect(lambda ref: self._runner.run(
            lambda _p: desk.attach_messages([message_db_id], ref),
            label=f"Moving the message to {ref}", on_done=moved, on_error=failed))
        self._open(dialog)

    def ask_new_case(self) -> None:
        item = self.current_item()
        if item is None:
            return
        desk, message_db_id = self._desk, item.message_db_id

        def read(_progress: Progress) -> MessageDetail:
            return desk.get_message(message_db_id)

        self._runner.run(read, label="Reading the message", on_done=self.new_case_from)

    def new_case_from(self, message: MessageDetail) -> None:
        dialog = NewCaseDialog(self._desk, self._runner, self, message=message)
        dialog.created.connect(self._created)
        self._open(dialog)

    def _created(self, changed: Changed) -> None:
        self.reload()
        self.created.emit(changed)
