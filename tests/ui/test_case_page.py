"""The case page: assign, extend, notes, tasks, parties, appeals; stale edits and errors."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from caseapp.errors import DatabaseUnavailable
from caseapp.services.dto import StepRequest
from tests.ui.conftest import Ui, new_case
from tests.ui.helpers import (
    M,
    click,
    click_step,
    closed,
    edit_requester,
    history_texts,
    list_cell,
    ok,
    open_case,
    status_text,
    step_dialog,
)


def test_assign_to_someone_from_the_menu(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk).case.ref
    ui.desk.add_user("bob", "agent", "Bob Stone")
    ui.window.refresh_action.trigger()  # the staff list is loaded with the window
    ui.settle()
    open_case(ui, ref)
    page = ui.window.case_page
    assert page.assign_button.text() == "Assign"
    page.assign_menu.aboutToShow.emit()
    texts = [a.text() for a in page.assign_menu.actions() if a.text()]
    assert texts == ["Me (alice)", "Bob Stone (bob)", "Nobody"]
    next(a for a in page.assign_menu.actions() if a.text() == "Bob Stone (bob)").trigger()
    ui.settle()
    assert "assigned to bob" in page.header.facts.text()
    assert page.assign_button.text() == "Assigned: bob"
    assert list_cell(ui, ref, M.COL_ASSIGNEE) == "bob"
    assert history_texts(ui)[0] == "Assigned to bob"


def test_extend_once_then_do_the_notice_task(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk).case.ref
    open_case(ui, ref)
    page = ui.window.case_page
    assert not page.deadlines.original.isVisible()
    click(qtbot, page.extend_button)
    dialog = step_dialog(ui)
    dialog.reason.setPlainText("Records held by several affiliates must be searched.")
    ok(qtbot, dialog, ui)
    assert closed(dialog)
    assert page.deadlines.respond.text() == "2026-06-02 — in 90 days"
    assert page.deadlines.original.isVisible()
    assert "2026-04-18, extended: Records held" in page.deadlines.original.text()
    assert not page.extend_button.isEnabled()
    assert "already used" in page.extend_button.toolTip()
    assert list_cell(ui, ref, M.COL_DUE) == "2026-06-02 (in 90 days)"
    kinds = [m.kind for m in page.deadlines.timeline.marks()]
    assert "original_due" in kinds

    assert page.tabs.tabText(page.tabs.indexOf(page.tasks)) == "Tasks (1)"
    tasks = page.tasks
    page.tabs.setCurrentWidget(tasks)
    assert tasks.list.item(0).text().startswith("☐ Send the extension notice")
    assert not tasks.done_button.isEnabled()
    tasks.list.setCurrentRow(0)
    click(qtbot, tasks.done_button)
    ui.settle()
    assert page.tabs.tabText(page.tabs.indexOf(page.tasks)) == "Tasks (0)"
    assert tasks.list.item(0).text().startswith("✓ Send the extension notice")
    assert history_texts(ui)[0].startswith("Task done: Send the extension notice")


def test_add_a_note(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk).case.ref
    open_case(ui, ref)
    notes = ui.window.case_page.notes
    ui.window.case_page.tabs.setCurrentWidget(notes)
    assert not notes.add_button.isEnabled()
    assert notes.list.item(0).text() == "No notes yet."
    notes.editor.setPlainText("Called back; she confirmed the ZIP code.")
    click(qtbot, notes.add_button)
    ui.settle()
    assert notes.list.count() == 1
    assert notes.list.item(0).text().endswith("alice\nCalled back; she confirmed the ZIP code.")
    assert notes.editor.toPlainText() == ""
    page = ui.window.case_page
    assert page.tabs.tabText(page.tabs.indexOf(page.notes)) == "Notes (1)"


def test_edit_the_requester(qtbot: QtBot, ui: Ui) -> None:
    ref, dialog = edit_requester(qtbot, ui, "Olivia Grant")
    page = ui.window.case_page
    assert dialog.form.name.text() == "Olivia Grant"
    dialog.form.name.setText("Olivia Grant-Moreno")
    dialog.form.email.setText("broken@")
    ok(qtbot, dialog, ui)
    assert "'broken@' is not an email address" in dialog.error_label.text()
    dialog.form.email.setText("olivia@example.org")
    ok(qtbot, dialog, ui)
    assert closed(dialog)
    assert page.requester_box.fields["name"].text() == "Olivia Grant-Moreno"
    assert page.requester_box.fields["email"].text() == "olivia@example.org"
    assert list_cell(ui, ref, M.COL_REQUESTER) == "Olivia Grant-Moreno"
    assert history_texts(ui)[0].startswith("Requester details changed: name, email")


def test_open_an_appeal_of_a_denied_case(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk).case.ref
    ui.desk.take_step(ref, StepRequest("deny", reason="Not a consumer."))
    open_case(ui, ref)
    page = ui.window.case_page
    assert page.steps.isHidden()
    assert "appeal" in page.closed_label.text()
    assert not page.extend_button.isEnabled()
    click(qtbot, page.appeal_button)
    dialog = step_dialog(ui)
    ok(qtbot, dialog, ui)
    assert dialog.error_label.text() == "What is appealed is required."
    dialog.reason.setPlainText("She is a customer: she bought a car in 2024.")
    ok(qtbot, dialog, ui)
    appeal = page.header.ref.text()
    assert appeal != ref
    assert f"Appeal of {ref}" in page.header.reason.text()
    assert page.header.priority.text() == "HIGH"
    assert ui.window.case_list.current_ref() == appeal  # listed and selected


def test_a_stale_edit_explains_and_reloads(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk).case.ref
    open_case(ui, ref)
    # Someone else acknowledges the case while it is open here.
    ui.desk.as_user("alice").take_step(ref, StepRequest("acknowledge"))
    click_step(qtbot, ui, "acknowledge")  # this page still shows it as received
    report = ui.last_report()
    assert report.kind == "warning"
    assert "changed by someone else" in report.text
    assert status_text(ui) == "Acknowledged"  # reloaded: the other change is visible
    click_step(qtbot, ui, "start_verification")  # and now it goes through
    assert status_text(ui) == "Identity verification"
    assert len(ui.reports) == 1


def test_a_bug_shows_a_report_and_the_window_stays_usable(
        qtbot: QtBot, ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = new_case(ui.desk).case.ref
    open_case(ui, ref)
    notes = ui.window.case_page.notes
    ui.window.case_page.tabs.setCurrentWidget(notes)

    def broken(_ref: str, _body: str) -> None:
        raise KeyError("note_index")

    monkeypatch.setattr(ui.desk, "add_note", broken)
    notes.editor.setPlainText("First try")
    click(qtbot, notes.add_button)
    ui.settle()
    report = ui.last_report()
    assert report.kind == "bug"
    assert "KeyError: <text>" in report.details  # its text redacted (caseapp.logs)
    assert "Traceback" in report.details
    assert notes.editor.toPlainText() == "First try"  # nothing typed is lost
    monkeypatch.undo()
    click(qtbot, notes.add_button)
    ui.settle()
    page = ui.window.case_page
    assert page.tabs.tabText(page.tabs.indexOf(page.notes)) == "Notes (1)"
    click_step(qtbot, ui, "acknowledge")
    assert status_text(ui) == "Acknowledged"
    assert len(ui.reports) == 1


def test_a_lost_database_says_nothing_was_saved(qtbot: QtBot, ui: Ui,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    new_case(ui.desk)
    ui.window.refresh_action.trigger()
    ui.settle()

    def down(*_args: object) -> None:
        raise DatabaseUnavailable("The case database at db.example.com cannot be reached.")

    monkeypatch.setattr(ui.desk, "list_cases", down)
    ui.window.refresh_action.trigger()
    ui.settle()
    report = ui.last_report()
    assert report.kind == "environment"
    assert "cannot be reached" in report.text and "Nothing was saved" in report.text
    assert not ui.window.model.is_loading
    monkeypatch.undo()
    ui.window.refresh_action.trigger()
    ui.settle()
    assert ui.window.model.rowCount() == 1


def _response_sent_with_open_notice(ui: Ui) -> str:
    desk = ui.desk
    ref = new_case(desk, types=("opt_out_marketing",)).case.ref
    for step in ("acknowledge", "skip_verification", "submit_for_review", "approve_and_send"):
        desk.take_step(ref, StepRequest(step))
    desk.add_task(ref, "downstream_notice", "Tell the dealer to stop mailing her")
    return ref


def test_a_supervisor_may_close_over_open_notices_with_a_reason(qtbot: QtBot, ui: Ui) -> None:
    ref = _response_sent_with_open_notice(ui)
    ui.window.refresh_action.trigger()
    ui.settle()
    open_case(ui, ref)
    close = ui.window.case_page.steps.buttons["close"]
    assert close.isEnabled()  # alice is an administrator
    assert "downstream notice(s) still unanswered" in close.toolTip()
    assert "may override this with a reason" in close.toolTip()
    click_step(qtbot, ui, "close")
    dialog = step_dialog(ui)
    assert "still unanswered" in dialog.intro_label.text()
    dialog.override.setChecked(True)
    ok(qtbot, dialog, ui)
    assert dialog.error_label.text() == "Reason is required."
    dialog.reason.setPlainText("The dealer confirmed by phone; the letter is on its way.")
    ok(qtbot, dialog, ui)
    assert status_text(ui) == "Closed"


def test_an_agent_cannot_override(qtbot: QtBot, ui: Ui,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.ui.conftest import open_window

    ref = _response_sent_with_open_notice(ui)
    ui.desk.add_user("carl", "agent")
    carl = open_window(qtbot, ui.desk.as_user("carl"), monkeypatch)
    try:
        open_case(carl, ref)
        close = carl.window.case_page.steps.buttons["close"]
        assert not close.isEnabled()
        assert "a supervisor may override" in close.toolTip()
    finally:
        carl.window.shutdown()


def test_a_sent_response_says_when_instead_of_counting_down(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk, types=("opt_out_marketing",)).case.ref
    open_case(ui, ref)
    page = ui.window.case_page
    assert page.deadlines.respond.text() == "2026-03-18 — in 14 days"
    for step in ("acknowledge", "skip_verification", "submit_for_review", "approve_and_send"):
        click_step(qtbot, ui, step)
    assert status_text(ui) == "Response sent"
    assert page.deadlines.respond.text() == "Response sent on 2026-03-04 (due 2026-03-18)"
    assert "days" not in page.deadlines.respond.text()
    assert "extension" not in page.deadlines.basis.text()
    sent = [m for m in page.deadlines.timeline.marks() if m.kind == "sent"]
    assert [(m.label, m.day.isoformat()) for m in sent] == [("Response sent", "2026-03-04")]
    assert not page.header.overdue.isVisible()
    assert list_cell(ui, ref, M.COL_DUE) == "2026-03-18 (response sent)"
