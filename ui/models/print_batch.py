"""The Print acknowledgements due dialog's table: the cases whose acknowledgement letter
is due, each with a check box (print it or not), when it is due (overdue ones marked),
a letter already issued and not sent, and, after a batch, what became of it.

Values from outside (requester names) are shown as text; tooltips go through
``plain_tooltip``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor

from caseapp.services.letter_printing import DueAcknowledgement
from ui.formatting import date_text
from ui.icons import OVERDUE_RED
from ui.models.frozen_rows import AnyIndex, CellsModel

DONE_GREEN = QColor("#1e6b34")
WAITING_GREY = QColor("#6b7480")
DUE_TODAY_AMBER = QColor("#8a5a00")


@dataclass(frozen=True)
class Outcome:
    """What a batch did with one case."""

    state: str  # printed, failed, skipped, not_reached
    text: str  # short, for the column
    detail: str = ""  # the reason, for the tooltip


OUTCOME_COLOURS = {"printed": DONE_GREEN, "failed": OVERDUE_RED, "skipped": WAITING_GREY,
                   "not_reached": WAITING_GREY}


class DueLettersModel(CellsModel[DueAcknowledgement]):
    COL_REQUESTER = 0
    COL_REF = 1
    COL_DUE = 2
    COL_LETTER = 3
    COL_RESULT = 4
    HEADERS = ("Requester", "Case", "Acknowledge by", "Letter", "Result")

    def __init__(self, today: date, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.today = today
        self._checked: set[str] = set()
        self._done: set[str] = set()  # printed (or printed already): no longer checkable
        self._outcomes: dict[str, Outcome] = {}
        self._locked = False

    # --- rows, checks, outcomes ----------------------------------------------------------
    def set_rows(self, rows: tuple[DueAcknowledgement, ...]) -> None:
        """New rows, all checked; earlier outcomes are forgotten."""
        self._checked = {row.ref for row in rows}
        self._done = set()
        self._outcomes = {}
        super().set_rows(rows)

    def rows(self) -> tuple[DueAcknowledgement, ...]:
        return self._rows

    def checked_refs(self) -> list[str]:
        """The checked cases, in the desk's order (earliest due first)."""
        return [row.ref for row in self._rows if row.ref in self._checked]

    def set_all_checked(self, checked: bool) -> None:
        self.set_checked((row.ref for row in self._rows), checked)

    def set_checked(self, refs: Iterable[str], checked: bool) -> None:
        wanted = {ref for ref in refs if ref not in self._done}
        if checked:
            self._checked |= wanted
        else:
            self._checked -= wanted
        self._changed_all(Qt.ItemDataRole.CheckStateRole)

    def set_locked(self, locked: bool) -> None:
        """While a batch runs the check boxes cannot be changed."""
        self._locked = locked
        self._changed_all(Qt.ItemDataRole.CheckStateRole)

    def set_outcomes(self, outcomes: dict[str, Outcome]) -> None:
        """A batch's results; the printed (and skipped) cases are unchecked for good."""
        self._outcomes.update(outcomes)
        finished = {ref for ref, outcome in outcomes.items()
                    if outcome.state in ("printed", "skipped")}
        self._done |= finished
        self._checked -= finished
        self._changed_all()

    def outcome(self, ref: str) -> Outcome | None:
        return self._outcomes.get(ref)

    def _changed_all(self, *roles: int) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self._rows) - 1, len(self.HEADERS) - 1),
                                  list(roles))

    # --- cells ---------------------------------------------------------------------------
    def overdue(self, row: DueAcknowledgement) -> bool:
        return row.acknowledge_by < self.today

    def text(self, row: DueAcknowledgement, column: int) -> str:
        if column == self.COL_REQUESTER:
            return row.requester or "(no name)"
        if column == self.COL_REF:
            return row.ref
        if column == self.COL_DUE:
            if self.overdue(row):
                days = (self.today - row.acknowledge_by).days
                return f"{date_text(row.acknowledge_by)}  ⚠ overdue {days} d"
            if row.acknowledge_by == self.today:
                return f"{date_text(row.acknowledge_by)}  today"
            return date_text(row.acknowledge_by)
        if column == self.COL_LETTER:
            if row.unsent_serial:
                return f"{row.unsent_serial} issued, not sent"
            return "New"
        if column == self.COL_RESULT:
            outcome = self._outcomes.get(row.ref)
            return outcome.text if outcome is not None else ""
        return ""

    def tooltip(self, row: DueAcknowledgement, column: int) -> str:
        if column == self.COL_DUE:
            if self.overdue(row):
                return (f"The acknowledgement was due on {date_text(row.acknowledge_by)}: "
                        "it is late.")
            return f"The acknowledgement is due by {date_text(row.acknowledge_by)}."
        if column == self.COL_LETTER:
            if row.unsent_serial:
                return (f"Acknowledgement {row.unsent_serial} was issued but never printed, "
                        "mailed or emailed. Issued today, it is the one printed; issued "
                        "on an earlier day, a new letter is issued.")
            return "The batch issues the acknowledgement letter, then prints it."
        if column == self.COL_RESULT:
            outcome = self._outcomes.get(row.ref)
            if outcome is None:
                return ""
            return outcome.detail or outcome.text
        return f"{row.ref} — {row.requester} (status: {row.status.replace('_', ' ')})"

    def sort_value(self, row: DueAcknowledgement, column: int) -> Any:
        if column == self.COL_DUE:
            return row.acknowledge_by.isoformat()
        return self.text(row, column).casefold()

    def colour(self, row: DueAcknowledgement, column: int) -> QColor | None:
        if column == self.COL_DUE:
            if self.overdue(row):
                return OVERDUE_RED
            return DUE_TODAY_AMBER if row.acknowledge_by == self.today else None
        if column == self.COL_LETTER and not row.unsent_serial:
            return WAITING_GREY
        if column == self.COL_RESULT:
            outcome = self._outcomes.get(row.ref)
            return OUTCOME_COLOURS.get(outcome.state) if outcome is not None else None
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        row = self.row_at(index)
        if row is None:
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == self.COL_REQUESTER and not self._locked and (
                row.ref not in self._done):
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def bold(self, row: DueAcknowledgement, column: int) -> bool:
        return column == self.COL_DUE and self.overdue(row)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index)
        if (role == Qt.ItemDataRole.CheckStateRole and row is not None
                and index.column() == self.COL_REQUESTER):
            return (Qt.CheckState.Checked if row.ref in self._checked
                    else Qt.CheckState.Unchecked)
        return super().data(index, role)

    def setData(self, index: AnyIndex, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        row = self.row_at(index)
        if (row is None or role != Qt.ItemDataRole.CheckStateRole
                or index.column() != self.COL_REQUESTER
                or not self.flags(index) & Qt.ItemFlag.ItemIsUserCheckable):
            return False
        checked = Qt.CheckState(value) == Qt.CheckState.Checked if isinstance(
            value, int | Qt.CheckState) else False
        if checked:
            self._checked.add(row.ref)
        else:
            self._checked.discard(row.ref)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True
