"""The retention purge in the window: Settings → Retention… (administrators) and the
daily purge of the settings' ``[retention] purge = "daily"`` (the default).

The daily purge runs in the background a minute after the window opens, then every 24
hours, only for an administrator (for anyone else it does nothing, quietly). It is quiet
like the automatic mail checks: what it purged, or what went wrong, goes to the status
bar; each purged case is in the audit trail. Several workstations may run it: a case is
purged once (the others find it done). A cron job or systemd timer running ``caseapp
purge --run --yes`` does the same without a window (then set ``purge = "off"``).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenuBar

from caseapp.errors import UserError
from caseapp.services import Desk
from caseapp.services.dto import UserView
from caseapp.services.retention import PurgeOutcome
from ui.dialogs.retention import RetentionDialog
from ui.menus import menu_titled
from ui.settings_store import SettingsStore
from ui.tasks import Progress, Task, TaskRunner

SCHEDULES = {
    "daily": "Purged automatically once a day by an administrator's window (settings file: "
             "[retention] purge = \"daily\"; \"off\" leaves it to this dialog or to a cron job "
             "running caseapp purge --run --yes).",
    "off": "Not purged automatically here (settings file: [retention] purge = \"off\"): "
           "purge with this dialog, or let a cron job run caseapp purge --run --yes.",
}



class RetentionActions(QObject):
    purged = Signal(object)  # PurgeOutcome that took something out: refresh the views
    status = Signal(str, int)  # a status-bar message and how long (ms)

    FIRST_RUN_MS = 60_000
    """After the window opened: it shows and loads first."""
    DAY_MS = 24 * 60 * 60 * 1000

    def __init__(self, window: QMainWindow, desk: Desk, runner: TaskRunner,
                 who: Callable[[], UserView | None]) -> None:
        super().__init__(window)
        self.window = window
        self.desk = desk
        self.runner = runner
        self.who = who
        self.store: SettingsStore | None = None
        self.task: Task | None = None
        self.dialog: RetentionDialog | None = None
        self.last_outcome: PurgeOutcome | None = None
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.run_scheduled)
        self.action = QAction("&Retention…", window)
        tip = ("Cases closed more than 24 months ago whose personal information is due to "
               "be purged; administrators purge them")
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)
        self.action.triggered.connect(self.show_dialog)

    # --- installing ----------------------------------------------------------------------
    def install(self, menu_bar: QMenuBar) -> None:
        """Add Retention… to the Settings menu (enabled for administrators)."""
        menu = menu_titled(menu_bar, "&Settings")
        if menu is not None:
            menu.addAction(self.action)
            menu.aboutToShow.connect(self._update_action)
        self.status.connect(self._show_status)
        self.window.installEventFilter(self)

    def _update_action(self) -> None:
        me = self.who()
        self.action.setEnabled(me is None or me.role == "admin")

    def _show_status(self, text: str, timeout_ms: int) -> None:
        self.window.statusBar().showMessage(text, timeout_ms)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.timer.stop()  # no purge starts once the window closes
        return super().eventFilter(watched, event)

    # --- the schedule --------------------------------------------------------------------
    def use_settings(self, store: SettingsStore) -> None:
        """The settings of this run (from the command line): starts the daily purge
        unless ``[retention] purge = "off"``."""
        self.store = store
        self.apply_settings()

    @property
    def schedule(self) -> str:
        return self.store.settings.retention.purge if self.store is not None else "off"

    def apply_settings(self) -> None:
        if self.schedule == "daily":
            self.timer.start(self.FIRST_RUN_MS)
        else:
            self.timer.stop()

    def run_scheduled(self) -> Task | None:
        """The daily purge (also what the timer calls): quiet, administrators only."""
        self.timer.setInterval(self.DAY_MS)
        if self.task is not None or (self.dialog is not None and self.dialog.busy()):
            return None
        if self.desk.writes_held():  # being checked (or damaged): look again in a minute
            self.timer.start(self.FIRST_RUN_MS)
            return None
        desk = self.desk

        def work(progress: Progress) -> PurgeOutcome | None:
            if desk.current_user().role != "admin":
                return None
            preview = desk.purge_preview()
            if not preview.cases:
                return PurgeOutcome((), ())
            return desk.purge(preview, progress=lambda done, total, ref: progress.set(
                done, total, ref), cancel=lambda: progress.cancelled)

        self.task = self.runner.run(work, label="Retention purge", on_done=self._done,
                                    on_error=self._failed, cancellable=True)
        return self.task

    def _done(self, outcome: PurgeOutcome | None) -> None:
        self.task = None
        if outcome is None:  # not an administrator: nothing to do here, ever
            self.timer.stop()
            return
        self.last_outcome = outcome
        if outcome.purged:
            count = len(outcome.purged)
            self.status.emit(
                f"Retention: purged the personal information of {count} case"
                f"{'s' if count != 1 else ''} closed more than 24 months ago "
                "(Settings → Retention…)", 15_000)
            self.purged.emit(outcome)

    def _failed(self, error: BaseException) -> None:
        self.task = None
        if isinstance(error, UserError):
            self.status.emit(f"The retention purge did not run: {error.message}", 15_000)
        else:
            self.runner.report(error)

    # --- the dialog ----------------------------------------------------------------------
    def show_dialog(self) -> RetentionDialog:
        """Settings → Retention…: one dialog at a time."""
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        me = self.who()
        dialog = RetentionDialog(self.desk, self.runner, me is not None and me.role == "admin",
                                 SCHEDULES[self.schedule], self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.purged.connect(self.purged.emit)
        dialog.destroyed.connect(self._dialog_gone)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _dialog_gone(self) -> None:
        self.dialog = None
