"""A phone call typed into the New-case dialog and moved through the workflow by clicks."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QDate
from pytestqt.qtbot import QtBot

from caseapp.errors import InvalidInput
from tests.ui.conftest import Ui, new_case, open_window
from tests.ui.helpers import (
    M,
    click,
    click_step,
    closed,
    history_texts,
    list_cell,
    ok,
    open_case,
    status_text,
    step_dialog,
)
from ui.dialogs.new_case import NewCaseDialog


def _new_case_dialog(ui: Ui) -> NewCaseDialog:
    ui.window.new_case_action.trigger()
    dialog = ui.window.active_dialog
    assert isinstance(dialog, NewCaseDialog) and dialog.isVisible()
    return dialog


def test_phone_case_from_the_dialog_through_review(qtbot: QtBot, ui: Ui,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    dialog = _new_case_dialog(ui)
    assert dialog.channel.currentText() == "Phone"
    assert dialog.received_on.date() == QDate(2026, 3, 4)
    assert dialog.received_on.maximumDate() == QDate(2026, 3, 4)  # no future dates
    dialog.type_boxes["delete"].setChecked(True)
    dialog.requester.name.setText("Robert Hayes")
    dialog.requester.phone.setText("(415) 555-0148")
    dialog.requester.state.setCurrentText("CA")
    dialog.summary.setPlainText("Wants his owners' club account deleted.")
    click(qtbot, dialog.ok_button)
    ui.settle()
    assert closed(dialog)

    window, page = ui.window, ui.window.case_page
    ref = "PR-2026-00001"
    assert page.header.ref.text() == ref
    assert status_text(ui) == "Received"
    assert "California" in page.header.facts.text()
    assert "Phone" in page.header.facts.text()
    assert window.case_list.current_ref() == ref  # listed and selected
    assert list_cell(ui, ref, M.COL_REQUESTER) == "Robert Hayes"
    assert list_cell(ui, ref, M.COL_CHANNEL) == "Phone"
    assert window.count_label.text() == "1 case"
    assert page.deadlines.respond.text() == "2026-04-18 — in 45 days"

    click_step(qtbot, ui, "acknowledge")
    assert status_text(ui) == "Acknowledged"
    assert page.deadlines.acknowledge.text().endswith("done")
    click_step(qtbot, ui, "start_verification")
    assert status_text(ui) == "Identity verification"

    click_step(qtbot, ui, "verify")  # asks how identity was verified
    verify = step_dialog(ui)
    ok(qtbot, verify, ui)
    assert verify.isVisible()
    assert "Choose how identity was verified." in verify.error_label.text()
    verify.method.setCurrentIndex(verify.method.findData("data_points_2"))
    ok(qtbot, verify, ui)
    assert status_text(ui) == "In progress"
    assert "Two data points match" in page.verification_label.text()

    click_step(qtbot, ui, "submit_for_review")
    assert status_text(ui) == "Review / approval"
    approve = page.steps.buttons["approve_and_send"]
    assert not approve.isEnabled()
    assert "Four-eyes rule" in approve.toolTip()
    assert list_cell(ui, ref, M.COL_STATUS) == "Review / approval"
    history = history_texts(ui)  # newest first
    assert history[0].startswith("Submit for review")
    assert any(text.startswith("Identity verified") for text in history)
    assert any(text.startswith("Acknowledge") for text in history)
    assert history[-1].startswith("Case opened (phone)")
    assert page.tabs.tabText(page.tabs.indexOf(page.history)) == "History (5)"

    # A supervisor at another workstation approves it.
    ui.desk.add_user("bob", "supervisor")
    bob = open_window(qtbot, ui.desk.as_user("bob"), monkeypatch)
    try:
        open_case(bob, ref)
        click_step(qtbot, bob, "approve_and_send")
        assert status_text(bob) == "Response sent"
        assert bob.reports == []
    finally:
        bob.window.shutdown()
    window.refresh_action.trigger()
    ui.settle()
    assert status_text(ui) == "Response sent"
    assert list_cell(ui, ref, M.COL_STATUS) == "Response sent"
    assert ui.reports == []


def test_new_case_dialog_checks_before_saving(qtbot: QtBot, ui: Ui) -> None:
    dialog = _new_case_dialog(ui)
    click(qtbot, dialog.ok_button)
    ui.settle()
    assert dialog.isVisible()
    problems = dialog.error_label.text()
    assert "Choose at least one request type." in problems
    assert "Requester: give at least a name, an email or a phone number." in problems
    dialog.type_boxes["access"].setChecked(True)
    dialog.requester.email.setText("not-an-address")
    dialog.on_behalf.setChecked(True)
    click(qtbot, dialog.ok_button)
    assert "'not-an-address' is not an email address" in dialog.error_label.text()
    assert "Data subject: give the name" in dialog.error_label.text()
    assert ui.desk.count_cases(ui.window.model.query) == 0


def test_a_parent_calling_for_a_child_makes_an_urgent_child_case(qtbot: QtBot, ui: Ui) -> None:
    dialog = _new_case_dialog(ui)
    dialog.type_boxes["delete"].setChecked(True)
    dialog.requester.name.setText("Robert Hayes")
    dialog.on_behalf.setChecked(True)
    dialog.subject.name.setText("Emily Hayes")
    dialog.subject.age.setValue(11)
    assert dialog.subject.is_child.isChecked()
    dialog.subject.relationship.setCurrentIndex(dialog.subject.relationship.findData("parent"))
    click(qtbot, dialog.ok_button)
    ui.settle()
    page = ui.window.case_page
    assert page.header.child.isVisible()
    assert page.header.priority.text() == "URGENT"
    assert page.subject_box.fields["name"].text() == "Emily Hayes"
    assert "Parent" in page.requester_box.fields["extra"].text()


def test_a_refusal_by_the_service_shows_in_the_dialog(qtbot: QtBot, ui: Ui,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_new: object) -> None:
        raise InvalidInput("Requester email 'x@y' is not an email address.")

    monkeypatch.setattr(ui.desk, "create_case", refuse)
    dialog = _new_case_dialog(ui)
    dialog.type_boxes["delete"].setChecked(True)
    dialog.requester.name.setText("Robert Hayes")
    click(qtbot, dialog.ok_button)
    ui.settle()
    assert dialog.isVisible()
    assert dialog.error_label.text() == "Requester email 'x@y' is not an email address."
    assert dialog.ok_button.isEnabled()
    assert ui.reports == []  # shown inline, not as a second dialog


def test_disabled_steps_say_why_and_deny_needs_a_reason(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk, "Olivia Grant").case.ref
    open_case(ui, ref)
    page = ui.window.case_page
    # A step for another stage is in the More menu, saying from where it can be taken.
    assert "verify" not in page.steps.buttons
    verify = page.steps.more_actions["verify"]
    assert not verify.isEnabled()
    assert verify.text() == "Identity verified — only from: Identity verification"
    assert verify.toolTip().startswith("Only from: Identity verification")
    assert page.steps.step("verify") is verify
    assert page.steps.buttons["acknowledge"].isEnabled()

    click_step(qtbot, ui, "deny")
    deny = step_dialog(ui)
    ok(qtbot, deny, ui)
    assert deny.isVisible()
    assert deny.error_label.text() == "Reason is required."
    assert status_text(ui) == "Received"
    deny.reason.setPlainText("Request not made by a consumer (business contact).")
    ok(qtbot, deny, ui)
    assert closed(deny)
    assert status_text(ui) == "Denied"
    assert "business contact" in page.header.reason.text()
    assert page.steps.isHidden()
    assert page.appeal_button.isVisible()
    assert history_texts(ui)[0].startswith("Deny: Received → Denied — Request not made")
