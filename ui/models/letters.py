"""The Letters tab's table: a case's issued letters, where each one is (issued, mailed,
emailed, returned undeliverable) and how it went out; and the letter texts an
administrator edits (Settings → Letter texts).

Values from outside (addresses, tracking numbers) are shown as text; tooltips go
through ``plain_tooltip``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QFont

from caseapp.services.letter_templates import TemplateInfo
from caseapp.services.letters import MAIL_METHODS, LetterView
from ui.formatting import LANGUAGE_LABELS, date_text, moment_text, plain_tooltip
from ui.icons import OVERDUE_RED
from ui.models.frozen_rows import AnyIndex, CellsModel, FrozenRowsModel

DONE_GREEN = QColor("#1e6b34")
WAITING_GREY = QColor("#6b7480")

DELIVERY_TEXT = {"post": "Post", "email": "Email", "file": "PDF"}
MAILED_TEXT = {"first_class": "First-class", "certified": "Certified",
               "certified_return_receipt": "Certified", "priority": "Priority"}
DELIVERY_LONG = {"post": "to print and mail", "email": "to email",
                 "file": "as a PDF (kept with the case)"}
SHORT_KIND = {"acknowledgement": "Acknowledgement", "verification_request":
              "Verification request", "information_request": "Information request",
              "access_report": "Access report", "correction_confirmation": "Correction done",
              "opt_out_confirmation": "Opt-out done", "extension_notice": "Extension notice",
              "denial": "Denial", "deletion_confirmation": "Deletion done",
              "parent_response": "Parent response", "appeal_decision": "Appeal decision",
              "downstream_notice": "Downstream notice"}
"""The kinds as the narrow Letter column shows them (the full name is in the tooltip)."""


def status_text(letter: LetterView) -> str:
    """Where the letter is, short enough for a column: "Mailed 2026-03-05 (certified)"."""
    status = letter.status
    if status == "returned":
        return f"✗ Returned {date_text(letter.returned_on)}"
    if status == "mailed":
        return f"✓ Mailed {date_text(letter.mailed_on)}"
    if status == "emailed":
        return f"✓ Emailed {letter.emailed_at.date().isoformat()}" if (
            letter.emailed_at is not None) else "✓ Emailed"
    if letter.delivery == "post":
        return "Not mailed yet"
    if letter.delivery == "email":
        return "Not emailed yet"
    return "Issued (PDF)"


def status_details(letter: LetterView, timezone: str) -> str:
    """Everything known about the letter's way out, for the tooltip."""
    lines = [f"{letter.kind_label}, {letter.serial}",
             f"Issued {moment_text(letter.issued_at, timezone)} by {letter.issued_by}, "
             f"{DELIVERY_LONG.get(letter.delivery, letter.delivery)}",
             f"Language: {LANGUAGE_LABELS.get(letter.language, letter.language)}"]
    if letter.recipient:
        lines.append("To: " + ", ".join(letter.recipient))
    if letter.mailed_on is not None:
        method = MAIL_METHODS.get(letter.mail_method, letter.mail_method)
        lines.append(f"Mailed {date_text(letter.mailed_on)} by {method.lower()}"
                     + (f", tracking number {letter.tracking_number}"
                        if letter.tracking_number else ""))
    if letter.emailed_at is not None:
        lines.append(f"Emailed {moment_text(letter.emailed_at, timezone)}"
                     + (f" to {letter.emailed_to}" if letter.emailed_to else ""))
    if letter.returned_on is not None:
        lines.append(f"Returned undeliverable {date_text(letter.returned_on)}")
    return "\n".join(lines)


class LettersModel(CellsModel[LetterView]):
    COL_KIND = 0
    COL_SERIAL = 1
    COL_ISSUED = 2
    COL_HOW = 3
    COL_STATUS = 4
    HEADERS = ("Letter", "Serial", "Issued", "How", "Status")

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timezone = timezone

    def text(self, row: LetterView, column: int) -> str:
        if column == self.COL_KIND:
            return SHORT_KIND.get(row.kind, row.kind_label)
        if column == self.COL_SERIAL:
            return row.serial
        if column == self.COL_ISSUED:
            return moment_text(row.issued_at, self._timezone)[:10]
        if column == self.COL_HOW:  # how it went, once it did; else how it is to go
            if row.mailed_on is not None:
                return MAILED_TEXT.get(row.mail_method, "Post")
            if row.emailed_at is not None:
                return "Email"
            return DELIVERY_TEXT.get(row.delivery, row.delivery)
        if column == self.COL_STATUS:
            return status_text(row)
        return ""

    def sort_value(self, row: LetterView, column: int) -> Any:
        if column == self.COL_ISSUED:
            return row.issued_at.isoformat()
        if column == self.COL_SERIAL:
            return row.serial
        return self.text(row, column)

    def tooltip(self, row: LetterView, column: int) -> str:
        if column in (self.COL_STATUS, self.COL_HOW):
            return status_details(row, self._timezone)
        if column == self.COL_ISSUED:
            return f"{moment_text(row.issued_at, self._timezone)} by {row.issued_by}"
        if column == self.COL_KIND:
            return f"{row.kind_label}: {row.title}"
        return self.text(row, column)

    def colour(self, row: LetterView, column: int) -> QColor | None:
        if column != self.COL_STATUS:
            return None
        if row.status == "returned":
            return OVERDUE_RED
        if row.status in ("mailed", "emailed"):
            return DONE_GREEN
        return WAITING_GREY if row.delivery in ("post", "email") else None

    def bold(self, row: LetterView, column: int) -> bool:
        return column == self.COL_STATUS and row.status == "returned"


class LetterTemplatesModel(FrozenRowsModel[TemplateInfo]):
    """Settings → Letter texts: every letter kind in every language, edited ones marked."""

    COL_KIND = 0
    COL_LANGUAGE = 1
    COL_TEXT = 2
    HEADERS = ("Letter", "Language", "Text")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bold = QFont()
        self._bold.setBold(True)

    def text(self, row: TemplateInfo, column: int) -> str:
        if column == self.COL_KIND:
            return row.label
        if column == self.COL_LANGUAGE:
            return LANGUAGE_LABELS.get(row.language, row.language).split(" (")[0]
        if column == self.COL_TEXT:
            return "✎ Edited" if row.edited else "Shipped"
        return ""

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index)
        if row is None or not 0 <= index.column() < len(self.HEADERS):
            return None
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, self.SortRole):
            return self.text(row, column)
        if role == self.RowRole:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(
                f"{row.label} ({row.language}): "
                + (f"an administrator's text, {row.where}" if row.edited
                   else "the text shipped with caseapp"))
        if role == Qt.ItemDataRole.FontRole and row.edited:
            return self._bold
        return None
