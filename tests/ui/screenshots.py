"""Screenshots of the window on a demo database (a script, not a test).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.ui.screenshots docs/

Writes main_window.png, case_page.png, new_case_dialog.png, edit_request_dialog.png,
legal_clocks.png, scan_review_dialog.png, scan_review_parent_letter.png and
mailbox_settings.png into the folder given.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QWidget

from caseapp.clock import Clock
from caseapp.services import Desk
from caseapp.services.dto import CaseQuery, NewCase, PartyData
from ui.app import build_main_window
from ui.dialogs.edit_request import EditRequestDialog
from ui.dialogs.new_case import NewCaseDialog
from ui.main_window import MainWindow

NOW = datetime(2026, 3, 4, 15, 0, 0)  # as tests/conftest.py FIXED_NOW
AGENT = "maria.lopez"


def _settle(window: MainWindow) -> None:
    for _ in range(5):
        window.runner.wait_idle(20_000)
        QCoreApplication.processEvents()


def _fill_demo(folder: Path) -> Desk:
    # The first user (the administrator) is not one of the demo staff, so the demo's
    # four-eyes approvals have a second person for every case.
    desk = Desk(f"sqlite:///{folder / 'cases.sqlite3'}", "alice", clock=Clock(fixed=NOW))
    desk.prepare(folder / "backups")
    try:
        from caseapp.demo import load_demo
    except ImportError:  # before the demo module existed
        _fallback_cases(desk)
    else:
        load_demo(desk, cases=160, today=desk.clock.today())
    return desk


def _fallback_cases(desk: Desk) -> None:
    for number in range(40):
        desk.create_case(NewCase(
            channel=("email", "postal", "phone")[number % 3],
            request_types=(("delete",), ("access",), ("opt_out_marketing",))[number % 3],
            requester=PartyData(name=f"Requester {number}", email=f"r{number}@example.com",
                                state=("CA", "VA", "TX", "NY")[number % 4]),
            summary="Please delete my data.",
        ))


def _fill_new_case(dialog: NewCaseDialog) -> None:
    """A father calling about his daughter's account, as typed during the call."""
    dialog.type_boxes["delete"].setChecked(True)
    dialog.requester.name.setText("Robert Hayes")
    dialog.requester.phone.setText("(415) 555-0148")
    dialog.requester.email.setText("r.hayes@example.net")
    dialog.requester.address.setPlainText("1840 Lombard Street\nSan Francisco, CA 94123")
    dialog.requester.postal_code.setText("94123")
    dialog.requester.state.setCurrentText("CA")
    dialog.on_behalf.setChecked(True)
    dialog.subject.name.setText("Emily Hayes")
    dialog.subject.age.setValue(11)
    dialog.summary.setPlainText("His daughter (11) signed up for the owners' club newsletter "
                                "and the configurator. He wants her account and data deleted.")


def _save(widget: QWidget, path: Path) -> None:
    QCoreApplication.processEvents()
    if not widget.grab().save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(path)


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temp:
        desk = _fill_demo(Path(temp))
        agent = desk.as_user(AGENT)
        # A case worth showing: open, under way, with a note.
        # Near the top of the open list (so its child and overdue rows show), and mine.
        rows = agent.list_cases(CaseQuery(view="open"), 0, 25).rows
        # Its request still editable, for the Edit-request dialog.

        def editable(ref: str) -> bool:
            return not agent.get_case(ref).request_locked_reason

        shown = next((r for r in rows if r.assignee == AGENT and not r.overdue
                      and r.status == "in_progress" and editable(r.ref)),
                     next((r for r in rows if not r.overdue and editable(r.ref)), rows[0]))
        agent.add_note(shown.ref, "Called the requester back: confirmed the email address "
                                  "on the account and the dealer she bought from.")
        window = build_main_window(agent)
        window.show()
        _settle(window)
        window.nav.select_view("open")
        _settle(window)
        window.case_list.select_ref(shown.ref)
        _settle(window)
        _save(window, out / "main_window.png")
        page = window.case_page
        page.tabs.setCurrentWidget(page.history)
        _settle(window)
        _save(page, out / "case_page.png")
        page.edit_request_action.trigger()
        edit = page.active_dialog
        assert isinstance(edit, EditRequestDialog), page.edit_request_button.toolTip()
        edit.request.type_boxes["opt_out_sale_share"].setChecked(True)  # heard on the phone
        _settle(window)
        _save(edit, out / "edit_request_dialog.png")
        edit.close()
        _settle(window)
        window.new_case()
        dialog = window.active_dialog
        assert isinstance(dialog, NewCaseDialog)
        _fill_new_case(dialog)
        _settle(window)
        _save(dialog, out / "new_case_dialog.png")
        dialog.close()
        _settle(window)
        window.legal_clocks_action.trigger()
        _settle(window)
        clocks = window.active_dialog
        assert clocks is not None
        _save(clocks, out / "legal_clocks.png")
        clocks.close()
        _intake_shots(window, out)
        window.close()
        desk.close()
    return 0


def _intake_shots(window: MainWindow, out: Path) -> None:
    """The scan review on the demo letters, and the mailbox settings."""
    from caseapp.config import MailSettings
    from caseapp.resources import resources_dir
    from ui.dialogs.mailbox_settings import MailboxSettingsDialog
    from ui.dialogs.scan_review import ScanReviewDialog
    from ui.settings_store import SettingsStore

    demo = resources_dir() / "demo"
    for name, shot in (("scanned_letter.png", "scan_review_dialog.png"),
                       ("carta_padre.tif", "scan_review_parent_letter.png")):
        window.intake.start_scans([demo / name])
        _settle(window)
        batch = window.intake.batch
        assert batch is not None and isinstance(batch.dialog, ScanReviewDialog)
        review = batch.dialog
        review.form.received_confirmed.setChecked(True)
        if review.form.on_behalf.isChecked():  # the parent letter: show the child's part
            review.form.subject.name.setText("Mateo Castillo")
            _settle(window)
            review.right_scroll.ensureWidgetVisible(review.form.subject.is_child)
        _settle(window)
        _save(review, out / shot)
        review.skip()
        _settle(window)
    import keyring

    from caseapp.secrets import SERVICE
    from tests.keyring_fixtures import MemoryKeyring

    memory = MemoryKeyring()  # as a desktop keyring would be
    memory.set_password(SERVICE, "imap:privacy@example.com@imap.example.com", "secret")
    keyring.set_keyring(memory)
    with tempfile.TemporaryDirectory() as config:
        from caseapp.config import Paths, Settings

        settings = Settings(paths=Paths(Path(config), Path(config)), mail=MailSettings(
            imap_host="imap.example.com", imap_user="privacy@example.com", poll_minutes=10))
        dialog = MailboxSettingsDialog(SettingsStore(settings), window.runner, window)
        dialog.show()
        _settle(window)
        _save(dialog, out / "mailbox_settings.png")
        dialog.close()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
