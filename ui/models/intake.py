"""Table models of mail intake: import results, the not-a-request list and the
quarantine, a case's messages and a message's attachments (all over frozen rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush, QFont

from caseapp.services.dto import (
    INTAKE_OUTCOME_LABELS,
    AttachmentView,
    IntakeItem,
    IntakeResult,
    MessageView,
)
from ui.formatting import auto_kind_text, moment_text, plain_tooltip, size_text
from ui.icons import OVERDUE_RED
from ui.models.frozen_rows import AnyIndex, FrozenRowsModel

DISPLAY = Qt.ItemDataRole.DisplayRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
OPENS_A_CASE = ("created", "threaded")


def _moment(moment: datetime | None, timezone: str) -> str:
    return moment_text(moment, timezone) if moment is not None else "—"


class ImportResultsModel(FrozenRowsModel[IntakeResult]):
    """One row per message or file taken in."""

    COL_OUTCOME = 0
    COL_CASE = 1
    COL_ITEM = 2
    COL_DETAIL = 3
    HEADERS = ("Outcome", "Case", "Item", "Detail")

    def data(self, index: AnyIndex, role: int = DISPLAY) -> Any:
        result = self.row_at(index)
        if result is None:
            return None
        column = index.column()
        if role in (DISPLAY, self.SortRole):
            return self._cell(result, column)
        if role == TOOLTIP:
            if result.outcome in OPENS_A_CASE and result.case_ref:
                return plain_tooltip(f"{result.line()}\nDouble-click (or Enter) to open "
                                     f"{result.case_ref}.")
            return plain_tooltip(result.line())
        if role == Qt.ItemDataRole.ForegroundRole and result.outcome in ("quarantined",
                                                                         "failed"):
            return QBrush(OVERDUE_RED)
        if role == self.RowRole:
            return result
        return None

    @staticmethod
    def _cell(result: IntakeResult, column: int) -> str | None:
        if column == ImportResultsModel.COL_OUTCOME:
            return INTAKE_OUTCOME_LABELS.get(result.outcome, result.outcome)
        if column == ImportResultsModel.COL_CASE:
            return result.case_ref
        if column == ImportResultsModel.COL_ITEM:  # the file's name (the path: tooltip)
            return result.label.replace("\\", "/").rsplit("/", 1)[-1]
        if column == ImportResultsModel.COL_DETAIL:
            return result.detail
        return None


class IntakeQueueModel(FrozenRowsModel[IntakeItem]):
    """The not-a-request list or the quarantine."""

    COL_DATE = 0
    COL_SENDER = 1
    COL_SUBJECT = 2
    COL_REASON = 3
    COL_SOURCE = 4
    HEADERS = ("Received", "Sender", "Subject", "Reason", "Source")

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timezone = timezone

    def data(self, index: AnyIndex, role: int = DISPLAY) -> Any:
        item = self.row_at(index)
        if item is None:
            return None
        column = index.column()
        if role == TOOLTIP:
            shown = self.data(index, DISPLAY)
            return plain_tooltip(shown if isinstance(shown, str) else None)
        if role == DISPLAY:
            if column == self.COL_DATE:
                return moment_text(item.received_at, self._timezone)
            if column == self.COL_SENDER:
                return item.sender or "(unknown sender)"
            if column == self.COL_SUBJECT:
                return item.subject or "(no subject)"
            if column == self.COL_REASON:
                return auto_kind_text(item.reason) if item.disposition == "not_request" \
                    else item.reason
            if column == self.COL_SOURCE:
                return item.source_label
            return None
        if role == self.SortRole:
            # Qt compares strings and numbers; a Python datetime would not sort.
            values: tuple[Any, ...] = (item.received_at.isoformat(), item.sender.lower(),
                                       item.subject.lower(), item.reason, item.source_label)
            return values[column] if 0 <= column < len(values) else None
        if role == self.RowRole:
            return item
        return None


class MessagesModel(FrozenRowsModel[MessageView]):
    """A case's messages, oldest first (as a conversation reads); ← received, → sent."""

    COL_DATE = 0
    COL_DIRECTION = 1
    COL_SENDER = 2
    COL_SUBJECT = 3
    COL_ATTACHMENTS = 4
    HEADERS = ("Date", "", "From", "Subject", "Att.")

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timezone = timezone
        self._italic = QFont()
        self._italic.setItalic(True)

    @staticmethod
    def moment(message: MessageView) -> datetime | None:
        return message.received_at or message.sent_at

    def data(self, index: AnyIndex, role: int = DISPLAY) -> Any:
        message = self.row_at(index)
        if message is None:
            return None
        column = index.column()
        if role == DISPLAY:
            return self._display(message, column)
        if role == TOOLTIP:
            return plain_tooltip(self._tooltip(message))
        if role == self.SortRole:
            values: tuple[Any, ...] = ((self.moment(message) or datetime.min).isoformat(),
                                       message.direction, message.sender.lower(),
                                       message.subject.lower(), message.attachment_count)
            return values[column] if 0 <= column < len(values) else None
        if role == self.RowRole:
            return message
        if message.auto_kind and role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(Qt.GlobalColor.darkGray)
        if message.auto_kind and role == Qt.ItemDataRole.FontRole:
            return self._italic
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (
                self.COL_DIRECTION, self.COL_ATTACHMENTS):
            return Qt.AlignmentFlag.AlignCenter
        return None

    def _display(self, message: MessageView, column: int) -> str | None:
        if column == self.COL_DATE:
            return _moment(self.moment(message), self._timezone)
        if column == self.COL_DIRECTION:
            return "→" if message.direction == "out" else "←"
        if column == self.COL_SENDER:
            return message.sender or "(unknown sender)"
        if column == self.COL_SUBJECT:
            subject = message.subject or "(no subject)"
            return f"[{auto_kind_text(message.auto_kind)}] {subject}" if (
                message.auto_kind) else subject
        if column == self.COL_ATTACHMENTS:
            return str(message.attachment_count) if message.attachment_count else ""
        return None

    def _tooltip(self, message: MessageView) -> str:
        lines = [("Sent by us" if message.direction == "out" else "Received")
                 + f" — {message.subject or '(no subject)'}",
                 f"From: {message.sender or '(unknown sender)'}"]
        if message.auto_kind:
            lines.append(f"An automatic message ({auto_kind_text(message.auto_kind)}).")
        if message.attachment_count:
            count = message.attachment_count
            lines.append(f"{count} attachment{'s' if count != 1 else ''}")
        lines.append("Enter or double-click opens it in the safe viewer.")
        return "\n".join(lines)


class AttachmentsModel(FrozenRowsModel[AttachmentView]):
    COL_NAME = 0
    COL_TYPE = 1
    COL_SIZE = 2
    HEADERS = ("Name", "Type", "Size")

    def data(self, index: AnyIndex, role: int = DISPLAY) -> Any:
        attachment = self.row_at(index)
        if attachment is None:
            return None
        column = index.column()
        if role == DISPLAY:
            values = (attachment.filename, attachment.media_type,
                      size_text(attachment.size))
            return values[column] if 0 <= column < len(values) else None
        if role == TOOLTIP:
            return plain_tooltip(
                f"{attachment.filename} ({attachment.media_type}, "
                f"{size_text(attachment.size)})\nSHA-256 {attachment.sha256}\n"
                "Nothing opens by itself: use Save as… or Open…")
        if role == self.SortRole:
            sort: tuple[Any, ...] = (attachment.filename.lower(), attachment.media_type,
                                     attachment.size)
            return sort[column] if 0 <= column < len(sort) else None
        if role == self.RowRole:
            return attachment
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.COL_SIZE:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None
