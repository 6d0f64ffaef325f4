"""Starting the window: ``run_gui(desk)`` (the command line calls it) and
``build_main_window(desk)`` (tests and screenshots). ``settings`` is the SettingsStore of
the run (the settings loaded by the command line and their file); without it the window
reads the default settings file when it needs the mailbox settings."""

from __future__ import annotations

import gc
import sys

from PySide6.QtWidgets import QApplication

from caseapp.services import Desk
from ui import plain_labels
from ui.errors import install_excepthook
from ui.main_window import MainWindow
from ui.settings_store import SettingsStore


def application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(sys.argv)
    app.setApplicationName("caseapp")
    app.setOrganizationName("caseapp")
    return app


def build_main_window(desk: Desk, settings: SettingsStore | None = None) -> MainWindow:
    plain_labels.install(application())
    window = MainWindow(desk)
    if settings is not None:
        window.intake.use_settings(settings)
        window.retention.use_settings(settings)
        window.screen_lock.use_settings(settings)
    return window


def run_gui(desk: Desk, settings: SettingsStore | None = None) -> int:
    """Open the main window on a ready Desk and run until it is closed."""
    app = application()
    window = build_main_window(desk, settings)
    uninstall = install_excepthook(window.presenter)
    try:
        window.show()
        # The objects of start-up (modules, the window) live as long as the program: out
        # of the collector's sight, a full collection started in an import thread holds
        # the interpreter lock for a fraction of the time and the window does not stall.
        gc.collect()
        gc.freeze()
        return app.exec()
    finally:
        uninstall()
        window.shutdown()
