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

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLineEdit, QWidget

from caseapp.config import SMTP_SECURITY, SmtpSettings, default_smtp_port
from caseapp.errors import ConfigError, UserError
from caseapp.secrets import keyring_description
from caseapp.services import Desk
from caseapp.services.letter_email import SmtpCheck
from ui.dialogs.mail_server import MailServerDialog
from ui.tasks import Progress, TaskRunner

SECURITY_LABELS = {
    "starttls": "STARTTLS (usually port 587)",
    "ssl": "SSL/TLS (usually port 465)",
    "none": "None — only for a server on this machine",
}


@dataclass(frozen=True)
class _Loaded:
    settings: SmtpSettings
    stored: bool
    keyring: str


class SmtpSettingsDialog(MailServerDialog):
    saved_settings = Signal(object)  # SmtpSettings, once written to the settings file

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(
            runner, parent, server_label="SMTP &server",
            security_labels={value: SECURITY_LABELS[value] for value in SMTP_SECURITY},
            default_port=default_smtp_port, check_text="&Check connection",
            check_tip="Connect and log in with these settings (and the password typed, or "
                      "the stored one); nothing is sent")
        self._desk = desk
        self.setWindowTitle("Outgoing mail")

        self.host.setPlaceholderText("smtp.example.com")
        self.user.setPlaceholderText("the login; empty if the server needs none")
        self.from_address = QLineEdit()
        self.from_address.setPlaceholderText("privacy@example.com")
        self.from_name = QLineEdit()
        self.from_name.setPlaceholderText("Privacy Office")

        self.form.addRow("&From address", self.from_address)
        self.form.addRow("From &name", self.from_name)
        self.lay_out("Letters are emailed through this server, as a PDF attachment with the "
                     "case reference in the subject; the sent message joins the case's "
                     "messages.")
        for edit in (self.from_address, self.from_name):
            edit.textChanged.connect(self.validate)
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
        self.show_server(current.host, current.security, current.port, current.user)
        self.from_address.setText(current.from_address)
        self.from_name.setText(current.from_name)
        self.show_password_stored(
            loaded.stored, loaded.keyring,
            f"Passwords are kept in the keyring ({loaded.keyring}), never in the settings "
            "file.")
        self.loaded = True
        self.validate()

    def _load_failed(self, error: BaseException) -> None:
        if not isinstance(error, UserError):
            self._runner.report(error)
            return
        # A keyring that cannot be used, or a settings file with a mistake: say so; what
        # is typed can still be checked (and saved, if the file is the problem).
        self.show_password_problem(error.message)
        self.loaded = True
        self.validate()

    # --- the values ----------------------------------------------------------------------
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

    # --- check ---------------------------------------------------------------------------
    def check_connection(self) -> None:
        if not self.validate():
            return
        smtp = self.smtp_settings()
        password = self.password.text()
        desk = self._desk

        def check(_progress: Progress) -> SmtpCheck:
            return desk.check_smtp(smtp, password or None)

        self.run_check(check, where=smtp.where, label="Checking the outgoing mail server")

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
