"""Settings → Database…: this workstation's own file, or a desk shared on PostgreSQL.

Shared: server, port, database, login, the password (kept in the keyring, never in the
settings file), TLS (verify-full by default, with the CA that signed the server's
certificate; nothing that could fall back to clear text is offered) and how long a claim
on a case holds. *Test connection* connects once in the background and says what it
found.

*Save* works in the background too (the dialog waits, busy, and cannot be closed
meanwhile): it connects first, and only a database that can be used is saved (a failed
check says why, keeps everything typed, and for a server offers *Save anyway*); then the
password goes
to the keyring and ``database_url`` and ``[database]`` into the settings file the window
was started with (``--config``), rewritten atomically: the old file or the new one, never
half of one. The window goes on with the database it opened; the dialog then offers
*Restart now* (ui/restart.py: caseapp started again, with the same arguments, after the
window closed cleanly) or *Later*.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from caseapp.config import (
    MAX_CLAIM_MINUTES,
    MIN_CLAIM_MINUTES,
    DatabaseSettings,
    load_settings,
    save_database_settings,
)
from caseapp.errors import UserError
from caseapp.services.database_admin import DatabaseCheck, check_database, store_password
from ui.tasks import Progress, TaskRunner

SSL_CHOICES = (("verify-full", "Encrypted, server certificate and name checked (verify-full)"),
               ("verify-ca", "Encrypted, server certificate checked (verify-ca)"),
               ("require", "Encrypted, server not checked (require)"))
HINT = "color: #5f6b76;"


@dataclass(frozen=True)
class DatabaseChoice:
    url: str  # never with a password
    database: DatabaseSettings
    password: str  # typed now ("": keep the keyring's)


@dataclass(frozen=True)
class SaveOutcome:
    check: DatabaseCheck | None  # None: not checked (the default file, or Save anyway)
    file: Path | None  # the settings file written; None: the check failed, nothing saved


def postgres_url(host: str, port: int, database: str, user: str) -> str:
    where = host.strip() + (f":{port}" if port and port != 5432 else "")
    login = quote(user.strip(), safe="") + "@" if user.strip() else ""
    return f"postgresql+psycopg://{login}{where}/{quote(database.strip(), safe='')}"


def with_password(url: str, password: str) -> str:
    """For the connection test only: the URL with the typed password (never saved)."""
    if not password or "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    login, where = rest.split("@", 1)
    return f"{scheme}://{login}:{quote(password, safe='')}@{where}"


class DatabaseSettingsDialog(QDialog):
    saved = Signal(object)  # DatabaseChoice
    restart_requested = Signal()  # Restart now, after a save: the dialog is closed

    def __init__(self, runner: TaskRunner, config_file: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Database")
        self.setMinimumWidth(620)
        self._runner = runner
        self._config_file = config_file
        self.last_check: DatabaseCheck | None = None
        self.saving = False
        self.saved_file: Path | None = None
        self.shared = QRadioButton("Shared by several workstations (PostgreSQL server)")
        self.local = QRadioButton("This workstation only (a file on this computer)")
        kinds = QButtonGroup(self)
        kinds.addButton(self.shared)
        kinds.addButton(self.local)
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("Empty: the default file in your data folder")
        self.host_edit = QLineEdit()
        self.host_edit.setPlaceholderText("db.example.internal")
        self.port_edit = QSpinBox()
        self.port_edit.setRange(1, 65535)
        self.port_edit.setValue(5432)
        self.database_edit = QLineEdit("privacy_desk")
        self.user_edit = QLineEdit()
        self.user_edit.setPlaceholderText("the workstation's or the desk's login")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("kept in the keyring; empty: keep the stored one")
        self.ssl_combo = QComboBox()
        for mode, text in SSL_CHOICES:
            self.ssl_combo.addItem(text, mode)
        self.ssl_combo.setToolTip("Nothing that could fall back to an unencrypted "
                                  "connection is offered")
        self.ca_edit = QLineEdit()
        self.ca_edit.setPlaceholderText("the CA certificate that signed the server's (.pem)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_ca)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_edit, 1)
        ca_row.addWidget(browse)
        self.claim_spin = QSpinBox()
        self.claim_spin.setRange(MIN_CLAIM_MINUTES, MAX_CLAIM_MINUTES)
        self.claim_spin.setSuffix(" minutes")
        self.claim_spin.setToolTip("A claim from a workstation that crashed lapses after "
                                   "this long; an open window renews it")

        self.server_box = QGroupBox("PostgreSQL server")
        form = QFormLayout(self.server_box)
        form.addRow("Server:", self.host_edit)
        form.addRow("Port:", self.port_edit)
        form.addRow("Database:", self.database_edit)
        form.addRow("Login:", self.user_edit)
        form.addRow("Password:", self.password_edit)
        form.addRow("Connection:", self.ssl_combo)
        form.addRow("Server's CA:", ca_row)
        self.file_box = QGroupBox("Database file")
        file_form = QFormLayout(self.file_box)
        file_form.addRow("File:", self.file_edit)
        note = QLabel("A file on a network share is refused: SQLite cannot be shared safely "
                      "over the network. Several workstations share a PostgreSQL server.")
        note.setWordWrap(True)
        note.setStyleSheet(HINT)
        file_form.addRow(note)
        claims = QFormLayout()
        claims.addRow("A claim on a case lapses after:", self.claim_spin)

        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_label.hide()
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.addButton(self.test_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.save_anyway_button = QPushButton("Save anyway")
        self.save_anyway_button.setToolTip("Save what was typed although the connection "
                                           "failed (e.g. a server not reachable from here yet)")
        self.save_anyway_button.setAutoDefault(False)  # never what Enter does
        self.save_anyway_button.clicked.connect(self.save_anyway)
        self.buttons.addButton(self.save_anyway_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.restart_button = QPushButton("Restart now")
        self.restart_button.setToolTip("Close the window and start caseapp again with the "
                                       "new database")
        self.restart_button.clicked.connect(self._restart)
        self.buttons.addButton(self.restart_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.save_anyway_button.hide()  # (after addButton, which shows them)
        self.restart_button.hide()
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # connecting and saving: no steps to count
        self.busy_bar.setMaximumHeight(12)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        restart = QLabel("The window goes on with the database it opened; the new one is "
                         "used from the next start of caseapp.")
        restart.setWordWrap(True)
        restart.setStyleSheet(HINT)
        self.restart_note = restart
        layout = QVBoxLayout(self)
        layout.addWidget(self.shared)
        layout.addWidget(self.server_box)
        layout.addWidget(self.local)
        layout.addWidget(self.file_box)
        layout.addLayout(claims)
        layout.addWidget(self.result_label)
        layout.addWidget(self.busy_bar)
        layout.addWidget(restart)
        layout.addWidget(self.buttons)
        self.shared.toggled.connect(self._sync)
        self._load()
        self._sync()

    # --- the settings file ---------------------------------------------------------------
    def _load(self) -> None:
        try:
            settings = load_settings(self._config_file)
        except UserError as error:
            self._say(error.message, "#b3261e")
            self.local.setChecked(True)
            return
        self.claim_spin.setValue(settings.database.claim_minutes)
        url = settings.database_url
        if url.startswith("postgres"):
            from urllib.parse import unquote, urlsplit

            parts = urlsplit(url)
            self.shared.setChecked(True)
            self.host_edit.setText(parts.hostname or "")
            self.port_edit.setValue(parts.port or 5432)
            self.database_edit.setText(unquote(parts.path.lstrip("/")))
            self.user_edit.setText(unquote(parts.username or ""))
            mode = settings.database.sslmode or "verify-full"
            index = self.ssl_combo.findData(mode)
            self.ssl_combo.setCurrentIndex(max(index, 0))
            self.ca_edit.setText(settings.database.sslrootcert)
        else:
            self.local.setChecked(True)
            self.file_edit.setText(url.removeprefix("sqlite:///") if url else "")

    def _say(self, text: str, color: str = "") -> None:
        self.result_label.setStyleSheet(f"color: {color};" if color else "")
        self.result_label.setText(text)
        self.result_label.setVisible(bool(text))

    def _sync(self) -> None:
        self.server_box.setEnabled(self.shared.isChecked())
        self.file_box.setEnabled(not self.shared.isChecked())

    def _browse_ca(self) -> None:
        chosen, _filter = QFileDialog.getOpenFileName(
            self, "The server's CA certificate", str(Path.home()),
            "Certificates (*.pem *.crt);;All files (*)")
        if chosen:
            self.ca_edit.setText(chosen)

    def choice(self) -> DatabaseChoice:
        minutes = self.claim_spin.value()
        if not self.shared.isChecked():
            file = self.file_edit.text().strip()
            return DatabaseChoice(f"sqlite:///{file}" if file else "",
                                  DatabaseSettings(claim_minutes=minutes), "")
        mode = str(self.ssl_combo.currentData())
        url = postgres_url(self.host_edit.text(), self.port_edit.value(),
                           self.database_edit.text(), self.user_edit.text())
        return DatabaseChoice(url, DatabaseSettings(
            sslmode="" if mode == "verify-full" else mode,
            sslrootcert=self.ca_edit.text().strip(), claim_minutes=minutes),
            self.password_edit.text())

    def problems(self) -> list[str]:
        if not self.shared.isChecked():
            return []
        missing = [name for name, edit in (("the server", self.host_edit),
                                           ("the database", self.database_edit),
                                           ("the login", self.user_edit))
                   if not edit.text().strip()]
        return [f"Give {' and '.join(missing)}."] if missing else []

    # --- actions -------------------------------------------------------------------------
    def test_connection(self) -> None:
        problems = self.problems()
        if problems:
            self._say("\n".join(problems), "#b3261e")
            return
        choice = self.choice()
        url = choice.database.apply_to(with_password(choice.url, choice.password)) \
            if choice.url else ""
        if not url:
            self._say("The default file in your data folder is used.")
            return
        self.test_button.setEnabled(False)
        self._say("Connecting…")

        def check(_progress: Progress) -> DatabaseCheck:
            return check_database(url)

        def done(result: DatabaseCheck) -> None:
            self.test_button.setEnabled(True)
            self.last_check = result
            self._say(result.sentence(), "#1e6b34" if result.ok else "#b3261e")

        def failed(error: BaseException) -> None:
            self.test_button.setEnabled(True)
            self._say(error.message if isinstance(error, UserError)
                      else f"{type(error).__name__}: {error}", "#b3261e")

        self._runner.run(check, label="Testing the database connection", on_done=done,
                         on_error=failed)

    def save(self) -> None:
        """Check the connection, then save (both in the background)."""
        self._save(check=True)

    def save_anyway(self) -> None:
        """Save what failed its check (a server not reachable from here yet)."""
        self._save(check=False)

    def _save(self, *, check: bool) -> None:
        if self.saving or self.saved_file is not None:
            return
        problems = self.problems()
        if problems:
            self._say("\n".join(problems), "#b3261e")
            return
        choice = self.choice()
        test_url = choice.database.apply_to(with_password(choice.url, choice.password)) \
            if check and choice.url else ""
        config_file = self._config_file

        def work(_progress: Progress) -> SaveOutcome:
            found = check_database(test_url) if test_url else None
            if found is not None and not found.ok:
                return SaveOutcome(found, None)  # nothing saved: the dialog says why
            # The keyring first: a settings file naming a login whose password is
            # missing would not open. The file is replaced whole or not at all.
            if choice.password:
                store_password(choice.url, choice.password)
            return SaveOutcome(found, save_database_settings(choice.url, choice.database,
                                                             config_file))

        self._set_saving(True)
        self._say("Connecting, then saving…" if test_url else "Saving…")
        self._runner.run(work, label="Saving the database settings",
                         on_done=lambda outcome: self._saved(choice, outcome),
                         on_error=self._save_failed)

    def _saved(self, choice: DatabaseChoice, outcome: SaveOutcome) -> None:
        self._set_saving(False)
        if outcome.check is not None:
            self.last_check = outcome.check
        if outcome.file is None:
            assert outcome.check is not None
            # A server may just not be reachable from here yet; a file that cannot be
            # used (on a network share, not a case database) would not open at start.
            server = choice.url.startswith("postgres")
            self._say(f"Not saved. {outcome.check.sentence()}\nCorrect it and save again"
                      + (", or press Save anyway to use it from the next start." if server
                         else "."), "#b3261e")
            self.save_anyway_button.setVisible(server)
            return
        self.saved_file = outcome.file
        self.saved.emit(choice)
        checked = f"{outcome.check.sentence()}\n" if outcome.check is not None else ""
        self._say(f"{checked}Saved in {outcome.file}. The window goes on with the database it "
                  "opened: the new one is used once caseapp starts again.", "#1e6b34")
        self.restart_note.hide()
        for widget in self._inputs():
            widget.setEnabled(False)  # saved: what is shown is what the file holds
        for button in (self._save_button(), self.test_button, self.save_anyway_button):
            button.hide()
        self.restart_button.show()
        self.restart_button.setDefault(True)
        self.restart_button.setFocus()
        self._cancel_button().setText("Later")

    def _save_failed(self, error: BaseException) -> None:
        self._set_saving(False)
        if isinstance(error, UserError):  # a refused keyring, a file that cannot be written
            self._say(f"Nothing was saved: {error.message}", "#b3261e")
            return
        self._say(f"Nothing was saved: an internal error ({type(error).__name__}), "
                  "reported.", "#b3261e")
        self._runner.report(error)

    def _set_saving(self, busy: bool) -> None:
        self.saving = busy
        self.busy_bar.setVisible(busy)
        for widget in (*self._inputs(), self._save_button(), self.test_button,
                       self.save_anyway_button, self._cancel_button()):
            widget.setEnabled(not busy)
        if busy:
            self.save_anyway_button.hide()
        else:
            self._sync()

    def _inputs(self) -> tuple[QWidget, ...]:
        return (self.shared, self.local, self.server_box, self.file_box, self.claim_spin)

    def _save_button(self) -> QAbstractButton:
        button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        assert button is not None
        return button

    def _cancel_button(self) -> QAbstractButton:
        button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        assert button is not None
        return button

    def _restart(self) -> None:
        self.accept()
        self.restart_requested.emit()

    def reject(self) -> None:
        if self.saving:  # the file is written whole or not at all: let it finish
            self._say("Saving… the dialog can close when it is done.")
            return
        super().reject()
