"""The top of the case page: reference, status, badges, who and where."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from caseapp.services.dto import CaseDetail
from ui.formatting import RESPONSE_SENT, channel_text, moment_text

PILL = ("border-radius: 8px; padding: 2px 8px; font-weight: bold; color: white; "
        "background: {colour};")
STATUS_COLOURS = {True: "#1f5fa8", False: "#6b7480"}


def _pill(text: str, colour: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet(PILL.format(colour=colour))
    return label


class CaseHeader(QWidget):
    def __init__(self, timezone: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._timezone = timezone
        self.ref = QLabel()
        font = self.ref.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.ref.setFont(font)
        self.ref.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = _pill("", STATUS_COLOURS[True])
        self.priority = _pill("", "#b45309")
        self.child = _pill("CHILD", "#1f5fa8")
        self.child.setToolTip("The data subject is a child under 13 (COPPA): handle first.")
        self.overdue = _pill("OVERDUE", "#b3261e")
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setStyleSheet("color: #3c4650;")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.ref)
        top.addSpacing(8)
        for pill in (self.status, self.priority, self.child, self.overdue):
            top.addWidget(pill)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.facts)
        layout.addWidget(self.summary)
        layout.addWidget(self.reason)

    def set_case(self, detail: CaseDetail) -> None:
        self.ref.setText(detail.ref)
        self.status.setText(detail.status_label)
        self.status.setStyleSheet(PILL.format(colour=STATUS_COLOURS[detail.is_open]))
        self.priority.setText(detail.priority.upper())
        self.priority.setVisible(detail.priority in ("urgent", "high"))
        self.child.setVisible(detail.is_child)
        # Once the response went out, its clock stopped: nothing is overdue any more.
        self.overdue.setVisible(detail.deadlines.overdue and detail.status != RESPONSE_SENT)
        facts = [
            detail.jurisdiction_name,
            channel_text(detail.channel),
            f"received {moment_text(detail.received_at, self._timezone)}",
            f"assigned to {detail.assignee}" if detail.assignee else "not assigned",
        ]
        if detail.via_agent:
            facts.append("via an authorized agent")
        if not detail.is_privacy_request:
            facts.append("not a privacy request")
        self.facts.setText(" · ".join(facts))
        self.summary.setText(f"“{detail.summary}”" if detail.summary else "")
        self.summary.setVisible(bool(detail.summary))
        links = []
        if detail.status_reason:
            links.append(f"{detail.status_label}: {detail.status_reason}")
        if detail.duplicate_of:
            links.append(f"Duplicate of {detail.duplicate_of}")
        if detail.appeal_of:
            links.append(f"Appeal of {detail.appeal_of}")
        self.reason.setText("\n".join(links))
        self.reason.setVisible(bool(links))
