"""Changing what a case asks for, and choosing the law that applies (EU/GDPR included)."""

from __future__ import annotations

from PySide6.QtCore import QDate
from pytestqt.qtbot import QtBot

from caseapp.services.dto import StepRequest
from tests.ui.conftest import Ui, new_case
from tests.ui.helpers import M, click, closed, history_texts, list_cell, ok, open_case
from ui.dialogs.edit_request import EditRequestDialog
from ui.dialogs.new_case import NewCaseDialog


def _edit_dialog(qtbot: QtBot, ui: Ui) -> EditRequestDialog:
    click(qtbot, ui.window.case_page.edit_request_button)
    dialog = ui.window.case_page.active_dialog
    assert isinstance(dialog, EditRequestDialog) and dialog.isVisible()
    return dialog


def test_changing_the_request_types_changes_the_deadlines(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk, types=("delete",), state="CA").case.ref
    open_case(ui, ref)
    page = ui.window.case_page
    assert page.deadlines.respond.text() == "2026-04-18 — in 45 days"
    assert page.edit_request_button.isEnabled()
    assert page.edit_request_button.toolTip().endswith("(Ctrl+E)")

    dialog = _edit_dialog(qtbot, ui)
    form = dialog.request
    assert form.type_boxes["delete"].isChecked()  # shows the case as it is
    assert form.jurisdiction.currentData() == "CA"
    assert form.received_on.date() == QDate(2026, 3, 4)
    assert form.priority.currentData() == "normal"
    assert form.summary.toPlainText() == "Request from Dana Whitfield"
    form.type_boxes["delete"].setChecked(False)
    ok(qtbot, dialog, ui)
    assert dialog.isVisible()
    assert dialog.error_label.text() == "Choose at least one request type."
    form.type_boxes["opt_out_sale_share"].setChecked(True)
    form.priority.setCurrentIndex(form.priority.findData("high"))
    ok(qtbot, dialog, ui)
    assert closed(dialog)

    # CCPA: an opt-out of sale/sharing is answered within 15 business days.
    assert page.deadlines.respond.text() == "2026-03-25 — in 21 days"
    assert "Opt out of sale/sharing" in page.types_label.text()
    assert page.header.priority.text() == "HIGH"
    assert list_cell(ui, ref, M.COL_DUE) == "2026-03-25 (in 21 days)"
    assert history_texts(ui)[0].startswith("Request changed")
    assert ui.reports == []


def test_an_earlier_received_date_and_another_jurisdiction(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk, types=("access",), state="CA").case.ref
    open_case(ui, ref)
    page = ui.window.case_page
    dialog = _edit_dialog(qtbot, ui)
    form = dialog.request
    assert form.received_on.maximumDate() == QDate(2026, 3, 4)  # no future dates
    form.received_on.setDate(QDate(2026, 3, 2))  # the letter reached the PO box on Monday
    form.jurisdiction.setCurrentIndex(form.jurisdiction.findData("EU"))
    ok(qtbot, dialog, ui)
    assert closed(dialog)
    assert "European Union (GDPR)" in page.header.facts.text()
    assert page.deadlines.respond.text() == "2026-04-02 — in 29 days"  # one month
    assert list_cell(ui, ref, M.COL_JURISDICTION) == "EU"


def test_nothing_changed_closes_without_saving(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk).case.ref
    open_case(ui, ref)
    dialog = _edit_dialog(qtbot, ui)
    ok(qtbot, dialog, ui)
    assert closed(dialog)
    assert len(history_texts(ui)) == 1  # only "Case opened"


def test_the_request_is_locked_once_submitted_for_review(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk, types=("opt_out_marketing",)).case.ref
    for step in ("acknowledge", "skip_verification", "submit_for_review"):
        ui.desk.take_step(ref, StepRequest(step))
    open_case(ui, ref)
    page = ui.window.case_page
    reason = ui.desk.get_case(ref).request_locked_reason
    assert reason  # the service says why
    assert not page.edit_request_button.isEnabled()
    assert page.edit_request_button.toolTip() == reason
    assert not page.edit_request_action.isEnabled()
    page.edit_request_action.trigger()  # the menu entry does nothing either
    assert page.active_dialog is None


def test_a_gdpr_case_from_the_new_case_dialog(qtbot: QtBot, ui: Ui) -> None:
    ui.window.new_case_action.trigger()
    dialog = ui.window.active_dialog
    assert isinstance(dialog, NewCaseDialog)
    combo = dialog.jurisdiction
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts[0] == "From the requester's state (none given: default policy)"
    assert combo.currentData() is None  # by default the service derives it
    assert "EU — European Union (GDPR)" in texts
    assert "CA — California (CCPA/CPRA)" in texts
    assert texts[-1] == "Default policy (no jurisdiction identified)"
    assert [combo.itemData(i) for i in range(1, combo.count())] == [
        *ui.desk.rules.jurisdictions.codes, "DEFAULT"]
    dialog.requester.state.setCurrentText("CA")
    assert combo.itemText(0) == "From the requester's state (California (CCPA/CPRA))"

    dialog.type_boxes["access"].setChecked(True)
    dialog.requester.name.setText("Jonas Weber")
    dialog.requester.email.setText("jonas.weber@example.de")
    combo.setCurrentIndex(combo.findData("EU"))  # a customer of the brand in Germany
    dialog.language.setCurrentIndex(dialog.language.findData("es"))
    click(qtbot, dialog.ok_button)
    ui.settle()
    assert closed(dialog)
    page = ui.window.case_page
    assert "European Union (GDPR)" in page.header.facts.text()
    assert page.deadlines.respond.text() == "2026-04-04 — in 31 days"  # one month
    assert ui.desk.get_case(page.header.ref.text()).language == "es"


def test_from_the_state_in_the_edit_dialog_follows_a_corrected_state(qtbot: QtBot,
                                                                     ui: Ui) -> None:
    ref = new_case(ui.desk, types=("access",), state="VA").case.ref
    ui.desk.update_case(ref, None, jurisdiction="DEFAULT")  # set by hand earlier
    open_case(ui, ref)
    dialog = _edit_dialog(qtbot, ui)
    combo = dialog.request.jurisdiction
    assert combo.currentData() == "DEFAULT"
    assert combo.itemText(0) == "From the requester's state (Virginia (VCDPA))"
    combo.setCurrentIndex(0)
    ok(qtbot, dialog, ui)
    assert closed(dialog)
    assert "Virginia (VCDPA)" in ui.window.case_page.header.facts.text()
