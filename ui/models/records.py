"""The Records tab's tables: records found, customer systems, actions and notices.

Each is a read-only table over frozen rows from the desk (caseapp.services.dto), with
column constants, a sort role and a row role. Values from outside (names, keys, notes)
are shown as text: display values are never rendered as markup, and tooltips go through
``plain_tooltip``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QColor

from caseapp.services.dto import NoticeView, RecordActionView, RecordHitView, SourceSearchView
from caseapp.vocabulary import RECIPIENT_KIND_LABELS, RECORD_CATEGORY_LABELS
from ui.formatting import date_text, moment_text
from ui.icons import OVERDUE_RED
from ui.models.frozen_rows import CellsModel, Row

DONE_GREEN = QColor("#1e6b34")
MUTED_GREY = QColor("#6b7480")

HIT_STATUS_TEXT = {"proposed": "To decide", "confirmed": "✓ Confirmed",
                   "rejected": "✗ Not theirs"}
KIND_TEXT = {"database": "Database", "manual": "By hand"}
GOOD_ACTION_STATES = ("verified",)
BAD_ACTION_STATES = ("incomplete", "verify_failed")


def _moment(moment: datetime | None, timezone: str) -> str:
    return moment_text(moment, timezone) if moment is not None else ""


def _stamp(moment: datetime | date | None) -> str:
    return moment.isoformat() if moment is not None else ""


class _Table(CellsModel[Row]):
    """Display, sort value, tooltip, colour and weight per (row, column)."""

    TOOLTIP_FALLS_BACK_TO_TEXT = True

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timezone = timezone

    def moment(self, moment: datetime | None) -> str:
        return _moment(moment, self._timezone)

    def day(self, moment: datetime) -> str:
        """The local day of a moment (the full moment is in the tooltip)."""
        return moment_text(moment, self._timezone)[:10]


class HitsModel(_Table[RecordHitView]):
    """Records a lookup found, with why they matched and staff's decision."""

    COL_STATUS = 0
    COL_SCORE = 1
    COL_SYSTEM = 2
    COL_TABLE = 3
    COL_KEY = 4
    COL_WHY = 5
    COL_VIA = 6
    HEADERS = ("Status", "Score", "System", "Table", "Key", "Why it matched", "Found via")

    def text(self, row: RecordHitView, column: int) -> str:
        if column == self.COL_STATUS:
            return HIT_STATUS_TEXT.get(row.status, row.status)
        if column == self.COL_SCORE:
            return f"{row.score:.0f}"
        if column == self.COL_SYSTEM:
            return row.source_label
        if column == self.COL_TABLE:
            return row.table_label
        if column == self.COL_KEY:
            return row.record_key
        if column == self.COL_WHY:
            return row.why
        return row.via or "own identifiers"

    def sort_value(self, row: RecordHitView, column: int) -> Any:
        if column == self.COL_SCORE:
            return row.score
        if column == self.COL_STATUS:
            return ("proposed", "confirmed", "rejected").index(row.status) \
                if row.status in ("proposed", "confirmed", "rejected") else 3
        return self.text(row, column)

    def tooltip(self, row: RecordHitView, column: int) -> str:
        if column == self.COL_STATUS:
            if row.status == "proposed":
                return "Not decided yet: confirm it if it is the person's record."
            return (f"{HIT_STATUS_TEXT.get(row.status, row.status)} by {row.decided_by}"
                    f" on {self.moment(row.decided_at)}")
        if column == self.COL_TABLE:
            return f"{row.table_label} ({row.table})\nCategory: {row.category_label}"
        if column == self.COL_KEY:
            shown = "\n".join(f"{name}: {value}" for name, value in row.snapshot)
            return f"Key {row.record_key}" + (f"\n{shown}" if shown else "")
        return ""

    def colour(self, row: RecordHitView, column: int) -> QColor | None:
        if row.status == "rejected":
            return MUTED_GREY
        if row.status == "confirmed" and column == self.COL_STATUS:
            return DONE_GREEN
        return None

    def bold(self, row: RecordHitView, column: int) -> bool:
        return row.status == "proposed" and column == self.COL_STATUS

    def numeric(self, column: int) -> bool:
        return column == self.COL_SCORE


class SystemsModel(_Table[SourceSearchView]):
    """Each customer system's state for the case: searched, nothing found, NOT searched…"""

    COL_SYSTEM = 0
    COL_KIND = 1
    COL_STATE = 2
    COL_SEARCHED = 3
    COL_RECORDS = 4
    COL_DETAIL = 5
    HEADERS = ("System", "Kind", "State", "Searched", "Records", "Detail")

    def text(self, row: SourceSearchView, column: int) -> str:
        if column == self.COL_SYSTEM:
            return row.label
        if column == self.COL_KIND:
            return KIND_TEXT.get(row.kind, row.kind)
        if column == self.COL_STATE:
            label = row.outcome_label
            return label[:1].upper() + label[1:]
        if column == self.COL_SEARCHED:
            if row.searched_at is None:
                return ""
            return f"{self.moment(row.searched_at)} by {row.searched_by}"
        if column == self.COL_RECORDS:
            return str(row.hit_count) if row.kind == "database" and row.searched_at else ""
        return row.detail

    def sort_value(self, row: SourceSearchView, column: int) -> Any:
        if column == self.COL_RECORDS:
            return row.hit_count
        if column == self.COL_SEARCHED:
            return _stamp(row.searched_at)
        return self.text(row, column)

    def colour(self, row: SourceSearchView, column: int) -> QColor | None:
        if column != self.COL_STATE:
            return None
        if row.outcome in ("unreachable", "schema_mismatch"):
            return OVERDUE_RED
        if row.outcome in ("found", "nothing_found", "manual_done", "manual_nothing_found"):
            return DONE_GREEN
        return None

    def bold(self, row: SourceSearchView, column: int) -> bool:
        return column == self.COL_STATE and row.incomplete

    def numeric(self, column: int) -> bool:
        return column == self.COL_RECORDS


class ActionsModel(_Table[RecordActionView]):
    """Actions on the case's records, from proposal to verification."""

    COL_ID = 0
    COL_ACTION = 1
    COL_STATUS = 2
    COL_REQUESTED = 3
    COL_APPROVED = 4
    COL_ROWS = 5
    COL_WHEN = 6
    HEADERS = ("No.", "Action", "Status", "Proposed by", "Approved by",
               "Rows planned / changed", "Last change")

    def text(self, row: RecordActionView, column: int) -> str:
        if column == self.COL_ID:
            return str(row.id)
        if column == self.COL_ACTION:
            return row.kind_label
        if column == self.COL_STATUS:
            return row.status_label
        if column == self.COL_REQUESTED:
            return row.requested_by
        if column == self.COL_APPROVED:
            if row.approved_by:
                return row.approved_by
            return "(needed)" if row.needs_approval and row.awaiting_approval else ""
        if column == self.COL_ROWS:
            changed = str(row.rows_changed) if row.runs else "—"
            return f"{row.rows_planned} / {changed}"
        return self.moment(last_change(row))

    def sort_value(self, row: RecordActionView, column: int) -> Any:
        if column == self.COL_ID:
            return row.id
        if column == self.COL_ROWS:
            return row.rows_planned
        if column == self.COL_WHEN:
            return _stamp(last_change(row))
        return self.text(row, column)

    def tooltip(self, row: RecordActionView, column: int) -> str:
        if column == self.COL_STATUS:
            lines = [row.status_label]
            if row.withdrawn_reason:
                lines.append(f"Withdrawn: {row.withdrawn_reason}")
            lines += row.problems
            return "\n".join(lines)
        return ""

    def colour(self, row: RecordActionView, column: int) -> QColor | None:
        if row.status == "withdrawn":
            return MUTED_GREY
        if column == self.COL_STATUS and row.status in GOOD_ACTION_STATES:
            return DONE_GREEN
        if column == self.COL_STATUS and row.status in BAD_ACTION_STATES:
            return OVERDUE_RED
        return None

    def bold(self, row: RecordActionView, column: int) -> bool:
        return column == self.COL_STATUS and row.status in (
            "awaiting_approval", "approved", *BAD_ACTION_STATES)

    def numeric(self, column: int) -> bool:
        return column == self.COL_ID


def last_change(action: RecordActionView) -> datetime:
    moments = [action.requested_at, action.approved_at, action.executed_at,
               action.verified_at]
    return max(m for m in moments if m is not None)


class NoticesModel(_Table[NoticeView]):
    """Downstream recipients to tell about an action, and where each notice stands."""

    COL_RECIPIENT = 0
    COL_KIND = 1
    COL_CATEGORIES = 2
    COL_STATUS = 3
    COL_DUE = 4
    COL_SENT = 5
    COL_ANSWERED = 6
    HEADERS = ("Recipient", "Kind", "Categories", "Status", "Due", "Sent", "Answered")

    def text(self, row: NoticeView, column: int) -> str:
        if column == self.COL_RECIPIENT:
            return row.recipient_name
        if column == self.COL_KIND:
            return RECIPIENT_KIND_LABELS.get(row.recipient_kind, row.recipient_kind)
        if column == self.COL_CATEGORIES:
            return ", ".join(RECORD_CATEGORY_LABELS.get(c, c) for c in row.categories)
        if column == self.COL_STATUS:
            return row.status_label
        if column == self.COL_DUE:
            return date_text(row.due_on) if row.is_open else ""
        if column == self.COL_SENT:
            if row.sent_at is None:
                return ""
            return f"{self.day(row.sent_at)} ({row.sent_how})" if row.sent_how \
                else self.day(row.sent_at)
        if row.answered_at is None:
            return ""
        return f"{self.day(row.answered_at)} by {row.answered_by}"

    def sort_value(self, row: NoticeView, column: int) -> Any:
        if column == self.COL_DUE:
            return _stamp(row.due_on)
        if column == self.COL_SENT:
            return _stamp(row.sent_at)
        if column == self.COL_ANSWERED:
            return _stamp(row.answered_at)
        return self.text(row, column)

    def tooltip(self, row: NoticeView, column: int) -> str:
        if column == self.COL_RECIPIENT:
            reach = [row.email, " ".join(row.postal_address.split())]
            return "\n".join([row.recipient_name, *(r for r in reach if r)])
        if column == self.COL_SENT and row.sent_at is not None:
            return f"Sent {self.moment(row.sent_at)} by {row.sent_by} ({row.sent_how})"
        if column == self.COL_ANSWERED and row.answered_at is not None:
            answered = f"{row.status_label} {self.moment(row.answered_at)} by {row.answered_by}"
            return f"{answered}\n{row.answer_note}" if row.answer_note else answered
        if column == self.COL_CATEGORIES and row.systems:
            return f"{self.text(row, column)}\nIn: {', '.join(row.systems)}; {row.rows} row(s)"
        return ""

    def colour(self, row: NoticeView, column: int) -> QColor | None:
        if column != self.COL_STATUS:
            return None
        if row.status == "acknowledged":
            return DONE_GREEN
        if row.status == "not_notified":
            return MUTED_GREY
        return None

    def bold(self, row: NoticeView, column: int) -> bool:
        return column == self.COL_STATUS and row.is_open
