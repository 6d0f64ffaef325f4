"""A downstream notice: read it (subject and body as plain text, with Copy), and record
how it went out."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseapp.services.dto import NoticeView
from caseapp.vocabulary import RECIPIENT_KIND_LABELS
from ui.dialogs.saving import SavingDialog

SENT_HOW = ("email", "first-class mail", "certified mail", "courier",
            "the recipient's portal", "fax")


def _reach(notice: NoticeView) -> str:
    kind = RECIPIENT_KIND_LABELS.get(notice.recipient_kind, notice.recipient_kind)
    parts = [f"{notice.recipient_name} ({kind})"]
    if notice.email:
        parts.append(notice.email)
    if notice.postal_address:
        parts.append(" ".join(notice.postal_address.split()))
    return " · ".join(parts)


class NoticeDialog(QDialog):
    """The notice's subject and body as plain text, to copy into a mail or a letter."""

    def __init__(self, notice: NoticeView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.notice = notice
        self.setWindowTitle(f"{notice.case_ref}: notice to {notice.recipient_name}")
        self.resize(680, 560)
        self.to_label = QLabel(_reach(notice))
        self.to_label.setWordWrap(True)
        self.status_label = QLabel(f"{notice.status_label} · due {notice.due_on.isoformat()}")
        self.subject = QLineEdit(notice.subject)
        self.subject.setReadOnly(True)
        self.body = QPlainTextEdit()
        self.body.setPlainText(notice.body)  # text, never markup
        self.body.setReadOnly(True)
        self.body.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        form = QFormLayout()
        form.addRow("To", self.to_label)
        form.addRow("State", self.status_label)
        form.addRow("Subject", self.subject)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy subject and text")
        self.copy_button.setToolTip("To paste into a mail or a letter")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.body, 1)
        layout.addWidget(buttons)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(
            f"Subject: {self.notice.subject}\n\n{self.notice.body}")
        self.copy_button.setText("Copied")


class MarkSentDialog(SavingDialog):
    """How the notice went out; emits ``submitted`` with it and waits for the save."""

    submitted = Signal(str)

    def __init__(self, notice: NoticeView, parent: QWidget | None = None) -> None:
        super().__init__(parent, ok_text="Mark sent")
        self.setWindowTitle(f"{notice.case_ref}: notice to {notice.recipient_name} sent")
        self.setMinimumWidth(440)
        intro = QLabel(f"Record how the notice to {_reach(notice)} went out. It stays open "
                       "until the recipient answers.")
        intro.setWordWrap(True)
        self.how = QComboBox()
        self.how.setEditable(True)
        self.how.addItems(SENT_HOW)
        self.how.setCurrentText("email" if notice.email else "first-class mail")
        form = QFormLayout()
        form.addRow("Sent by", self.how)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        how = " ".join(self.how.currentText().split())
        if not how:
            self.show_problems(["Say how the notice went out (email, first-class mail…)."])
            return
        self.set_saving(True)
        self.submitted.emit(how)
