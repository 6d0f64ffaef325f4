"""A save refused by the service leaves the dialog open with what was typed; a result
that arrives after the agent moved on to another case does not take over the page."""

from __future__ import annotations

import threading

import pytest
from pytestqt.qtbot import QtBot

from caseapp.services.dto import StepRequest
from tests.ui.conftest import Ui, new_case
from tests.ui.helpers import (
    M,
    click,
    click_step,
    closed,
    edit_requester,
    list_cell,
    ok,
    open_case,
    status_text,
    step_dialog,
)


def test_a_wrong_duplicate_reference_keeps_the_dialog_open(qtbot: QtBot, ui: Ui) -> None:
    original = new_case(ui.desk, "Olivia Grant").case.ref
    ref = new_case(ui.desk, "Olivia Grant").case.ref
    open_case(ui, ref)
    click_step(qtbot, ui, "mark_duplicate")
    dialog = step_dialog(ui)
    dialog.other_case.setText("PR-2026-09999")  # a typo
    ok(qtbot, dialog, ui)
    assert dialog.isVisible()
    assert dialog.error_label.isVisible()
    assert dialog.error_label.text() == "No case PR-2026-09999."
    assert dialog.other_case.text() == "PR-2026-09999"  # nothing typed is lost
    assert dialog.ok_button.isEnabled()
    assert ui.reports == []  # shown in the dialog, not as a second one
    assert status_text(ui) == "Received"

    dialog.other_case.setText(ref)  # the case itself: refused by the workflow
    ok(qtbot, dialog, ui)
    assert dialog.error_label.text() == "A case cannot be a duplicate of itself."

    dialog.other_case.setText(original)
    ok(qtbot, dialog, ui)
    assert closed(dialog)
    assert status_text(ui) == "Duplicate"
    assert f"Duplicate of {original}" in ui.window.case_page.header.reason.text()
    assert ui.reports == []


def test_a_stale_edit_in_a_dialog_shows_there_and_reloads_the_case(qtbot: QtBot,
                                                                    ui: Ui) -> None:
    ref = new_case(ui.desk).case.ref
    open_case(ui, ref)
    click_step(qtbot, ui, "deny")
    dialog = step_dialog(ui)
    reason = "Request not made by a consumer (business contact)."
    dialog.reason.setPlainText(reason)
    # Someone else acknowledges the case while the reason is being typed.
    ui.desk.take_step(ref, StepRequest("acknowledge"))
    ok(qtbot, dialog, ui)
    assert dialog.isVisible()
    assert "changed by someone else" in dialog.error_label.text()
    assert "reloaded" in dialog.error_label.text()
    assert dialog.reason.toPlainText() == reason
    assert status_text(ui) == "Acknowledged"  # the page shows the other change
    assert ui.reports == []
    ok(qtbot, dialog, ui)  # saved again, on the reloaded version
    assert closed(dialog)
    assert status_text(ui) == "Denied"


def test_extending_keeps_the_reason_when_refused(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk).case.ref
    open_case(ui, ref)
    page = ui.window.case_page
    click(qtbot, page.extend_button)
    dialog = step_dialog(ui)
    dialog.reason.setPlainText("Several affiliates must be searched.")
    ui.desk.extend(ref, "Extended at another desk.")  # meanwhile, elsewhere
    ok(qtbot, dialog, ui)
    assert dialog.isVisible()
    assert "changed by someone else" in dialog.error_label.text()
    assert dialog.reason.toPlainText() == "Several affiliates must be searched."
    assert not page.extend_button.isEnabled()  # reloaded: the extension is used
    ok(qtbot, dialog, ui)  # the refusal now says why
    assert dialog.isVisible()
    assert ui.reports == []
    click(qtbot, dialog.buttons.button(dialog.buttons.StandardButton.Cancel))
    assert closed(dialog)


def test_the_party_dialog_keeps_the_typed_party_on_a_stale_edit(qtbot: QtBot, ui: Ui) -> None:
    ref, dialog = edit_requester(qtbot, ui, "Olivia Grant")
    page = ui.window.case_page
    dialog.form.name.setText("Olivia Grant-Moreno")
    dialog.form.email.setText("olivia@example.org")
    ui.desk.assign(ref, "alice")  # someone assigns the case meanwhile
    ok(qtbot, dialog, ui)
    assert dialog.isVisible()
    # The edit services name who changed the case (caseapp.services.cases.EditConflict);
    # the merge offers what was typed, to apply on top (tests/ui/test_party_merge.py).
    merge = dialog.merge_dialog
    assert merge is not None and merge.isVisible()
    assert merge.windowTitle() == f"{ref}: changed by alice while you were editing"
    assert merge.chosen() == {"name": "Olivia Grant-Moreno", "email": "olivia@example.org"}
    assert dialog.form.name.text() == "Olivia Grant-Moreno"
    assert dialog.form.email.text() == "olivia@example.org"
    assert "assigned to alice" in page.header.facts.text()  # reloaded
    assert ui.reports == []
    click(qtbot, merge.apply_button)
    ui.settle()
    assert closed(dialog)
    assert page.requester_box.fields["name"].text() == "Olivia Grant-Moreno"
    assert list_cell(ui, ref, M.COL_REQUESTER) == "Olivia Grant-Moreno"


def test_a_refused_party_save_shows_the_service_message(qtbot: QtBot, ui: Ui) -> None:
    _ref, dialog = edit_requester(qtbot, ui, "Olivia Grant")
    long_name = "Olivia " * 3000  # the service takes at most 20,000 characters
    dialog.form.name.setMaxLength(50_000)
    dialog.form.name.setText(long_name)
    ok(qtbot, dialog, ui)
    assert dialog.isVisible()
    assert dialog.error_label.text() == "Requester name is too long (at most 300 characters)."
    assert dialog.form.name.text() == long_name
    assert ui.reports == []


def test_a_result_for_a_case_no_longer_shown_only_updates_the_list(
        qtbot: QtBot, ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    first = new_case(ui.desk, "Olivia Grant").case.ref
    second = new_case(ui.desk, "Dana Whitfield").case.ref
    ui.window.refresh_action.trigger()
    ui.settle()
    open_case(ui, first)
    page = ui.window.case_page
    gate = threading.Event()
    take_step = ui.desk.take_step

    def slow_take_step(ref: str, request: StepRequest) -> object:
        assert gate.wait(10)
        return take_step(ref, request)

    monkeypatch.setattr(ui.desk, "take_step", slow_take_step)
    click(qtbot, page.steps.buttons["acknowledge"])  # saving in the background…
    assert ui.window.case_list.select_ref(second)  # …while the agent moves on
    qtbot.waitUntil(lambda: page.header.ref.text() == second)
    gate.set()
    ui.settle()
    assert page.header.ref.text() == second  # the page stays on the case now looked at
    assert status_text(ui) == "Received"
    assert page.steps.buttons["acknowledge"].isEnabled()
    assert list_cell(ui, first, M.COL_STATUS) == "Acknowledged"  # the list is up to date
    assert ui.reports == []
