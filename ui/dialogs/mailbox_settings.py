"""Settings → Mailbox: the IMAP server of the privacy mailbox, its password in the
operating system's keyring, automatic checking, and a connection test.

Values are checked as they are typed (``MailSettings`` says what is wrong). Saving runs
in the background: the settings file first, then the password into the keyring — never
into the file. A workstation with only a plaintext keyring gets the keyring's message
and its settings saved without the password.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from caseapp.config import MAIL_SECURITY, MAX_POLL_MINUTES, MailSettings, default_imap_port
from caseapp.errors import ConfigError, UserError
from caseapp.secrets import (
    SecretStoreUnavailable,
    get_secret,
    keyring_description,
    store_secret,
)
from caseapp.services.mailbox_check import MailboxCheck, check_mailbox
from ui.dialogs.saving import SavingDialog
from ui.settings_store import SettingsStore
from ui.tasks import Progress, TaskRunner
from ui.widgets.request_form import HINT_STYLE

SECURITY_LABELS = {
    "ssl": "SSL/TLS (usually port 993)",
    "starttls": "STARTTLS (usually port 143)",
    "none": "None — only for a server on this machine",
}
OK_STYLE = "color: #1b6e2f;"
ERROR_STYLE = "color: #b3261e;"


@dataclass(frozen=True)
class SaveResult:
    file: Path
    mail: MailSettings
    password_stored: bool
    password_problem: str = ""
    """The keyring's message when the password could not be stored (the rest was saved)."""


@dataclass(frozen=True)
class KeyringState:
    stored: bool
    backend: str


class MailboxSettingsDialog(SavingDialog):
    saved_settings = Signal(object)  # MailSettings, once written to the settings file

    def __init__(self, store: SettingsStore, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, ok=QDialogButtonBox.StandardButton.Save)
        self._store = store
        self._runner = runner
        self.setWindowTitle("Mailbox")
        self.setMinimumWidth(620)
        current = store.mail

        self.host = QLineEdit(current.imap_host)
        self.host.setPlaceholderText("imap.example.com")
        self.security = QComboBox()
        for value in MAIL_SECURITY:
            self.security.addItem(SECURITY_LABELS[value], value)
        self.security.setCurrentIndex(MAIL_SECURITY.index(current.imap_security))
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(current.imap_port)
        self.user = QLineEdit(current.imap_user)
        self.user.setPlaceholderText("privacy@example.com")
        self.folder = QLineEdit(current.imap_folder)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_state = QLabel("Looking in the keyring…")
        self.password_state.setWordWrap(True)
        self.password_state.setStyleSheet(HINT_STYLE)
        self.poll = QSpinBox()
        self.poll.setRange(0, MAX_POLL_MINUTES)
        self.poll.setSuffix(" min")
        self.poll.setSpecialValueText("off (check by hand with File → Check mail)")
        self.poll.setValue(current.poll_minutes)
        self.poll.setToolTip("Check the mailbox every so many minutes while the window is "
                             "open (0 = off)")
        self._last_security: str = current.imap_security
        self.password_stored = False

        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet(ERROR_STYLE)
        self.problem_label.hide()

        self.test_button = QPushButton("&Test connection")
        self.test_button.setToolTip("Connect and log in with these settings (and the password "
                                    "typed, or the stored one); nothing is taken in")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignTop)
        test_row.addWidget(self.test_result, 1)

        form = QFormLayout()
        form.addRow("IMAP &server", self.host)
        form.addRow("S&ecurity", self.security)
        form.addRow("P&ort", self.port)
        form.addRow("&User", self.user)
        form.addRow("&Password", self.password)
        form.addRow("", self.password_state)
        form.addRow("&Folder", self.folder)
        form.addRow("Check &automatically", self.poll)
        intro = QLabel("The privacy mailbox requests arrive in. caseapp takes in new messages "
                       "and flags them on the server; staff still see them in their mail "
                       "program.")
        intro.setWordWrap(True)
        intro.setStyleSheet(HINT_STYLE)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.problem_label)
        layout.addLayout(test_row)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

        self.security.currentIndexChanged.connect(self._security_changed)
        for edit in (self.host, self.user, self.folder):
            edit.textChanged.connect(self.validate)
        self.port.valueChanged.connect(self.validate)
        self.poll.valueChanged.connect(self.validate)
        self.validate()
        self._look_in_keyring()

    # --- the values ----------------------------------------------------------------------
    def security_value(self) -> str:
        return str(self.security.currentData())

    def _security_changed(self) -> None:
        """The port follows the security unless someone typed a port of their own."""
        security = self.security_value()
        if self.port.value() == default_imap_port(self._last_security):
            self.port.setValue(default_imap_port(security))
        self._last_security = security
        self.validate()

    def mail_settings(self) -> MailSettings:
        """The settings typed in; raises ConfigError with what is wrong."""
        return MailSettings(
            imap_host=self.host.text().strip(),
            imap_port=self.port.value(),
            imap_user=self.user.text().strip(),
            imap_folder=self.folder.text().strip() or "INBOX",
            imap_security=self.security_value(),  # type: ignore[arg-type]
            poll_minutes=self.poll.value(),
        )

    def problem(self) -> str:
        """What is wrong with the settings typed (empty when they can be saved)."""
        try:
            mail = self.mail_settings()
        except ConfigError as error:
            return error.message
        if not mail.configured and (mail.imap_host or mail.imap_user):
            return "Give both the IMAP server and the user name."
        return ""

    def validate(self) -> bool:
        problem = self.problem()
        self.problem_label.setText(problem)
        if self.problem_label.isHidden() == bool(problem):
            self.problem_label.setVisible(bool(problem))
            self._fit()
        self.ok_button.setEnabled(not problem and not self.saving)
        self.test_button.setEnabled(not problem and bool(self.host.text().strip())
                                    and bool(self.user.text().strip()))
        return not problem

    # --- the keyring -----------------------------------------------------------------------
    def _look_in_keyring(self) -> None:
        mail = self._store.mail

        def look(_progress: Progress) -> KeyringState:
            backend = keyring_description()
            stored = mail.configured and get_secret(mail.secret_name) is not None
            return KeyringState(stored, backend)

        self._runner.run(look, label="Looking in the keyring", on_done=self._keyring_state,
                         on_error=self._keyring_problem)

    def _keyring_state(self, state: KeyringState) -> None:
        self.password_stored = state.stored
        if state.stored:
            self.password.setPlaceholderText("stored — type a new one to replace it")
        self.password_state.setText(
            f"A password is stored in the keyring ({state.backend})." if state.stored
            else f"No password stored yet; it will be kept in the keyring ({state.backend}), "
                 "never in the settings file.")
        self._fit()

    def _fit(self) -> None:
        """Grow to show a message that arrived after the dialog was laid out."""
        layout = self.layout()
        if layout is not None:
            layout.activate()
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))

    def _keyring_problem(self, error: BaseException) -> None:
        if not isinstance(error, SecretStoreUnavailable):
            self._runner.report(error)
            return
        self.password_state.setStyleSheet(ERROR_STYLE)
        self.password_state.setText(error.message)
        self._fit()

    # --- test ----------------------------------------------------------------------------
    def test_connection(self) -> None:
        if not self.validate():
            return
        mail = self.mail_settings()
        password = self.password.text()
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet(HINT_STYLE)
        self.test_result.setText(f"Connecting to {mail.imap_host}:{mail.imap_port}…")

        def test(_progress: Progress) -> MailboxCheck:
            return check_mailbox(mail, password or None)

        self._runner.run(test, label="Testing the mailbox", on_done=self._tested,
                         on_error=self._test_failed)

    def _tested(self, check: MailboxCheck) -> None:
        self.test_button.setEnabled(True)
        self.test_result.setStyleSheet(OK_STYLE)
        self.test_result.setText(check.sentence())
        self._fit()

    def _test_failed(self, error: BaseException) -> None:
        self.test_button.setEnabled(True)
        if not isinstance(error, UserError):  # a bug
            self.test_result.setText("")
            self._runner.report(error)
            return
        self.test_result.setStyleSheet(ERROR_STYLE)
        self.test_result.setText(error.message)
        self._fit()

    # --- save ----------------------------------------------------------------------------
    def submit(self) -> None:
        if not self.validate():
            return
        mail = self.mail_settings()
        password = self.password.text()
        store = self._store
        self.set_saving(True)

        def save(_progress: Progress) -> SaveResult:
            file = store.save_mail(mail)
            if not password or not mail.configured:
                return SaveResult(file, mail, False)
            try:
                store_secret(mail.secret_name, password)
            except SecretStoreUnavailable as error:
                return SaveResult(file, mail, False, error.message)
            return SaveResult(file, mail, True)

        self._runner.run(save, label="Saving the mailbox settings", on_done=self._saved,
                         on_error=self._failed)

    def _saved(self, result: SaveResult) -> None:
        self.saved_settings.emit(result.mail)
        if result.password_problem:
            # The settings are saved; the password is not, and the dialog says why.
            self.set_saving(False)
            self.password_state.setStyleSheet(ERROR_STYLE)
            self.password_state.setText("The other settings were saved; the password was "
                                        "not: " + result.password_problem)
            self.show_problems(["The password was not stored: " + result.password_problem])
            self._fit()
            return
        self.saved()

    def _failed(self, error: BaseException) -> None:
        if not self.save_failed(error):
            self._runner.report(error)

    def set_saving(self, saving: bool) -> None:
        super().set_saving(saving)
        if not saving:
            self.validate()
