"""Settings → Screen lock…: after how long without use the window locks, and the user's
unlock passphrase (chosen or changed here; kept as a hash in their keyring). Saved in
the background; a problem (a locked keyring, a passphrase too short) is said in the
dialog and nothing typed is lost."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from caseapp import unlock
from caseapp.config import LOCK_MINUTES_MAX, SecuritySettings
from caseapp.errors import UserError
from ui.tasks import Progress

if TYPE_CHECKING:
    from ui.screen_lock import ScreenLock

PROBLEM_STYLE = "color: #b3261e;"


class ScreenLockDialog(QDialog):
    def __init__(self, lock: ScreenLock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lock = lock
        self.setWindowTitle("Screen lock")
        self.setMinimumWidth(460)
        intro = QLabel(
            "When you leave the workstation, the window hides every case until you type "
            "your unlock passphrase. Lock it at once with File → Lock now (Ctrl+Alt+L).")
        intro.setWordWrap(True)
        self.minutes = QSpinBox()
        self.minutes.setRange(0, LOCK_MINUTES_MAX)
        self.minutes.setSuffix(" minutes")
        self.minutes.setSpecialValueText("never (Lock now only)")
        self.minutes.setValue(lock.settings.lock_after_minutes)
        self.minutes.setAccessibleName("Lock after minutes without use")
        self.state = QLabel(
            "You have an unlock passphrase. Type a new one below to change it."
            if lock.armed else
            "You have no unlock passphrase yet: choose one below to turn the lock on.")
        self.state.setWordWrap(True)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText(f"at least {unlock.MIN_LENGTH} characters")
        self.repeated = QLineEdit()
        self.repeated.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        form.addRow("Lock after", self.minutes)
        form.addRow("New passphrase", self.passphrase)
        form.addRow("Repeat it", self.repeated)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.state)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def save(self) -> None:
        passphrase, repeated = self.passphrase.text(), self.repeated.text()
        settings_wanted = SecuritySettings(lock_after_minutes=self.minutes.value())
        if not passphrase and not repeated and not self.lock.armed \
                and settings_wanted.lock_after_minutes:
            self._problem("Choose an unlock passphrase: without one the window cannot lock.")
            return
        if passphrase or repeated:
            try:
                unlock.check_new_passphrase(passphrase, repeated)
            except UserError as error:
                self._problem(error.message)
                return
        name, store = self.lock.username(), self.lock.store
        armed = self.lock.armed or bool(passphrase)

        def work(_progress: Progress) -> None:
            if passphrase:
                unlock.set_passphrase(name, passphrase, repeated)
            if store is not None:
                store.save_security(settings_wanted)

        self.buttons.setEnabled(False)
        self.message.setStyleSheet("")
        self.message.setText("Saving…")
        self.lock.runner.run(work, label="Saving the screen lock",
                             on_done=lambda _none: self._saved(settings_wanted, armed),
                             on_error=self._failed)

    def _saved(self, settings: SecuritySettings, armed: bool) -> None:
        self.lock.apply(settings, armed)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.buttons.setEnabled(True)
        message = getattr(error, "message", None)  # a known problem: a locked keyring...
        if not isinstance(message, str):
            if isinstance(error, OSError):
                message = f"The settings file could not be saved: {error.strerror}."
            else:  # a bug: reported like any other, the dialog stays as typed
                sys.excepthook(type(error), error, error.__traceback__)
                message = "Not saved: an internal error (reported)."
        self._problem(f"{message} Nothing was changed.")

    def _problem(self, text: str) -> None:
        self.message.setStyleSheet(PROBLEM_STYLE)
        self.message.setText(text)
