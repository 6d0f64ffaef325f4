"""Reports (Ctrl+Shift+G): the CCPA §7102 metrics and the §7101 request log in a window
of their own, beside the cases, with "Save as CSV…" and "Save as PDF…".

- **§7102 metrics**: a year (the years of the desk's requests; the last full calendar
  year first, the one §7102 publishes by July 1, or this year on a desk that has
  nothing older), one row per request type, and how the requests are counted, as the
  PDF and ``caseapp report metrics`` say it.
- **§7101 request log**: a period (the 24 months §7101 keeps, up to today, unless
  changed), one row per request; Enter or a double-click opens the case.

Every report is read in the background (ui/tasks.py) and only the newest one asked for
is shown; the files are rendered and written in the background too, whole or not at
all (caseapp.files). What is saved is the report shown. The file dialog asks before
replacing a file. Errors go to the window's error presenter.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenuBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from caseapp.files import write_bytes_atomically
from caseapp.reports.model import LogRow, MetricsReport, MetricsRow, RequestLog, metrics_notes
from caseapp.services import Desk
from caseapp.services.reports import default_report_year
from ui.letter_output import documents_folder
from ui.models.reports import MetricsModel, RequestLogModel
from ui.tasks import Progress, TaskRunner, TaskStatus
from ui.widgets.request_form import pydate, qdate
from ui.widgets.rows_table import RowsTable

REPORTS_KEYS = "Ctrl+Shift+G"
LOG_DELAY_MS = 400  # a date typed digit by digit: load once it rests
HINT_STYLE = "color: #5f6b76;"
PROBLEM_STYLE = "color: #b3261e;"
Format = Literal["csv", "pdf"]
Report = MetricsReport | RequestLog
FILTERS = {"csv": "CSV files (*.csv)", "pdf": "PDF files (*.pdf)"}


def report_title(report: Report) -> str:
    if isinstance(report, MetricsReport):
        return f"the §7102 metrics for {report.year}"
    return (f"the §7101 request log {report.period_start.isoformat()} to "
            f"{report.period_end.isoformat()}")


def file_name(report: Report, fmt: Format) -> str:
    if isinstance(report, MetricsReport):
        return f"ccpa-7102-metrics-{report.year}.{fmt}"
    return (f"ccpa-7101-request-log-{report.period_start.isoformat()}-to-"
            f"{report.period_end.isoformat()}.{fmt}")


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


class _Exports:
    """A tab's "Save as CSV…", "Save as PDF…" and "Open the PDF" buttons."""

    def __init__(self, row: QHBoxLayout) -> None:
        self.csv_button = QPushButton("Save as &CSV…")
        self.csv_button.setToolTip("The report shown, as a CSV file (UTF-8) for a spreadsheet")
        self.pdf_button = QPushButton("Save as &PDF…")
        self.pdf_button.setToolTip("The report shown, as a PDF headed with the organization")
        self.open_button = QPushButton("&Open the PDF")
        self.open_button.setToolTip("Open the PDF saved last in the PDF viewer")
        self.saved_pdf: Path | None = None
        for button in (self.csv_button, self.pdf_button, self.open_button):
            row.addWidget(button)
        self.set_ready(False)

    def set_ready(self, ready: bool) -> None:
        self.csv_button.setEnabled(ready)
        self.pdf_button.setEnabled(ready)
        self.open_button.setEnabled(self.saved_pdf is not None)


class MetricsTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: MetricsReport | None = None
        self.year_combo = QComboBox()
        self.year_combo.setToolTip("The year the requests were received")
        self.year_combo.setMinimumContentsLength(12)
        year_label = QLabel("&Year")
        year_label.setBuddy(self.year_combo)
        self.period = QLabel()
        self.period.setStyleSheet(HINT_STYLE)
        self.period.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(year_label)
        row.addWidget(self.year_combo)
        row.addWidget(self.period, 1)
        self.exports = _Exports(row)
        self.model = MetricsModel(self)
        self.table: RowsTable[MetricsRow] = RowsTable(self.model)
        self.table.setSortingEnabled(False)  # the request types in §7102's order
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(MetricsModel.COL_TYPE, QHeaderView.ResizeMode.Stretch)
        heading = QLabel("How the requests are counted")
        heading.setStyleSheet("font-weight: bold;")
        self.notes = QLabel()
        self.notes.setTextFormat(Qt.TextFormat.PlainText)
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table)
        layout.addWidget(heading)
        layout.addWidget(self.notes, 1)

    def set_years(self, years: tuple[int, ...], today: date, chosen: int) -> None:
        combo = self.year_combo
        combo.blockSignals(True)
        combo.clear()
        for year in years:
            combo.addItem(f"{year} (to date)" if year == today.year else str(year), year)
        combo.setCurrentIndex(max(combo.findData(chosen), 0))
        combo.blockSignals(False)

    def year(self) -> int | None:
        data = self.year_combo.currentData()
        return int(data) if data is not None else None

    def show_loading(self, year: int) -> None:
        self.period.setStyleSheet(HINT_STYLE)
        self.period.setText(f"Counting the requests received in {year}…")
        self.exports.set_ready(False)

    def show_report(self, report: MetricsReport) -> None:
        self.report = report
        self.model.set_rows(report.rows)
        self._fit_table()
        to_date = report.generated_on < report.period_end
        self.period.setStyleSheet(HINT_STYLE)
        self.period.setText(
            f"Requests received {report.period_start.isoformat()} to "
            f"{report.period_end.isoformat()}, by the date received"
            + (" — the year is not over: figures to date." if to_date else ".")
            + " * not a §7102 category.")
        self.notes.setText("\n".join(f"• {note}" for note in metrics_notes(report)))
        self.exports.set_ready(True)

    def show_problem(self, year: int) -> None:
        self.report = None
        self.model.set_rows(())
        self.period.setStyleSheet(PROBLEM_STYLE)
        self.period.setText(f"The figures for {year} could not be read.")
        self.notes.setText("")
        self.exports.set_ready(False)

    def _fit_table(self) -> None:
        """Every row shown, no scrolling: the table is as tall as its rows."""
        table = self.table
        height = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
        height += sum(table.rowHeight(row) for row in range(self.model.rowCount()))
        if table.horizontalScrollBar().isVisible():
            height += table.horizontalScrollBar().height()
        table.setFixedHeight(height + 2)


class LogTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: RequestLog | None = None
        self.start_edit = self._date_edit("The first day received")
        self.end_edit = self._date_edit("The last day received")
        start_label = QLabel("Received &from")
        start_label.setBuddy(self.start_edit)
        self.default_button = QPushButton("Last &24 months")
        self.default_button.setToolTip("The period §7101 keeps the records for, up to today")
        row = QHBoxLayout()
        row.addWidget(start_label)
        row.addWidget(self.start_edit)
        row.addWidget(QLabel("to"))
        row.addWidget(self.end_edit)
        row.addWidget(self.default_button)
        row.addStretch(1)
        self.exports = _Exports(row)
        self.summary = QLabel("")
        self.summary.setStyleSheet(HINT_STYLE)
        self.summary.setWordWrap(True)
        self.model = RequestLogModel(self)
        L = RequestLogModel
        self.table: RowsTable[LogRow] = RowsTable(self.model, widths={
            L.COL_REF: 112, L.COL_RECEIVED: 104, L.COL_NATURE: 190, L.COL_MANNER: 80,
            L.COL_JURISDICTION: 84, L.COL_RESPONSE_ON: 112, L.COL_RESPONSE: 230})
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    @staticmethod
    def _date_edit(tip: str) -> QDateEdit:
        edit = QDateEdit()
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setToolTip(tip)
        return edit

    def period(self) -> tuple[date, date]:
        return pydate(self.start_edit.date()), pydate(self.end_edit.date())

    def set_period_quietly(self, start: date, end: date) -> None:
        for edit, day in ((self.start_edit, start), (self.end_edit, end)):
            edit.blockSignals(True)
            edit.setDate(qdate(day))
            edit.blockSignals(False)

    def show_loading(self) -> None:
        self.summary.setStyleSheet(HINT_STYLE)
        self.summary.setText("Reading the requests…")
        self.exports.set_ready(False)

    def show_report(self, report: RequestLog) -> None:
        self.report = report
        self.set_period_quietly(report.period_start, report.period_end)
        self.table.set_rows(report.rows, key=lambda row: row.ref)
        left_out = report.non_privacy_left_out
        self.summary.setStyleSheet(HINT_STYLE)
        self.summary.setText(
            f"{plural(len(report.rows), 'request')} received "
            f"{report.period_start.isoformat()} to {report.period_end.isoformat()}, oldest "
            f"first; {plural(left_out, 'case')} that {'is' if left_out == 1 else 'are'} not "
            "a privacy request left out. Enter or a double-click opens a case.")
        self.exports.set_ready(True)

    def show_problem(self, text: str) -> None:
        self.report = None
        self.table.set_rows((), key=lambda row: row.ref)
        self.summary.setStyleSheet(PROBLEM_STYLE)
        self.summary.setText(text)
        self.exports.set_ready(False)


class ReportsWindow(QMainWindow):
    open_case = Signal(str)  # ref, from the log

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self._generations = {"metrics": 0, "log": 0}
        self._folder: Path | None = None  # where the last file was saved
        self.file_dialog: QFileDialog | None = None
        self.setWindowTitle("Reports — caseapp")
        self.resize(1180, 720)
        self.metrics = MetricsTab()
        self.log = LogTab()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.metrics, "§7102 &metrics")
        self.tabs.addTab(self.log, "§7101 request &log")
        self.setCentralWidget(self.tabs)
        self.statusBar().addPermanentWidget(TaskStatus(runner))
        close = QAction("Close", self)
        close.setShortcuts([QKeySequence(QKeySequence.StandardKey.Close),
                            QKeySequence("Esc")])
        close.triggered.connect(self.close)
        self.addAction(close)

        self.metrics.year_combo.currentIndexChanged.connect(lambda _i: self.load_metrics())
        self._log_timer = QTimer(self)
        self._log_timer.setSingleShot(True)
        self._log_timer.setInterval(LOG_DELAY_MS)
        self._log_timer.timeout.connect(self._period_edited)
        for edit in (self.log.start_edit, self.log.end_edit):
            edit.dateChanged.connect(lambda _day: self._log_timer.start())
        self.log.default_button.clicked.connect(lambda: self.load_log(None, None))
        # Enter, or a double-click (where the desktop does not open items on one click).
        self.log.table.activated.connect(lambda _index: self._open_current())
        self.tabs.currentChanged.connect(lambda _i: self._tab_shown())
        for tab in (self.metrics, self.log):
            exports = tab.exports
            exports.csv_button.clicked.connect(lambda _c=False, t=tab: self.ask_save(t, "csv"))
            exports.pdf_button.clicked.connect(lambda _c=False, t=tab: self.ask_save(t, "pdf"))
            exports.open_button.clicked.connect(lambda _c=False, t=tab: self.open_pdf(t))
        self._log_loaded_once = False
        self.load_years()

    def show_tab(self, name: Literal["metrics", "log"]) -> None:
        """Bring the window up on a report."""
        self.tabs.setCurrentWidget(self.metrics if name == "metrics" else self.log)
        if self.isVisible():  # behind the main window, maybe: to the front
            self.raise_()
            self.activateWindow()
        else:
            self.show()

    # --- loading -----------------------------------------------------------------------
    def load_years(self) -> None:
        desk = self._desk
        self._runner.run(lambda _progress: desk.report_years(), label="Reading the years",
                         on_done=self._years_loaded)

    def _years_loaded(self, years: tuple[int, ...]) -> None:
        today = self._desk.clock.today()
        self.metrics.set_years(years, today, default_report_year(years, today))
        self.load_metrics()

    def load_metrics(self) -> None:
        year = self.metrics.year()
        if year is None:
            return
        generation = self._next("metrics")
        desk = self._desk
        self.metrics.show_loading(year)

        def done(report: MetricsReport) -> None:
            if generation == self._generations["metrics"]:
                self.metrics.show_report(report)

        def failed(error: BaseException) -> None:
            if generation == self._generations["metrics"]:
                self.metrics.show_problem(year)
                self._runner.report(error)

        self._runner.run(lambda _progress: desk.metrics_report(year),
                         label=f"Counting the §7102 metrics for {year}", on_done=done,
                         on_error=failed)

    def load_log(self, start: date | None, end: date | None) -> None:
        """The requests received from ``start`` to ``end`` (None: the 24 months up to
        today)."""
        self._log_timer.stop()
        self._log_loaded_once = True
        generation = self._next("log")
        desk = self._desk
        self.log.show_loading()

        def done(report: RequestLog) -> None:
            if generation == self._generations["log"]:
                self.log.show_report(report)

        def failed(error: BaseException) -> None:
            if generation == self._generations["log"]:
                self.log.show_problem("The request log could not be read.")
                self._runner.report(error)

        self._runner.run(lambda _progress: desk.request_log(start, end),
                         label="Reading the §7101 request log", on_done=done,
                         on_error=failed)

    def _next(self, which: str) -> int:
        self._generations[which] += 1
        return self._generations[which]

    def _tab_shown(self) -> None:
        if self.tabs.currentWidget() is self.log and not self._log_loaded_once:
            self.load_log(None, None)  # read when first asked for: it can be long

    def _period_edited(self) -> None:
        start, end = self.log.period()
        if start > end:
            self._next("log")  # a load still running is not shown over this
            self.log.show_problem("The period ends before it starts: change one of the "
                                  "dates.")
            return
        self.load_log(start, end)

    def busy(self) -> bool:
        return self._log_timer.isActive() or not self._runner.is_idle()

    def _open_current(self) -> None:
        row = self.log.table.current_row()
        if row is not None:
            self.open_case.emit(row.ref)

    # --- files -------------------------------------------------------------------------
    def ask_save(self, tab: MetricsTab | LogTab, fmt: Format) -> QFileDialog | None:
        """The file dialog (it asks before replacing a file); the report shown is saved
        where it says."""
        report = tab.report
        if report is None:
            return None
        folder = self._folder or documents_folder()
        dialog = QFileDialog(self, f"Save {report_title(report)} as {fmt.upper()}",
                             str(folder / file_name(report, fmt)), FILTERS[fmt])
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix(fmt)
        dialog.fileSelected.connect(lambda path: self.save_to(tab, report, fmt, Path(path)))
        dialog.finished.connect(lambda _result: dialog.deleteLater())
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def save_to(self, tab: MetricsTab | LogTab, report: Report, fmt: Format,
                path: Path) -> None:
        """Render and write in the background; the file is whole or not written."""
        self._folder = path.parent
        desk = self._desk
        what = report_title(report)

        def work(progress: Progress) -> Path:
            progress.set(0, 0, "rendering")
            data = desk.report_csv(report) if fmt == "csv" else desk.report_pdf(report)
            progress.set(0, 0, "writing")
            write_bytes_atomically(path, data)
            return path

        def done(saved: Path) -> None:
            if fmt == "pdf" and shiboken6.isValid(self):
                tab.exports.saved_pdf = saved
                tab.exports.open_button.setEnabled(True)
            if shiboken6.isValid(self):
                self.statusBar().showMessage(f"Saved {what} as {saved}", 10000)

        self._runner.run(work, label=f"Saving {what} as {fmt.upper()}", on_done=done)

    def open_pdf(self, tab: MetricsTab | LogTab) -> bool:
        """The PDF saved last from this tab, in the desktop's PDF viewer."""
        path = tab.exports.saved_pdf
        if path is None:
            return False
        if not path.exists():
            self.statusBar().showMessage(f"{path} is not there any more.", 8000)
            return False
        opened = QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        if not opened:
            self.statusBar().showMessage(
                f"No program to show PDF files was found; the file is {path}", 10000)
        return opened


class ReportsActions(QObject):
    """The Reports menu of the main window, and its one Reports window."""

    open_case = Signal(str)

    def __init__(self, parent: QMainWindow, desk: Desk, runner: TaskRunner) -> None:
        super().__init__(parent)
        self._parent = parent
        self._desk = desk
        self._runner = runner
        self.window: ReportsWindow | None = None
        self.metrics_action = QAction("CCPA §7102 &metrics…", self)
        self.metrics_action.setShortcut(QKeySequence(REPORTS_KEYS))
        self.metrics_action.setToolTip("The yearly request metrics §7102 asks to publish, "
                                       f"with CSV and PDF ({REPORTS_KEYS})")
        self.metrics_action.triggered.connect(lambda _c=False: self.show("metrics"))
        self.log_action = QAction("CCPA §7101 request &log…", self)
        self.log_action.setToolTip("Every privacy request of a period and its response, "
                                   "with CSV and PDF")
        self.log_action.triggered.connect(lambda _c=False: self.show("log"))
        for action in (self.metrics_action, self.log_action):
            action.setStatusTip(action.toolTip())

    def install(self, menu_bar: QMenuBar) -> None:
        """A Reports menu before Help (at the end when there is no Help)."""
        help_menu = next((action for action in menu_bar.actions()
                          if action.text() == "&Help"), None)
        menu = menu_bar.addMenu("&Reports")
        menu.setToolTipsVisible(True)
        menu.addAction(self.metrics_action)
        menu.addAction(self.log_action)
        if help_menu is not None:
            menu_bar.insertMenu(help_menu, menu)

    def show(self, tab: Literal["metrics", "log"]) -> ReportsWindow:
        window = self.window
        if window is None or not shiboken6.isValid(window):
            window = ReportsWindow(self._desk, self._runner, self._parent)
            window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            window.open_case.connect(self._open_case)
            self.window = window
        window.show_tab(tab)
        return window

    def _open_case(self, ref: str) -> None:
        """A case of the log: shown in the main window, brought to the front."""
        self.open_case.emit(ref)
        self._parent.raise_()
        self._parent.activateWindow()
