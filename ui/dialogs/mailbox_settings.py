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

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLineEdit, QSpinBox, QWidget

from caseapp.config import MAIL_SECURITY, MAX_POLL_MINUTES, MailSettings, default_imap_port
from caseapp.errors import ConfigError
from caseapp.secrets import (
    SecretStoreUnavailable,
    get_secret,
    keyring_description,
    store_secret,
)
from caseapp.services.mailbox_check import MailboxCheck, check_mailbox
from ui.dialogs.mail_server import MailServerDialog
from ui.settings_store import SettingsStore
from ui.tasks import Progress, TaskRunner

SECURITY_LABELS = {
    "ssl": "SSL/TLS (usually port 993)",
    "starttls": "STARTTLS (usually port 143)",
    "none": "None — only for a server on this machine",
}


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


class MailboxSettingsDialog(MailServerDialog):
    saved_settings = Signal(object)  # MailSettings, once written to the settings file

    def __init__(self, store: SettingsStore, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(
            runner, parent, server_label="IMAP &server",
            security_labels={value: SECURITY_LABELS[value] for value in MAIL_SECURITY},
            default_port=default_imap_port, check_text="&Test connection",
            check_tip="Connect and log in with these settings (and the password typed, or "
                      "the stored one); nothing is taken in")
        # The names this dialog has always had for its check ("Test connection").
        self.test_button = self.check_button
        self.test_result = self.check_result
        self._store = store
        self.setWindowTitle("Mailbox")
        current = store.mail

        self.host.setPlaceholderText("imap.example.com")
        self.user.setPlaceholderText("privacy@example.com")
        self.show_server(current.imap_host, current.imap_security, current.imap_port,
                         current.imap_user)
        self.folder = QLineEdit(current.imap_folder)
        self.poll = QSpinBox()
        self.poll.setRange(0, MAX_POLL_MINUTES)
        self.poll.setSuffix(" min")
        self.poll.setSpecialValueText("off (check by hand with File → Check mail)")
        self.poll.setValue(current.poll_minutes)
        self.poll.setToolTip("Check the mailbox every so many minutes while the window is "
                             "open (0 = off)")
        self.password_stored = False

        self.form.addRow("&Folder", self.folder)
        self.form.addRow("Check &automatically", self.poll)
        self.lay_out("The privacy mailbox requests arrive in. caseapp takes in new messages "
                     "and flags them on the server; staff still see them in their mail "
                     "program.")
        self.folder.textChanged.connect(self.validate)
        self.poll.valueChanged.connect(self.validate)
        self.validate()
        self._look_in_keyring()

    # --- the values ----------------------------------------------------------------------
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

    def can_check(self) -> bool:
        """An IMAP server is always logged in to: the user is needed too."""
        return bool(self.host.text().strip()) and bool(self.user.text().strip())

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
        self.show_password_stored(
            state.stored, state.backend,
            f"No password stored yet; it will be kept in the keyring ({state.backend}), "
            "never in the settings file.")
        self._fit()

    def _keyring_problem(self, error: BaseException) -> None:
        if not isinstance(error, SecretStoreUnavailable):
            self._runner.report(error)
            return
        self.show_password_problem(error.message)
        self._fit()

    # --- test ----------------------------------------------------------------------------
    def check_connection(self) -> None:
        if not self.validate():
            return
        mail = self.mail_settings()
        password = self.password.text()

        def test(_progress: Progress) -> MailboxCheck:
            return check_mailbox(mail, password or None)

        self.run_check(test, where=f"{mail.imap_host}:{mail.imap_port}",
                       label="Testing the mailbox")

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
            self.show_password_problem("The other settings were saved; the password was "
                                       "not: " + result.password_problem)
            self.show_problems(["The password was not stored: " + result.password_problem])
            self._fit()
            return
        self.saved()
