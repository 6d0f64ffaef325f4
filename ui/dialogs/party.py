"""Edit the requester or the data subject of a case.

Saved on the version of the case the dialog opened on: when someone else saved the case
meanwhile, the merge (ui/dialogs/merge_edit.py) shows their change beside yours, field
by field, and applies the fields you choose on top of theirs; nothing is overwritten
silently and nothing typed is lost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialogButtonBox, QVBoxLayout, QWidget

from caseapp.services.cases import EditConflict
from caseapp.services.dto import CaseDetail, PartyData, PartyView
from caseapp.vocabulary import RELATIONSHIPS
from ui.dialogs.merge_edit import MergeEditDialog, field_merges, open_merge
from ui.dialogs.saving import SavingDialog
from ui.formatting import RELATIONSHIP_LABELS
from ui.widgets.party_form import PartyForm

FIELD_LABELS = {
    "name": "Name",
    "email": "Email",
    "phone": "Phone",
    "postal_address": "Postal address",
    "postal_code": "ZIP code",
    "state": "State",
    "age": "Age",
    "is_child": "Under 13",
    "relationship": "Requester is",
}
#: The fields each form shows (the others are not the dialog's to change).
ROLE_FIELDS = {
    "requester": ("name", "email", "phone", "postal_address", "postal_code", "state",
                  "relationship"),
    "subject": ("name", "email", "phone", "postal_address", "postal_code", "state", "age",
                "is_child"),
}


@dataclass(frozen=True)
class PartyEdit:
    """What the dialog saves: the whole party, on the case version it was edited from."""

    role: str
    data: PartyData
    base_version: int | None


def party_of(detail: CaseDetail, role: str) -> PartyView | None:
    """The party the dialog edits; None for a subject who is the requester (no own row)."""
    if role == "requester":
        return detail.requester
    return None if detail.subject_is_requester else detail.subject


def data_of(party: PartyView | None) -> PartyData:
    """A party as the service takes it (an empty party when there is none)."""
    return PartyData() if party is None else PartyData(
        **{item.name: getattr(party, item.name) for item in fields(PartyData)})


class PartyDialog(SavingDialog):
    """Emits ``submitted`` (a PartyEdit) and stays open, saving, until ``saved()`` or
    ``save_failed()``."""

    submitted = Signal(object)  # PartyEdit

    def __init__(self, detail: CaseDetail, role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, ok=QDialogButtonBox.StandardButton.Save)
        self.detail = detail
        self.role = role
        self.labels = {name: FIELD_LABELS[name] for name in ROLE_FIELDS[role]}
        self.submitted_edit: PartyEdit | None = None
        self.merge_dialog: MergeEditDialog | None = None
        what = "requester" if role == "requester" else "data subject"
        self.setWindowTitle(f"{detail.ref}: edit the {what}")
        self.setMinimumWidth(460)
        relationships = RELATIONSHIPS if role == "requester" else ()
        self.form = PartyForm(subject=role == "subject", relationships=relationships)
        party = party_of(detail, role)
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
        self._save(PartyEdit(self.role, self.form.value(), self.detail.version))

    def _save(self, edit: PartyEdit) -> None:
        self.set_saving(True)
        self.submitted_edit = edit
        self.submitted.emit(edit)

    def save_failed(self, error: BaseException) -> bool:
        """Someone else saved the case meanwhile: show theirs beside yours and let the
        user keep theirs or apply theirs-plus-mine (caseapp.services.cases.EditConflict)."""
        edit = self.submitted_edit
        if not isinstance(error, EditConflict) or edit is None:
            return super().save_failed(error)
        self.set_saving(False)
        before = asdict(data_of(party_of(self.detail, self.role)))
        typed = asdict(edit.data)
        mine = {name: typed[name] for name in self.labels if typed[name] != before[name]}
        rows = field_merges(before, asdict(data_of(party_of(error.current, self.role))), mine,
                            self.labels)
        self.merge_dialog = open_merge(
            self, error, rows, self.labels, self._describe,
            lambda chosen: self._apply_on_top(error.current, chosen),
            lambda: self._keep_theirs(error.current))
        return True

    def _describe(self, name: str, value: object) -> str:
        if name == "is_child":
            return "Yes" if value else "No"
        if name == "relationship" and isinstance(value, str):
            return RELATIONSHIP_LABELS.get(value, value)
        return str(value)

    def _apply_on_top(self, current: CaseDetail, chosen: dict[str, object]) -> None:
        """Save theirs with the ticked fields of yours, on the version saved meanwhile;
        the form shows what is saved."""
        self.detail = current
        data = replace(data_of(party_of(current, self.role)), **chosen)  # type: ignore[arg-type]
        self.form.set_value(PartyView(role=self.role, **asdict(data)))
        self._save(PartyEdit(self.role, data, current.version))

    def _keep_theirs(self, current: CaseDetail) -> None:
        self.detail = current
        self.submitted_edit = None
        self.accept()  # nothing of yours is saved; the case page shows theirs
