"""Settings → Outgoing mail: the SMTP server letters are emailed through, its login's
password in the operating system's keyring, and a connection check.

Everything goes through the Desk (``smtp_settings``, ``save_smtp_settings``,
``check_smtp``), in the background: reading and writing the settings file and the
keyring can block. Values are checked as they are typed (``SmtpSettings`` says what is
wrong). The password goes only to the keyring; a workstation with only a plaintext
keyring gets the keyring's message and nothing saved.
"""

from __future__ import annotations

from dataclasses import dataclass

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

from caseapp.config import SMTP_SECURITY, SmtpSettings, default_smtp_port
from caseapp.errors import ConfigError, UserError
from caseapp.secrets import keyring_description
from caseapp.services import Desk
from caseapp.services.letter_email import SmtpCheck
from ui.dialogs.saving import SavingDialog
from ui.tasks import Progress, TaskRunner
from ui.widgets.request_form import HINT_STYLE

SECURITY_LABELS = {
    "starttls": "STARTTLS (usually port 587)",
    "ssl": "SSL/TLS (usually port 465)",
    "none": "None — only for a server on this machine",
}
OK_STYLE = "color: #1b6e2f;"
ERROR_STYLE = "color: #b3261e;"


@dataclass(frozen=True)
class _Loaded:
    settings: SmtpSettings
    stored: bool
    keyring: str


class SmtpSettingsDialog(SavingDialog):
    saved_settings = Signal(object)  # SmtpSettings, once written to the settings file

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent, ok=QDialogButtonBox.StandardButton.Save)
        self._desk = desk
        self._runner = runner
        self.setWindowTitle("Outgoing mail")
        self.setMinimumWidth(620)

        self.host = QLineEdit()
        self.host.setPlaceholderText("smtp.example.com")
        self.security = QComboBox()
        for value in SMTP_SECURITY:
            self.security.addItem(SECURITY_LABELS[value], value)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(default_smtp_port("starttls"))
        self._last_security = "starttls"
        self.user = QLineEdit()
        self.user.setPlaceholderText("the login; empty if the server needs none")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_state = QLabel("Looking in the keyring…")
        self.password_state.setWordWrap(True)
        self.password_state.setStyleSheet(HINT_STYLE)
        self.from_address = QLineEdit()
        self.from_address.setPlaceholderText("privacy@example.com")
        self.from_name = QLineEdit()
        self.from_name.setPlaceholderText("Privacy Office")

        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet(ERROR_STYLE)
        self.problem_label.hide()

        self.check_button = QPushButton("&Check connection")
        self.check_button.setToolTip("Connect and log in with these settings (and the "
                                     "password typed, or the stored one); nothing is sent")
        self.check_button.clicked.connect(self.check_connection)
        self.check_result = QLabel()
        self.check_result.setWordWrap(True)
        self.check_result.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        check_row = QHBoxLayout()
        check_row.addWidget(self.check_button, 0, Qt.AlignmentFlag.AlignTop)
        check_row.addWidget(self.check_result, 1)

        form = QFormLayout()
        form.addRow("SMTP &server", self.host)
        form.addRow("S&ecurity", self.security)
        form.addRow("P&ort", self.port)
        form.addRow("&User", self.user)
        form.addRow("&Password", self.password)
        form.addRow("", self.password_state)
        form.addRow("&From address", self.from_address)
        form.addRow("From &name", self.from_name)
        intro = QLabel("Letters are emailed through this server, as a PDF attachment with "
                       "the case reference in the subject; the sent message joins the "
                       "case's messages.")
        intro.setWordWrap(True)
        intro.setStyleSheet(HINT_STYLE)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.problem_label)
        layout.addLayout(check_row)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

        self.security.currentIndexChanged.connect(self._security_changed)
        for edit in (self.host, self.user, self.from_address, self.from_name):
            edit.textChanged.connect(self.validate)
        self.port.valueChanged.connect(self.validate)
        self.loaded = False
        self.ok_button.setEnabled(False)
        self.check_button.setEnabled(False)
        self._load()

    # --- loading ---------------------------------------------------------------------------
    def _load(self) -> None:
        desk = self._desk

        def load(_progress: Progress) -> _Loaded:
            settings = desk.smtp_settings()
            backend = keyring_description()
            return _Loaded(settings, settings.configured and desk.smtp_password_stored(
                settings) and bool(settings.user), backend)

        self._runner.run(load, label="Reading the outgoing mail settings",
                         on_done=self._loaded, on_error=self._load_failed)

    def _loaded(self, loaded: _Loaded) -> None:
        current = loaded.settings
        self.host.setText(current.host)
        self.security.setCurrentIndex(SMTP_SECURITY.index(current.security))
        self._last_security = current.security
        self.port.setValue(current.port)
        self.user.setText(current.user)
        self.from_address.setText(current.from_address)
        self.from_name.setText(current.from_name)
        if loaded.stored:
            self.password.setPlaceholderText("stored — type a new one to replace it")
        self.password_state.setText(
            f"A password is stored in the keyring ({loaded.keyring})." if loaded.stored
            else f"Passwords are kept in the keyring ({loaded.keyring}), never in the "
                 "settings file.")
        self.loaded = True
        self.validate()

    def _load_failed(self, error: BaseException) -> None:
        if not isinstance(error, UserError):
            self._runner.report(error)
            return
        # A keyring that cannot be used, or a settings file with a mistake: say so; what
        # is typed can still be checked (and saved, if the file is the problem).
        self.password_state.setStyleSheet(ERROR_STYLE)
        self.password_state.setText(error.message)
        self.loaded = True
        self.validate()

    # --- the values ----------------------------------------------------------------------
    def security_value(self) -> str:
        return str(self.security.currentData())

    def _security_changed(self) -> None:
        """The port follows the security unless someone typed a port of their own."""
        security = self.security_value()
        if self.port.value() == default_smtp_port(self._last_security):
            self.port.setValue(default_smtp_port(security))
        self._last_security = security
        self.validate()

    def smtp_settings(self) -> SmtpSettings:
        """The settings typed in; raises ConfigError with what is wrong."""
        return SmtpSettings(
            host=self.host.text().strip(), port=self.port.value(),
            security=self.security_value(),  # type: ignore[arg-type]
            user=self.user.text().strip(), from_address=self.from_address.text().strip(),
            from_name=self.from_name.text().strip())

    def problem(self) -> str:
        try:
            smtp = self.smtp_settings()
        except ConfigError as error:
            return error.message
        if not smtp.configured and (smtp.host or smtp.from_address or smtp.user):
            return "Give both the SMTP server and the from address."
        return ""

    def validate(self) -> bool:
        problem = self.problem()
        self.problem_label.setText(problem)
        self.problem_label.setVisible(bool(problem))
        self.ok_button.setEnabled(self.loaded and not problem and not self.saving)
        self.check_button.setEnabled(self.loaded and not problem
                                     and bool(self.host.text().strip()))
        return not problem

    # --- check ---------------------------------------------------------------------------
    def check_connection(self) -> None:
        if not self.validate():
            return
        smtp = self.smtp_settings()
        password = self.password.text()
        desk = self._desk
        self.check_button.setEnabled(False)
        self.check_result.setStyleSheet(HINT_STYLE)
        self.check_result.setText(f"Connecting to {smtp.where}…")

        def check(_progress: Progress) -> SmtpCheck:
            return desk.check_smtp(smtp, password or None)

        self._runner.run(check, label="Checking the outgoing mail server",
                         on_done=self._checked, on_error=self._check_failed)

    def _checked(self, result: SmtpCheck) -> None:
        self.check_button.setEnabled(True)
        self.check_result.setStyleSheet(OK_STYLE)
        self.check_result.setText(result.sentence())

    def _check_failed(self, error: BaseException) -> None:
        self.check_button.setEnabled(True)
        if not isinstance(error, UserError):  # a bug
            self.check_result.setText("")
            self._runner.report(error)
            return
        self.check_result.setStyleSheet(ERROR_STYLE)
        self.check_result.setText(error.message)

    # --- save ----------------------------------------------------------------------------
    def submit(self) -> None:
        if not self.validate():
            return
        smtp = self.smtp_settings()
        password = self.password.text()
        desk = self._desk
        self.set_saving(True)

        def save(_progress: Progress) -> SmtpSettings:
            desk.save_smtp_settings(smtp, password or None)
            return smtp

        self._runner.run(save, label="Saving the outgoing mail settings",
                         on_done=self._saved, on_error=self._failed)

    def _saved(self, smtp: SmtpSettings) -> None:
        self.saved_settings.emit(smtp)
        self.saved()

    def _failed(self, error: BaseException) -> None:
        if not self.save_failed(error):
            self._runner.report(error)

    def set_saving(self, saving: bool) -> None:
        super().set_saving(saving)
        if not saving:
            self.validate()
