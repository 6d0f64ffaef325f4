"""run_gui: shows the window, runs until it is closed, restores the excepthook."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from caseapp.services import Desk
from ui.app import run_gui
from ui.main_window import MainWindow


def test_run_gui_runs_until_the_window_is_closed(qtbot: QtBot, sqlite_desk: Desk) -> None:
    seen: dict[str, object] = {}
    hook_before = sys.excepthook

    def close_window() -> None:
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible()]
        seen["windows"] = len(windows)
        seen["hook_installed"] = sys.excepthook is not hook_before
        if windows:
            windows[0].runner.wait_idle()
            seen["title"] = windows[0].windowTitle()
            windows[0].close()  # the last window: the application quits

    QTimer.singleShot(300, close_window)
    # Should it not quit, stop the loop anyway (exit() is synchronous; quit() would post an
    # event that ends the next test's event loops instead).
    fallback = QTimer()
    fallback.setSingleShot(True)
    fallback.timeout.connect(lambda: QApplication.exit(1))
    fallback.start(20_000)
    try:
        assert run_gui(sqlite_desk) == 0
    finally:
        fallback.stop()
    assert seen["windows"] == 1
    assert seen["hook_installed"] is True
    assert "alice" in str(seen["title"])
    assert sys.excepthook is hook_before
