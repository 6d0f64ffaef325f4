"""What a check of the mailbox took in: a summary line and one line per message; a line
with a case opens it (double-click or Enter).

A small stand-in for the import-results dialog of the mail-import work; the two are to
be reconciled into one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from caseapp.services.dto import INTAKE_OUTCOME_LABELS, IntakeResult
from ui.widgets.request_form import HINT_STYLE

OPENS_A_CASE = ("created", "threaded", "duplicate")
REF_ROLE = Qt.ItemDataRole.UserRole + 1
# (singular, plural) per outcome, in the order of INTAKE_OUTCOME_LABELS.
COUNT_LABELS = {
    "created": ("new case", "new cases"),
    "threaded": ("added to its case", "added to their cases"),
    "duplicate": ("already taken in", "already taken in"),
    "not_request": ("not a request", "not requests"),
    "quarantined": ("quarantined", "quarantined"),
    "failed": ("not read", "not read"),
}


def _counted(outcome: str, count: int) -> str:
    one, many = COUNT_LABELS.get(outcome, (outcome, outcome))
    return f"{count} {one if count == 1 else many}"


def results_summary(results: Sequence[IntakeResult], *, cancelled: bool = False) -> str:
    """'10 new messages: 6 new cases, 1 added to its case, 2 not requests, 1 quarantined'."""
    counts = Counter(result.outcome for result in results)
    parts = [_counted(outcome, counts[outcome]) for outcome in INTAKE_OUTCOME_LABELS
             if counts[outcome]]
    total = len(results)
    head = f"{total} new message{'s' if total != 1 else ''}"
    text = f"{head}: {', '.join(parts)}" if parts else "No new messages"
    return text + (" (stopped: the rest stays in the mailbox for the next check)"
                   if cancelled else "")


class MailResultsDialog(QDialog):
    open_case = Signal(str)

    def __init__(self, results: Sequence[IntakeResult], *, cancelled: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.results = tuple(results)
        self.setWindowTitle("Mail checked")
        self.resize(820, 420)
        self.summary = QLabel(results_summary(self.results, cancelled=cancelled))
        self.summary.setWordWrap(True)
        font = QFont(self.summary.font())
        font.setBold(True)
        self.summary.setFont(font)
        hint = QLabel("Double-click (or Enter on) a line with a case to open it.")
        hint.setStyleSheet(HINT_STYLE)
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        for result in self.results:
            item = QListWidgetItem(result.line())
            item.setToolTip(result.line())
            if result.outcome in OPENS_A_CASE and result.case_ref:
                item.setData(REF_ROLE, result.case_ref)
            self.list.addItem(item)
        self.list.itemActivated.connect(self._activated)
        if self.results:
            self.list.setCurrentRow(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(hint)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.list.setFocus()

    def _activated(self, item: QListWidgetItem) -> None:
        ref = item.data(REF_ROLE)
        if ref:
            self.open_case.emit(str(ref))
