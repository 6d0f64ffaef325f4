"""File → Import scans…: OCR in the background, the review dialog, cases from letters."""

# The fixtures are imported from tests/ui/intake_fixtures.py: their names are reused as
# test parameters on purpose.
# ruff: noqa: F811

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from caseapp.services.dto import CaseQuery
from tests.ui.conftest import Ui, new_case
from tests.ui.helpers import click, closed
from tests.ui.intake_fixtures import (  # noqa: F401  (fixtures)
    DEMO,
    iui,
    prefs_file,
    review_dialog,
    status_message,
    store,
)
from ui import scan_import
from ui.dialogs.scan_review import ScanReviewDialog
from ui.widgets.scan_case_form import NOT_CONFIRMED

CTRL = Qt.KeyboardModifier.ControlModifier


def _choose(monkeypatch: pytest.MonkeyPatch, *paths: Path) -> None:
    monkeypatch.setattr(scan_import, "choose_scan_files", lambda _parent: list(paths))


def _activate(qtbot: QtBot, dialog: ScanReviewDialog) -> None:
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)


def test_the_demo_letter_is_prefilled_and_becomes_a_case_on_the_confirmed_day(
        qtbot: QtBot, iui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    _choose(monkeypatch, DEMO / "scanned_letter.png")
    action = iui.window.intake.import_scans_action
    assert action.shortcut().toString() == "Ctrl+Shift+I"
    action.trigger()
    dialog = review_dialog(iui, qtbot)
    form = dialog.form
    assert dialog.position_label.text() == "Scan 1 of 1"
    assert dialog.view.page_count() == 1
    assert form.requester.name.text() == "Daniel R. Whitfield"
    assert form.requester.postal_code.text() == "95822"
    assert form.requester.state.currentText() == "CA"
    assert form.requester.email.text() == "d.whitfield@example.net"
    assert form.request.request_types() == ("delete", "opt_out_marketing")
    assert form.date_written.text() == "March 3, 2026"
    assert form.request.jurisdiction_code() == "CA"
    assert "Alder Creek Road" in form.requester.address.toPlainText()
    assert "Daniel R. Whitfield" in dialog.ocr_text.toPlainText()
    assert not dialog.ocr_text.isVisible()
    dialog.text_toggle.click()
    assert dialog.ocr_text.isVisible()

    # The received day is never assumed: Create case without confirming it is refused.
    assert form.received_on.date() == QDate(2026, 3, 4)  # today, as a proposal
    assert not form.received_confirmed.isChecked()
    click(qtbot, dialog.ok_button)
    iui.settle()
    assert dialog.isVisible()
    assert NOT_CONFIRMED in dialog.error_label.text()
    assert iui.desk.count_cases(CaseQuery(view="all")) == 0

    form.received_on.setDate(QDate(2026, 3, 2))  # the PO box log says Monday
    form.received_confirmed.setChecked(True)
    _activate(qtbot, dialog)
    qtbot.keyClick(dialog, Qt.Key.Key_Return, CTRL)  # Ctrl+Enter creates
    iui.settle()
    assert closed(dialog)
    rows = iui.desk.list_cases(CaseQuery(view="all")).rows
    assert len(rows) == 1
    case = iui.desk.get_case(rows[0].ref)
    assert case.channel == "postal"
    assert case.deadlines.received_on == date(2026, 3, 2)
    assert case.requester.name == "Daniel R. Whitfield"
    assert set(case.request_types) == {"delete", "opt_out_marketing"}
    assert [d.kind for d in case.documents] == ["scan"]
    assert case.messages and "Letter of March 3, 2026" in case.messages[0].subject
    assert case.assignee == "alice"
    # The batch is over: the new case is listed and open, the summary in the status bar.
    assert iui.window.intake.batch is None
    assert iui.window.case_page.header.ref.text() == case.ref
    assert iui.window.model.position_of(case.ref) is not None
    assert f"1 case created ({case.ref})" in status_message(iui)
    assert action.isEnabled()


def test_a_refused_save_keeps_what_was_typed_and_the_same_scan_is_not_taken_twice(
        qtbot: QtBot, iui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    _choose(monkeypatch, DEMO / "scanned_letter.png")
    iui.window.intake.import_scans_action.trigger()
    dialog = review_dialog(iui, qtbot)
    dialog.form.received_confirmed.setChecked(True)
    click(qtbot, dialog.ok_button)
    iui.settle()
    assert closed(dialog)

    iui.window.intake.import_scans_action.trigger()  # the same letter again
    dialog = review_dialog(iui, qtbot)
    dialog.form.received_confirmed.setChecked(True)
    dialog.form.requester.phone.setText("(916) 555-0199")  # typed by staff
    click(qtbot, dialog.ok_button)
    iui.settle()
    assert dialog.isVisible()
    assert "already taken in" in dialog.error_label.text()
    assert dialog.form.requester.phone.text() == "(916) 555-0199"
    assert dialog.ok_button.isEnabled()
    assert iui.reports == []
    click(qtbot, dialog.skip_button)
    iui.settle()
    assert closed(dialog)
    assert iui.desk.count_cases(CaseQuery(view="all")) == 1
    assert "1 skipped" in status_message(iui)


def test_a_scan_added_to_an_existing_case(qtbot: QtBot, iui: Ui,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ref = new_case(iui.desk, "Daniel R. Whitfield").case.ref
    _choose(monkeypatch, DEMO / "scanned_letter.png")
    iui.window.intake.import_scans_action.trigger()
    dialog = review_dialog(iui, qtbot)
    click(qtbot, dialog.attach_button)
    assert dialog.ref_dialog is not None
    dialog.ref_dialog.setTextValue("PR-2026-09999")  # a typo: refused, dialog stays
    dialog.ref_dialog.accept()
    iui.settle()
    assert dialog.isVisible()
    assert "PR-2026-09999" in dialog.error_label.text()
    click(qtbot, dialog.attach_button)
    dialog.ref_dialog.setTextValue(ref.lower())
    dialog.ref_dialog.accept()
    iui.settle()
    assert closed(dialog)
    case = iui.desk.get_case(ref)
    assert [d.kind for d in case.documents] == ["scan"]
    assert iui.desk.count_cases(CaseQuery(view="all")) == 1
    assert "1 added to a case" in status_message(iui)


def _blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (850, 1100), 255).save(buffer, format="PNG", dpi=(100, 100))
    return buffer.getvalue()


def test_unreadable_scans_show_why_and_can_be_skipped_or_typed_in_by_hand(
        qtbot: QtBot, iui: Ui, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    not_a_scan = tmp_path / "letter.pdf"
    not_a_scan.write_text("this is a text file, not a PDF")
    blank = tmp_path / "blank.png"
    blank.write_bytes(_blank_png())
    _choose(monkeypatch, not_a_scan, blank)
    iui.window.intake.import_scans_action.trigger()

    dialog = review_dialog(iui, qtbot)
    assert dialog.position_label.text() == "Scan 1 of 2"
    assert dialog.unreadable.isVisible()
    assert "letter.pdf is not a PDF or image" in dialog.reason_label.text()
    assert not dialog.form.isVisible()
    assert not dialog.ok_button.isEnabled()
    assert not dialog.attach_button.isEnabled()  # nothing to keep in a case
    assert dialog.view.page_count() == 0
    click(qtbot, dialog.skip_button)
    iui.settle()

    dialog = review_dialog(iui, qtbot)  # the next scan: a blank page
    assert dialog.position_label.text() == "Scan 2 of 2"
    assert "no readable text" in dialog.reason_label.text()
    assert dialog.view.page_count() == 1  # the picture is still shown
    click(qtbot, dialog.by_hand_button)
    form = dialog.form
    assert form.isVisible() and dialog.ok_button.isEnabled()
    assert form.requester.name.text() == "" and form.request.request_types() == ()
    form.requester.name.setText("Ana Ruiz")
    form.request.type_boxes["access"].setChecked(True)
    form.received_confirmed.setChecked(True)
    click(qtbot, dialog.ok_button)
    iui.settle()
    assert closed(dialog)
    [row] = iui.desk.list_cases(CaseQuery(view="all")).rows
    case = iui.desk.get_case(row.ref)
    assert (case.channel, case.requester.name) == ("postal", "Ana Ruiz")
    assert [(d.kind, d.filename) for d in case.documents] == [("scan", "blank.png")]
    assert "1 skipped" in status_message(iui)
    assert iui.reports == []


def test_cancel_while_reading_stops_the_batch_and_stores_nothing(
        qtbot: QtBot, iui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    _choose(monkeypatch, DEMO / "carta_padre.tif", DEMO / "scanned_letter.png")
    window = iui.window
    window.intake.import_scans_action.trigger()
    assert not window.intake.import_scans_action.isEnabled()  # one batch at a time
    status = window.task_status

    def reading_page_one() -> bool:
        return "Reading page 1 of 2 of carta_padre.tif" in status.label.text()

    qtbot.waitUntil(reading_page_one, timeout=15_000)
    assert status.label.text().startswith("Reading scans (1 of 2)")
    qtbot.waitUntil(status.cancel_button.isVisible)
    click(qtbot, status.cancel_button)
    iui.settle()
    qtbot.waitUntil(lambda: window.intake.batch is None, timeout=15_000)
    outcome = window.intake.last_batch
    assert outcome is not None
    assert outcome.not_read == ["carta_padre.tif", "scanned_letter.png"]
    assert outcome.created == [] and outcome.skipped == []
    assert "2 not taken in" in status_message(iui)
    assert iui.desk.count_cases(CaseQuery(view="all")) == 0
    assert window.intake.import_scans_action.isEnabled()
    assert iui.reports == []


def test_stop_in_the_review_leaves_the_rest_untaken(qtbot: QtBot, iui: Ui,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _choose(monkeypatch, DEMO / "scanned_letter.png", DEMO / "carta_padre.tif")
    iui.window.intake.import_scans_action.trigger()
    dialog = review_dialog(iui, qtbot)
    dialog.reject()  # Stop (or Esc)
    qtbot.waitUntil(lambda: iui.window.intake.batch is None, timeout=15_000)
    outcome = iui.window.intake.last_batch
    assert outcome is not None
    assert sorted(outcome.not_read) == ["carta_padre.tif", "scanned_letter.png"]
    assert iui.desk.count_cases(CaseQuery(view="all")) == 0
