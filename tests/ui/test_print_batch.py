"""File → Print acknowledgements due…: the due list loaded in the background into a
checkable table, the printers of a real private CUPS server (tests/cups_server.py), a
batch printed with progress and its summary kept in the dialog, a batch stopped after the
current letter, an unreachable print server said plainly (the list stays usable), the
model tester, and the follow-up (mailed first-class, acknowledged) asked before it runs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox
from pytestqt.qtbot import QtBot

from caseapp.services import Desk, letter_printing
from caseapp.services.dto import NewCase, PartyData
from caseapp.services.letter_printing import BatchProblem, BatchResult, PrintedLetter
from caseapp.services.letters import LetterRequest
from tests.cups_server import CupsServer
from tests.ui.conftest import Ui
from tests.ui.helpers import click, closed
from ui.dialogs.confirm import yes_button
from ui.dialogs.print_batch import PrintBatchDialog
from ui.models.print_batch import DueLettersModel, Outcome

M = DueLettersModel
TODAY = date(2026, 3, 4)  # tests/conftest.py FIXED_NOW
LONG_AGO = date(2026, 2, 2)  # received then: the acknowledgement is overdue
ACK = LetterRequest("acknowledgement", delivery="post")


def due_case(desk: Desk, name: str, received_on: date = LONG_AGO) -> str:
    requester = PartyData(name=name, email=f"{name.split()[0].lower()}@example.com",
                          postal_address="88 Valencia Street, Apt 4\nSan Francisco, CA 94103",
                          postal_code="94103", state="CA")
    return desk.create_case(NewCase(channel="email", request_types=("delete",),
                                    requester=requester, received_on=received_on,
                                    jurisdiction="CA", summary="Please delete my data.")
                            ).case.ref


def open_dialog(ui: Ui) -> PrintBatchDialog:
    ui.window.print_due_action.trigger()
    dialog = ui.window.active_dialog
    assert isinstance(dialog, PrintBatchDialog) and dialog.isVisible()
    ui.settle()
    return dialog


def cell(dialog: PrintBatchDialog, ref: str, column: int,
         role: int = Qt.ItemDataRole.DisplayRole) -> Any:
    model = dialog.model
    row = next(n for n, due in enumerate(model.rows()) if due.ref == ref)
    return model.data(model.index(row, column), role)


def set_checked(dialog: PrintBatchDialog, ref: str, checked: bool) -> None:
    model = dialog.model
    row = next(n for n, due in enumerate(model.rows()) if due.ref == ref)
    state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
    assert model.setData(model.index(row, M.COL_REQUESTER), state.value,
                         Qt.ItemDataRole.CheckStateRole)


def progress_texts(ui: Ui, dialog: PrintBatchDialog) -> list[str]:
    """What the progress bar says at every report (read after the dialog's own slot)."""
    seen: list[str] = []
    ui.window.runner.task_progressed.connect(
        lambda _id: seen.append(dialog.progress_bar.format()))
    return seen


@pytest.fixture
def printing_ui(ui: Ui, cups: CupsServer) -> Ui:
    ui.desk.use_print_server(cups.address)
    return ui


# --- the list and the printers ---------------------------------------------------------------


# Bringing the open dialog to the front: the offscreen platform has no window stacking.
@pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)\(\)")
def test_the_menu_entry_and_the_due_list(qtbot: QtBot, printing_ui: Ui,
                                        cups: CupsServer) -> None:
    ui = printing_ui
    desk = ui.desk
    overdue = due_case(desk, "Olive Overdue", date(2026, 1, 20))
    other = due_case(desk, "Dan Due")
    unsent = due_case(desk, "Una Unsent")
    serial = desk.issue_letter(unsent, ACK).serial
    not_due = due_case(desk, "Tom Today", TODAY)  # due in ten business days
    action = ui.window.print_due_action
    assert action.shortcut() == QKeySequence("Ctrl+Shift+P")
    file_menu = ui.window.menuBar().actions()[0].menu()
    assert isinstance(file_menu, QMenu) and action in file_menu.actions()

    dialog = open_dialog(ui)

    assert [due.ref for due in dialog.model.rows()] == [overdue, other, unsent]
    assert not_due not in dialog.model.checked_refs()
    assert dialog.model.checked_refs() == [overdue, other, unsent]
    assert cell(dialog, overdue, M.COL_REQUESTER) == "Olive Overdue"
    assert cell(dialog, overdue, M.COL_REQUESTER, Qt.ItemDataRole.CheckStateRole) == (
        Qt.CheckState.Checked)
    assert "overdue" in cell(dialog, overdue, M.COL_DUE)
    assert cell(dialog, unsent, M.COL_LETTER) == f"{serial} issued, not sent"
    assert cell(dialog, other, M.COL_LETTER) == "New"
    assert "3 acknowledgements due, 3 overdue; 3 checked" in dialog.list_note.text()
    # The private server's PDF queue, the default, is preselected.
    assert dialog.printer_combo.isEnabled()
    assert dialog.printer_combo.currentData() == cups.printer
    assert "(default)" in dialog.printer_combo.currentText()
    assert dialog.print_button.isEnabled() and dialog.print_button.text() == "Print 3 letters"
    set_checked(dialog, other, False)
    assert dialog.print_button.text() == "Print 2 letters"
    dialog.check_none_button.click()
    assert not dialog.print_button.isEnabled()
    dialog.check_all_button.click()
    assert dialog.print_button.text() == "Print 3 letters"
    # Space checks or unchecks the selected rows; a click on the box does too.
    table = dialog.table
    table.selectRow(0)
    qtbot.keyClick(table, Qt.Key.Key_Space)
    assert dialog.model.checked_refs() == [other, unsent]
    qtbot.keyClick(table, Qt.Key.Key_Space)
    assert dialog.model.checked_refs() == [overdue, other, unsent]
    box = table.visualRect(table.model().index(1, M.COL_REQUESTER))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(box.left() + 11, box.center().y()))
    assert dialog.model.checked_refs() == [overdue, unsent]
    assert dialog.print_button.text() == "Print 2 letters"
    # Opened again, the same dialog comes to the front.
    assert ui.window.print_acknowledgements_due() is dialog
    assert not ui.reports
    dialog.reject()
    ui.settle()
    assert closed(dialog)
    again = ui.window.print_acknowledgements_due()  # a new one once the first was closed
    assert again is not dialog and again.isVisible()
    ui.settle()
    again.reject()


def test_an_unreachable_print_server_is_said_and_the_list_stays_usable(ui: Ui) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    ui.desk.use_print_server(address)
    refs = [due_case(ui.desk, "Pat Paper"), due_case(ui.desk, "Quinn Queue")]

    dialog = open_dialog(ui)

    assert [due.ref for due in dialog.model.rows()] == refs
    assert dialog.printer_combo.currentText() == "No printer available"
    assert not dialog.printer_combo.isEnabled()
    assert dialog.printer_note.isVisible()
    note = dialog.printer_note.text()
    assert "Printing is not available" in note and address in note and "not running" in note
    assert not dialog.print_button.isEnabled()
    assert "not running" in dialog.print_button.toolTip()
    assert dialog.check_none_button.isEnabled()  # the list can still be worked with
    assert not ui.reports  # said in the dialog, not in a box on top of it

    # A server without printers is said too.
    dialog._show_printers((), "")
    assert "has no printers" in dialog.printer_note.text()
    assert not dialog.print_button.isEnabled()


# --- printing ----------------------------------------------------------------------------------


def test_printing_two_checked_cases(qtbot: QtBot, printing_ui: Ui, cups: CupsServer,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ui = printing_ui
    desk = ui.desk
    first, left_out, second = (due_case(desk, "Ada Print"), due_case(desk, "Ben Later"),
                               due_case(desk, "Cleo Print"))
    refreshed: list[bool] = []
    ui.window.refresh = lambda: refreshed.append(True)  # type: ignore[method-assign]
    dialog = open_dialog(ui)
    set_checked(dialog, left_out, False)
    seen = progress_texts(ui, dialog)
    # Progress reports are coalesced while the window is busy (by design); each letter
    # waits until the window has shown it, so that what is shown can be checked.
    print_letter = letter_printing.print_letter

    def shown_then_printed(*args: Any, **kwargs: Any) -> Any:
        ref = args[2]
        deadline = time.monotonic() + 20
        while not any(ref in text for text in seen) and time.monotonic() < deadline:
            time.sleep(0.02)
        return print_letter(*args, **kwargs)

    monkeypatch.setattr(letter_printing, "print_letter", shown_then_printed)

    with qtbot.waitSignal(dialog.batch_done, timeout=120_000) as done:
        click(qtbot, dialog.print_button)
        assert dialog.progress_bar.isVisible() and dialog.stop_button.isEnabled()
        assert not dialog.print_button.isEnabled()
    ui.settle()

    result = done.args[0]
    assert isinstance(result, BatchResult)
    assert [p.ref for p in result.printed] == [first, second]
    assert f"1 of 2 — {first}" in seen and f"2 of 2 — {second}" in seen
    assert dialog.headline.text() == f"Printed 2 letters on {cups.printer}."
    summary = dialog.summary.toPlainText()
    assert "Printed (2):" in summary and first in summary and second in summary
    assert "Ada Print" in summary and left_out not in summary
    assert not dialog.progress_box.isVisible()
    for letter in result.printed:
        assert cell(dialog, letter.ref, M.COL_RESULT) == f"✓ Printed {letter.serial}"
        cups.wait_for_output(f"{letter.serial} {letter.ref}")
    assert cell(dialog, left_out, M.COL_RESULT) == ""
    # The printed ones cannot be checked again; the one left out is the next batch.
    assert dialog.model.checked_refs() == []
    set_checked(dialog, left_out, True)
    assert dialog.print_button.text() == "Print 1 letter"
    assert [d.ref for d in desk.acknowledgements_due()] == [left_out]
    assert refreshed  # the window reloads its list and page
    assert ui.window.statusBar().currentMessage().startswith("Print batch: 2 printed")
    # Printing alone records no mailing and takes no step: that is offered, not done.
    assert dialog.mailed_button.isVisible() and dialog.mailed_button.text() == (
        "Record 2 as mailed…")
    assert all(letter.mailed_on is None for letter in desk.list_letters(first))
    assert desk.get_case(first).status == "received"
    assert not ui.reports


def test_a_stop_request_ends_the_batch_after_the_current_letter(
        qtbot: QtBot, printing_ui: Ui, cups: CupsServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ui = printing_ui
    desk = ui.desk
    refs = [due_case(desk, f"Stop Person{i}") for i in range(3)]
    entered, release = threading.Event(), threading.Event()
    issue: Callable[..., Any] = desk.issue_letter

    def held_issue(*args: Any, **kwargs: Any) -> Any:  # the first letter waits for Stop
        entered.set()
        assert release.wait(60)
        return issue(*args, **kwargs)

    monkeypatch.setattr(desk, "issue_letter", held_issue)
    dialog = open_dialog(ui)
    seen = progress_texts(ui, dialog)

    with qtbot.waitSignal(dialog.batch_done, timeout=120_000) as done:
        click(qtbot, dialog.print_button)
        qtbot.waitUntil(entered.is_set, timeout=30_000)
        click(qtbot, dialog.stop_button)
        assert dialog.stop_button.text() == "Stopping…" and not dialog.stop_button.isEnabled()
        assert "stopping after this one" in dialog.progress_bar.format()
        release.set()
    ui.settle()

    result = done.args[0]
    assert result.stopped and [p.ref for p in result.printed] == refs[:1]
    assert list(result.not_done) == refs[1:]
    assert any(text.startswith(f"1 of 3 — {refs[0]}") for text in seen)
    assert dialog.headline.text() == "Stopped: 1 letter printed, 2 of 3 not reached."
    summary = dialog.summary.toPlainText()
    assert "Not reached (2), still due:" in summary
    assert all(ref in summary.split("Not reached")[1] for ref in refs[1:])
    assert [cell(dialog, ref, M.COL_RESULT) for ref in refs[1:]] == ["Not reached"] * 2
    assert dialog.model.checked_refs() == refs[1:]  # ready for the next batch
    assert dialog.print_button.isEnabled() and dialog.print_button.text() == "Print 2 letters"
    assert [d.ref for d in desk.acknowledgements_due()] == refs[1:]
    cups.wait_for_output(f"{result.printed[0].serial} {refs[0]}")


def test_closing_during_a_batch_stops_it_then_closes(
        qtbot: QtBot, printing_ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    ui = printing_ui
    desk = ui.desk
    refs = [due_case(desk, f"Close Person{i}") for i in range(2)]
    entered, release = threading.Event(), threading.Event()
    issue: Callable[..., Any] = desk.issue_letter

    def held_issue(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(60)
        return issue(*args, **kwargs)

    monkeypatch.setattr(desk, "issue_letter", held_issue)
    dialog = open_dialog(ui)
    click(qtbot, dialog.print_button)
    qtbot.waitUntil(entered.is_set, timeout=30_000)
    dialog.reject()  # Escape or Close while printing
    assert dialog.isVisible()  # still there until the current letter is done
    release.set()
    ui.settle()
    assert closed(dialog)
    assert [d.ref for d in desk.acknowledgements_due()] == refs[1:]


# --- after printing -----------------------------------------------------------------------------


def test_the_printed_letters_recorded_as_mailed_and_acknowledged_when_accepted(
        qtbot: QtBot, printing_ui: Ui) -> None:
    ui = printing_ui
    desk = ui.desk
    refs = [due_case(desk, "Mia Mailed"), due_case(desk, "Ned Mailed")]
    dialog = open_dialog(ui)
    with qtbot.waitSignal(dialog.batch_done, timeout=120_000):
        click(qtbot, dialog.print_button)
    ui.settle()

    click(qtbot, dialog.mailed_button)
    box = dialog.active_dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "Record the 2 printed letters as mailed first-class today (2026-03-04)" in (
        box.text())
    acknowledge = box.checkBox()
    assert acknowledge is not None and acknowledge.isChecked()
    assert "acknowledged" in acknowledge.text()
    assert desk.get_case(refs[0]).status == "received"  # nothing before the answer
    with qtbot.waitSignal(dialog.changed, timeout=60_000):
        click(qtbot, yes_button(box))
    ui.settle()

    for ref in refs:
        letters = desk.list_letters(ref)
        assert [(letter.mailed_on, letter.mail_method) for letter in letters] == [
            (TODAY, "first_class")]
        assert desk.get_case(ref).status == "acknowledged"
        assert cell(dialog, ref, M.COL_RESULT).endswith("mailed, acknowledged")
    note = dialog.follow_up_note.text()
    assert "Recorded 2 letters as mailed first-class on 2026-03-04" in note
    assert "marked 2 cases acknowledged" in note
    assert not dialog.mailed_button.isVisible()  # nothing left to record
    assert not ui.reports


def test_mailed_without_acknowledging_and_a_case_already_acknowledged(
        qtbot: QtBot, printing_ui: Ui) -> None:
    ui = printing_ui
    desk = ui.desk
    refs = [due_case(desk, "Ola Only"), due_case(desk, "Pia Plain")]
    dialog = open_dialog(ui)
    with qtbot.waitSignal(dialog.batch_done, timeout=120_000):
        click(qtbot, dialog.print_button)
    ui.settle()

    # Declined: nothing is recorded.
    click(qtbot, dialog.mailed_button)
    box = dialog.active_dialog
    assert isinstance(box, QMessageBox)
    box.button(QMessageBox.StandardButton.Cancel).click()
    ui.settle()
    assert all(letter.mailed_on is None for letter in desk.list_letters(refs[0]))

    click(qtbot, dialog.mailed_button)
    box = dialog.active_dialog
    assert isinstance(box, QMessageBox) and box.checkBox() is not None
    box.checkBox().setChecked(False)
    click(qtbot, yes_button(box))
    ui.settle()
    assert all(desk.list_letters(ref)[0].mailed_on == TODAY for ref in refs)
    assert all(desk.get_case(ref).status == "received" for ref in refs)
    assert "acknowledged" not in dialog.follow_up_note.text()


# --- the model ----------------------------------------------------------------------------------


def test_the_due_model_passes_the_model_tester(qtmodeltester: Any, sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    refs = [due_case(desk, "Ann One", date(2026, 1, 20)), due_case(desk, "Bo Two")]
    desk.issue_letter(refs[1], ACK)
    model = DueLettersModel(desk.clock.today())
    model.set_rows(desk.acknowledgements_due())
    qtmodeltester.check(model)
    assert model.rowCount() == 2 and model.columnCount() == len(M.HEADERS)
    assert model.headerData(M.COL_DUE, Qt.Orientation.Horizontal) == "Acknowledge by"
    model.set_outcomes({refs[0]: Outcome("printed", "✓ Printed L-1"),
                        refs[1]: Outcome("failed", "✗ Failed", "no postal address")})
    qtmodeltester.check(model)
    assert model.checked_refs() == [refs[1]]
    index = model.index(0, M.COL_REQUESTER)
    assert not model.flags(index) & Qt.ItemFlag.ItemIsUserCheckable  # printed: done
    assert not model.setData(index, Qt.CheckState.Checked.value,
                             Qt.ItemDataRole.CheckStateRole)
    model.set_locked(True)
    assert not model.flags(model.index(1, M.COL_REQUESTER)) & (
        Qt.ItemFlag.ItemIsUserCheckable)
    qtmodeltester.check(model)
    assert "no postal address" in model.data(model.index(1, M.COL_RESULT),
                                             Qt.ItemDataRole.ToolTipRole)


def test_the_summary_lists_failures_with_their_reasons(qtbot: QtBot, printing_ui: Ui) -> None:
    """A batch result with every kind of case, shown as the dialog shows any result."""
    ui = printing_ui
    refs = [due_case(ui.desk, name) for name in ("Al Ok", "Bea Bad", "Cy Skip", "Di Later")]
    dialog = open_dialog(ui)
    printed = PrintedLetter(ref=refs[0], serial="L-2026-000001", kind="acknowledgement",
                            printer="Letters_PDF", job_id="Letters_PDF-7", copies=1,
                            printed_at=ui.desk.clock.now(), issued_now=True)
    dialog._printed(BatchResult(
        printed=(printed,),
        failed=(BatchProblem(refs[1], "The case has no postal address to mail to."),),
        skipped=(BatchProblem(refs[2], "letter L-2026-000002 was printed already today"),),
        not_done=(refs[3],), stopped=True))
    summary = dialog.summary.toPlainText()
    assert f"{refs[1]}  Bea Bad: The case has no postal address to mail to." in summary
    assert "Skipped (1):" in summary and "Not reached (1), still due:" in summary
    assert cell(dialog, refs[1], M.COL_RESULT) == "✗ Failed"
    assert cell(dialog, refs[2], M.COL_RESULT) == "Printed already"
    assert dialog.model.checked_refs() == [refs[1], refs[3]]
    ui.settle()


def test_a_letter_printed_before_an_interruption_is_said_so(qtbot: QtBot,
                                                            printing_ui: Ui) -> None:
    """A batch run again after a crash: the letter CUPS took just before it is recorded,
    not printed again, and the dialog says so (the letter still waits to be mailed)."""
    ui = printing_ui
    refs = [due_case(ui.desk, name) for name in ("Rae Recovered", "Ned New")]
    dialog = open_dialog(ui)
    now = ui.desk.clock.now()
    recovered = PrintedLetter(ref=refs[0], serial="L-2026-000001", kind="acknowledgement",
                              printer="Letters_PDF", job_id="Letters_PDF-41", copies=1,
                              printed_at=now, recovered=True)
    new = PrintedLetter(ref=refs[1], serial="L-2026-000002", kind="acknowledgement",
                        printer="Letters_PDF", job_id="Letters_PDF-42", copies=1,
                        printed_at=now, issued_now=True)
    dialog.totals.printer = "Letters_PDF"  # as start_printing sets it
    dialog._printed(BatchResult(printed=(recovered, new), failed=(), skipped=(),
                                not_done=(), stopped=False))
    said = ("already printed before the interruption (CUPS job Letters_PDF-41): recorded "
            "now, not printed again")
    summary = dialog.summary.toPlainText().splitlines()
    assert f"  {refs[0]}  Rae Recovered — L-2026-000001, {said}" in summary
    assert f"  {refs[1]}  Ned New — L-2026-000002" in summary
    assert cell(dialog, refs[0], M.COL_RESULT) == "✓ Printed L-2026-000001"
    assert f"Letter L-2026-000001 was {said}." in cell(dialog, refs[0], M.COL_RESULT,
                                                        Qt.ItemDataRole.ToolTipRole)
    assert "Letters_PDF-42" in cell(dialog, refs[1], M.COL_RESULT, Qt.ItemDataRole.ToolTipRole)
    assert dialog.mailed_button.text() == "Record 2 as mailed…"
    ui.settle()
