"""What a request is: received date, request types, jurisdiction, priority, language and
summary. Shared by the New-case and the Edit-request dialogs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QWidget,
)

from caseapp.services.dto import CaseDetail
from caseapp.vocabulary import PRIORITIES, REQUEST_TYPE_LABELS, REQUEST_TYPES
from caseapp.workflow.jurisdictions import DEFAULT_CODE, Jurisdictions
from ui.formatting import LANGUAGE_LABELS

HINT_STYLE = "color: #5f6b76;"
FROM_STATE = "From the requester's state"


def qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def pydate(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())


def jurisdiction_text(jurisdictions: Jurisdictions, code: str) -> str:
    """'CA — California (CCPA/CPRA)'; the default policy by its name alone."""
    name = jurisdictions.name(code)
    return name if code == DEFAULT_CODE else f"{code} — {name}"


class RequestForm(QWidget):
    """The fields, in a QFormLayout (``form``) a dialog may add rows to: ``first`` rows
    go on top (and first in the Tab order), more can be added below."""

    def __init__(self, jurisdictions: Jurisdictions, today: date, *,
                 automatic_priority: bool, first: Sequence[tuple[str, QWidget]] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jurisdictions = jurisdictions
        self._states: tuple[str, str] = ("", "")
        self.received_on = QDateEdit(qdate(today))
        self.received_on.setCalendarPopup(True)
        self.received_on.setDisplayFormat("yyyy-MM-dd")
        self.received_on.setMaximumDate(qdate(today))
        received_hint = QLabel("The legal clock starts on this day. For post: the day the "
                               "letter reached the PO box, not the day it was scanned.")
        received_hint.setWordWrap(True)
        received_hint.setStyleSheet(HINT_STYLE)
        self.type_boxes: dict[str, QCheckBox] = {}
        types_grid = QGridLayout()
        for position, request_type in enumerate(REQUEST_TYPES):
            box = QCheckBox(REQUEST_TYPE_LABELS[request_type])
            self.type_boxes[request_type] = box
            types_grid.addWidget(box, position // 2, position % 2)

        self.jurisdiction = QComboBox()
        self.jurisdiction.addItem(FROM_STATE, None)
        for code in (*jurisdictions.codes, DEFAULT_CODE):
            self.jurisdiction.addItem(jurisdiction_text(jurisdictions, code), code)
        self.jurisdiction.setToolTip(
            "The law whose deadlines apply. From the requester's state: the data "
            "subject's state if given, else the requester's.")

        self.priority = QComboBox()
        if automatic_priority:
            self.priority.addItem("Automatic (urgent for a child's data)", None)
        for name in PRIORITIES:
            self.priority.addItem(name.capitalize(), name)
        self.language = QComboBox()
        for code, label in LANGUAGE_LABELS.items():
            self.language.addItem(label, code)
        self.language.setToolTip("The language of the letters to the requester")
        self.summary = QPlainTextEdit()
        self.summary.setTabChangesFocus(True)
        self.summary.setPlaceholderText("What the person asks for, in their words")
        self.summary.setFixedHeight(110)

        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        for label, widget in first:
            self.form.addRow(label, widget)
        self.form.addRow("&Received on", self.received_on)
        self.form.addRow("", received_hint)
        self.form.addRow("Request types", types_grid)
        self.form.addRow("&Jurisdiction", self.jurisdiction)
        self.form.addRow("Priorit&y", self.priority)
        self.form.addRow("&Language", self.language)
        self.form.addRow("&Summary", self.summary)
        self.set_party_states("", "")

    # --- the jurisdiction from the parties' states ------------------------------------------
    def set_party_states(self, requester: str, subject: str) -> None:
        """Say which jurisdiction "From the requester's state" stands for."""
        self._states = (requester, subject)
        code = self.derived_jurisdiction()
        if requester or subject:
            text = f"{FROM_STATE} ({self._jurisdictions.name(code)})"
        else:
            text = f"{FROM_STATE} (none given: default policy)"
        self.jurisdiction.setItemText(0, text)

    def derived_jurisdiction(self) -> str:
        requester, subject = self._states
        return self._jurisdictions.normalize(subject or requester)

    # --- reading -------------------------------------------------------------------------
    def request_types(self) -> tuple[str, ...]:
        return tuple(t for t, box in self.type_boxes.items() if box.isChecked())

    def received_date(self) -> date:
        return pydate(self.received_on.date())

    def jurisdiction_code(self) -> str | None:
        """The code chosen, or None for "From the requester's state"."""
        code = self.jurisdiction.currentData()
        return str(code) if code else None

    def priority_name(self) -> str | None:
        name = self.priority.currentData()
        return str(name) if name else None

    def language_code(self) -> str:
        return str(self.language.currentData())

    def summary_text(self) -> str:
        return self.summary.toPlainText().strip()

    def problems(self) -> list[str]:
        return [] if self.request_types() else ["Choose at least one request type."]

    # --- filling in ----------------------------------------------------------------------
    def set_case(self, detail: CaseDetail) -> None:
        """Show what a case records now (to edit it)."""
        self.received_on.setDate(qdate(detail.deadlines.received_on))
        for request_type, box in self.type_boxes.items():
            box.setChecked(request_type in detail.request_types)
        subject = "" if detail.subject_is_requester else detail.subject.state
        self.set_party_states(detail.requester.state, subject)
        self._select(self.jurisdiction, detail.jurisdiction, detail.jurisdiction_name)
        self._select(self.priority, detail.priority, detail.priority.capitalize())
        self._select(self.language, detail.language, detail.language)
        self.summary.setPlainText(detail.summary)

    @staticmethod
    def _select(combo: QComboBox, value: str, text: str) -> None:
        index = combo.findData(value)
        if index < 0:  # a value this window does not offer: keep it choosable
            combo.addItem(text, value)
            index = combo.count() - 1
        combo.setCurrentIndex(index)
