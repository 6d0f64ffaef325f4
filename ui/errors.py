"""What staff see when something goes wrong (cf. qutebrowser's known errors vs. bugs).

- a ``UserError`` (refused step, invalid input, stale edit…): a warning with its message;
- an ``EnvironmentProblem`` (database gone, disk full): a critical message saying that
  nothing was saved and what to do;
- anything else is a bug: a report dialog with the traceback to copy and send.

``ErrorPresenter.present`` is the one place that shows a dialog; dialogs open
non-blocking. Tests replace ``present`` (or set ``show_dialogs = False``) and look at
the Report values instead.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseapp.errors import DatabaseUnavailable, DiskFull, EnvironmentProblem, UserError
from caseapp.logs import bug_report, summary

log = logging.getLogger(__name__)

Kind = Literal["warning", "environment", "bug"]


@dataclass(frozen=True)
class Report:
    kind: Kind
    title: str
    text: str
    details: str = ""  # the traceback, for bugs


def _what_to_do(error: EnvironmentProblem) -> str:
    if isinstance(error, DiskFull):
        return "Free some disk space (or ask IT to), then try again."
    if isinstance(error, DatabaseUnavailable):
        return ("Check the network connection, or ask IT whether the case database is "
                "running, then try again.")
    return "Fix the cause named above, then try again."


def report_for(error: BaseException) -> Report:
    """How an exception is shown; pure, so it is easy to test."""
    if isinstance(error, EnvironmentProblem):
        return Report(
            "environment",
            "Nothing was saved",
            f"{error.message}\n\nNothing was saved by this action. {_what_to_do(error)}",
        )
    if isinstance(error, UserError):
        return Report("warning", "caseapp", error.message)
    # Redacted (caseapp.logs): an exception's text may quote a consumer's data, and the
    # report is copied into mail to the maintainers.
    return Report(
        "bug",
        "Internal error",
        "Something went wrong inside caseapp (a bug, not your mistake). Nothing more was "
        "saved by this action. Please copy the report below and send it to the caseapp "
        "maintainers with a line on what you were doing.",
        f"{summary(error)}\n\n{bug_report(error)}",
    )


class BugReportDialog(QDialog):
    """The traceback in a read-only, selectable box, with a Copy button."""

    def __init__(self, report: Report, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(report.title)
        self.resize(720, 460)
        intro = QLabel(report.text)
        intro.setWordWrap(True)
        self.details = QPlainTextEdit(report.details)
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy report")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_report)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)

    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(self.details.toPlainText())
        self.copy_button.setText("Copied")


class ErrorPresenter(QObject):
    """Turns exceptions into dialogs; emits ``presented`` with every Report shown."""

    presented = Signal(object)
    _incoming = Signal(object)

    def __init__(self, parent_widget: QWidget | None = None) -> None:
        super().__init__(parent_widget)
        self._parent_widget = parent_widget
        self.show_dialogs = True
        self.dialog: QDialog | None = None  # the last one opened
        # From another thread (sys.excepthook), the report is queued to the GUI thread.
        self._incoming.connect(self.show_exception)

    def show_exception(self, error: BaseException) -> Report:
        report = report_for(error)
        if report.kind == "bug":
            log.error("Bug reported to the user:\n%s", report.details)
        self.present(report)
        self.presented.emit(report)
        return report

    def show_from_any_thread(self, error: BaseException) -> None:
        self._incoming.emit(error)

    def present(self, report: Report) -> None:
        """Open the dialog (non-blocking). Tests replace this method."""
        if not self.show_dialogs:
            return
        dialog: QDialog
        if report.kind == "bug":
            dialog = BugReportDialog(report, self._parent_widget)
        else:
            icon = (QMessageBox.Icon.Critical if report.kind == "environment"
                    else QMessageBox.Icon.Warning)
            dialog = QMessageBox(icon, report.title, report.text,
                                 QMessageBox.StandardButton.Ok, self._parent_widget)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.dialog = dialog


ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


def install_excepthook(presenter: ErrorPresenter) -> Callable[[], None]:
    """Show uncaught exceptions as bug reports; returns a function that uninstalls it."""
    previous: ExceptHook = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException,
             tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt | SystemExit):
            previous(kind, error, tb)
            return
        sys.__excepthook__(kind, error, tb)  # keep it on stderr / in the log as well
        if error.__traceback__ is None:
            error = error.with_traceback(tb)
        presenter.show_from_any_thread(error)

    sys.excepthook = hook

    def uninstall() -> None:
        if sys.excepthook is hook:
            sys.excepthook = previous

    return uninstall
