"""Reports (Ctrl+Shift+G): the §7102 metrics and the §7101 request log in their own
window, read in the background, saved as CSV and PDF; on a desk whose figures are known
(built like tests/test_reports.py does, with the clock set to each step's moment)."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QDate, QModelIndex, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from caseapp.cli_reports import metrics_lines
from caseapp.clock import Clock
from caseapp.errors import DatabaseUnavailable
from caseapp.reports.model import MetricsReport, MetricsRow, metrics_notes
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData, StepRequest
from tests.ui.conftest import OFFSCREEN_NOISE, Ui
from tests.ui.helpers import click
from ui.models.reports import MetricsModel, RequestLogModel
from ui.pages.reports_page import ReportsWindow
from ui.tasks import TaskStatus

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
# Bringing a window to the front is beyond the offscreen platform (it says so); the tests
# that do it look at which window is shown and current instead.
RAISES = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE, r"This plugin does not support raise\(\)")
M = MetricsModel
L = RequestLogModel


@dataclass(frozen=True)
class Known:
    refs: dict[str, str]


class _Desks:
    def __init__(self, desk: Desk) -> None:
        desk.add_user("bob", "supervisor", "Bob Supervisor")
        desk.add_user("carol", "agent", "Carol Agent")
        self.bob, self.carol = desk.as_user("bob"), desk.as_user("carol")

    def at(self, moment: datetime) -> None:
        for desk in (self.bob, self.carol):
            desk.set_clock(Clock(fixed=moment))

    def new(self, types: tuple[str, ...], received: date, name: str, *,
            jurisdiction: str = "CA", channel: str = "email") -> str:
        self.at(datetime(received.year, received.month, received.day, 15))
        return self.carol.create_case(NewCase(
            channel=channel, request_types=types, jurisdiction=jurisdiction,
            received_on=received, requester=PartyData(
                name=name, email=f"{name.split()[0].lower()}@example.com",
                state=jurisdiction))).case.ref

    def step(self, who: Desk, ref: str, step: str, moment: datetime, reason: str = "",
             method: str = "") -> None:
        self.at(moment)
        who.take_step(ref, StepRequest(step=step, reason=reason, method=method))

    def answer(self, ref: str, sent: datetime, *, verify: bool = True) -> None:
        """Worked by carol, approved and sent by bob (a second person) at ``sent``."""
        self.step(self.carol, ref, "acknowledge", sent.replace(hour=1))
        if verify:
            self.step(self.carol, ref, "start_verification", sent.replace(hour=1, minute=5))
            self.step(self.carol, ref, "verify", sent.replace(hour=1, minute=10),
                      method="email_match")
        else:
            self.step(self.carol, ref, "skip_verification", sent.replace(hour=1, minute=10))
        self.step(self.carol, ref, "submit_for_review", sent.replace(hour=1, minute=20))
        self.step(self.bob, ref, "approve_and_send", sent)


@pytest.fixture
def known(ui: Ui) -> Known:
    """2025: a deletion answered in 17 days, an access request closed unverified after
    31, a correction denied (not a consumer) after 2, a deletion withdrawn, and a
    question that is not a privacy request. 2026: a deletion still open, an opt-out of
    sale answered in 4 days."""
    desks = _Desks(ui.desk)
    refs: dict[str, str] = {}
    refs["A"] = desks.new(("delete",), date(2025, 3, 3), "Ana Ruiz")
    desks.answer(refs["A"], datetime(2025, 3, 20, 16))
    refs["B"] = desks.new(("access",), date(2025, 5, 1), "Bea Nunez", channel="phone")
    desks.step(desks.carol, refs["B"], "acknowledge", datetime(2025, 5, 2, 15))
    desks.step(desks.carol, refs["B"], "start_verification", datetime(2025, 5, 2, 16))
    desks.step(desks.carol, refs["B"], "close_unverified", datetime(2025, 6, 1, 15),
               reason="No reply to the verification request.")
    refs["C"] = desks.new(("correct",), date(2025, 6, 10), "Cal Brown", jurisdiction="VA",
                          channel="postal")
    desks.step(desks.carol, refs["C"], "deny", datetime(2025, 6, 12, 15),
               reason="Request not made by a consumer (business contact).")
    refs["D"] = desks.new(("delete",), date(2025, 11, 3), "Dee Kim")
    desks.step(desks.carol, refs["D"], "withdraw", datetime(2025, 11, 5, 15),
               reason="Changed their mind.")
    refs["H"] = desks.new(("other",), date(2025, 2, 2), "Hal Smith")
    refs["E"] = desks.new(("delete",), date(2026, 1, 5), "Eve Silva")
    desks.step(desks.carol, refs["E"], "acknowledge", datetime(2026, 1, 6, 15))
    refs["F"] = desks.new(("opt_out_sale_share",), date(2026, 2, 1), "Fay Chen")
    desks.answer(refs["F"], datetime(2026, 2, 5, 15), verify=False)
    return Known(refs)


def _open(qtbot: QtBot, ui: Ui) -> ReportsWindow:
    """Ctrl+Shift+G in the main window, as staff would press it."""
    window = ui.window
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window.case_list.table, Qt.Key.Key_G, CTRL_SHIFT)
    reports = window.reports.window
    assert reports is not None
    qtbot.addWidget(reports)
    ui.settle()
    assert reports.isVisible()
    return reports


def _cells(model: Any) -> list[list[str]]:
    return [[model.data(model.index(row, column)) for column in range(model.columnCount())]
            for row in range(model.rowCount())]


def _expected_cells(row: MetricsRow) -> list[str]:
    """What the page must show for a row of the desk's report."""
    def days(value: float | None, mean: bool = False) -> str:
        if value is None:
            return "–"
        return f"{value:.1f}" if mean or value != int(value) else str(int(value))

    return [row.label + ("" if row.ccpa else " *"), str(row.received), str(row.complied),
            str(row.complied_whole), str(row.complied_part), str(row.denied),
            str(row.denied_not_verifiable), str(row.denied_not_by_consumer),
            str(row.denied_exempt), str(row.denied_other), str(row.withdrawn), str(row.open),
            days(row.median_days), days(row.mean_days, mean=True)]


def _row(reports: ReportsWindow, label: str) -> list[str]:
    return next(cells for cells in _cells(reports.metrics.model) if cells[0] == label)


def _choose_year(qtbot: QtBot, ui: Ui, reports: ReportsWindow, year: int) -> None:
    combo = reports.metrics.year_combo
    combo.setCurrentIndex(combo.findData(year))
    ui.settle()
    report = reports.metrics.report
    assert report is not None and report.year == year


@RAISES
def test_the_reports_menu_and_its_shortcut(qtbot: QtBot, ui: Ui) -> None:
    bar = ui.window.menuBar()
    titles = [action.text() for action in bar.actions()]
    assert titles.index("&Reports") == titles.index("&Help") - 1
    actions = ui.window.reports
    assert actions.metrics_action.shortcut().toString() == "Ctrl+Shift+G"
    reports = _open(qtbot, ui)
    assert reports.tabs.currentWidget() is reports.metrics
    assert reports.windowTitle() == "Reports — caseapp"
    # Asked for again (from the menu, the log this time): the same window.
    actions.log_action.trigger()
    ui.settle()
    assert ui.window.reports.window is reports
    assert reports.tabs.currentWidget() is reports.log


def test_the_metrics_of_last_year_then_this_year(qtbot: QtBot, ui: Ui, known: Known) -> None:
    reports = _open(qtbot, ui)
    combo = reports.metrics.year_combo
    # March 2026: the year §7102 publishes is 2025; the desk's requests start in 2025.
    assert [combo.itemText(i) for i in range(combo.count())] == ["2026 (to date)", "2025"]
    assert combo.currentText() == "2025"
    expected = ui.desk.metrics_report(2025)
    assert _cells(reports.metrics.model) == [_expected_cells(row) for row in expected.rows]
    # Received, complied, whole, part, denied, not verifiable, not by a consumer, exempt,
    # other, withdrawn, open, median, mean.
    assert _row(reports, "Delete") == [
        "Delete", "2", "1", "1", "0", "0", "0", "0", "0", "0", "1", "0", "17", "17.0"]
    assert _row(reports, "Know / access")[1:] == [
        "1", "0", "0", "0", "1", "1", "0", "0", "0", "0", "0", "31", "31.0"]
    assert _row(reports, "Correct")[5:8] == ["1", "0", "1"]
    assert _row(reports, "Appeal *")[1:] == ["0"] * 11 + ["–", "–"]
    assert "2025-01-01 to 2025-12-31" in reports.metrics.period.text()
    # The counting rules, as the command line and the PDF say them.
    notes = reports.metrics.notes.text()
    for line in metrics_notes(expected):
        assert f"• {line}" in notes
        assert line in metrics_lines(expected)
    assert "Left out: 1 case(s) received in 2025 that are not privacy requests" in notes

    _choose_year(qtbot, ui, reports, 2026)
    this_year = ui.desk.metrics_report(2026)
    assert _cells(reports.metrics.model) == [_expected_cells(row) for row in this_year.rows]
    assert _row(reports, "Delete")[1:] == ["1", "0", "0", "0", "0", "0", "0", "0", "0",
                                           "0", "1", "–", "–"]
    assert _row(reports, "Opt out of sale/sharing")[1:3] == ["1", "1"]
    assert _row(reports, "Opt out of sale/sharing")[12] == "4"
    assert "the year is not over: figures to date" in reports.metrics.period.text()
    assert not ui.reports


@RAISES
def test_the_request_log_and_its_period(qtbot: QtBot, ui: Ui, known: Known) -> None:
    refs = known.refs
    reports = _open(qtbot, ui)
    reports.tabs.setCurrentWidget(reports.log)  # read when first shown
    ui.settle()
    log = reports.log
    # The 24 months §7101 keeps, up to today: every privacy request, oldest first.
    assert (log.start_edit.text(), log.end_edit.text()) == ("2024-03-05", "2026-03-04")
    shown = [row[L.COL_REF] for row in _cells(log.model)]
    assert shown == [refs[k] for k in "ABCDEF"]
    expected = ui.desk.request_log()
    assert [row.ref for row in expected.rows] == shown
    cells = {row[L.COL_REF]: row for row in _cells(log.model)}
    assert cells[refs["C"]] == [
        refs["C"], "2025-06-10", "Correct", "Post", "VA", "2025-06-12", "Denied",
        "Not made by a consumer: Request not made by a consumer (business contact)."]
    assert cells[refs["B"]][L.COL_RESPONSE] == "Denied: identity not verified"
    assert cells[refs["D"]][L.COL_RESPONSE_ON] == ""
    assert log.summary.text().startswith(
        "6 requests received 2024-03-05 to 2026-03-04, oldest first; 1 case that is not a "
        "privacy request left out.")

    # Another period: typed into the dates, read once the typing rests.
    log.start_edit.setDate(QDate(2025, 5, 1))
    log.end_edit.setDate(QDate(2025, 6, 30))
    qtbot.waitUntil(lambda: not reports.busy(), timeout=10_000)
    ui.settle()
    assert [row[L.COL_REF] for row in _cells(log.model)] == [refs["B"], refs["C"]]
    assert log.exports.csv_button.isEnabled()
    # Backwards: said at once, nothing read, nothing to save.
    log.end_edit.setDate(QDate(2025, 4, 1))
    qtbot.waitUntil(lambda: not reports.busy(), timeout=10_000)
    assert log.summary.text().startswith("The period ends before it starts")
    assert log.model.rowCount() == 0 and not log.exports.csv_button.isEnabled()
    click(qtbot, log.default_button)
    ui.settle()
    assert log.model.rowCount() == 6
    assert log.start_edit.text() == "2024-03-05"

    # Enter on a request opens its case in the main window.
    log.table.setFocus()
    position = shown.index(refs["C"])
    log.table.setCurrentIndex(log.table.model().index(position, 0))
    qtbot.keyClick(log.table, Qt.Key.Key_Return)
    ui.settle()
    assert ui.window.case_page.header.ref.text() == refs["C"]
    assert not ui.reports


def test_the_table_models_pass_the_model_tester(qtbot: QtBot, ui: Ui, known: Known,
                                                 qtmodeltester: Any) -> None:
    metrics = MetricsModel()
    metrics.set_rows(ui.desk.metrics_report(2025).rows)
    qtmodeltester.check(metrics)
    assert metrics.headerData(M.COL_PART, Qt.Orientation.Horizontal,
                              Qt.ItemDataRole.ToolTipRole).startswith("Complied with in part")
    log = RequestLogModel()
    log.set_rows(ui.desk.request_log().rows)
    qtmodeltester.check(log)
    for model in (metrics, log):
        assert model.rowCount(model.index(0, 0)) == 0
        assert model.data(QModelIndex()) is None


def _save_through_dialog(qtbot: QtBot, ui: Ui, reports: ReportsWindow, tab: Any, fmt: str,
                         path: Path) -> QFileDialog:
    button = tab.exports.csv_button if fmt == "csv" else tab.exports.pdf_button
    click(qtbot, button)
    dialog = reports.file_dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    assert dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
    assert not dialog.testOption(QFileDialog.Option.DontConfirmOverwrite)
    dialog.selectFile(str(path))
    dialog.accept()
    ui.settle()
    return dialog


def _pdf_text(path: Path) -> str:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_save_the_reports_as_csv_and_pdf(qtbot: QtBot, ui: Ui, known: Known, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    reports = _open(qtbot, ui)
    metrics: MetricsReport = ui.desk.metrics_report(2025)
    tab = reports.metrics
    assert not tab.exports.open_button.isEnabled()  # nothing saved yet
    target = tmp_path / "metrics.csv"
    _save_through_dialog(qtbot, ui, reports, tab, "csv", target)
    lines = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [line["request_type"] for line in lines] == [row.request_type
                                                       for row in metrics.rows]
    for line, row in zip(lines, metrics.rows, strict=True):
        assert (int(line["received"]), int(line["complied_in_whole_or_part"]),
                int(line["denied"]), int(line["withdrawn"])) == (
            row.received, row.complied, row.denied, row.withdrawn)
    assert lines[0]["median_days"] == "17" and lines[0]["year"] == "2025"
    assert f"Saved the §7102 metrics for 2025 as {target}" in (
        reports.statusBar().currentMessage())

    pdf = tmp_path / "metrics.pdf"
    _save_through_dialog(qtbot, ui, reports, tab, "pdf", pdf)
    text = _pdf_text(pdf)
    assert "CCPA §7102 metrics for 2025" in text
    # Received, whole, part, whole or part, denied, withdrawn, open, median, mean.
    assert "Delete 2 1 0 1 0 1 0 17 17.0" in text
    assert "Know / access 1 0 0 0 1 0 0 31 31.0" in text
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    click(qtbot, tab.exports.open_button)
    assert opened == [QUrl.fromLocalFile(str(pdf))]

    # The log: the rows shown, in the file.
    reports.tabs.setCurrentWidget(reports.log)
    ui.settle()
    log = ui.desk.request_log()
    log_csv = tmp_path / "log.csv"
    dialog = _save_through_dialog(qtbot, ui, reports, reports.log, "csv", log_csv)
    assert dialog.windowTitle() == ("Save the §7101 request log 2024-03-05 to 2026-03-04 "
                                    "as CSV")
    rows = list(csv.DictReader(io.StringIO(log_csv.read_text(encoding="utf-8"))))
    assert [row["ref"] for row in rows] == [row.ref for row in log.rows]
    assert rows[2]["nature_of_response"] == "Denied"
    log_pdf = tmp_path / "log.pdf"
    _save_through_dialog(qtbot, ui, reports, reports.log, "pdf", log_pdf)
    text = _pdf_text(log_pdf)
    assert "CCPA §7101 request log" in text and "2024-03-05 to 2026-03-04" in text
    for row in log.rows:
        assert row.ref in text
    assert not ui.reports


def _answer_box(button: QMessageBox.StandardButton, answered: list[str]) -> Callable[[], None]:
    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):  # not up yet
            QTimer.singleShot(20, answer)
            return
        answered.append(box.text())
        box.button(button).click()
    return answer


def test_a_file_is_replaced_only_when_confirmed(qtbot: QtBot, ui: Ui, known: Known,
                                                tmp_path: Path) -> None:
    reports = _open(qtbot, ui)
    existing = tmp_path / "metrics.csv"
    existing.write_text("kept", encoding="utf-8")
    click(qtbot, reports.metrics.exports.csv_button)
    dialog = reports.file_dialog
    assert dialog is not None
    dialog.selectFile(str(existing))
    answered: list[str] = []
    QTimer.singleShot(0, _answer_box(QMessageBox.StandardButton.No, answered))
    dialog.accept()  # asks first
    ui.settle()
    assert answered and "already exists" in answered[0]
    assert existing.read_text(encoding="utf-8") == "kept"
    QTimer.singleShot(0, _answer_box(QMessageBox.StandardButton.Yes, answered))
    dialog.accept()
    ui.settle()
    assert existing.read_text(encoding="utf-8").startswith("year,request_type,")
    assert not ui.reports


def test_reading_shows_progress_and_problems_go_to_the_presenter(
        qtbot: QtBot, ui: Ui, known: Known, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    reports = _open(qtbot, ui)
    status = reports.statusBar().findChild(TaskStatus)
    assert status is not None
    gate = threading.Event()
    real = ui.desk.metrics_report

    def slow(year: int) -> MetricsReport:
        gate.wait(10)
        if year == 2026:
            raise DatabaseUnavailable("The case database cannot be reached.")
        return real(year)

    monkeypatch.setattr(ui.desk, "metrics_report", slow)
    combo = reports.metrics.year_combo
    combo.setCurrentIndex(combo.findData(2026))
    assert reports.metrics.period.text() == "Counting the requests received in 2026…"
    assert not reports.metrics.exports.pdf_button.isEnabled()
    qtbot.waitUntil(status.isVisible, timeout=5_000)  # in this window's status bar
    assert "Counting the §7102 metrics for 2026" in status.label.text()
    gate.set()
    ui.settle()
    assert ui.last_report().kind == "environment"
    assert "cannot be reached" in ui.last_report().text
    assert reports.metrics.period.text() == "The figures for 2026 could not be read."
    assert reports.metrics.model.rowCount() == 0
    assert not reports.metrics.exports.csv_button.isEnabled()
    assert not status.isVisible()

    # A file that cannot be written: said, nothing left behind.
    _choose_year(qtbot, ui, reports, 2025)
    blocked = tmp_path / "a-file"
    blocked.write_text("x", encoding="utf-8")
    report = reports.metrics.report
    assert report is not None
    reports.save_to(reports.metrics, report, "csv", blocked / "metrics.csv")
    ui.settle()
    assert ui.last_report().kind == "warning"
    assert "cannot be written" in ui.last_report().text
    assert blocked.read_text(encoding="utf-8") == "x"
