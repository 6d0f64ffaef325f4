"""A non-blocking question with one button that does something and a Cancel."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget


def ask(parent: QWidget, title: str, text: str, yes_text: str,
        on_yes: Callable[[], None], *, warning: bool = False) -> QMessageBox:
    """Open the question (Cancel is the default); ``on_yes`` runs only for ``yes_text``.
    The box is returned so that tests (and callers) can find its buttons."""
    icon = QMessageBox.Icon.Warning if warning else QMessageBox.Icon.Question
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Cancel, parent)
    yes: QPushButton = box.addButton(yes_text, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda button: on_yes() if button is yes else None)
    box.open()
    return box


def yes_button(box: QMessageBox) -> QPushButton:
    """The button that does it (for tests and keyboard users)."""
    for button in box.buttons():
        if box.buttonRole(button) == QMessageBox.ButtonRole.AcceptRole and isinstance(
                button, QPushButton):
            return button
    raise LookupError("no accepting button")
