"""Small helpers for driving the window like a user would."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QDialog, QDialogButtonBox
from pytestqt.qtbot import QtBot

from tests.ui.conftest import Ui
from ui.dialogs.party import PartyDialog
from ui.dialogs.step_input import StepInputDialog
from ui.models.case_table import CaseTableModel


def click(qtbot: QtBot, button: QAbstractButton) -> None:
    assert button.isVisible(), f"{button.text()!r} is not visible"
    assert button.isEnabled(), f"{button.text()!r} is disabled: {button.toolTip()}"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def click_step(qtbot: QtBot, ui: Ui, step: str) -> None:
    click(qtbot, ui.window.case_page.steps.buttons[step])
    ui.settle()


def step_dialog(ui: Ui) -> StepInputDialog:
    dialog = ui.window.case_page.active_dialog
    assert isinstance(dialog, StepInputDialog) and dialog.isVisible()
    return dialog


def ok(qtbot: QtBot, dialog: QDialog, ui: Ui) -> None:
    """Click the dialog's OK / Save button."""
    box = dialog.findChild(QDialogButtonBox)
    assert box is not None
    accept = next(b for b in box.buttons()
                  if box.buttonRole(b) == QDialogButtonBox.ButtonRole.AcceptRole)
    click(qtbot, accept)
    ui.settle()


def closed(dialog: QDialog) -> bool:
    """Dialogs delete themselves on close; a deleted one is closed too."""
    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def status_text(ui: Ui) -> str:
    return ui.window.case_page.header.status.text()


def history_texts(ui: Ui) -> list[str]:
    model = ui.window.case_page.history_model
    return [model.data(model.index(row, model.COL_WHAT)) for row in range(model.rowCount())]


def list_cell(ui: Ui, ref: str, column: int) -> str:
    model = ui.window.model
    position = model.position_of(ref)
    assert position is not None, f"{ref} is not in the list"
    return str(model.data(model.index(position, column)))


def open_case(ui: Ui, ref: str) -> None:
    """Click the case in the list (switching to All if needed) and wait for the page."""
    window = ui.window
    if window.model.position_of(ref) is None:
        window.nav.select_view("all")
        ui.settle()
    assert window.case_list.select_ref(ref)
    ui.settle()
    assert window.case_page.header.ref.text() == ref


M = CaseTableModel


def edit_requester(qtbot: QtBot, ui: Ui, name: str) -> tuple[str, PartyDialog]:
    """Open a new case for ``name`` and its requester dialog, as an agent would."""
    from tests.ui.conftest import new_case

    ref = new_case(ui.desk, name).case.ref
    open_case(ui, ref)
    click(qtbot, ui.window.case_page.requester_box.edit_button)
    dialog = ui.window.case_page.active_dialog
    assert isinstance(dialog, PartyDialog)
    return ref, dialog

