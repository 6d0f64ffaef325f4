"""The Records tab of a case, on the demo customer systems: search (with Cancel), each
system's state, confirming and rejecting records, an action proposed, approved by a
second person, run and verified, the downstream notices answered; refusals shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from caseapp.demo import demo_sources_text, open_planted_cases
from caseapp.services import Desk
from caseapp.services.dto import RecordActionView, StepRequest
from tests.keyring_fixtures import MemoryKeyring
from tests.records_fixtures import DemoCopy
from tests.ui.conftest import Ui
from tests.ui.helpers import click, closed, ok, open_case
from ui.dialogs.action_preview import ActionPreviewDialog
from ui.dialogs.confirm import yes_button
from ui.dialogs.new_action import NewActionDialog
from ui.dialogs.notice_dialogs import MarkSentDialog, NoticeDialog
from ui.dialogs.step_input import StepInputDialog
from ui.models.frozen_rows import FrozenRowsModel
from ui.models.records import ActionsModel, HitsModel, NoticesModel, SystemsModel
from ui.pages.records_tab import RecordsTab
from ui.tasks import TaskRunner
from ui.widgets.rows_table import RowsTable

H, S, A, N = HitsModel, SystemsModel, ActionsModel, NoticesModel
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
WAREHOUSE = ('\n[sources.warehouse]\nlabel = "Data warehouse"\n'
             'url = "sqlite:///{data_dir}/gone.sqlite3"\n'
             '[sources.warehouse.tables.people]\ncategory = "customer_profile"\n'
             'key = "id"\nidentifiers = { email = "email" }\n'
             'deletion = { mode = "delete_rows" }\n')


# --- set-up ---------------------------------------------------------------------------------


@pytest.fixture
def errors() -> list[BaseException]:
    return []


@pytest.fixture
def runner(qtbot: QtBot, errors: list[BaseException]) -> Iterator[TaskRunner]:
    """What the window's runner reports (refusals included) goes to ``errors``."""
    task_runner = TaskRunner(error_handler=errors.append)
    yield task_runner
    task_runner.shutdown()


@pytest.fixture
def alice(sqlite_desk: Desk, demo: DemoCopy, memory_keyring: MemoryKeyring) -> Desk:
    sqlite_desk.use_sources(demo.config, demo.data_dir, secret=lambda _name: None)
    return sqlite_desk


@pytest.fixture
def bob(alice: Desk, demo: DemoCopy) -> Desk:
    alice.add_user("bob", "supervisor", "Bob")
    desk = alice.as_user("bob")
    desk.use_sources(demo.config, demo.data_dir, secret=lambda _name: None)
    return desk


def in_progress(desk: Desk, ref: str) -> str:
    desk.take_step(ref, StepRequest(step="start_verification"))
    desk.take_step(ref, StepRequest(step="verify", method="email_match"))
    return ref


@pytest.fixture
def jose(alice: Desk) -> str:
    """José's deletion case, identity verified: records can be searched and acted on."""
    return in_progress(alice, open_planted_cases(alice)[0])


def settle(qtbot: QtBot, runner: TaskRunner) -> None:
    qtbot.waitUntil(runner.is_idle, timeout=30_000)


def records_tab(qtbot: QtBot, desk: Desk, runner: TaskRunner, ref: str,
                request_types: tuple[str, ...] = ("delete",)) -> RecordsTab:
    tab = RecordsTab(desk, runner)
    qtbot.addWidget(tab)
    tab.resize(1100, 560)
    tab.show()
    tab.set_case(ref, request_types=request_types)
    settle(qtbot, runner)
    return tab


def column(table: RowsTable[object], number: int) -> list[str]:
    """A column's texts in the order shown."""
    model = table.proxy
    return [model.data(model.index(row, number)) for row in range(model.rowCount())]


def select(table: RowsTable[object], rows: list[int]) -> None:
    """Select these rows (as shown), like a ctrl-click on each."""
    selection = table.selectionModel()
    selection.clearSelection()
    flags = QItemSelectionModel.SelectionFlag
    for number, row in enumerate(rows):
        index = table.proxy.index(row, 0)
        if number == 0:
            selection.setCurrentIndex(index, flags.NoUpdate)
        selection.select(index, flags.Select | flags.Rows)


def search(qtbot: QtBot, tab: RecordsTab, runner: TaskRunner) -> None:
    click(qtbot, tab.search_button)
    settle(qtbot, runner)


def confirm_strong_hits(qtbot: QtBot, tab: RecordsTab, runner: TaskRunner) -> int:
    """Confirm the records scoring 90 or more, reject the rest; how many were confirmed."""
    tab.hits_table.sortByColumn(H.COL_SCORE, Qt.SortOrder.DescendingOrder)
    scores = [float(score) for score in column(tab.hits_table, H.COL_SCORE)]
    strong = [row for row, score in enumerate(scores) if score >= 90]
    weak = [row for row, score in enumerate(scores) if score < 90]
    assert strong
    select(tab.hits_table, strong)
    click(qtbot, tab.confirm_button)
    settle(qtbot, runner)
    if weak:
        select(tab.hits_table, weak)
        click(qtbot, tab.reject_button)
        settle(qtbot, runner)
    return len(strong)


def propose(qtbot: QtBot, tab: RecordsTab, runner: TaskRunner) -> ActionPreviewDialog:
    """New action… with what the dialog proposes first, then OK; the preview it shows."""
    tab.sections.setCurrentWidget(tab.actions_panel)
    click(qtbot, tab.actions_panel.new_button)
    dialog = tab.active_dialog
    assert isinstance(dialog, NewActionDialog) and dialog.isVisible()
    assert dialog.kind() == "delete"  # what the case asks for comes first
    click(qtbot, dialog.ok_button)
    settle(qtbot, runner)
    assert closed(dialog)
    preview = tab.active_dialog
    assert isinstance(preview, ActionPreviewDialog) and preview.isVisible()
    return preview


def only_box() -> QMessageBox:
    boxes = [w for w in QApplication.topLevelWidgets()
             if isinstance(w, QMessageBox) and w.isVisible()]
    assert len(boxes) == 1
    return boxes[0]


# --- the models -----------------------------------------------------------------------------


def executed_deletion(alice: Desk, bob: Desk, ref: str) -> RecordActionView:
    for hit in alice.lookup(ref).hits:
        alice.decide_hit(ref, hit.id, hit.score >= 90)
    action = alice.propose_action(ref, "delete")
    bob.approve_action(ref, action.id)
    return alice.execute_action(ref, action.id)


def test_the_models_pass_the_model_tester(qtmodeltester: object, alice: Desk, bob: Desk,
                                          jose: str) -> None:
    done = executed_deletion(alice, bob, jose)
    assert done.status == "verified"
    timezone = alice.clock.timezone
    models: list[tuple[FrozenRowsModel[object], tuple[object, ...]]] = [
        (HitsModel(timezone), alice.record_hits(jose)),
        (SystemsModel(timezone), alice.source_status(jose)),
        (ActionsModel(timezone), alice.record_actions(jose)),
        (NoticesModel(timezone), alice.notices(jose)),
    ]
    for model, rows in models:
        assert rows
        model.set_rows(rows)
        qtmodeltester.check(model)  # type: ignore[attr-defined]
        for row in range(model.rowCount()):
            assert model.data(model.index(row, 0), FrozenRowsModel.RowRole) is rows[row]
    actions = ActionsModel(timezone)
    actions.set_rows(alice.record_actions(jose))
    assert actions.data(actions.index(0, A.COL_STATUS)) == "Done and verified"
    assert actions.data(actions.index(0, A.COL_APPROVED)) == "bob"


# --- searching ------------------------------------------------------------------------------


def test_search_shows_the_records_and_each_systems_state(
        qtbot: QtBot, alice: Desk, jose: str, runner: TaskRunner,
        errors: list[BaseException]) -> None:
    tab = records_tab(qtbot, alice, runner, jose)
    assert "not searched for this case yet" in tab.summary.text()
    assert tab.hits_model.rowCount() == 0
    assert column(tab.systems_panel.table, S.COL_STATE) == ["Not searched yet"] * 2

    search(qtbot, tab, runner)
    hits = tab.hits_model.rowCount()
    assert hits > 5
    assert set(column(tab.hits_table, H.COL_STATUS)) == {"To decide"}
    assert any("exact email" in why for why in column(tab.hits_table, H.COL_WHY))
    assert set(column(tab.hits_table, H.COL_SYSTEM)) == {"Customer database"}
    assert tab.sections.currentWidget() is tab.hits_page
    assert tab.sections.tabText(0) == f"Records ({hits}, {hits} to decide)"
    summary = tab.summary.text()
    assert f"by alice: {hits} record(s) found" in summary
    assert "Waiting for a search by hand: Call-center recordings" in summary
    assert not tab.incomplete.isVisible()
    states = dict(zip(column(tab.systems_panel.table, S.COL_SYSTEM),
                      column(tab.systems_panel.table, S.COL_STATE), strict=True))
    assert states == {"Customer database": "Searched, records found",
                      "Call-center recordings": "Searched by hand: waiting for its owner"}

    # The call-center's owner answers: nothing found, with a note (required).
    tab.sections.setCurrentIndex(1)
    systems = column(tab.systems_panel.table, S.COL_SYSTEM)
    assert not tab.systems_panel.done_button.isEnabled()
    select(tab.systems_panel.table, [systems.index("Customer database")])
    assert not tab.systems_panel.none_button.isEnabled()
    select(tab.systems_panel.table, [systems.index("Call-center recordings")])
    click(qtbot, tab.systems_panel.none_button)
    dialog = tab.active_dialog
    assert isinstance(dialog, StepInputDialog)
    click(qtbot, dialog.ok_button)
    assert dialog.isVisible() and "Note is required." in dialog.error_label.text()
    dialog.reason.setPlainText("No calls from this number in the recordings.")
    click(qtbot, dialog.ok_button)
    settle(qtbot, runner)
    assert closed(dialog)
    states = dict(zip(column(tab.systems_panel.table, S.COL_SYSTEM),
                      column(tab.systems_panel.table, S.COL_STATE), strict=True))
    assert states["Call-center recordings"] == "Searched by hand: nothing found"
    assert "Waiting" not in tab.summary.text()
    assert errors == []


def test_a_system_that_could_not_be_searched_makes_it_incomplete_never_nothing_found(
        qtbot: QtBot, alice: Desk, demo: DemoCopy, runner: TaskRunner) -> None:
    file = demo.data_dir / "with-warehouse.toml"
    file.write_text(demo_sources_text(demo.data_dir) + WAREHOUSE, encoding="utf-8")
    alice.use_sources(file, demo.data_dir, secret=lambda _name: None)
    nobody = alice.create_case(_nobody()).case.ref
    tab = records_tab(qtbot, alice, runner, nobody)
    search(qtbot, tab, runner)
    assert tab.hits_model.rowCount() == 0
    assert tab.incomplete.isVisible()
    assert tab.incomplete.text().startswith("Incomplete: not searched: Data warehouse.")
    for text in (tab.summary.text(), tab.incomplete.text()):
        assert "nothing found" not in text.lower()
    assert "no record found in the systems that could be searched" in tab.summary.text()
    states = dict(zip(column(tab.systems_panel.table, S.COL_SYSTEM),
                      column(tab.systems_panel.table, S.COL_STATE), strict=True))
    assert states["Data warehouse"] == "Could not be reached: NOT searched"
    assert states["Customer database"] == "Searched, nothing found"
    detail = dict(zip(column(tab.systems_panel.table, S.COL_SYSTEM),
                      column(tab.systems_panel.table, S.COL_DETAIL), strict=True))
    assert "gone.sqlite3" in detail["Data warehouse"]


def _nobody() -> object:
    from caseapp.services.dto import NewCase, PartyData

    return NewCase(channel="email", request_types=("delete",),
                   requester=PartyData(name="Nobody Known", email="nobody.known@example.org"))


def test_cancel_during_the_search_leaves_nothing_half_stored(
        qtbot: QtBot, alice: Desk, jose: str, runner: TaskRunner,
        errors: list[BaseException]) -> None:
    tab = records_tab(qtbot, alice, runner, jose)
    click(qtbot, tab.search_button)
    (task,) = runner.tasks()
    assert task.cancellable and task.label == f"Searching the customer systems for {jose}"
    assert tab.search_button.text() == "Searching…" and not tab.search_button.isEnabled()
    runner.cancel(task.id)  # the status bar's Cancel
    settle(qtbot, runner)
    assert "The search was cancelled: nothing was stored." in tab.summary.text()
    assert tab.search_button.isEnabled() and tab.search_button.text() == (
        "Search customer systems")
    assert tab.hits_model.rowCount() == 0
    assert alice.record_hits(jose) == ()
    assert {s.outcome for s in alice.source_status(jose)} == {"not_searched"}
    assert [t for t in alice.get_case(jose).tasks if t.kind == "manual_source"] == []
    assert errors == []


# --- deciding -------------------------------------------------------------------------------


def test_confirming_and_rejecting_records_changes_their_status(
        qtbot: QtBot, alice: Desk, jose: str, runner: TaskRunner) -> None:
    tab = records_tab(qtbot, alice, runner, jose)
    search(qtbot, tab, runner)
    assert not tab.confirm_button.isEnabled()  # nothing selected
    select(tab.hits_table, [0, 1])
    click(qtbot, tab.confirm_button)
    settle(qtbot, runner)
    statuses = column(tab.hits_table, H.COL_STATUS)
    assert statuses[:2] == ["✓ Confirmed", "✓ Confirmed"]
    assert set(statuses[2:]) == {"To decide"}
    assert tab.hits_hint.text() == "2 confirmed as the person's."
    # The selection stays on the same records after the reload.
    assert [hit.status for hit in tab.hits_table.selected_rows()] == ["confirmed"] * 2

    # From the keyboard: Ctrl+Shift+R rejects the selected record.
    tab.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is tab)
    select(tab.hits_table, [2])
    tab.hits_table.setFocus()
    qtbot.keyClick(tab.hits_table, Qt.Key.Key_R, CTRL_SHIFT)
    settle(qtbot, runner)
    assert column(tab.hits_table, H.COL_STATUS)[2] == "✗ Not theirs"
    decided = {hit.id: hit for hit in alice.record_hits(jose)}
    rejected = [hit for hit in decided.values() if hit.status == "rejected"]
    assert len(rejected) == 1 and rejected[0].decided_by == "alice"
    assert "Ctrl+Shift+Y" in tab.confirm_button.toolTip()


# --- acting ---------------------------------------------------------------------------------


def test_a_deletion_needs_a_second_person_then_runs_verified_and_its_notices_close(
        qtbot: QtBot, alice: Desk, bob: Desk, jose: str, runner: TaskRunner,
        errors: list[BaseException]) -> None:
    tab = records_tab(qtbot, alice, runner, jose)
    search(qtbot, tab, runner)
    confirm_strong_hits(qtbot, tab, runner)

    preview = propose(qtbot, tab, runner)
    lines = preview.texts()
    assert lines[0].startswith("Customer database — ")
    assert any(line.strip().startswith("Customer profiles (customers) — ") for line in lines)
    assert any(line.strip().endswith("— deleted") for line in lines)
    assert any(line.startswith("Whom to notify") for line in lines)
    assert preview.heading.text() == "Delete / de-identify — Awaiting approval"
    preview.close()

    panel = tab.actions_panel
    assert column(panel.table, A.COL_STATUS) == ["Awaiting approval"]
    assert column(panel.table, A.COL_REQUESTED) == ["alice"]
    # Four-eyes: alice cannot approve (or run) what she proposed, and is told why.
    assert not panel.approve_button.isEnabled()
    assert panel.approve_button.toolTip().startswith(
        "Four-eyes rule: you proposed this action")
    assert not panel.run_button.isEnabled()
    assert panel.run_button.toolTip() == "A second person approves it first."
    assert "a second person approves it" in panel.outcome.text()

    # Bob, at his desk, approves it.
    bobs = records_tab(qtbot, bob, runner, jose)
    bobs.sections.setCurrentWidget(bobs.actions_panel)
    assert bobs.actions_panel.approve_button.isEnabled()
    click(qtbot, bobs.actions_panel.approve_button)
    settle(qtbot, runner)
    assert column(bobs.actions_panel.table, A.COL_STATUS) == ["Ready to run"]
    assert column(bobs.actions_panel.table, A.COL_APPROVED) == ["bob"]

    # Alice runs it, after confirming that it is irreversible.
    tab.reload()
    settle(qtbot, runner)
    progress: list[str] = []
    runner.task_progressed.connect(lambda task_id: progress.append(
        runner.task(task_id).progress.snapshot()[2] if runner.task(task_id) else ""))
    click(qtbot, panel.run_button)
    box = only_box()
    assert "irreversible" in box.text()
    click(qtbot, yes_button(box))
    settle(qtbot, runner)
    assert column(panel.table, A.COL_STATUS) == ["Done and verified"]
    assert panel.outcome.text().startswith("Action ")
    assert "Done and verified" in panel.outcome.text()
    assert any(text.startswith("Customer database, ") for text in progress)
    assert not panel.run_button.isEnabled() and panel.verify_button.isEnabled()
    planned, changed = column(panel.table, A.COL_ROWS)[0].split(" / ")
    assert planned == changed and int(changed) > 0
    click(qtbot, panel.verify_button)
    settle(qtbot, runner)
    assert column(panel.table, A.COL_STATUS) == ["Done and verified"]

    # The notices appear, to send; sending and the answers close them.
    notices = tab.notices_panel
    count = notices.model.rowCount()
    assert count >= 2
    assert set(column(notices.table, N.COL_STATUS)) == {"To send"}
    assert tab.sections.tabText(3) == f"Notices ({count} open)"
    tab.sections.setCurrentWidget(notices)
    select(notices.table, [0])
    assert not notices.ack_button.isEnabled()
    assert notices.ack_button.toolTip() == "Record how it went out first (Mark sent…)."
    click(qtbot, notices.view_button)
    viewer = tab.active_dialog
    assert isinstance(viewer, NoticeDialog)
    assert "José" in viewer.body.toPlainText() and jose in viewer.subject.text()
    click(qtbot, viewer.copy_button)
    assert QGuiApplication.clipboard().text().startswith(f"Subject: {viewer.subject.text()}")
    viewer.close()

    click(qtbot, notices.sent_button)
    sent = tab.active_dialog
    assert isinstance(sent, MarkSentDialog)
    sent.how.setCurrentText("first-class mail")
    click(qtbot, sent.ok_button)
    settle(qtbot, runner)
    assert closed(sent)
    assert column(notices.table, N.COL_STATUS)[0] == "Sent, awaiting reply"
    assert "(first-class mail)" in column(notices.table, N.COL_SENT)[0]
    click(qtbot, notices.ack_button)
    settle(qtbot, runner)
    assert column(notices.table, N.COL_STATUS)[0] == "Acknowledged"
    assert column(notices.table, N.COL_ANSWERED)[0].endswith("by alice")

    for row in range(1, count):
        select(notices.table, [row])
        click(qtbot, notices.not_notified_button)
        reason = tab.active_dialog
        assert isinstance(reason, StepInputDialog)
        click(qtbot, reason.ok_button)
        assert reason.isVisible() and "Why not is required." in reason.error_label.text()
        reason.reason.setPlainText("The recipient was wound up in 2024: no one to tell.")
        click(qtbot, reason.ok_button)
        settle(qtbot, runner)
        assert closed(reason)
    assert column(notices.table, N.COL_STATUS)[1:] == ["Not notified"] * (count - 1)
    assert tab.sections.tabText(3) == "Notices (0 open)"
    assert all(not notice.is_open for notice in alice.notices(jose))
    assert errors == []


def test_a_refusal_shows_its_message_and_keeps_what_was_typed(
        qtbot: QtBot, alice: Desk, jose: str, runner: TaskRunner,
        errors: list[BaseException]) -> None:
    tab = records_tab(qtbot, alice, runner, jose)
    search(qtbot, tab, runner)
    # Nothing confirmed yet: the desk refuses, the dialog says why and stays open.
    tab.sections.setCurrentWidget(tab.actions_panel)
    click(qtbot, tab.actions_panel.new_button)
    dialog = tab.active_dialog
    assert isinstance(dialog, NewActionDialog)
    click(qtbot, dialog.ok_button)
    settle(qtbot, runner)
    assert dialog.isVisible()
    assert "no confirmed record to act on" in dialog.error_label.text()
    # A correction José did not ask for: refused too, and the new value is still there.
    dialog.kind_buttons["correct"].setChecked(True)
    combo, value = dialog.correction_rows[0]
    combo.setCurrentIndex(combo.findData("email"))
    value.setText("jose.new@example.com")
    click(qtbot, dialog.ok_button)
    settle(qtbot, runner)
    assert dialog.isVisible()
    assert "does not ask for this" in dialog.error_label.text()
    assert value.text() == "jose.new@example.com" and dialog.kind() == "correct"
    assert errors == []  # shown in the dialog, not as a separate message
    dialog.reject()
    assert tab.actions_panel.model.rowCount() == 0


def test_a_refusal_without_a_dialog_is_shown_as_its_message(
        qtbot: QtBot, alice: Desk, bob: Desk, jose: str, runner: TaskRunner,
        errors: list[BaseException]) -> None:
    tab = records_tab(qtbot, alice, runner, jose)
    search(qtbot, tab, runner)
    confirm_strong_hits(qtbot, tab, runner)
    propose(qtbot, tab, runner).close()
    bobs = records_tab(qtbot, bob, runner, jose)
    action_id = bobs.actions_panel.current()
    assert action_id is not None
    alice.withdraw_action(jose, action_id.id, "Asked by phone to wait.")  # meanwhile
    bobs.sections.setCurrentWidget(bobs.actions_panel)
    click(qtbot, bobs.actions_panel.approve_button)
    settle(qtbot, runner)
    assert len(errors) == 1
    assert "is withdrawn: there is nothing to approve" in str(errors[0])
    assert column(bobs.actions_panel.table, A.COL_STATUS) == ["Withdrawn"]  # reloaded


# --- on the case page -----------------------------------------------------------------------


def test_the_case_page_has_the_records_tab_and_follows_its_changes(
        qtbot: QtBot, ui: Ui, demo: DemoCopy, memory_keyring: MemoryKeyring,
        tmp_path: Path) -> None:
    desk = ui.desk
    desk.use_sources(demo.config, demo.data_dir, secret=lambda _name: None)
    desk.add_user("bob", "supervisor", "Bob")
    bob = desk.as_user("bob")
    bob.use_sources(demo.config, demo.data_dir, secret=lambda _name: None)
    ref = in_progress(desk, open_planted_cases(desk)[0])
    executed_deletion(desk, bob, ref)
    open_case(ui, ref)
    page = ui.window.case_page
    tabs = [page.tabs.tabText(n) for n in range(page.tabs.count())]
    assert "Records" in tabs
    records = page.records
    assert records.ref == ref
    open_tasks = page.tasks.open_count()
    notices = records.notices_panel
    assert notices.model.rowCount() >= 1 and open_tasks >= notices.model.rowCount()

    # Ctrl+L: the Records tab, searching.
    ui.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is ui.window)
    page.tabs.setCurrentIndex(0)
    qtbot.keyClick(ui.window.case_list.table, Qt.Key.Key_L,
                   Qt.KeyboardModifier.ControlModifier)
    assert page.tabs.currentWidget() is records
    ui.settle()
    assert "by alice" in records.summary.text()

    # A notice answered: its task is done, and the case page shows it.
    records.sections.setCurrentWidget(notices)
    select(notices.table, [0])
    click(qtbot, notices.not_notified_button)
    dialog = records.active_dialog
    assert isinstance(dialog, StepInputDialog)
    dialog.reason.setPlainText("No contact known for this dealer.")
    ok(qtbot, dialog, ui)
    ui.settle()
    assert page.tasks.open_count() == open_tasks - 1
    assert page.tabs.tabText(page.tabs.indexOf(page.tasks)) == (
        f"Tasks ({open_tasks - 1})")
    assert ui.reports == []
