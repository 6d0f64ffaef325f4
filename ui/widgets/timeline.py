"""A case's legal clock at a glance: received, acknowledgement due, response due,
the extension and today, painted on one bar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent, QPen
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
BELOW = frozenset({"today", "sent"})  # marks of where the case is: below the bar


@dataclass(frozen=True)
class Mark:
    day: date
    label: str
    kind: str  # received | acknowledge | original_due | due | sent | today


def timeline_marks(deadlines: DeadlineView, sent_on: date | None = None) -> list[Mark]:
    """The dates the bar shows, in date order (today last among equals). ``sent_on``:
    the day the response went out; the clock stopped then, so it takes today's place."""
    marks = [Mark(deadlines.received_on, "Received", "received")]
    if deadlines.acknowledge_by is not None:
        label = "Acknowledge by ✓" if deadlines.acknowledged else "Acknowledge by"
        marks.append(Mark(deadlines.acknowledge_by, label, "acknowledge"))
    if deadlines.extended:
        marks.append(Mark(deadlines.original_respond_by, "Original due", "original_due"))
    marks.append(Mark(deadlines.respond_by, "Extended due" if deadlines.extended else "Due",
                      "due"))
    if sent_on is not None:
        marks.append(Mark(sent_on, "Response sent", "sent"))
    else:
        marks.append(Mark(deadlines.today, "Today", "today"))
    order = {"received": 0, "acknowledge": 1, "original_due": 2, "due": 3, "sent": 4,
             "today": 5}
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
        self._response_sent = False
        self._sent_on: date | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(320)

    def set_deadlines(self, deadlines: DeadlineView | None, is_open: bool = True, *,
                      response_sent: bool = False, sent_on: date | None = None) -> None:
        """With ``response_sent`` the clock stopped: the bar ends on ``sent_on`` (if
        known), coloured by whether that was in time, and counts nothing down."""
        self._deadlines = deadlines
        self._is_open = is_open
        self._response_sent = response_sent
        self._sent_on = sent_on
        if deadlines is not None:
            marks = timeline_marks(deadlines, sent_on)
            self.setToolTip("\n".join(f"{m.label}: {m.day.isoformat()}" for m in marks)
                            + "\n\n" + "\n".join(deadlines.sources))
        self.update()

    def marks(self) -> list[Mark]:
        return timeline_marks(self._deadlines, self._sent_on) if self._deadlines else []

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
        if self._response_sent:
            if self._sent_on is None:
                return CLOSED
            return LATE if self._sent_on > self._deadlines.respond_by else ON_TIME
        if not self._is_open:
            return CLOSED
        if self._overdue():
            return LATE
        return SOON if self._deadlines.days_left <= 7 else ON_TIME

    def _overdue(self) -> bool:
        return bool(self._deadlines and self._deadlines.overdue and not self._response_sent)

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
        elapsed_end = min(self._sent_on or deadlines.today, end)
        painter.setBrush(self._progress_colour())
        left = x(deadlines.received_on)
        painter.drawRoundedRect(
            QRectF(left, track_top, max(x(elapsed_end) - left, 4), self.TRACK_HEIGHT), 4, 4)
        self._paint_marks(painter, track_top, line, x)
        painter.end()

    def _paint_marks(self, painter: QPainter, track_top: float, line: int,
                     x: Callable[[date], float]) -> None:
        occupied: dict[bool, float] = {True: -1e9, False: -1e9}  # above / below: right edge
        # Dates on the same day share one label ("Acknowledge by ✓ · Due"), so three
        # close marks still fit the two rows; today / sent keep their own, below.
        groups: list[list[Mark]] = []
        for mark in self.marks():
            last = groups[-1][-1] if groups else None
            if (last is not None and last.day == mark.day
                    and BELOW.isdisjoint((last.kind, mark.kind))):
                groups[-1].append(mark)
            else:
                groups.append([mark])
        for group in groups:
            centre = x(group[0].day)
            for mark in group:
                pen = QPen(self._mark_colour(mark),
                           2.5 if mark.kind in ("today", "due", "sent") else 1.5)
                if mark.kind == "original_due":
                    pen.setStyle(Qt.PenStyle.DashLine)
                painter.setPen(pen)
                painter.drawLine(QPointF(centre, track_top - 4),
                                 QPointF(centre, track_top + self.TRACK_HEIGHT + 4))
            main = group[-1]  # the most telling of the day (the due date over the rest)
            texts = (" · ".join(m.label for m in group), _short(main.day))
            font = QFont(self.font())
            font.setBold(any(m.kind in ("due", "today", "sent") for m in group))
            metrics = QFontMetrics(font)  # measured as painted: bold is wider
            width = max(metrics.horizontalAdvance(t) for t in texts) + 8
            left = min(max(centre - width / 2, 0), self.width() - width)
            # Above the bar if there is room, else below; today / sent go below by preference.
            above = main.kind not in BELOW and left > occupied[True]
            if not above and left <= occupied[False]:
                above = True
            occupied[above] = left + width
            top = 0 if above else track_top + self.TRACK_HEIGHT + 6
            painter.setPen(self._mark_colour(main) if main.kind != "received" else MUTED)
            painter.setFont(font)
            for offset, text in enumerate(texts):
                painter.drawText(QRectF(left, top + offset * line, width, line),
                                 Qt.AlignmentFlag.AlignHCenter, text)

    def _mark_colour(self, mark: Mark) -> QColor:
        if mark.kind == "today":
            return TODAY
        if mark.kind == "due" and self._overdue():
            return LATE
        if mark.kind == "sent":
            return self._progress_colour()
        return TEXT
