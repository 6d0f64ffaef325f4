"""Settings → Legal clocks: sources shown; only configurable clocks, only by an admin."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from caseapp.services import Desk
from tests.ui.conftest import Ui, open_window
from tests.ui.helpers import click
from ui.dialogs.legal_clocks import LegalClocksDialog
from ui.models.legal_clocks import LegalClockModel


def _open(ui: Ui) -> LegalClocksDialog:
    ui.window.legal_clocks_action.trigger()
    dialog = ui.window.active_dialog
    assert isinstance(dialog, LegalClocksDialog)
    ui.settle()
    return dialog


def _row(model: LegalClockModel, jurisdiction: str, request_type: str, clock: str) -> int:
    for row in range(model.rowCount()):
        item = model.setting(row)
        assert item is not None
        if (item.jurisdiction, item.request_type, item.clock) == (
                jurisdiction, request_type, clock):
            return row
    raise AssertionError(f"no clock {jurisdiction} {request_type} {clock}")


def test_model_passes_qt_model_tester(qtmodeltester: object, sqlite_desk: Desk) -> None:
    model = LegalClockModel()
    model.set_settings(sqlite_desk.legal_clocks())
    assert model.rowCount() > 20
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_admin_changes_a_configurable_clock(qtbot: QtBot, sqlite_desk: Desk,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ui = open_window(qtbot, sqlite_desk, monkeypatch)  # alice: first user, admin
    dialog = _open(ui)
    model = dialog.model
    fixed = _row(model, "CA", "", "respond")
    source = model.data(model.index(fixed, LegalClockModel.COL_SOURCE))
    assert source == "11 CCR §7021(b) — fixed by law"
    dialog.table.selectRow(fixed)
    assert not dialog.apply_button.isEnabled()
    assert "Fixed by law" in dialog.status.text()

    row = _row(model, "CA", "opt_out_sale_share", "respond")
    dialog.table.selectRow(row)
    assert dialog.apply_button.isEnabled()
    dialog.days.setValue(12)
    click(qtbot, dialog.apply_button)
    ui.settle()
    assert model.data(model.index(row, LegalClockModel.COL_LENGTH)) == "12 business days"
    assert "shipped: 15" in model.data(model.index(row, LegalClockModel.COL_CHANGED))
    assert "now 12" in dialog.status.text()
    assert sqlite_desk.rules.jurisdictions.policy("CA", "opt_out_sale_share").respond.days == 12

    dialog.table.selectRow(row)
    click(qtbot, dialog.reset_button)
    ui.settle()
    assert model.data(model.index(row, LegalClockModel.COL_LENGTH)) == "15 business days"


def test_an_agent_sees_the_clocks_but_cannot_change_them(
    qtbot: QtBot, sqlite_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_desk.add_user("carol", "agent")
    ui = open_window(qtbot, sqlite_desk.as_user("carol"), monkeypatch)
    ui.settle()
    dialog = _open(ui)
    row = _row(dialog.model, "CA", "opt_out_sale_share", "respond")
    dialog.table.selectRow(row)
    assert not dialog.apply_button.isEnabled()
    assert "Only an administrator" in dialog.status.text()
