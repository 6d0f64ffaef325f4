"""Settings → Customer systems: the systems of the sources file, checked in the background
(with Cancel), passwords into the keyring, and the file edited with its mistakes shown
on their line and nothing lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot

from caseapp.config import Paths
from caseapp.demo import demo_sources_text
from caseapp.records import connect
from caseapp.secrets import SERVICE
from caseapp.services import Desk, sources_admin
from caseapp.services.sources_admin import SystemCheck, validate_sources_text
from tests.keyring_fixtures import MemoryKeyring
from tests.records_fixtures import DemoCopy
from tests.test_sources_admin import dealer_crm, free_port, with_bad_category
from tests.ui.conftest import Ui, open_window
from tests.ui.helpers import click, closed
from ui.dialogs.sources_settings import SourcePasswordDialog, SourcesSettingsDialog
from ui.models.customer_systems import CustomerSystemsModel

M = CustomerSystemsModel


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    paths = Paths.for_user()
    paths.config_dir.mkdir(parents=True)
    return paths


@pytest.fixture
def sources_text(home: Paths, demo: DemoCopy) -> str:
    """The user's file: the demo systems and a dealer CRM that cannot be reached."""
    text = demo_sources_text(demo.data_dir) + dealer_crm(free_port())
    home.sources_file.write_text(text, encoding="utf-8")
    return text


@pytest.fixture
def sui(qtbot: QtBot, sqlite_desk: Desk, monkeypatch: pytest.MonkeyPatch,
        home: Paths) -> Iterator[Ui]:
    opened = open_window(qtbot, sqlite_desk, monkeypatch)
    yield opened
    opened.window.shutdown()


@pytest.fixture
def held_check(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The first system's check waits until the test sets the event (a slow server)."""
    release = threading.Event()
    real = connect.check_source

    def slow(*args: object, **kwargs: object) -> connect.SourceStatus:
        release.wait(20)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sources_admin, "check_source", slow)
    yield release
    release.set()


def _open(ui: Ui) -> SourcesSettingsDialog:
    ui.window.customer_systems_action.trigger()
    dialog = ui.window.active_dialog
    assert isinstance(dialog, SourcesSettingsDialog) and dialog.isVisible()
    ui.settle()
    return dialog


def _cell(dialog: SourcesSettingsDialog, name: str, column: int) -> str:
    model = dialog.model
    for row in range(model.rowCount()):
        if model.data(model.index(row, M.COL_NAME)) == name:
            return str(model.data(model.index(row, column)))
    raise AssertionError(f"no system {name}")


def _select(dialog: SourcesSettingsDialog, name: str) -> None:
    for row in range(dialog.model.rowCount()):
        system = dialog.model.system(row)
        if system is not None and system.name == name:
            dialog.table.selectRow(row)
            return
    raise AssertionError(f"no system {name}")


def test_model_passes_qt_model_tester(qtmodeltester: object, tmp_path: Path) -> None:
    text = demo_sources_text(tmp_path) + dealer_crm(5432)
    model = M()
    model.set_systems(validate_sources_text(text, tmp_path / "sources.toml",
                                            secret=lambda _name: None))
    model.set_checks((SystemCheck("customer_db", "Customer database", "ok"),
                      SystemCheck("dealer_crm", "Dealer CRM", "unreachable",
                                  ("cannot be reached (connection refused)",))))
    assert model.rowCount() == 3
    assert model.data(model.index(2, M.COL_REACHABLE)) == (
        "NO: cannot be reached (connection refused)")
    assert model.data(model.index(2, M.COL_PASSWORD)) == "NOT stored"
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_the_systems_are_checked_in_the_background(
        qtbot: QtBot, sui: Ui, sources_text: str, memory_keyring: MemoryKeyring,
        held_check: threading.Event) -> None:
    dialog = _open(sui)
    assert dialog.windowTitle() == "Customer systems"
    assert dialog.model.rowCount() == 3
    assert _cell(dialog, "customer_db", M.COL_WHERE).startswith("sqlite:///")
    assert _cell(dialog, "customer_db", M.COL_TABLES) == "9"
    assert _cell(dialog, "call_recordings", M.COL_KIND) == "by hand"
    assert _cell(dialog, "dealer_crm", M.COL_PASSWORD) == "NOT stored"
    assert _cell(dialog, "dealer_crm", M.COL_REACHABLE) == "not checked"

    click(qtbot, dialog.check_button)
    assert not dialog.check_button.isEnabled()
    assert _cell(dialog, "customer_db", M.COL_REACHABLE) == "checking…"
    # The check waits on the first system; the status line shows it with Cancel, and
    # the dialog still answers: typing goes on meanwhile.
    qtbot.waitUntil(dialog.task_status.isVisible, timeout=5000)
    assert "Checking the customer systems" in dialog.task_status.label.text()
    assert dialog.task_status.cancel_button.isVisible()
    dialog.tabs.setCurrentIndex(1)
    qtbot.keyClicks(dialog.editor, "# typed while checking")
    qtbot.keyClick(dialog.editor, Qt.Key.Key_Return)
    assert "# typed while checking" in dialog.editor.toPlainText()

    held_check.set()
    sui.settle()
    assert _cell(dialog, "customer_db", M.COL_REACHABLE) == "yes"
    assert _cell(dialog, "call_recordings", M.COL_REACHABLE) == "— (by hand)"
    assert _cell(dialog, "dealer_crm", M.COL_REACHABLE).startswith(
        "NO: cannot be reached (")
    assert dialog.status.text().startswith("Cannot be searched now: Dealer CRM.")
    _select(dialog, "dealer_crm")  # the whole reason, not cut to fit a cell
    details = dialog.details.text().splitlines()
    assert details[0].startswith("Dealer CRM (dealer_crm, line ")
    assert details[1].startswith("Where: postgresql+psycopg://crm_reader@127.0.0.1:")
    assert details[2] == "Password: NOT stored in the keyring as source:dealer_crm"
    assert details[3].startswith("Check: NOT reachable: cannot be reached (")
    assert dialog.check_button.isEnabled()
    assert not dialog.task_status.isVisible()
    assert sui.reports == []


def test_a_check_can_be_cancelled(qtbot: QtBot, sui: Ui, sources_text: str,
                                  memory_keyring: MemoryKeyring,
                                  held_check: threading.Event) -> None:
    dialog = _open(sui)
    click(qtbot, dialog.check_button)
    qtbot.waitUntil(dialog.task_status.isVisible, timeout=5000)
    click(qtbot, dialog.task_status.cancel_button)
    assert "(cancelling…)" in dialog.task_status.label.text()
    held_check.set()
    sui.settle()
    assert dialog.status.text() == "Check cancelled."
    assert _cell(dialog, "customer_db", M.COL_REACHABLE) == "not checked"
    assert dialog.check_button.isEnabled()


def test_bad_text_is_refused_on_its_line_and_kept(
        qtbot: QtBot, sui: Ui, home: Paths, sources_text: str,
        memory_keyring: MemoryKeyring) -> None:
    dialog = _open(sui)
    dialog.tabs.setCurrentIndex(1)
    assert dialog.editor.toPlainText() == sources_text
    bad, line = with_bad_category(sources_text)
    # Typed: an "s" after the first category's name, which makes it unknown.
    cursor = dialog.editor.textCursor()
    cursor.setPosition(sources_text.index('category = "customer_profile') +
                       len('category = "customer_profile'))
    dialog.editor.setTextCursor(cursor)
    qtbot.keyClicks(dialog.editor, "s")
    assert dialog.editor.toPlainText() == bad
    dialog.editor.moveCursor(dialog.editor.textCursor().MoveOperation.End)

    click(qtbot, dialog.validate_button)  # Check: not saved either way
    sui.settle()
    assert dialog.problem.isVisible()
    assert dialog.problem.text().startswith(f"Line {line}: ")
    assert "customer_profiles" in dialog.problem.text()
    assert dialog.editor.textCursor().blockNumber() + 1 == line
    assert dialog.position.text().startswith(f"Line {line}, ")

    dialog.editor.moveCursor(dialog.editor.textCursor().MoveOperation.Start)
    qtbot.keyClick(dialog.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    sui.settle()
    assert dialog.problem.text() == (
        f"Line {line}: {dialog.problem.text().split(': ', 1)[1]}")
    assert dialog.problem.text().endswith("Nothing was saved.")
    assert dialog.editor.textCursor().blockNumber() + 1 == line
    assert dialog.editor.toPlainText() == bad  # nothing typed is lost
    assert home.sources_file.read_text(encoding="utf-8") == sources_text
    assert not home.sources_file.with_name("sources.toml.bak").exists()
    assert sui.reports == []

    # Closing now would lose the typing: asked first, and Cancel keeps the dialog.
    dialog.reject()
    box = dialog.findChild(QMessageBox)
    assert box is not None and box.isVisible()
    assert "not saved" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert dialog.isVisible()


def test_good_text_is_saved_and_used_by_the_next_lookup(
        qtbot: QtBot, sui: Ui, home: Paths, sources_text: str,
        memory_keyring: MemoryKeyring) -> None:
    dialog = _open(sui)
    dialog.tabs.setCurrentIndex(1)
    dialog.editor.setPlainText(sources_text.replace('label = "Dealer CRM"',
                                                    'label = "Dealer CRM (West)"'))
    click(qtbot, dialog.validate_button)
    sui.settle()
    assert dialog.problem.text() == "The text is valid: 3 systems. Save to use it."
    assert home.sources_file.read_text(encoding="utf-8") == sources_text  # only checked

    click(qtbot, dialog.save_button)
    sui.settle()
    assert "Dealer CRM (West)" in home.sources_file.read_text(encoding="utf-8")
    backup = home.sources_file.with_name("sources.toml.bak")
    assert backup.read_text(encoding="utf-8") == sources_text
    assert dialog.problem.text() == ("Saved: 3 systems; the previous file is kept as "
                                     "sources.toml.bak. The next lookup uses it.")
    assert _cell(dialog, "dealer_crm", M.COL_LABEL) == "Dealer CRM (West)"
    systems = sui.desk.record_systems_if_set  # the window switched the desk to it
    assert systems is not None
    assert systems.config.source("dealer_crm").label == "Dealer CRM (West)"
    assert systems.data_dir == home.data_dir
    dialog.reject()  # saved: closes without a question
    assert closed(dialog)
    assert sui.reports == []


def test_without_a_file_the_example_is_offered_and_saved(
        qtbot: QtBot, sui: Ui, home: Paths, memory_keyring: MemoryKeyring) -> None:
    dialog = _open(sui)
    assert dialog.model.rowCount() == 0
    assert dialog.systems_note.text().startswith("There is no sources file yet")
    assert not dialog.check_button.isEnabled()
    assert "[sources.customer_db]" in dialog.editor.toPlainText()
    dialog.tabs.setCurrentIndex(1)
    qtbot.keyClick(dialog.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    sui.settle()
    assert home.sources_file.is_file()
    assert dialog.problem.text() == "Saved: 2 systems. The next lookup uses it."
    assert dialog.model.rowCount() == 2 and dialog.check_button.isEnabled()


def test_a_file_that_does_not_load_is_shown_on_its_line(
        qtbot: QtBot, sui: Ui, home: Paths, demo: DemoCopy,
        memory_keyring: MemoryKeyring) -> None:
    bad, line = with_bad_category(demo_sources_text(demo.data_dir))
    home.sources_file.write_text(bad, encoding="utf-8")
    dialog = _open(sui)
    assert dialog.model.rowCount() == 0
    assert dialog.systems_note.text().startswith(
        f"The sources file does not load, so lookups cannot use it: Line {line}: ")
    assert not dialog.check_button.isEnabled()
    assert dialog.problem.text().startswith(f"Line {line}: ")
    assert dialog.editor.textCursor().blockNumber() + 1 == line
    assert dialog.editor.toPlainText() == bad
    assert sui.reports == []


def _password_dialog(qtbot: QtBot, dialog: SourcesSettingsDialog) -> SourcePasswordDialog:
    _select(dialog, "dealer_crm")
    click(qtbot, dialog.password_button)
    opened = dialog.password_dialog
    assert isinstance(opened, SourcePasswordDialog) and opened.isVisible()
    return opened


def test_a_password_goes_into_the_keyring(qtbot: QtBot, sui: Ui, home: Paths,
                                          sources_text: str,
                                          memory_keyring: MemoryKeyring) -> None:
    dialog = _open(sui)
    _select(dialog, "customer_db")  # SQLite: no user, no password
    assert not dialog.password_button.isEnabled()
    assert "names no user" in dialog.password_button.toolTip()
    _select(dialog, "call_recordings")
    assert not dialog.password_button.isEnabled()

    entry = _password_dialog(qtbot, dialog)
    assert entry.password.echoMode() == QLineEdit.EchoMode.Password
    assert any("source:dealer_crm" in label.text() for label in entry.findChildren(QLabel))
    assert not entry.ok_button.isEnabled()
    qtbot.keyClicks(entry.password, "Tr0ub4dor&3")
    click(qtbot, entry.ok_button)
    sui.settle()
    assert closed(entry)
    assert memory_keyring.items == {(SERVICE, "source:dealer_crm"): "Tr0ub4dor&3"}
    assert _cell(dialog, "dealer_crm", M.COL_PASSWORD) == "stored"
    assert dialog.status.text() == "The password of Dealer CRM is stored in the keyring."
    assert "Tr0ub4dor" not in home.sources_file.read_text(encoding="utf-8")


def test_a_plaintext_keyring_is_refused_in_the_dialog(
        qtbot: QtBot, sui: Ui, sources_text: str, plaintext_keyring: object,
        tmp_path: Path) -> None:
    dialog = _open(sui)
    assert _cell(dialog, "dealer_crm", M.COL_PASSWORD) == "keyring unavailable"
    entry = _password_dialog(qtbot, dialog)
    qtbot.keyClicks(entry.password, "Tr0ub4dor&3")
    click(qtbot, entry.ok_button)
    sui.settle()
    assert entry.isVisible()
    assert entry.error_label.isVisible()
    assert entry.error_label.text().startswith(
        "The password was not stored. No secure keyring is available")
    assert entry.password.text() == "Tr0ub4dor&3"  # kept to try again
    assert entry.ok_button.isEnabled()
    keyring_file = tmp_path / "keyring_pass.cfg"
    assert not keyring_file.exists() or "Tr0ub4dor" not in keyring_file.read_text()
    assert sui.reports == []
