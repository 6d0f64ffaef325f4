"""The window's intake of scanned letters and of the privacy mailbox.

File → Import scans… (Ctrl+Shift+I), File → Check mail (F9), Settings → Mailbox…, the
automatic mailbox checks and the first-start offer of the samples. The main window
creates one ``IntakeActions`` and installs it into its menus and toolbar; what changes
comes back through ``case_created`` (a case to list and open) and ``cases_added``
(reload the list and the counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QMainWindow, QMenuBar, QStyle, QToolBar, QWidget

from caseapp.services import Desk
from ui import scan_import
from ui.dialogs.import_results import ImportResultsDialog
from ui.dialogs.mail_results import results_summary
from ui.dialogs.mailbox_settings import MailboxSettingsDialog
from ui.first_start import FirstStartOffer, SampleImport
from ui.mail_check import FetchOutcome, MailChecker
from ui.mail_import import ImportOutcome
from ui.menus import menu_titled
from ui.scan_import import BatchOutcome, ScanBatch
from ui.settings_store import SettingsStore
from ui.tasks import TaskRunner

IMPORT_SCANS_SHORTCUT = "Ctrl+Shift+I"
CHECK_MAIL_SHORTCUT = "F9"


def envelope_icon() -> QIcon:
    """A small painted envelope for Check mail (styles ship no mail icon)."""
    scale = 2
    pixmap = QPixmap(16 * scale, 16 * scale)
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("#1f5fa8"), 1.4))
    painter.setBrush(QColor("#e8f0fb"))
    painter.drawRect(QRectF(1.5, 3.5, 13, 9))
    painter.drawPolyline([QPointF(1.5, 3.5), QPointF(8, 9), QPointF(14.5, 3.5)])
    painter.end()
    return QIcon(pixmap)


class IntakeActions(QObject):
    case_created = Signal(object)  # Changed: list the case and open it
    cases_added = Signal()  # new cases somewhere: reload the list and the counts
    open_case = Signal(str)  # a reference to show (from the mail results)

    def __init__(self, window: QMainWindow, desk: Desk, runner: TaskRunner,
                 store: SettingsStore | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.desk = desk
        self.runner = runner
        self.store = store
        self.batch: ScanBatch | None = None
        self.last_batch: BatchOutcome | None = None
        self.dialog: QWidget | None = None  # the last dialog opened here
        self.checker = MailChecker(desk, runner, store, self)
        self.checker.status.connect(self._status)
        self.checker.show_results.connect(self._show_results)
        self.checker.checked.connect(self._checked)
        self.checker.not_configured.connect(self.mailbox_settings)
        self.first_start = FirstStartOffer(window, desk, runner, self._open_sample_letter)
        self.first_start.imported.connect(self._sample_imported)

        style = window.style()
        self.import_scans_action = self._action(
            "Import &scans…", self.import_scans, IMPORT_SCANS_SHORTCUT,
            "Read scanned letters (PDF, PNG, JPEG, TIFF) and open their cases")
        self.import_scans_action.setIcon(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogContentsView))
        self.check_mail_action = self._action(
            "Check &mail", self.check_mail, CHECK_MAIL_SHORTCUT,
            "Take in the new messages of the privacy mailbox")
        self.check_mail_action.setIcon(envelope_icon())
        self.mailbox_action = self._action(
            "&Mailbox…", self.mailbox_settings, "",
            "The IMAP server of the privacy mailbox, its password and automatic checks")

    def _action(self, text: str, slot: object, shortcut: str, tip: str) -> QAction:
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    # --- installing ----------------------------------------------------------------------
    def install(self, menu_bar: QMenuBar, toolbar: QToolBar) -> None:
        """Add the actions to File (before Quit), Settings and the toolbar; look at the
        desk for the first-start offer and start the automatic checks."""
        mail_menu = menu_titled(menu_bar, "&Mail")
        file_menu = menu_titled(menu_bar, "&File")
        if mail_menu is not None:
            # Beside Import mail…, before the intake lists' actions.
            mine = [self.import_scans_action, self.check_mail_action]
            actions = mail_menu.actions()
            if len(actions) > 1:
                mail_menu.insertActions(actions[1], mine)
            else:
                mail_menu.addActions(mine)
        elif file_menu is not None:
            mine = [self.import_scans_action, self.check_mail_action]
            before_quit = next((a for a in reversed(file_menu.actions()) if a.isSeparator()),
                               None)
            if before_quit is None:
                file_menu.addSeparator()
                file_menu.addActions(mine)
            else:
                file_menu.insertSeparator(before_quit)
                file_menu.insertActions(before_quit, mine)
        settings_menu = menu_titled(menu_bar, "&Settings")
        if settings_menu is not None:
            settings_menu.addAction(self.mailbox_action)
        toolbar.addAction(self.import_scans_action)
        toolbar.addAction(self.check_mail_action)
        self.checker.apply_settings()
        self.window.installEventFilter(self)
        self.first_start.check()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.checker.timer.stop()  # no automatic check once the window closes
        return super().eventFilter(watched, event)

    def use_settings(self, store: SettingsStore) -> None:
        """The settings of this run (from the command line); starts automatic checks."""
        self.store = store
        self.checker.set_store(store)

    def settings_store(self) -> SettingsStore:
        if self.store is None:  # not handed over: the default settings file
            self.use_settings(SettingsStore())
        assert self.store is not None
        return self.store

    def _status(self, text: str, timeout_ms: int) -> None:
        self.window.statusBar().showMessage(text, timeout_ms)

    # --- scans ---------------------------------------------------------------------------
    def import_scans(self) -> None:
        if self.batch is not None:
            self._status("Scans are being imported already: finish reviewing those first",
                         5000)
            return
        paths = scan_import.choose_scan_files(self.window)
        if paths:
            self.start_scans(paths)

    def start_scans(self, paths: Sequence[Path]) -> None:
        current = ""
        case_list = getattr(self.window, "case_list", None)
        if case_list is not None:
            current = str(case_list.current_ref() or "")
        batch = ScanBatch(self.desk, self.runner, paths, self.window, current_ref=current)
        batch.case_created.connect(self.case_created)
        batch.finished.connect(self._scans_done)
        self.batch = batch
        self.import_scans_action.setEnabled(False)
        batch.start()

    def _scans_done(self, outcome: BatchOutcome) -> None:
        self.batch = None
        self.last_batch = outcome
        self.import_scans_action.setEnabled(True)
        # Each case created was listed and opened as it was created (case_created), so
        # the last one is open now; scans added to cases change the list too.
        if outcome.attached:
            self.cases_added.emit()
        self._status(outcome.summary(), 10_000)

    # --- mail ----------------------------------------------------------------------------
    def check_mail(self) -> None:
        if self.store is None:
            self.settings_store()
        self.checker.check_now()

    def _checked(self, outcome: FetchOutcome) -> None:
        if outcome.results:
            self.cases_added.emit()

    def _show_results(self, outcome: FetchOutcome) -> None:
        # The same results dialog as an import: one table, rows that open their case.
        dialog = ImportResultsDialog(
            ImportOutcome(tuple(outcome.results), outcome.cancelled, len(outcome.results)),
            self.window, title="Mail checked",
            summary=results_summary(outcome.results, cancelled=outcome.cancelled))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open_case.connect(self.open_case)
        self.dialog = dialog
        dialog.open()

    def mailbox_settings(self) -> None:
        dialog = MailboxSettingsDialog(self.settings_store(), self.runner, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved_settings.connect(lambda _mail: self.checker.apply_settings())
        self.dialog = dialog
        dialog.open()

    # --- first start ---------------------------------------------------------------------
    def _sample_imported(self, sample: SampleImport) -> None:
        created = sum(1 for result in sample.results if result.outcome == "created")
        self._status(f"Sample mailbox: {len(sample.results)} messages taken in, "
                     f"{created} new cases. Now the scanned letter…", 10_000)
        self.cases_added.emit()

    def _open_sample_letter(self, path: Path) -> None:
        if self.batch is None:
            self.start_scans([path])
