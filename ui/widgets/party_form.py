"""Fields for a requester or data subject, shared by the New-case and Edit dialogs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from caseapp.services.dto import PartyData, PartyView
from ui.formatting import RELATIONSHIP_LABELS, US_STATES

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NO_AGE = -1


class PartyForm(QWidget):
    """Name, email, phone, address, ZIP, state; for a data subject also age, child and
    the requester's relationship to them."""

    def __init__(self, *, subject: bool, relationships: tuple[str, ...] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.subject = subject
        self.name = QLineEdit()
        self.email = QLineEdit()
        self.email.setPlaceholderText("name@example.com")
        self.phone = QLineEdit()
        self.address = QPlainTextEdit()
        self.address.setTabChangesFocus(True)
        self.address.setFixedHeight(52)
        self.address.setPlaceholderText("Street\nCity, State ZIP")
        self.postal_code = QLineEdit()
        self.postal_code.setMaxLength(10)
        self.state = QComboBox()
        self.state.addItem("—", "")
        for code in US_STATES:
            self.state.addItem(code, code)
        self.state.setToolTip("Decides the law that applies (jurisdiction) and its deadlines.")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("&Name", self.name)
        form.addRow("&Email", self.email)
        form.addRow("&Phone", self.phone)
        form.addRow("Postal address", self.address)
        form.addRow("ZIP code", self.postal_code)
        form.addRow("State", self.state)
        self.age = QSpinBox()
        self.age.setRange(NO_AGE, 129)
        self.age.setSpecialValueText("unknown")
        self.age.setValue(NO_AGE)
        self.is_child = QCheckBox("Under 13 (COPPA: handled first)")
        self.relationship = QComboBox()
        for value in relationships:
            self.relationship.addItem(RELATIONSHIP_LABELS.get(value, value), value)
        if subject:
            form.addRow("Age", self.age)
            form.addRow("", self.is_child)
            self.age.valueChanged.connect(self._age_changed)
        if relationships:
            form.addRow("Requester is", self.relationship)

    def _age_changed(self, age: int) -> None:
        if age != NO_AGE:
            self.is_child.setChecked(age < 13)

    def value(self) -> PartyData:
        age = self.age.value()
        return PartyData(
            name=self.name.text().strip(),
            email=self.email.text().strip(),
            phone=self.phone.text().strip(),
            postal_address=self.address.toPlainText().strip(),
            postal_code=self.postal_code.text().strip(),
            state=str(self.state.currentData() or ""),
            is_child=self.subject and self.is_child.isChecked(),
            age=age if self.subject and age != NO_AGE else None,
            relationship=str(self.relationship.currentData() or "self"),
        )

    def set_value(self, party: PartyView) -> None:
        self.name.setText(party.name)
        self.email.setText(party.email)
        self.phone.setText(party.phone)
        self.address.setPlainText(party.postal_address)
        self.postal_code.setText(party.postal_code)
        index = self.state.findData(party.state)
        if index < 0 and party.state:
            self.state.addItem(party.state, party.state)
            index = self.state.count() - 1
        self.state.setCurrentIndex(max(index, 0))
        self.age.setValue(party.age if party.age is not None else NO_AGE)
        self.is_child.setChecked(party.is_child)
        index = self.relationship.findData(party.relationship)
        if index >= 0:
            self.relationship.setCurrentIndex(index)

    def problems(self, what: str, *, need_contact: bool) -> list[str]:
        """What is missing or malformed, as sentences for the dialog."""
        value = self.value()
        found = []
        if need_contact and not (value.name or value.email or value.phone):
            found.append(f"{what}: give at least a name, an email or a phone number.")
        if value.email and not EMAIL.match(value.email):
            found.append(f"{what}: '{value.email}' is not an email address.")
        return found


ON_BEHALF_RELATIONSHIPS = ("parent", "guardian", "authorized_agent")


class CaseParties:
    """The requester and, when ticked, the data subject they act for, as both new-case
    forms (typed in, and read from a scanned letter) show and read them."""

    def __init__(self, requester_title: str) -> None:
        self.requester = PartyForm(subject=False)
        self.requester_box = QGroupBox(requester_title)
        QVBoxLayout(self.requester_box).addWidget(self.requester)
        self.subject = PartyForm(subject=True, relationships=ON_BEHALF_RELATIONSHIPS)
        self.on_behalf = QGroupBox("On behalf of someone else (the data subject)")
        self.on_behalf.setCheckable(True)
        self.on_behalf.setChecked(False)
        self.on_behalf.setToolTip("A parent for a child, a guardian or an authorized agent")
        QVBoxLayout(self.on_behalf).addWidget(self.subject)
        self.on_behalf.toggled.connect(self.subject.setVisible)
        self.subject.setVisible(False)

    def on_states_changed(self, slot: Callable[[], None]) -> None:
        """Call ``slot`` when either state or the on-behalf box changes (the law follows)."""
        self.requester.state.currentIndexChanged.connect(slot)
        self.subject.state.currentIndexChanged.connect(slot)
        self.on_behalf.toggled.connect(slot)

    def states(self) -> tuple[str, str]:
        subject = self.subject.value().state if self.on_behalf.isChecked() else ""
        return self.requester.value().state, subject

    def values(self) -> tuple[PartyData, PartyData | None]:
        """(requester, subject or None): the relationship moves to the requester."""
        requester = self.requester.value()
        if not self.on_behalf.isChecked():
            return requester, None
        on_behalf = self.subject.value()
        return (replace(requester, relationship=on_behalf.relationship),
                replace(on_behalf, relationship="self"))

    def problems(self) -> list[str]:
        found = self.requester.problems("Requester", need_contact=True)
        if self.on_behalf.isChecked():
            found += self.subject.problems("Data subject", need_contact=False)
            if not self.subject.value().name:
                found.append("Data subject: give the name of the person the request is for.")
        return found
