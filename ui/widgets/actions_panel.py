"""The case's actions on its records: propose one (and see its preview), approve it (never
the one who proposed it), run it (a deletion only after "irreversible" was confirmed),
verify it again, or withdraw it with a reason."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from caseapp.records.action_model import ActionProgress
from caseapp.services import Desk
from caseapp.services.dto import RecordActionView
from ui.dialogs.action_preview import ActionPreviewDialog
from ui.dialogs.confirm import ask
from ui.dialogs.new_action import ActionChoice, NewActionDialog
from ui.dialogs.step_input import Needs, StepInputDialog
from ui.models.records import ActionsModel
from ui.tasks import Progress
from ui.widgets.flow_layout import FlowLayout
from ui.widgets.records_changes import RecordChanges
from ui.widgets.rows_table import RowsTable

A = ActionsModel
GOOD_STYLE = "color: #1e6b34; font-weight: bold;"
BAD_STYLE = "color: #b3261e; font-weight: bold;"
HitsForAction = Callable[[], tuple[int, tuple[int, ...]]]
"""(how many records are confirmed, the ids of those selected in the list)."""


def outcome_text(action: RecordActionView) -> str:
    """One line (and the problems per system) on where an action stands."""
    head = f"Action {action.id} ({action.kind_label}): {action.status_label}"
    if action.status == "verified":
        systems = len({run.source for run in action.runs})
        return f"{head}. {action.rows_changed} row(s) changed in {systems} system(s)."
    if action.awaiting_approval:
        return f"{head}: {action.requested_by} proposed it; a second person approves it."
    if action.status == "approved":
        return f"{head}. {action.rows_planned} row(s) will change."
    if action.status == "withdrawn":
        return f"{head}: {action.withdrawn_reason}"
    problems = action.problems
    return head + (".\n" + "\n".join(problems) if problems else ".")


class ActionsPanel(QWidget):
    def __init__(self, changes: RecordChanges, timezone: str, hits_for_action: HitsForAction,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._changes = changes
        self._timezone = timezone
        self._hits_for_action = hits_for_action
        self.request_types: tuple[str, ...] = ()
        self.case_open = True
        self.model = ActionsModel(timezone, self)
        self.table: RowsTable[RecordActionView] = RowsTable(
            self.model,
            widths={A.COL_ID: 40, A.COL_ACTION: 160, A.COL_STATUS: 150, A.COL_REQUESTED: 95,
                    A.COL_APPROVED: 95, A.COL_ROWS: 150, A.COL_WHEN: 120})
        self.table.setToolTip("Enter or double-click shows what the action does (or did)")
        self.table.activated.connect(lambda _index: self.preview())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.update_buttons())
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        self.new_button = QPushButton("New action…")
        self.new_button.setToolTip("Delete, correct, opt out or stop sharing the confirmed "
                                   "records; a preview shows what would change")
        self.new_button.clicked.connect(self.ask_new)
        self.preview_button = QPushButton("Preview…")
        self.preview_button.setToolTip("Every row the action changes (before → after), the "
                                       "rows kept and why, whom to notify")
        self.preview_button.clicked.connect(self.preview)
        self.approve_button = QPushButton("Approve")
        self.approve_button.clicked.connect(self.approve)
        self.run_button = QPushButton("Run…")
        self.run_button.clicked.connect(self.ask_run)
        self.verify_button = QPushButton("Verify again")
        self.verify_button.setToolTip("Read the systems again: deleted rows gone, changed "
                                      "rows as set, nothing else touched")
        self.verify_button.clicked.connect(self.verify)
        self.withdraw_button = QPushButton("Withdraw…")
        self.withdraw_button.clicked.connect(self.ask_withdraw)
        buttons = FlowLayout()
        for button in (self.new_button, self.preview_button, self.approve_button,
                       self.run_button, self.verify_button, self.withdraw_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.outcome)
        layout.addLayout(buttons)
        changes.busy_changed.connect(lambda _busy: self.update_buttons())
        self.set_actions(())

    def set_actions(self, actions: tuple[RecordActionView, ...]) -> None:
        self.table.set_rows(actions, key=lambda action: action.id)
        if actions and not self.table.selected_rows():
            self.select(actions[-1].id)
        self.update_buttons()

    def select(self, action_id: int) -> None:
        self.table.select_where(lambda action: action.id == action_id)
        self.update_buttons()

    def current(self) -> RecordActionView | None:
        rows = self.table.selected_rows()
        return rows[0] if rows else None

    def update_buttons(self) -> None:
        action = self.current()
        busy = self._changes.busy
        me = self._changes.username
        self.new_button.setEnabled(not busy and self.case_open)
        self.new_button.setToolTip(self.new_button.toolTip() if self.case_open else
                                   "The case is closed: its records are no longer changed.")
        self.preview_button.setEnabled(action is not None)
        mine = action is not None and action.requested_by == me
        self.approve_button.setEnabled(not busy and action is not None
                                       and action.awaiting_approval and not mine)
        if action is None or not action.awaiting_approval:
            approve_why = "Only an action awaiting approval is approved."
        elif mine:
            approve_why = ("Four-eyes rule: you proposed this action, so someone else must "
                           "approve it.")
        else:
            approve_why = f"Approve what {action.requested_by} proposed (see Preview…)."
        self.approve_button.setToolTip(approve_why)
        self.run_button.setEnabled(not busy and action is not None and action.runnable)
        if action is not None and action.awaiting_approval:
            run_why = "A second person approves it first."
        elif action is not None and action.done:
            run_why = "It already ran."
        else:
            run_why = "Carry it out in every system, then verify it."
        self.run_button.setToolTip(run_why)
        self.verify_button.setEnabled(not busy and action is not None and action.done)
        self.withdraw_button.setEnabled(
            not busy and action is not None and not action.runs
            and action.status in ("awaiting_approval", "approved"))
        self.withdraw_button.setToolTip(
            "Drop it, with the reason why" if action is None or not action.runs else
            "It already ran in the customer systems: run it again to finish it instead.")
        self.outcome.setVisible(action is not None)
        if action is not None:
            self.outcome.setText(outcome_text(action))
            bad = action.status in ("incomplete", "verify_failed")
            self.outcome.setStyleSheet(BAD_STYLE if bad else GOOD_STYLE
                                       if action.status == "verified" else "")

    # --- what staff do -------------------------------------------------------------------
    def ask_new(self) -> None:
        ref = self._changes.ref
        if ref is None or not self.new_button.isEnabled():
            return
        confirmed, selected = self._hits_for_action()
        dialog = NewActionDialog(ref, self.request_types, confirmed, selected, self)

        def propose(choice: ActionChoice) -> None:
            self._changes.run(
                f"Previewing the {choice.kind.replace('_', ' ')} for {ref}",
                lambda desk, _p: desk.propose_action(
                    ref, choice.kind, hit_ids=choice.hit_ids,
                    corrections=choice.corrections or None),
                dialog=dialog, then=self._proposed)

        dialog.submitted.connect(propose)
        self._changes.open(dialog)

    def _proposed(self, action: RecordActionView) -> None:
        self.select(action.id)
        self.show_preview(action)

    def preview(self) -> None:
        action = self.current()
        if action is not None:
            self.show_preview(action)

    def show_preview(self, action: RecordActionView) -> ActionPreviewDialog:
        dialog = ActionPreviewDialog(action, self._timezone, self)
        self._changes.open(dialog)
        return dialog

    def approve(self) -> None:
        action = self.current()
        if action is None or not self.approve_button.isEnabled():
            return
        ref, action_id = action.case_ref, action.id
        self._changes.run(f"Approving action {action_id} of {ref}",
                          lambda desk, _p: desk.approve_action(ref, action_id),
                          then=lambda done: self.select(done.id))

    def ask_run(self) -> None:
        action = self.current()
        if action is None or not self.run_button.isEnabled():
            return
        if action.kind != "delete":
            self.run(action)
            return
        systems = len(action.plan.sources)
        ask(self, f"{action.case_ref}: run the deletion?",
            f"This deletes or de-identifies {action.rows_planned} row(s) in {systems} "
            "system(s), as the preview shows. It is irreversible: only a suppression entry "
            "(hashed identifiers) is kept, so that the person is not added again.",
            "Delete now", lambda: self.run(action), warning=True)

    def run(self, action: RecordActionView) -> None:
        ref, action_id = action.case_ref, action.id
        labels = {source.source: source.label for source in action.plan.sources}
        tables = {(source.source, table.table): table.label
                  for source in action.plan.sources for table in source.tables}

        def execute(desk: Desk, progress: Progress) -> RecordActionView:
            def report(step: ActionProgress) -> None:
                table = tables.get((step.source, step.table), step.table)
                progress.set(step.done, step.total,
                             f"{labels.get(step.source, step.source)}, {table}")

            return desk.execute_action(ref, action_id, progress=report,
                                       cancel=lambda: progress.cancelled)

        self._changes.run(f"Running action {action_id} ({action.kind_label}) of {ref}",
                          execute, cancellable=True, then=lambda done: self.select(done.id))

    def verify(self) -> None:
        action = self.current()
        if action is None or not self.verify_button.isEnabled():
            return
        ref, action_id = action.case_ref, action.id
        self._changes.run(f"Verifying action {action_id} of {ref}",
                          lambda desk, _p: desk.verify_action(ref, action_id),
                          then=lambda done: self.select(done.id))

    def ask_withdraw(self) -> None:
        action = self.current()
        if action is None or not self.withdraw_button.isEnabled():
            return
        dialog = StepInputDialog(
            f"{action.case_ref}: withdraw action {action.id}",
            f"{action.kind_label} of {action.rows_planned} row(s), proposed by "
            f"{action.requested_by}. Say why it is withdrawn; nothing is changed in the "
            "customer systems.", Needs(reason=True), self)
        ref, action_id = action.case_ref, action.id
        dialog.submitted.connect(lambda values: self._changes.run(
            f"Withdrawing action {action_id} of {ref}",
            lambda desk, _p: desk.withdraw_action(ref, action_id, values.reason),
            dialog=dialog))
        self._changes.open(dialog)
