"""The Case menu and its shortcuts, the step buttons and where the keyboard goes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from caseapp.services.dto import StepRequest
from caseapp.workflow.machine import StepOption
from tests.ui.conftest import Ui, new_case
from tests.ui.helpers import closed, open_case, status_text
from ui.dialogs.edit_request import EditRequestDialog
from ui.dialogs.new_case import NewCaseDialog
from ui.widgets.step_bar import StepBar

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def _activate(qtbot: QtBot, ui: Ui) -> None:
    ui.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is ui.window)


def _menu(ui: Ui) -> dict[str, tuple[str, bool]]:
    """Case menu entry → (shortcut, enabled)."""
    return {action.text(): (action.shortcut().toString(), action.isEnabled())
            for action in ui.window.case_menu.actions() if not action.isSeparator()}


def test_the_case_menu_follows_the_buttons(qtbot: QtBot, ui: Ui) -> None:
    assert _menu(ui) == {  # no case open: nothing to act on
        "Add &note": ("Ctrl+Shift+N", False),
        "Assign to &me": ("Ctrl+Shift+M", False),
        "&Extend deadline…": ("", False),
        "Edit &request…": ("Ctrl+E", False),
        "Edit re&quester…": ("", False),
        "Open &appeal…": ("", False),
        "&Confirm the classification": ("Ctrl+Shift+C", False),
        "&Messages": ("Ctrl+Shift+E", False),
    }
    ref = new_case(ui.desk).case.ref
    open_case(ui, ref)
    assert _menu(ui) == {
        "Add &note": ("Ctrl+Shift+N", True),
        "Assign to &me": ("Ctrl+Shift+M", True),
        "&Extend deadline…": ("", True),
        "Edit &request…": ("Ctrl+E", True),
        "Edit re&quester…": ("", True),
        "Open &appeal…": ("", False),
        "&Confirm the classification": ("Ctrl+Shift+C", False),  # typed in: nothing to check
        "&Messages": ("Ctrl+Shift+E", True),
    }
    page = ui.window.case_page
    assert "Ctrl+Shift+M" in page.assign_button.toolTip()
    assert page.notes.add_button.toolTip().endswith("(Ctrl+Shift+N)")

    ui.desk.take_step(ref, StepRequest("deny", reason="Not a consumer."))
    ui.window.refresh_action.trigger()
    ui.settle()
    menu = _menu(ui)
    assert menu["&Extend deadline…"] == ("", False)
    assert menu["Edit &request…"] == ("Ctrl+E", False)
    assert menu["Edit re&quester…"] == ("", False)  # a decided case keeps its parties
    assert menu["Open &appeal…"] == ("", True)
    assert page.extend_action.toolTip() == page.extend_button.toolTip()


def test_shortcuts_edit_assign_and_note(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk).case.ref
    open_case(ui, ref)
    _activate(qtbot, ui)
    window, page = ui.window, ui.window.case_page
    table = window.case_list.table
    table.setFocus()

    qtbot.keyClick(table, Qt.Key.Key_M, CTRL_SHIFT)
    ui.settle()
    assert "assigned to alice" in page.header.facts.text()
    assert not page.assign_to_me_action.isEnabled()  # already mine

    qtbot.keyClick(table, Qt.Key.Key_N, CTRL_SHIFT)
    assert page.tabs.currentWidget() is page.notes
    assert page.notes.editor.hasFocus()
    qtbot.keyClicks(page.notes.editor, "Called back.")

    qtbot.keyClick(page.notes.editor, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = page.active_dialog
    assert isinstance(dialog, EditRequestDialog) and dialog.isVisible()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert closed(dialog)
    assert page.notes.editor.toPlainText() == "Called back."


def test_only_steps_for_this_stage_are_buttons(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk).case.ref
    open_case(ui, ref)
    steps = ui.window.case_page.steps
    visible = [name for name, button in steps.buttons.items() if button.isVisible()]
    assert visible == list(steps.buttons)
    assert all(steps.buttons[name].isEnabled() for name in visible)  # nothing in the way
    assert visible[0] == "acknowledge"
    assert len(visible) <= 6
    assert steps.more_button.isVisible()
    assert steps.more_button.text() == "More steps ▾"
    assert steps.more_button.toolTip().startswith(f"{len(steps.more_actions)} step(s)")
    entries = steps.more_menu.actions()
    assert entries and not any(entry.isEnabled() for entry in entries)
    assert all(" — only from: " in entry.text() for entry in entries)
    # Every step of the workflow is somewhere.
    every = set(steps.buttons) | set(steps.more_actions)
    assert every == {option.name for option in ui.desk.get_case(ref).steps}


def test_a_step_refused_for_a_reason_stays_a_button(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk).case.ref  # a deletion: approved by a second person
    for step in ("acknowledge", "start_verification"):
        ui.desk.take_step(ref, StepRequest(step))
    ui.desk.take_step(ref, StepRequest("verify", method="data_points_2"))
    ui.desk.take_step(ref, StepRequest("submit_for_review"))
    open_case(ui, ref)
    steps = ui.window.case_page.steps
    approve = steps.buttons["approve_and_send"]  # four-eyes: what the user must do
    assert approve.isVisible() and not approve.isEnabled()
    assert "Four-eyes rule" in approve.toolTip()
    assert "approve_and_send" not in steps.more_actions
    assert steps.buttons["return_to_work"].isEnabled()


def test_tab_reaches_the_first_step_and_focus_follows_the_steps(qtbot: QtBot,
                                                                  ui: Ui) -> None:
    ref = new_case(ui.desk).case.ref
    open_case(ui, ref)
    _activate(qtbot, ui)
    page = ui.window.case_page
    table = ui.window.case_list.table
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Tab)
    acknowledge = page.steps.buttons["acknowledge"]
    assert acknowledge.hasFocus()
    qtbot.keyClick(acknowledge, Qt.Key.Key_Space)  # take the step from the keyboard
    ui.settle()
    assert status_text(ui) == "Acknowledged"
    first = page.steps.buttons["start_verification"]
    assert first is page.steps.first_allowed()
    assert first.hasFocus()  # ready for the next step
    # Tab goes on through the steps, then the case actions.
    order = [QApplication.focusWidget()]
    for _ in range(len(page.steps.buttons) + 2):
        widget = QApplication.focusWidget()
        assert widget is not None
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    step_buttons = [b for b in page.steps.buttons.values() if b.isEnabled()]
    assert order[:len(step_buttons)] == step_buttons
    assert order[len(step_buttons)] is page.steps.more_button
    assert order[len(step_buttons) + 1] is page.assign_button


def test_no_two_actions_share_a_shortcut(ui: Ui) -> None:
    shortcuts = [action.shortcut().toString() for action in ui.window.findChildren(QAction)
                 if not action.shortcut().isEmpty()]
    assert len(shortcuts) == len(set(shortcuts))
    assert {"Ctrl+N", "Ctrl+Shift+N", "Ctrl+Shift+M", "Ctrl+E"} <= set(shortcuts)


def test_ctrl_e_does_nothing_on_a_decided_case(qtbot: QtBot, ui: Ui) -> None:
    ref = new_case(ui.desk).case.ref
    ui.desk.take_step(ref, StepRequest("deny", reason="Not a consumer."))
    open_case(ui, ref)
    _activate(qtbot, ui)
    qtbot.keyClick(ui.window.case_list.table, Qt.Key.Key_E,
                   Qt.KeyboardModifier.ControlModifier)
    assert ui.window.case_page.active_dialog is None
    assert ui.reports == []


def _option(name: str, allowed: bool, why_not: str = "") -> StepOption:
    return StepOption(name=name, label=name.capitalize(), allowed=allowed, why_not=why_not,
                      help="", requires_reason=False, requires_case=False,
                      requires_method=False, overridable=False)


def test_the_step_bar_grows_and_keeps_its_order(qtbot: QtBot) -> None:
    bar = StepBar(slots=1)
    qtbot.addWidget(bar)
    bar.set_steps((
        _option("approve", False, "Four-eyes rule: someone else approves."),
        _option("send", True),
        _option("resume", False, "Only from: On hold (the case is Received)."),
        _option("close", True),
    ), can_override=False)
    bar.show()
    assert list(bar.buttons) == ["send", "close", "approve"]  # what can be done first
    assert bar.first_allowed() is bar.buttons["send"]
    assert bar.more_actions["resume"].text() == "Resume — only from: On hold"
    chain: list[QWidget | None] = [bar.buttons["send"]]
    while len(chain) < 4:
        last = chain[-1]
        assert last is not None
        chain.append(last.nextInFocusChain())
    assert chain == [*bar.buttons.values(), bar.more_button]
    clicked: list[StepOption] = []
    bar.step_requested.connect(clicked.append)
    bar.buttons["close"].click()
    assert [option.name for option in clicked] == ["close"]
    bar.set_busy(True)
    assert not any(button.isEnabled() for button in bar.buttons.values())
    bar.set_busy(False)
    assert [b.isEnabled() for b in bar.buttons.values()] == [True, True, False]


def test_the_new_case_dialog_tabs_in_reading_order(qtbot: QtBot, ui: Ui) -> None:
    ui.window.new_case_action.trigger()
    dialog = ui.window.active_dialog
    assert isinstance(dialog, NewCaseDialog)
    request = dialog.request
    expected = [dialog.channel, request.received_on, *request.type_boxes.values(),
                request.jurisdiction, request.priority, request.language, request.summary,
                dialog.assign_to_me]
    chain: list[QWidget] = [dialog.channel]
    widget: QWidget = dialog.channel
    for _ in range(200):
        following = widget.nextInFocusChain()
        assert following is not None
        widget = following
        inside = any(part is not widget and part.isAncestorOf(widget)
                     for part in expected)  # the text field of the date
        if (widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisible()
                and not inside and widget not in chain):
            chain.append(widget)
    assert chain[:len(expected)] == expected
    dialog.reject()
