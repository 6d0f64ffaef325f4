"""Backups in the window: Settings → Backups…, the scheduled backups of the settings'
``[backup]`` table, and the integrity check of a large embedded database after start.

The schedule: an hour after the window opens (it shows and loads first), then every hour,
the window makes a backup in the background if the newest scheduled one is older than
``every_hours`` (24 by default: daily), keeping the last ``keep``. Quiet like the daily
purge: what it did, or what went wrong, goes to the status bar. Only for the embedded
database: a shared PostgreSQL desk is backed up by one cron job (``caseapp backup
--scheduled``), not by every workstation.

An embedded database too large to check before the window opens
(caseapp.services.INTEGRITY_AT_START_BYTES) is checked in the background a few seconds
after it opens; a damaged one is then written to no more and the user is offered its
newest backup.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenuBar

from caseapp.config import BackupSettings, Paths, save_backup_settings
from caseapp.errors import DatabaseDamaged, UserError
from caseapp.services import Desk
from caseapp.services.backup import BackupResult, newest_backup
from ui.dialogs.backup import BackupDialog, DamagedDatabaseDialog
from ui.menus import menu_titled
from ui.settings_store import SettingsStore
from ui.tasks import Progress, Task, TaskRunner


class BackupActions(QObject):
    restored = Signal(object)  # RestoreResult: reload every view
    status = Signal(str, int)

    FIRST_RUN_MS = 60 * 60 * 1000
    HOUR_MS = 60 * 60 * 1000
    CHECK_AFTER_MS = 5_000

    def __init__(self, window: QMainWindow, desk: Desk, runner: TaskRunner) -> None:
        super().__init__(window)
        self.window = window
        self.desk = desk
        self.runner = runner
        self.store: SettingsStore | None = None
        self.settings = BackupSettings()
        self.paths = Paths.for_user()
        self.task: Task | None = None
        self.dialog: BackupDialog | None = None
        self.damaged_dialog: DamagedDatabaseDialog | None = None
        self.last_result: BackupResult | None = None
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.run_scheduled)
        self.check_timer = QTimer(self)
        self.check_timer.setSingleShot(True)
        self.check_timer.timeout.connect(self.check_integrity)
        self.action = QAction("&Backups…", window)
        tip = "Back up the case database now, restore a backup, the scheduled backups"
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)
        self.action.triggered.connect(self.show_dialog)

    def install(self, menu_bar: QMenuBar) -> None:
        menu = menu_titled(menu_bar, "&Settings")
        if menu is not None:
            menu.addAction(self.action)
        self.status.connect(lambda text, ms: self.window.statusBar().showMessage(text, ms))
        self.window.installEventFilter(self)
        if not self.desk.integrity_checked_at_start():
            self.check_timer.start(self.CHECK_AFTER_MS)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.timer.stop()
            self.check_timer.stop()
        return super().eventFilter(watched, event)

    # --- the schedule --------------------------------------------------------------------------
    def use_settings(self, store: SettingsStore) -> None:
        self.store = store
        self.settings = store.settings.backup
        self.paths = store.settings.paths
        self.apply_settings()

    def apply_settings(self) -> None:
        if self.settings.every_hours > 0 and not self.desk.is_shared:
            self.timer.start(self.FIRST_RUN_MS)
        else:
            self.timer.stop()

    def save(self, settings: BackupSettings) -> Path:
        config_file = self.store.config_file if self.store is not None else None
        written = save_backup_settings(settings, config_file)
        self.settings = settings
        self.apply_settings()
        return written

    def run_scheduled(self) -> Task | None:
        """The hourly look: a backup if one is due (quiet; the status bar says what)."""
        self.timer.setInterval(self.HOUR_MS)
        if self.task is not None or (self.dialog is not None and self.dialog.busy()):
            return None
        desk, settings, paths = self.desk, self.settings, self.paths

        def work(progress: Progress) -> BackupResult | None:
            return desk.scheduled_backup(settings, paths,
                                         progress=lambda d, t, w: progress.set(d, t, w))

        self.task = self.runner.run(work, label="Scheduled backup", on_done=self._done,
                                    on_error=self._failed)
        return self.task

    def _done(self, result: BackupResult | None) -> None:
        self.task = None
        if result is not None:
            self.last_result = result
            self.status.emit(f"Scheduled backup: {result.describe()}", 15_000)

    def _failed(self, error: BaseException) -> None:
        self.task = None
        if isinstance(error, UserError):
            self.status.emit(f"The scheduled backup was not made: {error.message}", 30_000)
        else:
            self.runner.report(error)

    # --- the integrity of a large database ---------------------------------------------------
    def check_integrity(self) -> Task:
        desk, folders = self.desk, [self.settings.folder_path(self.paths),
                                    self.paths.backup_dir]
        return self.runner.run(lambda _p: desk.check_integrity(folders),
                               label="Checking the database", on_done=lambda _r: None,
                               on_error=self._check_failed)

    def _check_failed(self, error: BaseException) -> None:
        if isinstance(error, DatabaseDamaged):
            self.offer_restore(error)
        else:
            self.runner.report(error)

    def offer_restore(self, error: DatabaseDamaged) -> DamagedDatabaseDialog:
        folder = self.settings.folder_path(self.paths)
        newest = newest_backup([folder, self.paths.backup_dir],
                               "postgresql" if self.desk.is_shared else "sqlite")
        dialog = DamagedDatabaseDialog(self.desk, self.runner, error.message, newest, folder,
                                       self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.restored.emit(dialog.result_))
        self.damaged_dialog = dialog
        dialog.open()
        return dialog

    # --- the dialog --------------------------------------------------------------------------
    def show_dialog(self) -> BackupDialog:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        dialog = BackupDialog(self.desk, self.runner, self.settings, self.paths, self.save,
                              self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.restored.connect(self.restored.emit)
        dialog.destroyed.connect(self._dialog_gone)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _dialog_gone(self) -> None:
        self.dialog = None
