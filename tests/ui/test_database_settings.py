"""Settings → Database…: the settings file of the run (--config) is the one read and
written; saving connects and writes in the background, atomically, and keeps what was
typed when it fails; after a save caseapp can be restarted with the same arguments."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from caseapp.config import DatabaseSettings, Paths, load_settings
from caseapp.services import Desk
from caseapp.services.database_admin import password_secret_name
from tests.keyring_fixtures import MemoryKeyring
from tests.ui.conftest import Ui
from tests.ui.helpers import click, closed
from ui import launcher, restart
from ui.app import build_main_window
from ui.dialogs import database_settings
from ui.dialogs.database_settings import DatabaseSettingsDialog
from ui.main_window import MainWindow
from ui.settings_store import SettingsStore

Drive = Callable[[MainWindow, dict[str, object]], None]


@pytest.fixture(autouse=True)
def _no_restart_left() -> Iterator[None]:
    yield
    restart.cancel()


def desk_file(desk: Desk) -> str:
    return desk.db.url.removeprefix("sqlite:///")


def settings_file(tmp_path: Path, url: str, claim_minutes: int) -> Path:
    config = tmp_path / "run-settings.toml"
    config.write_text(f'user = "alice"\ndatabase_url = "{url}"\n\n[database]\n'
                      f"claim_minutes = {claim_minutes}\n")
    return config


def save_button(dialog: DatabaseSettingsDialog) -> QPushButton:
    button = dialog.buttons.button(dialog.buttons.StandardButton.Save)
    assert button is not None
    return button


def database_dialog(window: MainWindow) -> DatabaseSettingsDialog:
    window.database_action.trigger()
    dialog = window.active_dialog
    assert isinstance(dialog, DatabaseSettingsDialog)
    return dialog


def open_dialog(ui: Ui, config: Path) -> DatabaseSettingsDialog:
    ui.window.database_settings_file = config  # as ui.app.build_main_window sets it
    dialog = database_dialog(ui.window)
    assert dialog.isVisible()
    return dialog


class StartedWindow:
    """ui.app.run_gui in place: the window the command line opens, driven by ``drive``;
    what happened is kept (an assertion inside would end as the command's error)."""

    def __init__(self, qtbot: QtBot, drive: Drive) -> None:
        self.qtbot = qtbot
        self.drive = drive
        self.seen: dict[str, object] = {}

    def __call__(self, desk: Desk, settings: SettingsStore | None = None,
                 damaged: object = None) -> int:
        window = build_main_window(desk, settings)
        self.qtbot.addWidget(window)
        window.presenter.show_dialogs = False
        window.show()
        try:
            self.drive(window, self.seen)
        finally:
            window.shutdown()
            window.close()
        return 0


def test_the_config_file_given_is_read_and_written_not_the_default_one(
        qtbot: QtBot, sqlite_desk: Desk, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    default = Paths.for_user().settings_file
    default.parent.mkdir(parents=True, exist_ok=True)
    default.write_text('database_url = "sqlite:////srv/elsewhere/cases.sqlite3"\n')
    before = default.read_bytes()
    config = settings_file(tmp_path, sqlite_desk.db.url, 30)
    sqlite_desk.close()  # the command line opens it again, from the file

    def drive(window: MainWindow, seen: dict[str, object]) -> None:
        dialog = database_dialog(window)
        seen["file shown"] = dialog.file_edit.text()
        seen["claim shown"] = dialog.claim_spin.value()
        dialog.claim_spin.setValue(45)
        click(qtbot, save_button(dialog))
        window.runner.wait_idle(15_000)
        seen["said"] = dialog.result_label.text()

    started = StartedWindow(qtbot, drive)
    monkeypatch.setattr("ui.app.run_gui", started)
    assert launcher.main(["--config", str(config), "gui"]) == 0
    assert started.seen["file shown"] == desk_file(sqlite_desk)
    assert started.seen["claim shown"] == 30
    assert f"Saved in {config}." in str(started.seen["said"])
    assert load_settings(config).database.claim_minutes == 45
    assert load_settings(config).database_url == sqlite_desk.db.url
    assert default.read_bytes() == before  # the default file is not touched


def test_saving_happens_in_the_background_and_offers_a_restart(
        qtbot: QtBot, ui: Ui, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = settings_file(tmp_path, "", 15)
    before = config.read_text()
    gate = threading.Event()
    writers: list[threading.Thread] = []
    save = database_settings.save_database_settings

    def held_save(url: str, database: DatabaseSettings, file: Path | None = None) -> Path:
        writers.append(threading.current_thread())
        assert gate.wait(15)
        return save(url, database, file)

    monkeypatch.setattr(database_settings, "save_database_settings", held_save)
    dialog = open_dialog(ui, config)
    dialog.file_edit.setText(desk_file(ui.desk))
    click(qtbot, save_button(dialog))
    qtbot.waitUntil(lambda: bool(writers), timeout=15_000)  # connected; now writing
    # The window is not held up: the dialog waits, busy, and cannot be closed or edited.
    assert dialog.saving and dialog.busy_bar.isVisible()
    assert not dialog.file_box.isEnabled() and not dialog.claim_spin.isEnabled()
    assert not save_button(dialog).isEnabled()
    assert not dialog.restart_button.isVisible() and not dialog.save_anyway_button.isVisible()
    dialog.grab().save("/tmp/helpers/database_settings_saving.png")
    dialog.reject()
    assert dialog.isVisible()
    assert dialog.result_label.text() == "Saving… the dialog can close when it is done."
    assert config.read_text() == before
    gate.set()
    ui.settle()
    assert writers[0] is not threading.main_thread()
    assert load_settings(config).database_url == ui.desk.db.url
    said = dialog.result_label.text()
    assert "schema: ready" in said  # connected before saving
    assert f"Saved in {config}. The window goes on with the database it opened" in said
    assert not dialog.busy_bar.isVisible() and not dialog.file_box.isEnabled()
    assert dialog.restart_button.isVisible()
    cancel = dialog.buttons.button(dialog.buttons.StandardButton.Cancel)
    assert cancel is not None and cancel.text() == "Later"
    dialog.adjustSize()
    dialog.grab().save("/tmp/helpers/database_settings_saved.png")
    click(qtbot, cancel)
    assert closed(dialog) and ui.window.isVisible()
    assert restart.requested() is None  # Later: nothing restarts


def test_a_failed_connection_saves_nothing_and_keeps_what_was_typed(
        memory_keyring: MemoryKeyring, qtbot: QtBot, ui: Ui, tmp_path: Path) -> None:
    config = settings_file(tmp_path, "", 15)
    before = config.read_text()
    dialog = open_dialog(ui, config)
    dialog.shared.setChecked(True)
    dialog.host_edit.setText("127.0.0.1")
    dialog.port_edit.setValue(1)  # nothing listens there
    dialog.user_edit.setText("ws1")
    dialog.password_edit.setText("s3cret pass")
    click(qtbot, save_button(dialog))
    ui.settle()
    said = dialog.result_label.text()
    assert said.startswith("Not saved. Cannot use postgresql+psycopg://ws1:***@127.0.0.1:1/"
                           "privacy_desk: ")
    assert "Connection refused" in said and "s3cret" not in said
    assert "press Save anyway" in said and dialog.save_anyway_button.isVisible()
    assert not dialog.restart_button.isVisible()  # nothing saved: nothing to restart for
    assert (dialog.host_edit.text(), dialog.port_edit.value(), dialog.user_edit.text(),
            dialog.password_edit.text()) == ("127.0.0.1", 1, "ws1", "s3cret pass")
    assert dialog.server_box.isEnabled() and save_button(dialog).isEnabled()
    assert config.read_text() == before
    url = "postgresql+psycopg://ws1@127.0.0.1:1/privacy_desk"
    assert memory_keyring.get_password("caseapp", password_secret_name(url)) is None
    dialog.grab().save("/tmp/helpers/database_settings_not_saved.png")
    # Asked for: saved although the server cannot be reached from here now.
    click(qtbot, dialog.save_anyway_button)
    ui.settle()
    assert load_settings(config).database_url == url
    assert memory_keyring.get_password("caseapp", password_secret_name(url)) == "s3cret pass"


def test_a_file_that_is_no_case_database_is_not_saved_even_when_asked(
        qtbot: QtBot, ui: Ui, tmp_path: Path) -> None:
    config = settings_file(tmp_path, "", 15)
    before = config.read_text()
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database, " * 500)
    dialog = open_dialog(ui, config)
    dialog.file_edit.setText(str(notes))
    click(qtbot, save_button(dialog))
    ui.settle()
    said = dialog.result_label.text()
    assert said.startswith(f"Not saved. Cannot use sqlite:///{notes}: ")
    assert said.endswith("Correct it and save again.")
    assert not dialog.save_anyway_button.isVisible()  # it would not open at the next start
    assert dialog.file_edit.text() == str(notes)
    assert config.read_text() == before


def test_a_settings_file_that_cannot_be_written_says_so_and_keeps_the_dialog(
        qtbot: QtBot, ui: Ui, tmp_path: Path) -> None:
    config = settings_file(tmp_path, "", 15)
    dialog = open_dialog(ui, config)
    dialog.file_edit.setText(desk_file(ui.desk))
    dialog.claim_spin.setValue(40)
    config.write_text("database_url = \n")  # broken by hand meanwhile
    click(qtbot, save_button(dialog))
    ui.settle()
    said = dialog.result_label.text()
    assert said.startswith(f"Nothing was saved: {config}")
    assert dialog.isVisible() and ui.reports == []
    assert dialog.file_edit.text() == desk_file(ui.desk) and dialog.claim_spin.value() == 40
    assert dialog.file_box.isEnabled() and save_button(dialog).isEnabled()
    assert config.read_text() == "database_url = \n"  # left as it was
    config.write_text("")  # mended: saving again works
    click(qtbot, save_button(dialog))
    ui.settle()
    assert load_settings(config).database.claim_minutes == 40


def test_restart_now_closes_the_window_and_starts_caseapp_again(
        qtbot: QtBot, sqlite_desk: Desk, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    config = settings_file(tmp_path, sqlite_desk.db.url, 15)
    sqlite_desk.close()
    argv = ["--db", sqlite_desk.db.url, "--config", str(config), "gui"]
    monkeypatch.setattr(sys, "orig_argv", [sys.executable, "/opt/caseapp/bin/caseapp", *argv])

    def drive(window: MainWindow, seen: dict[str, object]) -> None:
        dialog = database_dialog(window)
        dialog.claim_spin.setValue(20)
        click(qtbot, save_button(dialog))
        window.runner.wait_idle(15_000)
        click(qtbot, dialog.restart_button)
        seen["window open"] = window.isVisible()
        seen["restart"] = restart.requested()

    done: list[object] = []  # in order: the log closed, then the process replaced
    monkeypatch.setattr(logging, "shutdown", lambda: done.append("log closed"))
    monkeypatch.setattr(os, "execv", lambda path, args: done.append((path, list(args))))
    started = StartedWindow(qtbot, drive)
    monkeypatch.setattr("ui.app.run_gui", started)
    assert launcher.main(argv) == 0
    assert started.seen["window open"] is False
    # The same command line, without the --db that would override the database chosen.
    again = [sys.executable, "/opt/caseapp/bin/caseapp", "--config", str(config), "gui"]
    assert started.seen["restart"] == again
    assert done == ["log closed", (sys.executable, again)]  # after the command line ended
    assert load_settings(config).database.claim_minutes == 20


def test_the_restart_command_leaves_out_db_only() -> None:
    assert restart.command(["python3", "-m", "ui.launcher", "--db=sqlite:///a.sqlite3",
                            "--user", "alice", "gui"]) == [
        "python3", "-m", "ui.launcher", "--user", "alice", "gui"]
    assert restart.command(["caseapp", "--config", "c.toml", "--db", "sqlite:///a"]) == [
        "caseapp", "--config", "c.toml"]


def test_the_desk_is_closed_when_the_window_ends(
        sqlite_desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its connections (the write-ahead log folded in), change watcher and mail-parsing
    processes end with the window, not only before a restart."""
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    config = settings_file(tmp_path, sqlite_desk.db.url, 30)
    sqlite_desk.close()
    shown: list[Desk] = []
    closed: list[Desk] = []
    close = Desk.close
    monkeypatch.setattr(Desk, "close", lambda desk: (closed.append(desk), close(desk))[1])

    def run_gui(desk: Desk, _store: object, damaged: object = None) -> int:
        shown.append(desk)
        desk.watch_changes(lambda _changes: None)  # as the window does
        return 0

    monkeypatch.setattr("ui.app.run_gui", run_gui)
    assert launcher.main(["--config", str(config), "gui"]) == 0
    assert len(shown) == 1 and closed == shown
