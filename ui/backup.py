"""Backups in the window: Settings → Backups…, the scheduled backups of the settings'
``[backup]`` table, and the integrity check of a large embedded database after start.

The schedule: an hour after the window opens (it shows and loads first), then every hour,
the window makes a backup in the background if the newest scheduled one is older than
``every_hours`` (24 by default: daily), keeping the last ``keep``. Quiet like the daily
purge: what it did, or what went wrong, goes to the status bar. Only for the embedded
database: a shared PostgreSQL desk is backed up by one cron job (``caseapp backup
--scheduled``), not by every workstation.

An embedded database too large to check before the window opens
(caseapp.services.INTEGRITY_AT_START_BYTES) is checked in the background a couple of
seconds after it opens. Until the check passes the desk is read-only (Desk.
hold_writes_for_check: every write is refused with when the check started) and a banner
across the window says so; the scheduled backup waits meanwhile. A damaged database is
then written to no more and the user is offered its newest backup (the banner stays, with
a button to offer it again); a check that could not run keeps writes held, with *Check
again*.
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
from ui.widgets.check_banner import CheckBanner


class BackupActions(QObject):
    restored = Signal(object)  # RestoreResult: reload every view
    status = Signal(str, int)

    FIRST_RUN_MS = 60 * 60 * 1000
    HOUR_MS = 60 * 60 * 1000
    CHECK_AFTER_MS = 2_000
    """The window shows and loads first; not longer: the desk is read-only until then."""

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
        self.check_task: Task | None = None
        self.check_banner: CheckBanner | None = None
        self.damage: DatabaseDamaged | None = None
        self._check_started = ""
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
            # Before the window shows anything: no change starts until the check passed.
            self._check_started = self.desk.hold_writes_for_check()
            self._show_banner().show_checking(self._check_started)
            self.check_timer.start(self.CHECK_AFTER_MS)
        self.restored.connect(lambda _result: self._hide_banner())  # checked on restore

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
        if self.check_task is not None or self.desk.writes_held():
            return None  # not while the database is checked, nor once found damaged
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
        if self.check_task is not None:
            return self.check_task
        if self.check_banner is not None:
            self.check_banner.show_checking(self._check_started)
        desk, folders = self.desk, [self.settings.folder_path(self.paths),
                                    self.paths.backup_dir]
        self.check_task = self.runner.run(lambda _p: desk.check_integrity(folders),
                                          label="Checking the database",
                                          on_done=self._check_passed,
                                          on_error=self._check_failed)
        return self.check_task

    def _check_passed(self, _none: None) -> None:
        self.check_task = None
        if self.check_banner is not None:
            self._hide_banner()
            self.status.emit("The database passed its check: changes can be made again",
                             10_000)

    def _check_failed(self, error: BaseException) -> None:
        self.check_task = None
        banner = self._show_banner()
        if isinstance(error, DatabaseDamaged):
            self.damage = error
            banner.show_damaged()
            self.offer_restore(error)
        elif isinstance(error, UserError):  # e.g. the file went away: say so, try again
            banner.show_not_checked(error.message)
        else:
            banner.show_not_checked("an internal error, reported.")
            self.runner.report(error)

    def _show_banner(self) -> CheckBanner:
        if self.check_banner is None:
            banner = CheckBanner(self.window)
            banner.check_again.connect(self.check_integrity)
            banner.restore.connect(self._offer_again)
            self.window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
            self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, banner)
            self.check_banner = banner
        return self.check_banner

    def _hide_banner(self) -> None:
        if self.check_banner is not None:
            self.window.removeToolBar(self.check_banner)
            self.check_banner.deleteLater()
            self.check_banner = None

    def _offer_again(self) -> None:
        if self.damaged_dialog is not None and self.damaged_dialog.isVisible():
            self.damaged_dialog.raise_()
        elif self.damage is not None:
            self.offer_restore(self.damage)

    def offer_restore(self, error: DatabaseDamaged) -> DamagedDatabaseDialog:
        folder = self.settings.folder_path(self.paths)
        newest = newest_backup([folder, self.paths.backup_dir],
                               "postgresql" if self.desk.is_shared else "sqlite")
        dialog = DamagedDatabaseDialog(self.desk, self.runner, error.message, newest, folder,
                                       self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.restored.emit(dialog.result_))
        dialog.destroyed.connect(self._damaged_dialog_gone)
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

    def _damaged_dialog_gone(self) -> None:
        self.damaged_dialog = None
