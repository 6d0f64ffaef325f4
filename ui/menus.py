"""Finding the main window's menus by title, for the parts that add their own entries."""

from __future__ import annotations

from PySide6.QtWidgets import QMenu, QMenuBar


def menu_titled(menu_bar: QMenuBar, title: str) -> QMenu | None:
    """The menu of ``menu_bar`` whose title is ``title`` (with its "&"), if any."""
    for action in menu_bar.actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text() == title:
            return menu
    return None
