"""The not-a-request list and the quarantine; the review of a case opened from mail;
the classification help of the new-case dialog; the intake table models."""

from __future__ import annotations

from datetime import datetime

import pytest
from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot

from caseapp.intake.sources import SourceItem, mail_hash
from caseapp.services.dto import (
    AttachmentView,
    CaseQuery,
    IntakeItem,
    IntakeResult,
    MessageView,
)
from tests import mailmaker
from tests.ui.conftest import Ui, new_case
from tests.ui.helpers import M, click, closed, history_texts, ok, open_case
from ui.dialogs.move_to_case import MoveToCaseDialog
from ui.dialogs.new_case import NewCaseDialog
from ui.models.intake import (
    AttachmentsModel,
    ImportResultsModel,
    IntakeQueueModel,
    MessagesModel,
)


def _take_in(ui: Ui, raw: bytes, label: str = "mail.eml") -> IntakeResult:
    return ui.desk.take_in(SourceItem(label, "mail", data=raw, sha256=mail_hash(raw)))


def _auto_reply(ui: Ui) -> IntakeResult:
    """An auto-reply that answers no case, but whose text is a real request."""
    result = _take_in(ui, mailmaker.mail(
        subject="Automatic reply: delete my account", sender="Rosa Diaz <rosa@example.com>",
        message_id="<ooo1@example.com>", headers={"Auto-Submitted": "auto-replied"},
        body="I am away until Monday.\n\nPS: please delete my account and all my data. "
             "I live in Richmond, VA 23220.\n"))
    assert result.outcome == "not_request"
    return result


def _show_list(ui: Ui, view: str) -> None:
    ui.window.view_actions[view].trigger()
    ui.settle()
    page = ui.window.intake_page
    assert page.isVisible() and not ui.window.case_list.isVisible()
    assert page.disposition == view


# ------------------------------------------------------------------------ models --

def test_intake_models_pass_the_model_tester(qtmodeltester: object) -> None:
    moment = datetime(2026, 3, 2, 15, 0)
    queue = IntakeQueueModel("America/New_York")
    queue.set_rows((IntakeItem(1, "not_request", "Out of office", "A <a@example.com>",
                               moment, "auto_reply", "box.mbox #1"),
                    IntakeItem(2, "quarantined", "", "", moment, "too large", "big.eml")))
    messages = MessagesModel("America/New_York")
    messages.set_rows((MessageView("in", "email", "Delete", "A <a@example.com>", moment, 1,
                                   "", moment, 2),
                       MessageView("in", "email", "Undelivered", "MAILER-DAEMON", None, 2,
                                   "bounce", None, 0)))
    attachments = AttachmentsModel()
    attachments.set_rows((AttachmentView(1, "form.pdf", "application/pdf", 2048, "ab" * 32),))
    results = ImportResultsModel()
    results.set_rows((IntakeResult("a.eml", "created", "PR-2026-00001", "delete · CA", 1),
                      IntakeResult("b.eml", "failed", "", "the file is empty")))
    for model in (queue, messages, attachments, results):
        qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert messages.data(messages.index(1, MessagesModel.COL_SUBJECT)) == (
        "[bounce] Undelivered")
    assert queue.data(queue.index(0, IntakeQueueModel.COL_REASON)) == "auto-reply"


def test_a_proxy_sorts_messages_by_date(qtmodeltester: object) -> None:
    days = [5, 1, 9, 3, 7, 2, 8]
    messages = MessagesModel("UTC")
    messages.set_rows(tuple(MessageView("in", "email", f"day {d}", "x", datetime(2026, 3, d),
                                        d) for d in days))
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(messages)
    proxy.setSortRole(MessagesModel.SortRole)
    proxy.sort(MessagesModel.COL_DATE, Qt.SortOrder.AscendingOrder)
    qtmodeltester.check(proxy)  # type: ignore[attr-defined]
    assert [proxy.index(r, MessagesModel.COL_SUBJECT).data() for r in range(len(days))] == [
        f"day {d}" for d in sorted(days)]


# ------------------------------------------------------------- not-a-request list --

def test_not_a_request_list_and_move_to_case(qtbot: QtBot, mail_ui: Ui) -> None:
    ui = mail_ui
    _auto_reply(ui)
    ref = new_case(ui.desk, "Rosa Diaz").case.ref
    ui.window.refresh_action.trigger()
    ui.settle()
    window = ui.window
    assert window.nav.count_of("not_request") == 1
    assert window.view_actions["not_request"].shortcut() == QKeySequence("Ctrl+8")
    assert window.view_actions["quarantined"].shortcut() == QKeySequence("Ctrl+9")
    _show_list(ui, "not_request")
    page = window.intake_page
    model = page.model
    assert [model.data(model.index(0, c)) for c in range(model.columnCount())] == [
        "2026-03-02 10:00", "Rosa Diaz <rosa@example.com>",
        "Automatic reply: delete my account", "auto-reply", "mail.eml"]
    assert page.move_action.isEnabled() and page.move_action.shortcut() == QKeySequence(
        "Ctrl+M")

    page.move_action.trigger()
    dialog = page.active_dialog
    assert isinstance(dialog, MoveToCaseDialog)
    dialog.ref.setText("nonsense")
    ok(qtbot, dialog, ui)
    assert dialog.error_label.text() == "Give the case reference, like PR-2026-00042."
    dialog.ref.setText("pr-2026-99999")
    ok(qtbot, dialog, ui)
    assert not closed(dialog)
    assert "PR-2026-99999" in dialog.error_label.text()  # refused inline, text kept
    dialog.ref.setText(ref.lower())
    ok(qtbot, dialog, ui)
    assert closed(dialog)
    assert window.statusBar().currentMessage() == f"Moved the message to {ref}"
    assert page.stack.currentWidget() is page.empty
    assert window.nav.count_of("not_request") == 0
    assert [m.subject for m in ui.desk.get_case(ref).messages] == [
        "Automatic reply: delete my account"]


def test_open_a_case_from_a_message_prefills_the_dialog(qtbot: QtBot, mail_ui: Ui) -> None:
    ui = mail_ui
    _auto_reply(ui)
    _show_list(ui, "not_request")
    page = ui.window.intake_page
    page.new_case_action.trigger()
    ui.settle()
    dialog = page.active_dialog
    assert isinstance(dialog, NewCaseDialog)
    assert dialog.requester.name.text() == "Rosa Diaz"
    assert dialog.requester.email.text() == "rosa@example.com"
    assert dialog.summary.toPlainText() == "Automatic reply: delete my account"
    assert dialog.request_types() == ("delete",)
    assert dialog.jurisdiction.currentData() == "VA"
    assert dialog.channel.currentData() == "email"
    assert not dialog.received_on.isEnabled()  # the message's arrival starts the clock
    assert not dialog.notes_box.isVisible()
    ok(qtbot, dialog, ui)
    assert closed(dialog)
    detail = ui.window.case_page.detail
    assert detail is not None and ui.window.case_page.isVisible()
    assert detail.requester.email == "rosa@example.com"
    assert [m.subject for m in detail.messages] == ["Automatic reply: delete my account"]
    assert not detail.intake_review  # staff typed (checked) it themselves
    assert ui.window.nav.count_of("not_request") == 0


def test_quarantine_list(mail_ui: Ui) -> None:
    ui = mail_ui
    ui.desk.take_in(SourceItem("huge.eml", "mail", error="too large to take in",
                               sha256="cd" * 32))
    ui.window.refresh_action.trigger()
    ui.settle()
    assert ui.window.nav.count_of("quarantined") == 1
    _show_list(ui, "quarantined")
    page = ui.window.intake_page
    assert page.title.text() == "Quarantine"
    assert page.width() > 1000  # in place of the list and the case page
    assert page.model.data(page.model.index(0, IntakeQueueModel.COL_REASON)) == (
        "too large to take in")
    # Sorting by a column (the proxy sorts by the sort role).
    page.table.sortByColumn(IntakeQueueModel.COL_SENDER, Qt.SortOrder.AscendingOrder)
    assert page.current_item() is not None
    ui.window.view_actions["open"].trigger()
    ui.settle()
    assert not page.isVisible() and ui.window.case_list.isVisible()
    assert ui.window.case_list.width() > 400 and ui.window.case_page.width() > 400
    assert not page.move_action.isEnabled()  # the mail actions follow the page


# ------------------------------------------------------------------------- review --

def test_review_banner_and_confirm(qtbot: QtBot, mail_ui: Ui) -> None:
    ui = mail_ui
    result = _take_in(ui, mailmaker.mail())
    ref = result.case_ref
    ui.window.view_actions["to_review"].trigger()
    ui.settle()
    window = ui.window
    position = window.model.position_of(ref)
    assert position is not None
    assert window.model.data(window.model.index(position, M.COL_REF),
                             Qt.ItemDataRole.DecorationRole) is not None
    assert "To review" in window.model.data(window.model.index(position, M.COL_TYPES),
                                            Qt.ItemDataRole.ToolTipRole)
    assert window.model.data(window.model.index(position, M.COL_TYPES),
                             Qt.ItemDataRole.FontRole).italic()
    open_case(ui, ref)
    page = window.case_page
    assert page.review.isVisible()
    assert page.review.text.text() == (
        "Opened from an email: check the proposed request types, requester and "
        "jurisdiction, then confirm.")
    assert "Delete" in page.review.proposal.text() and "Ana Ruiz" in page.review.proposal.text()
    assert page.confirm_action.isEnabled()
    assert page.confirm_action.shortcut() == QKeySequence("Ctrl+Shift+C")
    click(qtbot, page.review.edit_request_button)  # the existing dialog
    assert page.active_dialog is not None and page.active_dialog.isVisible()
    page.active_dialog.close()
    page.confirm_action.trigger()
    ui.settle()
    assert not page.review.isVisible()
    assert not page.confirm_action.isEnabled()
    assert window.nav.count_of("to_review") == 0
    assert not ui.desk.get_case(ref).intake_review
    assert any("onfirm" in text for text in history_texts(ui))


# ------------------------------------------------------------ phone classification --

def test_suggest_from_notes_fills_empty_fields_and_keeps_typed_ones(
        qtbot: QtBot, ui: Ui) -> None:
    ui.window.new_case()
    dialog = ui.window.active_dialog
    assert isinstance(dialog, NewCaseDialog)
    dialog.requester.email.setText("typed@example.com")
    dialog.requester.name.setText("Robert Hayes")
    dialog.notes.setPlainText(
        "My daughter is 11 and signed up for the owners' club. Please delete her "
        "account. We live in San Francisco, CA 94123, email r.hayes@example.net, "
        "phone (415) 555-0148.")
    click(qtbot, dialog.suggest_button)
    assert dialog.request_types() == ("delete",)
    assert dialog.on_behalf.isChecked()
    assert dialog.subject.is_child.isChecked() and dialog.subject.age.value() == 11
    assert dialog.subject.relationship.currentData() == "parent"
    assert dialog.jurisdiction.currentData() == "CA"
    assert dialog.requester.phone.text() == "+14155550148"
    assert dialog.requester.email.text() == "typed@example.com"  # typed: kept
    assert dialog.requester.name.text() == "Robert Hayes"
    assert dialog.suggestion.text().startswith("Suggested: Delete")
    assert "→ child under 13" in dialog.suggestion.toolTip()
    assert dialog.summary.toPlainText().startswith("My daughter is 11")
    # A second suggestion does not undo what staff changed meanwhile.
    dialog.type_boxes["delete"].setChecked(False)
    dialog.type_boxes["access"].setChecked(True)
    click(qtbot, dialog.suggest_button)
    assert dialog.request_types() == ("access",)
    dialog.subject.name.setText("Emily Hayes")
    ok(qtbot, dialog, ui)
    assert closed(dialog)
    detail = ui.window.case_page.detail
    assert detail is not None and detail.is_child
    assert detail.notes[0].body.startswith("What the caller asked: My daughter is 11")
    assert ui.desk.count_cases(CaseQuery(view="all")) == 1


@pytest.mark.parametrize("notes", ["", "   "])
def test_suggest_with_no_notes_says_so(qtbot: QtBot, ui: Ui, notes: str) -> None:
    ui.window.new_case()
    dialog = ui.window.active_dialog
    assert isinstance(dialog, NewCaseDialog)
    dialog.notes.setPlainText(notes)
    click(qtbot, dialog.suggest_button)
    assert dialog.suggestion.text() == "Type what the caller asked first."
    assert dialog.request_types() == ()
    dialog.close()
