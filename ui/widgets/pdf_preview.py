"""A PDF shown in the window (QtPdf): the letter as it will print, page after page.

The bytes are held in a QBuffer the document reads from; a new PDF replaces the old
one only once it is there, so the view never flickers to empty while a new draft is
rendered in the background. A line above the pages says what is shown ("Draft",
"Rendering…", or why there is no letter).
"""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

NOTE_STYLE = "color: #5f6b76;"
PROBLEM_STYLE = "color: #b3261e;"
EMPTY_STYLE = "color: #5f6b76; font-size: 12pt; background: #e8eaed;"


class PdfPreview(QWidget):
    def __init__(self, parent: QWidget | None = None, *, empty_text: str = "") -> None:
        super().__init__(parent)
        self.document = QPdfDocument(self)
        self._buffer: QBuffer | None = None
        self.pdf: bytes = b""
        self.view = QPdfView()
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.view.setPageSpacing(8)
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # arrow keys scroll the pages
        self.empty = QLabel(empty_text)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setMargin(24)
        self.empty.setStyleSheet(EMPTY_STYLE)
        self.empty.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.view)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet(NOTE_STYLE)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(self.stack, 1)

    # --- what is shown -------------------------------------------------------------------
    def set_pdf(self, data: bytes, note: str = "") -> None:
        """Show these PDF bytes (the old pages stay until the new ones are loaded)."""
        buffer = QBuffer(self)
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document.close()
        self.document.load(buffer)
        if self._buffer is not None:  # the document no longer reads it
            self._buffer.close()
            self._buffer.deleteLater()
        self._buffer = buffer
        self.pdf = data
        self.set_note(note)
        if self.document.status() == QPdfDocument.Status.Error:
            self.show_empty("This PDF cannot be shown.", problem=True)
            return
        self.stack.setCurrentWidget(self.view)

    def clear(self, text: str = "") -> None:
        self.document.close()
        if self._buffer is not None:
            self._buffer.close()
            self._buffer.deleteLater()
            self._buffer = None
        self.pdf = b""
        self.show_empty(text)

    def show_empty(self, text: str, *, problem: bool = False) -> None:
        """No pages: a message instead (why there is no letter, or what to do)."""
        self.empty.setText(text)
        self.empty.setStyleSheet(EMPTY_STYLE + (" color: #b3261e;" if problem else ""))
        self.stack.setCurrentWidget(self.empty)
        self.set_note("")

    def set_note(self, text: str, *, problem: bool = False) -> None:
        self.note.setText(text)
        self.note.setStyleSheet(PROBLEM_STYLE if problem else NOTE_STYLE)
        self.note.setVisible(bool(text))

    # --- for tests and callers -----------------------------------------------------------
    def page_count(self) -> int:
        return self.document.pageCount() if self.stack.currentWidget() is self.view else 0

    def showing_pages(self) -> bool:
        return self.page_count() > 0
