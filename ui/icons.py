"""Small painted badges (no image files needed): overdue, child, urgent, review, new."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

OVERDUE_RED = QColor("#b3261e")
CHILD_BLUE = QColor("#1f5fa8")
URGENT_ORANGE = QColor("#b45309")
REVIEW_OLIVE = QColor("#8a6d00")
NEW_GREEN = QColor("#2e7d32")
CHILD_BACKGROUND = QColor("#e8f0fb")

BADGE_WIDTH = 38
BADGE_HEIGHT = 16


def _pill(text: str, colour: QColor, width: int = BADGE_WIDTH) -> QPixmap:
    scale = 2  # drawn at 2x so it stays sharp on high-DPI screens
    pixmap = QPixmap(width * scale, BADGE_HEIGHT * scale)
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    rect = QRectF(0.5, 1.5, width - 1, BADGE_HEIGHT - 3)
    painter.drawRoundedRect(rect, 6, 6)
    font = QFont()
    font.setPixelSize(8)
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return pixmap


@cache
def badge(kind: str) -> QIcon:
    """'overdue', 'child', 'urgent', 'review' or 'new' as a pill (BADGE_WIDTH x
    BADGE_HEIGHT)."""
    text, colour = {
        "overdue": ("LATE", OVERDUE_RED),
        "child": ("CHILD", CHILD_BLUE),
        "urgent": ("URGENT", URGENT_ORANGE),
        "review": ("REVIEW", REVIEW_OLIVE),
        "new": ("NEW", NEW_GREEN),
    }[kind]
    return QIcon(_pill(text, colour))
