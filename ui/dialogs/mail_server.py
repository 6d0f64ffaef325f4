"""What the settings dialogs of a mail server have in common (Settings → Mailbox…,
Settings → Outgoing mail…): the server, security, port, user and password rows with
whether a password is stored in the keyring, the port that follows the security, what
is wrong shown as it is typed, and a connection check run in the background.

A dialog adds its own rows to ``form``, then calls ``lay_out``; it says what is wrong
(``problem``), starts the check with ``run_check`` and saves (``submit``) itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from PySide6.QtCore import Qt
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

from caseapp.errors import UserError
from ui.dialogs.saving import SavingDialog
from ui.tasks import Progress, TaskRunner
from ui.widgets.request_form import HINT_STYLE

OK_STYLE = "color: #1b6e2f;"
ERROR_STYLE = "color: #b3261e;"


class ConnectionChecked(Protocol):
    """What a connection check returns: a sentence for the user."""

    def sentence(self) -> str: ...


class MailServerDialog(SavingDialog):
    def __init__(self, runner: TaskRunner, parent: QWidget | None, *, server_label: str,
                 security_labels: Mapping[str, str], default_port: Callable[[str], int],
                 check_text: str, check_tip: str) -> None:
        """``security_labels``: the securities offered, in order, with their labels;
        ``default_port``: the usual port of a security."""
        super().__init__(parent, ok=QDialogButtonBox.StandardButton.Save)
        self._runner = runner
        self._default_port = default_port
        self.setMinimumWidth(620)
        self.loaded = True
        """False while the current settings are still being read into the fields."""

        self.host = QLineEdit()
        self.security = QComboBox()
        for value, label in security_labels.items():
            self.security.addItem(label, value)
        self._last_security = self.security_value()
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(default_port(self._last_security))
        self.user = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_state = QLabel("Looking in the keyring…")
        self.password_state.setWordWrap(True)
        self.password_state.setStyleSheet(HINT_STYLE)

        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet(ERROR_STYLE)
        self.problem_label.hide()

        self.check_button = QPushButton(check_text)
        self.check_button.setToolTip(check_tip)
        self.check_button.clicked.connect(self.check_connection)
        self.check_result = QLabel()
        self.check_result.setWordWrap(True)
        self.check_result.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form = QFormLayout()
        self.form.addRow(server_label, self.host)
        self.form.addRow("S&ecurity", self.security)
        self.form.addRow("P&ort", self.port)
        self.form.addRow("&User", self.user)
        self.form.addRow("&Password", self.password)
        self.form.addRow("", self.password_state)

    def lay_out(self, intro_text: str) -> None:
        """The intro, the form, what is wrong, the check and the buttons; then the server
        rows are watched (a dialog watches its own rows)."""
        intro = QLabel(intro_text)
        intro.setWordWrap(True)
        intro.setStyleSheet(HINT_STYLE)
        check_row = QHBoxLayout()
        check_row.addWidget(self.check_button, 0, Qt.AlignmentFlag.AlignTop)
        check_row.addWidget(self.check_result, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(self.form)
        layout.addWidget(self.problem_label)
        layout.addLayout(check_row)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

        self.security.currentIndexChanged.connect(self._security_changed)
        for edit in (self.host, self.user):
            edit.textChanged.connect(self.validate)
        self.port.valueChanged.connect(self.validate)

    # --- for subclasses ------------------------------------------------------------------
    def problem(self) -> str:
        """What is wrong with the settings typed (empty when they can be saved)."""
        raise NotImplementedError

    def can_check(self) -> bool:
        """Whether enough is typed to try a connection."""
        return bool(self.host.text().strip())

    def check_connection(self) -> None:
        raise NotImplementedError

    # --- the values ----------------------------------------------------------------------
    def security_value(self) -> str:
        return str(self.security.currentData())

    def show_server(self, host: str, security: str, port: int, user: str) -> None:
        self.host.setText(host)
        self.security.setCurrentIndex(self.security.findData(security))
        self._last_security = security
        self.port.setValue(port)
        self.user.setText(user)

    def _security_changed(self) -> None:
        """The port follows the security unless someone typed a port of their own."""
        security = self.security_value()
        if self.port.value() == self._default_port(self._last_security):
            self.port.setValue(self._default_port(security))
        self._last_security = security
        self.validate()

    def validate(self) -> bool:
        problem = self.problem()
        self.problem_label.setText(problem)
        if self.problem_label.isHidden() == bool(problem):
            self.problem_label.setVisible(bool(problem))
            self._fit()
        self.ok_button.setEnabled(self.loaded and not problem and not self.saving)
        self.check_button.setEnabled(self.loaded and not problem and self.can_check())
        return not problem

    def _fit(self) -> None:
        """Grow to show a message that arrived after the dialog was laid out."""
        layout = self.layout()
        if layout is not None:
            layout.activate()
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))

    # --- the keyring -----------------------------------------------------------------------
    def show_password_stored(self, stored: bool, backend: str, not_stored: str) -> None:
        """Whether a password is in the keyring (``not_stored``: what to say if not)."""
        if stored:
            self.password.setPlaceholderText("stored — type a new one to replace it")
        self.password_state.setText(
            f"A password is stored in the keyring ({backend})." if stored else not_stored)

    def show_password_problem(self, message: str) -> None:
        self.password_state.setStyleSheet(ERROR_STYLE)
        self.password_state.setText(message)

    # --- check ---------------------------------------------------------------------------
    def run_check(self, check: Callable[[Progress], ConnectionChecked], *, where: str,
                  label: str) -> None:
        """Run ``check`` (connecting to ``where``) in the background; show its sentence or
        the server's refusal beside the button."""
        self.check_button.setEnabled(False)
        self.check_result.setStyleSheet(HINT_STYLE)
        self.check_result.setText(f"Connecting to {where}…")
        self._runner.run(check, label=label, on_done=self._checked,
                         on_error=self._check_failed)

    def _checked(self, result: ConnectionChecked) -> None:
        self.check_button.setEnabled(True)
        self.check_result.setStyleSheet(OK_STYLE)
        self.check_result.setText(result.sentence())
        self._fit()

    def _check_failed(self, error: BaseException) -> None:
        self.check_button.setEnabled(True)
        if not isinstance(error, UserError):  # a bug
            self.check_result.setText("")
            self._runner.report(error)
            return
        self.check_result.setStyleSheet(ERROR_STYLE)
        self.check_result.setText(error.message)
        self._fit()

    # --- save ----------------------------------------------------------------------------
    def _failed(self, error: BaseException) -> None:
        if not self.save_failed(error):
            self._runner.report(error)

    def set_saving(self, saving: bool) -> None:
        super().set_saving(saving)
        if not saving:
            self.validate()
