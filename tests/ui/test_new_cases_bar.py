"""A list scrolled past its first page is not reloaded when other workstations add cases:
a bar says how many were added, and *Show* lists them at the top."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.qtbot import QtBot

from tests.ui.conftest import Ui, new_case
from tests.ui.helpers import M, click, list_cell
from ui.models import case_table


def test_new_cases_from_elsewhere_are_counted_and_shown_at_the_top(
        ui: Ui, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    page = 40  # more rows than the list shows: the view asks for no page by itself
    monkeypatch.setattr(case_table, "PAGE_SIZE", page)
    ui.desk.add_user("carol", "agent")
    elsewhere = ui.desk.as_user("carol")
    for number in range(2 * page + 5):
        new_case(ui.desk, f"Person {number:03d}")
    model, panel = ui.window.model, ui.window.case_list
    bar = panel.new_cases_bar
    qtbot.waitUntil(lambda: model.rowCount() == page and not model.is_loading,
                    timeout=15_000)  # heard: the list (one page) was loaded again
    ui.settle()
    model.fetchMore(QModelIndex())  # the user scrolls down: the second page
    ui.settle()
    listed = [model.row(n).ref for n in range(model.rowCount())]
    chosen = listed[page + 5]
    assert panel.select_ref(chosen)
    ui.settle()
    assert bar.isHidden()

    # Carol takes in three cases; she also assigns one not loaded yet (not a new case).
    added = [new_case(elsewhere, f"New Person {n}").case.ref for n in range(3)]
    elsewhere.assign(elsewhere.list_cases(model.query, 2 * page, 1).rows[0].ref, "carol")
    qtbot.waitUntil(lambda: bar.isVisible(), timeout=15_000)
    ui.settle()
    assert bar.label.text() == "3 new cases —" and model.new_count == 3
    # The place is kept: nothing reloaded, the new cases not slipped in.
    assert [model.row(n).ref for n in range(model.rowCount())] == listed
    assert panel.current_ref() == chosen

    click(qtbot, bar.show_button)
    ui.settle()
    assert bar.isHidden()
    assert [model.row(n).ref for n in range(3)] == added  # at the top, in the desk order
    assert panel.table.verticalScrollBar().value() == 0
    assert list_cell(ui, added[0], M.COL_REQUESTER) == "New Person 0"
    badged = [n for n in range(model.rowCount())
              if model.index(n, M.COL_REF).data(Qt.ItemDataRole.DecorationRole) is not None]
    assert badged == [0, 1, 2]  # marked NEW
    # Scrolling on loads the rest once each (the new ones are not repeated).
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        ui.settle()
    refs = [model.row(n).ref for n in range(model.rowCount())]
    assert len(refs) == len(set(refs)) == 2 * page + 5 + 3 == model.total

    # F5 puts them in their place (in the desk order, after the others due the same day).
    ui.window.refresh_action.trigger()
    ui.settle()
    assert [model.row(n).ref for n in range(3)] == listed[:3]
    assert model.index(0, M.COL_REF).data(Qt.ItemDataRole.DecorationRole) is None
    assert bar.isHidden()
    assert ui.reports == []


def test_a_reload_takes_the_bar_away(ui: Ui, qtbot: QtBot,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    page = 40  # as above: more than the list shows
    monkeypatch.setattr(case_table, "PAGE_SIZE", page)
    for number in range(2 * page + 1):
        new_case(ui.desk, f"Person {number:03d}")
    model, bar = ui.window.model, ui.window.case_list.new_cases_bar
    qtbot.waitUntil(lambda: model.rowCount() == page and not model.is_loading,
                    timeout=15_000)
    ui.settle()
    model.fetchMore(QModelIndex())
    ui.settle()
    ui.desk.add_user("carol", "agent")
    new_case(ui.desk.as_user("carol"), "New Person")
    qtbot.waitUntil(lambda: bar.isVisible(), timeout=15_000)
    assert bar.label.text() == "1 new case —"
    ui.window.refresh_action.trigger()  # F5
    ui.settle()
    assert bar.isHidden() and model.new_count == 0
    assert ui.reports == []
