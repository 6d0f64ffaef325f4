"""The timeline bar: which dates it marks, and that it paints."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from caseapp.services.dto import DeadlineView
from ui.widgets.timeline import LATE, ON_TIME, TRACK, TimelineBar, timeline_marks

BASE = DeadlineView(
    received_on=date(2026, 3, 4), acknowledge_by=date(2026, 3, 18), acknowledged=False,
    respond_by=date(2026, 4, 18), original_respond_by=date(2026, 4, 18), extended=False,
    extension_possible=True, extension_reason="", today=date(2026, 3, 10), days_left=39,
    acknowledge_days_left=8, overdue=False, sources=("delete: 45 days (11 CCR §7021(b))",),
)


def test_marks_in_date_order() -> None:
    marks = timeline_marks(BASE)
    assert [(m.kind, m.label, m.day.isoformat()) for m in marks] == [
        ("received", "Received", "2026-03-04"),
        ("today", "Today", "2026-03-10"),
        ("acknowledge", "Acknowledge by", "2026-03-18"),
        ("due", "Due", "2026-04-18"),
    ]


def test_an_extension_shows_the_original_date() -> None:
    extended = replace(BASE, respond_by=date(2026, 6, 2), extended=True, acknowledged=True)
    kinds = {m.kind: m for m in timeline_marks(extended)}
    assert kinds["original_due"].day == date(2026, 4, 18)
    assert kinds["due"].label == "Extended due"
    assert kinds["acknowledge"].label == "Acknowledge by ✓"


def test_no_acknowledgement_clock_means_no_mark() -> None:
    kinds = [m.kind for m in timeline_marks(replace(BASE, acknowledge_by=None))]
    assert "acknowledge" not in kinds


def test_paints_and_colours_an_overdue_case(qtbot: QtBot) -> None:
    bar = TimelineBar()
    qtbot.addWidget(bar)
    late = replace(BASE, today=date(2026, 4, 30), days_left=-12, overdue=True)
    bar.set_deadlines(late, is_open=True)
    bar.resize(560, bar.sizeHint().height())
    image = bar.grab().toImage()
    assert not image.isNull()
    # The elapsed part of the bar, just right of the received mark, is painted red.
    y = round(bar.TRACK_HEIGHT / 2 + 2 * bar.fontMetrics().height() + 6)
    x = round(bar.x_of(date(2026, 3, 20)))
    assert QColor(image.pixel(x, y)) == LATE
    assert "Due: 2026-04-18" in bar.toolTip()
    assert "11 CCR §7021(b)" in bar.toolTip()


def _track_colour(bar: TimelineBar, day: date) -> QColor:
    image = bar.grab().toImage()
    y = round(bar.TRACK_HEIGHT / 2 + 2 * bar.fontMetrics().height() + 6)
    return QColor(image.pixel(round(bar.x_of(day)), y))


def test_a_sent_response_stops_the_bar_and_is_not_late(qtbot: QtBot) -> None:
    bar = TimelineBar()
    qtbot.addWidget(bar)
    # Sent on time; weeks later the (meaningless) countdown would say overdue.
    later = replace(BASE, today=date(2026, 4, 30), days_left=-12, overdue=True)
    bar.set_deadlines(later, is_open=True, response_sent=True, sent_on=date(2026, 4, 10))
    bar.resize(560, bar.sizeHint().height())
    kinds = {m.kind: m for m in bar.marks()}
    assert kinds["sent"].label == "Response sent"
    assert kinds["sent"].day == date(2026, 4, 10)
    assert "Response sent: 2026-04-10" in bar.toolTip()
    assert _track_colour(bar, date(2026, 3, 20)) == ON_TIME
    assert _track_colour(bar, date(2026, 4, 15)) == TRACK  # the bar ends when it was sent
    assert "today" not in kinds  # the clock stopped: no "Today" to count from


def test_a_response_sent_after_the_due_date_shows_late(qtbot: QtBot) -> None:
    bar = TimelineBar()
    qtbot.addWidget(bar)
    bar.set_deadlines(BASE, is_open=True, response_sent=True, sent_on=date(2026, 4, 22))
    bar.resize(560, bar.sizeHint().height())
    assert _track_colour(bar, date(2026, 3, 20)) == LATE
