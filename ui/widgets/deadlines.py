"""A case's deadlines in words (with days left) above the timeline bar."""

from __future__ import annotations

from datetime import date

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from caseapp.services.dto import DeadlineView
from ui.formatting import date_text, days_text, source_text
from ui.widgets.timeline import TimelineBar

LATE_STYLE = "color: #b3261e; font-weight: bold;"
SOON_STYLE = "color: #9a5b00; font-weight: bold;"
MUTED_STYLE = "color: #5f6b76;"


class DeadlinePanel(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Deadlines", parent)
        self.respond = QLabel()
        self.acknowledge = QLabel()
        self.original = QLabel()
        self.original.setWordWrap(True)
        self.basis = QLabel()
        self.basis.setWordWrap(True)
        self.basis.setStyleSheet(MUTED_STYLE)
        self.timeline = TimelineBar()
        self._form = QFormLayout()
        self._form.addRow("Respond by", self.respond)
        self._form.addRow("Acknowledge by", self.acknowledge)
        self._form.addRow("Original due", self.original)
        layout = QVBoxLayout(self)
        layout.addLayout(self._form)
        layout.addWidget(self.timeline)
        layout.addWidget(self.basis)

    def set_deadlines(self, deadlines: DeadlineView, *, is_open: bool,
                      response_sent: bool = False, sent_on: date | None = None) -> None:
        """``response_sent``: the clock stopped when the response went out (on ``sent_on``,
        if known); the page says so instead of counting down."""
        readable = [source_text(s) for s in deadlines.sources]
        sources = "\n".join(readable)
        respond = date_text(deadlines.respond_by)
        counting = is_open and not response_sent
        if response_sent:
            late = sent_on is not None and sent_on > deadlines.respond_by
            respond = (f"Response sent on {date_text(sent_on)}" if sent_on
                       else "Response sent") + f" (due {respond}{', late' if late else ''})"
            style = LATE_STYLE if late else ""
        elif is_open:
            respond += f" — {days_text(deadlines.days_left)}"
            style = LATE_STYLE if deadlines.overdue else (
                SOON_STYLE if deadlines.days_left <= 7 else "")
        else:
            respond += " (case closed)"
            style = ""
        self.respond.setText(respond)
        self.respond.setStyleSheet(style)
        self.respond.setToolTip(sources)
        if deadlines.acknowledge_by is None:
            self.acknowledge.setText("not required")
        elif deadlines.acknowledged:
            self.acknowledge.setText(f"{date_text(deadlines.acknowledge_by)} — done")
        elif counting and deadlines.acknowledge_days_left is not None:
            self.acknowledge.setText(f"{date_text(deadlines.acknowledge_by)} — "
                                     f"{days_text(deadlines.acknowledge_days_left)}")
        else:
            self.acknowledge.setText(date_text(deadlines.acknowledge_by))
        self.acknowledge.setStyleSheet(
            LATE_STYLE if (counting and not deadlines.acknowledged
                           and (deadlines.acknowledge_days_left or 0) < 0) else "")
        self.original.setText(
            f"{date_text(deadlines.original_respond_by)}, extended: "
            f"{deadlines.extension_reason or 'no reason recorded'}")
        self._form.setRowVisible(2, deadlines.extended)
        basis = "Legal basis: " + "; ".join(readable)
        if deadlines.extension_possible and counting:
            basis += ". One extension is possible."
        self.basis.setText(basis)
        self.setToolTip(sources)
        self.timeline.set_deadlines(deadlines, is_open=is_open,
                                    sent_on=sent_on if response_sent else None,
                                    response_sent=response_sent)
