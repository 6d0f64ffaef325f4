"""The main window: navigation with counts, the list, filter, sort, menus, title."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from caseapp.services.dto import StepRequest
from tests.ui.conftest import Ui, new_case
from tests.ui.helpers import M, open_case
from ui.app import build_main_window
from ui.tasks import TaskStatus


def _fill(ui: Ui) -> dict[str, str]:
    refs = {
        "grant": new_case(ui.desk, "Olivia Grant").case.ref,
        "reid": new_case(ui.desk, "Marcus Reid", days_ago=60).case.ref,  # overdue
        "park": new_case(ui.desk, "Lena Park", child=True).case.ref,
        "soon": new_case(ui.desk, "Sam Ortiz", days_ago=40).case.ref,  # due in 5 days
        "done": new_case(ui.desk, "Ivy Chen").case.ref,
    }
    ui.desk.take_step(refs["done"], StepRequest("withdraw", reason="Withdrawn by phone."))
    ui.desk.assign(refs["grant"], "alice")
    ui.window.refresh_action.trigger()
    ui.settle()
    return refs


def _listed(ui: Ui) -> list[str]:
    model = ui.window.model
    return [model.row(row).requester_name for row in range(model.rowCount())]


def test_window_title_size_and_status_bar(ui: Ui) -> None:
    window = ui.window
    assert window.windowTitle() == (
        f"caseapp — alice (admin) — {ui.desk.database_label}")
    assert (window.width(), window.height()) == (1400, 850)
    assert window.findChild(TaskStatus) is not None
    assert window.count_label.text() == "0 cases"
    assert window.case_list.stack.currentWidget() is window.case_list.empty_label
    assert window.case_page.placeholder.isVisible()


def test_navigation_counts_and_views(ui: Ui) -> None:
    _fill(ui)
    window = ui.window
    counts = {view: window.nav.count_of(view)
              for view in ("mine", "open", "due_soon", "overdue", "closed", "all")}
    assert counts == {"mine": 1, "open": 4, "due_soon": 1, "overdue": 1, "closed": 1, "all": 5}
    assert window.nav.current_view() == "open"
    assert window.count_label.text() == "4 cases"
    assert _listed(ui)[0] == "Lena Park"  # desk order: the child's case first

    expected = {"mine": ["Olivia Grant"], "overdue": ["Marcus Reid"],
                "due_soon": ["Sam Ortiz"], "closed": ["Ivy Chen"]}
    for view, names in expected.items():
        window.view_actions[view].trigger()
        ui.settle()
        assert window.nav.current_view() == view
        assert _listed(ui) == names
        assert window.count_label.text() == "1 case"
    window.view_actions["all"].trigger()
    ui.settle()
    assert len(_listed(ui)) == 5
    shortcuts = [window.view_actions[v].shortcut() for v in ("mine", "all")]
    assert shortcuts == [QKeySequence("Ctrl+1"), QKeySequence("Ctrl+7")]
    assert window.new_case_action.shortcut() == QKeySequence("Ctrl+N")
    assert window.refresh_action.shortcut() == QKeySequence("F5")


def test_filter_box_filters_after_a_pause(qtbot: QtBot, ui: Ui) -> None:
    _fill(ui)
    window = ui.window
    window.activateWindow()
    window.filter_action.trigger()  # Ctrl+Shift+F (Ctrl+F is the search)
    qtbot.waitUntil(window.case_list.filter_edit.hasFocus)
    qtbot.keyClicks(window.case_list.filter_edit, "reid")
    assert len(_listed(ui)) == 4  # not yet: the filter waits for typing to pause
    qtbot.waitUntil(lambda: window.model.query.text == "reid")
    ui.settle()
    assert _listed(ui) == ["Marcus Reid"]
    assert window.count_label.text() == "1 case matching “reid”"
    window.case_list.filter_edit.setText("nobody-like-this")
    window.case_list.apply_filter()
    ui.settle()
    assert window.case_list.stack.currentWidget() is window.case_list.empty_label
    assert window.case_list.empty_label.text() == "No cases match this filter."


def test_clicking_a_header_sorts_on_the_server(qtbot: QtBot, ui: Ui) -> None:
    _fill(ui)
    window = ui.window
    header = window.case_list.table.horizontalHeader()
    position = header.sectionViewportPosition(M.COL_REQUESTER) + 5
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(position, 5))
    ui.settle()
    assert window.model.query.sort == "requester"
    names = _listed(ui)
    assert names == sorted(names) or names == sorted(names, reverse=True)
    window.desk_order_action.trigger()
    ui.settle()
    assert window.model.query.sort == "desk"
    assert _listed(ui)[0] == "Lena Park"


def test_selecting_a_row_opens_the_case(ui: Ui) -> None:
    refs = _fill(ui)
    open_case(ui, refs["reid"])
    page = ui.window.case_page
    assert page.header.overdue.isVisible()
    assert page.deadlines.respond.text() == "2026-02-17 — 15 days overdue"
    assert page.requester_box.fields["name"].text() == "Marcus Reid"
    open_case(ui, refs["park"])
    assert page.header.child.isVisible() and not page.header.overdue.isVisible()
    assert page.subject_box.fields["name"].text() == "Lena Park Jr"
    ui.window.refresh_action.trigger()  # F5 keeps the place in the list
    ui.settle()
    assert ui.window.case_list.current_ref() == refs["park"]
    assert page.header.ref.text() == refs["park"]


def test_about_opens_without_blocking(ui: Ui) -> None:
    ui.window.about()
    box = ui.window.active_dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert ui.desk.database_label in box.text()
    box.close()


def test_build_main_window_gives_an_unshown_window(qtbot: QtBot, sqlite_desk) -> None:
    window = build_main_window(sqlite_desk)
    qtbot.addWidget(window)
    assert not window.isVisible()
    assert window.runner.wait_idle()
    window.shutdown()
