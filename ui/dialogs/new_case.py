"""New case typed in by hand: a phone call, a letter from the PO box, a visit."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QVBoxLayout,
    QWidget,
)

from caseapp.services import Desk
from caseapp.services.dto import Changed, NewCase, PartyData
from caseapp.vocabulary import CHANNELS
from ui.dialogs.saving import SavingDialog
from ui.formatting import channel_text
from ui.tasks import Progress, TaskRunner
from ui.widgets.party_form import PartyForm
from ui.widgets.request_form import RequestForm

ON_BEHALF_RELATIONSHIPS = ("parent", "guardian", "authorized_agent")


class NewCaseDialog(SavingDialog):
    created = Signal(object)  # Changed

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent, ok_text="Create case")
        self._desk = desk
        self._runner = runner
        self.setWindowTitle("New case")
        self.setMinimumWidth(940)

        self.channel = QComboBox()
        for channel in CHANNELS:
            self.channel.addItem(channel_text(channel), channel)
        self.channel.setCurrentIndex(CHANNELS.index("phone"))
        self.request = RequestForm(desk.rules.jurisdictions, desk.clock.today(),
                                   automatic_priority=True,
                                   first=[("&Channel", self.channel)])
        self.received_on = self.request.received_on
        self.type_boxes = self.request.type_boxes
        self.jurisdiction = self.request.jurisdiction
        self.priority = self.request.priority
        self.language = self.request.language
        self.summary = self.request.summary
        self.assign_to_me = QCheckBox(f"Assign to me ({desk.username})")
        self.assign_to_me.setChecked(True)
        self.request.form.addRow("", self.assign_to_me)
        request_box = QGroupBox("Request")
        QVBoxLayout(request_box).addWidget(self.request)

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
        # "From the requester's state" says which law that is, as the states are typed.
        self.requester.state.currentIndexChanged.connect(self._states_changed)
        self.subject.state.currentIndexChanged.connect(self._states_changed)
        self.on_behalf.toggled.connect(self._states_changed)

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

        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    # --- reading the form ----------------------------------------------------------------
    def _states_changed(self) -> None:
        subject = self.subject.value().state if self.on_behalf.isChecked() else ""
        self.request.set_party_states(self.requester.value().state, subject)

    def request_types(self) -> tuple[str, ...]:
        return self.request.request_types()

    def value(self) -> NewCase:
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
            jurisdiction=self.request.jurisdiction_code(),
            received_on=self.request.received_date(),
            summary=self.request.summary_text(),
            priority=self.request.priority_name(),
            language=self.request.language_code(),
            assignee=self._desk.username if self.assign_to_me.isChecked() else None,
        )

    def problems(self) -> list[str]:
        found = self.request.problems()
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
            self.show_problems(problems)
            return
        self.set_saving(True)
        new = self.value()
        desk = self._desk

        def create(_progress: Progress) -> Changed:
            return desk.create_case(new)

        self._runner.run(create, label="Creating the case", on_done=self._created,
                         on_error=self._failed)

    def _created(self, changed: Changed) -> None:
        self.saved()
        self.created.emit(changed)

    def _failed(self, error: BaseException) -> None:
        if not self.save_failed(error):
            self._runner.report(error)
