"""Edit the requester or the data subject of a case."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialogButtonBox, QVBoxLayout, QWidget

from caseapp.services.dto import PartyView
from caseapp.vocabulary import RELATIONSHIPS
from ui.dialogs.saving import SavingDialog
from ui.widgets.party_form import PartyForm


class PartyDialog(SavingDialog):
    """Emits ``submitted`` and stays open, saving, until ``saved()`` or ``save_failed()``."""

    submitted = Signal(str, object)  # role, PartyData

    def __init__(self, ref: str, role: str, party: PartyView | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, ok=QDialogButtonBox.StandardButton.Save)
        self.role = role
        what = "requester" if role == "requester" else "data subject"
        self.setWindowTitle(f"{ref}: edit the {what}")
        self.setMinimumWidth(460)
        relationships = RELATIONSHIPS if role == "requester" else ()
        self.form = PartyForm(subject=role == "subject", relationships=relationships)
        if party is not None:
            self.form.set_value(party)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        what = "Requester" if self.role == "requester" else "Data subject"
        problems = self.form.problems(what, need_contact=self.role == "requester")
        if problems:
            self.show_problems(problems)
            return
        self.set_saving(True)
        self.submitted.emit(self.role, self.form.value())
