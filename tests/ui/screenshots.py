"""Screenshots of the window on a demo database (a script, not a test).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.ui.screenshots docs/

Writes main_window.png, case_page.png, new_case_dialog.png, edit_request_dialog.png,
legal_clocks.png, for mail intake import_results.png, message_viewer.png,
quarantine.png, review_banner.png and to_review.png, and for scans and the mailbox
scan_review_dialog.png, scan_review_parent_letter.png and mailbox_settings.png, and
for the customer systems sources_settings.png and sources_settings_edit.png, and for
letters letters_tab.png, new_letter_dialog.png and letter_texts.png, and the
dashboard.png, and search_filters.png and reports_page.png
(tests/ui/screenshots_search_reports.py) into the folder given.
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
from caseapp.intake.sources import SourceItem
from caseapp.services import Desk
from caseapp.services.dto import CaseQuery, NewCase, PartyData
from tests import mailmaker
from ui.app import build_main_window
from ui.dialogs.edit_request import EditRequestDialog
from ui.dialogs.import_results import ImportResultsDialog
from ui.dialogs.message_viewer import MessageViewer
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
    """A father calling about his daughter's account: his words typed in during the call,
    Suggest from notes pressed, then the rest typed in."""
    dialog.requester.name.setText("Robert Hayes")
    dialog.notes.setPlainText(
        "My daughter is 11, she signed up for the owners' club newsletter and the "
        "configurator. Please delete her account and her data. We live in San Francisco, "
        "CA 94123. Phone (415) 555-0148, email r.hayes@example.net.")
    dialog.suggest()
    dialog.requester.address.setPlainText("1840 Lombard Street\nSan Francisco, CA 94123")
    dialog.requester.postal_code.setText("94123")
    dialog.requester.state.setCurrentText("CA")
    dialog.subject.name.setText("Emily Hayes")
    dialog.summary.setPlainText("His daughter (11) signed up for the owners' club newsletter "
                                "and the configurator. He wants her account and data deleted.")


NEWSLETTER_HTML = (
    '<p style="font-family: sans-serif">Dear Privacy Team,</p>'
    '<img src="https://track.mailer.example/open.gif?u=8842" width="1" height="1">'
    '<p>I received your <b>Spring Service Offers</b> email although I never agreed to '
    'marketing. Please <b>unsubscribe me</b> and <b>delete my personal information</b> '
    'from your systems. My VIN is 1HGCM82633A004352.</p>'
    '<p><img src="https://cdn.mailer.example/banner.jpg"></p>'
    '<p>I live at 2211 Oak Avenue, Sacramento, CA 95818.</p>'
    '<p>Regards,<br>Jordan Ellis</p>'
    '<p style="font-size: small"><a href="https://login.evil-example.com/verify">'
    'View my account</a></p>'
)


def _mail_folder(folder: Path) -> list[Path]:
    """What a morning's export of the privacy mailbox might hold."""
    html = mailmaker.mail(
        subject="Unsubscribe and delete my data", sender="Jordan Ellis <j.ellis@example.com>",
        message_id="<je1@example.com>", html=NEWSLETTER_HTML,
        body="Dear Privacy Team,\n\nPlease unsubscribe me and delete my personal "
             "information. I live at 2211 Oak Avenue, Sacramento, CA 95818.\n\n"
             "Regards,\nJordan Ellis\n",
        attachments=(("driver-license.pdf", "application/pdf", b"%PDF-1.4 scan"),))
    parent = mailmaker.mail(
        subject="My son's account", sender="Priya Nair <priya.nair@example.org>",
        message_id="<pn1@example.org>",
        body="Hello,\n\nMy son is 10 and made an account in your owners app. Please "
             "delete his account and everything you have about him. We live in "
             "Richmond, VA 23220.\n\nPriya Nair\n")
    access = mailmaker.mail(
        subject="Request for a copy of my data", sender="Sam Okoro <sam.okoro@example.net>",
        message_id="<so1@example.net>",
        body="Hi,\n\nUnder the CCPA I would like a copy of all personal information you "
             "hold about me. ZIP 94110.\n\nSam Okoro\n")
    away = mailmaker.mail(
        subject="Automatic reply: your service appointment", sender="Lee Wong <lee@example.com>",
        message_id="<lw-ooo@example.com>", headers={"Auto-Submitted": "auto-replied"},
        body="I am out of the office until March 9.\n")
    (folder / "jordan.eml").write_bytes(html)
    (folder / "privacy-2026-03.mbox").write_bytes(
        mailmaker.mbox(parent, access, away, mailmaker.bounce(html)))
    (folder / "empty.eml").write_bytes(b"")
    return [folder / "jordan.eml", folder / "privacy-2026-03.mbox", folder / "empty.eml"]


def _quarantine_some(desk: Desk) -> None:
    for number, reason in enumerate((
        "too large to take in (41.2 MB, the limit is 25 MB); the original file is left "
        "where it is",
        "MIME nesting deeper than 20 levels",
        "header section larger than 256 KB",
    )):
        desk.take_in(SourceItem(f"inbox-export/{number + 1:03}.eml", "mail", error=reason,
                                sha256=f"{number:02}" * 32))


def _mail_screenshots(window: MainWindow, desk: Desk, folder: Path, out: Path) -> None:
    window.import_mail(_mail_folder(folder))
    _settle(window)
    results = window.active_dialog
    assert isinstance(results, ImportResultsDialog)
    _save(results, out / "import_results.png")
    created = next(r for r in results.outcome.results if r.label.endswith("jordan.eml"))
    results.close()
    _quarantine_some(desk)
    window.refresh()
    _settle(window)
    window.open_case(created.case_ref)
    _settle(window)
    page = window.case_page
    page.tabs.setCurrentWidget(page.messages)
    _settle(window)
    _save(page, out / "review_banner.png")
    assert created.message_db_id is not None
    page.open_message(created.message_db_id)
    _settle(window)
    viewer = page.active_dialog
    assert isinstance(viewer, MessageViewer)
    _save(viewer, out / "message_viewer.png")
    viewer.close()
    window.nav.select_view("to_review")
    _settle(window)
    _save(window, out / "to_review.png")
    window.nav.select_view("quarantined")
    _settle(window)
    _save(window, out / "quarantine.png")


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
        _dashboard_shot(window, out)
        from tests.ui.screenshots_search_reports import search_and_reports_shots

        search_and_reports_shots(window, out)  # search_filters.png, reports_page.png
        mail = Path(temp) / "mail"
        mail.mkdir()
        _mail_screenshots(window, agent, mail, out)
        _intake_shots(window, out)
        _sources_shots(window, Path(temp), out)
        _letters_shots(window, desk, Path(temp), out)
        window.close()
        desk.close()
    return 0


def _dashboard_shot(window: MainWindow, out: Path) -> None:
    """The whole window on the dashboard (View → Dashboard), then back to the list."""
    window.dashboard_action.trigger()
    _settle(window)
    _save(window, out / "dashboard.png")
    window.nav.select_view("open")
    _settle(window)


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


def _sources_shots(window: MainWindow, folder: Path, out: Path) -> None:
    """Settings → Customer systems: the systems checked (one cannot be reached), and the
    file with a mistake refused on its line."""
    import keyring

    from caseapp.demo import demo_sources_text
    from caseapp.records.demo_systems import DEMO_DB_NAME, build_demo_systems
    from caseapp.secrets import SERVICE
    from tests.keyring_fixtures import MemoryKeyring
    from ui.dialogs.sources_settings import SourcesSettingsDialog

    memory = MemoryKeyring()  # as a desktop keyring would be
    memory.set_password(SERVICE, "source:dealer_crm", "secret")
    keyring.set_keyring(memory)
    data_dir = folder / "sources-demo"
    data_dir.mkdir()
    build_demo_systems(data_dir / DEMO_DB_NAME, customers=200)
    text = demo_sources_text(data_dir) + DEALER_CRM
    sources = data_dir / "sources.toml"
    sources.write_text(text, encoding="utf-8")
    dialog = SourcesSettingsDialog(sources, data_dir, window.runner, window)
    dialog.show()
    _settle(window)
    dialog.check_systems()
    _settle(window)
    dialog.table.selectRow(2)
    _save(dialog, out / "sources_settings.png")
    dialog.tabs.setCurrentIndex(1)
    at = text.index('category = "customer_profile"') + len('category = "customer_profile')
    cursor = dialog.editor.textCursor()
    cursor.setPosition(at)
    cursor.insertText("s")  # typed: a category nobody knows
    dialog.save()
    _settle(window)
    _save(dialog, out / "sources_settings_edit.png")
    dialog.editor.document().setModified(False)
    dialog.close()


def _settle_pages(window: MainWindow, seconds: float = 1.5) -> None:
    """QPdfView renders its pages in a thread of its own: give it a moment."""
    import time

    _settle(window)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.02)


def letters_case(desk: Desk) -> str:
    """A request by post with its acknowledgement mailed (certified) and an identity
    verification request issued, not mailed yet."""
    from caseapp.services.letters import LetterRequest

    requester = PartyData(name="Zoë Ågren", email="zoe.agren@example.com",
                          phone="(415) 555-0134",
                          postal_address="88 Valencia Street, Apt 4\nSan Francisco, CA 94103",
                          postal_code="94103", state="CA")
    ref = desk.create_case(NewCase(
        channel="postal", request_types=("access", "delete"), requester=requester,
        summary="A copy of my data, then delete it.")).case.ref
    acknowledgement = desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="post"))
    desk.record_mailing(ref, acknowledgement.serial, method="certified",
                        tracking_number="9407 1118 9876 5400 1234 56")
    desk.issue_letter(ref, LetterRequest(
        "verification_request", delivery="post",
        needed="a copy of a recent bill showing your name and address"))
    desk.issue_letter(ref, LetterRequest("acknowledgement", language="es", delivery="email"))
    return ref


def _letters_shots(window: MainWindow, admin: Desk, folder: Path, out: Path) -> None:
    """The Letters tab of a case, the New letter dialog with its draft, and Settings →
    Letter texts with a mistake shown on its line."""
    from ui.dialogs.letter_texts import LetterTextsDialog
    from ui.dialogs.new_letter import NewLetterDialog

    ref = letters_case(window.desk)
    window.open_case(ref)
    _settle(window)
    page = window.case_page
    page.tabs.setCurrentWidget(page.letters)
    _settle(window)
    page.letters.select_serial(page.letters.letters[1].serial)
    _settle(window)
    from PySide6.QtWidgets import QScrollArea

    scroll = page.findChild(QScrollArea)
    assert scroll is not None
    scroll.ensureWidgetVisible(page.letters.returned_button)  # the tab's buttons too
    _settle(window)
    _save(page, out / "letters_tab.png")
    dialog = page.letters.new_letter("information_request")
    assert isinstance(dialog, NewLetterDialog)
    dialog.needed.setPlainText("the VIN of the vehicle you asked about, from your "
                               "registration card")
    dialog.schedule(0)
    _settle_pages(window)
    _save(dialog, out / "new_letter_dialog.png")
    dialog.close()
    texts = LetterTextsDialog(admin, window.runner, True, window)
    texts.show()
    _settle(window)
    texts.choose("acknowledgement", "en")
    _settle_pages(window)
    text = texts.text()
    at = text.index("{{ case.due_on }}") + len("{{ case.due_")
    cursor = texts.editor.textCursor()
    cursor.setPosition(at)
    cursor.insertText("date_")  # typed: a placeholder nobody knows
    texts.editor.setTextCursor(cursor)
    texts.editor.centerCursor()
    _settle_pages(window, 1.0)
    _save(texts, out / "letter_texts.png")
    texts.editor.setPlainText(texts.shown.saved_text if texts.shown else "")
    texts.close()


# A second system the workstation cannot reach (nothing listens on port 1).
DEALER_CRM = """
[sources.dealer_crm]
label = "Dealer CRM"
url = "postgresql+psycopg://crm_reader@127.0.0.1:1/dealer_crm"

[sources.dealer_crm.tables.contacts]
table = "crm.contacts"
category = "customer_profile"
key = "contact_no"
identifiers = { email = "mail", phone = "mobile" }
deletion = { mode = "delete_rows" }
"""


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
