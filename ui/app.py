"""Starting the window: ``run_gui(desk)`` (the command line calls it) and
``build_main_window(desk)`` (tests and screenshots)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from caseapp.services import Desk
from ui.errors import install_excepthook
from ui.main_window import MainWindow


def application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(sys.argv)
    app.setApplicationName("caseapp")
    app.setOrganizationName("caseapp")
    return app


def build_main_window(desk: Desk) -> MainWindow:
    application()
    return MainWindow(desk)


def run_gui(desk: Desk) -> int:
    """Open the main window on a ready Desk and run until it is closed."""
    app = application()
    window = build_main_window(desk)
    uninstall = install_excepthook(window.presenter)
    try:
        window.show()
        return app.exec()
    finally:
        uninstall()
        window.shutdown()
