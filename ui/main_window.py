"""The main window: views on the left, the case list in the middle, the case on the right."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtCore import QMimeData, QObject, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeySequence,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from caseapp.config import Paths
from caseapp.services import Desk
from caseapp.services.changes import CaseChanges
from caseapp.services.dto import CaseQuery, Changed, UserView
from caseapp.services.search import SavedSearchView, SearchQuery
from ui import mail_import, restart
from ui.backup import BackupActions
from ui.clock_check import check_clock
from ui.dialogs.database_settings import DatabaseSettingsDialog
from ui.dialogs.import_results import ImportResultsDialog
from ui.dialogs.legal_clocks import LegalClocksDialog
from ui.dialogs.letter_texts import LetterTextsDialog
from ui.dialogs.new_case import NewCaseDialog
from ui.dialogs.print_batch import PrintBatchDialog
from ui.dialogs.smtp_settings import SmtpSettingsDialog
from ui.dialogs.sources_settings import SourcesSettingsDialog
from ui.errors import ErrorPresenter
from ui.intake_actions import IntakeActions
from ui.mail_import import ImportOutcome, run_import, split_droppable
from ui.models.case_table import CaseTableModel
from ui.pages.case_page import CasePage
from ui.pages.dashboard_page import DashboardPage
from ui.pages.intake_page import IntakePage
from ui.pages.reports_page import ReportsActions
from ui.pages.search_results import SearchResultsPage
from ui.retention import RetentionActions
from ui.screen_lock import ScreenLock
from ui.tasks import Progress, Task, TaskRunner, TaskStatus
from ui.widgets.case_list import CaseListPanel
from ui.widgets.navigation import (
    DASHBOARD_ENTRY,
    DASHBOARD_VIEW,
    INTAKE_ENTRIES,
    INTAKE_VIEWS,
    NAV_ENTRIES,
    PAGE_VIEWS,
    Navigation,
)
from ui.widgets.saved_searches import SavedSearches
from ui.widgets.search_box import SEARCH_KEYS, SearchBox

DEFAULT_VIEW = "open"
CHANGE_DELAY_MS = 300  # changes heard within this are shown together
IMPORTING_DELAY_MS = 5000  # ... and at most this often while this window imports mail
DEFAULT_SIZE = (1400, 850)
DROP_STYLE = ("background: rgba(31, 95, 168, 40); border: 3px dashed #1f5fa8; "
              "border-radius: 10px; color: #123f73; font-size: 16pt; font-weight: bold;")


def dropped_paths(mime: QMimeData) -> list[Path]:
    """The local files and folders in a drag (nothing for web links or text)."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class ChangeBridge(QObject):
    """Carries the watcher thread's news (caseapp.services.changes) to the GUI thread."""

    heard = Signal(object)  # CaseChanges


@dataclass(frozen=True)
class WhoAmI:
    me: UserView
    users: list[UserView]


class MainWindow(QMainWindow):
    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.me: UserView | None = None
        self._pending_select: str | None = None
        self.presenter = ErrorPresenter(self)
        self.runner = TaskRunner(self, error_handler=self.presenter.show_exception)
        self.model = CaseTableModel(desk, self.runner, self)
        self.nav = Navigation()
        self.case_list = CaseListPanel(self.model)
        self.case_page = CasePage(desk, self.runner)
        self.intake_page = IntakePage(desk, self.runner)
        self.dashboard_page = DashboardPage(desk, self.runner)
        # The search (ui/widgets/search_box.py): its results take the case list's place.
        self.search_box = SearchBox()
        self.search_page = SearchResultsPage(desk, self.runner)
        self.saved_searches = SavedSearches()
        self._open_when_found = False
        self.active_dialog: QWidget | None = None
        self.import_task: Task | None = None
        self.last_import: ImportOutcome | None = None

        splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(0)
        left_layout.addWidget(self.nav, 1)
        left_layout.addWidget(self.saved_searches)
        self.middle = QStackedWidget()  # the case list, or the search results
        self.middle.addWidget(self.case_list)
        self.middle.addWidget(self.search_page)
        splitter.addWidget(left)
        splitter.addWidget(self.middle)
        splitter.addWidget(self.case_page)
        splitter.addWidget(self.intake_page)  # instead of the list and page, for mail
        self.intake_page.hide()
        splitter.addWidget(self.dashboard_page)  # instead of the list and page: the desk
        self.dashboard_page.hide()
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 1)
        splitter.setCollapsible(1, False)
        splitter.setSizes([140, 700, 560])
        self.splitter = splitter
        self._case_sizes = (700, 560)
        self.setCentralWidget(splitter)

        self.count_label = QLabel()
        # Permanent (right side): a status message on the left must not overprint it.
        self.statusBar().addPermanentWidget(self.count_label)
        self.task_status = TaskStatus(self.runner)
        self.statusBar().addPermanentWidget(self.task_status)
        self._build_actions()
        self._set_title()
        self.resize(*DEFAULT_SIZE)

        self.drop_overlay = QLabel("Drop mail files (.eml, .msg, .mbox) or folders to "
                                   "import them", self)
        self.drop_overlay.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_overlay.setWordWrap(True)
        self.drop_overlay.setStyleSheet(DROP_STYLE)
        self.drop_overlay.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.drop_overlay.hide()
        self.setAcceptDrops(True)
        self.case_list.filter_edit.setAcceptDrops(False)  # a dropped file is for the window

        self.nav.view_selected.connect(self._view_selected)
        self.case_list.case_selected.connect(self.case_page.show_ref)
        self.case_page.changed.connect(self._case_changed)
        self.case_page.created.connect(self._case_created)
        self.case_page.open_requested.connect(self.open_case)
        self.intake_page.created.connect(self._case_created)
        self.intake_page.moved.connect(self._message_moved)
        self.dashboard_page.open_search.connect(self.show_search_for)
        self.model.loaded.connect(self._list_loaded)
        # Listening first: a change committed after this is heard even if the list's first
        # page (loading in the background from the next line) was read before it.
        self._watch_changes()
        self.nav.select_view(DEFAULT_VIEW)
        self.refresh_counts()
        self.load_users()

        # --- intake of scans and of the mailbox (ui/intake_actions.py) -------------------
        self.intake = IntakeActions(self, desk, self.runner)
        self.intake.case_created.connect(self._case_created)
        self.intake.cases_added.connect(self.refresh)
        self.intake.open_case.connect(self.case_page.show_ref)
        self.intake.install(self.menuBar(), self.toolbar)
        # --- Reports: §7102 metrics, §7101 request log (ui/pages/reports_page.py) --------
        self.reports = ReportsActions(self, desk, self.runner)
        self.reports.open_case.connect(self.open_case)
        self.reports.install(self.menuBar())
        self._install_search()
        # --- the retention purge (ui/retention.py): Settings → Retention…, the daily run ---
        self.retention = RetentionActions(self, desk, self.runner, lambda: self.me)
        self.retention.purged.connect(lambda _outcome: self.refresh())
        self.retention.install(self.menuBar())
        # --- backups (ui/backup.py): Settings → Backups…, the schedule, a late check ---
        self.backups = BackupActions(self, desk, self.runner)
        self.backups.restored.connect(lambda _result: self.refresh())
        self.backups.install(self.menuBar())
        # --- the screen lock (ui/screen_lock.py): idle lock, File → Lock now ---------------
        self.screen_lock = ScreenLock(self, self.runner, lambda: self.desk.username)
        self.screen_lock.install(self.menuBar())
        # --- a shared desk: is this workstation's clock right? (ui/clock_check.py) ------
        self.clock_check = check_clock(desk, self.runner,
                                       lambda report: self.presenter.present(report))

    # --- menus and toolbar ---------------------------------------------------------------
    def _action(self, text: str, slot: object, shortcut: str | QKeySequence.StandardKey = "",
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        style = self.style()
        self.new_case_action = self._action("&New case…", self.new_case, "Ctrl+N",
                                            "Type in a phone call, a letter or a visit")
        self.new_case_action.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_FileIcon))
        self.refresh_action = self._action("&Refresh", self.refresh, "F5",
                                           "Reload the list, the counts and the open case")
        self.refresh_action.setIcon(
            style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload))
        self.find_action = self._action(
            "&Search…", self.focus_search, "",
            "Search cases, people, mail, notes, scans and letters (Ctrl+F, Ctrl+K)")
        self.find_action.setShortcuts([QKeySequence(keys) for keys in SEARCH_KEYS])
        self.filter_action = self._action("&Filter the list", self.case_list.focus_filter,
                                          "Ctrl+Shift+F")
        self.desk_order_action = self._action(
            "&Desk order", self.sort_desk_order, "",
            "Urgent (child) cases first, then the earliest due")
        self.import_action = self._action(
            "&Import mail…", lambda _checked=False: self.import_mail(), "Ctrl+I",
            "Take in .eml, .msg and .mbox files (or drop them on the window)")
        self.import_action.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogOpenButton))
        self.print_due_action = self._action(
            "&Print acknowledgements due…", self.print_acknowledgements_due, "Ctrl+Shift+P",
            "Issue and print the acknowledgement letters due today, as one batch")
        quit_action = self._action("&Quit", self.close, "Ctrl+Q")
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.new_case_action)
        file_menu.addAction(self.import_action)
        file_menu.addAction(self.print_due_action)
        file_menu.addAction(self.refresh_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        self.view_actions: dict[str, QAction] = {}
        self.dashboard_action = self._action(DASHBOARD_ENTRY.label, self.show_dashboard,
                                             "Ctrl+Shift+D", DASHBOARD_ENTRY.tooltip)
        view_menu.addAction(self.dashboard_action)
        view_menu.addSeparator()
        self.view_actions[DASHBOARD_VIEW] = self.dashboard_action
        for number, entry in enumerate(NAV_ENTRIES, start=1):
            action = self._action(entry.label, lambda _=False, v=entry.view:
                                  self.nav.select_view(v), f"Ctrl+{number}", entry.tooltip)
            view_menu.addAction(action)
            self.view_actions[entry.view] = action
        view_menu.addSeparator()
        for number, entry in enumerate(INTAKE_ENTRIES, start=len(NAV_ENTRIES) + 1):
            action = self._action(entry.label, lambda _=False, v=entry.view:
                                  self.nav.select_view(v), f"Ctrl+{number}", entry.tooltip)
            view_menu.addAction(action)
            self.view_actions[entry.view] = action
        view_menu.addSeparator()
        view_menu.addAction(self.find_action)
        view_menu.addAction(self.filter_action)
        view_menu.addAction(self.desk_order_action)
        # The open case: the page keeps these enabled exactly like its buttons.
        page = self.case_page
        self.case_menu = self.menuBar().addMenu("&Case")
        self.case_menu.setToolTipsVisible(True)
        self.case_menu.addAction(page.add_note_action)
        self.case_menu.addAction(page.assign_to_me_action)
        self.case_menu.addSeparator()
        self.case_menu.addAction(page.extend_action)
        self.case_menu.addAction(page.edit_request_action)
        self.case_menu.addAction(page.edit_requester_action)
        self.case_menu.addSeparator()
        self.case_menu.addAction(page.confirm_action)
        self.case_menu.addAction(page.messages_action)
        self.case_menu.addSeparator()
        self.case_menu.addAction(page.appeal_action)
        self.mail_menu = self.menuBar().addMenu("&Mail")
        self.mail_menu.setToolTipsVisible(True)
        self.mail_menu.addAction(self.import_action)
        self.mail_menu.addSeparator()
        for action in self.intake_page.actions_list:
            self.mail_menu.addAction(action)
        settings_menu = self.menuBar().addMenu("&Settings")
        self.legal_clocks_action = self._action(
            "&Legal clocks…", self.show_legal_clocks, "",
            "Every deadline rule with its legal source; administrators change the "
            "configurable ones")
        settings_menu.addAction(self.legal_clocks_action)
        self.customer_systems_action = self._action(
            "Customer &systems…", self.show_customer_systems, "",
            "The customer systems a lookup searches: the sources file, passwords, a check")
        settings_menu.addAction(self.customer_systems_action)
        self.letter_texts_action = self._action(
            "Letter &texts…", self.show_letter_texts, "",
            "The texts of the letters, with a sample of each; administrators edit them")
        settings_menu.addAction(self.letter_texts_action)
        self.smtp_action = self._action(
            "&Outgoing mail…", self.show_smtp_settings, "",
            "The SMTP server letters are emailed through, its password and a check")
        settings_menu.addAction(self.smtp_action)
        self.database_action = self._action(
            "&Database…", self.show_database_settings, "",
            "This workstation's file or a PostgreSQL server shared by the desk, its password "
            "and TLS, with a connection test")
        settings_menu.addAction(self.database_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&About caseapp", self.about))

        toolbar = QToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addAction(self.new_case_action)
        toolbar.addAction(self.import_action)
        toolbar.addAction(self.refresh_action)
        self.addToolBar(toolbar)
        self.toolbar = toolbar

    def _set_title(self) -> None:
        who = self.desk.username
        if self.me is not None:
            who = f"{self.me.display_name} ({self.me.role})"
        self.setWindowTitle(f"caseapp — {who} — {self.desk.database_label}")

    # --- loading -------------------------------------------------------------------------
    def load_users(self) -> None:
        desk = self.desk

        def load(_progress: Progress) -> WhoAmI:
            return WhoAmI(desk.current_user(), desk.list_users())

        self.runner.run(load, label="Loading staff", on_done=self._users_loaded)

    def _users_loaded(self, who: WhoAmI) -> None:
        self.me = who.me
        self._set_title()
        self.case_page.set_users(who.me, who.users)
        self.search_page.set_users(who.users)

    def refresh_counts(self) -> None:
        desk = self.desk

        def count(_progress: Progress) -> dict[str, int]:
            counts = {e.view: desk.count_cases(CaseQuery(view=e.view)) for e in NAV_ENTRIES}
            for entry in INTAKE_ENTRIES:  # all of them; the list shows the newest 500
                counts[entry.view] = desk.intake_queue_count(entry.view)
            return counts

        self.runner.run(count, label="Counting cases", on_done=self.nav.set_counts)

    def refresh(self) -> None:
        self._pending_select = self.case_list.current_ref()  # keep the place in the list
        self.model.reload()
        self.refresh_counts()
        self.case_page.reload()
        if self.nav.current_view() in INTAKE_VIEWS:
            self.intake_page.reload()
        if self.nav.current_view() == DASHBOARD_VIEW:
            self.dashboard_page.reload()
        self.load_users()
        self.load_saved_searches()
        if self.searching():
            self.search_page.run()

    def _view_selected(self, view: str) -> None:
        """A case view shows the list and the case; a mail list shows the intake page and
        the dashboard its own page, each in the place of the list and the case page."""
        page: QWidget | None = (self.intake_page if view in INTAKE_VIEWS else
                                self.dashboard_page if view == DASHBOARD_VIEW else None)
        pages = (self.intake_page, self.dashboard_page)
        shown = next((each for each in pages if each.isVisibleTo(self)), None)
        if page is not shown:
            sizes = self.splitter.sizes()
            nav, rest = sizes[0], max(sum(sizes) - sizes[0], 1)
            if shown is None:
                self._case_sizes = (sizes[1], sizes[2])
            self.middle.setVisible(page is None)
            self.case_page.setVisible(page is None)
            for each in pages:
                each.setVisible(each is page)
            if page is None:
                list_width, page_width = self._case_sizes
                share = list_width / max(list_width + page_width, 1)
                self.splitter.setSizes([nav, int(rest * share), rest - int(rest * share),
                                        0, 0])
            else:
                self.splitter.setSizes([nav, 0, 0, *(rest if each is page else 0
                                                     for each in pages)])
        if view in INTAKE_VIEWS:
            self.intake_page.set_disposition(view)
        if page is not None:
            self.count_label.setText("")
        else:
            self.case_list.set_view(view)
            self._list_loaded(self.model.total or 0)

    def sort_desk_order(self) -> None:
        self.case_list.table.horizontalHeader().setSortIndicator(-1,
                                                                 Qt.SortOrder.AscendingOrder)
        self.model.sort(-1)

    def _list_loaded(self, total: int) -> None:
        if self.nav.current_view() in PAGE_VIEWS:
            return
        text = self.case_list.filter_edit.text().strip()
        if not self.searching():
            self.count_label.setText(f"{total:,} case{'s' if total != 1 else ''}"
                                     + (f" matching “{text}”" if text else ""))
        if self._pending_select and self.case_list.select_ref(self._pending_select):
            self._pending_select = None
        elif self._pending_select and not self.model.canFetchMore():
            self._pending_select = None  # not in this view

    # --- search ------------------------------------------------------------------------
    def _install_search(self) -> None:
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.toolbar.addWidget(spacer)
        self.toolbar.addWidget(self.search_box)
        box, page = self.search_box, self.search_page
        box.search_requested.connect(self._search)
        box.activated.connect(self._search_entered)
        box.cleared.connect(self.close_search)
        box.to_results.connect(page.focus_results)
        page.open_case.connect(self.case_page.show_ref)
        page.close_requested.connect(self.close_search)
        page.finished.connect(self._search_finished)
        page.saved.connect(self._search_saved)
        self.saved_searches.chosen.connect(self.run_saved_search)
        self.saved_searches.delete_requested.connect(self.delete_saved_search)
        self.nav.itemClicked.connect(lambda _item: self.close_search())
        self.load_saved_searches()

    def focus_search(self) -> None:
        """Ctrl+F, Ctrl+K."""
        self.search_box.focus()

    def searching(self) -> bool:
        return self.middle.currentWidget() is self.search_page

    def _show_search(self) -> None:
        if self.nav.current_view() in PAGE_VIEWS:
            self.nav.select_view("open")  # the results take the case list's place
        self.middle.setCurrentWidget(self.search_page)

    def _search(self, text: str) -> None:
        if not text.strip() and not self.search_page.has_filters():
            if self.searching():
                self.close_search()
            return
        self._show_search()
        self.search_page.search(text)

    def _search_entered(self) -> None:
        """Enter in the search field: open the best hit (once it is there)."""
        if not self.searching():
            return
        if self.search_page.busy():
            self._open_when_found = True
        else:
            self.search_page.open_current()

    def _search_finished(self) -> None:
        results = self.search_page.results
        if results is not None:
            more = "+" if results.more else ""
            self.count_label.setText(f"{results.total:,}{more} found")
        if self._open_when_found:
            self._open_when_found = False
            self.search_page.open_current()

    def close_search(self) -> None:
        """Esc in the search field, or a view chosen: back to the case list."""
        self._open_when_found = False
        if not self.searching() and not self.search_box.text():
            return
        self.search_box.set_text_quietly("")
        self.search_page.clear()
        self.saved_searches.list.clearSelection()
        self.middle.setCurrentWidget(self.case_list)
        self._list_loaded(self.model.total or 0)

    def run_saved_search(self, saved: SavedSearchView) -> None:
        self._show_search()
        self.search_box.set_text_quietly(saved.query.text)
        self.search_page.apply(saved.query)

    def show_dashboard(self) -> None:
        """View → Dashboard (Ctrl+Shift+D): home, so a search open is closed."""
        self.close_search()
        self.nav.select_view(DASHBOARD_VIEW)
        self.dashboard_page.focus_first_tile()

    def show_search_for(self, query: SearchQuery) -> None:
        """A dashboard tile (or count) activated: its cases in the search results, its
        filters set in the filter row above them."""
        self._show_search()
        self.saved_searches.list.clearSelection()
        self.search_box.set_text_quietly(query.text)
        self.search_page.apply(query)
        self.search_page.focus_results()

    def load_saved_searches(self) -> None:
        desk = self.desk
        self.runner.run(lambda _progress: desk.list_saved_searches(),
                        label="Loading saved searches",
                        on_done=self.saved_searches.set_searches)

    def _search_saved(self, saved: SavedSearchView) -> None:
        self.statusBar().showMessage(f"Saved the search “{saved.name}”", 5000)
        self.load_saved_searches()

    def delete_saved_search(self, name: str) -> None:
        desk = self.desk

        def done(_none: None) -> None:
            self.statusBar().showMessage(f"Deleted the saved search “{name}”", 5000)
            self.load_saved_searches()

        self.runner.run(lambda _progress: desk.delete_saved_search(name),
                        label="Deleting a saved search", on_done=done)

    # --- changes -------------------------------------------------------------------------
    def _case_changed(self, changed: Changed) -> None:
        self.model.apply_detail(changed.case)
        for ref in changed.refs:
            if ref != changed.case.ref:
                self.model.update_row(ref)
        if changed.list_changed:
            self.refresh_counts()

    def _message_moved(self, changed: Changed) -> None:
        self.statusBar().showMessage(f"Moved the message to {changed.case.ref}", 5000)
        self.model.apply_detail(changed.case)
        if self.case_page.showing(changed.case.ref):
            self.case_page.show_detail(changed.case)
        self.refresh_counts()

    def open_case(self, ref: str) -> None:
        """Show a case on the page, and select it in the list (in All open) if listed."""
        self.case_page.show_ref(ref)
        view = self.nav.current_view()
        if view not in PAGE_VIEWS and self.case_list.select_ref(ref):
            return
        self._pending_select = ref
        if view == "open":
            self.model.reload()
        else:
            self.nav.select_view("open")

    # --- mail import ---------------------------------------------------------------------
    def import_mail(self, paths: Sequence[Path] | None = None) -> Task | None:
        """File → Import mail… (Ctrl+I), and drops: take the files in, in the background."""
        if self.import_task is not None:
            self.statusBar().showMessage(
                "An import is running: wait for it, or cancel it in the status bar.", 6000)
            return None
        if paths is None:
            paths = mail_import.choose_mail_files(self)
        chosen = list(paths)
        if not chosen:
            return None
        desk = self.desk

        def work(progress: Progress) -> ImportOutcome:
            return run_import(desk, chosen, progress)

        def finished() -> None:
            self.import_task = None
            self.import_action.setEnabled(True)

        def done(outcome: ImportOutcome) -> None:
            finished()
            self._import_done(outcome)

        def failed(error: BaseException) -> None:
            finished()
            self.refresh()  # what was taken in before the failure is kept: show it
            self.runner.report(error)

        self.import_action.setEnabled(False)
        self.import_task = self.runner.run(work, label="Importing mail", on_done=done,
                                           on_error=failed, cancellable=True)
        return self.import_task

    def _import_done(self, outcome: ImportOutcome) -> None:
        self.last_import = outcome
        self.statusBar().showMessage(outcome.summary(), 15000)
        dialog = ImportResultsDialog(outcome, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open_case.connect(self.open_case)
        self.active_dialog = dialog
        dialog.open()
        if outcome.results:
            self.refresh()

    # --- drag and drop -------------------------------------------------------------------
    def _drop_verdict(self, mime: QMimeData) -> tuple[list[Path], list[Path]]:
        return split_droppable(dropped_paths(mime))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        accepted, refused = self._drop_verdict(event.mimeData())
        if accepted:
            event.acceptProposedAction()
            self._show_drop_overlay(True)
            if refused:
                self.statusBar().showMessage(
                    f"{len(refused)} of the files are not mail and will be left out.", 5000)
        else:
            event.ignore()
            self.statusBar().showMessage(
                "Only mail can be dropped here: .eml, .msg or .mbox files, or folders of "
                "them." if refused or event.mimeData().hasUrls() else
                "Only mail files can be dropped here.", 6000)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._drop_verdict(event.mimeData())[0]:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._show_drop_overlay(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._show_drop_overlay(False)
        accepted, refused = self._drop_verdict(event.mimeData())
        if not accepted:
            event.ignore()
            self.statusBar().showMessage(
                "Nothing imported: only .eml, .msg and .mbox files (or folders) can be "
                "dropped.", 8000)
            return
        event.acceptProposedAction()
        self.import_mail(accepted)
        if refused:
            names = ", ".join(p.name for p in refused[:3]) + ("…" if len(refused) > 3 else "")
            self.statusBar().showMessage(
                f"Importing the mail; left out {len(refused)} file"
                f"{'s' if len(refused) != 1 else ''} that are not mail: {names}", 10000)

    def _show_drop_overlay(self, shown: bool) -> None:
        if shown:
            central = self.centralWidget()
            if central is not None:
                self.drop_overlay.setGeometry(central.geometry().adjusted(12, 12, -12, -12))
            self.drop_overlay.raise_()
        self.drop_overlay.setVisible(shown)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.drop_overlay.isVisible():
            self._show_drop_overlay(True)

    def new_case(self) -> None:
        dialog = NewCaseDialog(self.desk, self.runner, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.created.connect(self._case_created)
        self.active_dialog = dialog
        dialog.open()

    def _case_created(self, changed: Changed) -> None:
        """A new case (typed in, or an appeal): list it and select it."""
        self.case_page.show_detail(changed.case)
        self._show_new_case(changed.case.ref)
        self.statusBar().showMessage(f"Created {changed.case.ref}", 5000)

    def _show_new_case(self, ref: str) -> None:
        """Reload the list so a new case appears in it, then select it."""
        self._pending_select = ref
        if self.nav.current_view() not in ("mine", "open", "all"):
            self.nav.select_view("open")  # reloads
        else:
            self.model.reload()
        self.refresh_counts()

    def print_acknowledgements_due(self) -> PrintBatchDialog:
        """File → Print acknowledgements due… (Ctrl+Shift+P): one dialog at a time."""
        dialog = self.active_dialog
        if (isinstance(dialog, PrintBatchDialog) and shiboken6.isValid(dialog)
                and dialog.isVisible()):
            dialog.raise_()
            dialog.activateWindow()
            return dialog
        dialog = PrintBatchDialog(self.desk, self.runner, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.changed.connect(self.refresh)  # letters issued, mailed, cases acknowledged
        dialog.batch_done.connect(
            lambda result: self.statusBar().showMessage(
                f"Print batch: {len(result.printed)} printed, {len(result.failed)} failed, "
                f"{len(result.not_done)} not reached", 10000))
        self.active_dialog = dialog
        dialog.open()
        return dialog

    def show_legal_clocks(self) -> None:
        is_admin = self.me is not None and self.me.role == "admin"
        dialog = LegalClocksDialog(self.desk, self.runner, is_admin, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.active_dialog = dialog
        dialog.open()

    def show_letter_texts(self) -> None:
        is_admin = self.me is not None and self.me.role == "admin"
        dialog = LetterTextsDialog(self.desk, self.runner, is_admin, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.active_dialog = dialog
        dialog.open()

    def show_customer_systems(self) -> None:
        paths = Paths.for_user()
        dialog = SourcesSettingsDialog(paths.sources_file, paths.data_dir, self.runner, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(lambda path: self._sources_saved(path, paths.data_dir))
        self.active_dialog = dialog
        dialog.open()

    def show_smtp_settings(self) -> None:
        """Settings → Outgoing mail…: the SMTP server letters are emailed through."""
        dialog = SmtpSettingsDialog(self.desk, self.runner, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved_settings.connect(
            lambda _smtp: self.statusBar().showMessage("Outgoing mail settings saved", 5000))
        self.active_dialog = dialog
        dialog.open()

    def _sources_saved(self, path: Path, data_dir: Path) -> None:
        """The next lookup searches the systems of the file just saved."""
        desk = self.desk
        self.runner.run(lambda _p: desk.use_sources(path, data_dir),
                        label="Using the new sources file", on_done=lambda _none: None)

    # --- other workstations' changes (caseapp.services.changes) --------------------------
    def _watch_changes(self) -> None:
        """New cases and changes made at other workstations show without a restart: the
        list (its first page; a list scrolled further refreshes its changed rows in place,
        CaseTableModel.changes_heard), the counts and the open case reload shortly after
        (PostgreSQL NOTIFY, SQLite polled). Started before the list first loads."""
        self.database_settings_file: Path | None = None  # --config, when given
        self._heard_refs: set[str] = set()
        self._heard_resync = False
        self.change_bridge = ChangeBridge(self)
        self.change_bridge.heard.connect(self._heard)
        self._change_timer = QTimer(self)
        self._change_timer.setSingleShot(True)
        self._change_timer.setInterval(CHANGE_DELAY_MS)
        self._change_timer.timeout.connect(self._apply_heard)
        self.change_watch = self.desk.watch_changes(self.change_bridge.heard.emit)

    def _heard(self, changes: CaseChanges) -> None:
        if not self.change_watch.running:  # heard just before the window closed
            return
        self._heard_refs |= changes.refs
        self._heard_resync = self._heard_resync or changes.resync
        if changes.resync and self.case_page.detail is not None:
            self._heard_refs.add(self.case_page.detail.ref)
        if not self._change_timer.isActive():
            self._change_timer.start()

    def _apply_heard(self) -> None:
        if self.import_task is not None and self._change_timer.interval() < IMPORTING_DELAY_MS:
            # Our own import commits a batch every moment and reloads everything when it
            # ends: meanwhile, what was heard is applied every few seconds, not each time
            # (each reload competes with the import for the GIL: window stalls).
            self._change_timer.start(IMPORTING_DELAY_MS)
            return
        self._change_timer.setInterval(CHANGE_DELAY_MS)
        refs, self._heard_refs = self._heard_refs, set()
        resync, self._heard_resync = self._heard_resync, False
        if not self.change_watch.running:
            return
        if self.nav.current_view() not in PAGE_VIEWS and not self.searching():
            current = self.case_list.current_ref()
            if resync:  # changes may have been missed: the list is loaded again
                self.model.reload()
                reloaded = True
            else:  # its first page at most: a list scrolled further keeps its rows
                reloaded = self.model.changes_heard(refs)
            if reloaded:
                self._pending_select = current  # keep the place
        self.refresh_counts()
        shown = self.case_page.detail
        if shown is not None and shown.ref in refs:
            self.case_page.show_ref(shown.ref)

    def show_database_settings(self) -> None:
        """Settings → Database…: this workstation's file or the shared server."""
        dialog = DatabaseSettingsDialog(self.runner, self.database_settings_file, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(lambda _choice: self.statusBar().showMessage(
            "Database settings saved: they are used from the next start of caseapp", 8000))
        dialog.restart_requested.connect(lambda: restart.request(self))  # ui/restart.py
        self.active_dialog = dialog
        dialog.open()

    def about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About caseapp",
                          "<b>caseapp</b> — a case manager for consumer privacy requests "
                          "(CCPA/CPRA and other US state laws, COPPA, GDPR).<br><br>"
                          f"Database: {html.escape(self.desk.database_label)}<br>"
                          f"User: {html.escape(self.desk.username)}",
                          QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.RichText)  # our own markup, values escaped
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.active_dialog = box
        box.open()

    # --- closing -------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Wait for running tasks; nothing is delivered afterwards. The claim on the case
        open here is released (a task the shutdown waits for)."""
        self._change_timer.stop()
        self.screen_lock.stop()
        if self.change_watch.running:  # once: shutdown is called again by closeEvent
            self.change_watch.stop()
            self.case_page.release_claim()
        self.runner.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
