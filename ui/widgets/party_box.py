"""A requester or data subject as read-only lines, with an Edit button."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from caseapp.services.dto import PartyView
from ui.formatting import relationship_text


class PartyBox(QGroupBox):
    edit_requested = Signal(str)  # role

    def __init__(self, role: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.role = role
        self._form = QFormLayout()
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.fields: dict[str, QLabel] = {}
        for key, label in (("name", "Name"), ("email", "Email"), ("phone", "Phone"),
                           ("address", "Address"), ("state", "State / ZIP"),
                           ("extra", "")):
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = value
            self._form.addRow(label, value)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #5f6b76;")
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(lambda: self.edit_requested.emit(self.role))
        layout = QVBoxLayout(self)
        layout.addLayout(self._form)
        layout.addWidget(self.note)
        layout.addWidget(self.edit_button, 0, Qt.AlignmentFlag.AlignRight)

    def set_party(self, party: PartyView, *, same_as_requester: bool = False) -> None:
        for label in self.fields.values():
            label.setText("")
        self.note.setVisible(same_as_requester)
        self.note.setText("The requester asks about their own data.")
        self._set_rows_visible(not same_as_requester)
        if same_as_requester:
            self.edit_button.setText("Add a separate data subject…")
            return
        self.edit_button.setText("Edit…")
        self.fields["name"].setText(party.name or "—")
        self.fields["email"].setText(party.email or "—")
        self.fields["phone"].setText(party.phone or "—")
        self.fields["address"].setText(party.postal_address or "—")
        self.fields["state"].setText(" ".join(x for x in (party.state, party.postal_code) if x)
                                     or "—")
        extra = []
        if party.role == "subject":
            if party.age is not None:
                extra.append(f"age {party.age}")
            if party.is_child:
                extra.append("a child (under 13)")
        elif party.relationship != "self":
            extra.append(f"acts as: {relationship_text(party.relationship)}")
        text = ", ".join(extra)
        self.fields["extra"].setText(text[:1].upper() + text[1:])
        self._form.setRowVisible(5, bool(extra))

    def _set_rows_visible(self, visible: bool) -> None:
        for row in range(self._form.rowCount()):
            self._form.setRowVisible(row, visible)
