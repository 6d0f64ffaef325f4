"""The dashboard in the window: the tiles' numbers, the counts and the weekly chart on a
desk of known cases; a tile opened by click, Enter or Space shows its cases in the search
results with its filters set; F5 loads it again; the counts model passes the tester."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from caseapp.services.dashboard import Count
from caseapp.services.dto import StepRequest
from caseapp.services.search import SearchQuery
from tests.ui.conftest import Ui, new_case
from ui.main_window import MainWindow
from ui.models.dashboard import CountsModel
from ui.pages.dashboard_page import DashboardPage

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
WEEKS = ["Dec 15", "Dec 22", "Dec 29", "Jan 5", "Jan 12", "Jan 19", "Jan 26", "Feb 2",
         "Feb 9", "Feb 16", "Feb 23", "Mar 2"]  # the twelve Mondays up to 4 March 2026


def _fill(ui: Ui) -> dict[str, str]:
    """Five cases (the desk's today is Wednesday 4 March 2026, deadlines 45 days)."""
    desk = ui.desk
    refs = {
        "overdue": new_case(desk, "Marcus Reid", days_ago=60).case.ref,  # 3 January
        "today": new_case(desk, "Tia Today", days_ago=45).case.ref,  # due today
        "soon": new_case(desk, "Sam Ortiz", days_ago=40, channel="postal").case.ref,
        "verifying": new_case(desk, "Vic Verify", types=("access",)).case.ref,
        "done": new_case(desk, "Ivy Chen").case.ref,
    }
    for step in ("acknowledge", "start_verification"):
        desk.take_step(refs["verifying"], StepRequest(step))
    desk.take_step(refs["done"], StepRequest("withdraw", reason="Withdrawn by phone."))
    desk.assign(refs["today"], "alice")
    desk.assign(refs["verifying"], "alice")
    return refs


def _open_dashboard(ui: Ui) -> DashboardPage:
    ui.window.dashboard_action.trigger()
    ui.settle()
    page = ui.window.dashboard_page
    assert page.isVisible() and page.board is not None
    return page


def _numbers(page: DashboardPage) -> dict[str, str]:
    return {key: tile.number.text() for key, tile in page.tiles.items()}


def _results(window: MainWindow) -> set[str]:
    results = window.search_page.results
    assert results is not None
    return {hit.ref for hit in results.hits}


def _activate(qtbot: QtBot, ui: Ui) -> None:
    ui.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is ui.window)


def test_the_dashboard_shows_the_desk(ui: Ui) -> None:
    _fill(ui)
    window = ui.window
    assert window.nav.current_view() == "open"  # the window still opens on the list
    nav_top = window.nav.item(0)
    assert nav_top is not None and nav_top.text() == "Dashboard"
    page = _open_dashboard(ui)
    assert window.nav.current_view() == "dashboard"
    assert not window.case_list.isVisible() and not window.case_page.isVisible()
    assert window.count_label.text() == ""
    assert _numbers(page) == {"due_today": "1", "due_week": "2", "overdue": "1",
                              "verification": "1", "downstream": "0", "mine": "2"}
    for key, tile in page.tiles.items():  # what a tile says is what its search finds
        query = page.tile_query(key)
        assert query is not None
        assert int(tile.number.text()) == ui.desk.search(query).total, key
        assert tile.explanation.text() and tile.accessibleName().startswith(
            tile.label.text())
    # Overdue stands out while there is any; the others do not.
    assert page.tiles["overdue"].property("warning") is True
    assert "#b3261e" in page.tiles["overdue"].number.styleSheet()
    assert page.tiles["due_today"].property("warning") is not True
    assert page.subtitle.text() == "Wednesday, March 4, 2026 · 4 open cases"
    assert page.status_model.count_of("received") == 3
    assert page.status_model.count_of("verifying") == 1
    assert page.status_model.count_of("on_hold") == 0
    assert page.type_model.count_of("delete") == 3
    assert page.type_model.count_of("access") == 1
    assert page.channel_model.count_of("email") == 3
    assert page.channel_model.count_of("postal") == 1
    assert page.type_model.data(page.type_model.index(3, 0)) == "Marketing opt-out"


def test_the_chart_has_a_bar_per_week(ui: Ui) -> None:
    _fill(ui)
    page = _open_dashboard(ui)
    assert page.week_axis.categories() == WEEKS
    received = [int(page.received_set.at(n)) for n in range(page.received_set.count())]
    closed = [int(page.closed_set.at(n)) for n in range(page.closed_set.count())]
    # Received on 3 January (week of Dec 29), 18 January (Jan 12), 23 January (Jan 19),
    # and two today; one closed today.
    assert received == [0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 2]
    assert closed == [0] * 11 + [1]
    assert [s.label() for s in page.series.barSets()] == ["Received", "Closed"]
    assert page.count_axis.min() == 0 and page.count_axis.max() >= 2
    assert page.chart_summary.text() == (
        "This week so far: 2 received, 1 closed · the last 12 weeks: 5 received, 1 closed")


def test_a_click_on_a_tile_lists_its_cases(qtbot: QtBot, ui: Ui) -> None:
    refs = _fill(ui)
    window = ui.window
    page = _open_dashboard(ui)
    qtbot.mouseClick(page.tiles["overdue"], Qt.MouseButton.LeftButton)
    ui.settle()
    assert window.searching() and window.search_page.isVisible()
    assert not page.isVisible() and window.case_page.isVisible()
    assert _results(window) == {refs["overdue"]}
    assert window.search_page.query().overdue  # the filter row shows the filter
    assert window.count_label.text() == "1 found"
    # Enter on the result opens the case, as from any search.
    window.search_page.open_current()
    ui.settle()
    assert window.case_page.header.ref.text() == refs["overdue"]


def test_tiles_are_reached_with_tab_and_opened_with_enter_or_space(qtbot: QtBot,
                                                                   ui: Ui) -> None:
    refs = _fill(ui)
    window = ui.window
    _activate(qtbot, ui)
    expected = {
        "due_week": ({refs["today"], refs["soon"]}, Qt.Key.Key_Return,
                     SearchQuery(due="week")),
        "verification": ({refs["verifying"]}, Qt.Key.Key_Enter,
                         SearchQuery(waiting_on="verification")),
        "mine": ({refs["today"], refs["verifying"]}, Qt.Key.Key_Space,
                 SearchQuery(mine=True)),
        "due_today": ({refs["today"]}, Qt.Key.Key_Return, SearchQuery(due="today")),
    }
    order = list(window.dashboard_page.tiles)
    for key, (cases, press, query) in expected.items():
        qtbot.keyClick(window, Qt.Key.Key_D, CTRL_SHIFT)  # back to the dashboard
        ui.settle()
        page = window.dashboard_page
        assert page.isVisible() and not window.searching()
        first = page.tiles[order[0]]
        assert first.hasFocus()  # the shortcut puts the keyboard on the first tile
        for _ in range(order.index(key)):
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        assert page.tiles[key].hasFocus(), key
        qtbot.keyClick(page.tiles[key], press)
        ui.settle()
        assert window.searching(), key
        assert _results(window) == cases, key
        shown = window.search_page.query()
        assert replace(shown, limit=query.limit) == query, key  # its filters, nothing else
        assert window.search_page.table.hasFocus()  # Enter opens the first case


def test_a_status_count_lists_those_cases(qtbot: QtBot, ui: Ui) -> None:
    refs = _fill(ui)
    window = ui.window
    page = _open_dashboard(ui)
    table = page.status_table
    model = page.status_model
    row = next(n for n in range(model.rowCount()) if model.data(model.index(n, 0)) == "Received")
    table.setFocus()
    table.setCurrentIndex(model.index(row, 0))
    qtbot.keyClick(table, Qt.Key.Key_Return)
    ui.settle()
    assert window.searching()
    assert _results(window) == {refs["overdue"], refs["today"], refs["soon"]}
    assert window.search_page.query().status == "received"


def test_f5_loads_the_dashboard_again_after_a_change(ui: Ui) -> None:
    refs = _fill(ui)
    window = ui.window
    page = _open_dashboard(ui)
    assert _numbers(page)["due_today"] == "1"
    # Someone at another workstation answers the case due today and assigns another.
    ui.desk.take_step(refs["today"], StepRequest("withdraw", reason="Withdrawn by email."))
    ui.desk.assign(refs["soon"], "alice")
    assert _numbers(page)["due_today"] == "1"  # nothing reloads by itself
    window.refresh_action.trigger()  # F5
    assert any(task.label == "Loading the dashboard" for task in window.runner.tasks())
    ui.settle()
    assert _numbers(page) == {"due_today": "0", "due_week": "1", "overdue": "1",
                              "verification": "1", "downstream": "0", "mine": "2"}
    assert int(page.closed_set.at(11)) == 2
    assert page.status_model.count_of("received") == 2
    # Shown again, it loads again.
    ui.desk.take_step(refs["overdue"], StepRequest("withdraw", reason="Withdrawn."))
    window.view_actions["all"].trigger()
    ui.settle()
    assert not page.isVisible()
    page = _open_dashboard(ui)
    assert _numbers(page)["overdue"] == "0"
    assert page.tiles["overdue"].property("warning") is False
    assert page.tiles["overdue"].number.styleSheet() == ""


def test_counts_model_passes_the_model_tester(qtmodeltester: object) -> None:
    model = CountsModel("Status")
    model.set_rows((Count("received", "Received", 3, SearchQuery(status="received")),
                    Count("on_hold", "On hold", 0)))
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert model.headerData(0, Qt.Orientation.Horizontal) == "Status"
    assert model.data(model.index(0, 1)) == "3"
    assert model.data(model.index(1, 1), model.SortRole) == 0
    assert "Enter or double-click" in model.data(model.index(0, 0),
                                                 Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(1, 0), Qt.ItemDataRole.ForegroundRole) is not None
