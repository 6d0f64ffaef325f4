"""What happened to a printed letter: mailed (when, how, the tracking number of certified
mail), or returned by the post office as undeliverable. Each dialog stays open until
the desk took it; a refusal shows under the form with what was typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from caseapp.services.letters import MAIL_METHODS, LetterView
from ui.dialogs.saving import SavingDialog

TRACKING_MAX = 60


@dataclass(frozen=True)
class Mailing:
    method: str
    mailed_on: date
    tracking_number: str


@dataclass(frozen=True)
class Returned:
    returned_on: date
    note: str


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def _date_edit(day: date, earliest: date, latest: date) -> QDateEdit:
    edit = QDateEdit(_qdate(day))
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(_qdate(min(earliest, latest)))
    edit.setMaximumDate(_qdate(latest))
    return edit


class MarkMailedDialog(SavingDialog):
    submitted = Signal(object)  # Mailing

    def __init__(self, letter: LetterView, today: date, issued_on: date,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, ok_text="Mark mailed")
        self.letter = letter
        self.setWindowTitle(f"{letter.ref}: letter {letter.serial} mailed")
        self.setMinimumWidth(460)
        to = ", ".join(letter.recipient) or "the requester"
        intro = QLabel(f"{letter.kind_label} {letter.serial} to {to}: when and how it went "
                       "in the mail. Certified mail has a tracking number on its receipt.")
        intro.setWordWrap(True)
        self.mailed_on = _date_edit(letter.mailed_on or today, issued_on, today)
        self.method = QComboBox()
        for name, label in MAIL_METHODS.items():
            self.method.addItem(label, name)
        if letter.mail_method in MAIL_METHODS:
            self.method.setCurrentIndex(self.method.findData(letter.mail_method))
        self.method.currentIndexChanged.connect(lambda _i: self._method_changed())
        self.tracking = QLineEdit(letter.tracking_number)
        self.tracking.setMaxLength(TRACKING_MAX)
        self.tracking.setPlaceholderText("e.g. 9407 1000 0000 0000 0000 00")
        self.tracking_label = QLabel("Tracking number")
        form = QFormLayout()
        form.addRow("Mailed on", self.mailed_on)
        form.addRow("Sent by", self.method)
        form.addRow(self.tracking_label, self.tracking)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self._method_changed()

    def _certified(self) -> bool:
        return str(self.method.currentData()).startswith("certified")

    def _method_changed(self) -> None:
        self.tracking_label.setText("Tracking number (required)" if self._certified()
                                    else "Tracking number")

    def submit(self) -> None:
        tracking = " ".join(self.tracking.text().split())
        if self._certified() and not tracking:
            self.show_problems(["Certified mail has a tracking number: enter it from the "
                                "receipt."])
            self.tracking.setFocus()
            return
        self.set_saving(True)
        self.submitted.emit(Mailing(str(self.method.currentData()),
                                    _day(self.mailed_on.date()), tracking))


class ReturnedDialog(SavingDialog):
    submitted = Signal(object)  # Returned

    def __init__(self, letter: LetterView, today: date, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent, ok_text="Mark returned")
        self.letter = letter
        self.setWindowTitle(f"{letter.ref}: letter {letter.serial} returned")
        self.setMinimumWidth(460)
        intro = QLabel(f"The post office returned {letter.kind_label.lower()} "
                       f"{letter.serial} as undeliverable. A task is added to the case: "
                       "find a new address, or send the letter by email.")
        intro.setWordWrap(True)
        mailed = letter.mailed_on or today
        self.returned_on = _date_edit(today, mailed, today)
        self.note = QLineEdit()
        self.note.setMaxLength(500)
        self.note.setPlaceholderText("What the envelope says, e.g. “Moved, left no address”")
        form = QFormLayout()
        form.addRow("Returned on", self.returned_on)
        form.addRow("Note", self.note)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        self.set_saving(True)
        self.submitted.emit(Returned(_day(self.returned_on.date()), self.note.text().strip()))
