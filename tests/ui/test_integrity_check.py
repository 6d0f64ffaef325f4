"""The window on a database too large to check before it opens: a banner says it is being
checked, the desk reads but takes no change, automatic work waits; the banner goes when
the check passes, and stays (with the offer of a backup) when it fails.
INTEGRITY_AT_START_BYTES is set to 0 so a small file counts as large."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

import caseapp.services as services
from caseapp.clock import Clock
from caseapp.config import MailSettings, Paths, RetentionSettings, Settings
from caseapp.errors import DatabaseBeingChecked, DatabaseDamaged, DatabaseUnavailable
from caseapp.services import Desk
from caseapp.services.dto import CaseQuery
from tests.conftest import make_desk
from tests.ui.conftest import Ui, new_case, open_window
from tests.ui.helpers import click, open_case
from ui.backup import BackupActions
from ui.dialogs.backup import DamagedDatabaseDialog
from ui.settings_store import SettingsStore

CHECKING = ("Checking the database… you can read cases; changes wait until it is done "
            "(started 10:00).")
REFUSED = ("The database is still being checked (started 10:00); changes can be made when "
           "the check is done — usually under a minute.")


@pytest.fixture
def large_desk(sqlite_url: str, clock: Clock, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    """A desk with one case, claimed by alice, whose file is checked after the window
    opens (the test starts the check: no timer races it)."""
    desk = make_desk(sqlite_url, "alice", clock, tmp_path / "backups")
    ref = new_case(desk, "Dana Whitfield").case.ref
    desk.claim_case(ref)
    desk.close()
    monkeypatch.setattr(services, "INTEGRITY_AT_START_BYTES", 0)
    monkeypatch.setattr(BackupActions, "CHECK_AFTER_MS", 60 * 60 * 1000)
    desk = make_desk(sqlite_url, "alice", clock, tmp_path / "backups")
    yield desk
    desk.close()


@pytest.fixture
def checking(qtbot: QtBot, large_desk: Desk, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ui]:
    ui = open_window(qtbot, large_desk, monkeypatch)
    yield ui
    ui.window.shutdown()


def only_case(ui: Ui) -> str:
    return ui.desk.list_cases(CaseQuery(view="all")).rows[0].ref


def test_the_banner_shows_while_checking_and_goes_when_the_check_passes(
        qtbot: QtBot, checking: Ui) -> None:
    ui = checking
    banner = ui.window.backups.check_banner
    assert banner is not None and banner.isVisible()
    assert banner.text.text() == CHECKING
    assert banner.busy.isVisible() and banner.busy.maximum() == 0  # a busy indicator
    assert not banner.check_again_button.isVisible()
    assert not banner.restore_button.isVisible()
    ui.window.grab().save("/tmp/helpers/integrity_checking.png")

    ref = only_case(ui)
    open_case(ui, ref)  # reading works
    notes = ui.window.case_page.notes
    ui.window.case_page.tabs.setCurrentWidget(notes)
    notes.editor.setPlainText("Called back, left a message")
    click(qtbot, notes.add_button)
    ui.settle()
    report = ui.last_report()
    assert report.kind == "warning" and report.text == REFUSED
    assert notes.editor.toPlainText() == "Called back, left a message"  # kept

    ui.window.backups.check_integrity()
    ui.settle()
    assert ui.window.backups.check_banner is None
    assert not shiboken6.isValid(banner) or not banner.isVisible()
    assert "passed its check" in ui.window.statusBar().currentMessage()
    click(qtbot, notes.add_button)
    ui.settle()
    page = ui.window.case_page
    assert page.tabs.tabText(page.tabs.indexOf(notes)) == "Notes (1)"
    assert len(ui.reports) == 1


def test_automatic_work_waits_for_the_check(checking: Ui, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ui = checking
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))  # the backups go there
    store = SettingsStore(Settings(
        paths=Paths.for_user(),
        mail=MailSettings(imap_host="127.0.0.1", imap_port=9, imap_user="privacy",
                          imap_security="none", poll_minutes=1),
        retention=RetentionSettings(purge="daily")), tmp_path / "settings.toml")
    window = ui.window
    window.intake.use_settings(store)
    window.retention.use_settings(store)
    window.backups.use_settings(store)
    open_case(ui, only_case(ui))  # alice's claim from before, live: renewed every 5 min

    window.intake.checker.poll()  # the mail check's timer
    window.case_page.renew_claim()  # the claim's renewal
    assert window.backups.run_scheduled() is None  # the hourly backup
    assert window.retention.run_scheduled() is None  # the daily purge: again in a minute
    assert window.retention.timer.isActive()
    assert window.retention.timer.interval() == window.retention.FIRST_RUN_MS
    assert window.runner.is_idle()
    ui.settle()
    assert ui.reports == []
    assert "did not run" not in window.statusBar().currentMessage()

    window.backups.check_integrity()
    ui.settle()
    task = window.backups.run_scheduled()  # now it runs (and finds a backup due)
    assert task is not None
    ui.settle()
    assert window.backups.last_result is not None


def test_a_failing_check_offers_the_backup_and_keeps_refusing(
        qtbot: QtBot, checking: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    ui = checking
    monkeypatch.setattr(ui.desk.db, "integrity_problems",
                        lambda **_kw: ("page 7: btreeInitPage() returns error code 11",))
    ui.window.backups.check_integrity()
    ui.settle()
    offer = ui.window.backups.damaged_dialog
    assert isinstance(offer, DamagedDatabaseDialog) and offer.isVisible()
    banner = ui.window.backups.check_banner
    assert banner is not None and banner.isVisible()
    assert banner.text.text().startswith("The database is damaged: nothing is written to it")
    assert banner.restore_button.isVisible() and not banner.busy.isVisible()
    with pytest.raises(DatabaseDamaged):
        new_case(ui.desk, "Late Arrival")
    offer.done(QDialog.DialogCode.Rejected)  # not now: the banner offers it again
    ui.settle()
    ui.window.grab().save("/tmp/helpers/integrity_damaged.png")
    click(qtbot, banner.restore_button)
    again = ui.window.backups.damaged_dialog
    assert isinstance(again, DamagedDatabaseDialog) and again.isVisible()
    again.done(QDialog.DialogCode.Rejected)
    with pytest.raises(DatabaseDamaged):
        new_case(ui.desk, "Late Arrival")


def test_a_check_that_could_not_run_can_be_tried_again(
        qtbot: QtBot, checking: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    ui = checking
    check = ui.desk.db.integrity_problems
    unreadable = [True]

    def first_unreadable(*, quick: bool = True, limit: int = 20) -> tuple[str, ...]:
        if unreadable.pop() if unreadable else False:
            raise DatabaseUnavailable("The database file cannot be read (Input/output error).")
        return check(quick=quick, limit=limit)

    monkeypatch.setattr(ui.desk.db, "integrity_problems", first_unreadable)
    ui.window.backups.check_integrity()
    ui.settle()
    banner = ui.window.backups.check_banner
    assert banner is not None and banner.isVisible()
    assert banner.text.text() == (
        "The database could not be checked: The database file cannot be read (Input/output "
        "error). You can read cases; changes wait until the check passes.")
    assert ui.reports == []  # said in the banner, not in a dialog as well
    with pytest.raises(DatabaseBeingChecked):
        new_case(ui.desk, "Late Arrival")
    click(qtbot, banner.check_again_button)
    ui.settle()
    assert ui.window.backups.check_banner is None
    new_case(ui.desk, "Late Arrival")
