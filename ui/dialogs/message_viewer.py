"""The safe message viewer: headers, the body as plain text or as sanitized HTML that
loads nothing, what was blocked, the attachments (opened or saved only when asked), and
the original message as text.

Everything is read in background tasks; nothing from the message is written to disk or
handed to another program until staff choose Save as… or Open… (after a warning).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QFontDatabase, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from caseapp.scratch import scratch, write_private
from caseapp.services import Desk
from caseapp.services.dto import AttachmentView, MessageDetail
from ui.dialogs.confirm import ask
from ui.formatting import auto_kind_text, moment_text, size_text
from ui.models.intake import AttachmentsModel
from ui.plain_labels import rich_label
from ui.tasks import Progress, TaskRunner
from ui.widgets import safe_browser
from ui.widgets.safe_browser import SafeBrowser

MAX_ORIGINAL = 4 * 1024 * 1024
# Files the desktop would run rather than show: never opened from a message.
EXECUTABLE_SUFFIXES = frozenset({
    ".exe", ".com", ".bat", ".cmd", ".msi", ".msp", ".scr", ".pif", ".cpl", ".dll",
    ".js", ".jse", ".vbs", ".vbe", ".wsf", ".wsh", ".hta", ".ps1", ".psm1", ".lnk",
    ".url", ".reg", ".jar", ".sh", ".bash", ".command", ".app", ".desktop", ".appimage",
    ".py", ".pyw", ".pl", ".rb", ".iso", ".img", ".vhd", ".vhdx", ".docm", ".xlsm",
    ".pptm", ".application", ".gadget", ".inf", ".scf", ".chm",
})
EXECUTABLE_TYPES = ("application/x-msdownload", "application/x-executable",
                    "application/x-sh", "application/x-msdos-program",
                    "application/javascript", "text/javascript", "application/hta",
                    "application/x-ms-shortcut")


def is_executable(filename: str, media_type: str) -> bool:
    suffix = Path(filename.lower().rstrip(". ")).suffix
    return suffix in EXECUTABLE_SUFFIXES or media_type.lower() in EXECUTABLE_TYPES
"""Bytes of the original message shown as text (the rest is left out, said so)."""
BANNER_STYLE = ("background: #fff4c2; color: #3d3000; border: 1px solid #e0c34a; "
                "border-radius: 4px; padding: 6px 8px;")
DANGER_STYLE = ("background: #fde7e4; color: #5c130c; border: 1px solid #e3a59c; "
                "border-radius: 4px; padding: 6px 8px;")
INFO_STYLE = ("background: #eef2f6; color: #26313b; border: 1px solid #c9d3dc; "
              "border-radius: 4px; padding: 6px 8px;")
DISPOSITIONS = {"not_request": "on the not-a-request list", "quarantined": "in quarantine"}

def attachment_folder() -> Path:
    """Where Open… copies attachments: in the private scratch folder (in memory, only this
    user can read it), kept until the program ends, as the program showing one may still
    read it."""
    folder = scratch().path / "attachments"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def choose_save_path(parent: QWidget, suggested: str) -> str:
    """The file dialog of Save as… ("" when cancelled); tests replace it."""
    path, _filter = QFileDialog.getSaveFileName(parent, "Save attachment as", suggested)
    return path


def original_text(raw: bytes) -> str:
    """The original message as text, bounded to MAX_ORIGINAL bytes."""
    text = raw[:MAX_ORIGINAL].decode("utf-8", "replace")
    if len(raw) > MAX_ORIGINAL:
        text = (f"[Only the first {size_text(MAX_ORIGINAL)} of {size_text(len(raw))} are "
                "shown.]\n\n" + text)
    return text


class OriginalDialog(QDialog):
    """The raw message as plain text: read-only, monospace."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Original: {title}")
        self.resize(860, 620)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlainText(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)


class MessageViewer(QDialog):
    """Opens at once and fills in when the message has been read in the background."""

    def __init__(self, desk: Desk, runner: TaskRunner, message_db_id: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self.message_db_id = message_db_id
        self.detail: MessageDetail | None = None
        self.active_dialog: QWidget | None = None
        self.saved_to: list[Path] = []
        self.opened: list[Path] = []
        self.setWindowTitle("Message")
        self.resize(900, 720)

        self.subject = QLabel("Loading the message…")
        font = self.subject.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.subject.setFont(font)
        self.subject.setWordWrap(True)
        self.subject.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.headers = QFormLayout()
        self.header_labels: dict[str, QLabel] = {}
        for key, label in (("from", "From"), ("to", "To"), ("sent", "Sent"),
                           ("received", "Received"), ("where", "Filed"),
                           ("source", "Source")):
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setTextFormat(Qt.TextFormat.PlainText)
            self.header_labels[key] = value
            self.headers.addRow(rich_label(f"<b>{label}:</b>"), value)

        self.blocked_banner = self._banner(BANNER_STYLE)
        self.quarantine_banner = self._banner(DANGER_STYLE)
        self.auto_banner = self._banner(INFO_STYLE)

        self.plain_toggle = QCheckBox("Show as plain &text")
        self.plain_toggle.setToolTip("Ctrl+T")
        self.plain_toggle.toggled.connect(self._show_body)
        self.original_button = QPushButton("Show &original")
        self.original_button.setToolTip("The message as it arrived, as text (Ctrl+U)")
        self.original_button.clicked.connect(self.show_original)
        bar = QHBoxLayout()
        bar.addWidget(self.plain_toggle)
        bar.addStretch(1)
        bar.addWidget(self.original_button)

        self.browser = SafeBrowser()
        self.plain = QPlainTextEdit()
        self.plain.setReadOnly(True)
        self.body = QStackedWidget()
        self.body.addWidget(self.browser)
        self.body.addWidget(self.plain)

        self.attachments_model = AttachmentsModel(self)
        self.attachments = QTableView()
        self.attachments.setModel(self.attachments_model)
        self.attachments.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.attachments.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.attachments.verticalHeader().hide()
        self.attachments.setMaximumHeight(110)
        header = self.attachments.horizontalHeader()
        header.setSectionResizeMode(AttachmentsModel.COL_NAME, QHeaderView.ResizeMode.Stretch)
        self.attachments.setColumnWidth(AttachmentsModel.COL_TYPE, 180)
        self.save_button = QPushButton("&Save as…")
        self.save_button.setToolTip("Save the attachment to a file you choose (Ctrl+S)")
        self.save_button.clicked.connect(self.save_attachment)
        self.open_button = QPushButton("Op&en…")
        self.open_button.setToolTip("Open the attachment with another program, after a "
                                    "warning (Ctrl+O)")
        self.open_button.clicked.connect(self.open_attachment)
        attachment_buttons = QVBoxLayout()
        attachment_buttons.addWidget(self.save_button)
        attachment_buttons.addWidget(self.open_button)
        attachment_buttons.addStretch(1)
        self.attachments_box = QGroupBox("Attachments")
        box_layout = QHBoxLayout(self.attachments_box)
        box_layout.addWidget(self.attachments, 1)
        box_layout.addLayout(attachment_buttons)
        self.attachments_box.hide()

        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #1e6b34;")
        self.note.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.subject)
        layout.addLayout(self.headers)
        layout.addWidget(self.quarantine_banner)
        layout.addWidget(self.blocked_banner)
        layout.addWidget(self.auto_banner)
        layout.addLayout(bar)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.attachments_box)
        layout.addWidget(self.note)
        layout.addWidget(buttons)

        for text, keys, slot in (("Plain text", "Ctrl+T", self.plain_toggle.toggle),
                                 ("Original", "Ctrl+U", self.show_original),
                                 ("Save attachment", "Ctrl+S", self.save_attachment),
                                 ("Open attachment", "Ctrl+O", self.open_attachment)):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(lambda _checked=False, s=slot: s())
            self.addAction(action)
        self._set_enabled(False)
        self.load()

    @staticmethod
    def _banner(style: str) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setStyleSheet(style)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.hide()
        return label

    def _set_enabled(self, ready: bool) -> None:
        for widget in (self.plain_toggle, self.original_button):
            widget.setEnabled(ready)
        has = ready and self.attachments_model.rowCount() > 0
        self.save_button.setEnabled(has)
        self.open_button.setEnabled(has)

    # --- loading -------------------------------------------------------------------------
    def load(self) -> None:
        desk, message_db_id = self._desk, self.message_db_id
        self._runner.run(lambda _p: desk.get_message(message_db_id),
                         label="Opening the message", on_done=self.show_message,
                         on_error=self._failed)

    def _failed(self, error: BaseException) -> None:
        self.subject.setText("The message could not be opened.")
        self._runner.report(error)

    def show_message(self, detail: MessageDetail) -> None:
        self.detail = detail
        timezone = self._desk.clock.timezone
        subject = detail.subject or "(no subject)"
        self.setWindowTitle(f"Message: {subject}")
        self.subject.setText(subject)
        where = (f"case {detail.case_ref}" if detail.case_ref
                 else DISPOSITIONS.get(detail.disposition, detail.disposition))
        values = {
            "from": detail.sender or "(unknown sender)",
            "to": detail.recipients or "—",
            "sent": moment_text(detail.sent_at, timezone) if detail.sent_at else "—",
            "received": (moment_text(detail.received_at, timezone)
                         if detail.received_at else "—"),
            "where": where,
            "source": detail.source_label,
        }
        for key, value in values.items():
            self.header_labels[key].setText(value)
        if detail.blocked:
            self.blocked_banner.setText(
                "Blocked for your safety: " + ", ".join(detail.blocked)
                + ". Nothing in this message is loaded from the internet.")
        self.blocked_banner.setVisible(bool(detail.blocked))
        if detail.disposition == "quarantined" or detail.quarantine_reason:
            self.quarantine_banner.setText(
                "Quarantined: " + (detail.quarantine_reason or "no reason recorded")
                + ". Treat its content and attachments with care.")
            self.quarantine_banner.show()
        else:
            self.quarantine_banner.hide()
        if detail.auto_kind:
            self.auto_banner.setText(
                f"An automatic message ({auto_kind_text(detail.auto_kind)}), not written "
                "by a person.")
        self.auto_banner.setVisible(bool(detail.auto_kind))
        self.browser.refused.clear()
        if detail.html_sanitized:
            self.browser.setHtml(detail.html_sanitized)
        else:
            self.browser.setPlainText(detail.body_text or self._empty_text(detail))
        self.plain.setPlainText(detail.body_text or self._empty_text(detail))
        has_html = bool(detail.html_sanitized)
        self.plain_toggle.setChecked(not has_html)
        self.plain_toggle.setToolTip("Ctrl+T" if has_html else
                                     "This message has no HTML part.")
        self.attachments_model.set_rows(detail.attachments)
        count = len(detail.attachments)
        self.attachments_box.setTitle(f"Attachments ({count})")
        self.attachments_box.setVisible(count > 0)
        if count:
            self.attachments.selectRow(0)
        self._set_enabled(True)
        self.plain_toggle.setEnabled(has_html)
        self._show_body()

    @staticmethod
    def _empty_text(detail: MessageDetail) -> str:
        if detail.disposition == "quarantined":
            return ("(Nothing was read from this message: it is in quarantine. "
                    "Show original shows its text.)")
        return "(This message has no text.)"

    def _show_body(self) -> None:
        self.body.setCurrentWidget(self.plain if self.plain_toggle.isChecked()
                                   else self.browser)

    def showing_plain_text(self) -> bool:
        return self.body.currentWidget() is self.plain

    # --- the original --------------------------------------------------------------------
    def show_original(self) -> None:
        if self.detail is None:
            return
        desk, message_db_id = self._desk, self.message_db_id
        title = self.detail.subject or "(no subject)"

        def read(_progress: Progress) -> str:
            return original_text(desk.raw_message(message_db_id))

        def shown(text: str) -> None:
            dialog = OriginalDialog(title, text, self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.active_dialog = dialog
            dialog.open()

        self._runner.run(read, label="Reading the original message", on_done=shown)

    # --- attachments ---------------------------------------------------------------------
    def current_attachment(self) -> AttachmentView | None:
        return self.attachments_model.row_at(self.attachments.currentIndex())

    def save_attachment(self) -> None:
        attachment = self.current_attachment()
        if attachment is None:
            return
        path = choose_save_path(self, attachment.filename)
        if not path:
            return
        desk, target = self._desk, Path(path)

        def save(_progress: Progress) -> Path:
            _name, _type, data = desk.document_bytes(attachment.document_id)
            target.write_bytes(data)
            return target

        def saved(written: Path) -> None:
            self.saved_to.append(written)
            self._say(f"Saved {attachment.filename} to {written}")

        self._runner.run(save, label=f"Saving {attachment.filename}", on_done=saved)

    def open_attachment(self) -> None:
        attachment = self.current_attachment()
        if attachment is None:
            return
        if is_executable(attachment.filename, attachment.media_type):
            # A program or script is never started from a privacy request: save it for
            # IT instead, if it matters at all.
            self.note.setText(f"“{attachment.filename}” is a program or script: it is not "
                              "opened from here. Use Save as… to hand it to IT.")
            return
        self.active_dialog = ask(
            self, "Open the attachment?",
            f"Open “{attachment.filename}” ({attachment.media_type}, "
            f"{size_text(attachment.size)}) with another program?\n\n"
            "Attachments from unknown senders may be harmful: they can carry malware or "
            "fake forms. Open it only if you expected it from this sender. It is copied "
            "to a private temporary folder first.",
            "Open anyway", lambda: self._open_confirmed(attachment), warning=True)

    def _open_confirmed(self, attachment: AttachmentView) -> None:
        desk = self._desk

        def write(_progress: Progress) -> Path:
            name, _type, data = desk.document_bytes(attachment.document_id)
            return write_private(attachment_folder(), name, data)

        def written(path: Path) -> None:
            self.opened.append(path)
            if not safe_browser.open_in_desktop(QUrl.fromLocalFile(str(path))):
                box = QMessageBox(QMessageBox.Icon.Warning, "Not opened",
                                  f"No program could open {path.name}. It is at {path}.",
                                  QMessageBox.StandardButton.Ok, self)
                box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
                self.active_dialog = box
                box.open()

        self._runner.run(write, label=f"Opening {attachment.filename}", on_done=written)

    def _say(self, text: str) -> None:
        self.note.setText(text)
        self.note.show()
