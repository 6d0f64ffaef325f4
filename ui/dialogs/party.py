"""Edit the requester or the data subject of a case."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from caseapp.services.dto import PartyView
from caseapp.vocabulary import RELATIONSHIPS
from ui.dialogs.step_input import ERROR_STYLE
from ui.widgets.party_form import PartyForm


class PartyDialog(QDialog):
    submitted = Signal(str, object)  # role, PartyData

    def __init__(self, ref: str, role: str, party: PartyView | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        what = "requester" if role == "requester" else "data subject"
        self.setWindowTitle(f"{ref}: edit the {what}")
        self.setMinimumWidth(460)
        relationships = RELATIONSHIPS if role == "requester" else ()
        self.form = PartyForm(subject=role == "subject", relationships=relationships)
        if party is not None:
            self.form.set_value(party)
        self.error_label = QLabel()
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    def submit(self) -> None:
        what = "Requester" if self.role == "requester" else "Data subject"
        problems = self.form.problems(what, need_contact=self.role == "requester")
        if problems:
            self.error_label.setText("\n".join(problems))
            self.error_label.show()
            return
        self.accept()
        self.submitted.emit(self.role, self.form.value())
