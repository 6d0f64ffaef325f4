"""What staff see for a refused action, a machine problem and a bug."""

from __future__ import annotations

import sys

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from caseapp.errors import DatabaseUnavailable, DiskFull, StaleEdit, TransitionRefused
from ui.errors import BugReportDialog, ErrorPresenter, Report, install_excepthook, report_for


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


def test_user_errors_are_warnings_with_their_message() -> None:
    report = report_for(TransitionRefused("Deny: a reason is required."))
    assert report.kind == "warning"
    assert report.text == "Deny: a reason is required."
    assert report_for(StaleEdit("Reload and try again.")).kind == "warning"


def test_environment_problems_say_nothing_was_saved_and_what_to_do() -> None:
    down = report_for(DatabaseUnavailable("The case database cannot be reached."))
    assert down.kind == "environment"
    assert "The case database cannot be reached." in down.text
    assert "Nothing was saved" in down.text
    assert "network connection" in down.text
    full = report_for(DiskFull("No space left on /home."))
    assert "Free some disk space" in full.text


def test_bugs_carry_the_traceback() -> None:
    report = report_for(_raised(ZeroDivisionError("division by zero")))
    assert report.kind == "bug"
    assert "not your mistake" in report.text
    assert "ZeroDivisionError: division by zero" in report.details
    assert "Traceback (most recent call last)" in report.details
    assert "_raised" in report.details


def test_bug_dialog_shows_a_read_only_copyable_report(qtbot: QtBot) -> None:
    presenter = ErrorPresenter()
    shown: list[Report] = []
    presenter.presented.connect(shown.append)
    presenter.show_exception(_raised(RuntimeError("index out of sync")))
    dialog = presenter.dialog
    assert isinstance(dialog, BugReportDialog)
    assert dialog.isVisible()  # opened without blocking
    assert dialog.details.isReadOnly()
    assert "RuntimeError: index out of sync" in dialog.details.toPlainText()
    dialog.copy_button.click()
    assert "index out of sync" in QGuiApplication.clipboard().text()
    assert dialog.copy_button.text() == "Copied"
    assert [r.kind for r in shown] == ["bug"]
    dialog.close()


def test_user_error_opens_a_warning_box(qtbot: QtBot) -> None:
    presenter = ErrorPresenter()
    presenter.show_exception(TransitionRefused("Only from: Received."))
    box = presenter.dialog
    assert isinstance(box, QMessageBox)
    assert box.icon() == QMessageBox.Icon.Warning
    assert box.text() == "Only from: Received."
    box.close()


def test_environment_problem_opens_a_critical_box(qtbot: QtBot) -> None:
    presenter = ErrorPresenter()
    presenter.show_exception(DatabaseUnavailable("The database server is down."))
    box = presenter.dialog
    assert isinstance(box, QMessageBox)
    assert box.icon() == QMessageBox.Icon.Critical
    assert "Nothing was saved" in box.text()
    box.close()


def test_excepthook_reports_uncaught_exceptions_as_bugs(qtbot: QtBot, capsys) -> None:
    presenter = ErrorPresenter()
    presenter.show_dialogs = False
    shown: list[Report] = []
    presenter.presented.connect(shown.append)
    before = sys.excepthook
    uninstall = install_excepthook(presenter)
    try:
        error = _raised(LookupError("no such row"))
        sys.excepthook(type(error), error, error.__traceback__)
    finally:
        uninstall()
    assert sys.excepthook is before
    assert [r.kind for r in shown] == ["bug"]
    assert "LookupError: no such row" in shown[0].details
    assert "LookupError: no such row" in capsys.readouterr().err  # also on stderr
