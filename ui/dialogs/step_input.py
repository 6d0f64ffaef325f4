"""Asks what a step needs before it is taken: a reason, the case it duplicates, how
identity was verified, a supervisor's override, or a date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from caseapp.vocabulary import VERIFICATION_METHODS
from ui.dialogs.saving import SavingDialog
from ui.formatting import method_text

REF = re.compile(r"^PR-\d{4}-\d{5,}$")


@dataclass(frozen=True)
class StepValues:
    reason: str = ""
    other_case: str = ""
    method: str = ""
    override: bool = False
    received_on: date | None = None


@dataclass(frozen=True)
class Needs:
    reason: bool = False
    case: bool = False
    method: bool = False
    override: bool = False  # offer a supervisor's override (needs a reason when ticked)
    date_up_to: date | None = None  # ask for a date, no later than this
    reason_label: str = "Reason"
    date_label: str = "Received on"


class StepInputDialog(SavingDialog):
    """Emits ``submitted`` with the values and stays open, saving, until whoever saves
    calls ``saved()`` (it closes) or ``save_failed(error)`` (the refusal shows inline)."""

    submitted = Signal(object)  # StepValues

    def __init__(self, title: str, intro: str, needs: Needs,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        self.needs = needs
        self.intro_label = QLabel(intro)
        self.intro_label.setWordWrap(True)
        form = QFormLayout()
        self.reason = QPlainTextEdit()
        self.reason.setTabChangesFocus(True)
        self.reason.setFixedHeight(80)
        self.other_case = QLineEdit()
        self.other_case.setPlaceholderText("PR-2026-00042")
        self.method = QComboBox()
        self.method.addItem("Choose how identity was verified…", "")
        for method in VERIFICATION_METHODS:
            self.method.addItem(method_text(method), method)
        self.override = QCheckBox("Override as supervisor (the reason is recorded)")
        self.received_on = QDateEdit()
        self.received_on.setCalendarPopup(True)
        self.received_on.setDisplayFormat("yyyy-MM-dd")
        if needs.case:
            form.addRow("Duplicate of", self.other_case)
        if needs.method:
            form.addRow("Verified by", self.method)
        if needs.override:
            form.addRow("", self.override)
        if needs.reason or needs.override:
            form.addRow(needs.reason_label, self.reason)
        if needs.date_up_to is not None:
            limit = QDate(needs.date_up_to.year, needs.date_up_to.month, needs.date_up_to.day)
            self.received_on.setMaximumDate(limit)
            self.received_on.setDate(limit)
            form.addRow(needs.date_label, self.received_on)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro_label)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def values(self) -> StepValues:
        picked = self.received_on.date()
        return StepValues(
            reason=self.reason.toPlainText().strip(),
            other_case=self.other_case.text().strip().upper(),
            method=str(self.method.currentData() or ""),
            override=self.needs.override and self.override.isChecked(),
            received_on=(date(picked.year(), picked.month(), picked.day())
                         if self.needs.date_up_to is not None else None),
        )

    def problems(self) -> list[str]:
        values = self.values()
        found = []
        if self.needs.case and not REF.match(values.other_case):
            found.append("Name the case this one duplicates (like PR-2026-00042).")
        if self.needs.method and not values.method:
            found.append("Choose how identity was verified.")
        if (self.needs.reason or values.override) and not values.reason:
            found.append(f"{self.needs.reason_label} is required.")
        return found

    def submit(self) -> None:
        problems = self.problems()
        if problems:
            self.show_problems(problems)
            return
        self.set_saving(True)
        self.submitted.emit(self.values())
