"""New case typed in by hand: a phone call, a letter from the PO box, a visit — or
opened by staff from a message on the not-a-request list or in quarantine.

"What the caller asked" takes the caller's words; "Suggest from notes" runs the
classifier on them (pure and fast, on the GUI thread) and proposes request types, a
child or an agent, the jurisdiction, and fills identifier fields that are still empty:
nothing staff typed or ticked is overwritten. The notes are kept as the case's first note.
"""

from __future__ import annotations

from datetime import UTC
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseapp.intake.classify import Proposal, classify
from caseapp.services import Desk
from caseapp.services.dto import Changed, MessageDetail, NewCase
from caseapp.vocabulary import CHANNELS
from ui.dialogs.saving import SavingDialog
from ui.formatting import channel_text, types_text
from ui.tasks import Progress, TaskRunner
from ui.widgets.party_form import NO_AGE, CaseParties
from ui.widgets.request_form import HINT_STYLE, RequestForm, qdate


class NewCaseDialog(SavingDialog):
    created = Signal(object)  # Changed

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None, *,
                 message: MessageDetail | None = None) -> None:
        super().__init__(parent, ok_text="Create case")
        self._desk = desk
        self._runner = runner
        self.message = message
        self.suggested: Proposal | None = None
        self.setWindowTitle("New case" if message is None else
                            f"Open a case from: {message.subject or '(no subject)'}")
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

        self.parties = CaseParties("Requester (who contacted us)")
        self.requester, self.subject = self.parties.requester, self.parties.subject
        self.on_behalf = self.parties.on_behalf
        requester_box = self.parties.requester_box
        # "From the requester's state" says which law that is, as the states are typed.
        self.parties.on_states_changed(self._states_changed)

        self.notes = QPlainTextEdit()
        self.notes.setTabChangesFocus(True)
        self.notes.setPlaceholderText("Type what the caller asks for, in their words: "
                                      "“delete my daughter's account, she is 11…”")
        self.notes.setFixedHeight(72)
        self.suggest_button = QPushButton("S&uggest from notes")
        self.suggest_button.setToolTip(
            "Propose request types, child, agent and jurisdiction from the notes, and fill "
            "identifier fields that are still empty (Ctrl+Shift+S)")
        self.suggest_button.clicked.connect(self.suggest)
        QShortcut(QKeySequence("Ctrl+Shift+S"), self, self.suggest)
        self.suggestion = QLabel()
        self.suggestion.setWordWrap(True)
        self.suggestion.setStyleSheet(HINT_STYLE)
        self.notes_box = QGroupBox("What the caller asked")
        notes_layout = QVBoxLayout(self.notes_box)
        notes_layout.addWidget(self.notes)
        suggest_row = QHBoxLayout()
        suggest_row.addWidget(self.suggest_button)
        suggest_row.addWidget(self.suggestion, 1)
        notes_layout.addLayout(suggest_row)

        left = QVBoxLayout()
        left.addWidget(self.notes_box)
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
        self.from_message = QLabel()
        self.from_message.setWordWrap(True)
        self.from_message.setStyleSheet(HINT_STYLE)
        self.from_message.hide()
        layout.addWidget(self.from_message)
        layout.addLayout(columns, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        if message is not None:
            self._fill_from_message(message)

    # --- classification help ---------------------------------------------------------------
    def suggest(self) -> None:
        """Classify the notes and apply the proposal without overwriting anything."""
        text = self.notes.toPlainText().strip()
        if not text:
            self.suggestion.setText("Type what the caller asked first.")
            self.suggestion.setToolTip("")
            return
        requester = self.requester.value()
        self.apply_proposal(classify("", text, requester.name, requester.email))
        if not self.summary.toPlainText().strip():
            self.summary.setPlainText(text[:300])

    def apply_proposal(self, proposal: Proposal) -> None:
        """Tick proposed types (when none is ticked), mark a child or an agent, choose the
        jurisdiction (when left automatic) and fill empty identifier fields."""
        self.suggested = proposal
        filled: list[str] = []
        if proposal.request_types and not self.request_types():
            for request_type in proposal.request_types:
                box = self.type_boxes.get(request_type)
                if box is not None:
                    box.setChecked(True)
            filled.append(types_text(proposal.request_types))
        if (proposal.is_child or proposal.via_agent) and not self.on_behalf.isChecked():
            self.on_behalf.setChecked(True)
            relationship = "parent" if proposal.is_child else "authorized_agent"
            index = self.subject.relationship.findData(relationship)
            if index >= 0:
                self.subject.relationship.setCurrentIndex(index)
            filled.append("a child" if proposal.is_child else "an authorized agent")
        if proposal.is_child and self.on_behalf.isChecked():
            if proposal.child_age is not None and self.subject.age.value() == NO_AGE:
                self.subject.age.setValue(proposal.child_age)
            self.subject.is_child.setChecked(True)
        if proposal.jurisdiction and self.jurisdiction.currentIndex() == 0:
            index = self.jurisdiction.findData(proposal.jurisdiction)
            if index >= 0:
                self.jurisdiction.setCurrentIndex(index)
                filled.append(proposal.jurisdiction)
        if proposal.language != self.request.language_code() and (
                self.request.language_code() == "en"):
            index = self.language.findData(proposal.language)
            if index >= 0:
                self.language.setCurrentIndex(index)
        person = self.requester
        for field, values in ((person.name, proposal.names), (person.email, proposal.emails),
                              (person.phone, proposal.phones),
                              (person.postal_code, proposal.postal_codes)):
            if values and not field.text().strip():
                field.setText(values[0])
                filled.append(values[0])
        if proposal.postal_address and not person.address.toPlainText().strip():
            person.address.setPlainText(proposal.postal_address)
            filled.append("the address")
        if not proposal.is_privacy_request:
            filled.append("maybe not a privacy request")
        reasons = "\n".join(proposal.reasons) or "Nothing recognised in the notes."
        self.suggestion.setText(("Suggested: " + "; ".join(filled)) if filled else
                                "Nothing to add: check the fields yourself.")
        self.suggestion.setToolTip("Why:\n" + reasons)

    def _fill_from_message(self, message: MessageDetail) -> None:
        """Prefill from the message: sender, subject, arrival and the classifier's view."""
        name, address = parseaddr(message.sender)
        self.channel.setCurrentIndex(CHANNELS.index("email"))
        if name:
            self.requester.name.setText(name)
        if "@" in address:
            self.requester.email.setText(address)
        self.summary.setPlainText((message.subject or "").strip()[:300])
        if message.received_at is not None:
            local = message.received_at.replace(tzinfo=UTC).astimezone(
                ZoneInfo(self._desk.clock.timezone))
            self.received_on.setMaximumDate(qdate(local.date()))
            self.received_on.setDate(qdate(local.date()))
            self.received_on.setEnabled(False)
            self.received_on.setToolTip("The legal clock starts when the message arrived.")
        self.notes_box.hide()
        self.from_message.setText(
            f"From the message “{message.subject or '(no subject)'}” of {message.sender}. "
            "The fields are proposed from its text: check them before creating the case. "
            "The message moves into the new case.")
        self.from_message.show()
        self.apply_proposal(classify(message.subject, message.body_text, name, address))
        self.suggestion.setText("")
        reasons = "\n".join(self.suggested.reasons) if self.suggested else ""
        self.from_message.setToolTip("Why:\n" + reasons if reasons else "")

    # --- reading the form ----------------------------------------------------------------
    def _states_changed(self) -> None:
        self.request.set_party_states(*self.parties.states())

    def request_types(self) -> tuple[str, ...]:
        return self.request.request_types()

    def value(self) -> NewCase:
        requester, subject = self.parties.values()
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
        return self.request.problems() + self.parties.problems()

    # --- saving --------------------------------------------------------------------------
    def submit(self) -> None:
        problems = self.problems()
        if problems:
            self.show_problems(problems)
            return
        self.set_saving(True)
        new = self.value()
        desk = self._desk
        message_db_id = self.message.id if self.message is not None else None
        notes = self.notes.toPlainText().strip() if message_db_id is None else ""

        def create(_progress: Progress) -> Changed:
            if message_db_id is not None:
                return desk.open_case_from_message(message_db_id, new)
            changed = desk.create_case(new)
            if notes:  # the caller's own words, kept with the case
                return desk.add_note(changed.case.ref, f"What the caller asked: {notes}")
            return changed

        self._runner.run(create, label="Creating the case", on_done=self._created,
                         on_error=self._failed)

    def _created(self, changed: Changed) -> None:
        self.saved()
        self.created.emit(changed)

    def _failed(self, error: BaseException) -> None:
        if not self.save_failed(error):
            self._runner.report(error)
