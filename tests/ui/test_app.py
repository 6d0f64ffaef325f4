"""run_gui: shows the window, runs until it is closed, restores the excepthook."""

from __future__ import annotations

import gc
import sys

import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from caseapp.services import Desk
from ui.app import run_gui
from ui.main_window import MainWindow

# A guard against a loop that never ends, not a speed limit: it counts from the moment the
# loop runs (start-up on a loaded machine is not in it), and the window first waits for
# its start-up tasks (IDLE_MS) before it is closed.
IDLE_MS = 30_000
HANG_MS = 60_000


def test_run_gui_runs_until_the_window_is_closed(qtbot: QtBot, sqlite_desk: Desk) -> None:
    seen: dict[str, object] = {}
    hook_before = sys.excepthook
    # Should it not quit, stop the loop anyway (exit() is synchronous; quit() would post an
    # event that ends the next test's event loops instead).
    fallback = QTimer()
    fallback.setSingleShot(True)
    fallback.timeout.connect(lambda: QApplication.exit(1))

    def close_window() -> None:
        fallback.start(HANG_MS)
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible()]
        seen["windows"] = len(windows)
        seen["hook_installed"] = sys.excepthook is not hook_before
        if windows:
            seen["window"] = windows[0]
            seen["idle"] = windows[0].runner.wait_idle(IDLE_MS)
            seen["title"] = windows[0].windowTitle()
            windows[0].close()  # the last window: the application quits

    QTimer.singleShot(300, close_window)
    try:
        code = run_gui(sqlite_desk)
    finally:
        fallback.stop()
    assert seen.get("windows") == 1, seen
    assert seen["idle"] is True, f"the window's start-up tasks did not finish: {seen}"
    assert code == 0, f"the loop did not end when the window closed: {seen}"
    assert seen["hook_installed"] is True
    assert "alice" in str(seen["title"])
    assert sys.excepthook is hook_before
    # Nothing of the run is left behind: the closed window is gone (its timers and the
    # screen lock's application-wide event filter with it), the collector sees everything.
    assert not shiboken6.isValid(seen["window"])
    assert gc.get_freeze_count() == 0
