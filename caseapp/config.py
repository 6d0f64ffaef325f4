"""Settings and where things live.

Data (the embedded database, its backups, stored documents) goes to the platform's user
data folder, settings to the user config folder (platformdirs). ``CASEAPP_HOME`` moves
both under one folder, which is how tests and portable installs keep them apart.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from caseapp.clock import DEFAULT_TIMEZONE
from caseapp.errors import ConfigError

APP_NAME = "caseapp"


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    config_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.toml"

    @property
    def default_database(self) -> Path:
        return self.data_dir / "cases.sqlite3"

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"

    @staticmethod
    def for_user() -> Paths:
        home = os.environ.get("CASEAPP_HOME")
        if home:
            base = Path(home).expanduser()
            return Paths(data_dir=base / "data", config_dir=base / "config")
        return Paths(
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        )


@dataclass(frozen=True)
class Settings:
    """What the settings file holds, with the defaults a new desk starts from."""

    paths: Paths
    database_url: str = ""
    timezone: str = DEFAULT_TIMEZONE
    user: str = field(default_factory=lambda: current_os_user())

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.paths.default_database}"

    def with_overrides(
        self, *, database_url: str | None = None, user: str | None = None
    ) -> Settings:
        updated = self
        if database_url:
            updated = replace(updated, database_url=database_url)
        if user:
            updated = replace(updated, user=user)
        return updated


def current_os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a bare container
        return "staff"


def load_settings(config_file: Path | None = None) -> Settings:
    """Read the settings file (if any) and return settings with defaults filled in."""
    base_paths = Paths.for_user()
    file = config_file or base_paths.settings_file
    settings = Settings(paths=base_paths)
    if config_file is not None and not config_file.exists():
        raise ConfigError(f"Settings file not found: {config_file}")
    if not file.exists():
        return settings
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror})") from exc
    known = {"database_url", "timezone", "user"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{file}: unknown setting(s): {', '.join(unknown)}")
    for key in known & set(data):
        if not isinstance(data[key], str):
            raise ConfigError(f"{file}: '{key}' must be a string")
    return replace(
        settings,
        database_url=data.get("database_url", ""),
        timezone=data.get("timezone", DEFAULT_TIMEZONE),
        user=data.get("user", settings.user),
    )
