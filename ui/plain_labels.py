"""Labels show text as text.

A QLabel left at Qt's default (AutoText) renders anything that looks like HTML as rich
text, images included: a requester named ``<img src="file://server/share/x.png">``, or a
mail subject like it, would make the window fetch that file (on Windows, over SMB) just
by showing the case. An application-wide filter turns every label still at AutoText into
PlainText when it is polished; the few labels with markup of our own set RichText
explicitly (and escape what they show with ``html.escape``).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QLabel

_installed: list[QObject] = []


class _PlainLabels(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.Polish and isinstance(watched, QLabel)
                and watched.textFormat() == Qt.TextFormat.AutoText):
            watched.setTextFormat(Qt.TextFormat.PlainText)
        return False


def install(app: QApplication) -> None:
    """Once per application (the filter is kept alive here)."""
    if _installed:
        return
    plain = _PlainLabels()
    app.installEventFilter(plain)
    _installed.append(plain)


def rich_label(markup: str) -> QLabel:
    """A label with markup of our own; anything from outside must be html.escape()d."""
    label = QLabel(markup)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label
