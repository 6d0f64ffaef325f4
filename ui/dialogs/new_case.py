"""New case typed in by hand: a phone call, a letter from the PO box, a visit."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from caseapp.errors import EnvironmentProblem, UserError
from caseapp.services import Desk
from caseapp.services.dto import Changed, NewCase, PartyData
from caseapp.vocabulary import CHANNELS, PRIORITIES, REQUEST_TYPE_LABELS, REQUEST_TYPES
from ui.dialogs.step_input import ERROR_STYLE
from ui.formatting import channel_text
from ui.tasks import Progress, TaskRunner
from ui.widgets.party_form import PartyForm

ON_BEHALF_RELATIONSHIPS = ("parent", "guardian", "authorized_agent")
HINT_STYLE = "color: #5f6b76;"


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


class NewCaseDialog(QDialog):
    created = Signal(object)  # Changed

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self.setWindowTitle("New case")
        self.setMinimumWidth(940)

        self.channel = QComboBox()
        for channel in CHANNELS:
            self.channel.addItem(channel_text(channel), channel)
        self.channel.setCurrentIndex(CHANNELS.index("phone"))
        today = desk.clock.today()
        self.received_on = QDateEdit(_qdate(today))
        self.received_on.setCalendarPopup(True)
        self.received_on.setDisplayFormat("yyyy-MM-dd")
        self.received_on.setMaximumDate(_qdate(today))
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
        self.priority = QComboBox()
        self.priority.addItem("Automatic (urgent for a child's data)", None)
        for name in PRIORITIES:
            self.priority.addItem(name.capitalize(), name)
        self.summary = QPlainTextEdit()
        self.summary.setTabChangesFocus(True)
        self.summary.setPlaceholderText("What the person asks for, in their words")
        self.summary.setFixedHeight(110)
        self.assign_to_me = QCheckBox(f"Assign to me ({desk.username})")
        self.assign_to_me.setChecked(True)

        request_box = QGroupBox("Request")
        request_form = QFormLayout(request_box)
        request_form.addRow("&Channel", self.channel)
        request_form.addRow("&Received on", self.received_on)
        request_form.addRow("", received_hint)
        request_form.addRow("Request types", types_grid)
        request_form.addRow("Priorit&y", self.priority)
        request_form.addRow("&Summary", self.summary)
        request_form.addRow("", self.assign_to_me)

        self.requester = PartyForm(subject=False)
        requester_box = QGroupBox("Requester (who contacted us)")
        QVBoxLayout(requester_box).addWidget(self.requester)
        self.subject = PartyForm(subject=True, relationships=ON_BEHALF_RELATIONSHIPS)
        self.on_behalf = QGroupBox("On behalf of someone else (the data subject)")
        self.on_behalf.setCheckable(True)
        self.on_behalf.setChecked(False)
        self.on_behalf.setToolTip("A parent for a child, a guardian or an authorized agent")
        QVBoxLayout(self.on_behalf).addWidget(self.subject)
        self.on_behalf.toggled.connect(self.subject.setVisible)
        self.subject.setVisible(False)

        left = QVBoxLayout()
        left.addWidget(request_box)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(requester_box)
        right.addWidget(self.on_behalf)
        right.addStretch(1)
        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)

        self.error_label = QLabel()
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Create case")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    # --- reading the form ----------------------------------------------------------------
    def request_types(self) -> tuple[str, ...]:
        return tuple(t for t, box in self.type_boxes.items() if box.isChecked())

    def value(self) -> NewCase:
        picked = self.received_on.date()
        requester = self.requester.value()
        subject: PartyData | None = None
        if self.on_behalf.isChecked():
            on_behalf = self.subject.value()
            requester = PartyData(**{**requester.__dict__,
                                     "relationship": on_behalf.relationship})
            subject = PartyData(**{**on_behalf.__dict__, "relationship": "self"})
        return NewCase(
            channel=str(self.channel.currentData()),
            request_types=self.request_types(),
            requester=requester,
            subject=subject,
            received_on=date(picked.year(), picked.month(), picked.day()),
            summary=self.summary.toPlainText().strip(),
            priority=self.priority.currentData(),
            assignee=self._desk.username if self.assign_to_me.isChecked() else None,
        )

    def problems(self) -> list[str]:
        found = []
        if not self.request_types():
            found.append("Choose at least one request type.")
        found += self.requester.problems("Requester", need_contact=True)
        if self.on_behalf.isChecked():
            found += self.subject.problems("Data subject", need_contact=False)
            if not self.subject.value().name:
                found.append("Data subject: give the name of the person the request is for.")
        return found

    # --- saving --------------------------------------------------------------------------
    def submit(self) -> None:
        problems = self.problems()
        if problems:
            self._show_problems(problems)
            return
        self.error_label.hide()
        self.ok_button.setEnabled(False)
        self.ok_button.setText("Saving…")
        new = self.value()
        desk = self._desk

        def create(_progress: Progress) -> Changed:
            return desk.create_case(new)

        self._runner.run(create, label="Creating the case", on_done=self._created,
                         on_error=self._failed)

    def _created(self, changed: Changed) -> None:
        self.accept()
        self.created.emit(changed)

    def _failed(self, error: BaseException) -> None:
        self.ok_button.setEnabled(True)
        self.ok_button.setText("Create case")
        if isinstance(error, UserError) and not isinstance(error, EnvironmentProblem):
            self._show_problems([error.message])
        else:
            self._runner.report(error)

    def _show_problems(self, problems: list[str]) -> None:
        self.error_label.setText("\n".join(problems))
        self.error_label.show()
