"""New action on a case's confirmed records: what to do (the kinds the case's request
types ask for first), on which records, and for a correction the new values."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from caseapp.services.record_actions import KIND_NEEDS
from caseapp.vocabulary import ACTION_KIND_LABELS, IDENTIFIER_LABELS
from ui.dialogs.saving import SavingDialog

KIND_HELP = {
    "delete": "Delete or de-identify the records in every system; rows that follow them go "
              "too, rows a retention rule keeps are listed. A second person approves it.",
    "correct": "Write new values (email, phone, name, address…) into the records.",
    "opt_out": "Take the person off every marketing list.",
    "stop_sharing": "Stop selling or sharing the records; the recipients are told.",
}
CORRECTABLE = ("email", "phone", "full_name", "first_name", "last_name", "street", "city",
               "state", "postal_code")
NOT_ASKED = "not asked for by this case's request types"


@dataclass(frozen=True)
class ActionChoice:
    kind: str
    hit_ids: tuple[int, ...] | None = None  # None: every confirmed record
    corrections: dict[str, str] = field(default_factory=dict)


def offered_kinds(request_types: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(the kinds the request types ask for, the others), each in the usual order."""
    asked = [k for k in ACTION_KIND_LABELS if set(KIND_NEEDS.get(k, ())) & set(request_types)]
    return asked, [k for k in ACTION_KIND_LABELS if k not in asked]


class NewActionDialog(SavingDialog):
    """Emits ``submitted`` with an ActionChoice and stays open until it was proposed."""

    submitted = Signal(object)

    def __init__(self, ref: str, request_types: tuple[str, ...], confirmed: int,
                 selected: tuple[int, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent, ok_text="Propose and preview")
        self.setWindowTitle(f"{ref}: new action on the records")
        self.setMinimumWidth(520)
        asked, others = offered_kinds(request_types)
        self.kind_group = QButtonGroup(self)
        self.kind_buttons: dict[str, QRadioButton] = {}
        kinds_box = QGroupBox("What to do")
        kinds_layout = QVBoxLayout(kinds_box)
        for kind in asked + others:
            if others and kind == others[0]:
                hint = QLabel(f"Also possible, though {NOT_ASKED}:" if asked else
                              "None of these is asked for by this case's request types:")
                hint.setStyleSheet("color: #5f6b76;")
                kinds_layout.addWidget(hint)
            button = QRadioButton(ACTION_KIND_LABELS[kind])
            button.setToolTip(KIND_HELP[kind])
            self.kind_group.addButton(button)
            self.kind_buttons[kind] = button
            kinds_layout.addWidget(button)
            help_label = QLabel(KIND_HELP[kind])
            help_label.setWordWrap(True)
            help_label.setStyleSheet("color: #5f6b76; margin-left: 22px;")
            kinds_layout.addWidget(help_label)
        self.kind_buttons[(asked + others)[0]].setChecked(True)
        self.kind_group.buttonToggled.connect(lambda *_: self._kind_changed())

        self.scope_all = QRadioButton(f"All {confirmed} confirmed records")
        self.scope_selected = QRadioButton(f"Only the {len(selected)} selected in the list")
        self._selected = selected
        scope_box = QGroupBox("On which records")
        scope_layout = QVBoxLayout(scope_box)
        if confirmed == 0:
            none = QLabel("No record is confirmed as the person's yet: confirm their records "
                          "in the list first.")
            none.setWordWrap(True)
            scope_layout.addWidget(none)
        elif selected and len(selected) < confirmed:
            scope_layout.addWidget(self.scope_all)
            scope_layout.addWidget(self.scope_selected)
            self.scope_selected.setChecked(True)
        else:
            scope_layout.addWidget(QLabel(f"All {confirmed} confirmed record(s)."))
        self.scope_all.setChecked(not (selected and len(selected) < confirmed))

        self.corrections_box = QGroupBox("New values")
        self.corrections_grid = QGridLayout(self.corrections_box)
        self.corrections_grid.addWidget(QLabel("Identifier"), 0, 0)
        self.corrections_grid.addWidget(QLabel("New value"), 0, 1)
        self.correction_rows: list[tuple[QComboBox, QLineEdit]] = []
        self.add_row_button = QPushButton("Add a value")
        self.add_row_button.clicked.connect(lambda: self.add_correction_row())
        self.add_correction_row()

        layout = QVBoxLayout(self)
        layout.addWidget(kinds_box)
        layout.addWidget(scope_box)
        layout.addWidget(self.corrections_box)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self._kind_changed()

    def add_correction_row(self, identifier: str = "", value: str = "") -> None:
        if len(self.correction_rows) >= len(CORRECTABLE):
            return
        used = {combo.currentData() for combo, _edit in self.correction_rows}
        combo = QComboBox()
        for kind in CORRECTABLE:
            combo.addItem(IDENTIFIER_LABELS.get(kind, kind), kind)
        first_free = next((k for k in CORRECTABLE if k not in used), CORRECTABLE[0])
        combo.setCurrentIndex(CORRECTABLE.index(identifier or first_free))
        edit = QLineEdit(value)
        edit.setPlaceholderText("the new value")
        row = len(self.correction_rows) + 1
        self.corrections_grid.addWidget(combo, row, 0)
        self.corrections_grid.addWidget(edit, row, 1)
        self.corrections_grid.addWidget(self.add_row_button, row + 1, 0)
        self.correction_rows.append((combo, edit))
        self.add_row_button.setEnabled(len(self.correction_rows) < len(CORRECTABLE))

    def kind(self) -> str:
        for kind, button in self.kind_buttons.items():
            if button.isChecked():
                return kind
        return ""

    def _kind_changed(self) -> None:
        self.corrections_box.setVisible(self.kind() == "correct")
        self.adjustSize()

    def choice(self) -> ActionChoice:
        kind = self.kind()
        corrections = {}
        if kind == "correct":
            corrections = {str(combo.currentData()): edit.text().strip()
                           for combo, edit in self.correction_rows if edit.text().strip()}
        only = self._selected if self.scope_selected.isChecked() else None
        return ActionChoice(kind, only, corrections)

    def problems(self) -> list[str]:
        found = []
        if not self.kind():
            found.append("Choose what to do.")
        if self.kind() == "correct":
            filled = [str(combo.currentData()) for combo, edit in self.correction_rows
                      if edit.text().strip()]
            if not filled:
                found.append("Give at least one new value (e.g. the new email address).")
            if len(filled) != len(set(filled)):
                found.append("Give each identifier once.")
        return found

    def submit(self) -> None:
        problems = self.problems()
        if problems:
            self.show_problems(problems)
            return
        self.set_saving(True)
        self.submitted.emit(self.choice())
