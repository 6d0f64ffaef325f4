"""The lazy case list model: pages of 200, server-side sort, row markers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from caseapp.services import Desk
from caseapp.services.dto import CaseQuery, CaseRow, NewCase, PartyData, StepRequest
from tests.ui.conftest import new_case
from ui.formatting import plain_tooltip
from ui.icons import CHILD_BACKGROUND, OVERDUE_RED
from ui.models.case_table import PAGE_SIZE, CaseTableModel
from ui.models.history import HistoryModel
from ui.tasks import TaskRunner

M = CaseTableModel


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    errors: list[BaseException] = []
    task_runner = TaskRunner(error_handler=errors.append)
    yield task_runner
    task_runner.shutdown()
    assert errors == []


def _model(desk: Desk, runner: TaskRunner, view: str = "all") -> CaseTableModel:
    model = CaseTableModel(desk, runner)
    model.set_query(CaseQuery(view=view))
    assert runner.wait_idle()
    return model


def _text(model: CaseTableModel, row: int, column: int) -> str:
    return str(model.data(model.index(row, column)))


def _many(desk: Desk, count: int) -> None:
    for number in range(count):
        desk.create_case(NewCase(channel="email", request_types=("delete",),
                                 requester=PartyData(name=f"Person {number:04d}")))


def test_model_passes_the_model_tester(qtmodeltester, sqlite_desk: Desk,
                                       runner: TaskRunner) -> None:
    new_case(sqlite_desk, "Olivia Grant")
    new_case(sqlite_desk, "Marcus Reid", days_ago=60)  # overdue
    held = new_case(sqlite_desk, "Lena Park", child=True).case.ref
    sqlite_desk.claim_case(held)  # the Held by column has something to show
    model = _model(sqlite_desk, runner)
    assert model.rowCount() == 3
    assert model.columnCount() == len(M.HEADERS) == len(M.SORT_KEYS)
    qtmodeltester.check(model)


def test_history_model_passes_the_model_tester(qtmodeltester, sqlite_desk: Desk) -> None:
    changed = new_case(sqlite_desk)
    changed = sqlite_desk.take_step(changed.case.ref, StepRequest("acknowledge"))
    model = HistoryModel("America/New_York")
    model.set_entries(changed.case.history)
    assert model.rowCount() == 2
    assert model.data(model.index(0, HistoryModel.COL_WHAT)).startswith("Acknowledge:")
    assert model.data(model.index(1, HistoryModel.COL_WHO)) == "alice"
    qtmodeltester.check(model)


def test_pages_are_loaded_one_at_a_time_and_only_when_asked(sqlite_desk: Desk,
                                                            runner: TaskRunner) -> None:
    _many(sqlite_desk, 450)
    model = _model(sqlite_desk, runner)
    assert model.rowCount() == PAGE_SIZE == 200
    assert model.total == 450
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.is_loading
    assert not model.canFetchMore(QModelIndex())  # never two fetches at once
    model.fetchMore(QModelIndex())  # ignored
    assert len(runner.tasks()) == 1
    assert runner.wait_idle()
    assert model.rowCount() == 400
    model.fetchMore(QModelIndex())
    assert runner.wait_idle()
    assert model.rowCount() == 450
    assert not model.canFetchMore(QModelIndex())
    refs = [model.row(n).ref for n in range(450)]
    assert len(set(refs)) == 450


def test_a_view_does_not_load_everything(qtbot: QtBot, sqlite_desk: Desk,
                                         runner: TaskRunner) -> None:
    _many(sqlite_desk, 450)
    model = CaseTableModel(sqlite_desk, runner)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(600, 400)
    view.show()
    model.set_query(CaseQuery(view="all"))
    assert runner.wait_idle()
    qtbot.wait(50)
    assert runner.wait_idle()
    assert model.rowCount() == 200
    view.scrollToBottom()  # the user reaches the end of the first page
    # The view asks for the next page there and then (no timer involved); waiting for
    # the runner, not for a deadline, keeps a loaded machine from failing the test.
    assert model.is_loading
    assert len(runner.tasks()) == 1
    assert runner.wait_idle(30_000)
    qtbot.wait(50)  # the view lays the new rows out: no third page is asked for
    assert runner.wait_idle(30_000)
    assert model.rowCount() == 400
    assert not model.is_loading and model.canFetchMore(QModelIndex())


def test_sorting_asks_the_server(sqlite_desk: Desk, runner: TaskRunner) -> None:
    for name in ("Carla Diaz", "Aaron Bell", "Bea Young"):
        new_case(sqlite_desk, name)
    model = _model(sqlite_desk, runner)
    model.sort(M.COL_REQUESTER, Qt.SortOrder.DescendingOrder)
    assert model.query.sort == "requester" and model.query.descending
    assert runner.wait_idle()
    names = [_text(model, row, M.COL_REQUESTER) for row in range(3)]
    assert names == ["Carla Diaz", "Bea Young", "Aaron Bell"]
    model.sort(M.COL_REF, Qt.SortOrder.AscendingOrder)
    assert runner.wait_idle()
    assert [_text(model, row, M.COL_REF) for row in range(3)] == [
        "PR-2026-00001", "PR-2026-00002", "PR-2026-00003"]
    model.sort(-1)  # no column: the desk order
    assert model.query.sort == "desk"


def test_a_text_query_filters(sqlite_desk: Desk, runner: TaskRunner) -> None:
    new_case(sqlite_desk, "Carla Diaz")
    new_case(sqlite_desk, "Aaron Bell")
    model = _model(sqlite_desk, runner)
    model.set_query(replace(model.query, text="bell"))
    assert runner.wait_idle()
    assert model.rowCount() == 1
    assert _text(model, 0, M.COL_REQUESTER) == "Aaron Bell"


def test_rows_show_what_staff_scan_for(sqlite_desk: Desk, runner: TaskRunner) -> None:
    new_case(sqlite_desk, "Olivia Grant", types=("access", "delete"), channel="phone")
    new_case(sqlite_desk, "Marcus Reid", days_ago=60)
    new_case(sqlite_desk, "Lena Park", child=True)
    model = _model(sqlite_desk, runner)
    rows = {model.row(n).requester_name: n for n in range(model.rowCount())}
    # Desk order: the child's case first (urgent), then by due date.
    assert _text(model, 0, M.COL_REQUESTER) == "Lena Park"
    grant = rows["Olivia Grant"]
    assert _text(model, grant, M.COL_TYPES) == "Access, Delete"
    assert _text(model, grant, M.COL_CHANNEL) == "Phone"
    assert _text(model, grant, M.COL_STATUS) == "Received"
    assert _text(model, grant, M.COL_DUE) == "2026-04-18 (in 45 days)"
    assert _text(model, grant, M.COL_ASSIGNEE) == "—"
    assert isinstance(model.data(model.index(grant, 0), M.RowRole), CaseRow)

    late = rows["Marcus Reid"]
    assert _text(model, late, M.COL_DUE).endswith("(15 days overdue)")
    brush = model.data(model.index(late, M.COL_STATUS), Qt.ItemDataRole.ForegroundRole)
    assert isinstance(brush, QBrush) and brush.color() == OVERDUE_RED
    assert model.data(model.index(late, M.COL_DUE), Qt.ItemDataRole.FontRole).bold()
    assert "Overdue" in model.data(model.index(late, M.COL_REF), Qt.ItemDataRole.ToolTipRole)

    child = rows["Lena Park"]
    background = model.data(model.index(child, M.COL_REF), Qt.ItemDataRole.BackgroundRole)
    assert background.color() == CHILD_BACKGROUND
    assert model.data(model.index(child, M.COL_REQUESTER), Qt.ItemDataRole.DecorationRole)
    assert "child" in model.data(model.index(child, M.COL_REF), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(grant, M.COL_REQUESTER),
                      Qt.ItemDataRole.DecorationRole) is None


def test_a_changed_case_updates_its_row_only(qtbot: QtBot, sqlite_desk: Desk,
                                             runner: TaskRunner) -> None:
    first = new_case(sqlite_desk, "Olivia Grant").case.ref
    new_case(sqlite_desk, "Marcus Reid")
    model = _model(sqlite_desk, runner)
    position = model.position_of(first)
    assert position is not None
    changed = sqlite_desk.take_step(first, StepRequest("acknowledge"))
    with qtbot.waitSignal(model.dataChanged) as signal:
        model.apply_detail(changed.case)
    assert signal.args[0].row() == signal.args[1].row() == position
    assert _text(model, position, M.COL_STATUS) == "Acknowledged"
    sqlite_desk.assign(first, "alice")
    model.update_row(first)  # reloads just this case in the background
    assert runner.wait_idle()
    assert _text(model, position, M.COL_ASSIGNEE) == "alice"
    assert model.rowCount() == 2


def test_the_held_by_column_says_who_works_on_a_case(sqlite_desk: Desk,
                                                    runner: TaskRunner) -> None:
    sqlite_desk.add_user("carol", "agent")
    carol = sqlite_desk.as_user("carol")
    held = new_case(sqlite_desk, "Olivia Grant").case.ref
    free = new_case(sqlite_desk, "Marcus Reid").case.ref
    carol.claim_case(held)
    model = _model(sqlite_desk, runner)
    assert M.HEADERS[M.COL_HELD] == "Held by"
    at = {ref: model.position_of(ref) for ref in (held, free)}
    assert _text(model, at[held], M.COL_HELD) == "carol"
    tip = Qt.ItemDataRole.ToolTipRole
    assert model.data(model.index(at[held], M.COL_HELD), tip) == plain_tooltip(
        "Held by carol since 10:00")
    assert _text(model, at[free], M.COL_HELD) == ""
    assert model.data(model.index(at[free], M.COL_HELD), tip) == plain_tooltip(
        "Nobody is working on this case.")
    # The first step claims the case: the row says so after the mutation.
    model.apply_detail(sqlite_desk.take_step(free, StepRequest("acknowledge")).case)
    assert _text(model, at[free], M.COL_HELD) == "alice"
    # Sorting by the column shows the desk order (the server does not sort by claims).
    model.sort(M.COL_HELD, Qt.SortOrder.DescendingOrder)
    assert (model.query.sort, model.query.descending) == ("desk", False)
    assert runner.wait_idle()
    # A claim whose lease ran out holds nothing: nobody is shown.
    sqlite_desk.set_clock(sqlite_desk.clock.advanced(timedelta(minutes=16)))
    model.reload()
    assert runner.wait_idle()
    assert [_text(model, row, M.COL_HELD) for row in range(model.rowCount())] == ["", ""]
