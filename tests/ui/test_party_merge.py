"""Two people edit the same party: the second save shows the first one's change beside
theirs (ui/dialogs/merge_edit.py) and never overwrites it silently."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from caseapp.services import Desk
from tests.ui.conftest import Ui, new_case
from tests.ui.helpers import click, closed, edit_requester, history_texts, ok, open_case
from ui.dialogs.merge_edit import MergeEditDialog
from ui.dialogs.party import PartyDialog, data_of


def _carol_saves(ui: Ui, ref: str, **changes: object) -> Desk:
    """Carol, at another workstation, changes the requester through the service."""
    ui.desk.add_user("carol", "agent")
    carol = ui.desk.as_user("carol")
    requester = data_of(carol.get_case(ref).requester)
    carol.update_party(ref, "requester", replace(requester, **changes))  # type: ignore[arg-type]
    return carol


def _merge_of(qtbot: QtBot, ui: Ui, dialog: PartyDialog) -> MergeEditDialog:
    # The window hears Carol's save and reloads the case page under the open dialog:
    # the save must still go to the version the dialog was opened on.
    page = ui.window.case_page
    qtbot.waitUntil(lambda: page.detail is not None
                    and page.detail.version > dialog.detail.version, timeout=15_000)
    ui.settle()
    ok(qtbot, dialog, ui)
    merge = dialog.merge_dialog
    assert isinstance(merge, MergeEditDialog) and merge.isVisible()
    return merge


def _texts(dialog: MergeEditDialog) -> set[str]:
    return {label.text() for label in dialog.findChildren(QLabel)}


def test_apply_mine_saves_on_the_new_version_and_keeps_their_other_change(
        qtbot: QtBot, ui: Ui) -> None:
    ref, dialog = edit_requester(qtbot, ui, "Olivia Grant")
    dialog.form.name.setText("Olivia Grant-Moreno")
    dialog.form.email.setText("olivia@example.org")
    _carol_saves(ui, ref, name="Olivia G. Moreno", phone="(415) 555-0100")
    merge = _merge_of(qtbot, ui, dialog)

    assert "carol" in merge.windowTitle()
    rows = {row.name: row for row in merge.rows}
    assert set(rows) == {"name", "email", "phone"}  # what either of us changed
    assert not rows["phone"].changed_by_me  # only Carol: hers stays
    assert "(415) 555-0100" in _texts(merge) and "olivia@example.org" in _texts(merge)
    assert set(merge.checks) == {"name", "email"}
    assert merge.checks["email"].isChecked()  # only I changed it
    assert not merge.checks["name"].isChecked()  # both did: hers unless I choose mine
    merge.checks["name"].setChecked(True)
    click(qtbot, merge.apply_button)
    ui.settle()

    assert closed(dialog)
    requester = ui.desk.get_case(ref).requester
    assert requester.name == "Olivia Grant-Moreno"  # mine, chosen over hers
    assert requester.email == "olivia@example.org"  # mine
    assert requester.phone == "(415) 555-0100"  # hers, kept
    page = ui.window.case_page
    assert page.requester_box.fields["phone"].text() == "(415) 555-0100"
    assert page.requester_box.fields["email"].text() == "olivia@example.org"
    history = [(e.actor, e.summary) for e in ui.desk.get_case(ref).history]
    assert history[-2:] == [("carol", "Requester details changed: name, phone"),
                            ("alice", "Requester details changed: name, email")]
    assert history_texts(ui)[0] == "Requester details changed: name, email"
    assert ui.desk.verify_audit().ok
    assert ui.reports == []


def test_keep_theirs_saves_nothing_of_mine(qtbot: QtBot, ui: Ui) -> None:
    ref, dialog = edit_requester(qtbot, ui, "Olivia Grant")
    dialog.form.email.setText("olivia@example.org")
    dialog.form.phone.setText("555-0199")
    _carol_saves(ui, ref, email="o.grant@example.net")
    merge = _merge_of(qtbot, ui, dialog)
    assert {row.name for row in merge.rows} == {"email", "phone"}
    assert not merge.checks["email"].isChecked() and merge.checks["phone"].isChecked()
    click(qtbot, merge.keep_button)
    ui.settle()

    assert closed(dialog)
    requester = ui.desk.get_case(ref).requester
    assert (requester.email, requester.phone) == ("o.grant@example.net", "")
    assert ui.window.case_page.requester_box.fields["email"].text() == "o.grant@example.net"
    history = [(e.actor, e.action) for e in ui.desk.get_case(ref).history]
    assert history[-1] == ("carol", "party.updated")  # nothing of mine was written
    assert ui.reports == []


def test_a_stale_subject_edit_merges_too(qtbot: QtBot, ui: Ui) -> None:
    """The data subject of a parent's request: my age beside her address."""
    ref = new_case(ui.desk, "Maria Lopez", child=True).case.ref
    open_case(ui, ref)
    click(qtbot, ui.window.case_page.subject_box.edit_button)
    dialog = ui.window.case_page.active_dialog
    assert isinstance(dialog, PartyDialog) and dialog.role == "subject"
    dialog.form.age.setValue(11)
    ui.desk.add_user("carol", "agent")
    carol = ui.desk.as_user("carol")
    subject = data_of(carol.get_case(ref).subject)
    carol.update_party(ref, "subject", replace(subject, postal_address="12 Elm St"))
    merge = _merge_of(qtbot, ui, dialog)
    assert {row.name for row in merge.rows} == {"postal_address", "age"}
    click(qtbot, merge.apply_button)
    ui.settle()
    assert closed(dialog)
    saved = ui.desk.get_case(ref).subject
    assert (saved.age, saved.postal_address, saved.is_child) == (11, "12 Elm St", True)
    assert ui.reports == []


def test_unchanged_typing_is_not_offered_as_mine(qtbot: QtBot, ui: Ui) -> None:
    """Only the fields typed differently from what the dialog opened with are "yours"."""
    ref, dialog = edit_requester(qtbot, ui, "Olivia Grant")
    dialog.form.name.setText("Olivia Grant")  # retyped the same
    dialog.form.email.setText("olivia@example.org")
    _carol_saves(ui, ref, state="NY")
    merge = _merge_of(qtbot, ui, dialog)
    assert {row.name: row.changed_by_me for row in merge.rows} == {
        "email": True, "state": False}
    click(qtbot, merge.apply_button)
    ui.settle()
    requester = ui.desk.get_case(ref).requester
    assert (requester.email, requester.state) == ("olivia@example.org", "NY")
