"""Settings → Letter texts: the list of texts (model tester), the sample letter rendered
in the background as the text is edited, a text that cannot make a letter refused with
its line shown, a valid edit saved and used by the next draft, revert, and nobody's
changes dropped without asking."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData
from caseapp.services.letters import LetterRequest
from tests.ui.conftest import Ui
from tests.ui.helpers import click, closed
from ui.dialogs.confirm import yes_button
from ui.dialogs.letter_texts import LetterTextsDialog
from ui.models.frozen_rows import FrozenRowsModel
from ui.models.letters import LetterTemplatesModel

T = LetterTemplatesModel
SHIPPED_PHRASE = "Thank you for contacting us."
EDITED_PHRASE = "Thank you for writing to our privacy team."


def is_edited(desk: Desk, kind: str, language: str) -> bool:
    """Whether the desk prints this kind with an administrator's text (kept in the
    database, for every workstation)."""
    return any(info.edited for info in desk.list_letter_templates()
               if (info.kind, info.language) == (kind, language))


def open_texts(qtbot: QtBot, ui: Ui) -> LetterTextsDialog:
    """Settings → Letter texts…, the acknowledgement in English chosen."""
    ui.window.letter_texts_action.trigger()
    dialog = ui.window.active_dialog
    assert isinstance(dialog, LetterTextsDialog) and dialog.isVisible()
    ui.settle()
    dialog.choose("acknowledgement", "en")
    ui.settle()
    wait_for_sample(qtbot, dialog)
    assert dialog.shown is not None and dialog.shown.info.kind == "acknowledgement"
    return dialog


def wait_for_sample(qtbot: QtBot, dialog: LetterTextsDialog) -> None:
    qtbot.waitUntil(lambda: not dialog._timer.isActive() and not dialog._rendering
                    and (dialog.renders == dialog.text() or dialog.problem is not None),
                    timeout=15_000)


def replace_in_editor(dialog: LetterTextsDialog, old: str, new: str) -> None:
    """Select ``old`` in the editor and type ``new`` over it, as the user would."""
    document = dialog.editor.document()
    found = document.find(old)
    assert not found.isNull(), old
    dialog.editor.setTextCursor(found)
    dialog.editor.insertPlainText(new)


def test_the_templates_model_passes_the_model_tester(qtmodeltester: Any,
                                                     sqlite_desk: Desk,
                                                     tmp_path: Path) -> None:
    text = sqlite_desk.letter_template_text("denial", "es")
    sqlite_desk.save_letter_template("denial", "es", text)
    infos = tuple(sqlite_desk.list_letter_templates())
    model = LetterTemplatesModel()
    model.set_rows(infos)
    qtmodeltester.check(model)
    assert model.rowCount() == 24  # twelve kinds, English and Spanish
    edited = [row for row in range(model.rowCount())
              if model.data(model.index(row, T.COL_TEXT)) == "✎ Edited"]
    assert len(edited) == 1
    info = model.data(model.index(edited[0], 0), FrozenRowsModel.RowRole)
    assert (info.kind, info.language) == ("denial", "es")
    assert model.data(model.index(edited[0], T.COL_LANGUAGE)) == "Spanish"


def test_an_unknown_placeholder_is_shown_on_its_line_and_cannot_be_saved(
        qtbot: QtBot, ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    previews: list[threading.Thread] = []
    original = ui.desk.preview_letter_template

    def spy(*args: Any) -> Any:
        previews.append(threading.current_thread())
        return original(*args)

    monkeypatch.setattr(ui.desk, "preview_letter_template", spy)
    dialog = open_texts(qtbot, ui)
    assert dialog.preview.page_count() >= 1  # the sample letter
    assert not dialog.save_button.isEnabled()  # nothing changed yet
    text = dialog.text()
    line = next(number for number, row in enumerate(text.splitlines(), start=1)
                if "{{ case.due_on }}" in row)
    replace_in_editor(dialog, "{{ case.due_on }}", "{{ case.due_date }}")
    wait_for_sample(qtbot, dialog)
    assert dialog.problem is not None
    assert dialog.problem_label.isVisible()
    assert dialog.problem_label.text().startswith(f"Line {line}: ")
    assert "unknown placeholder" in dialog.problem_label.text()
    selections = dialog.editor.extraSelections()
    assert len(selections) == 1 and selections[0].cursor.blockNumber() == line - 1
    assert not dialog.save_button.isEnabled()
    # Ctrl+S refuses it and takes the cursor to the line.
    dialog.editor.moveCursor(dialog.editor.textCursor().MoveOperation.Start)
    qtbot.keyClick(dialog.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    ui.settle()
    assert "Not saved" in dialog.status.text()
    assert dialog.editor.textCursor().blockNumber() == line - 1
    assert not is_edited(ui.desk, "acknowledgement", "en")
    draft_ref = _case(ui.desk)
    assert "{{" not in ui.desk.draft_letter(draft_ref, LetterRequest("acknowledgement")).text
    # A syntax error too, on its own line.
    replace_in_editor(dialog, "{{ case.due_date }}", "{{ case.due_on }}")
    replace_in_editor(dialog, "{% endif %}", "{% endiff %}")
    wait_for_sample(qtbot, dialog)
    assert dialog.problem is not None and dialog.problem_at is not None
    assert "endiff" in dialog.text().splitlines()[dialog.problem_at - 1]
    assert threading.main_thread() not in previews and previews
    dialog.editor.setPlainText(dialog.shown.saved_text if dialog.shown else "")
    dialog.reject()
    ui.settle()


def _case(desk: Desk) -> str:
    requester = PartyData(name="Zoë Ågren", email="zoe.agren@example.com",
                          postal_address="88 Valencia Street\nSan Francisco, CA 94103",
                          postal_code="94103", state="CA")
    return desk.create_case(NewCase(channel="email", request_types=("access",),
                                    requester=requester, summary="Please help.")).case.ref


def test_a_saved_edit_is_used_by_the_next_letter_and_can_be_reverted(
        qtbot: QtBot, ui: Ui) -> None:
    ref = _case(ui.desk)
    request = LetterRequest("acknowledgement", delivery="email")
    assert SHIPPED_PHRASE in ui.desk.draft_letter(ref, request).text
    dialog = open_texts(qtbot, ui)
    replace_in_editor(dialog, SHIPPED_PHRASE, EDITED_PHRASE)
    assert not dialog.save_button.isEnabled()  # not rendered yet
    wait_for_sample(qtbot, dialog)
    assert dialog.problem is None
    assert dialog.sample is not None and EDITED_PHRASE in dialog.sample.text
    assert dialog.save_button.isEnabled()
    qtbot.keyClick(dialog.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    ui.settle()
    assert "Saved" in dialog.status.text()
    assert not dialog.modified()
    assert is_edited(ui.desk, "acknowledgement", "en")
    assert EDITED_PHRASE in ui.desk.draft_letter(ref, request).text
    # The list marks it edited.
    row = next(r for r in dialog.model._rows if (r.kind, r.language)
               == ("acknowledgement", "en"))
    assert row.edited

    click(qtbot, dialog.revert_button)
    box = dialog.active_dialog
    assert isinstance(box, QMessageBox)
    click(qtbot, yes_button(box))
    ui.settle()
    wait_for_sample(qtbot, dialog)
    assert SHIPPED_PHRASE in dialog.text()
    assert SHIPPED_PHRASE in ui.desk.draft_letter(ref, request).text
    assert not dialog.shown or not dialog.shown.info.edited
    dialog.reject()
    ui.settle()
    assert closed(dialog)


def test_unsaved_changes_are_not_dropped_without_asking(
        qtbot: QtBot, ui: Ui) -> None:
    dialog = open_texts(qtbot, ui)
    replace_in_editor(dialog, SHIPPED_PHRASE, EDITED_PHRASE)
    # Choosing another text asks first; the edit stays until the user says so.
    dialog.choose("denial", "en")
    ui.settle()
    box = dialog.active_dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert dialog.shown is not None and dialog.shown.info.kind == "acknowledgement"
    assert EDITED_PHRASE in dialog.text()
    box.reject()
    ui.settle()
    assert EDITED_PHRASE in dialog.text()
    # Closing asks too.
    dialog.reject()
    box = dialog.active_dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert dialog.isVisible()
    click(qtbot, yes_button(box))
    ui.settle()
    assert closed(dialog)
    assert not is_edited(ui.desk, "acknowledgement", "en")


def test_only_an_administrator_changes_texts(qtbot: QtBot, sqlite_desk: Desk,
                                             tmp_path: Path) -> None:
    from ui.tasks import TaskRunner

    sqlite_desk.add_user("carol", "agent", "Carol")
    carol = sqlite_desk.as_user("carol")
    runner = TaskRunner()
    dialog = LetterTextsDialog(carol, runner, is_admin=False)
    qtbot.addWidget(dialog)
    dialog.show()
    assert runner.wait_idle()
    dialog.choose("denial", "es")
    assert runner.wait_idle()
    qtbot.waitUntil(lambda: dialog.renders is not None, timeout=15_000)
    assert dialog.editor.isReadOnly()
    assert not dialog.save_button.isEnabled() and not dialog.revert_button.isEnabled()
    assert dialog.preview.page_count() >= 1  # the sample is shown to everyone
    dialog.save()
    assert "administrator" in dialog.status.text()
    runner.shutdown()
