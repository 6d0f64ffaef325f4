"""The search field (Ctrl+F / Ctrl+K): says what to search for once typing pauses.

Typing waits ``SEARCH_DELAY_MS`` after the last key before ``search_requested`` is
emitted; Enter searches at once and says ``activated`` (open the best hit); Esc clears
the field and says ``cleared``; Down moves to the results (``to_results``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLineEdit, QWidget

SEARCH_DELAY_MS = 200
SEARCH_KEYS = ("Ctrl+F", "Ctrl+K")


class SearchBox(QLineEdit):
    search_requested = Signal(str)  # the text, once typing paused (or on Enter)
    activated = Signal()  # Enter: open the best (or the selected) result
    cleared = Signal()  # Esc
    to_results = Signal()  # Down

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("Search cases, people, mail, notes, scans, letters…")
        self.setToolTip("Search everything (Ctrl+F or Ctrl+K); Enter opens the first "
                        "result, Esc clears")
        self.setClearButtonEnabled(True)
        self.setAcceptDrops(False)  # a dropped file is for the window
        self.setMinimumWidth(280)
        self.setMaximumWidth(460)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(SEARCH_DELAY_MS)
        self.timer.timeout.connect(self.search_now)
        self.textEdited.connect(lambda _text: self.timer.start())
        # The clear button changes the text without textEdited: search (and go back) too.
        self.textChanged.connect(self._changed)

    def _changed(self, text: str) -> None:
        if not text and not self.signalsBlocked():
            self.timer.stop()
            self.search_requested.emit("")

    def search_now(self) -> None:
        self.timer.stop()
        self.search_requested.emit(self.text())

    def set_text_quietly(self, text: str) -> None:
        """Show ``text`` (a saved search's) without searching for it again."""
        self.timer.stop()
        self.blockSignals(True)
        self.setText(text)
        self.blockSignals(False)

    def focus(self) -> None:
        self.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.selectAll()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self.timer.isActive():
                self.search_now()
            self.activated.emit()
            return
        if key == Qt.Key.Key_Escape:
            self.timer.stop()
            self.set_text_quietly("")
            self.cleared.emit()
            return
        if key == Qt.Key.Key_Down:
            self.to_results.emit()
            return
        super().keyPressEvent(event)
