"""The main window: views on the left, the case list in the middle, the case on the right."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStyle,
    QToolBar,
    QWidget,
)

from caseapp.services import Desk
from caseapp.services.dto import CaseQuery, Changed, UserView
from ui.dialogs.legal_clocks import LegalClocksDialog
from ui.dialogs.new_case import NewCaseDialog
from ui.errors import ErrorPresenter
from ui.intake_actions import IntakeActions
from ui.models.case_table import CaseTableModel
from ui.pages.case_page import CasePage
from ui.tasks import Progress, TaskRunner, TaskStatus
from ui.widgets.case_list import CaseListPanel
from ui.widgets.navigation import NAV_ENTRIES, Navigation

DEFAULT_VIEW = "open"
DEFAULT_SIZE = (1400, 850)


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
        self.active_dialog: QWidget | None = None

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.nav)
        splitter.addWidget(self.case_list)
        splitter.addWidget(self.case_page)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 1)
        splitter.setCollapsible(1, False)
        splitter.setSizes([140, 700, 560])
        self.splitter = splitter
        self.setCentralWidget(splitter)

        self.count_label = QLabel()
        self.statusBar().addWidget(self.count_label)
        self.task_status = TaskStatus(self.runner)
        self.statusBar().addPermanentWidget(self.task_status)
        self._build_actions()
        self._set_title()
        self.resize(*DEFAULT_SIZE)

        self.nav.view_selected.connect(self.case_list.set_view)
        self.case_list.case_selected.connect(self.case_page.show_ref)
        self.case_page.changed.connect(self._case_changed)
        self.case_page.created.connect(self._case_created)
        self.model.loaded.connect(self._list_loaded)
        self.nav.select_view(DEFAULT_VIEW)
        self.refresh_counts()
        self.load_users()

        # --- intake of scans and of the mailbox (ui/intake_actions.py) -------------------
        self.intake = IntakeActions(self, desk, self.runner)
        self.intake.case_created.connect(self._case_created)
        self.intake.cases_added.connect(self.refresh)
        self.intake.open_case.connect(self.case_page.show_ref)
        self.intake.install(self.menuBar(), self.toolbar)

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
        self.find_action = self._action("&Filter the list", self.case_list.focus_filter,
                                        "Ctrl+F")
        self.desk_order_action = self._action(
            "&Desk order", self.sort_desk_order, "",
            "Urgent (child) cases first, then the earliest due")
        quit_action = self._action("&Quit", self.close, "Ctrl+Q")
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.new_case_action)
        file_menu.addAction(self.refresh_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        self.view_actions: dict[str, QAction] = {}
        for number, entry in enumerate(NAV_ENTRIES, start=1):
            action = self._action(entry.label, lambda _=False, v=entry.view:
                                  self.nav.select_view(v), f"Ctrl+{number}", entry.tooltip)
            view_menu.addAction(action)
            self.view_actions[entry.view] = action
        view_menu.addSeparator()
        view_menu.addAction(self.find_action)
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
        self.case_menu.addAction(page.appeal_action)
        settings_menu = self.menuBar().addMenu("&Settings")
        self.legal_clocks_action = self._action(
            "&Legal clocks…", self.show_legal_clocks, "",
            "Every deadline rule with its legal source; administrators change the "
            "configurable ones")
        settings_menu.addAction(self.legal_clocks_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&About caseapp", self.about))

        toolbar = QToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addAction(self.new_case_action)
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

    def refresh_counts(self) -> None:
        desk = self.desk

        def count(_progress: Progress) -> dict[str, int]:
            return {e.view: desk.count_cases(CaseQuery(view=e.view)) for e in NAV_ENTRIES}

        self.runner.run(count, label="Counting cases", on_done=self.nav.set_counts)

    def refresh(self) -> None:
        self._pending_select = self.case_list.current_ref()  # keep the place in the list
        self.model.reload()
        self.refresh_counts()
        self.case_page.reload()
        self.load_users()

    def sort_desk_order(self) -> None:
        self.case_list.table.horizontalHeader().setSortIndicator(-1,
                                                                 Qt.SortOrder.AscendingOrder)
        self.model.sort(-1)

    def _list_loaded(self, total: int) -> None:
        text = self.case_list.filter_edit.text().strip()
        self.count_label.setText(f"{total:,} case{'s' if total != 1 else ''}"
                                 + (f" matching “{text}”" if text else ""))
        if self._pending_select and self.case_list.select_ref(self._pending_select):
            self._pending_select = None
        elif self._pending_select and not self.model.canFetchMore():
            self._pending_select = None  # not in this view

    # --- changes -------------------------------------------------------------------------
    def _case_changed(self, changed: Changed) -> None:
        self.model.apply_detail(changed.case)
        for ref in changed.refs:
            if ref != changed.case.ref:
                self.model.update_row(ref)
        if changed.list_changed:
            self.refresh_counts()

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

    def show_legal_clocks(self) -> None:
        is_admin = self.me is not None and self.me.role == "admin"
        dialog = LegalClocksDialog(self.desk, self.runner, is_admin, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.active_dialog = dialog
        dialog.open()

    def about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About caseapp",
                          "<b>caseapp</b> — a case manager for consumer privacy requests "
                          "(CCPA/CPRA and other US state laws, COPPA, GDPR).<br><br>"
                          f"Database: {self.desk.database_label}<br>"
                          f"User: {self.desk.username}",
                          QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.active_dialog = box
        box.open()

    # --- closing -------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Wait for running tasks; nothing is delivered afterwards."""
        self.runner.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
