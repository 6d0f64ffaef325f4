"""The case page: everything about one case, and what staff can do with it.

Every change goes through a Desk call in a background task with the version the page
was showing (``expected_version``); a StaleEdit shows its message and reloads the case.
A change typed into a dialog keeps the dialog open until it is saved: a refusal shows
in the dialog, with what was typed. A result arriving after the user moved on to
another case updates the list, not the page.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import shiboken6
from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from caseapp.errors import StaleEdit
from caseapp.services import Desk
from caseapp.services.claims import ClaimResult
from caseapp.services.dto import (
    CaseDetail,
    Changed,
    MessageView,
    StepRequest,
    UserView,
)
from caseapp.services.duplicates import MERGE_STEP, LikelyDuplicate
from caseapp.services.letters import STEP_AFTER_SENDING
from caseapp.workflow.machine import StepOption
from ui.dialogs.confirm import ask
from ui.dialogs.edit_request import EditRequestDialog, RequestChange
from ui.dialogs.message_viewer import MessageViewer
from ui.dialogs.party import PartyDialog, PartyEdit
from ui.dialogs.saving import SavingDialog
from ui.dialogs.step_input import Needs, StepInputDialog, StepValues
from ui.formatting import RESPONSE_SENT, method_text, types_long_text
from ui.models.history import HistoryModel
from ui.models.intake import MessagesModel
from ui.pages.letters_tab import LettersTab
from ui.pages.records_tab import RecordsTab
from ui.plain_labels import rich_label
from ui.tasks import Progress, TaskRunner
from ui.widgets.case_header import CaseHeader
from ui.widgets.claim_banner import ClaimBanner
from ui.widgets.compact_tabs import make_compact
from ui.widgets.deadlines import DeadlinePanel
from ui.widgets.duplicates_banner import DuplicatesBanner
from ui.widgets.notes import NotesPanel, TasksPanel
from ui.widgets.party_box import PartyBox
from ui.widgets.review_banner import ReviewBanner
from ui.widgets.step_bar import StepBar, needs_input

Mutation = Callable[[Desk], Changed]


def renew_interval_ms(lease: timedelta) -> int:
    """Renew a claim three times per lease: two renewals may fail before it lapses."""
    return max(int(lease.total_seconds() * 1000 / 3), 1000)


def shortcut_text(action: QAction) -> str:
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)


def with_shortcut(tip: str, action: QAction) -> str:
    """A tooltip that teaches the keyboard shortcut."""
    keys = shortcut_text(action)
    return f"{tip} ({keys})" if keys else tip


class CasePage(QWidget):
    changed = Signal(object)  # Changed, after a successful edit
    created = Signal(object)  # Changed, after an edit that made a new case (an appeal)
    shown = Signal(object)  # CaseDetail, whenever the page shows a (new) state
    open_requested = Signal(str)  # another case's ref, to show (e.g. a likely duplicate)

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self.detail: CaseDetail | None = None
        self._generation = 0
        self._target: str | None = None  # the case the page shows or is loading
        self._busy = False
        self._users: list[UserView] = []
        self._me: UserView | None = None
        self.active_dialog: QDialog | None = None
        self.merge_box: QMessageBox | None = None
        timezone = desk.clock.timezone
        self._timezone = timezone

        self.header = CaseHeader(timezone)
        # Who is working on the case (caseapp.services.claims): claim, renew, release.
        self.claim_banner = ClaimBanner(desk.clock)
        self.claim_banner.claim_requested.connect(lambda: self._claim_action("claim"))
        self.claim_banner.release_requested.connect(lambda: self._claim_action("release"))
        self.claim_banner.take_over_requested.connect(lambda: self._claim_action("take_over"))
        self.renew_timer = QTimer(self)
        self.renew_timer.setInterval(renew_interval_ms(desk.claim_lease))
        self.renew_timer.timeout.connect(self.renew_claim)
        self.renew_timer.start()
        # Made before the other buttons: Tab goes from the case list to the first step
        # that can be taken, then to the other actions.
        self.steps = StepBar(slots=len(desk.rules.workflow.transitions))
        self.steps.step_requested.connect(self._step_requested)
        self.closed_label = QLabel()
        self.closed_label.setWordWrap(True)
        steps_box = QGroupBox("Next steps")
        steps_layout = QVBoxLayout(steps_box)
        steps_layout.addWidget(self.steps)
        steps_layout.addWidget(self.closed_label)

        self._build_actions()
        self.assign_button = QPushButton("Assign")
        self.assign_menu = QMenu(self.assign_button)
        self.assign_menu.aboutToShow.connect(self._fill_assign_menu)
        self.assign_button.setMenu(self.assign_menu)
        self.extend_button = QPushButton("Extend deadline…")
        self.extend_button.clicked.connect(self._ask_extend)
        self.edit_request_button = QPushButton("Edit request…")
        self.edit_request_button.clicked.connect(self._ask_edit_request)
        self.appeal_button = QPushButton("Open appeal…")
        self.appeal_button.clicked.connect(self._ask_appeal)
        actions = QHBoxLayout()
        actions.addWidget(self.assign_button)
        actions.addWidget(self.extend_button)
        actions.addWidget(self.edit_request_button)
        actions.addWidget(self.appeal_button)
        actions.addStretch(1)

        self.review = ReviewBanner()
        self.review.edit_request_button.clicked.connect(self._ask_edit_request)
        self.review.edit_requester_button.clicked.connect(lambda: self._ask_party("requester"))
        self.review.confirm_button.clicked.connect(self.confirm_intake)
        self.review.confirm_button.setToolTip(with_shortcut(
            "The request types, requester and jurisdiction are right", self.confirm_action))
        self.review.hide()
        # Other cases of the same person (caseapp.services.duplicates), to merge into.
        self.duplicates = DuplicatesBanner()
        self.duplicates.open_requested.connect(self.open_requested.emit)
        self.duplicates.merge_requested.connect(self._ask_merge)

        self.deadlines = DeadlinePanel()
        self.tabs = QTabWidget()
        self.tabs.setMinimumHeight(280)
        self.tabs.setDocumentMode(True)  # flatter tabs: all seven fit the case pane
        make_compact(self.tabs)
        self.tabs.addTab(self._request_tab(), "Request")
        self.messages_model = MessagesModel(timezone, self)
        self.messages_proxy = QSortFilterProxyModel(self)
        self.messages_proxy.setSourceModel(self.messages_model)
        self.messages_proxy.setSortRole(MessagesModel.SortRole)
        self.messages = QTableView()
        self.messages.setModel(self.messages_proxy)
        self.messages.setSortingEnabled(True)
        self.messages.sortByColumn(MessagesModel.COL_DATE, Qt.SortOrder.AscendingOrder)
        self.messages.verticalHeader().hide()
        self.messages.setWordWrap(False)
        self.messages.setAlternatingRowColors(True)
        self.messages.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.messages.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.messages.setTabKeyNavigation(False)
        self.messages.setColumnWidth(MessagesModel.COL_DATE, 125)
        self.messages.setColumnWidth(MessagesModel.COL_DIRECTION, 28)
        self.messages.setColumnWidth(MessagesModel.COL_SENDER, 190)
        self.messages.setColumnWidth(MessagesModel.COL_SUBJECT, 260)
        self.messages.setColumnWidth(MessagesModel.COL_ATTACHMENTS, 40)
        self.messages.horizontalHeader().setStretchLastSection(False)
        self.messages.horizontalHeader().setSectionResizeMode(
            MessagesModel.COL_SUBJECT, QHeaderView.ResizeMode.Stretch)
        self.messages.setToolTip("Enter or double-click opens a message in the safe viewer")
        self.messages.activated.connect(lambda _index: self.open_message())
        self.tabs.addTab(self.messages, "Messages")
        self.records = RecordsTab(desk, runner)
        self.records.changed.connect(self._records_changed)
        self.addAction(self.records.lookup_action)  # Ctrl+L wherever the page has focus
        self.records.lookup_action.triggered.connect(
            lambda _checked=False: self.tabs.setCurrentWidget(self.records))
        self.tabs.addTab(self.records, "Records")
        self.letters = LettersTab(desk, runner)
        self.letters.changed.connect(self._records_changed)
        self.letters.went_out.connect(self._letter_went_out)
        self.letters.count_changed.connect(self._letters_counted)
        self.addAction(self.letters.new_letter_action)  # Ctrl+Shift+L on the page
        self.letters.new_letter_action.triggered.connect(
            lambda _checked=False: self.tabs.setCurrentWidget(self.letters))
        self._letter_offer: tuple[str, str, str] | None = None  # ref, step, what happened
        self.tabs.addTab(self.letters, "Letters")
        self.notes = NotesPanel(timezone)
        self.notes.note_submitted.connect(self._add_note)
        self.tabs.addTab(self.notes, "Notes")
        self.tasks = TasksPanel()
        self.tasks.task_done.connect(self._complete_task)
        self.tabs.addTab(self.tasks, "Tasks")
        self.history_model = HistoryModel(timezone, self)
        self.history = QTableView()
        self.history.setModel(self.history_model)
        self.history.verticalHeader().hide()
        self.history.setWordWrap(True)
        self.history.setAlternatingRowColors(True)
        self.history.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.history.setColumnWidth(HistoryModel.COL_WHEN, 125)
        self.history.setColumnWidth(HistoryModel.COL_WHO, 90)
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tabs.addTab(self.history, "History")

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.header)
        layout.addWidget(self.claim_banner)
        layout.addWidget(self.review)
        layout.addWidget(self.duplicates)
        layout.addWidget(steps_box)
        layout.addLayout(actions)
        layout.addWidget(self.deadlines)
        layout.addWidget(self.tabs, 1)
        # The banner shows above the steps, but Tab goes from the case list to the first
        # step (taking it claims the case), then the case actions, then the banner's button.
        previous: QWidget = self.appeal_button
        for button in (self.claim_banner.claim_button, self.claim_banner.release_button,
                       self.claim_banner.take_over_button):
            QWidget.setTabOrder(previous, button)
            previous = button
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the first step
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        self.placeholder = QLabel("Select a case in the list to see it here.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #5f6b76; font-size: 13pt;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(scroll)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)
        self._sync_actions()

    def _build_actions(self) -> None:
        """What the window's Case menu offers, with the keys a desk agent expects."""

        def action(text: str, slot: Callable[[], None], shortcut: str = "") -> QAction:
            made = QAction(text, self)
            if shortcut:
                made.setShortcut(QKeySequence(shortcut))
            made.triggered.connect(lambda _checked=False: slot())
            return made

        self.add_note_action = action("Add &note", self.focus_note, "Ctrl+Shift+N")
        self.assign_to_me_action = action("Assign to &me",
                                          lambda: self.assign(self._desk.username),
                                          "Ctrl+Shift+M")
        self.extend_action = action("&Extend deadline…", self._ask_extend)
        self.edit_request_action = action("Edit &request…", self._ask_edit_request, "Ctrl+E")
        self.edit_requester_action = action("Edit re&quester…",
                                            lambda: self._ask_party("requester"))
        self.appeal_action = action("Open &appeal…", self._ask_appeal)
        self.confirm_action = action("&Confirm the classification", self.confirm_intake,
                                     "Ctrl+Shift+C")
        self.messages_action = action("&Messages", self.focus_messages, "Ctrl+Shift+E")
        self.case_actions = [self.add_note_action, self.assign_to_me_action,
                             self.extend_action, self.edit_request_action,
                             self.edit_requester_action, self.appeal_action,
                             self.confirm_action, self.messages_action]

    def _request_tab(self) -> QWidget:
        self.requester_box = PartyBox("requester", "Requester")
        self.subject_box = PartyBox("subject", "Data subject")
        for box in (self.requester_box, self.subject_box):
            box.edit_requested.connect(self._ask_party)
        self.types_label = rich_label("")
        self.types_label.setWordWrap(True)
        self.verification_label = rich_label("")
        self.verification_label.setWordWrap(True)
        parties = QHBoxLayout()
        parties.addWidget(self.requester_box, 1)
        parties.addWidget(self.subject_box, 1)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addLayout(parties)
        layout.addWidget(self.types_label)
        layout.addWidget(self.verification_label)
        layout.addStretch(1)
        return tab

    # --- who is looking ------------------------------------------------------------------
    def set_users(self, me: UserView, users: list[UserView]) -> None:
        self._me = me
        self._users = users
        if self.detail is not None:
            self.show_detail(self.detail)

    def _can_override(self) -> bool:
        return self._me is not None and self._me.role in ("supervisor", "admin")

    # --- loading -------------------------------------------------------------------------
    def show_ref(self, ref: str) -> None:
        """Load a case in the background and show it (a later call wins)."""
        if self.detail is not None and self.detail.ref != ref:
            self.release_claim()  # the case is closed in this window: let others have it
        self._generation += 1
        generation = self._generation
        self._target = ref
        desk = self._desk

        def shown(detail: CaseDetail) -> None:
            if generation != self._generation:
                return
            current = self.detail
            if current is not None and current.ref == detail.ref and (
                    current.version > detail.version):
                return  # a change saved meanwhile is newer than what was read
            self.show_detail(detail)

        self._runner.run(lambda _p: desk.get_case(ref), label=f"Opening {ref}", on_done=shown)

    def reload(self) -> None:
        if self.detail is not None:
            self.show_ref(self.detail.ref)
            self.records.reload()
            self.letters.reload()

    def _records_changed(self, ref: str) -> None:
        """Notices and manual searches add tasks and notes: show the case as it is now."""
        if self.showing(ref):
            self.show_ref(ref)

    def clear(self) -> None:
        self._generation += 1
        self._target = None
        self.detail = None
        self.records.clear()
        self.letters.clear()
        self.stack.setCurrentIndex(0)
        self._sync_actions()

    def showing(self, ref: str) -> bool:
        """True while the page shows (or is loading) this case."""
        return self._target == ref

    def show_detail(self, detail: CaseDetail) -> None:
        self.detail = detail
        self._target = detail.ref
        self.header.set_case(detail)
        self._show_claim(detail)
        self.steps.set_steps(detail.steps, can_override=self._can_override())
        self.steps.setVisible(bool(detail.steps))
        self.closed_label.setVisible(not detail.is_open)
        self.closed_label.setText(
            f"This case is {detail.status_label.lower()}. If the requester disagrees with "
            "the decision, open an appeal: a new case linked to this one, with its own clock.")
        self._update_actions(detail)
        response_sent = detail.status == RESPONSE_SENT
        self.deadlines.set_deadlines(detail.deadlines, is_open=detail.is_open,
                                     response_sent=response_sent,
                                     sent_on=detail.deadlines.responded_on)
        self.requester_box.set_party(detail.requester)
        self.subject_box.set_party(detail.subject, same_as_requester=detail.subject_is_requester)
        self.types_label.setText("<b>Request types:</b> " + html.escape(types_long_text(
            detail.request_types).replace("\n", ", ")))
        self.verification_label.setText(
            f"<b>Identity verified by:</b> "
            f"{html.escape(method_text(detail.verification_method))}"
            if detail.verification_method else "<b>Identity:</b> not verified yet")
        self.notes.set_notes(detail.notes)
        self.tasks.set_tasks(detail.tasks)
        self.history_model.set_entries(detail.history)
        self.records.set_case(detail.ref, request_types=detail.request_types,
                              is_open=detail.is_open)
        self.letters.set_case(detail)
        self.messages_model.set_rows(detail.messages)
        tab = self.tabs.indexOf
        self.tabs.setTabText(tab(self.messages), f"Messages ({len(detail.messages)})")
        self.tabs.setTabText(tab(self.notes), f"Notes ({len(detail.notes)})")
        open_tasks = self.tasks.open_count()
        self.tabs.setTabText(tab(self.tasks), f"Tasks ({open_tasks})")
        self.tabs.setTabToolTip(tab(self.tasks), f"{open_tasks} open task(s)")
        self.tabs.setTabText(tab(self.history), f"History ({len(detail.history)})")
        self.review.setVisible(detail.intake_review)
        if detail.intake_review:
            self.review.proposal.setText(
                f"Proposed: {types_long_text(detail.request_types).replace(chr(10), ', ')}"
                f" · {detail.jurisdiction_name} · requester "
                f"{detail.requester.name or detail.requester.email or '(unknown)'}"
                + (" · a child's data" if detail.is_child else "")
                + (" · via an agent" if detail.via_agent else "")
                + ("" if detail.is_privacy_request else " · not a privacy request?"))
        self._load_duplicates(detail)
        self.stack.setCurrentIndex(1)
        self.shown.emit(detail)
        self._offer_letter_step(detail)

    # --- who is working on it (caseapp.services.claims) ---------------------------------
    def _holds(self, detail: CaseDetail | None) -> bool:
        claim = detail.claim if detail is not None else None
        return claim is not None and claim.live and claim.holder == self._desk.username

    def _show_claim(self, detail: CaseDetail) -> None:
        self.claim_banner.set_claim(detail.claim, self._desk.username,
                                    can_take_over=self._can_override(), busy=self._busy)

    def _claim_action(self, what: str) -> None:
        """The banner's buttons: claim, release or take over, then show the case again."""
        detail = self.detail
        if detail is None:
            return
        ref, desk = detail.ref, self._desk
        call = {"claim": desk.claim_case, "release": desk.release_claim,
                "take_over": desk.take_over_claim}[what]
        label = {"claim": "Claiming", "release": "Releasing",
                 "take_over": "Taking over"}[what]

        def done(_result: object) -> None:
            if self.showing(ref):
                self.show_ref(ref)

        def failed(error: BaseException) -> None:
            self._runner.report(error)
            if self.showing(ref):
                self.show_ref(ref)  # show who holds it now

        self._runner.run(lambda _p: call(ref), label=f"{label} {ref}", on_done=done,
                         on_error=failed)

    def renew_claim(self) -> None:
        """Every third of the lease: keep the claim on the case open here alive."""
        detail = self.detail
        if not self._holds(detail) or self._desk.writes_held():  # a check holds writes
            return
        assert detail is not None
        ref, desk = detail.ref, self._desk

        def done(result: ClaimResult) -> None:
            if not result.mine and self.showing(ref):
                self.show_ref(ref)  # it went to someone else meanwhile: say so

        self._runner.run(lambda _p: desk.renew_claim(ref), label=f"Renewing the claim on {ref}",
                         on_done=done)

    def release_claim(self) -> None:
        """The case is no longer open here (another case shown, the window closing)."""
        detail = self.detail
        if not self._holds(detail) or self._desk.writes_held():  # its lease lapses
            return
        assert detail is not None
        ref, desk = detail.ref, self._desk
        self._runner.run(lambda _p: desk.release_claim(ref),
                         label=f"Releasing {ref}", on_done=lambda _result: None)

    def _load_duplicates(self, detail: CaseDetail) -> None:
        """Look for the person's other cases in the background (open cases only)."""
        if not detail.is_open:
            self.duplicates.set_found((), detail.ref)
            return
        if self.duplicates.isVisible() and self.duplicates.property("ref") != detail.ref:
            self.duplicates.set_found((), detail.ref)  # not another case's banner meanwhile
        desk, ref, generation = self._desk, detail.ref, self._generation

        def found(result: tuple[LikelyDuplicate, ...]) -> None:
            if generation == self._generation and self.showing(ref):
                self.duplicates.setProperty("ref", ref)
                self.duplicates.set_found(result, ref)

        self._runner.run(lambda _p: desk.likely_duplicates(ref),
                         label=f"Looking for other cases of {ref}'s person", on_done=found)

    def _ask_merge(self, target: str) -> None:
        """Merge the shown case into ``target``: the "Mark as duplicate" step, confirmed."""
        detail = self.detail
        if detail is None:
            return
        option = next((o for o in detail.steps if o.name == MERGE_STEP), None)
        if option is None or not option.allowed:
            why = option.why_not if option is not None else "not from its present state"
            self.merge_box = ask(self, "Merge", f"{detail.ref} cannot be merged now: {why}",
                                 "OK", lambda: None)
            return
        ref = detail.ref
        self.merge_box = ask(
            self, f"Merge {ref} into {target}",
            f"Mark {ref} as a duplicate of {target}?\n\nIts messages, scans and notes move "
            f"to {target}, its request types are added there, and {target}'s deadline runs "
            f"from the earlier of the two requests. {ref} is then closed as a duplicate.",
            f"Merge into {target}",
            lambda: self.take_step(option, StepValues(other_case=target)))

    def _update_actions(self, detail: CaseDetail) -> None:
        busy = self._busy
        deadlines = detail.deadlines
        self.extend_button.setEnabled(
            not busy and detail.is_open and deadlines.extension_possible)
        if not detail.is_open:
            why = "Only open cases can be extended."
        elif deadlines.extended:
            why = "The one extension the law allows was already used."
        elif not deadlines.extension_possible:
            why = "This case's request types allow no extension."
        else:
            why = "Use the one extension the law allows; the reason goes into the notice."
        self.extend_button.setToolTip(why)
        locked = detail.request_locked_reason
        self.edit_request_button.setEnabled(not busy and not locked)
        self.edit_request_button.setToolTip(locked or with_shortcut(
            "Change the request types, jurisdiction, received date, priority, summary or "
            "language; the due dates follow", self.edit_request_action))
        self.appeal_button.setVisible(detail.can_appeal)
        self.appeal_button.setEnabled(not busy)
        self.assign_button.setEnabled(not busy)
        self.assign_button.setText(f"Assigned: {detail.assignee}" if detail.assignee
                                   else "Assign")
        self.assign_button.setToolTip(
            "Assign the case to someone (or to nobody); to yourself: "
            + shortcut_text(self.assign_to_me_action))
        for box in (self.requester_box, self.subject_box):
            box.edit_button.setEnabled(not busy and detail.is_open)
            box.edit_button.setToolTip("" if detail.is_open else
                                       f"{detail.ref} is decided: its parties are no "
                                       "longer changed.")
        self.notes.add_button.setToolTip(with_shortcut(
            "Add the note to the case", self.add_note_action))
        self.review.confirm_button.setEnabled(not busy)
        self.review.edit_request_button.setEnabled(self.edit_request_button.isEnabled())
        self.review.edit_request_button.setToolTip(self.edit_request_button.toolTip())
        self.review.edit_requester_button.setEnabled(
            self.requester_box.edit_button.isEnabled())
        self._sync_actions()

    def _sync_actions(self) -> None:
        """The Case menu follows the buttons."""
        detail = self.detail
        if detail is None:
            for action in self.case_actions:
                action.setEnabled(False)
            return
        busy = self._busy
        self.add_note_action.setEnabled(not busy)
        self.assign_to_me_action.setEnabled(
            not busy and detail.assignee != self._desk.username)
        self.extend_action.setEnabled(self.extend_button.isEnabled())
        self.edit_request_action.setEnabled(self.edit_request_button.isEnabled())
        self.edit_requester_action.setEnabled(self.requester_box.edit_button.isEnabled())
        self.appeal_action.setEnabled(detail.can_appeal and self.appeal_button.isEnabled())
        self.confirm_action.setEnabled(not busy and detail.intake_review)
        self.messages_action.setEnabled(True)
        for action, button in ((self.extend_action, self.extend_button),
                               (self.edit_request_action, self.edit_request_button),
                               (self.appeal_action, self.appeal_button)):
            action.setToolTip(button.toolTip())
            action.setStatusTip(button.toolTip())

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.steps.set_busy(busy)
        if self.detail is not None:
            self._show_claim(self.detail)
        self.notes.add_button.setEnabled(
            not busy and bool(self.notes.editor.toPlainText().strip()))
        if self.detail is not None:
            self._update_actions(self.detail)
        else:
            self._sync_actions()

    # --- keyboard ------------------------------------------------------------------------
    def focus_note(self) -> None:
        """Ctrl+Shift+N: straight into the note box."""
        self.tabs.setCurrentWidget(self.notes)
        self.notes.editor.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _focus_in_steps(self) -> bool:
        focused = self.window().focusWidget()
        return focused is not None and self.steps.isAncestorOf(focused)

    def focus_first_step(self) -> None:
        """After a step, the next one is where the keyboard is."""
        button = self.steps.first_allowed()
        if button is not None:
            button.setFocus(Qt.FocusReason.OtherFocusReason)
        elif self.steps.more_button.isVisible():
            self.steps.more_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def focus_messages(self) -> None:
        """Ctrl+Shift+E: the case's messages, ready for Enter."""
        self.tabs.setCurrentWidget(self.messages)
        self.messages.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if not self.messages.currentIndex().isValid() and self.messages_proxy.rowCount():
            self.messages.setCurrentIndex(self.messages_proxy.index(0, 0))

    # --- messages ------------------------------------------------------------------------
    def current_message(self) -> MessageView | None:
        return self.messages_model.row_at(
            self.messages_proxy.mapToSource(self.messages.currentIndex()))

    def open_message(self, message_db_id: int | None = None) -> None:
        """The safe viewer on a message of the case (the current one by default)."""
        if message_db_id is None:
            current = self.current_message()
            if current is None:
                return
            message_db_id = current.id
        self._open(MessageViewer(self._desk, self._runner, message_db_id, self))

    # --- changing the case ---------------------------------------------------------------
    def _mutate(self, label: str, mutation: Mutation,
                then: Callable[[], None] | None = None, *, creates: bool = False,
                dialog: SavingDialog | None = None) -> None:
        """Run a change in the background; show its result if the page still shows that
        case; tell the dialog it came from (if any) whether it went through."""
        desk = self._desk
        ref = self.detail.ref if self.detail is not None else None
        refocus = self._focus_in_steps()
        self._set_busy(True)

        def done(changed: Changed) -> None:
            self._set_busy(False)
            if dialog is not None and shiboken6.isValid(dialog):
                dialog.saved()
            if self.showing(changed.case.ref):
                self.show_detail(changed.case)
                if refocus:
                    self.focus_first_step()
            if then is not None:
                then()
            (self.created if creates else self.changed).emit(changed)

        def failed(error: BaseException) -> None:
            self._set_busy(False)
            inline = (dialog is not None and shiboken6.isValid(dialog)
                      and dialog.save_failed(error))
            if not inline:
                self._runner.report(error)
            if isinstance(error, StaleEdit) and ref is not None and self.showing(ref):
                self.show_ref(ref)  # the typed text stays in the dialog, to try again

        def run(_progress: Progress) -> Changed:
            return mutation(desk)

        self._runner.run(run, label=label, on_done=done, on_error=failed)

    def _open(self, dialog: QDialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.active_dialog = dialog
        dialog.open()

    def _version(self) -> int | None:
        """The version the page shows now (after a reload, the reloaded one)."""
        return self.detail.version if self.detail is not None else None

    def _step_requested(self, option: StepOption) -> None:
        detail = self.detail
        if detail is None:
            return
        if not needs_input(option):
            self.take_step(option, StepValues())
            return
        intro = option.help or f"{option.label}: {detail.ref}"
        if option.overridable and not option.allowed:
            intro = f"{option.why_not}\n\n{intro}" if option.help else option.why_not
        needs = Needs(reason=option.requires_reason, case=option.requires_case,
                      method=option.requires_method,
                      override=option.overridable and self._can_override())
        dialog = StepInputDialog(f"{detail.ref}: {option.label}", intro, needs, self)
        dialog.submitted.connect(lambda values: self.take_step(option, values, dialog))
        self._open(dialog)

    def take_step(self, option: StepOption, values: StepValues,
                  dialog: SavingDialog | None = None) -> None:
        detail = self.detail
        if detail is None:
            return
        request = StepRequest(step=option.name, reason=values.reason,
                              other_case=values.other_case, method=values.method,
                              override=values.override, expected_version=detail.version)
        ref = detail.ref
        self._mutate(f"{option.label}: {ref}", lambda desk: desk.take_step(ref, request),
                     dialog=dialog)

    def _ask_extend(self) -> None:
        detail = self.detail
        if detail is None or not self.extend_button.isEnabled():
            return
        dialog = StepInputDialog(
            f"{detail.ref}: extend the deadline",
            "The law allows one extension, noticed to the requester before the first "
            "deadline. Say why more time is needed; the reason goes into the notice.",
            Needs(reason=True), self)
        ref = detail.ref

        def extend(values: StepValues) -> None:
            version = self._version()
            self._mutate(f"Extending {ref}",
                         lambda desk: desk.extend(ref, values.reason, version), dialog=dialog)

        dialog.submitted.connect(extend)
        self._open(dialog)

    def _ask_edit_request(self) -> None:
        detail = self.detail
        if detail is None or not self.edit_request_button.isEnabled():
            return
        dialog = EditRequestDialog(detail, self._desk.rules.jurisdictions,
                                   self._desk.clock.today(), self)
        ref = detail.ref

        def update(change: RequestChange) -> None:
            # The version the dialog's values start from: a change saved by someone else
            # meanwhile makes it stale, and the dialog offers to merge (never overwrites).
            version = change.base_version if change.base_version is not None else (
                self._version())
            self._mutate(f"Saving {ref}", lambda desk: desk.update_case(
                ref, version, request_types=change.request_types,
                jurisdiction=change.jurisdiction, received_on=change.received_on,
                priority=change.priority, summary=change.summary,
                language=change.language), dialog=dialog)

        dialog.submitted.connect(update)
        self._open(dialog)

    def _ask_appeal(self) -> None:
        detail = self.detail
        if detail is None or not detail.can_appeal:
            return
        dialog = StepInputDialog(
            f"{detail.ref}: open an appeal",
            "The appeal becomes a new case linked to this one, with its own deadline.",
            Needs(reason=True, reason_label="What is appealed",
                  date_up_to=self._desk.clock.today(), date_label="Appeal received on"),
            self)
        ref = detail.ref
        dialog.submitted.connect(lambda values: self._mutate(
            f"Opening an appeal of {ref}",
            lambda desk: desk.open_appeal(ref, values.reason, values.received_on),
            creates=True, dialog=dialog))
        self._open(dialog)

    def _fill_assign_menu(self) -> None:
        self.assign_menu.clear()
        me = self._desk.username
        mine = self.assign_menu.addAction(f"Me ({me})", lambda: self.assign(me))
        mine.setShortcut(self.assign_to_me_action.shortcut())  # shown, not registered twice
        mine.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.assign_menu.addSeparator()
        for user in self._users:
            if user.active and user.username != me:
                text = f"{user.display_name} ({user.username})" if (
                    user.display_name != user.username) else user.username
                self.assign_menu.addAction(text, partial(self.assign, user.username))
        self.assign_menu.addSeparator()
        self.assign_menu.addAction("Nobody", lambda: self.assign(None))

    def assign(self, username: str | None) -> None:
        detail = self.detail
        if detail is None or self._busy:
            return
        ref, version = detail.ref, detail.version
        self._mutate(f"Assigning {ref}", lambda desk: desk.assign(ref, username, version))

    def _ask_party(self, role: str) -> None:
        detail = self.detail
        if detail is None or not self.requester_box.edit_button.isEnabled():
            return
        dialog = PartyDialog(detail, role, self)
        ref = detail.ref

        def update(edit: PartyEdit) -> None:
            # The version the dialog's values start from (not the page's, which a change
            # heard meanwhile reloads): a stale save is refused and the dialog merges.
            self._mutate(f"Saving {ref}", lambda desk: desk.update_party(
                ref, edit.role, edit.data, edit.base_version), dialog=dialog)

        dialog.submitted.connect(update)
        self._open(dialog)

    def _add_note(self, text: str) -> None:
        detail = self.detail
        if detail is None:
            return
        ref = detail.ref

        def clear_editor() -> None:  # unless something else was typed meanwhile
            if self.notes.editor.toPlainText().strip() == text:
                self.notes.clear_editor()

        self._mutate(f"Adding a note to {ref}", lambda desk: desk.add_note(ref, text),
                     then=clear_editor)

    def confirm_intake(self) -> None:
        """Staff checked what the classifier proposed: the case leaves "To review"."""
        detail = self.detail
        if detail is None or not detail.intake_review or self._busy:
            return
        ref, version = detail.ref, detail.version
        self._mutate(f"Confirming {ref}", lambda desk: desk.confirm_intake(ref, version))

    def _complete_task(self, task_id: int) -> None:
        detail = self.detail
        if detail is None:
            return
        ref = detail.ref
        self._mutate(f"Completing a task of {ref}",
                     lambda desk: desk.complete_task(ref, task_id))

    # --- letters -------------------------------------------------------------------------
    def _letters_counted(self, count: int) -> None:
        index = self.tabs.indexOf(self.letters)
        self.tabs.setTabText(index, f"Letters ({count})" if self.detail else "Letters")
        self.tabs.setTabToolTip(index, f"{count} letter(s) issued; New letter: "
                                       f"{shortcut_text(self.letters.new_letter_action)}")

    def _letter_went_out(self, ref: str, kind: str, what: str) -> None:
        """A letter that completes a step (the acknowledgement, the response) went out:
        recorded as mailed, emailed, or printed to be mailed (never merely issued: the
        step's date is when the requester was answered). Once the case is reloaded, ask
        whether to take the step."""
        step = STEP_AFTER_SENDING.get(kind)
        if step is not None and self.showing(ref):
            self._letter_offer = (ref, step, what)
            self.show_ref(ref)

    def _offer_letter_step(self, detail: CaseDetail) -> None:
        offer = self._letter_offer
        if offer is None or offer[0] != detail.ref:
            return
        self._letter_offer = None
        _ref, step, what = offer
        option = next((o for o in detail.steps if o.name == step), None)
        if option is None or not option.allowed or needs_input(option):
            return  # the case cannot take it now: nothing to offer
        after = {"acknowledge": "acknowledged",
                 "approve_and_send": "response sent"}.get(step, option.label.lower())
        self.active_dialog = ask(
            self, f"{detail.ref}: {option.label}",
            f"{what} Move the case on to “{after}” now?\n\n"
            f"{option.help}".rstrip(),
            option.label, lambda: self.take_step(option, StepValues()))
