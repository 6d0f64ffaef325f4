"""The Letters tab of a case: the table (model tester), a letter drafted in the
background and issued from the New letter dialog, the acknowledgement's workflow step
offered once the letter went out (mailed, emailed, printed to be mailed; never when it is
only issued, never taken silently), a refused kind explaining why, mailed and returned
recorded, letters printed (the pages painted onto a printer off the GUI thread), saved
and opened."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData
from caseapp.services.letter_printing import PrintedLetter
from caseapp.services.letters import LetterRequest, LetterView
from tests.ui.conftest import Ui
from tests.ui.helpers import click, closed, open_case
from ui.dialogs.confirm import yes_button
from ui.dialogs.letter_mailing import MarkMailedDialog, ReturnedDialog
from ui.dialogs.letter_viewer import LetterViewer
from ui.dialogs.new_letter import NewLetterDialog
from ui.models.frozen_rows import FrozenRowsModel
from ui.models.letters import LettersModel
from ui.pages.case_page import CasePage
from ui.pages.letters_tab import LettersTab

L = LettersModel
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


# --- set-up ---------------------------------------------------------------------------------


def new_postal_case(desk: Desk, name: str = "Zoë Ågren") -> str:
    requester = PartyData(name=name, email="zoe.agren@example.com",
                          postal_address="88 Valencia Street, Apt 4\nSan Francisco, CA 94103",
                          postal_code="94103", state="CA")
    return desk.create_case(NewCase(channel="postal", request_types=("access",),
                                    requester=requester, summary="Please help.")).case.ref


@pytest.fixture
def threads(ui: Ui, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[threading.Thread]]:
    """Which thread each letter call of the window's desk ran on (the test's own calls,
    checking what was stored, left out)."""
    seen: dict[str, list[threading.Thread]] = {}
    desk = ui.desk
    for name in ("draft_letter", "issue_letter", "list_letters", "letter_pdf",
                 "record_mailing", "record_returned", "record_letter_printed"):
        original: Callable[..., Any] = getattr(desk, name)

        def spy(*args: Any, _name: str = name, _original: Callable[..., Any] = original,
                **kwargs: Any) -> Any:
            if sys._getframe(1).f_code.co_filename != __file__:
                seen.setdefault(_name, []).append(threading.current_thread())
            return _original(*args, **kwargs)

        monkeypatch.setattr(desk, name, spy)
    return seen


def off_gui_thread(threads: dict[str, list[threading.Thread]]) -> None:
    for name, used in threads.items():
        assert threading.main_thread() not in used, f"{name} ran on the GUI thread"


def letters_tab(ui: Ui, ref: str) -> tuple[CasePage, LettersTab]:
    open_case(ui, ref)
    page = ui.window.case_page
    page.tabs.setCurrentWidget(page.letters)
    ui.settle()
    return page, page.letters


def wait_for_draft(qtbot: QtBot, dialog: NewLetterDialog) -> None:
    qtbot.waitUntil(lambda: dialog.draft is not None and dialog.draft.request
                    == dialog.request() and not dialog._rendering
                    and not dialog._timer.isActive(), timeout=15_000)


def new_letter_dialog(qtbot: QtBot, ui: Ui, page: CasePage) -> NewLetterDialog:
    """Ctrl+Shift+L on the case page, as a desk agent would."""
    page.header.setFocus()
    qtbot.keyClick(page, Qt.Key.Key_L, CTRL_SHIFT)
    dialog = page.letters.active_dialog
    assert isinstance(dialog, NewLetterDialog) and dialog.isVisible()
    assert page.tabs.currentWidget() is page.letters
    return dialog


def choose(combo: Any, data: object) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def rows(tab: LettersTab) -> list[LetterView]:
    model = tab.model
    return [model.data(model.index(row, 0), FrozenRowsModel.RowRole)
            for row in range(model.rowCount())]


def cell(tab: LettersTab, serial: str, column: int) -> str:
    model = tab.model
    for row in range(model.rowCount()):
        if model.data(model.index(row, L.COL_SERIAL)) == serial:
            return str(model.data(model.index(row, column)))
    raise AssertionError(f"{serial} is not listed")


# --- the table ------------------------------------------------------------------------------


def test_the_letters_model_passes_the_model_tester(qtmodeltester: Any,
                                                   sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    ref = new_postal_case(desk)
    first = desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="post"))
    second = desk.issue_letter(ref, LetterRequest("verification_request", delivery="email",
                                                  needed="a copy of a recent bill"))
    third = desk.issue_letter(ref, LetterRequest("acknowledgement", language="es",
                                                 delivery="post"))
    desk.record_mailing(ref, first.serial, method="certified", tracking_number="9407 1234")
    desk.record_mailing(ref, third.serial, method="first_class")
    desk.record_returned(ref, third.serial, note="Moved")
    letters = tuple(desk.list_letters(ref))
    model = LettersModel(desk.clock.timezone)
    model.set_rows(letters)
    qtmodeltester.check(model)
    assert [model.data(model.index(row, L.COL_SERIAL)) for row in range(3)] == [
        first.serial, second.serial, third.serial]
    today = desk.clock.today().isoformat()
    assert model.data(model.index(0, L.COL_STATUS)) == f"✓ Mailed {today}"
    assert model.data(model.index(0, L.COL_HOW)) == "Certified"
    assert model.data(model.index(1, L.COL_STATUS)) == "Not emailed yet"
    assert model.data(model.index(2, L.COL_STATUS)) == f"✗ Returned {today}"
    assert model.data(model.index(1, L.COL_HOW)) == "Email"
    assert "tracking number 9407 1234" in model.data(
        model.index(0, L.COL_STATUS), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(1, L.COL_KIND)) == "Verification request"
    assert "Identity verification request: " in model.data(
        model.index(1, L.COL_KIND), Qt.ItemDataRole.ToolTipRole)


# --- a new letter -----------------------------------------------------------------------------


def mark_mailed(qtbot: QtBot, ui: Ui, tab: LettersTab, serial: str) -> None:
    """Mark mailed… for the letter, first-class today, as a desk agent would."""
    assert tab.select_serial(serial)
    click(qtbot, tab.mailed_button)
    dialog = tab.active_dialog
    assert isinstance(dialog, MarkMailedDialog)
    choose(dialog.method, "first_class")
    click(qtbot, dialog.ok_button)
    ui.settle()
    assert closed(dialog)


def nothing_offered(page: CasePage) -> None:
    box = page.active_dialog
    assert not (isinstance(box, QMessageBox) and shiboken6.isValid(box) and box.isVisible())


def offered(page: CasePage, text: str) -> QMessageBox:
    box = page.active_dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert text in box.text() and "acknowledged" in box.text()
    return box


def test_a_letter_is_drafted_in_the_background_issued_and_listed_and_the_step_offered(
        qtbot: QtBot, ui: Ui, threads: dict[str, list[threading.Thread]]) -> None:
    ref = new_postal_case(ui.desk)
    page, tab = letters_tab(ui, ref)
    assert page.tabs.tabText(page.tabs.indexOf(tab)) == "Letters (0)"
    assert "No letters yet" in tab.hint.text()
    dialog = new_letter_dialog(qtbot, ui, page)
    assert dialog.kind.currentData() == "acknowledgement"
    assert dialog.delivery.currentData() == "post"  # it came by post, with an address
    wait_for_draft(qtbot, dialog)
    draft = dialog.current_draft()
    assert draft is not None and draft.serial == "DRAFT"
    # The preview shows the draft's pages (QtPdf), and the dialog what it will say.
    assert dialog.preview.page_count() >= 1
    assert dialog.preview.document.pageCount() >= 1
    assert "88 Valencia Street" in dialog.summary.text()
    assert ui.desk.list_letters(ref) == []  # a draft stores nothing

    click(qtbot, dialog.issue_button)
    ui.settle()
    assert closed(dialog)
    stored = ui.desk.list_letters(ref)
    assert len(stored) == 1 and stored[0].kind == "acknowledgement"
    assert [row.serial for row in rows(tab)] == [stored[0].serial]
    assert [row.serial for row in tab.selected()] == [stored[0].serial]  # the new one
    assert page.tabs.tabText(page.tabs.indexOf(tab)) == "Letters (1)"
    assert "letter.issued" in [entry.action for entry in ui.desk.get_case(ref).history]

    # Issued is not sent: the step the acknowledgement completes is not offered yet.
    nothing_offered(page)
    assert ui.desk.get_case(ref).status == "received"

    # Once it is mailed the user is asked; nothing happens silently.
    mark_mailed(qtbot, ui, tab, stored[0].serial)
    assert ui.desk.get_case(ref).status == "received"
    box = offered(page, f"Letter {stored[0].serial} was mailed.")
    click(qtbot, yes_button(box))
    ui.settle()
    assert ui.desk.get_case(ref).status == "acknowledged"
    assert page.detail is not None and page.detail.status == "acknowledged"
    off_gui_thread(threads)
    assert threads["draft_letter"] and threads["issue_letter"]


def test_the_step_is_not_taken_when_the_user_declines(qtbot: QtBot, ui: Ui) -> None:
    ref = new_postal_case(ui.desk)
    page, tab = letters_tab(ui, ref)
    dialog = new_letter_dialog(qtbot, ui, page)
    wait_for_draft(qtbot, dialog)
    click(qtbot, dialog.issue_button)
    ui.settle()
    nothing_offered(page)
    mark_mailed(qtbot, ui, tab, ui.desk.list_letters(ref)[0].serial)
    box = page.active_dialog
    assert isinstance(box, QMessageBox)
    box.reject()
    ui.settle()
    assert ui.desk.get_case(ref).status == "received"
    assert len(ui.desk.list_letters(ref)) == 1


def test_a_letter_the_case_is_not_ready_for_says_why_and_cannot_be_issued(
        qtbot: QtBot, ui: Ui) -> None:
    ref = new_postal_case(ui.desk)
    page, _tab = letters_tab(ui, ref)
    dialog = new_letter_dialog(qtbot, ui, page)
    wait_for_draft(qtbot, dialog)
    choose(dialog.kind, "deletion_confirmation")
    wait_for_draft(qtbot, dialog)
    assert dialog.current_draft() is None
    assert dialog.problem.isVisible() and dialog.problem.text()
    assert "cannot be issued now" in dialog.preview.empty.text()
    assert not dialog.issue_button.isEnabled()
    dialog.issue()  # Ctrl+Return does nothing either
    ui.settle()
    assert ui.desk.list_letters(ref) == []
    # Every kind is listed; the downstream notice asks which notice.
    assert dialog.kind.count() == 12
    choose(dialog.kind, "downstream_notice")
    assert dialog.notice.isVisibleTo(dialog) and not dialog.needed.isVisibleTo(dialog)
    dialog.reject()
    ui.settle()


def test_what_we_need_is_typed_into_the_draft_rendered_once_typing_pauses(
        qtbot: QtBot, ui: Ui, threads: dict[str, list[threading.Thread]]) -> None:
    ref = new_postal_case(ui.desk)
    page, tab = letters_tab(ui, ref)
    dialog = new_letter_dialog(qtbot, ui, page)
    wait_for_draft(qtbot, dialog)
    choose(dialog.kind, "verification_request")
    assert dialog.needed.isVisibleTo(dialog)
    wait_for_draft(qtbot, dialog)
    before = len(threads["draft_letter"])
    dialog.needed.setFocus()
    qtbot.keyClicks(dialog.needed, "a copy of a recent utility bill")
    wait_for_draft(qtbot, dialog)
    assert len(threads["draft_letter"]) - before <= 3  # not one per key
    draft = dialog.current_draft()
    assert draft is not None and "a copy of a recent utility bill" in draft.text
    choose(dialog.language, "es")
    wait_for_draft(qtbot, dialog)
    spanish = dialog.current_draft()
    assert spanish is not None and spanish.language == "es"
    qtbot.keyClick(dialog, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    ui.settle()
    stored = ui.desk.list_letters(ref)
    assert [(letter.kind, letter.language) for letter in stored] == [
        ("verification_request", "es")]
    assert len(rows(tab)) == 1
    # A verification request completes no step: nothing is asked.
    assert not isinstance(page.active_dialog, QMessageBox)
    off_gui_thread(threads)


def test_a_refusal_when_issuing_shows_in_the_dialog_and_keeps_the_choices(
        qtbot: QtBot, ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    from caseapp.errors import InvalidInput

    ref = new_postal_case(ui.desk)
    page, _tab = letters_tab(ui, ref)
    dialog = new_letter_dialog(qtbot, ui, page)
    choose(dialog.delivery, "file")
    wait_for_draft(qtbot, dialog)

    def refuse(_ref: str, _request: LetterRequest) -> None:
        raise InvalidInput("The requester's address changed meanwhile.")

    monkeypatch.setattr(ui.desk, "issue_letter", refuse)
    click(qtbot, dialog.issue_button)
    ui.settle()
    assert dialog.isVisible()
    assert "address changed meanwhile" in dialog.problem.text()
    assert dialog.delivery.currentData() == "file"
    assert dialog.issue_button.isEnabled()
    dialog.reject()
    assert closed(dialog)


# --- what happened to a letter --------------------------------------------------------------


def test_mark_mailed_and_returned_update_the_row_and_the_case(
        qtbot: QtBot, ui: Ui, threads: dict[str, list[threading.Thread]]) -> None:
    ref = new_postal_case(ui.desk)
    letter = ui.desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="post"))
    page, tab = letters_tab(ui, ref)
    assert cell(tab, letter.serial, L.COL_STATUS) == "Not mailed yet"
    assert tab.select_serial(letter.serial)
    assert not tab.returned_button.isEnabled()  # not mailed yet
    click(qtbot, tab.mailed_button)
    dialog = tab.active_dialog
    assert isinstance(dialog, MarkMailedDialog)
    choose(dialog.method, "certified")
    dialog.tracking.clear()
    click(qtbot, dialog.ok_button)
    assert dialog.isVisible() and "tracking number" in dialog.error_label.text()
    qtbot.keyClicks(dialog.tracking, "9407 1000 0000 0000 0000 00")
    click(qtbot, dialog.ok_button)
    ui.settle()
    assert closed(dialog)
    today = ui.desk.clock.today()
    assert cell(tab, letter.serial, L.COL_STATUS) == f"✓ Mailed {today}"
    assert cell(tab, letter.serial, L.COL_HOW) == "Certified"
    stored = ui.desk.list_letters(ref)[0]
    assert stored.mail_method == "certified"
    assert stored.tracking_number == "9407 1000 0000 0000 0000 00"
    # The acknowledgement went out: the step it completes is offered; declined here.
    box = page.active_dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert f"Letter {letter.serial} was mailed." in box.text()
    box.reject()
    ui.settle()
    assert ui.desk.get_case(ref).status == "received"

    assert tab.select_serial(letter.serial)
    assert tab.returned_button.isEnabled()
    click(qtbot, tab.returned_button)
    returned = tab.active_dialog
    assert isinstance(returned, ReturnedDialog)
    qtbot.keyClicks(returned.note, "Moved, left no address")
    click(qtbot, returned.ok_button)
    ui.settle()
    assert closed(returned)
    assert cell(tab, letter.serial, L.COL_STATUS) == f"✗ Returned {today}"
    assert "1 returned undeliverable" in tab.hint.text()
    # The case page follows: a task to find a new address.
    assert page.detail is not None
    assert any("undeliverable" in task.title for task in page.detail.tasks)
    off_gui_thread(threads)


def test_a_mailing_the_desk_refuses_shows_in_the_dialog(
        qtbot: QtBot, ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    from caseapp.errors import InvalidInput

    ref = new_postal_case(ui.desk)
    letter = ui.desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="post"))
    _page, tab = letters_tab(ui, ref)
    tab.select_serial(letter.serial)
    tab.mark_mailed()
    dialog = tab.active_dialog
    assert isinstance(dialog, MarkMailedDialog)
    # The date field stops a date before the letter was issued.
    dialog.mailed_on.setDate(dialog.mailed_on.date().addDays(-30))
    assert dialog.mailed_on.date() == dialog.mailed_on.minimumDate()
    choose(dialog.method, "first_class")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise InvalidInput("A tracking number has at most 60 characters.")

    monkeypatch.setattr(ui.desk, "record_mailing", refuse)
    click(qtbot, dialog.ok_button)
    ui.settle()
    assert dialog.isVisible()
    assert dialog.error_label.text() == "A tracking number has at most 60 characters."
    assert dialog.ok_button.isEnabled()
    assert ui.desk.list_letters(ref)[0].mailed_on is None


# --- printing, saving, opening ----------------------------------------------------------------


def test_selected_letters_print_in_one_job_in_the_background(
        qtbot: QtBot, ui: Ui, tmp_path: Path,
        threads: dict[str, list[threading.Thread]]) -> None:
    ref = new_postal_case(ui.desk)
    first = ui.desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="post"))
    second = ui.desk.issue_letter(ref, LetterRequest("acknowledgement", language="es",
                                                     delivery="post"))
    _page, tab = letters_tab(ui, ref)
    tab.table.selectAll()
    assert tab.print_button.text() == "Print 2…"
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setResolution(150)  # quicker for the test
    out = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(out))
    task = tab.output.print_with(printer, tab.selected(),
                                 on_done=lambda _printed: tab._changed())
    assert task is not None and task.cancellable
    ui.settle()
    pages = sum(len(PdfReader(_pdf(ui.desk, ref, serial)).pages)
                for serial in (first.serial, second.serial))
    assert len(PdfReader(out).pages) == pages
    assert "Sent" in tab.hint.text()
    history = [entry.action for entry in ui.desk.get_case(ref).history]
    assert history.count("letter.printed") == 2
    off_gui_thread(threads)
    assert threads["letter_pdf"] and threads["record_letter_printed"]


def _pdf(desk: Desk, ref: str, serial: str) -> Any:
    import io

    return io.BytesIO(desk.letter_pdf(ref, serial))


def test_printing_can_be_cancelled(qtbot: QtBot, ui: Ui, tmp_path: Path) -> None:
    ref = new_postal_case(ui.desk)
    ui.desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="post"))
    _page, tab = letters_tab(ui, ref)
    tab.table.selectAll()
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "never.pdf"))
    task = tab.output.print_with(printer, tab.selected())
    assert task is not None
    ui.window.runner.cancel(task.id)
    ui.settle()
    assert tab.output.printing is None
    assert "letter.printed" not in [e.action for e in ui.desk.get_case(ref).history]


def test_a_letter_opens_in_the_viewer_and_saves_as_a_pdf(
        qtbot: QtBot, ui: Ui, tmp_path: Path) -> None:
    ref = new_postal_case(ui.desk)
    letter = ui.desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="post"))
    _page, tab = letters_tab(ui, ref)
    tab.select_serial(letter.serial)
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_Return)
    viewer = tab.active_dialog
    assert isinstance(viewer, LetterViewer)
    ui.settle()
    qtbot.waitUntil(lambda: viewer.preview.page_count() >= 1, timeout=10_000)
    assert viewer.preview.pdf == letter.pdf
    target = tmp_path / "saved.pdf"
    tab.output.save_to(rows(tab)[0], target)
    ui.settle()
    assert target.read_bytes() == letter.pdf
    assert "Saved letter" in tab.hint.text()


def test_the_letters_tab_fits_beside_the_others(ui: Ui) -> None:
    ref = new_postal_case(ui.desk)
    page, _tab = letters_tab(ui, ref)
    bar = page.tabs.tabBar()
    needed = sum(bar.tabRect(index).width() for index in range(bar.count()))
    assert needed <= page.tabs.width(), (needed, page.tabs.width())


def test_print_opens_the_print_dialog_for_the_selected_letters(qtbot: QtBot, ui: Ui) -> None:
    from PySide6.QtPrintSupport import QPrintDialog

    ref = new_postal_case(ui.desk)
    letter = ui.desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="post"))
    _page, tab = letters_tab(ui, ref)
    tab.select_serial(letter.serial)
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = tab.active_dialog
    assert isinstance(dialog, QPrintDialog) and dialog.isVisible()
    assert letter.serial in dialog.windowTitle()
    dialog.reject()
    ui.settle()
    assert tab.output.printing is None  # nothing printed


def test_printing_a_letter_to_be_mailed_through_the_dialog_offers_the_step_once(
        qtbot: QtBot, ui: Ui, tmp_path: Path) -> None:
    ref = new_postal_case(ui.desk)
    letter = ui.desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="post"))
    page, tab = letters_tab(ui, ref)
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setResolution(150)  # quicker for the test
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    tab.output.printer = printer  # what the dialog starts from

    def print_it() -> None:
        tab.select_serial(letter.serial)
        tab.print_selected()
        dialog = tab.active_dialog
        assert dialog is not None
        nothing_offered(page)  # not before it printed
        dialog.accept()  # type: ignore[attr-defined]
        ui.settle()
        assert tab.output.printing is None

    print_it()
    assert "letter.printed" in [e.action for e in ui.desk.get_case(ref).history]
    box = offered(page, f"Letter {letter.serial} was printed to be mailed.")
    box.reject()
    ui.settle()
    print_it()  # printed again: not asked a second time
    nothing_offered(page)
    assert ui.desk.get_case(ref).status == "received"


def test_printing_from_the_viewer_offers_the_step_too(
        qtbot: QtBot, ui: Ui, tmp_path: Path) -> None:
    ref = new_postal_case(ui.desk)
    letter = ui.desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="post"))
    page, tab = letters_tab(ui, ref)
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setResolution(150)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    tab.output.printer = printer
    tab.select_serial(letter.serial)
    tab.open_selected()
    viewer = tab.active_dialog
    assert isinstance(viewer, LetterViewer)
    viewer.print_button.click()
    dialog = tab.output.dialog
    assert dialog is not None
    dialog.accept()  # type: ignore[attr-defined]
    ui.settle()
    qtbot.waitUntil(lambda: tab.output.printing is None, timeout=20_000)
    ui.settle()
    box = offered(page, f"Letter {letter.serial} was printed to be mailed.")
    box.reject()


def _sent(ref: str, serial: str, printer: str | None, recovered: bool = False
          ) -> PrintedLetter:
    """What the print server's service says of a letter sent (or found sent)."""
    return PrintedLetter(ref=ref, serial=serial, kind="acknowledgement",
                         printer=printer or "Office", job_id="Office-7", copies=1,
                         printed_at=datetime(2026, 3, 4, 15, 0), recovered=recovered)


def test_a_letter_found_printed_before_an_interruption_is_not_said_sent(
        qtbot: QtBot, ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = new_postal_case(ui.desk)
    letter = ui.desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="email"))
    # The letter's first print was cut short by a crash after the server took it: the
    # service finds that job and records it instead of sending the letter again; asked
    # once more, it prints another copy.
    calls: list[str] = []

    def print_letter(ref: str, serial: str, printer: str | None = None,
                     copies: int = 1) -> PrintedLetter:
        calls.append(serial)
        return _sent(ref, serial, printer, recovered=len(calls) == 1)

    monkeypatch.setattr(ui.desk, "print_letter", print_letter)
    _page, tab = letters_tab(ui, ref)
    tab.select_serial(letter.serial)
    tab.print_to("Office")
    ui.settle()
    assert ("1 letter was already printed before an interruption: recorded, not sent "
            "again (print once more for another copy).") in tab.hint.text()
    assert "Sent" not in tab.hint.text()
    tab.select_serial(letter.serial)
    tab.print_to("Office")
    ui.settle()
    assert "Sent 1 letter to Office." in tab.hint.text()
    assert "interruption" not in tab.hint.text()
    assert calls == [letter.serial, letter.serial]


def test_printing_a_letter_to_be_emailed_offers_nothing(
        qtbot: QtBot, ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = new_postal_case(ui.desk)
    letter = ui.desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="email"))
    monkeypatch.setattr(ui.desk, "print_letter", lambda ref, serial, printer=None, copies=1:
                        _sent(ref, serial, printer))
    page, tab = letters_tab(ui, ref)
    tab.select_serial(letter.serial)
    tab.print_to("Office")
    ui.settle()
    assert "Sent 1 letter to Office" in tab.hint.text()
    nothing_offered(page)  # a paper copy: the letter goes out by email


def test_print_to_lists_the_print_servers_printers_and_prints_without_the_dialog(
        qtbot: QtBot, ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    from caseapp.letters.printing import Printer

    ref = new_postal_case(ui.desk)
    letter = ui.desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="post"))
    printed: list[tuple[str, str, str | None, threading.Thread]] = []
    monkeypatch.setattr(ui.desk, "printers", lambda: (
        Printer("Office", "Front desk laser", True, True, "idle"),
        Printer("Basement", "Basement", False, False, "disabled")))
    monkeypatch.setattr(ui.desk, "print_letter", lambda ref, serial, printer=None, copies=1: (
        printed.append((ref, serial, printer, threading.current_thread()))
        or _sent(ref, serial, printer)))
    page, tab = letters_tab(ui, ref)
    tab.select_serial(letter.serial)
    tab.print_to_menu.aboutToShow.emit()  # as when the menu opens: the printers are asked
    assert [a.text() for a in tab.print_to_menu.actions()] == ["Looking for printers…"]
    ui.settle()
    tab.print_to_menu.aboutToShow.emit()
    texts = [action.text() for action in tab.print_to_menu.actions()]
    assert "Office — Front desk laser (default)" in texts
    assert "Basement (not taking jobs)" in texts
    office = next(a for a in tab.print_to_menu.actions() if a.text().startswith("Office"))
    office.trigger()
    ui.settle()
    assert [(r, s, p) for r, s, p, _t in printed] == [(ref, letter.serial, "Office")]
    assert printed[0][3] is not threading.main_thread()
    assert "Sent 1 letter to Office" in tab.hint.text()
    # Printed to be mailed counts as sent for the acknowledgement: offered, once.
    box = offered(page, f"Letter {letter.serial} was printed to be mailed.")
    box.reject()
    ui.settle()
    assert ui.desk.get_case(ref).status == "received"
    tab.select_serial(letter.serial)
    tab.print_to("Office")
    ui.settle()
    assert len(printed) == 2
    nothing_offered(page)  # printed again: not asked a second time


def test_email_asks_then_sends_in_the_background(
        qtbot: QtBot, ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime

    from caseapp.services.letter_email import EmailedLetter

    ref = new_postal_case(ui.desk)
    letter = ui.desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="email"))
    sent: list[tuple[str, bool, threading.Thread]] = []

    def email(ref: str, serial: str, to: str | None = None, *,
              again: bool = False) -> EmailedLetter:
        sent.append((serial, again, threading.current_thread()))
        return EmailedLetter(ref, serial, "zoe.agren@example.com", "Subject", "<m@x>", 1,
                             datetime(2026, 3, 4, 12), again)

    monkeypatch.setattr(ui.desk, "email_letter", email)
    page, tab = letters_tab(ui, ref)
    tab.select_serial(letter.serial)
    click(qtbot, tab.email_button)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox) and letter.serial in box.text()
    assert sent == []  # nothing goes out before the user says so
    click(qtbot, yes_button(box))
    ui.settle()
    assert [(serial, again) for serial, again, _t in sent] == [(letter.serial, False)]
    assert sent[0][2] is not threading.main_thread()
    assert "Emailed letter" in tab.hint.text() and "zoe.agren@example.com" in tab.hint.text()
    box = offered(page, f"Letter {letter.serial} was emailed to zoe.agren@example.com.")
    click(qtbot, yes_button(box))
    ui.settle()
    assert ui.desk.get_case(ref).status == "acknowledged"
