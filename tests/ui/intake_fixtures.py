"""Fixtures for the intake tests of the window: settings and window preferences kept in
the test's own folder, and a window that uses them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from caseapp.config import Paths, Settings
from caseapp.resources import resources_dir
from caseapp.services import Desk
from tests.ui.conftest import Ui, open_window
from ui import first_start
from ui.dialogs.scan_review import ScanReviewDialog
from ui.settings_store import SettingsStore

DEMO = resources_dir() / "demo"


@pytest.fixture
def prefs_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The window preferences (QSettings) in a file of the test's own."""
    path = tmp_path / "window.ini"
    monkeypatch.setattr(first_start, "preferences",
                        lambda: QSettings(str(path), QSettings.Format.IniFormat))
    return path


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SettingsStore:
    """The settings of the run, with the settings file under a CASEAPP_HOME of its own."""
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    return SettingsStore(Settings(paths=Paths.for_user()))


@pytest.fixture
def iui(qtbot: QtBot, sqlite_desk: Desk, monkeypatch: pytest.MonkeyPatch,
        prefs_file: Path, store: SettingsStore) -> Iterator[Ui]:
    opened = open_window(qtbot, sqlite_desk, monkeypatch)
    opened.window.intake.use_settings(store)
    yield opened
    opened.window.shutdown()


def review_dialog(ui: Ui, qtbot: QtBot, timeout_ms: int = 30_000) -> ScanReviewDialog:
    """Wait until the scan review dialog of the running batch is open; return it."""
    def shown() -> bool:
        batch = ui.window.intake.batch
        return batch is not None and isinstance(batch.dialog, ScanReviewDialog)

    qtbot.waitUntil(shown, timeout=timeout_ms)
    batch = ui.window.intake.batch
    assert batch is not None and isinstance(batch.dialog, ScanReviewDialog)
    ui.settle()
    return batch.dialog


def status_message(ui: Ui) -> str:
    return ui.window.statusBar().currentMessage()
