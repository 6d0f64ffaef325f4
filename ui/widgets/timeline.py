"""A case's legal clock at a glance: received, acknowledgement due, response due,
the extension and today, painted on one bar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from caseapp.services.dto import DeadlineView

TRACK = QColor("#dfe3e8")
ON_TIME = QColor("#2e7d32")
SOON = QColor("#c77700")
LATE = QColor("#b3261e")
CLOSED = QColor("#8a939c")
EXTENSION = QColor("#b9d3f0")
TODAY = QColor("#1f3a5f")
TEXT = QColor("#2b2f33")
MUTED = QColor("#5f6b76")


@dataclass(frozen=True)
class Mark:
    day: date
    label: str
    kind: str  # received | acknowledge | original_due | due | today


def timeline_marks(deadlines: DeadlineView) -> list[Mark]:
    """The dates the bar shows, in date order (today last among equals)."""
    marks = [Mark(deadlines.received_on, "Received", "received")]
    if deadlines.acknowledge_by is not None:
        label = "Acknowledge by ✓" if deadlines.acknowledged else "Acknowledge by"
        marks.append(Mark(deadlines.acknowledge_by, label, "acknowledge"))
    if deadlines.extended:
        marks.append(Mark(deadlines.original_respond_by, "Original due", "original_due"))
    marks.append(Mark(deadlines.respond_by, "Extended due" if deadlines.extended else "Due",
                      "due"))
    marks.append(Mark(deadlines.today, "Today", "today"))
    order = {"received": 0, "acknowledge": 1, "original_due": 2, "due": 3, "today": 4}
    return sorted(marks, key=lambda m: (m.day, order[m.kind]))


def _short(day: date) -> str:
    return f"{day:%b} {day.day}"


class TimelineBar(QWidget):
    MARGIN = 14
    TRACK_HEIGHT = 10

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._deadlines: DeadlineView | None = None
        self._is_open = True
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(320)

    def set_deadlines(self, deadlines: DeadlineView | None, is_open: bool = True) -> None:
        self._deadlines = deadlines
        self._is_open = is_open
        if deadlines is not None:
            marks = timeline_marks(deadlines)
            self.setToolTip("\n".join(f"{m.label}: {m.day.isoformat()}" for m in marks)
                            + "\n\n" + "\n".join(deadlines.sources))
        self.update()

    def marks(self) -> list[Mark]:
        return timeline_marks(self._deadlines) if self._deadlines else []

    def sizeHint(self) -> QSize:
        line = QFontMetrics(self.font()).height()
        return QSize(480, 4 * line + self.TRACK_HEIGHT + 14)

    def minimumSizeHint(self) -> QSize:
        return QSize(320, self.sizeHint().height())

    # --- painting ------------------------------------------------------------------------
    def _span(self) -> tuple[date, date]:
        assert self._deadlines is not None
        days = [m.day for m in self.marks()]
        start, end = min(days), max(days)
        pad = max(2, (end - start).days // 20)
        return start - timedelta(days=pad), end + timedelta(days=pad)

    def _x(self, day: date, start: date, end: date) -> float:
        width = self.width() - 2 * self.MARGIN
        total = max((end - start).days, 1)
        return self.MARGIN + width * (day - start).days / total

    def x_of(self, day: date) -> float:
        """Where a date sits on the bar, in pixels."""
        start, end = self._span()
        return self._x(day, start, end)

    def _progress_colour(self) -> QColor:
        assert self._deadlines is not None
        if not self._is_open:
            return CLOSED
        if self._deadlines.overdue:
            return LATE
        return SOON if self._deadlines.days_left <= 7 else ON_TIME

    def paintEvent(self, _event: QPaintEvent) -> None:
        if self._deadlines is None:
            return
        deadlines = self._deadlines
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = QFontMetrics(self.font())
        line = metrics.height()
        track_top = 2 * line + 6
        start, end = self._span()

        def x(day: date) -> float:
            return self._x(day, start, end)

        track = QRectF(self.MARGIN, track_top, self.width() - 2 * self.MARGIN,
                       self.TRACK_HEIGHT)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(TRACK)
        painter.drawRoundedRect(track, 4, 4)
        if deadlines.extended:
            painter.setBrush(EXTENSION)
            left, right = x(deadlines.original_respond_by), x(deadlines.respond_by)
            painter.drawRect(QRectF(left, track_top, right - left, self.TRACK_HEIGHT))
        elapsed_end = min(deadlines.today, end)
        painter.setBrush(self._progress_colour())
        left = x(deadlines.received_on)
        painter.drawRoundedRect(
            QRectF(left, track_top, max(x(elapsed_end) - left, 4), self.TRACK_HEIGHT), 4, 4)
        self._paint_marks(painter, track_top, line, x)
        painter.end()

    def _paint_marks(self, painter: QPainter, track_top: float, line: int,
                     x: Callable[[date], float]) -> None:
        metrics = QFontMetrics(self.font())
        occupied: dict[bool, float] = {True: -1e9, False: -1e9}  # above / below: right edge
        for mark in self.marks():
            centre = x(mark.day)
            colour = TODAY if mark.kind == "today" else (
                LATE if mark.kind == "due" and self._deadlines and self._deadlines.overdue
                else TEXT)
            pen = QPen(colour, 2.5 if mark.kind in ("today", "due") else 1.5)
            if mark.kind == "original_due":
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawLine(QPointF(centre, track_top - 4),
                             QPointF(centre, track_top + self.TRACK_HEIGHT + 4))
            texts = (mark.label, _short(mark.day))
            width = max(metrics.horizontalAdvance(t) for t in texts) + 8
            left = min(max(centre - width / 2, 0), self.width() - width)
            # Above the bar if there is room, else below; today goes below by preference.
            above = mark.kind != "today" and left > occupied[True]
            if not above and left <= occupied[False]:
                above = True
            occupied[above] = left + width
            top = 0 if above else track_top + self.TRACK_HEIGHT + 6
            painter.setPen(colour if mark.kind != "received" else MUTED)
            font = painter.font()
            font.setBold(mark.kind in ("due", "today"))
            painter.setFont(font)
            for offset, text in enumerate(texts):
                painter.drawText(QRectF(left, top + offset * line, width, line),
                                 Qt.AlignmentFlag.AlignHCenter, text)
