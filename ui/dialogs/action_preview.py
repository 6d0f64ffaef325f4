"""What an action does (or did): per system and table, each row's change before → after,
the rows that follow, the rows a retention rule keeps (reason and legal basis), what was
already done, whom to notify; once run, the outcome per system and its verification.

Everything is shown as plain text in a read-only tree: record values are never markup.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from caseapp.records.action_model import ActionPlan, SourcePlan, TablePlan, Value
from caseapp.services.dto import RecordActionView
from caseapp.vocabulary import RECIPIENT_KIND_LABELS, RECORD_CATEGORY_LABELS
from ui.formatting import moment_text, plain_tooltip

OPERATION_TEXT = {"delete": "row(s) deleted", "update": "row(s) changed",
                  "none": "row(s) left as they are"}
RUN_STATE_TEXT = {
    "done": "done", "already_done": "already done earlier", "nothing_to_do": "nothing to do",
    "failed": "FAILED", "unreachable": "could not be reached: NOT done",
    "refused": "refused: NOT done", "cancelled": "cancelled: NOT done",
}
CHECK_STATE_TEXT = {"verified": "verified", "failed": "verification FAILED",
                    "not_run": "not verified (did not run)",
                    "unreachable": "could not be reached: NOT verified"}
MAX_KEYS = 12
EXPAND_UP_TO = 40  # a table with more changed rows starts collapsed


def value_text(value: Value) -> str:
    if value is None:
        return "(empty)"
    return str(value)


def keys_text(keys: Iterable[str]) -> str:
    keys = list(keys)
    shown = ", ".join(keys[:MAX_KEYS])
    return shown + (f" … and {len(keys) - MAX_KEYS} more" if len(keys) > MAX_KEYS else "")


def action_facts(action: RecordActionView, timezone: str) -> str:
    """Who proposed, approved, ran and verified it, and when (one line each)."""
    lines = [f"Proposed by {action.requested_by} on "
             f"{moment_text(action.requested_at, timezone)}."]
    if action.approved_by and action.approved_at is not None:
        lines.append(f"Approved by {action.approved_by} on "
                     f"{moment_text(action.approved_at, timezone)}.")
    elif action.awaiting_approval:
        lines.append("Awaiting approval by a second person (four-eyes rule).")
    if action.executed_at is not None:
        lines.append(f"Run by {action.executed_by} on "
                     f"{moment_text(action.executed_at, timezone)}.")
    if action.verified_at is not None:
        lines.append(f"Verified by {action.verified_by} on "
                     f"{moment_text(action.verified_at, timezone)}.")
    if action.withdrawn_reason:
        lines.append(f"Withdrawn: {action.withdrawn_reason}")
    return "\n".join(lines)


class ActionPreviewDialog(QDialog):
    def __init__(self, action: RecordActionView, timezone: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.action = action
        self.setWindowTitle(f"{action.case_ref}: action {action.id}, {action.kind_label}")
        self.resize(820, 600)
        systems = len(action.plan.sources)
        self.heading = QLabel(f"{action.kind_label} — {action.status_label}")
        font = QFont(self.heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.heading.setFont(font)
        self.summary = QLabel(f"{action.rows_planned} row(s) planned in {systems} system(s)"
                              + (f"; {action.rows_changed} changed so far." if action.runs
                                 else ".") + "\n" + action_facts(action, timezone))
        self.summary.setWordWrap(True)
        self.wiped = QLabel("What the rows held before is no longer kept: it was wiped once "
                            "the action ran (or was withdrawn).")
        self.wiped.setWordWrap(True)
        self.wiped.setStyleSheet("color: #5f6b76;")
        self.wiped.setVisible(_wiped(action))
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["What", "Change, reason or detail"])
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setStretchLastSection(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.setColumnWidth(0, 360)
        self._bold = QFont(self.tree.font())
        self._bold.setBold(True)
        self._fill(action)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        if close is not None:
            close.setDefault(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.summary)
        layout.addWidget(self.wiped)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)

    # --- the tree ------------------------------------------------------------------------
    def _item(self, parent: QTreeWidget | QTreeWidgetItem, what: str, detail: str = "", *,
              bold: bool = False) -> QTreeWidgetItem:
        item = QTreeWidgetItem([what, detail])  # plain text, whatever the values hold
        for column, text in enumerate((what, detail)):
            if text:
                item.setToolTip(column, plain_tooltip(text) or "")
        if bold:
            item.setFont(0, self._bold)
        if isinstance(parent, QTreeWidget):
            parent.addTopLevelItem(item)
        else:
            parent.addChild(item)
        return item

    def _fill(self, action: RecordActionView) -> None:
        if action.runs or action.verification is not None:
            self._outcome(action)
        for source in action.plan.sources:
            self._source(source)
        self._notices(action.plan)
        self.tree.expandAll()
        for top in self._top_items():
            for child in range(top.childCount()):
                table = top.child(child)
                if table is not None and table.childCount() > EXPAND_UP_TO:
                    table.setExpanded(False)

    def _top_items(self) -> list[QTreeWidgetItem]:
        items = (self.tree.topLevelItem(n) for n in range(self.tree.topLevelItemCount()))
        return [item for item in items if item is not None]

    def _outcome(self, action: RecordActionView) -> None:
        top = self._item(self.tree, "Outcome", action.status_label, bold=True)
        if action.result is not None:
            for result in action.result.sources:
                state = RUN_STATE_TEXT.get(result.state, result.state)
                item = self._item(top, result.label,
                                  f"{state}: {result.rows_changed} row(s) changed")
                if result.problem:
                    self._item(item, "Problem", result.problem)
        if action.verification is not None:
            for checked in action.verification.sources:
                state = CHECK_STATE_TEXT.get(checked.state, checked.state)
                item = self._item(top, f"Check of {checked.label}",
                                  f"{state}: {checked.rows_checked} row(s) read again")
                for problem in checked.problems:
                    self._item(item, "Problem", problem)

    def _source(self, source: SourcePlan) -> None:
        top = self._item(self.tree, source.label,
                         f"{source.rows_to_change} row(s) to change", bold=True)
        if source.problem:
            self._item(top, "Problem", source.problem)
        for table in source.tables:
            self._table(top, table)

    def _table(self, parent: QTreeWidgetItem, table: TablePlan) -> None:
        category = RECORD_CATEGORY_LABELS.get(table.category, table.category)
        counts = []
        if table.changes:
            counts.append(f"{len(table.changes)} "
                          f"{OPERATION_TEXT.get(table.operation, table.operation)}")
        if table.kept:
            counts.append(f"{len(table.kept)} kept")
        if table.already_done:
            counts.append(f"{len(table.already_done)} already done")
        item = self._item(parent, f"{table.label} ({table.db_table})",
                          ", ".join(counts or ["nothing changes"]) + f" · {category}")
        if table.note:
            self._item(item, "Note", table.note)
        for change in table.changes:
            what = f"Row {change.key}"
            if change.via:
                what += f" (follows {change.via})"
            if change.operation == "delete":
                self._item(item, what, "deleted")
                continue
            row = self._item(item, what, f"{len(change.columns)} column(s) change")
            for column in change.columns:
                self._item(row, column.column,
                           f"{value_text(column.before)} → {value_text(column.after)}")
        for kept in table.kept:
            what = f"Kept: row {kept.key}" + (f" (follows {kept.via})" if kept.via else "")
            row = self._item(item, what, kept.reason)
            self._item(row, "Legal basis", kept.legal_basis)
            self._item(row, "Retention rule", kept.exception)
        if table.already_done:
            self._item(item, "Already done", keys_text(table.already_done))
        if table.missing:
            self._item(item, "No longer there (counted as done)", keys_text(table.missing))
        if table.unchanged:
            self._item(item, "Left as they are (the recipients are told)",
                       keys_text(table.unchanged))

    def _notices(self, plan: ActionPlan) -> None:
        notices = [(source, notice) for source in plan.sources for notice in source.notices]
        if not notices:
            return
        top = self._item(self.tree, "Whom to notify",
                         "each gets a notice to send once the action ran", bold=True)
        for source, notice in notices:
            for recipient in notice.recipients:
                kind = RECIPIENT_KIND_LABELS.get(recipient.kind, recipient.kind)
                self._item(top, f"{recipient.name} ({kind})",
                           f"{notice.rows} row(s) of {notice.label} ({source.label})")
            if notice.named:
                self._item(top, "Named in the rows: " + ", ".join(notice.named),
                           f"{notice.label} in {source.label}")

    def texts(self) -> list[str]:
        """Every line of the tree as "what — detail" (for tests and copying)."""
        lines: list[str] = []

        def walk(item: QTreeWidgetItem, depth: int) -> None:
            detail = item.text(1)
            lines.append("  " * depth + item.text(0) + (f" — {detail}" if detail else ""))
            for number in range(item.childCount()):
                child = item.child(number)
                if child is not None:
                    walk(child, depth + 1)

        for top in self._top_items():
            walk(top, 0)
        return lines


def _wiped(action: RecordActionView) -> bool:
    changes = [change for source in action.plan.sources for table in source.tables
               for change in table.changes if change.columns]
    return bool(changes) and (bool(action.runs) or action.status == "withdrawn") and all(
        column.before is None for change in changes for column in change.columns)
