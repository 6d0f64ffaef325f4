"""Asks which case a stray message belongs to."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ui.dialogs.saving import SavingDialog
from ui.dialogs.step_input import REF


class MoveToCaseDialog(SavingDialog):
    """Emits ``submitted`` with a well-formed case reference and stays open, saving,
    until ``saved()``; an unknown case shows inline (``save_failed``)."""

    submitted = Signal(str)

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, ok_text="Move")
        self.setWindowTitle("Move to a case")
        self.setMinimumWidth(460)
        intro = QLabel(f"Move {what} into an existing case. It is recorded in the case "
                       "history; its attachments go with it.")
        intro.setWordWrap(True)
        self.ref = QLineEdit()
        self.ref.setPlaceholderText("PR-2026-00042")
        form = QFormLayout()
        form.addRow("&Case reference", self.ref)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def value(self) -> str:
        return self.ref.text().strip().upper()

    def submit(self) -> None:
        if not REF.match(self.value()):
            self.show_problems(["Give the case reference, like PR-2026-00042."])
            return
        self.set_saving(True)
        self.submitted.emit(self.value())
