"""Starting the window: ``run_gui(desk)`` (the command line calls it) and
``build_main_window(desk)`` (tests and screenshots). ``settings`` is the SettingsStore of
the run (the settings loaded by the command line and their file); without it the window
reads the default settings file when it needs the mailbox settings."""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QDialog

from caseapp.config import BackupSettings, Paths
from caseapp.errors import DatabaseDamaged
from caseapp.scratch import send_temporary_files_to_scratch
from caseapp.services import Desk
from caseapp.services.backup import newest_backup
from ui import plain_labels
from ui.dialogs.backup import DamagedDatabaseDialog
from ui.errors import install_excepthook
from ui.main_window import MainWindow
from ui.settings_store import SettingsStore
from ui.tasks import TaskRunner


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
        window.database_settings_file = settings.config_file  # --config: read and written
        window.intake.use_settings(settings)
        window.retention.use_settings(settings)
        window.backups.use_settings(settings)
        window.screen_lock.use_settings(settings)
    return window


def recover_damaged(desk: Desk, settings: SettingsStore | None, damaged: DatabaseDamaged
                    ) -> bool:
    """The database failed its integrity check at start: offer its newest backup (restored
    in the background). True once restored and prepared; False to quit."""
    paths = settings.settings.paths if settings is not None else Paths.for_user()
    backup = settings.settings.backup if settings is not None else BackupSettings()
    folder = backup.folder_path(paths)
    runner = TaskRunner()
    try:
        dialog = DamagedDatabaseDialog(desk, runner, damaged.message,
                                       newest_backup([folder, paths.backup_dir], "sqlite"),
                                       folder)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
    finally:
        runner.shutdown()
    desk.prepare(paths.backup_dir)
    return True


def run_gui(desk: Desk, settings: SettingsStore | None = None,
            damaged: DatabaseDamaged | None = None) -> int:
    """Open the main window on a ready Desk and run until it is closed (first, for a
    database that failed its integrity check, the offer to restore its newest backup)."""
    send_temporary_files_to_scratch()  # a letter printed is spooled there, in memory
    app = application()
    if damaged is not None and not recover_damaged(desk, settings, damaged):
        return 1
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
        # The run is over: the closed window goes (with its timers and the screen lock's
        # filter of every event), and the collector sees everything again. Nothing changes
        # for the program, which ends now; a caller that goes on (a test) keeps no window.
        window.deleteLater()
        QCoreApplication.sendPostedEvents(window, QEvent.Type.DeferredDelete)
        gc.unfreeze()
