"""Shared workstations in the window: who is working on a case, changes made elsewhere,
a stale edit merged, and Settings → Database…"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex
from pytestqt.qtbot import QtBot

from caseapp.config import load_settings
from caseapp.services.database_admin import password_secret_name
from tests.keyring_fixtures import MemoryKeyring
from tests.ui.conftest import Ui, new_case
from tests.ui.helpers import M, click, closed, list_cell, ok, open_case
from ui.dialogs.database_settings import DatabaseSettingsDialog
from ui.dialogs.edit_request import EditRequestDialog
from ui.dialogs.merge_edit import MergeEditDialog
from ui.models import case_table
from ui.pages.case_page import renew_interval_ms

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_banner_says_who_works_on_the_case_and_claims_releases(qtbot: QtBot,
                                                                    ui: Ui) -> None:
    ui.desk.add_user("carol", "agent", "Carol Agent")
    carol = ui.desk.as_user("carol")
    first = new_case(ui.desk, "Dana Whitfield").case.ref
    second = new_case(ui.desk, "Evan Moss").case.ref
    carol.claim_case(first)
    open_case(ui, first)
    banner = ui.window.case_page.claim_banner
    assert banner.state == "held"
    assert "Held by carol since 10:00" in banner.text.text()
    assert banner.take_over_button.isVisibleTo(banner)  # alice is an administrator
    assert not banner.claim_button.isVisibleTo(banner)
    DOCS.mkdir(exist_ok=True)
    ui.window.case_page.grab().save(str(DOCS / "claim_banner.png"))
    click(qtbot, banner.take_over_button)
    ui.settle()
    assert banner.state == "mine" and "You are working on this case" in banner.text.text()
    assert carol.get_case(first).claim.holder == "alice"  # type: ignore[union-attr]
    # Opening another case lets the first one go.
    open_case(ui, second)
    ui.settle()
    assert carol.get_case(first).claim is None
    assert ui.window.case_page.claim_banner.state == "free"
    click(qtbot, ui.window.case_page.claim_banner.claim_button)
    ui.settle()
    assert carol.get_case(second).claim.holder == "alice"  # type: ignore[union-attr]
    # The window's timer renews the lease while the case is open.
    ui.desk.set_clock(ui.desk.clock.advanced(timedelta(minutes=10)))
    ui.window.case_page.renew_claim()
    ui.settle()
    claim = carol.get_case(second).claim
    assert claim is not None and claim.until == ui.desk.clock.now() + timedelta(minutes=15)
    assert renew_interval_ms(timedelta(minutes=15)) == 5 * 60 * 1000
    # Closing the window releases it.
    ui.window.shutdown()
    assert carol.get_case(second).claim is None
    assert ui.reports == []


def test_a_case_made_at_another_workstation_appears_without_a_refresh(ui: Ui,
                                                                       qtbot: QtBot) -> None:
    ui.desk.add_user("carol", "agent")
    elsewhere = ui.desk.as_user("carol")
    assert ui.window.model.rowCount() == 0
    ref = new_case(elsewhere, "Made Elsewhere").case.ref
    qtbot.waitUntil(lambda: ui.window.model.rowCount() == 1, timeout=8000)
    ui.settle()
    open_case(ui, ref)
    elsewhere.update_case(ref, None, priority="high")
    qtbot.waitUntil(lambda: ui.window.case_page.header.priority.text() == "HIGH",
                    timeout=8000)
    ui.settle()
    assert ui.reports == []


def test_changes_heard_keep_a_list_scrolled_past_its_first_page(
        ui: Ui, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change heard does not bring a list the user scrolled down back to its top (nor
    load again what was scrolled through): the changed rows are refreshed in place."""
    page = 40  # more rows than the list shows: the view asks for no page by itself
    monkeypatch.setattr(case_table, "PAGE_SIZE", page)
    ui.desk.add_user("carol", "agent")
    elsewhere = ui.desk.as_user("carol")
    for number in range(2 * page + 5):
        new_case(ui.desk, f"Person {number:03d}")
    model = ui.window.model
    qtbot.waitUntil(lambda: model.rowCount() == page and not model.is_loading,
                    timeout=15_000)  # heard: the list (one page) was loaded again
    ui.settle()
    model.fetchMore(QModelIndex())  # the user scrolls down: the second page
    ui.settle()
    assert model.rowCount() == 2 * page
    listed = [model.row(n).ref for n in range(2 * page)]
    chosen = listed[page + 5]  # on the second page
    assert ui.window.case_list.select_ref(chosen)
    ui.settle()
    changed = listed[page + 1]
    elsewhere.assign(changed, "carol")
    qtbot.waitUntil(lambda: list_cell(ui, changed, M.COL_ASSIGNEE) == "carol",
                    timeout=15_000)
    ui.settle()
    # Nothing dropped or loaded again, the place kept; the third page when scrolled to.
    assert [model.row(n).ref for n in range(model.rowCount())] == listed
    assert ui.window.case_list.current_ref() == chosen
    assert not model.is_loading and model.canFetchMore(QModelIndex())
    assert ui.reports == []


def test_a_stale_edit_shows_theirs_and_applies_mine_on_top(qtbot: QtBot, ui: Ui) -> None:
    ui.desk.add_user("carol", "agent")
    carol = ui.desk.as_user("carol")
    ref = new_case(ui.desk, types=("delete",)).case.ref
    open_case(ui, ref)
    click(qtbot, ui.window.case_page.edit_request_button)
    dialog = ui.window.case_page.active_dialog
    assert isinstance(dialog, EditRequestDialog)
    # Carol saves first: priority high, and a summary of hers.
    carol.update_case(ref, None, priority="high", summary="Carol: dealer called")
    time.sleep(0.1)
    form = dialog.request
    form.priority.setCurrentIndex(form.priority.findData("low"))
    form.language.setCurrentIndex(form.language.findData("es"))
    ok(qtbot, dialog, ui)
    merge = dialog.merge_dialog
    assert isinstance(merge, MergeEditDialog) and merge.isVisible()
    assert "carol" in merge.windowTitle()
    names = {row.name: row for row in merge.rows}
    assert set(names) == {"priority", "language", "summary"}
    assert names["summary"].mine is None  # only she changed it: kept as hers
    assert not merge.checks["priority"].isChecked()  # both changed it: theirs by default
    assert merge.checks["language"].isChecked()  # only I changed it
    merge.grab().save(str(DOCS / "merge_edit.png"))
    merge.accept()
    ui.settle()
    assert closed(dialog)
    case = ui.desk.get_case(ref)
    assert case.priority == "high" and case.summary == "Carol: dealer called"
    assert case.language == "es"  # mine, on top of hers
    assert ui.reports == []


def test_keep_theirs_saves_nothing_of_mine(qtbot: QtBot, ui: Ui) -> None:
    ui.desk.add_user("carol", "agent")
    ref = new_case(ui.desk).case.ref
    open_case(ui, ref)
    click(qtbot, ui.window.case_page.edit_request_button)
    dialog = ui.window.case_page.active_dialog
    assert isinstance(dialog, EditRequestDialog)
    ui.desk.as_user("carol").update_case(ref, None, priority="high")
    dialog.request.priority.setCurrentIndex(dialog.request.priority.findData("low"))
    ok(qtbot, dialog, ui)
    assert dialog.merge_dialog is not None
    dialog.merge_dialog.reject()
    ui.settle()
    assert closed(dialog)
    assert ui.desk.get_case(ref).priority == "high"


def test_database_settings_test_the_connection_and_keep_the_password_out_of_the_file(
        memory_keyring: MemoryKeyring, qtbot: QtBot, ui: Ui, tmp_path: Path) -> None:
    # (The keyring first: the desk's own file keeps its key there.)
    config = tmp_path / "settings.toml"
    config.write_text("")
    dialog = DatabaseSettingsDialog(ui.window.runner, config, ui.window)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.local.isChecked() and not dialog.server_box.isEnabled()
    # The desk's own SQLite file is tested in the background.
    dialog.file_edit.setText(ui.desk.db.url.removeprefix("sqlite:///"))
    click(qtbot, dialog.test_button)
    ui.settle()
    assert dialog.last_check is not None and dialog.last_check.ok
    assert "SQLite" in dialog.result_label.text() and "ready" in dialog.result_label.text()
    # A shared server: a wrong port is said plainly.
    dialog.shared.setChecked(True)
    dialog.host_edit.setText("127.0.0.1")
    dialog.port_edit.setValue(1)
    dialog.database_edit.setText("privacy_desk")
    dialog.user_edit.setText("ws1")
    dialog.password_edit.setText("s3cret pass")
    dialog.ca_edit.setText("/etc/caseapp/desk-ca.pem")
    click(qtbot, dialog.test_button)
    ui.settle()
    assert dialog.last_check is not None and not dialog.last_check.ok
    said = dialog.result_label.text()
    assert said.startswith("Cannot use postgresql+psycopg://ws1:***@127.0.0.1:1/privacy_desk")
    assert "Connection refused" in said and "s3cret" not in said
    dialog.port_edit.setValue(5432)
    dialog.host_edit.setText("db.example.internal")
    click(qtbot, dialog.test_button)  # the check names where it failed, in red
    ui.settle()
    dialog.file_edit.clear()
    dialog.adjustSize()
    dialog.grab().save(str(DOCS / "database_settings.png"))
    click(qtbot, dialog.buttons.button(dialog.buttons.StandardButton.Save))
    ui.settle()  # the server cannot be reached from here: saved only when asked again
    assert dialog.result_label.text().startswith("Not saved. Cannot use ")
    click(qtbot, dialog.save_anyway_button)
    ui.settle()
    click(qtbot, dialog.buttons.button(dialog.buttons.StandardButton.Cancel))  # Later
    assert closed(dialog)
    text = config.read_text()
    assert "s3cret" not in text
    saved = load_settings(config)
    assert saved.database_url == "postgresql+psycopg://ws1@db.example.internal/privacy_desk"
    assert saved.database.sslrootcert == "/etc/caseapp/desk-ca.pem"
    assert memory_keyring.get_password(
        "caseapp", password_secret_name(saved.database_url)) == "s3cret pass"


def test_while_this_window_imports_changes_heard_wait_a_few_seconds(
        ui: Ui, qtbot: QtBot) -> None:
    """An import commits a batch every moment and reloads the list when it ends: what is
    heard meanwhile is applied every few seconds, not each time (each reload competes
    with the import: the window would stall)."""
    from ui.main_window import CHANGE_DELAY_MS, IMPORTING_DELAY_MS

    ui.desk.add_user("carol", "agent")
    elsewhere = ui.desk.as_user("carol")
    window = ui.window
    window.import_task = window.runner.run(lambda _p: None, label="an import",
                                           on_done=lambda _r: None)  # one running
    new_case(elsewhere, "Heard During Import")
    timer = window._change_timer
    qtbot.waitUntil(lambda: timer.isActive() and timer.interval() == IMPORTING_DELAY_MS,
                    timeout=8000)
    assert window.model.rowCount() == 0  # not reloaded while importing
    ui.settle()
    window.import_task = None  # the import ended (its own refresh aside)
    timer.timeout.emit()  # the few seconds are up
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=8000)
    assert timer.interval() == CHANGE_DELAY_MS  # back to showing changes at once
    ui.settle()
    assert ui.reports == []
