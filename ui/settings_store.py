"""The settings file as the window sees it: read once, the mailbox part saved back.

The command line hands the window the Settings it loaded (with ``--db`` / ``--user``
applied) and the settings file it came from (``--config``). Saving the mailbox reads the
file again and replaces only its ``[mail]`` table, so a ``--db`` given for this run is
never written into the file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from caseapp.config import (
    MailSettings,
    SecuritySettings,
    Settings,
    load_settings,
    save_settings,
)


class SettingsStore:
    def __init__(self, settings: Settings | None = None, config_file: Path | None = None
                 ) -> None:
        self._settings = settings
        self.config_file = config_file

    @property
    def settings(self) -> Settings:
        """The settings of this run (the file is read on first use if none were given)."""
        if self._settings is None:
            self._settings = load_settings(self.config_file)
        return self._settings

    @property
    def mail(self) -> MailSettings:
        return self.settings.mail

    def save_mail(self, mail: MailSettings) -> Path:
        """Write ``mail`` into the settings file (the rest of the file as it is there)."""
        on_disk = load_settings(self.config_file)
        file = save_settings(replace(on_disk, mail=mail), self.config_file)
        self._settings = replace(self.settings, mail=mail)
        return file

    def save_security(self, security: SecuritySettings) -> Path:
        """Write ``security`` into the settings file (the rest of it as it is there)."""
        on_disk = (Settings(paths=self.settings.paths)  # a new file of its own
                   if self.config_file is not None and not self.config_file.exists()
                   else load_settings(self.config_file))
        file = save_settings(replace(on_disk, security=security), self.config_file)
        self._settings = replace(self.settings, security=security)
        return file
