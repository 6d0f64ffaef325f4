"""The case page's Records tab: search the customer systems for the case's data subject,
see each system's state (never "nothing found" for a system that was not searched),
confirm or reject the records found, act on the confirmed ones and follow the
downstream notices.

Everything the desk is asked runs in the background (ui/tasks.py); the tab reloads its
data when it is given a case and after each change, and says ``changed`` so that the
case page can reload the case (its tasks, notes and history follow).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from caseapp.errors import ConfigError
from caseapp.records.lookup import LookupCancelled
from caseapp.services import Desk
from caseapp.services.dto import (
    LookupResult,
    NoticeView,
    RecordActionView,
    RecordHitView,
    SourceSearchView,
)
from ui.formatting import moment_text
from ui.models.records import HitsModel
from ui.tasks import Progress, TaskCancelled, TaskRunner
from ui.widgets.actions_panel import ActionsPanel
from ui.widgets.notices_panel import NoticesPanel
from ui.widgets.records_changes import RecordChanges
from ui.widgets.rows_table import RowsTable
from ui.widgets.systems_panel import SystemsPanel

H = HitsModel
LOOKUP_KEYS = "Ctrl+L"
CONFIRM_KEYS = "Ctrl+Shift+Y"
REJECT_KEYS = "Ctrl+Shift+R"
NOT_SEARCHED = ("unreachable", "schema_mismatch", "not_searched")
INCOMPLETE_STYLE = "color: #b3261e; font-weight: bold;"
HINT_STYLE = "color: #5f6b76;"


@dataclass(frozen=True)
class RecordsState:
    systems: tuple[SourceSearchView, ...]
    systems_problem: str
    hits: tuple[RecordHitView, ...]
    actions: tuple[RecordActionView, ...]
    notices: tuple[NoticeView, ...]


def _keys(action: QAction) -> str:
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)


class RecordsTab(QWidget):
    changed = Signal(str)  # the case's ref, after a change to its records or notices
    loaded = Signal(str)  # the case's ref, whenever its data was (re)loaded

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self._timezone = desk.clock.timezone
        self._generation = 0
        self._is_open = True
        self._searching = False
        self._note = ""  # what the last search (or its cancellation) said
        self.state: RecordsState | None = None
        self.changes = RecordChanges(desk, runner, self)
        self.changes.changed.connect(self._changed)
        self.changes.failed.connect(self._reload_if_shown)
        self.changes.busy_changed.connect(self._busy_changed)
        self._build_actions()

        self.search_button = QPushButton("Search customer systems")
        self.search_button.clicked.connect(self.search)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.incomplete = QLabel()
        self.incomplete.setWordWrap(True)
        self.incomplete.setStyleSheet(INCOMPLETE_STYLE)
        self.incomplete.hide()
        top = QHBoxLayout()
        top.addWidget(self.search_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.summary, 1)

        self.sections = QTabWidget()
        self.sections.setDocumentMode(True)
        self.hits_page = self._hits_page()
        self.sections.addTab(self.hits_page, "Records")
        self.systems_panel = SystemsPanel(self.changes, self._timezone)
        self.sections.addTab(self.systems_panel, "Systems")
        self.actions_panel = ActionsPanel(self.changes, self._timezone, self._hits_for_action)
        self.sections.addTab(self.actions_panel, "Actions")
        self.notices_panel = NoticesPanel(self.changes, self._timezone)
        self.sections.addTab(self.notices_panel, "Notices")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.incomplete)
        layout.addWidget(self.sections, 1)
        self.clear()

    def _build_actions(self) -> None:
        self.lookup_action = QAction("&Search customer systems", self)
        self.lookup_action.setShortcut(QKeySequence(LOOKUP_KEYS))
        self.lookup_action.triggered.connect(lambda _checked=False: self.search())
        self.confirm_action = QAction("Confirm", self)
        self.confirm_action.setShortcut(QKeySequence(CONFIRM_KEYS))
        self.confirm_action.triggered.connect(lambda _checked=False: self.decide(True))
        self.reject_action = QAction("Reject", self)
        self.reject_action.setShortcut(QKeySequence(REJECT_KEYS))
        self.reject_action.triggered.connect(lambda _checked=False: self.decide(False))
        for action in (self.confirm_action, self.reject_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        for action in (self.lookup_action, self.confirm_action, self.reject_action):
            self.addAction(action)

    def _hits_page(self) -> QWidget:
        self.hits_model = HitsModel(self._timezone, self)
        self.hits_table: RowsTable[RecordHitView] = RowsTable(
            self.hits_model, multi=True,
            widths={H.COL_STATUS: 105, H.COL_SCORE: 48, H.COL_SYSTEM: 135,
                    H.COL_TABLE: 200, H.COL_KEY: 50, H.COL_WHY: 250, H.COL_VIA: 190})
        self.hits_table.setToolTip("Select one or more records, then Confirm (they are the "
                                   "person's) or Reject (they are not)")
        self.hits_table.selectionModel().selectionChanged.connect(
            lambda *_: self._update_buttons())
        self.confirm_button = QPushButton("Confirm")
        self.confirm_button.setToolTip(
            f"The selected records are the person's ({_keys(self.confirm_action)})")
        self.confirm_button.clicked.connect(lambda: self.decide(True))
        self.reject_button = QPushButton("Reject")
        self.reject_button.setToolTip(
            f"The selected records are someone else's ({_keys(self.reject_action)})")
        self.reject_button.clicked.connect(lambda: self.decide(False))
        self.hits_hint = QLabel()
        self.hits_hint.setStyleSheet(HINT_STYLE)
        self.hits_hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.confirm_button)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.hits_hint, 1)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.hits_table, 1)
        layout.addLayout(buttons)
        return page

    # --- which case ----------------------------------------------------------------------
    @property
    def ref(self) -> str | None:
        return self.changes.ref

    def set_case(self, ref: str, *, request_types: tuple[str, ...] = (),
                 is_open: bool = True) -> None:
        """Show this case's records (loaded in the background when the case changes)."""
        self._is_open = is_open
        self.actions_panel.request_types = request_types
        self.actions_panel.case_open = is_open
        if ref != self.changes.ref:
            self.clear()
            self.changes.ref = ref
            self.reload()
        self._update_buttons()

    def clear(self) -> None:
        self._generation += 1
        self.changes.ref = None
        self.state = None
        self._note = ""
        self._show(RecordsState((), "", (), (), ()))
        self.summary.setText("")

    def reload(self) -> None:
        ref = self.changes.ref
        if ref is None:
            return
        self._generation += 1
        generation = self._generation
        desk = self._desk

        def load(_progress: Progress) -> RecordsState:
            try:
                systems, problem = desk.source_status(ref), ""
            except ConfigError as error:  # no sources file yet: said in the tab
                systems, problem = (), error.message
            return RecordsState(systems, problem, desk.record_hits(ref),
                                desk.record_actions(ref), desk.notices(ref))

        def loaded(state: RecordsState) -> None:
            if generation == self._generation and ref == self.changes.ref:
                self.state = state
                self._show(state)
                self.loaded.emit(ref)

        self._runner.run(load, label=f"Loading the records of {ref}", on_done=loaded)

    def _changed(self, ref: str) -> None:
        self._reload_if_shown(ref)
        self.changed.emit(ref)

    def _reload_if_shown(self, ref: str) -> None:
        if ref == self.changes.ref:
            self.reload()

    # --- showing -------------------------------------------------------------------------
    def _show(self, state: RecordsState) -> None:
        self.systems_panel.set_systems(state.systems)
        self.hits_table.set_rows(state.hits, key=lambda hit: hit.id)
        self.actions_panel.set_actions(state.actions)
        self.notices_panel.set_notices(state.notices)
        self._show_summary(state)
        to_decide = sum(1 for hit in state.hits if hit.status == "proposed")
        titles = (
            f"Records ({len(state.hits)}, {to_decide} to decide)" if to_decide
            else f"Records ({len(state.hits)})",
            f"Systems ({len(state.systems)})",
            f"Actions ({len(state.actions)})",
            f"Notices ({self.notices_panel.open_count()} open)" if state.notices else "Notices",
        )
        for number, title in enumerate(titles):
            self.sections.setTabText(number, title)
        confirmed = sum(1 for hit in state.hits if hit.status == "confirmed")
        self.hits_hint.setText(f"{confirmed} confirmed as the person's." if state.hits else
                               "No records found yet.")
        self._update_buttons()

    def _show_summary(self, state: RecordsState) -> None:
        searched = [s for s in state.systems if s.kind == "database" and s.searched_at]
        missing = [s for s in state.systems if s.outcome in NOT_SEARCHED]
        waiting = [s.label for s in state.systems if s.outcome == "manual_pending"]
        if state.systems_problem:
            text = state.systems_problem
        elif not searched:
            text = (f"The customer systems were not searched for this case yet "
                    f"({_keys(self.lookup_action)}).")
        else:
            last = max(searched, key=lambda s: s.searched_at or datetime.min)
            when = moment_text(last.searched_at, self._timezone) if last.searched_at else ""
            count = len(state.hits)
            if count:
                found = f"{count} record(s) found"
            elif missing:
                found = "no record found in the systems that could be searched"
            else:
                found = "nothing found in any system"
            text = f"Last searched {when} by {last.searched_by}: {found}."
        if waiting:
            text += f" Waiting for a search by hand: {', '.join(waiting)}."
        if self._note:
            text += f" {self._note}"
        self.summary.setText(text.strip())
        if searched and missing:
            self.incomplete.setText(
                "Incomplete: not searched: " + ", ".join(s.label for s in missing)
                + ". Search again once they can be reached.")
        self.incomplete.setVisible(bool(searched and missing))

    def _update_buttons(self) -> None:
        busy = self.changes.busy
        has_case = self.changes.ref is not None
        can_search = has_case and not busy and self._is_open
        self.search_button.setEnabled(can_search)
        self.lookup_action.setEnabled(can_search)
        self.search_button.setText("Searching…" if self._searching else
                                   "Search customer systems")
        self.search_button.setToolTip(
            f"{self.ref} is closed: its records are not searched again." if has_case
            and not self._is_open else
            f"Search every customer system for the data subject ({_keys(self.lookup_action)})")
        hits = self.hits_table.selected_rows() if has_case else []
        can_decide = bool(hits) and not busy
        for button, action in ((self.confirm_button, self.confirm_action),
                               (self.reject_button, self.reject_action)):
            button.setEnabled(can_decide)
            action.setEnabled(can_decide)
        self.systems_panel.update_buttons()
        self.actions_panel.update_buttons()
        self.notices_panel.update_buttons()

    # --- what staff do -------------------------------------------------------------------
    def search(self) -> None:
        """Search every customer system (Ctrl+L), with progress and Cancel."""
        ref = self.changes.ref
        if ref is None or not self.search_button.isEnabled():
            return

        def work(desk: Desk, progress: Progress) -> LookupResult:
            def report(done: int, total: int, label: str) -> None:
                progress.set(done, total, label or "storing what was found")

            try:
                return desk.lookup(ref, progress=report, cancel=lambda: progress.cancelled)
            except LookupCancelled:
                raise TaskCancelled() from None

        self._note = ""
        self._searching = self.changes.run(
            f"Searching the customer systems for {ref}", work, cancellable=True,
            then=self._looked_up, on_cancelled=self._search_cancelled)
        self._update_buttons()

    def _busy_changed(self, busy: bool) -> None:
        if not busy:  # one change at a time: a search that ran is over
            self._searching = False
        self._update_buttons()

    def _looked_up(self, result: LookupResult) -> None:
        if result.ref != self.changes.ref:
            return
        self._note = f"{result.new_hits} new, in {result.seconds:.1f} s."
        if result.warnings:
            self._note += " " + " ".join(result.warnings)
        self.sections.setCurrentWidget(self.hits_page)

    def _search_cancelled(self) -> None:
        self._note = "The search was cancelled: nothing was stored."
        if self.state is not None:
            self._show_summary(self.state)

    def _hits_for_action(self) -> tuple[int, tuple[int, ...]]:
        hits = self.state.hits if self.state is not None else ()
        confirmed = sum(1 for hit in hits if hit.status == "confirmed")
        selected = tuple(hit.id for hit in self.hits_table.selected_rows()
                         if hit.status == "confirmed")
        return confirmed, selected

    def decide(self, confirmed: bool) -> None:
        """Confirm (or reject) the selected records as the person's."""
        ref = self.changes.ref
        hits = self.hits_table.selected_rows()
        if ref is None or not hits or self.changes.busy:
            return
        ids = [hit.id for hit in hits]

        def work(desk: Desk, progress: Progress) -> None:
            for number, hit_id in enumerate(ids):
                progress.set(number, len(ids))
                desk.decide_hit(ref, hit_id, confirmed)

        verb = "Confirming" if confirmed else "Rejecting"
        self.changes.run(f"{verb} {len(ids)} record(s) of {ref}", work)

    @property
    def active_dialog(self) -> QWidget | None:
        return self.changes.active_dialog
