"""The dashboard: the desk at a glance, in place of the case list and the case.

Six tiles say how many cases need something now (due today, due this week, overdue,
waiting on identity, waiting on downstream answers, mine); each opens the search that
lists exactly those cases (``open_search``), by click, Enter or Space. Below them the
open cases by status, request type and channel (a status opens its cases too), and a
bar chart of the cases received and closed in each of the last twelve weeks.

Everything comes from one service call (``Desk.dashboard``) in the background; the
newest load wins, and the figures on screen stay until the new ones are there.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QValueAxis,
)
from PySide6.QtCore import QEvent, QMargins, QModelIndex, QObject, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QFocusEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableView,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from caseapp.errors import UserError
from caseapp.services import Desk
from caseapp.services.dashboard import TILES, Count, Dashboard, Tile
from caseapp.services.search import SearchQuery
from ui.formatting import channel_text, types_text
from ui.models.dashboard import CountsModel
from ui.tasks import Progress, TaskRunner

WEEKS = 12
CHART_HEIGHT = 230
WARNING = "#b3261e"
HINT_STYLE = "color: #5f6b76;"
RECEIVED_COLOR = QColor("#1f5fa8")
CLOSED_COLOR = QColor("#e8871e")  # orange beside blue: told apart by colour-blind eyes too
TILE_STYLE = """
QFrame#dashboardTile { background: palette(base); border: 1px solid #c5cdd6;
                       border-radius: 8px; }
QFrame#dashboardTile:hover { border-color: #1f5fa8; }
QFrame#dashboardTile:focus { border: 2px solid #1f5fa8; }
QFrame#dashboardTile[warning="true"] { border-left: 6px solid #b3261e; }
"""
ACTIVATE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space)


def week_label(start: date) -> str:
    """A week by its Monday, as the chart's axis reads it: "Nov 30"."""
    return f"{start:%b} {start.day}"


def nice_top(maximum: int) -> tuple[int, int]:
    """An axis from 0 in whole-number steps of 1, 2 or 5 (times 10, 100...), at most
    eight of them, reaching ``maximum``: (top, number of ticks)."""
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            steps = max(1, -(-maximum // step))
            if steps <= 8:
                return step * steps, steps + 1
        magnitude *= 10


class DashboardTile(QFrame):
    """One figure: a big number, what it counts and a line on what that means. Click it,
    or Tab to it and press Enter or Space."""

    activated = Signal(object)  # the tile's SearchQuery

    def __init__(self, key: str, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.tile: Tile | None = None
        self.setObjectName("dashboardTile")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)
        self.number = QLabel("…")
        font = self.number.font()
        font.setPointSizeF(font.pointSizeF() * 2.4)
        font.setBold(True)
        self.number.setFont(font)
        self.label = QLabel(label)
        bold = self.label.font()
        bold.setBold(True)
        self.label.setFont(bold)
        self.label.setWordWrap(True)
        self.explanation = QLabel()
        self.explanation.setWordWrap(True)
        self.explanation.setStyleSheet(HINT_STYLE)
        self.explanation.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        for child in (self.number, self.label, self.explanation):
            child.setTextFormat(Qt.TextFormat.PlainText)
            child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 6, 12, 8)
        layout.setSpacing(1)
        layout.addWidget(self.number)
        layout.addWidget(self.label)
        layout.addWidget(self.explanation, 1)
        self.setMinimumHeight(104)

    def set_tile(self, tile: Tile, warn: bool = False) -> None:
        self.tile = tile
        self.number.setText(f"{tile.count:,}")
        self.label.setText(tile.label)
        self.explanation.setText(tile.explanation)
        warning = warn and tile.count > 0
        self.number.setStyleSheet(f"color: {WARNING};" if warning else "")
        if self.property("warning") != warning:
            self.setProperty("warning", warning)
            self.style().unpolish(self)
            self.style().polish(self)
        cases = f"{tile.count:,} case{'s' if tile.count != 1 else ''}"
        self.setToolTip(f"{tile.explanation}.\nClick or press Enter to list the {cases}.")
        self.setAccessibleName(f"{tile.label}: {tile.count:,}")
        self.setAccessibleDescription(tile.explanation)

    def activate(self) -> None:
        if self.tile is not None:
            self.activated.emit(self.tile.query)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if (event.button() == Qt.MouseButton.LeftButton
                and self.rect().contains(event.position().toPoint())):
            self.activate()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in ACTIVATE_KEYS and not event.modifiers() & ~(
                Qt.KeyboardModifier.KeypadModifier):
            self.activate()
            event.accept()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.update()


class CountsTable(QTableView):
    """A few rows of open-case counts, as tall as its rows (no scrolling)."""

    def __init__(self, model: CountsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTabKeyNavigation(False)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(22)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(CountsModel.COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(CountsModel.COL_COUNT,
                                    QHeaderView.ResizeMode.ResizeToContents)
        model.modelReset.connect(self.fit_rows)
        self.fit_rows()

    def fit_rows(self) -> None:
        rows = self.model().rowCount()
        height = (self.horizontalHeader().sizeHint().height()
                  + rows * self.verticalHeader().defaultSectionSize() + 2 * self.frameWidth())
        self.setFixedHeight(height)


class WeeksChartView(QChartView):
    """The chart asks for little height, so that the page fits the window without a
    scroll bar; it takes whatever height is left over."""

    def sizeHint(self) -> QSize:
        return QSize(600, CHART_HEIGHT)


class DashboardPage(QWidget):
    open_search = Signal(object)  # SearchQuery: list these cases
    loaded = Signal()  # the newest figures (or the problem) are shown

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self._generation = 0
        self._shown_generation = 0
        self.board: Dashboard | None = None

        self.title = QLabel("Dashboard")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.title.setFont(font)
        self.subtitle = QLabel("Loading…")
        self.subtitle.setStyleSheet(HINT_STYLE)
        self.subtitle.setTextFormat(Qt.TextFormat.PlainText)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {WARNING};")
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.hide()
        heading = QHBoxLayout()
        heading.addWidget(self.title)
        heading.addSpacing(12)
        heading.addWidget(self.subtitle, 1, Qt.AlignmentFlag.AlignBottom)

        # --- tiles ---------------------------------------------------------------------
        self.tiles: dict[str, DashboardTile] = {}
        tiles = QGridLayout()
        tiles.setSpacing(10)
        for number, (key, label, _explanation, _query) in enumerate(TILES):
            tile = DashboardTile(key, label)
            tile.activated.connect(self.open_search)
            self.tiles[key] = tile
            tiles.addWidget(tile, 0, number)
            tiles.setColumnStretch(number, 1)

        # --- counts --------------------------------------------------------------------
        self.status_model = CountsModel("Status", self)
        self.type_model = CountsModel("Request type", self)
        self.channel_model = CountsModel("Channel", self)
        self.status_table = CountsTable(self.status_model)
        self.status_table.setToolTip("Enter or double-click lists the cases in that status")
        self.status_table.doubleClicked.connect(self._count_activated)
        self.status_table.installEventFilter(self)
        self.type_table = CountsTable(self.type_model)
        self.type_table.setToolTip("A case with several request types counts under each")
        self.channel_table = CountsTable(self.channel_model)
        counts = QHBoxLayout()
        counts.setSpacing(14)
        for caption, table in (("Open cases by status", self.status_table),
                               ("by request type", self.type_table),
                               ("by channel", self.channel_table)):
            column = QVBoxLayout()
            column.setSpacing(4)
            heading_label = QLabel(caption)
            heading_label.setStyleSheet("font-weight: bold;")
            column.addWidget(heading_label)
            column.addWidget(table)
            column.addStretch(1)
            counts.addLayout(column, 1)

        # --- chart ---------------------------------------------------------------------
        self.chart = QChart()
        self.chart.setTitle("Requests received and closed per week (weeks start on Monday)")
        self.chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.chart.setMargins(QMargins(4, 4, 4, 4))
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.series = QBarSeries()
        self.series.hovered.connect(self._bar_hovered)
        self.chart.addSeries(self.series)
        self.week_axis = QBarCategoryAxis()
        self.count_axis = QValueAxis()
        self.count_axis.setLabelFormat("%d")
        self.count_axis.setTitleText("Cases")
        self.chart.addAxis(self.week_axis, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(self.count_axis, Qt.AlignmentFlag.AlignLeft)
        self.series.attachAxis(self.week_axis)
        self.series.attachAxis(self.count_axis)
        self.received_set = QBarSet("Received")
        self.closed_set = QBarSet("Closed")
        self._weeks: list[str] = []
        self.chart_view = WeeksChartView(self.chart)
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart_view.setMinimumHeight(CHART_HEIGHT)
        self.chart_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.chart_summary = QLabel()
        self.chart_summary.setStyleSheet(HINT_STYLE)
        self.chart_summary.setTextFormat(Qt.TextFormat.PlainText)
        self.chart_summary.setWordWrap(True)
        self.chart_summary.setToolTip(
            "Received: by the date the request reached us (for post, the day it arrived "
            "at the PO box). Closed: by the day it was closed, denied, withdrawn or marked "
            "a duplicate.")

        content = QWidget()
        content.setObjectName("dashboardContent")
        content.setStyleSheet(TILE_STYLE)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(14, 8, 14, 8)
        layout.setSpacing(8)
        layout.addLayout(heading)
        layout.addWidget(self.problem)
        layout.addLayout(tiles)
        layout.addLayout(counts)
        layout.addWidget(self.chart_view, 1)
        layout.addWidget(self.chart_summary)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.setTabOrder(self.tiles[TILES[-1][0]], self.status_table)

    # --- loading -------------------------------------------------------------------------
    def reload(self) -> None:
        """Load the figures again in the background (the newest load wins)."""
        self._generation += 1
        generation = self._generation
        desk = self._desk

        def work(_progress: Progress) -> Dashboard:
            return desk.dashboard(WEEKS)

        self._runner.run(work, label="Loading the dashboard",
                         on_done=lambda board: self._done(generation, board),
                         on_error=lambda error: self._failed(generation, error))

    def busy(self) -> bool:
        return self._shown_generation != self._generation

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not event.spontaneous():  # shown again (not a window restored): fresh figures
            self.reload()

    def _done(self, generation: int, board: Dashboard) -> None:
        if generation != self._generation:
            return  # a newer load is on its way
        self._shown_generation = generation
        self.board = board
        self.problem.hide()
        self._show(board)
        self.loaded.emit()

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._shown_generation = generation
        if not isinstance(error, UserError):
            self._runner.report(error)
            return
        self.problem.setText(f"The dashboard could not be loaded: {error}")
        self.problem.show()
        self.loaded.emit()

    # --- showing -------------------------------------------------------------------------
    def _show(self, board: Dashboard) -> None:
        day = board.today
        self.subtitle.setText(f"{day:%A, %B} {day.day}, {day.year} · "
                              f"{board.open_cases:,} open case"
                              f"{'s' if board.open_cases != 1 else ''}")
        for tile in board.tiles:
            widget = self.tiles.get(tile.key)
            if widget is not None:
                widget.set_tile(tile, warn=tile.key == "overdue")
        self.status_model.set_rows(board.by_status)
        self.type_model.set_rows(tuple(replace(c, label=types_text([c.key]))
                                       for c in board.by_type))
        self.channel_model.set_rows(tuple(replace(c, label=channel_text(c.key))
                                          for c in board.by_channel))
        self._show_weeks(board)

    def _show_weeks(self, board: Dashboard) -> None:
        self.series.clear()  # deletes the old sets
        self.received_set = QBarSet("Received")
        self.closed_set = QBarSet("Closed")
        self.received_set.setColor(RECEIVED_COLOR)
        self.closed_set.setColor(CLOSED_COLOR)
        for week in board.weeks:
            self.received_set.append(week.received)
            self.closed_set.append(week.closed)
        self.series.append(self.received_set)
        self.series.append(self.closed_set)
        self._weeks = [week_label(week.start) for week in board.weeks]
        self.week_axis.setCategories(self._weeks)
        top, ticks = nice_top(max([1, *(max(w.received, w.closed) for w in board.weeks)]))
        self.count_axis.setRange(0, top)
        self.count_axis.setTickCount(ticks)
        if board.weeks:
            this_week = board.weeks[-1]
            self.chart_summary.setText(
                f"This week so far: {this_week.received:,} received, "
                f"{this_week.closed:,} closed · the last {len(board.weeks)} weeks: "
                f"{sum(w.received for w in board.weeks):,} received, "
                f"{sum(w.closed for w in board.weeks):,} closed")

    def _bar_hovered(self, status: bool, index: int, bar_set: QBarSet) -> None:
        if not status or not 0 <= index < len(self._weeks):
            QToolTip.hideText()
            return
        value = int(bar_set.at(index))
        QToolTip.showText(QCursor.pos(), f"Week of {self._weeks[index]}: {value:,} "
                          f"{bar_set.label().lower()}", self.chart_view)

    # --- opening a count -----------------------------------------------------------------
    def _count_activated(self, index: QModelIndex) -> None:
        row = self.status_model.row_at(index)
        if isinstance(row, Count) and row.query is not None:
            self.open_search.emit(row.query)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self.status_table and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)):
            self._count_activated(self.status_table.currentIndex())
            return True
        return super().eventFilter(watched, event)

    # --- for the window and tests ----------------------------------------------------------
    def focus_first_tile(self) -> None:
        self.tiles[TILES[0][0]].setFocus(Qt.FocusReason.ShortcutFocusReason)

    def tile_query(self, key: str) -> SearchQuery | None:
        tile = self.tiles[key].tile
        return tile.query if tile is not None else None
