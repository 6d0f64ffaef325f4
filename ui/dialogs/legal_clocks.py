"""Settings → Legal clocks: every deadline rule with its source; an administrator may
change the ones counsel must confirm (REGULATIONS.md "confirm")."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from caseapp.services import Desk
from caseapp.services.dto import ClockSetting
from ui.models.legal_clocks import LegalClockModel
from ui.tasks import Progress, TaskRunner


class LegalClocksDialog(QDialog):
    def __init__(self, desk: Desk, runner: TaskRunner, is_admin: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.runner = runner
        self.is_admin = is_admin
        self.setWindowTitle("Legal clocks")
        self.resize(1000, 560)
        self.model = LegalClockModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(LegalClockModel.COL_SOURCE, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._selected)

        intro = QLabel(
            "Deadlines are counted from the day a request is received. Clocks marked "
            "“fixed by law” cannot be changed here; the others are numbers counsel must "
            "confirm. A change applies to due dates computed from then on, on every "
            "workstation, and is recorded in the audit trail."
            + ("" if is_admin else "\n\nOnly an administrator can change a clock.")
        )
        intro.setWordWrap(True)
        self.days = QSpinBox()
        self.days.setRange(1, 366)
        self.days.setEnabled(False)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply)
        self.reset_button = QPushButton("Back to shipped value")
        self.reset_button.setEnabled(False)
        self.reset_button.clicked.connect(self.reset)
        self.status = QLabel()
        self.status.setWordWrap(True)
        editor = QHBoxLayout()
        editor.addWidget(QLabel("Length of the selected clock:"))
        editor.addWidget(self.days)
        editor.addWidget(self.apply_button)
        editor.addWidget(self.reset_button)
        editor.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(editor)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.load()

    def load(self) -> None:
        desk = self.desk
        self.runner.run(lambda _p: desk.legal_clocks(), label="Loading legal clocks",
                        on_done=self.model.set_settings)

    def selected(self) -> ClockSetting | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.setting(rows[0].row()) if rows else None

    def _selected(self, _new: QItemSelection, _old: QItemSelection) -> None:
        item = self.selected()
        editable = bool(item and item.configurable and self.is_admin)
        self.days.setEnabled(editable)
        self.apply_button.setEnabled(editable)
        self.reset_button.setEnabled(editable and item is not None
                                     and item.days != item.shipped_days)
        if item is not None:
            self.days.setValue(item.days)
            self.days.setSuffix(" " + item.unit.replace("_", " "))
            if not item.configurable:
                self.status.setText(f"Fixed by law: {item.source}.")
            elif not self.is_admin:
                self.status.setText("Only an administrator can change this clock.")
            else:
                self.status.setText(f"Configurable (confirm with counsel): {item.source}.")

    def apply(self) -> None:
        item = self.selected()
        if item is not None:
            self._save(item, self.days.value())

    def reset(self) -> None:
        item = self.selected()
        if item is not None:
            self._save(item, item.shipped_days)

    def _save(self, item: ClockSetting, days: int) -> None:
        desk = self.desk
        row = self.table.selectionModel().selectedRows()[0].row()

        def save(_progress: Progress) -> list[ClockSetting]:
            desk.set_legal_clock(item.jurisdiction, item.request_type, item.clock, days)
            return desk.legal_clocks()

        def done(settings: list[ClockSetting]) -> None:
            self.model.set_settings(settings)
            self.table.selectRow(row)
            self.status.setText(f"Saved: {item.jurisdiction} {item.clock} is now {days} "
                                f"{item.unit.replace('_', ' ')} for new due dates.")

        self.runner.run(save, label="Saving the legal clock", on_done=done)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Enter applies the new length instead of closing the dialog.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
                self.apply_button.isEnabled()):
            self.apply()
            return
        super().keyPressEvent(event)
