"""Settings → Customer systems: the systems the sources file describes, whether each can
be reached, their passwords in the keyring, and the file itself to edit.

Reading, checking, saving and trying the systems all run in the background (the
window's TaskRunner); the dialog's own status line shows the running task with Cancel.
A text that does not load is refused with its line and reason, the cursor is put on
that line and nothing is written; what was typed stays. ``saved`` tells the window
that the file changed, so the next lookup uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QFontDatabase,
    QKeySequence,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from caseapp.errors import UserError
from caseapp.secrets import SecretStoreUnavailable
from caseapp.services.sources_admin import (
    SavedSources,
    SourcesFileView,
    SourcesTextError,
    SystemCheck,
    SystemSummary,
    check_systems,
    read_sources_file,
    save_sources_text,
    store_source_password,
    validate_sources_text,
)
from ui.dialogs.confirm import ask
from ui.dialogs.saving import SavingDialog
from ui.models.customer_systems import CustomerSystemsModel, details_text
from ui.tasks import Progress, Task, TaskRunner, TaskStatus
from ui.widgets.request_form import HINT_STYLE

OK_STYLE = "color: #1b6e2f;"
ERROR_STYLE = "color: #b3261e;"
BAD_LINE = QColor("#fde2e1")


@dataclass(frozen=True)
class Loaded:
    view: SourcesFileView
    systems: tuple[SystemSummary, ...]
    problem: SourcesTextError | None = None


def _load(path: Path) -> Loaded:
    view = read_sources_file(path)
    if not view.exists:
        return Loaded(view, ())
    try:
        return Loaded(view, tuple(validate_sources_text(view.text, path)))
    except SourcesTextError as problem:
        return Loaded(view, (), problem)


def where_text(problem: SourcesTextError) -> str:
    return f"Line {problem.line}: {problem.reason}" if problem.line else problem.reason


class SourcesSettingsDialog(QDialog):
    saved = Signal(object)  # the sources file's Path, once a new text was written

    def __init__(self, path: Path, data_dir: Path, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.data_dir = data_dir
        self.runner = runner
        self.file_exists = False
        self.check_task: Task | None = None
        self.saving = False
        self.password_dialog: SourcePasswordDialog | None = None
        self.setWindowTitle("Customer systems")
        self.resize(1060, 560)

        self.model = CustomerSystemsModel(self)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._systems_tab(), "Sys&tems")
        self.tabs.addTab(self._edit_tab(), "&Edit file")

        self.task_status = TaskStatus(runner, self)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.task_status)
        bottom.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)
        self.load()

    # --- the two tabs --------------------------------------------------------------------
    def _systems_tab(self) -> QWidget:
        intro = QLabel(
            f"The customer systems a lookup searches, as described in {self.path}. A "
            "database system's password is kept in the operating system's keyring, never "
            "in the file.")
        intro.setWordWrap(True)
        intro.setStyleSheet(HINT_STYLE)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(CustomerSystemsModel.COL_WHERE,
                                    QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(CustomerSystemsModel.COL_REACHABLE,
                                    QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.table.doubleClicked.connect(lambda _index: self.set_password())

        self.table.setMinimumHeight(150)
        self.model.modelReset.connect(self._reselect)
        self._selected_name = ""
        self.details = QLabel()
        self.details.setTextFormat(Qt.TextFormat.PlainText)  # file text, never markup
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setMinimumHeight(4 * self.details.fontMetrics().lineSpacing())
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.systems_note = QLabel()
        self.systems_note.setWordWrap(True)
        self.systems_note.hide()
        self.check_button = QPushButton("&Check systems")
        self.check_button.setToolTip("Connect to each system of the saved file and look for "
                                     "the tables and columns it names (F5)")
        self.check_button.clicked.connect(self.check_systems)
        self.password_button = QPushButton("Set &password…")
        self.password_button.setEnabled(False)
        self.password_button.clicked.connect(self.set_password)
        row = QHBoxLayout()
        row.addWidget(self.check_button)
        row.addWidget(self.password_button)
        row.addStretch(1)

        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.systems_note)
        layout.addLayout(row)
        refresh = QAction(self)
        refresh.setShortcut(QKeySequence("F5"))
        refresh.triggered.connect(self.check_systems)
        self.addAction(refresh)
        return tab

    def _edit_tab(self) -> QWidget:
        self.editor = QPlainTextEdit()
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setPlaceholderText("Reading the sources file…")
        self.editor.setReadOnly(True)  # until the file was read: nothing typed is lost
        self.editor.textChanged.connect(self._text_changed)
        self.editor.cursorPositionChanged.connect(self._show_position)
        self.position = QLabel()
        self.position.setStyleSheet(HINT_STYLE)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.hide()
        self.validate_button = QPushButton("C&heck")
        self.validate_button.setToolTip("Check the text without saving it")
        self.validate_button.clicked.connect(self.validate)
        self.save_button = QPushButton("&Save")
        self.save_button.setToolTip("Check the text and save it; the previous file is kept "
                                    "as a .bak beside it (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        for button in (self.validate_button, self.save_button):
            button.setEnabled(False)  # until the file was read
        self.save_action = QAction("Save", self)
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        self.save_action.triggered.connect(self.save)
        self.addAction(self.save_action)
        row = QHBoxLayout()
        row.addWidget(self.position)
        row.addStretch(1)
        row.addWidget(self.validate_button)
        row.addWidget(self.save_button)
        self.file_label = QLabel(str(self.path))
        self.file_label.setStyleSheet(HINT_STYLE)
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.file_label)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.problem)
        layout.addLayout(row)
        return tab

    # --- reading -------------------------------------------------------------------------
    def load(self) -> None:
        path = self.path
        self.runner.run(lambda _p: _load(path), label="Reading the sources file",
                        on_done=self._if_open(self._loaded),
                        on_error=self._if_open(self._load_failed))

    def _loaded(self, loaded: Loaded) -> None:
        self.file_exists = loaded.view.exists
        self.editor.setPlainText(loaded.view.text)
        self.editor.document().setModified(False)
        self.editor.setReadOnly(False)
        self.validate_button.setEnabled(True)
        self.save_button.setEnabled(True)
        self.model.set_systems(loaded.systems)
        self.check_button.setEnabled(loaded.view.exists and loaded.problem is None)
        if not loaded.view.exists:
            self._note(f"There is no sources file yet, so no system is searched. The Edit "
                       f"file tab holds the example to start from; Save writes it to "
                       f"{self.path}.", ERROR_STYLE)
            self.file_label.setText(f"{self.path} (not created yet: this is the example)")
        elif loaded.problem is not None:
            self._note(f"The sources file does not load, so lookups cannot use it: "
                       f"{where_text(loaded.problem)}. Correct it on the Edit file tab.",
                       ERROR_STYLE)
            self._show_problem(loaded.problem)
        else:
            self.systems_note.hide()

    def _load_failed(self, error: BaseException) -> None:
        if not isinstance(error, UserError):
            self.runner.report(error)
            return
        self.check_button.setEnabled(False)
        self._note(error.message, ERROR_STYLE)  # e.g. not readable: the editor stays shut

    def _note(self, text: str, style: str) -> None:
        self.systems_note.setStyleSheet(style)
        self.systems_note.setText(text)
        self.systems_note.show()

    # --- the systems ---------------------------------------------------------------------
    def selected(self) -> SystemSummary | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.system(rows[0].row()) if rows else None

    def _selected(self, _new: QItemSelection | None = None,
                  _old: QItemSelection | None = None) -> None:
        system = self.selected()
        rows = self.table.selectionModel().selectedRows()
        row = self.model.system_row(rows[0].row()) if rows else None
        self.details.setText(details_text(row) if row is not None else "")
        if system is not None:
            self._selected_name = system.name
        can = system is not None and system.needs_password
        self.password_button.setEnabled(can)
        if system is None:
            self.password_button.setToolTip("Select a database system first")
        elif system.kind == "manual":
            self.password_button.setToolTip(f"{system.label} is searched by hand")
        elif not system.needs_password:
            self.password_button.setToolTip(f"The url of {system.label} names no user, so "
                                            "no password is used")
        else:
            self.password_button.setToolTip(f"Keep the password of {system.label} in the "
                                            "keyring")

    def _reselect(self) -> None:
        """A reset model (new check results) keeps the system that was selected."""
        row = self.model.row_of(self._selected_name)
        if row is None and self.model.rowCount():
            row = 0
        if row is not None:
            self.table.selectRow(row)
        self._selected()

    def check_systems(self) -> None:
        if not self.check_button.isEnabled() or self.check_task is not None:
            return
        path, data_dir = self.path, self.data_dir

        def check(progress: Progress) -> tuple[SystemCheck, ...]:
            def report(done: int, total: int, label: str) -> None:
                progress.check()  # Cancel pressed: stop before the next system
                progress.set(done, total, label)

            return check_systems(path, data_dir, progress=report)

        self.check_button.setEnabled(False)
        self.model.set_checking(True)
        self.status.setStyleSheet(HINT_STYLE)
        self.status.setText("Trying each system of the saved file…")
        self.check_task = self.runner.run(
            check, label="Checking the customer systems", cancellable=True,
            on_done=self._if_open(self._checked), on_error=self._if_open(self._check_failed),
            on_cancelled=self._if_open(self._check_cancelled))

    def _check_over(self) -> None:
        self.check_task = None
        self.check_button.setEnabled(self.file_exists)

    def _checked(self, checks: tuple[SystemCheck, ...]) -> None:
        self._check_over()
        self.model.set_checks(checks)
        bad = [check.label for check in checks if not check.searchable]
        if bad:
            self.status.setStyleSheet(ERROR_STYLE)
            self.status.setText(f"Cannot be searched now: {', '.join(bad)}. A lookup says "
                                "so and is incomplete until they are fixed.")
        else:
            self.status.setStyleSheet(OK_STYLE)
            self.status.setText(f"All {len(checks)} systems can be searched.")

    def _check_failed(self, error: BaseException) -> None:
        self._check_over()
        self.model.set_checking(False)
        if not isinstance(error, UserError):
            self.status.setText("")
            self.runner.report(error)
            return
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(error.message)

    def _check_cancelled(self) -> None:
        self._check_over()
        self.model.set_checking(False)
        self.status.setStyleSheet(HINT_STYLE)
        self.status.setText("Check cancelled.")

    def set_password(self) -> None:
        system = self.selected()
        if system is None or not system.needs_password:
            return
        dialog = SourcePasswordDialog(system, self.path, self.runner, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.stored.connect(self._password_stored)
        self.password_dialog = dialog
        dialog.open()

    def _password_stored(self, system: SystemSummary) -> None:
        self.model.update_system(system)
        self.status.setStyleSheet(OK_STYLE)
        self.status.setText(f"The password of {system.label} is stored in the keyring.")

    # --- the file ------------------------------------------------------------------------
    def _text_changed(self) -> None:
        self.editor.setExtraSelections([])  # the marked line may have moved

    def _show_position(self) -> None:
        cursor = self.editor.textCursor()
        self.position.setText(f"Line {cursor.blockNumber() + 1}, column "
                              f"{cursor.positionInBlock() + 1}")

    def validate(self) -> None:
        if not self.validate_button.isEnabled():
            return
        text, path = self.editor.toPlainText(), self.path
        self.runner.run(lambda _p: validate_sources_text(text, path),
                        label="Checking the sources file", on_done=self._if_open(self._valid),
                        on_error=self._if_open(lambda error: self._refused(error)))

    def _valid(self, systems: list[SystemSummary]) -> None:
        self._clear_problem()
        self.problem.setStyleSheet(OK_STYLE)
        self.problem.setText(f"The text is valid: {len(systems)} systems. Save to use it.")
        self.problem.show()

    def save(self) -> None:
        if not self.save_button.isEnabled() or self.editor.isReadOnly():
            return
        text, path = self.editor.toPlainText(), self.path
        self.saving = True
        self.save_button.setEnabled(False)
        self.save_button.setText("Saving…")
        self.runner.run(lambda _p: save_sources_text(text, path),
                        label="Saving the sources file",
                        on_done=self._if_open(lambda saved: self._saved(saved, text)),
                        on_error=self._if_open(self._save_failed))

    def _save_over(self) -> None:
        self.saving = False
        self.save_button.setEnabled(True)
        self.save_button.setText("&Save")

    def _saved(self, saved: SavedSources, text: str) -> None:
        self._save_over()
        self._clear_problem()
        if self.editor.toPlainText() == text:  # typed on while it saved: still unsaved
            self.editor.document().setModified(False)
        self.file_exists = True
        self.file_label.setText(str(self.path))
        self.systems_note.hide()
        self.model.set_systems(saved.systems)
        self.check_button.setEnabled(self.check_task is None)
        kept = f"; the previous file is kept as {saved.backup.name}" if saved.backup else ""
        self.problem.setStyleSheet(OK_STYLE)
        self.problem.setText(f"Saved: {len(saved.systems)} systems{kept}. The next lookup "
                             "uses it.")
        self.problem.show()
        self.status.setStyleSheet(OK_STYLE)
        self.status.setText(f"Saved {saved.path}.")
        self.saved.emit(saved.path)

    def _save_failed(self, error: BaseException) -> None:
        self._save_over()
        self._refused(error, " Nothing was saved.")

    def _refused(self, error: BaseException, after: str = "") -> None:
        if isinstance(error, SourcesTextError):
            self._show_problem(error, after)
            self.editor.setFocus()
        elif isinstance(error, UserError):  # e.g. the file cannot be written
            self._clear_problem()
            self.problem.setStyleSheet(ERROR_STYLE)
            self.problem.setText(error.message)
            self.problem.show()
        else:
            self.runner.report(error)

    def _show_problem(self, problem: SourcesTextError, after: str = "") -> None:
        self.problem.setStyleSheet(ERROR_STYLE)
        self.problem.setText(f"{where_text(problem)}.{after}")
        self.problem.show()
        if problem.line is None:
            return
        block = self.editor.document().findBlockByNumber(problem.line - 1)
        if not block.isValid():
            return
        cursor = QTextCursor(block)
        self.editor.setTextCursor(cursor)
        self.editor.centerCursor()
        # The whole line tinted, so it is found again after scrolling away.
        line_format = QTextCharFormat()
        line_format.setBackground(BAD_LINE)
        line_format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        marked = QTextEdit.ExtraSelection()
        marked.cursor = QTextCursor(block)
        marked.format = line_format
        self.editor.setExtraSelections([marked])

    def _clear_problem(self) -> None:
        self.problem.hide()
        self.editor.setExtraSelections([])

    # --- closing -------------------------------------------------------------------------
    def unsaved(self) -> bool:
        return self.editor.document().isModified()

    def reject(self) -> None:
        if self.saving:  # its result is waited for: the window must learn of a new file
            return
        if self.unsaved():
            ask(self, "Unsaved changes", "The sources file was changed here and not saved. "
                "Close and lose the changes?", "&Discard changes", self._close_anyway,
                warning=True)
            return
        self._close_anyway()

    def _close_anyway(self) -> None:
        if self.check_task is not None:
            self.runner.cancel(self.check_task.id)
        super().reject()

    def _if_open(self, callback: Callable[..., None]) -> Callable[..., None]:
        """A result that arrives after the dialog was closed (and deleted) is dropped."""
        def call(*args: object) -> None:
            if shiboken6.isValid(self):
                callback(*args)
        return call


class SourcePasswordDialog(SavingDialog):
    """The password of one database system, into the keyring secret ``source:NAME``."""

    stored = Signal(object)  # the system's SystemSummary, password now stored

    def __init__(self, system: SystemSummary, path: Path, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, ok=QDialogButtonBox.StandardButton.Save)
        self.system = system
        self.path = path
        self.runner = runner
        self.setWindowTitle(f"Password of {system.label}")
        self.setMinimumWidth(520)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.textChanged.connect(self._typed)
        state = {"stored": "A password is stored; a new one replaces it.",
                 "not_stored": "No password is stored yet.",
                 "unknown": system.password_note}.get(system.password, "")
        intro = QLabel(f"{system.label} ({system.where}). The password is kept in the "
                       f"keyring as source:{system.name}, never in the sources file. "
                       + state)
        intro.setWordWrap(True)
        intro.setStyleSheet(HINT_STYLE)
        form = QFormLayout()
        form.addRow("&Password", self.password)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.ok_button.setEnabled(False)

    def _typed(self, text: str) -> None:
        self.ok_button.setEnabled(bool(text) and not self.saving)

    def submit(self) -> None:
        password, name, path = self.password.text(), self.system.name, self.path
        if not password:
            return
        self.set_saving(True)
        self.runner.run(lambda _p: store_source_password(name, password, path),
                        label="Storing the password", on_done=self._stored,
                        on_error=self._failed)

    def _stored(self, system: SystemSummary) -> None:
        self.stored.emit(system)
        self.saved()

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, SecretStoreUnavailable):  # an EnvironmentProblem, shown here
            self.set_saving(False)
            self.show_problems([f"The password was not stored. {error.message}"])
        elif not self.save_failed(error):
            self.runner.report(error)
        self._typed(self.password.text())
