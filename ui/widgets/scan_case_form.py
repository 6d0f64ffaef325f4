"""The new-case form of a scanned letter: the request, the requester and whom it is for.

Built from the shared RequestForm and PartyForm, prefilled from the letter's proposal
(``caseapp.services.proposal_for``). The day the letter reached the PO box starts the
legal clock, so it is never taken for granted: staff tick "confirmed" beside it.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date
from typing import cast

from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from caseapp.services.dto import NewCase, PartyData, PartyView
from caseapp.workflow.jurisdictions import Jurisdictions
from ui.widgets.party_form import CaseParties
from ui.widgets.request_form import HINT_STYLE, RequestForm, qdate

CONFIRM_RECEIVED = "Checked: the letter reached the PO box on this day"
NOT_CONFIRMED = ("Confirm the day the letter reached the PO box (the legal clock starts "
                 "then): check the date and tick the box beside it.")


def _view(role: str, party: PartyData) -> PartyView:
    return PartyView(role=role, **asdict(party))


class ScanCaseForm(QWidget):
    def __init__(self, jurisdictions: Jurisdictions, today: date, username: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.username = username
        self.date_written = QLabel("—")
        self.date_written.setToolTip("The date the letter gives (read from the scan); the "
                                     "legal clock starts when it reached the PO box")
        self.request = RequestForm(jurisdictions, today, automatic_priority=True,
                                   first=[("Date written", self.date_written)])
        self.request.summary.setFixedHeight(64)
        form = self.request.form
        self.received_on = self.request.received_on
        received_label = form.labelForField(self.received_on)
        if isinstance(received_label, QLabel):
            received_label.setText("Received at the &PO box")
        self.received_confirmed = QCheckBox(CONFIRM_RECEIVED)
        self.received_confirmed.setToolTip(
            "The date stamped when the post was collected (not the day it was scanned)")
        position = cast(tuple[int, object], form.getWidgetPosition(self.received_on))
        form.insertRow(position[0] + 1, "", self.received_confirmed)
        self.assign_to_me = QCheckBox(f"Assign to me ({username})")
        self.assign_to_me.setChecked(True)
        form.addRow("", self.assign_to_me)

        self.parties = CaseParties("Requester (who wrote)")
        self.requester, self.subject = self.parties.requester, self.parties.subject
        self.requester_box, self.on_behalf = self.parties.requester_box, self.parties.on_behalf
        self.parties.on_states_changed(self._states_changed)

        request_box = QGroupBox("Request")
        QVBoxLayout(request_box).addWidget(self.request)
        self.hint = QLabel("Read from the scan: check every field against the letter.")
        self.hint.setStyleSheet(HINT_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hint)
        layout.addWidget(request_box)
        layout.addWidget(self.requester_box)
        layout.addWidget(self.on_behalf)
        layout.addStretch(1)

    def _states_changed(self) -> None:
        self.request.set_party_states(*self.parties.states())

    # --- filling in ----------------------------------------------------------------------
    def set_proposal(self, proposal: NewCase, date_written: date | None) -> None:
        self.date_written.setText(f"{date_written:%B %-d, %Y}" if date_written
                                  else "not found in the letter")
        request = self.request
        if proposal.received_on is not None:
            request.received_on.setDate(qdate(proposal.received_on))
        for request_type, box in request.type_boxes.items():
            box.setChecked(request_type in proposal.request_types)
        self.requester.set_value(_view("requester", proposal.requester))
        if proposal.subject is not None:
            self.on_behalf.setChecked(True)
            self.subject.set_value(_view("subject", replace(
                proposal.subject, relationship=proposal.requester.relationship)))
        index = request.jurisdiction.findData(proposal.jurisdiction)
        request.jurisdiction.setCurrentIndex(max(index, 0))
        index = request.language.findData(proposal.language)
        if index >= 0:
            request.language.setCurrentIndex(index)
        request.summary.setPlainText(proposal.summary)
        self._states_changed()

    # --- reading -------------------------------------------------------------------------
    def value(self) -> NewCase:
        requester, subject = self.parties.values()
        request = self.request
        return NewCase(
            channel="postal",
            request_types=request.request_types(),
            requester=requester,
            subject=subject,
            jurisdiction=request.jurisdiction_code(),
            received_on=request.received_date(),
            summary=request.summary_text(),
            priority=request.priority_name(),
            language=request.language_code(),
            assignee=self.username if self.assign_to_me.isChecked() else None,
        )

    def problems(self) -> list[str]:
        found = [] if self.received_confirmed.isChecked() else [NOT_CONFIRMED]
        return found + self.request.problems() + self.parties.problems()
