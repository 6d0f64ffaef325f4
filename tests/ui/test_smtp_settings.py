"""Settings → Outgoing mail…: typed, checked against a real SMTP server (aiosmtpd with
STARTTLS and AUTH), saved with the password in the keyring only."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from caseapp.config import load_settings
from caseapp.secrets import get_secret
from tests.keyring_fixtures import MemoryKeyring
from tests.smtp_server import (
    FROM_ADDRESS,
    PASSWORD,
    USER,
    SmtpServer,
)
from tests.ui.conftest import Ui
from tests.ui.helpers import click, closed
from ui.dialogs.smtp_settings import SmtpSettingsDialog


def test_outgoing_mail_is_checked_in_the_background_and_saved(
        qtbot: QtBot, ui: Ui, smtp_server: SmtpServer, memory_keyring: MemoryKeyring,
        tmp_path: Path) -> None:
    file = tmp_path / "settings.toml"
    ui.desk.use_smtp(None, ssl_context=smtp_server.ssl_context(), settings_file=file)
    ui.window.smtp_action.trigger()
    ui.settle()
    dialog = ui.window.active_dialog
    assert isinstance(dialog, SmtpSettingsDialog) and dialog.isVisible()
    assert "never in the settings file" in dialog.password_state.text()
    assert dialog.port.value() == 587

    dialog.host.setText("smtp.example.com")
    dialog.security.setCurrentIndex(dialog.security.findData("none"))
    assert "unencrypted" in dialog.problem_label.text() and not dialog.ok_button.isEnabled()
    assert dialog.port.value() == 25
    dialog.security.setCurrentIndex(dialog.security.findData("starttls"))
    dialog.host.setText("127.0.0.1")
    dialog.port.setValue(smtp_server.port)
    dialog.user.setText(USER)
    dialog.from_address.setText(FROM_ADDRESS)
    dialog.from_name.setText("Privacy Office")
    assert dialog.ok_button.isEnabled() and dialog.check_button.isEnabled()

    dialog.password.setText("wrong-password-7")
    click(qtbot, dialog.check_button)
    ui.settle()
    assert "refused the login" in dialog.check_result.text()
    assert "wrong-password-7" not in dialog.check_result.text()
    dialog.password.setText(PASSWORD)
    click(qtbot, dialog.check_button)
    ui.settle()
    assert "logged in as" in dialog.check_result.text()
    assert smtp_server.messages == []  # a check sends nothing

    click(qtbot, dialog.ok_button)
    ui.settle()
    assert closed(dialog)
    saved = load_settings(file).smtp
    assert (saved.host, saved.port, saved.user) == ("127.0.0.1", smtp_server.port, USER)
    assert PASSWORD not in file.read_text()
    assert get_secret(saved.secret_name) == PASSWORD
    assert ui.desk.smtp_settings() == saved
    assert ui.reports == []
