"""Settings → Backups…: back up now (in the background), restore from a file (asked first),
the schedule saved to the settings file; and the offer of the newest backup when the
database is damaged."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog, QMessageBox
from pytestqt.qtbot import QtBot

from caseapp.config import BackupSettings, Paths, Settings, load_settings
from caseapp.errors import DatabaseDamaged
from caseapp.services import Desk
from caseapp.services.backup import BackupManifest
from caseapp.services.dto import CaseQuery, NewCase, PartyData
from tests.ui.conftest import Ui, open_window
from tests.ui.helpers import click
from ui.dialogs.backup import BackupDialog, BackupListModel, BackupRow, DamagedDatabaseDialog
from ui.dialogs.confirm import yes_button
from ui.settings_store import SettingsStore

SCREENSHOT = os.environ.get("CASEAPP_SCREENSHOT_DIR")
RESTORE_MS = 60_000


def new_case(desk: Desk, name: str) -> str:
    return desk.create_case(NewCase(channel="phone", request_types=("access",),
                                    requester=PartyData(name=name, state="CA"))).case.ref


def test_model_passes_qt_model_tester(qtmodeltester: object) -> None:
    model = BackupListModel()

    def row(day: int, cases: int) -> BackupRow:
        return BackupRow(Path(f"/b/cases-202603{day:02d}-090000-backup.sqlite3"),
                         BackupManifest("sqlite", datetime(2026, 3, day, 9), "0011", 10,
                                        "a" * 64, {"cases": cases}, size=3 * 1024 * 1024))
    model.set_rows((row(4, 1200), row(3, 1190)))
    assert model.data(model.index(0, BackupListModel.COL_MADE)) == "2026-03-04 09:00"
    assert model.data(model.index(0, BackupListModel.COL_CASES)) == "1,200"
    assert model.data(model.index(1, BackupListModel.COL_SIZE)) == "3.0 MB"
    qtmodeltester.check(model)  # type: ignore[attr-defined]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SettingsStore:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    config = tmp_path / "settings.toml"
    config.write_text("# settings\n")
    return SettingsStore(Settings(paths=Paths.for_user()), config)


def _dialog(ui: Ui, store: SettingsStore) -> BackupDialog:
    ui.window.backups.use_settings(store)
    settings_menu = next(a.menu() for a in ui.window.menuBar().actions()
                         if a.text() == "&Settings")
    assert ui.window.backups.action in settings_menu.actions()  # type: ignore[union-attr]
    ui.window.backups.action.trigger()
    dialog = ui.window.backups.dialog
    assert isinstance(dialog, BackupDialog) and dialog.isVisible()
    ui.settle()
    return dialog


def test_back_up_now_then_restore_from_the_file(qtbot: QtBot, sqlite_desk: Desk,
                                                monkeypatch: pytest.MonkeyPatch,
                                                store: SettingsStore) -> None:
    for n in range(3):
        new_case(sqlite_desk, f"Backed up {n}")
    ui = open_window(qtbot, sqlite_desk, monkeypatch)
    dialog = _dialog(ui, store)
    assert dialog.model.rowCount() == 0
    click(qtbot, dialog.backup_button)
    assert dialog.busy() and not dialog.backup_button.isEnabled()
    ui.settle()
    assert not dialog.busy() and not dialog.progress_box.isVisible()
    assert dialog.status.text().startswith("Backed up 3 cases")
    assert dialog.model.rowCount() == 1
    [(file, _manifest)] = sqlite_desk.backups(store.settings.paths.backup_dir)
    if SCREENSHOT:  # docs/backup_dialog.png
        dialog.resize(860, 560)
        dialog.grab().save(str(Path(SCREENSHOT) / "backup_dialog.png"))

    later = new_case(sqlite_desk, "Made after the backup")
    restored: list[object] = []
    dialog.restored.connect(restored.append)
    dialog.confirm_restore(file)
    [box] = [b for b in dialog.findChildren(QMessageBox) if b.isVisible()]
    assert "Replace the case database" in box.text() and "backed up" in box.text()
    click(qtbot, yes_button(box))
    ui.settle()
    assert len(restored) == 1
    assert "audit chain intact" in dialog.status.text()
    assert sqlite_desk.count_cases(CaseQuery(view="all")) == 3
    assert later not in {row.ref for row in sqlite_desk.list_cases(CaseQuery(view="all")).rows}
    assert ui.reports == []


def test_a_file_that_is_no_backup_is_refused_in_the_dialog(
        qtbot: QtBot, sqlite_desk: Desk, monkeypatch: pytest.MonkeyPatch,
        store: SettingsStore, tmp_path: Path) -> None:
    new_case(sqlite_desk, "Stays")
    ui = open_window(qtbot, sqlite_desk, monkeypatch)
    dialog = _dialog(ui, store)
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"\xff\xd8 not a backup")
    dialog.start_restore(junk)
    ui.settle()
    assert "not a backup of a case database" in ui.last_report().text  # type: ignore[attr-defined]
    assert dialog.status.text() == "Nothing was changed."
    assert sqlite_desk.count_cases(CaseQuery(view="all")) == 1


def test_the_schedule_is_saved_to_the_settings_file(qtbot: QtBot, sqlite_desk: Desk,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    store: SettingsStore,
                                                    tmp_path: Path) -> None:
    ui = open_window(qtbot, sqlite_desk, monkeypatch)
    dialog = _dialog(ui, store)
    assert dialog.every.value() == 24 and dialog.keep.value() == 7
    dialog.every.setValue(6)
    dialog.keep.setValue(20)
    dialog.folder.setText(str(tmp_path / "elsewhere"))
    click(qtbot, dialog.save_button)
    ui.settle()
    assert "Schedule saved" in dialog.status.text()
    assert store.config_file is not None
    saved = load_settings(store.config_file).backup
    assert saved == BackupSettings(str(tmp_path / "elsewhere"), 6, 20)
    assert ui.window.backups.settings == saved
    assert ui.window.backups.timer.isActive()
    # A scheduled run now makes the first backup into the new folder.
    ui.window.backups.run_scheduled()
    ui.settle()
    assert len(sqlite_desk.backups(tmp_path / "elsewhere")) == 1


def test_a_damaged_database_offers_its_newest_backup(qtbot: QtBot, sqlite_desk: Desk,
                                                     tmp_path: Path) -> None:
    from ui.tasks import TaskRunner

    new_case(sqlite_desk, "In the backup")
    made = sqlite_desk.back_up(tmp_path / "backups" / "cases-x-backup.sqlite3")
    sqlite_desk.db.refuse_writes(("page 7: btreeInitPage() returns error code 11",))
    runner = TaskRunner()
    try:
        dialog = DamagedDatabaseDialog(
            sqlite_desk, runner, DatabaseDamaged("The case database is damaged.").message,
            (made.path, made.manifest), tmp_path / "backups")
        # Closed after the test even if the restore never came back (the dialog refuses
        # to close while it runs): no window of this test stays open in the next ones.
        qtbot.addWidget(dialog, before_close_func=lambda d: d.done(QDialog.DialogCode.Rejected))
        dialog.show()
        if SCREENSHOT:
            dialog.grab().save(str(Path(SCREENSHOT) / "damaged_database.png"))
        # The restore runs in the background and is not quick on a busy disk: it checks
        # the backup, backs the damaged database up first and syncs each file it writes.
        with qtbot.waitSignal(dialog.accepted, timeout=RESTORE_MS, raising=False) as restored:
            click(qtbot, dialog.restore_button)
        assert restored.signal_triggered, (
            dialog.status.text() or f"still restoring after {RESTORE_MS} ms")
        assert dialog.result_ is not None and dialog.result_.previous is not None
        new_case(sqlite_desk, "Written after the restore")  # writes allowed again
        assert sqlite_desk.count_cases(CaseQuery(view="all")) == 2
    finally:
        runner.shutdown()
