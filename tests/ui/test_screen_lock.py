"""The screen lock (issue 7): after the idle time or with Lock now, every case is hidden
until the user types their unlock passphrase; nothing typed in an open dialog is lost."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QVBoxLayout
from pytestqt.qtbot import QtBot

from caseapp import unlock
from caseapp.config import Paths, SecuritySettings, Settings
from tests.keyring_fixtures import MemoryKeyring
from tests.ui.conftest import Ui
from ui.dialogs.screen_lock import ScreenLockDialog
from ui.screen_lock import MAX_TRIES, ScreenLock
from ui.settings_store import SettingsStore

PASSPHRASE = "correct horse"


def store(tmp_path: Path, minutes: int = 10) -> SettingsStore:
    settings = Settings(paths=Paths(tmp_path / "data", tmp_path / "config"),
                        security=SecuritySettings(lock_after_minutes=minutes))
    return SettingsStore(settings, tmp_path / "config" / "settings.toml")


def armed_lock(qtbot: QtBot, ui: Ui, tmp_path: Path, minutes: int = 10) -> ScreenLock:
    unlock.set_passphrase(ui.desk.username, PASSPHRASE, PASSPHRASE)
    lock = ui.window.screen_lock
    lock.use_settings(store(tmp_path, minutes))
    qtbot.waitUntil(lambda: lock.armed, timeout=10_000)
    return lock


def type_passphrase(qtbot: QtBot, lock: ScreenLock, text: str) -> None:
    lock.panel.passphrase.setText(text)
    qtbot.keyClick(lock.panel.passphrase, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: lock.panel.passphrase.isEnabled(), timeout=10_000)


def test_lock_now_hides_everything_and_the_passphrase_brings_it_back_as_it_was(
        qtbot: QtBot, ui: Ui, tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    lock = armed_lock(qtbot, ui, tmp_path)
    window = ui.window
    title = window.windowTitle()
    dialog = QDialog(window)
    field = QLineEdit(dialog)
    QVBoxLayout(dialog).addWidget(field)
    dialog.show()
    field.setText("half-typed note about the case")
    qtbot.waitExposed(dialog)

    window.activateWindow()
    assert lock.lock_action.isEnabled()
    lock.lock_action.trigger()
    assert lock.locked and lock.panel.isVisible()
    assert lock.panel.geometry() == window.rect()  # menus and status bar covered too
    assert not dialog.isVisible()
    assert window.windowTitle() == "caseapp — locked"
    # No shortcut reaches the hidden window: Ctrl+F does not open the search.
    window.find_action.setEnabled(True)
    triggered: list[bool] = []
    window.find_action.triggered.connect(lambda *_: triggered.append(True))
    qtbot.keyClick(lock.panel.passphrase, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    QApplication.processEvents()
    assert triggered == []
    # A window opening while locked (a background task's message) waits hidden.
    late = QDialog(window)
    late.show()
    QApplication.processEvents()
    qtbot.waitUntil(lambda: not late.isVisible(), timeout=2_000)

    type_passphrase(qtbot, lock, "wrong guess")
    assert lock.locked
    assert "not your unlock passphrase" in lock.panel.message.text()
    assert lock.panel.passphrase.text() == ""

    type_passphrase(qtbot, lock, PASSPHRASE)
    assert not lock.locked and not lock.panel.isVisible()
    assert dialog.isVisible() and field.text() == "half-typed note about the case"
    assert late.isVisible()
    assert window.windowTitle() == title


def test_the_window_locks_itself_after_the_idle_time_and_input_restarts_the_clock(
        qtbot: QtBot, ui: Ui, tmp_path: Path, memory_keyring: MemoryKeyring,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ScreenLock, "MINUTE_MS", 400)
    lock = armed_lock(qtbot, ui, tmp_path, minutes=1)
    assert lock.idle_timer.isActive() and not lock.locked
    lock._last_input = 0.0  # the last input long ago: the next one restarts the clock
    qtbot.wait(250)
    QApplication.sendEvent(ui.window.case_list.table, QKeyEvent(
        QEvent.Type.KeyPress, Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier))
    assert lock.idle_timer.remainingTime() > 300
    qtbot.waitUntil(lambda: lock.locked, timeout=3_000)
    assert lock.panel.isVisible()


def test_five_wrong_passphrases_make_the_next_try_wait(
        qtbot: QtBot, ui: Ui, tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    lock = armed_lock(qtbot, ui, tmp_path)
    lock.lock()
    for _ in range(MAX_TRIES):
        type_passphrase(qtbot, lock, "nope nope")
    assert "the next try waits 30 seconds" in lock.panel.message.text()
    lock.panel.passphrase.setText(PASSPHRASE)
    qtbot.keyClick(lock.panel.passphrase, Qt.Key.Key_Return)
    assert lock.locked and "wait" in lock.panel.message.text()  # not even checked


def test_without_a_passphrase_the_lock_is_off_and_the_status_bar_says_so(
        qtbot: QtBot, ui: Ui, tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    lock = ui.window.screen_lock
    lock.use_settings(store(tmp_path))
    ui.settle()
    assert not lock.armed and not lock.lock_action.isEnabled()
    assert "choose an unlock passphrase" in ui.window.statusBar().currentMessage()
    lock.lock()
    assert not lock.locked  # it could never be lifted


def test_the_settings_dialog_sets_the_passphrase_and_the_idle_time(
        qtbot: QtBot, ui: Ui, tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    lock = ui.window.screen_lock
    lock.use_settings(store(tmp_path))
    ui.settle()
    dialog = ScreenLockDialog(lock, ui.window)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.minutes.setValue(5)
    dialog.passphrase.setText("short")
    dialog.repeated.setText("short")
    dialog.save()
    assert "at least 6 characters" in dialog.message.text()
    dialog.passphrase.setText(PASSPHRASE)
    dialog.repeated.setText(PASSPHRASE + "!")
    dialog.save()
    assert "not the same" in dialog.message.text()
    assert dialog.passphrase.text() == PASSPHRASE  # nothing typed is lost
    dialog.repeated.setText(PASSPHRASE)
    dialog.save()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=10_000)
    assert lock.armed and lock.settings.lock_after_minutes == 5
    assert unlock.passphrase_matches(ui.desk.username, PASSPHRASE)
    saved = tomllib.loads((tmp_path / "config" / "settings.toml").read_text())
    assert saved["security"] == {"lock_after_minutes": 5}
    assert PASSPHRASE not in (tmp_path / "config" / "settings.toml").read_text()


def test_a_locked_keyring_is_said_in_the_dialog_and_nothing_is_changed(
        qtbot: QtBot, ui: Ui, tmp_path: Path, plaintext_keyring: object) -> None:
    lock = ui.window.screen_lock
    lock.use_settings(store(tmp_path))
    ui.settle()
    dialog = ScreenLockDialog(lock, ui.window)
    qtbot.addWidget(dialog)
    dialog.passphrase.setText(PASSPHRASE)
    dialog.repeated.setText(PASSPHRASE)
    dialog.save()
    qtbot.waitUntil(lambda: "Nothing was changed" in dialog.message.text(), timeout=10_000)
    assert "keyring" in dialog.message.text().lower()
    assert not lock.armed and dialog.passphrase.text() == PASSPHRASE
    assert not (tmp_path / "config" / "settings.toml").exists()


def test_a_window_shut_while_locked_holds_up_no_other_window(
        qtbot: QtBot, ui: Ui, tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    lock = armed_lock(qtbot, ui, tmp_path)
    lock.lock()
    ui.window.shutdown()
    ui.window.close()
    other = QDialog()
    qtbot.addWidget(other)
    field = QLineEdit(other)
    other.show()
    qtbot.waitExposed(other)
    qtbot.keyClicks(field, "still typing")
    assert other.isVisible() and field.text() == "still typing"
