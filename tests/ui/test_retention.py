"""Settings → Retention…: the preview of the cases due, "Purge now" for an administrator
(asked first, in the background with progress), and the daily purge of the window."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from caseapp.clock import Clock
from caseapp.config import Paths, RetentionSettings, Settings
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData, StepRequest
from caseapp.services.retention import PurgeCandidate, PurgeCounts
from tests.conftest import FIXED_NOW
from tests.ui.conftest import Ui, open_window
from tests.ui.helpers import click
from ui.dialogs.confirm import yes_button
from ui.dialogs.retention import RetentionDialog
from ui.models.retention import PurgePreviewModel
from ui.settings_store import SettingsStore

SCREENSHOT = os.environ.get("CASEAPP_SCREENSHOT_DIR")


def closed_cases(desk: Desk) -> list[str]:
    """Three cases closed on 2024-01-10 (due on the tests' day, 2026-03-04) and one closed
    on that day (not due)."""
    desk.set_clock(Clock(fixed=datetime(2024, 1, 10, 15)))
    refs = []
    for name, step, reason in (("Araminta Old", "withdraw", "Withdrawn by phone"),
                               ("Barnaby Old", "deny", "Not a consumer"),
                               ("Clementine Old", "withdraw", "Withdrawn by letter")):
        ref = desk.create_case(NewCase(channel="phone", request_types=("delete",),
                                       requester=PartyData(name=name, state="CA",
                                                           email="old@example.org"))).case.ref
        desk.add_note(ref, f"{name} called")
        desk.take_step(ref, StepRequest(step, reason=reason))
        refs.append(ref)
    desk.set_clock(Clock(fixed=FIXED_NOW))
    recent = desk.create_case(NewCase(channel="phone", request_types=("access",),
                                      requester=PartyData(name="Recent", state="CA"))).case.ref
    desk.take_step(recent, StepRequest("withdraw", reason="Withdrawn"))
    return refs


def test_model_passes_qt_model_tester(qtmodeltester: object) -> None:
    model = PurgePreviewModel()
    model.set_cases((
        PurgeCandidate("PR-2024-00001", "closed", "Closed", date(2024, 1, 10),
                       date(2026, 1, 10), PurgeCounts(parties=1, messages=3, documents=2)),
        PurgeCandidate("PR-2024-00002", "denied", "Denied", date(2024, 1, 11),
                       date(2026, 1, 11), PurgeCounts()),
    ))
    assert model.data(model.index(0, PurgePreviewModel.COL_WHAT)) == (
        "1 party, 3 messages, 2 documents")
    assert model.data(model.index(1, PurgePreviewModel.COL_WHAT)) == "nothing personal left"
    assert model.data(model.index(0, PurgePreviewModel.COL_KEPT)) == "2026-01-10"
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def _dialog(ui: Ui) -> RetentionDialog:
    settings_menu = next(a.menu() for a in ui.window.menuBar().actions()
                         if a.text() == "&Settings")
    assert ui.window.retention.action in settings_menu.actions()  # type: ignore[union-attr]
    ui.window.retention.action.trigger()
    dialog = ui.window.retention.dialog
    assert isinstance(dialog, RetentionDialog) and dialog.isVisible()
    ui.settle()
    return dialog


def test_an_administrator_previews_and_purges(qtbot: QtBot, sqlite_desk: Desk,
                                              monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    refs = closed_cases(sqlite_desk)
    ui = open_window(qtbot, sqlite_desk, monkeypatch)
    dialog = _dialog(ui)
    assert dialog.model.rowCount() == 3
    assert [dialog.model.data(dialog.model.index(row, 0)) for row in range(3)] == refs
    assert "3 cases closed before 2024-03-04 are due" in dialog.summary.text()
    assert dialog.purge_button.isEnabled()
    if SCREENSHOT:
        dialog.resize(900, 520)
        dialog.grab().save(str(Path(SCREENSHOT) / "retention_dialog.png"))

    emitted: list[object] = []
    dialog.purged.connect(emitted.append)
    click(qtbot, dialog.purge_button)
    [box] = [b for b in dialog.findChildren(QMessageBox) if b.isVisible()]
    assert "cannot be undone" in box.text()
    click(qtbot, yes_button(box))
    assert dialog.busy()
    ui.settle()
    assert not dialog.busy() and not dialog.progress_box.isVisible()
    assert dialog.status.text().startswith("Purged the personal information of 3 cases")
    assert len(emitted) == 1
    assert dialog.model.rowCount() == 0
    assert "Nothing is due" in dialog.summary.text()
    assert not dialog.purge_button.isEnabled()
    assert sqlite_desk.get_case(refs[0]).requester.name == ""
    assert sqlite_desk.verify_audit().ok
    if SCREENSHOT:
        dialog.grab().save(str(Path(SCREENSHOT) / "retention_dialog_done.png"))
    # A purged case still opens (its outline, the purge note, its history).
    ui.window.case_page.show_ref(refs[1])
    ui.settle()
    assert ui.window.case_page.showing(refs[1])
    if SCREENSHOT:
        ui.window.grab().save(str(Path(SCREENSHOT) / "purged_case.png"))
    assert ui.reports == []


def test_cancel_in_the_question_purges_nothing(qtbot: QtBot, sqlite_desk: Desk,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    refs = closed_cases(sqlite_desk)
    ui = open_window(qtbot, sqlite_desk, monkeypatch)
    dialog = _dialog(ui)
    click(qtbot, dialog.purge_button)
    [box] = [b for b in dialog.findChildren(QMessageBox) if b.isVisible()]
    box.button(QMessageBox.StandardButton.Cancel).click()
    ui.settle()
    assert not dialog.busy() and dialog.model.rowCount() == 3
    assert sqlite_desk.get_case(refs[0]).requester.name == "Araminta Old"


def test_only_an_administrator_may_open_it(qtbot: QtBot, sqlite_desk: Desk,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite_desk.add_user("carol", "agent")
    ui = open_window(qtbot, sqlite_desk.as_user("carol"), monkeypatch)
    settings_menu = next(a.menu() for a in ui.window.menuBar().actions()
                         if a.text() == "&Settings")
    settings_menu.aboutToShow.emit()  # type: ignore[union-attr]
    assert not ui.window.retention.action.isEnabled()


def test_a_supervisor_sees_the_preview_but_cannot_purge(qtbot: QtBot, sqlite_desk: Desk,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    closed_cases(sqlite_desk)
    sqlite_desk.add_user("bob", "supervisor")
    ui = open_window(qtbot, sqlite_desk.as_user("bob"), monkeypatch)
    dialog = RetentionDialog(ui.desk, ui.window.runner, False, "", ui.window)
    qtbot.addWidget(dialog)
    ui.settle()
    assert dialog.model.rowCount() == 3
    assert not dialog.purge_button.isEnabled()
    assert "administrator" in dialog.purge_button.toolTip()


def _store(tmp_path: Path, purge: str) -> SettingsStore:
    settings = Settings(paths=Paths(tmp_path / "data", tmp_path / "config"),
                        retention=RetentionSettings(purge=purge))  # type: ignore[arg-type]
    return SettingsStore(settings, tmp_path / "config" / "settings.toml")


def test_the_daily_purge_runs_quietly_for_an_administrator(
        qtbot: QtBot, sqlite_desk: Desk, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    refs = closed_cases(sqlite_desk)
    ui = open_window(qtbot, sqlite_desk, monkeypatch)
    retention = ui.window.retention
    assert not retention.timer.isActive()  # no settings handed over: no schedule
    retention.use_settings(_store(tmp_path, "off"))
    assert not retention.timer.isActive()
    retention.use_settings(_store(tmp_path, "daily"))
    assert retention.timer.isActive()
    assert retention.timer.interval() == retention.FIRST_RUN_MS

    retention.run_scheduled()
    assert retention.timer.interval() == retention.DAY_MS
    ui.settle()
    assert retention.last_outcome is not None and len(retention.last_outcome.purged) == 3
    assert "purged the personal information of 3 cases" in (
        ui.window.statusBar().currentMessage())
    assert sqlite_desk.get_case(refs[1]).requester.name == ""
    assert ui.reports == []
    retention.run_scheduled()  # nothing left: nothing said
    ui.settle()
    assert retention.last_outcome is not None and retention.last_outcome.purged == ()


def test_the_daily_purge_does_nothing_for_others(qtbot: QtBot, sqlite_desk: Desk,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    refs = closed_cases(sqlite_desk)
    sqlite_desk.add_user("carol", "agent")
    ui = open_window(qtbot, sqlite_desk.as_user("carol"), monkeypatch)
    retention = ui.window.retention
    retention.use_settings(_store(tmp_path, "daily"))
    retention.run_scheduled()
    ui.settle()
    assert not retention.timer.isActive()  # never again in this window
    assert sqlite_desk.get_case(refs[0]).requester.name == "Araminta Old"
    assert ui.reports == []
