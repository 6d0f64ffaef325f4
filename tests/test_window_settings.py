"""The command line hands the window the settings of the run and their file; saving the
mailbox from the window rewrites only the [mail] table of that file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from caseapp.cli import main
from caseapp.config import MailSettings, Settings
from caseapp.services import Desk
from ui.settings_store import SettingsStore


def test_the_window_gets_the_settings_and_the_file_and_saving_keeps_overrides_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    config = tmp_path / "desk.toml"
    config.write_text('timezone = "America/Chicago"\n')
    run_db = f"sqlite:///{tmp_path / 'this-run.sqlite3'}"
    seen: dict[str, object] = {}

    def open_window(desk: Desk, *, settings: Settings | None = None,
                    config_file: Path | None = None) -> int:
        seen.update(desk=desk.database_label, settings=settings, config_file=config_file)
        desk.close()
        return 0

    assert main(["--config", str(config), "--db", run_db, "--user", "maria", "gui"],
                open_window=open_window) == 0
    settings = seen["settings"]
    assert isinstance(settings, Settings)
    assert seen["config_file"] == config
    assert settings.database_url == run_db and settings.timezone == "America/Chicago"

    store = SettingsStore(settings, config)
    mail = MailSettings(imap_host="imap.example.com", imap_user="privacy@example.com")
    assert store.save_mail(mail) == config
    written = tomllib.loads(config.read_text())
    assert written["timezone"] == "America/Chicago"
    assert "database_url" not in written and "user" not in written  # this run's only
    assert written["mail"]["imap_host"] == "imap.example.com"
    assert store.mail == mail and store.settings.database_url == run_db
