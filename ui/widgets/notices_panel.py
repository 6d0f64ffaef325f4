"""The case's downstream notices: read one, record how it went out, then the recipient's
acknowledgement, or why it was not notified (a reason is required)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from caseapp.services.dto import NoticeView
from ui.dialogs.notice_dialogs import MarkSentDialog, NoticeDialog
from ui.dialogs.step_input import Needs, StepInputDialog
from ui.models.records import NoticesModel
from ui.widgets.records_changes import RecordChanges
from ui.widgets.rows_table import RowsTable

N = NoticesModel


class NoticesPanel(QWidget):
    def __init__(self, changes: RecordChanges, timezone: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._changes = changes
        self._open_count = 0
        self.model = NoticesModel(timezone, self)
        self.table: RowsTable[NoticeView] = RowsTable(
            self.model,
            widths={N.COL_RECIPIENT: 215, N.COL_KIND: 130, N.COL_CATEGORIES: 150,
                    N.COL_STATUS: 150, N.COL_DUE: 80, N.COL_SENT: 185,
                    N.COL_ANSWERED: 150})
        self.table.setToolTip("Enter or double-click shows the notice")
        self.table.activated.connect(lambda _index: self.view())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.update_buttons())
        self.empty = QLabel("No notices: they are made when an action ran in systems whose "
                            "data went to affiliates, service providers or dealers.")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #5f6b76;")
        self.view_button = QPushButton("View notice…")
        self.view_button.setToolTip("The notice's subject and text, to copy")
        self.view_button.clicked.connect(self.view)
        self.sent_button = QPushButton("Mark sent…")
        self.sent_button.clicked.connect(self.ask_sent)
        self.ack_button = QPushButton("Acknowledged")
        self.ack_button.clicked.connect(self.acknowledged)
        self.not_notified_button = QPushButton("Not notified…")
        self.not_notified_button.clicked.connect(self.ask_not_notified)
        buttons = QHBoxLayout()
        for button in (self.view_button, self.sent_button, self.ack_button,
                       self.not_notified_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addLayout(buttons)
        changes.busy_changed.connect(lambda _busy: self.update_buttons())
        self.set_notices(())

    def set_notices(self, notices: tuple[NoticeView, ...]) -> None:
        self.table.set_rows(notices, key=lambda notice: notice.id)
        self._open_count = sum(1 for notice in notices if notice.is_open)
        self.empty.setVisible(not notices)
        self.update_buttons()

    def open_count(self) -> int:
        return self._open_count

    def current(self) -> NoticeView | None:
        rows = self.table.selected_rows()
        return rows[0] if rows else None

    def update_buttons(self) -> None:
        notice = self.current()
        busy = self._changes.busy
        self.view_button.setEnabled(notice is not None)
        self.sent_button.setEnabled(not busy and notice is not None
                                    and notice.status == "open")
        self.ack_button.setEnabled(not busy and notice is not None
                                   and notice.status == "sent")
        self.not_notified_button.setEnabled(not busy and notice is not None
                                            and notice.is_open)
        if notice is None:
            why = "Select a notice first."
        elif notice.status == "open":
            why = "Record how it went out first (Mark sent…)."
        elif notice.status == "sent":
            why = "The recipient confirmed it dealt with the request."
        else:
            why = f"This notice is {notice.status_label.lower()}."
        self.ack_button.setToolTip(why)
        self.sent_button.setToolTip("Record how the notice went out (email, mail…)"
                                    if notice is None or notice.status == "open"
                                    else "It was already sent.")
        self.not_notified_button.setToolTip(
            "It could not be notified, or only with a disproportionate effort: say why "
            "(the deletion letter explains it)")

    # --- what staff do -------------------------------------------------------------------
    def view(self) -> None:
        notice = self.current()
        if notice is not None:
            self._changes.open(NoticeDialog(notice, self))

    def ask_sent(self) -> None:
        notice = self.current()
        if notice is None or not self.sent_button.isEnabled():
            return
        dialog = MarkSentDialog(notice, self)
        notice_id, name = notice.id, notice.recipient_name
        dialog.submitted.connect(lambda how: self._changes.run(
            f"Recording the notice to {name} as sent",
            lambda desk, _p: desk.mark_notice_sent(notice.case_ref, notice_id, how),
            dialog=dialog))
        self._changes.open(dialog)

    def acknowledged(self) -> None:
        notice = self.current()
        if notice is None or not self.ack_button.isEnabled():
            return
        notice_id = notice.id
        self._changes.run(
            f"Recording {notice.recipient_name}'s acknowledgement",
            lambda desk, _p: desk.record_notice_answer(notice.case_ref, notice_id,
                                                       acknowledged=True))

    def ask_not_notified(self) -> None:
        notice = self.current()
        if notice is None or not self.not_notified_button.isEnabled():
            return
        dialog = StepInputDialog(
            f"{notice.case_ref}: {notice.recipient_name} not notified",
            "Say why this recipient is not notified (e.g. impossible, or a disproportionate "
            "effort, and why). The deletion letter explains it to the consumer.",
            Needs(reason=True, reason_label="Why not"), self)
        notice_id = notice.id
        dialog.submitted.connect(lambda values: self._changes.run(
            f"Recording that {notice.recipient_name} is not notified",
            lambda desk, _p: desk.record_notice_answer(notice.case_ref, notice_id,
                                                       acknowledged=False,
                                                       note=values.reason),
            dialog=dialog))
        self._changes.open(dialog)
