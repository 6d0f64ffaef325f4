"""The banner on a case whose person has other cases: the same consumer writing by email
and mailing a letter, or calling about it. Each is shown with why it looks like the same
person, a link to open it and, while both are open, a button to merge this case into it."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseapp.services.duplicates import LikelyDuplicate
from ui.formatting import channel_text, date_text

SHOWN = 3
"""Other cases listed at most; the rest are counted."""


def describe(found: LikelyDuplicate) -> str:
    """One line: ref (a link), name, channel and date received, status, and why."""
    channel = channel_text(found.channel).lower()
    name = html.escape(found.requester_name or "(no name)")
    return (f'<a href="{html.escape(found.ref)}">{html.escape(found.ref)}</a> · {name} · '
            f"{html.escape(channel)}, received {date_text(found.received_on)} · "
            f"{html.escape(found.status_label.lower())} · "
            f"<i>{html.escape(', '.join(found.reasons))}</i>")


class DuplicatesBanner(QFrame):
    open_requested = Signal(str)  # the other case's ref
    merge_requested = Signal(str)  # merge the shown case into this ref

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("duplicates_banner")
        self.setStyleSheet("#duplicates_banner { background: #e8f1fb; border: 1px solid "
                           "#8fb3db; border-radius: 4px; } QLabel { color: #10263d; }")
        self.title = QLabel()
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.rows = QGridLayout()
        self.rows.setColumnStretch(0, 1)
        self.more = QLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addLayout(self.rows)
        layout.addWidget(self.more)
        self.found: tuple[LikelyDuplicate, ...] = ()
        self.merge_buttons: dict[str, QPushButton] = {}
        self.hide()

    def set_found(self, found: tuple[LikelyDuplicate, ...], ref: str) -> None:
        """Show the other cases of this case's person (hidden when there are none)."""
        self.found = found
        while self.rows.count():
            item = self.rows.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.merge_buttons = {}
        if not found:
            self.hide()
            return
        likely = any(f.strong for f in found)
        self.title.setText(
            f"{'Likely' if likely else 'Perhaps'} the same person as in "
            f"{'another case' if len(found) == 1 else f'{len(found)} other cases'}")
        self.hint.setText(
            f"If {ref} asks again what an open case already handles, merge it into that "
            "case: its messages, scans and notes move there, and the deadline runs from the "
            "earlier request.")
        for row, other in enumerate(found[:SHOWN]):
            label = QLabel(describe(other))
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                          | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
            label.linkActivated.connect(self.open_requested.emit)
            label.setToolTip(f"Open {other.ref}")
            self.rows.addWidget(label, row, 0)
            if other.can_merge:
                button = QPushButton(f"Merge into {other.ref}…")
                button.setToolTip(f"Mark {ref} as a duplicate of {other.ref}")
                button.clicked.connect(
                    lambda _checked=False, target=other.ref: self.merge_requested.emit(target))
                self.rows.addWidget(button, row, 1, Qt.AlignmentFlag.AlignTop)
                self.merge_buttons[other.ref] = button
        hidden = len(found) - SHOWN
        self.more.setVisible(hidden > 0)
        self.more.setText(f"and {hidden} more (caseapp cases duplicates {ref})"
                          if hidden > 0 else "")
        self.show()
