"""Importing mail from the window: the menu, drag and drop, progress, cancel, results."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from caseapp.intake.sources import SourceItem
from caseapp.services.dto import IntakeResult
from tests import mailmaker
from tests.ui.conftest import Ui
from ui import mail_import
from ui.dialogs.import_results import ImportResultsDialog
from ui.mail_import import count_items, split_droppable
from ui.models.intake import ImportResultsModel


def _request(number: int, name: str = "Ana Ruiz") -> bytes:
    first = name.split()[0].lower()
    return mailmaker.mail(
        subject=f"Please delete my data ({number})",
        sender=f"{name} <{first}{number}@example.com>",
        message_id=f"<req{number}@example.com>",
        body=f"Hello,\n\nI live in California, ZIP 94110. Please delete all my personal "
             f"information.\n\nThank you,\n{name}\n")


def _mail_files(folder: Path) -> tuple[Path, Path]:
    """A single request as .eml, and an mbox with a second request and a bounce of the
    first (which threads into its case)."""
    first = _request(1)
    eml = folder / "request.eml"
    eml.write_bytes(first)
    box = folder / "privacy.mbox"
    box.write_bytes(mailmaker.mbox(_request(2, "Ben Okafor"), mailmaker.bounce(first)))
    return eml, box


def _results_dialog(ui: Ui) -> ImportResultsDialog:
    dialog = ui.window.active_dialog
    assert isinstance(dialog, ImportResultsDialog) and dialog.isVisible()
    return dialog


def _outcomes(dialog: ImportResultsDialog) -> list[tuple[str, str]]:
    rows = (dialog.result_at(row) for row in range(dialog.proxy.rowCount()))
    return [(r.outcome, r.label.rsplit("/", 1)[-1]) for r in rows if r is not None]


def test_import_from_the_menu_shows_results_and_opens_the_case(
        qtbot: QtBot, mail_ui: Ui, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ui = mail_ui
    window = ui.window
    eml, box = _mail_files(tmp_path)
    assert count_items([eml, box]) == 3  # counted without parsing
    monkeypatch.setattr(mail_import, "choose_mail_files", lambda _parent: [eml, box])
    assert window.import_action.shortcut() == QKeySequence("Ctrl+I")
    assert window.import_action in window.menuBar().actions()[0].menu().actions()
    window.import_action.trigger()
    ui.settle()

    dialog = _results_dialog(ui)
    assert _outcomes(dialog) == [("created", "request.eml"), ("created", "privacy.mbox #1"),
                                 ("threaded", "privacy.mbox #2")]
    assert dialog.summary.text() == "3 items: 2 new cases, 1 added to a case."
    assert window.statusBar().currentMessage() == dialog.summary.text()
    # The list and the counts follow: both new cases wait for review.
    assert window.nav.count_of("to_review") == 2
    assert window.nav.count_of("open") == 2
    assert window.model.rowCount() == 2

    bounce = dialog.result_at(2)
    assert bounce is not None
    dialog.activate(dialog.proxy.index(1, ImportResultsModel.COL_DETAIL))
    ui.settle()
    second = dialog.result_at(1)
    assert second is not None
    assert window.case_page.header.ref.text() == second.case_ref
    assert window.case_list.current_ref() == second.case_ref
    # Enter on the bounce's row opens the case it threaded into.
    dialog.table.setCurrentIndex(dialog.proxy.index(2, 0))
    qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    ui.settle()
    assert window.case_page.header.ref.text() == bounce.case_ref


def _drag(window: object, paths: list[Path]) -> tuple[QDragEnterEvent, QMimeData]:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDragEnterEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)  # type: ignore[arg-type]
    return event, mime


def test_dropping_mail_files_imports_them(mail_ui: Ui, tmp_path: Path) -> None:
    ui = mail_ui
    window = ui.window
    eml, box = _mail_files(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("not mail")
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "third.eml").write_bytes(_request(3, "Cy Lee"))

    enter, mime = _drag(window, [eml, box, folder, notes])
    assert enter.isAccepted()
    assert window.drop_overlay.isVisible()  # the highlight
    assert "not mail" in window.statusBar().currentMessage()
    drop = QDropEvent(window.rect().center().toPointF(), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    assert drop.isAccepted()
    assert not window.drop_overlay.isVisible()
    assert "left out 1 file that are not mail: notes.txt" in window.statusBar().currentMessage()
    ui.settle()
    dialog = _results_dialog(ui)
    assert [o for o, _label in _outcomes(dialog)] == ["created", "created", "threaded",
                                                      "created"]
    assert window.nav.count_of("to_review") == 3


def test_other_files_are_refused_with_a_message(mail_ui: Ui, tmp_path: Path) -> None:
    window = mail_ui.window
    scan = tmp_path / "letter.pdf"
    scan.write_bytes(b"%PDF-1.4")
    enter, mime = _drag(window, [scan])
    assert not enter.isAccepted()
    assert not window.drop_overlay.isVisible()
    assert window.statusBar().currentMessage().startswith("Only mail can be dropped here")
    window.dropEvent(QDropEvent(window.rect().center().toPointF(), Qt.DropAction.CopyAction,
                                mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))
    assert window.import_task is None
    assert window.statusBar().currentMessage().startswith("Nothing imported")
    assert split_droppable([scan, tmp_path]) == ([tmp_path], [scan])


def test_cancel_stops_between_messages_and_says_how_many(
        mail_ui: Ui, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ui = mail_ui
    window = ui.window
    box = tmp_path / "big.mbox"
    box.write_bytes(mailmaker.mbox(*(_request(n, f"Person{n} Test") for n in range(8))))
    ready = threading.Event()
    calls: list[str] = []
    take_in = ui.desk.take_in

    def cancel_after_three(item: SourceItem) -> IntakeResult:
        ready.wait(5)
        calls.append(item.label)
        result = take_in(item)
        if len(calls) == 3:
            task = window.import_task
            assert task is not None
            task.progress.cancel()  # what the status bar's Cancel button does
        return result

    monkeypatch.setattr(ui.desk, "take_in", cancel_after_three)
    task = window.import_mail([box])
    assert task is not None and task.cancellable
    assert not window.import_action.isEnabled()  # one import at a time
    ready.set()
    ui.settle()
    assert len(calls) == 3
    dialog = _results_dialog(ui)
    assert dialog.windowTitle() == "Import cancelled"
    assert dialog.summary.text().startswith(
        "Cancelled after 3 of 8: 3 taken in (3 new cases); the other 5 were not read.")
    assert window.nav.count_of("all") == 3
    assert window.import_action.isEnabled()


def test_progress_says_how_far_the_import_is(qtbot: QtBot, mail_ui: Ui, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ui = mail_ui
    window = ui.window
    box = tmp_path / "two.mbox"
    box.write_bytes(mailmaker.mbox(_request(1), _request(2, "Ben Okafor")))
    release = threading.Event()
    take_in = ui.desk.take_in
    seen: list[str] = []

    def slow(item: SourceItem) -> IntakeResult:
        seen.append(item.label)
        if len(seen) == 2:  # the first is in; hold the second
            release.wait(10)
        return take_in(item)

    monkeypatch.setattr(ui.desk, "take_in", slow)
    window.import_mail([box])
    status = window.task_status
    qtbot.waitUntil(lambda: status.isVisible() and status.label.text().startswith(
        "Importing mail: 1 of 2"), timeout=5000)
    assert status.bar.maximum() == 2 and status.bar.value() == 1
    assert status.cancel_button.isVisible()
    release.set()
    ui.settle()
    assert not status.isVisible()
