"""Each customer system's state for a case (searched, nothing found, NOT searched…), and
the answer of a system searched by hand: done, or nothing found (with a note)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from caseapp.services.dto import SourceSearchView
from ui.dialogs.step_input import Needs, StepInputDialog
from ui.models.records import SystemsModel
from ui.widgets.records_changes import RecordChanges
from ui.widgets.rows_table import RowsTable

S = SystemsModel


class SystemsPanel(QWidget):
    def __init__(self, changes: RecordChanges, timezone: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._changes = changes
        self.model = SystemsModel(timezone, self)
        self.table: RowsTable[SourceSearchView] = RowsTable(
            self.model,
            widths={S.COL_SYSTEM: 170, S.COL_KIND: 75, S.COL_STATE: 285,
                    S.COL_SEARCHED: 195, S.COL_RECORDS: 65, S.COL_DETAIL: 220})
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.update_buttons())
        self.done_button = QPushButton("Done…")
        self.done_button.setToolTip("Its owner found the person's records and dealt with "
                                    "them: add a note")
        self.done_button.clicked.connect(lambda: self.ask_answer(True))
        self.none_button = QPushButton("Nothing found…")
        self.none_button.setToolTip("Its owner searched by hand and found nothing: add a note")
        self.none_button.clicked.connect(lambda: self.ask_answer(False))
        self.hint = QLabel()
        self.hint.setStyleSheet("color: #5f6b76;")
        self.hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.done_button)
        buttons.addWidget(self.none_button)
        buttons.addWidget(self.hint, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        changes.busy_changed.connect(lambda _busy: self.update_buttons())
        self.set_systems(())

    def set_systems(self, systems: tuple[SourceSearchView, ...]) -> None:
        self.table.set_rows(systems, key=lambda system: system.source)
        self.update_buttons()

    def update_buttons(self) -> None:
        system = self.table.current_row()
        pending = (system is not None and system.kind == "manual"
                   and system.outcome == "manual_pending")
        enabled = pending and not self._changes.busy and self._changes.ref is not None
        self.done_button.setEnabled(enabled)
        self.none_button.setEnabled(enabled)
        self.hint.setText("" if pending else
                          "Select a system searched by hand to record its owner's answer.")

    def ask_answer(self, found: bool) -> None:
        ref = self._changes.ref
        system = self.table.current_row()
        if ref is None or system is None or not self.done_button.isEnabled():
            return
        intro = (f"The owner of {system.label} found the person's records and dealt with "
                 "them. Note what was found and done; the note goes into the case's notes."
                 if found else
                 f"The owner of {system.label} searched by hand and found nothing. Note who "
                 "searched and how; the note goes into the case's notes.")
        title = f"{ref}: {system.label} " + ("done" if found else "nothing found")
        dialog = StepInputDialog(title, intro, Needs(reason=True, reason_label="Note"), self)
        source, label = system.source, system.label
        dialog.submitted.connect(lambda values: self._changes.run(
            f"Recording the search of {label} by hand",
            lambda desk, _p: desk.complete_manual_source(ref, source, found, values.reason),
            dialog=dialog))
        self._changes.open(dialog)
