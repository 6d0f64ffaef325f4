"""Settings → Mailbox, File → Check mail (a real Dovecot), the automatic checks and the
first-start offer of the samples."""

# The fixtures are imported from tests/ui/intake_fixtures.py: their names are reused as
# test parameters on purpose.
# ruff: noqa: F811

from __future__ import annotations

import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QToolBar
from pytestqt.qtbot import QtBot

from caseapp.config import MailSettings
from caseapp.demo_mailbox import messages as demo_messages
from caseapp.errors import ConfigError
from caseapp.secrets import SERVICE, store_secret
from caseapp.services import Desk
from caseapp.services.dto import CaseQuery, IntakeResult
from tests.imap_server import ImapAccount
from tests.keyring_fixtures import MemoryKeyring
from tests.ui.conftest import Ui, open_window
from tests.ui.helpers import click, closed
from tests.ui.intake_fixtures import (  # noqa: F401  (fixtures)
    DEMO,
    iui,
    prefs_file,
    review_dialog,
    status_message,
    store,
)
from ui.dialogs.import_results import ImportResultsDialog
from ui.dialogs.mailbox_settings import MailboxSettingsDialog
from ui.first_start import DECLINED_KEY
from ui.mail_check import MailChecker
from ui.settings_store import SettingsStore

# 10 sample messages: 6 new cases, 1 threaded, 2 not requests, 1 quarantined.
SAMPLE_SUMMARY = ("10 new messages: 6 new cases, 1 added to its case, 2 not requests, "
                  "1 quarantined")


def _mailbox_dialog(ui: Ui) -> MailboxSettingsDialog:
    ui.window.intake.mailbox_action.trigger()
    ui.settle()
    dialog = ui.window.intake.dialog
    assert isinstance(dialog, MailboxSettingsDialog) and dialog.isVisible()
    return dialog


def _settings_file(store: SettingsStore) -> str:
    return store.settings.paths.settings_file.read_text()


def test_mailbox_settings_are_checked_as_typed(qtbot: QtBot, iui: Ui,
                                               memory_keyring: MemoryKeyring) -> None:
    dialog = _mailbox_dialog(iui)
    assert "No password stored yet" in dialog.password_state.text()
    assert dialog.port.value() == 993
    dialog.host.setText("imap.example.com")
    dialog.user.setText("privacy@example.com")
    assert dialog.ok_button.isEnabled() and not dialog.problem_label.isVisible()
    # The port follows the security while it is the usual one.
    dialog.security.setCurrentIndex(dialog.security.findData("starttls"))
    assert dialog.port.value() == 143
    dialog.security.setCurrentIndex(dialog.security.findData("none"))
    assert dialog.problem_label.isVisible()
    assert "unencrypted" in dialog.problem_label.text()
    assert "imap.example.com" in dialog.problem_label.text()
    assert not dialog.ok_button.isEnabled()
    assert not dialog.test_button.isEnabled()
    dialog.host.setText("localhost")  # a server on this machine: allowed
    assert dialog.ok_button.isEnabled() and not dialog.problem_label.isVisible()
    dialog.port.setValue(10143)  # typed by hand: kept when the security changes
    dialog.security.setCurrentIndex(dialog.security.findData("ssl"))
    assert dialog.port.value() == 10143
    dialog.host.setText("https://imap.example.com/")
    assert "without a scheme" in dialog.problem_label.text()
    dialog.host.setText("")
    assert "Give both" in dialog.problem_label.text()


def test_save_puts_the_password_in_the_keyring_and_the_rest_in_the_file(
        qtbot: QtBot, iui: Ui, store: SettingsStore, memory_keyring: MemoryKeyring) -> None:
    dialog = _mailbox_dialog(iui)
    dialog.host.setText("imap.example.com")
    dialog.user.setText("privacy@example.com")
    dialog.folder.setText("Privacy")
    dialog.poll.setValue(15)
    dialog.password.setText("s3cret-pass")
    click(qtbot, dialog.ok_button)
    iui.settle()
    assert closed(dialog)
    assert memory_keyring.items == {(SERVICE, "imap:privacy@example.com@imap.example.com"):
                                    "s3cret-pass"}
    text = _settings_file(store)
    assert "s3cret-pass" not in text
    assert tomllib.loads(text)["mail"] == {
        "imap_host": "imap.example.com", "imap_port": 993, "imap_user": "privacy@example.com",
        "imap_folder": "Privacy", "imap_security": "ssl", "poll_minutes": 15}
    assert store.mail.poll_minutes == 15
    checker = iui.window.intake.checker
    assert checker.timer.isActive() and checker.timer.interval() == 15 * 60_000

    dialog = _mailbox_dialog(iui)  # opened again: what was saved, password stored
    assert dialog.host.text() == "imap.example.com" and dialog.poll.value() == 15
    assert "A password is stored in the keyring" in dialog.password_state.text()
    assert dialog.password.text() == ""


def test_a_plaintext_keyring_is_refused_and_the_other_settings_are_saved(
        qtbot: QtBot, iui: Ui, store: SettingsStore, plaintext_keyring: object,
        tmp_path: Path) -> None:
    dialog = _mailbox_dialog(iui)
    assert "No secure keyring is available" in dialog.password_state.text()
    dialog.host.setText("imap.example.com")
    dialog.user.setText("privacy@example.com")
    dialog.password.setText("s3cret-pass")
    click(qtbot, dialog.ok_button)
    iui.settle()
    assert dialog.isVisible()  # says why the password was not stored
    assert "The password was not stored: No secure keyring" in dialog.error_label.text()
    assert dialog.password.text() == "s3cret-pass"
    assert tomllib.loads(_settings_file(store))["mail"]["imap_host"] == "imap.example.com"
    assert store.mail.imap_host == "imap.example.com"
    keyring_file = tmp_path / "keyring_pass.cfg"
    assert not keyring_file.exists() or "s3cret" not in keyring_file.read_text()
    assert "s3cret-pass" not in _settings_file(store)


def test_check_mail_without_a_mailbox_opens_its_settings(qtbot: QtBot, iui: Ui,
                                                         memory_keyring: MemoryKeyring) -> None:
    assert iui.window.intake.check_mail_action.shortcut().toString() == "F9"
    iui.window.intake.check_mail_action.trigger()
    iui.settle()
    assert isinstance(iui.window.intake.dialog, MailboxSettingsDialog)
    assert iui.reports == []


@pytest.fixture
def mailbox(iui: Ui, store: SettingsStore, imap_account: ImapAccount,
            memory_keyring: MemoryKeyring) -> ImapAccount:
    """The account's settings saved and its password in the (in-memory) keyring."""
    mail = imap_account.settings()
    store.save_mail(mail)
    store_secret(mail.secret_name, imap_account.password)
    return imap_account


def test_test_connection_says_what_waits_or_what_is_wrong(
        qtbot: QtBot, iui: Ui, mailbox: ImapAccount) -> None:
    for raw in demo_messages()[:3]:
        mailbox.append(raw)
    dialog = _mailbox_dialog(iui)
    click(qtbot, dialog.test_button)
    iui.settle()
    assert "3 new messages are waiting" in dialog.test_result.text()
    assert dialog.test_result.text().startswith(f"Connected to {mailbox.user}@")
    dialog.password.setText("wrong")
    click(qtbot, dialog.test_button)
    iui.settle()
    assert "password" in dialog.test_result.text().lower()
    assert "Connected" not in dialog.test_result.text()
    assert iui.reports == []


def test_check_mail_takes_in_the_mailbox_and_shows_a_summary(
        qtbot: QtBot, iui: Ui, mailbox: ImapAccount) -> None:
    for raw in demo_messages():
        mailbox.append(raw)
    iui.window.intake.check_mail_action.trigger()
    iui.settle()
    dialog = iui.window.intake.dialog
    assert isinstance(dialog, ImportResultsDialog)
    assert dialog.summary.text() == SAMPLE_SUMMARY
    assert dialog.model.rowCount() == 10
    assert iui.desk.count_cases(CaseQuery(view="all")) == 6
    assert iui.window.model.rowCount() == 6  # the list was reloaded
    assert status_message(iui).startswith("6 new cases from the mailbox")
    # A line with a case opens it.
    dialog.activate(dialog.proxy.index(0, 0))
    iui.settle()
    assert iui.window.case_page.header.ref.text() == dialog.results[0].case_ref
    dialog.close()
    iui.window.intake.check_mail_action.trigger()  # nothing new the second time
    iui.settle()
    again = iui.window.intake.dialog
    assert isinstance(again, ImportResultsDialog)
    assert again.summary.text() == "No new messages"
    assert iui.reports == []


class SlowFetch:
    """Stands in for Desk.fetch_mail: slow, and counts how many run at once."""

    def __init__(self, seconds: float = 0.15, error: Exception | None = None) -> None:
        self.seconds = seconds
        self.error = error
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.calls = 0

    def __call__(self, settings: MailSettings, **_kwargs: object) -> Iterator[IntakeResult]:
        with self.lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.seconds)
            if self.error is not None:
                raise self.error
            yield IntakeResult("INBOX UID 1", "created", "PR-2026-00001", "delete")
        finally:
            with self.lock:
                self.running -= 1


def _poll_every(ui: Ui, store: SettingsStore, ms: int, monkeypatch: pytest.MonkeyPatch
                ) -> MailChecker:
    store.save_mail(MailSettings(imap_host="imap.example.com", imap_user="privacy",
                                 poll_minutes=1))
    checker = ui.window.intake.checker
    monkeypatch.setattr(checker, "MINUTE_MS", ms)
    checker.apply_settings()
    assert checker.timer.interval() == ms
    return checker


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.005)


def test_automatic_checks_never_overlap_and_stay_quiet(
        qtbot: QtBot, iui: Ui, store: SettingsStore, monkeypatch: pytest.MonkeyPatch) -> None:
    fetch = SlowFetch(0.15)
    monkeypatch.setattr(iui.desk, "fetch_mail", fetch)
    checker = _poll_every(iui, store, 20, monkeypatch)  # a tick every 20 ms
    _spin(0.8)
    checker.timer.stop()
    iui.settle()
    assert fetch.calls >= 2
    assert fetch.most == 1  # ticks during a fetch were skipped
    assert iui.window.intake.dialog is None  # quiet: no dialog
    assert status_message(iui).startswith("1 new case from the mailbox")
    assert iui.reports == []

    # Check mail by hand during an automatic check: no second fetch, its results shown.
    fetch.calls = 0
    checker.poll()
    iui.window.intake.check_mail_action.trigger()
    assert "being checked already" in status_message(iui)
    iui.settle()
    assert fetch.calls == 1 and fetch.most == 1
    dialog = iui.window.intake.dialog
    assert isinstance(dialog, ImportResultsDialog)
    assert dialog.summary.text() == "1 new message: 1 new case"


def test_an_automatic_check_that_fails_says_so_once_in_the_status_bar(
        qtbot: QtBot, iui: Ui, store: SettingsStore, monkeypatch: pytest.MonkeyPatch) -> None:
    fetch = SlowFetch(0.01, error=ConfigError("No password is stored for the mailbox."))
    monkeypatch.setattr(iui.desk, "fetch_mail", fetch)
    messages: list[str] = []
    iui.window.statusBar().messageChanged.connect(messages.append)
    checker = _poll_every(iui, store, 20, monkeypatch)
    _spin(0.5)
    checker.timer.stop()
    iui.settle()
    assert fetch.calls >= 3
    failed = [m for m in messages if m.startswith("Checking the mailbox failed")]
    assert failed == ["Checking the mailbox failed: No password is stored for the mailbox."]
    assert iui.reports == []  # no dialog, let alone one per tick
    assert iui.window.intake.dialog is None


# --- first start ---------------------------------------------------------------------------

def _banner(ui: Ui) -> QToolBar | None:
    return ui.window.intake.first_start.banner


def test_first_start_offers_the_samples_and_takes_them_in(
        qtbot: QtBot, iui: Ui, prefs_file: Path) -> None:
    banner = _banner(iui)
    assert banner is not None and banner.isVisible()
    offer = iui.window.intake.first_start
    assert offer.try_button is not None
    assert offer.try_button.text() == ("Try intake with the sample mailbox and a scanned "
                                       "letter")
    click(qtbot, offer.try_button)
    dialog = review_dialog(iui, qtbot)  # the mailbox went in, then the demo letter
    assert _banner(iui) is None
    assert iui.desk.count_cases(CaseQuery(view="all")) == 6
    assert dialog.read.filename == "scanned_letter.png"
    assert dialog.form.requester.name.text() == "Daniel R. Whitfield"
    dialog.form.received_confirmed.setChecked(True)
    click(qtbot, dialog.ok_button)
    iui.settle()
    assert iui.desk.count_cases(CaseQuery(view="all")) == 7
    assert iui.window.model.rowCount() == 7
    assert iui.reports == []


def test_dont_ask_again_is_remembered(qtbot: QtBot, iui: Ui, prefs_file: Path,
                                      sqlite_desk: Desk,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    offer = iui.window.intake.first_start
    assert offer.banner is not None
    never = [b for b in offer.banner.findChildren(type(offer.try_button))
             if b.text() == "Don't ask again"]
    assert never
    click(qtbot, never[0])
    assert offer.banner is None
    assert QSettings(str(prefs_file), QSettings.Format.IniFormat).value(
        DECLINED_KEY, False, type=bool)
    again = open_window(qtbot, sqlite_desk, monkeypatch)
    try:
        assert again.window.intake.first_start.banner is None
    finally:
        again.window.shutdown()


def test_the_offer_stands_on_a_demo_desk_until_mail_is_taken_in(
        qtbot: QtBot, sqlite_desk: Desk, prefs_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.ui.conftest import new_case

    new_case(sqlite_desk)  # cases typed in by hand, no mail yet: still offered
    opened = open_window(qtbot, sqlite_desk, monkeypatch)
    try:
        assert opened.window.intake.first_start.banner is not None
    finally:
        opened.window.shutdown()
    list(sqlite_desk.import_files([DEMO / "sample-mailbox.mbox"]))
    opened = open_window(qtbot, sqlite_desk, monkeypatch)
    try:
        assert opened.window.intake.first_start.banner is None
    finally:
        opened.window.shutdown()
