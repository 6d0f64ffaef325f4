"""The safe message viewer: nothing remote is loaded, links ask first, attachments are
written only when staff choose Save as… or Open…, the original is shown as text."""

from __future__ import annotations

import base64
import os
import stat
import tempfile
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtNetwork import QNetworkAccessManager
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from caseapp.intake.sources import SourceItem, mail_hash
from caseapp.scratch import SCRATCH_ROOT_ENV
from caseapp.services.dto import IntakeResult
from tests import mailmaker
from tests.ui.conftest import Ui
from tests.ui.helpers import click, open_case
from ui.dialogs import message_viewer
from ui.dialogs.confirm import yes_button
from ui.dialogs.message_viewer import MessageViewer, OriginalDialog
from ui.widgets import safe_browser

# A 1x1 transparent PNG.
PIXEL = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVO"
         "RK5CYII=")
HTML = ('<p>Hello, <b>please delete</b> my data.</p>'
        '<img src="http://tracker.example.com/open.gif?id=42">'
        '<img src="https://cdn.example.net/logo.png">'
        '<p><a href="http://evil.example/login">My account</a></p>'
        '<script>alert(1)</script>')
PDF = b"%PDF-1.4 the signed form"


def _import_html_mail(ui: Ui) -> IntakeResult:
    raw = mailmaker.mail(html=HTML, attachments=(("signed form.pdf", "application/pdf", PDF),))
    return ui.desk.take_in(SourceItem("mail.eml", "mail", data=raw, sha256=mail_hash(raw)))


def _viewer(qtbot: QtBot, ui: Ui) -> MessageViewer:
    result = _import_html_mail(ui)
    assert result.outcome == "created"
    open_case(ui, result.case_ref)
    page = ui.window.case_page
    assert page.tabs.tabText(page.tabs.indexOf(page.messages)) == "Messages (1)"
    page.messages_action.trigger()  # Ctrl+Shift+E: the messages, first one current
    assert page.tabs.currentWidget() is page.messages
    page.open_message()  # what Enter or a double-click does
    ui.settle()
    viewer = page.active_dialog
    assert isinstance(viewer, MessageViewer) and viewer.isVisible()
    assert viewer.detail is not None
    return viewer


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary files and the private scratch folder go here, so a test sees anything
    written."""
    folder = tmp_path / "tmp"
    folder.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv(SCRATCH_ROOT_ENV, str(folder))
    return folder


def test_the_message_list_on_the_case_page(mail_ui: Ui) -> None:
    result = _import_html_mail(mail_ui)
    open_case(mail_ui, result.case_ref)
    model = mail_ui.window.case_page.messages_model
    row = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    assert row == ["2026-03-02 10:00", "←", "Ana Ruiz <ana.ruiz@example.com>",
                   "Please delete my data", "1"]


def test_html_mail_loads_nothing_remote_and_says_what_was_blocked(
        qtbot: QtBot, mail_ui: Ui, private_tmp: Path) -> None:
    viewer = _viewer(qtbot, mail_ui)
    assert viewer.subject.text() == "Please delete my data"
    assert viewer.header_labels["from"].text() == "Ana Ruiz <ana.ruiz@example.com>"
    assert viewer.header_labels["where"].text().startswith("case PR-2026-")
    assert viewer.blocked_banner.isVisible()
    assert viewer.blocked_banner.text() == (
        "Blocked for your safety: 2 remote images, 1 script. Nothing in this message is "
        "loaded from the internet.")
    assert not viewer.quarantine_banner.isVisible()
    assert not viewer.showing_plain_text()
    assert "please delete" in viewer.browser.toPlainText()
    assert "alert" not in viewer.browser.toPlainText()

    browser = viewer.browser
    # Whatever a document names is asked of loadResource, and nothing comes back...
    browser.setHtml('<img src="http://tracker.example.com/p.gif">'
                    '<link rel="stylesheet" href="https://evil.example/s.css">'
                    f'<img src="data:image/png;base64,{PIXEL}">')
    browser.grab()  # lay out and paint: every resource is asked for
    asked = [url.toString() for url in browser.refused]
    assert "http://tracker.example.com/p.gif" in asked
    image = QTextDocument.ResourceType.ImageResource
    assert browser.loadResource(image, QUrl("http://tracker.example.com/p.gif")) is None
    assert browser.loadResource(image, QUrl("file:///etc/passwd")) is None
    # ...except an image inside the document itself.
    inline = browser.loadResource(image, QUrl(f"data:image/png;base64,{PIXEL}"))
    assert inline is not None and not inline.isNull()
    assert base64.b64decode(PIXEL)  # (the pixel is real)
    app = QApplication.instance()
    assert app is not None
    assert app.findChildren(QNetworkAccessManager) == []
    assert viewer.findChildren(QNetworkAccessManager) == []
    assert list(private_tmp.iterdir()) == []  # nothing of the message on disk


def test_a_link_asks_first_and_shows_where_it_really_goes(
        qtbot: QtBot, mail_ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(safe_browser, "open_in_desktop",
                        lambda url: opened.append(url.toString()) or True)
    viewer = _viewer(qtbot, mail_ui)
    browser = viewer.browser
    browser.anchorClicked.emit(QUrl("http://evil.example/login"))
    box = browser.link_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "http://evil.example/login" in box.text()
    assert opened == []  # not before the answer
    click(qtbot, yes_button(box))
    assert opened == ["http://evil.example/login"]
    browser.anchorClicked.emit(QUrl("file:///etc/passwd"))
    refused = browser.link_box
    assert isinstance(refused, QMessageBox)
    assert "does not open this kind of link" in refused.text()
    refused.close()
    assert opened == ["http://evil.example/login"]


def test_plain_text_toggle(qtbot: QtBot, mail_ui: Ui) -> None:
    viewer = _viewer(qtbot, mail_ui)
    assert viewer.plain_toggle.isEnabled()
    viewer.plain_toggle.setChecked(True)
    assert viewer.showing_plain_text()
    assert "Please delete all my personal information" in viewer.plain.toPlainText()
    viewer.plain_toggle.setChecked(False)
    assert not viewer.showing_plain_text()


def test_attachments_are_written_only_when_asked(
        qtbot: QtBot, mail_ui: Ui, private_tmp: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ui = mail_ui
    handed: list[QUrl] = []
    monkeypatch.setattr(safe_browser, "open_in_desktop",
                        lambda url: handed.append(url) or True)
    viewer = _viewer(qtbot, ui)
    model = viewer.attachments_model
    assert viewer.attachments_box.title() == "Attachments (1)"
    assert [model.data(model.index(0, c)) for c in range(3)] == [
        "signed form.pdf", "application/pdf", f"{len(PDF)} bytes"]
    assert list(private_tmp.iterdir()) == [] and handed == []

    # Save as…: a file dialog, then the bytes are written in the background.
    target = tmp_path / "saved" / "form.pdf"
    target.parent.mkdir()
    monkeypatch.setattr(message_viewer, "choose_save_path", lambda _p, name: str(target))
    click(qtbot, viewer.save_button)
    ui.settle()
    assert target.read_bytes() == PDF
    assert viewer.note.text() == f"Saved signed form.pdf to {target}"
    assert list(private_tmp.iterdir()) == []

    # Open…: a warning first; Cancel writes nothing.
    click(qtbot, viewer.open_button)
    box = viewer.active_dialog
    assert isinstance(box, QMessageBox)
    assert "may be harmful" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    ui.settle()
    assert list(private_tmp.iterdir()) == [] and handed == []
    # Confirmed: copied to a private folder, then handed to the desktop.
    click(qtbot, viewer.open_button)
    box = viewer.active_dialog
    assert isinstance(box, QMessageBox)
    click(qtbot, yes_button(box))
    ui.settle()
    assert len(handed) == 1
    written = Path(handed[0].toLocalFile())
    assert written.read_bytes() == PDF and written.name == "signed form.pdf"
    # In the private scratch folder (in memory unless pointed elsewhere, as here), kept
    # while the program runs: the program showing it may still read it.
    assert written.parent == private_tmp / f"caseapp-{os.getpid()}" / "attachments"
    assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(written.parent.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_show_original_is_plain_read_only_text(qtbot: QtBot, mail_ui: Ui) -> None:
    viewer = _viewer(qtbot, mail_ui)
    click(qtbot, viewer.original_button)
    mail_ui.settle()
    original = viewer.active_dialog
    assert isinstance(original, OriginalDialog) and original.isVisible()
    assert original.text.isReadOnly()
    assert "Subject: Please delete my data" in original.text.toPlainText()
    assert "<script>alert(1)</script>" in original.text.toPlainText()  # as text, inert
    assert message_viewer.original_text(b"x" * (message_viewer.MAX_ORIGINAL + 10)).startswith(
        "[Only the first 4.0 MB of 4.0 MB are shown.]")


def test_a_quarantined_message_says_why(qtbot: QtBot, mail_ui: Ui) -> None:
    ui = mail_ui
    result = ui.desk.take_in(SourceItem(
        "huge.eml", "mail", error="too large to take in (40.0 MB, the limit is 25 MB)",
        sha256="ab" * 32))
    assert result.outcome == "quarantined" and result.message_db_id is not None
    viewer = MessageViewer(ui.desk, ui.window.runner, result.message_db_id, ui.window)
    qtbot.addWidget(viewer)
    viewer.show()
    ui.settle()
    assert viewer.quarantine_banner.isVisible()
    assert viewer.quarantine_banner.text().startswith(
        "Quarantined: too large to take in (40.0 MB, the limit is 25 MB).")
    assert viewer.header_labels["where"].text() == "in quarantine"
    assert "it is in quarantine" in viewer.plain.toPlainText()
    assert not viewer.attachments_box.isVisible()


def test_messages_read_oldest_first_and_automatic_ones_are_marked(mail_ui: Ui) -> None:
    raw = mailmaker.mail(html=HTML)
    first = mail_ui.desk.take_in(SourceItem("a.eml", "mail", data=raw, sha256=mail_hash(raw)))
    bounce = mailmaker.bounce(raw)
    mail_ui.desk.take_in(SourceItem("b.eml", "mail", data=bounce, sha256=mail_hash(bounce)))
    open_case(mail_ui, first.case_ref)
    page = mail_ui.window.case_page
    proxy = page.messages_proxy
    subjects = [proxy.index(row, 3).data() for row in range(proxy.rowCount())]
    assert subjects == ["Please delete my data", "[bounce] Undelivered Mail Returned to Sender"]


def test_a_program_attached_to_a_mail_is_never_opened(
        qtbot: QtBot, mail_ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(safe_browser, "open_in_desktop",
                        lambda url: opened.append(url) or True)
    raw = mailmaker.mail(attachments=(("invoice.pdf.exe", "application/octet-stream",
                                       b"MZ not really a program"),))
    result = mail_ui.desk.take_in(SourceItem("x.eml", "mail", data=raw,
                                             sha256=mail_hash(raw)))
    open_case(mail_ui, result.case_ref)
    page = mail_ui.window.case_page
    page.messages_action.trigger()
    page.open_message()
    mail_ui.settle()
    viewer = page.active_dialog
    assert isinstance(viewer, MessageViewer)
    viewer.open_attachment()
    assert "program or script" in viewer.note.text()
    assert opened == []
    assert message_viewer.is_executable("Letter.PDF", "application/pdf") is False
    assert message_viewer.is_executable("run.ps1", "text/plain") is True


def test_markup_in_a_name_or_subject_is_shown_as_text(qtbot: QtBot, mail_ui: Ui,
                                                      tmp_path: Path) -> None:
    """A label left to guess would render HTML and fetch the picture named in it."""
    probe = tmp_path / "probe.png"
    probe.write_bytes(base64.b64decode(PIXEL))
    markup = f"<img src=file://{probe} width=300 height=300>"
    raw = mailmaker.mail(subject=f"Delete {markup}", sender=f"{markup} <x@example.com>")
    result = mail_ui.desk.take_in(SourceItem("x.eml", "mail", data=raw,
                                             sha256=mail_hash(raw)))
    open_case(mail_ui, result.case_ref)
    header = mail_ui.window.case_page.header
    assert markup in header.summary.text()
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLabel

    shown = [label for label in mail_ui.window.findChildren(QLabel)
             if "<img" in label.text() and label.isVisible()]
    assert shown  # the subject and the requester's name
    for label in shown:
        assert label.textFormat() == Qt.TextFormat.PlainText
        assert label.sizeHint().height() < 200  # no 300-pixel picture drawn
