"""The search results: one row per case found, with the snippet of what matched.

The snippet's text comes from outside (mail bodies, scans' OCR text, names); the only
markup is ours: the text is ``html.escape``d piece by piece and the matched spans are
wrapped in ``<b>`` (``snippet_html``). Every other cell is plain text.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QPainter,
    QPalette,
    QTextDocument,
)
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from caseapp.search.snippet import Snippet
from caseapp.services.search import SearchHit
from ui.formatting import date_text, days_text, plain_tooltip

AnyIndex = QModelIndex | QPersistentModelIndex
SnippetHtmlRole = Qt.ItemDataRole.UserRole + 1
RefRole = Qt.ItemDataRole.UserRole
OVERDUE_COLOR = QColor("#b3261e")
LEAD = 8  # characters shown before the first match (the column is narrow)

SOURCE_LABELS = {
    "case": "Case", "requester": "Requester", "subject": "Subject", "message": "Message",
    "note": "Note", "scan": "Scan", "letter": "Letter",
}


def _one_line(text: str) -> str:
    return " ".join(text.replace("\r", " ").replace("\n", " ").split(" "))


def snippet_html(snippet: Snippet) -> str:
    """The snippet as rich text: every piece escaped, the matched words in bold."""
    text, spans = snippet.text, sorted(snippet.spans)
    out: list[str] = []
    if spans and spans[0][0] > LEAD:  # a narrow column still shows the first match
        cut = text.rfind(" ", 0, spans[0][0] - LEAD) + 1 or spans[0][0] - LEAD
        text = text[cut:]
        spans = [(start - cut, end - cut) for start, end in spans]
        out.append("…")
    at = 0
    for start, end in spans:
        start, end = max(start, at), min(end, len(text))
        if start >= end:
            continue
        out.append(html.escape(_one_line(text[at:start])))
        out.append("<b>" + html.escape(_one_line(text[start:end])) + "</b>")
        at = end
    out.append(html.escape(_one_line(text[at:])))
    return "".join(out)


def source_label(source: str) -> str:
    return SOURCE_LABELS.get(source, source.replace("_", " ").capitalize())


class SearchResultsModel(QAbstractTableModel):
    COL_REF, COL_REQUESTER, COL_STATUS, COL_DUE, COL_FOUND_IN, COL_SNIPPET = range(6)
    HEADERS = ("Reference", "Requester", "Status", "Due", "Found in", "Match")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hits: tuple[SearchHit, ...] = ()

    def set_hits(self, hits: tuple[SearchHit, ...]) -> None:
        self.beginResetModel()
        self._hits = tuple(hits)
        self.endResetModel()

    def hit(self, row: int) -> SearchHit:
        return self._hits[row]

    def refs(self) -> list[str]:
        return [hit.case.ref for hit in self._hits]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._hits)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.HEADERS)):
            return self.HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        hit = self._hits[index.row()]
        case, column = hit.case, index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.COL_REF:
                return case.ref
            if column == self.COL_REQUESTER:
                return case.requester_name
            if column == self.COL_STATUS:
                return case.status_label
            if column == self.COL_DUE:
                if not case.is_open:
                    return date_text(case.due_on)
                return f"{date_text(case.due_on)} ({days_text(case.days_left)})"
            if column == self.COL_FOUND_IN:
                return source_label(hit.snippet.source) if hit.snippet.source else ""
            if column == self.COL_SNIPPET:
                return _one_line(hit.snippet.text)
            return None
        if role == SnippetHtmlRole and column == self.COL_SNIPPET:
            return snippet_html(hit.snippet)
        if role == RefRole:
            return case.ref
        if role == Qt.ItemDataRole.ToolTipRole and column == self.COL_SNIPPET:
            return plain_tooltip(hit.snippet.text)
        if role == Qt.ItemDataRole.ToolTipRole and column == self.COL_REQUESTER:
            return plain_tooltip(case.requester_name)
        if role == Qt.ItemDataRole.ForegroundRole and column == self.COL_DUE \
                and case.is_open and case.overdue:
            return OVERDUE_COLOR
        return None


class SnippetDelegate(QStyledItemDelegate):
    """Paints the snippet column's escaped rich text (bold matches) on one line."""

    def _document(self, option: QStyleOptionViewItem, index: AnyIndex) -> QTextDocument:
        document = QTextDocument()
        document.setDefaultFont(option.font)
        document.setDocumentMargin(2)
        document.setHtml(str(index.data(SnippetHtmlRole) or ""))
        return document

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        markup = index.data(SnippetHtmlRole)
        if markup is None:
            super().paint(painter, option, index)
            return
        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget is not None else QApplication.style()
        text_option = QStyleOptionViewItem(option)
        text_option.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, text_option, painter,
                          option.widget)
        document = self._document(option, index)
        context = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        context.palette.setColor(
            QPalette.ColorRole.Text,
            option.palette.color(QPalette.ColorRole.HighlightedText if selected
                                 else QPalette.ColorRole.Text))
        painter.save()
        rect = option.rect
        top = rect.top() + max(0, (rect.height() - int(document.size().height())) // 2)
        painter.translate(rect.left(), top)
        painter.setClipRect(QRectF(0, 0, rect.width(), rect.height()))
        document.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), max(size.height(), 26))
