"""Settings and where things live.

Data (the embedded database, its backups, stored documents) goes to the platform's user
data folder, settings to the user config folder (platformdirs). ``CASEAPP_HOME`` moves
both under one folder, which is how tests and portable installs keep them apart.

The settings file is TOML: top-level ``database_url``, ``timezone``, ``user``, a
``[mail]`` table for the IMAP mailbox (:class:`MailSettings`), an ``[smtp]`` table for
outgoing mail (:class:`SmtpSettings`; files written before it existed load unchanged) and
a ``[retention]`` table for the scheduled purge (:class:`RetentionSettings`) and a
``[backup]`` table for the scheduled backups (:class:`BackupSettings`).
No password is ever in it: each is the keyring secret named by the settings'
``secret_name`` (``caseapp.secrets``). :func:`save_settings` rewrites the whole file
atomically.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

import platformdirs

from caseapp.clock import DEFAULT_TIMEZONE
from caseapp.errors import ConfigError
from caseapp.files import write_text_atomically

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

    @property
    def sources_file(self) -> Path:
        """The customer systems to search (records/sources.py); see sources.example.toml."""
        return self.config_dir / "sources.toml"

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


MailSecurity = Literal["ssl", "starttls", "none"]
MAIL_SECURITY: tuple[MailSecurity, ...] = ("ssl", "starttls", "none")
# Where a password may travel unencrypted (imap_security = "none"): this machine only.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_POLL_MINUTES = 24 * 60


def default_imap_port(security: str) -> int:
    """993 for IMAP over TLS; 143 for STARTTLS and plain IMAP."""
    return 993 if security == "ssl" else 143


@dataclass(frozen=True)
class MailSettings:
    """The privacy mailbox (IMAP). An empty host or user means: not set up.

    The password is not here: it is the keyring secret :attr:`secret_name`.
    Values are checked on creation; a bad one raises :class:`ConfigError`.
    """

    imap_host: str = ""
    imap_port: int = 993
    imap_user: str = ""
    imap_folder: str = "INBOX"
    imap_security: MailSecurity = "ssl"
    poll_minutes: int = 0  # 0 = no automatic polling

    def __post_init__(self) -> None:
        problem = _mail_problem(self)
        if problem:
            raise ConfigError(problem)

    @property
    def configured(self) -> bool:
        return bool(self.imap_host and self.imap_user)

    @property
    def secret_name(self) -> str:
        """The keyring name of this mailbox's password: ``imap:{user}@{host}``."""
        return f"imap:{self.imap_user}@{self.imap_host}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _mail_problem(mail: MailSettings) -> str | None:
    host = mail.imap_host
    if "://" in host or "/" in host:
        return (f"imap_host must be the server's name only, such as imap.example.com, "
                f"without a scheme or path (got {host!r})")
    if host != host.strip() or any(c.isspace() for c in host):
        return f"imap_host must not contain spaces (got {host!r})"
    if mail.imap_user != mail.imap_user.strip():
        return f"imap_user must not start or end with spaces (got {mail.imap_user!r})"
    if not _is_int(mail.imap_port) or not 1 <= mail.imap_port <= 65535:
        return f"imap_port must be a whole number from 1 to 65535 (got {mail.imap_port!r})"
    if not mail.imap_folder.strip():
        return "imap_folder must name a folder, e.g. \"INBOX\""
    if mail.imap_security not in MAIL_SECURITY:
        return (f"imap_security must be \"ssl\", \"starttls\" or \"none\" "
                f"(got {mail.imap_security!r})")
    if (mail.imap_security == "none" and host
            and host.lower().strip("[]") not in LOOPBACK_HOSTS):
        return (f"imap_security = \"none\" would send the mailbox password unencrypted; it is "
                f"allowed only for a server on this machine (127.0.0.1 or localhost), not "
                f"for {host}. Use \"ssl\" (usually port 993) or \"starttls\" (usually 143)")
    if not _is_int(mail.poll_minutes) or not 0 <= mail.poll_minutes <= MAX_POLL_MINUTES:
        return (f"poll_minutes must be a whole number of minutes from 0 (no automatic "
                f"polling) to {MAX_POLL_MINUTES} (got {mail.poll_minutes!r})")
    return None


SmtpSecurity = Literal["starttls", "ssl", "none"]
SMTP_SECURITY: tuple[SmtpSecurity, ...] = ("starttls", "ssl", "none")


def default_smtp_port(security: str) -> int:
    """587 (submission) for STARTTLS, 465 for SMTP over TLS, 25 for plain SMTP."""
    return {"ssl": 465, "none": 25}.get(security, 587)


@dataclass(frozen=True)
class SmtpSettings:
    """The server letters are emailed through (SMTP submission). An empty host or from
    address means: not set up. No ``user`` means the server takes mail without a login
    (a relay that trusts the workstation).

    The password is not here: it is the keyring secret :attr:`secret_name`.
    Values are checked on creation; a bad one raises :class:`ConfigError`.
    """

    host: str = ""
    port: int = 587
    security: SmtpSecurity = "starttls"
    user: str = ""
    from_address: str = ""
    from_name: str = ""

    def __post_init__(self) -> None:
        problem = _smtp_problem(self)
        if problem:
            raise ConfigError(problem)

    @property
    def configured(self) -> bool:
        return bool(self.host and self.from_address)

    @property
    def secret_name(self) -> str:
        """The keyring name of the login's password: ``smtp:{user}@{host}``."""
        return f"smtp:{self.user}@{self.host}"

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def _smtp_problem(smtp: SmtpSettings) -> str | None:
    host = smtp.host
    if "://" in host or "/" in host:
        return (f"The SMTP server must be its name only, such as smtp.example.com, without "
                f"a scheme or path (got {host!r})")
    if host != host.strip() or any(c.isspace() for c in host):
        return f"The SMTP server name must not contain spaces (got {host!r})"
    if not _is_int(smtp.port) or not 1 <= smtp.port <= 65535:
        return f"The SMTP port must be a whole number from 1 to 65535 (got {smtp.port!r})"
    if smtp.security not in SMTP_SECURITY:
        return (f"The SMTP security must be \"starttls\", \"ssl\" or \"none\" "
                f"(got {smtp.security!r})")
    if (smtp.security == "none" and host
            and host.lower().strip("[]") not in LOOPBACK_HOSTS):
        return (f"SMTP security \"none\" would send letters (and the password) unencrypted; "
                f"it is allowed only for a server on this machine (127.0.0.1 or localhost), "
                f"not for {host}. Use \"starttls\" (usually port 587) or \"ssl\" (465)")
    if smtp.user != smtp.user.strip() or any(c in smtp.user for c in "\r\n"):
        return f"The SMTP user must not start or end with spaces (got {smtp.user!r})"
    address = smtp.from_address
    if address and not _looks_like_address(address):
        return (f"The from address must be one email address such as privacy@example.com "
                f"(got {address!r})")
    if any(c in smtp.from_name for c in "\r\n"):
        return "The from name must be one line"
    return None


def _looks_like_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return (bool(at and local and domain) and "." in domain.strip(".")
            and not any(c.isspace() or c in '<>,;"()' for c in address))


RetentionPurge = Literal["daily", "off"]
RETENTION_PURGE: tuple[RetentionPurge, ...] = ("daily", "off")


@dataclass(frozen=True)
class RetentionSettings:
    """``[retention]``: when the personal information of cases closed more than 24 months
    ago is purged (caseapp.services.retention; irreversible, each case audited).

    ``purge = "daily"`` (the default): an administrator's window purges what is due once a
    day in the background (shortly after it opens, then every 24 hours) and says so in
    the status bar. ``"off"``: only by hand (Settings → Retention…, ``caseapp purge
    --run``) or by a cron job / systemd timer running ``caseapp purge --run --yes``; e.g.
    while a legal hold stops the purge.
    """

    purge: RetentionPurge = "daily"

    def __post_init__(self) -> None:
        if self.purge not in RETENTION_PURGE:
            raise ConfigError(f"[retention] purge must be \"daily\" or \"off\" "
                              f"(got {self.purge!r})")


LOCK_MINUTES_MAX = 24 * 60


@dataclass(frozen=True)
class SecuritySettings:
    """``[security]``: ``lock_after_minutes``, the idle time after which the window hides
    every case behind the screen lock until its user types their unlock passphrase
    (ui/screen_lock.py; the passphrase is chosen in Settings → Screen lock…). 0 turns the
    idle lock off; Lock now (Ctrl+Alt+L) still works once a passphrase is set."""

    lock_after_minutes: int = 10

    def __post_init__(self) -> None:
        if (isinstance(self.lock_after_minutes, bool)
                or not isinstance(self.lock_after_minutes, int)
                or not 0 <= self.lock_after_minutes <= LOCK_MINUTES_MAX):
            raise ConfigError(f"[security] lock_after_minutes must be a whole number of "
                              f"minutes from 0 (off) to {LOCK_MINUTES_MAX} "
                              f"(got {self.lock_after_minutes!r})")


MAX_BACKUP_HOURS = 7 * 24
MAX_BACKUPS_KEPT = 1000


@dataclass(frozen=True)
class BackupSettings:
    """``[backup]``: the scheduled backups of the case database (caseapp.services.backup).

    ``folder``: where they go ("" = the data folder's ``backups``, beside the copies made
    before upgrades). ``every_hours``: a backup when the newest scheduled one is older
    than this (24 = daily, the default; 0 = none). ``keep``: how many scheduled backups
    are kept (the oldest beyond are deleted). The window makes them in the background
    for the embedded database (checked every hour); a cron job running ``caseapp backup
    --scheduled`` does the same without a window, and is the way for a PostgreSQL desk.
    """

    folder: str = ""
    every_hours: int = 24
    keep: int = 7

    def __post_init__(self) -> None:
        problem = _backup_problem(self)
        if problem:
            raise ConfigError(problem)

    def folder_path(self, paths: Paths) -> Path:
        return Path(self.folder).expanduser() if self.folder.strip() else paths.backup_dir


def _backup_problem(backup: BackupSettings) -> str | None:
    if not isinstance(backup.folder, str) or any(c in backup.folder for c in "\r\n\0"):
        return "[backup] folder must be one folder's path in quotes"
    if not _is_int(backup.every_hours) or not 0 <= backup.every_hours <= MAX_BACKUP_HOURS:
        return (f"[backup] every_hours must be a whole number of hours from 0 (no scheduled "
                f"backups) to {MAX_BACKUP_HOURS} (got {backup.every_hours!r})")
    if not _is_int(backup.keep) or not 1 <= backup.keep <= MAX_BACKUPS_KEPT:
        return (f"[backup] keep must be a whole number of backups from 1 to "
                f"{MAX_BACKUPS_KEPT} (got {backup.keep!r})")
    return None


DATABASE_SSLMODES = ("verify-full", "verify-ca", "require", "disable")
MIN_CLAIM_MINUTES, MAX_CLAIM_MINUTES = 1, 8 * 60


@dataclass(frozen=True)
class DatabaseSettings:
    """``[database]``: how a shared PostgreSQL desk is reached, and how long a claim on a
    case holds (caseapp.services.claims) unless the holder's window renews it.

    ``sslmode`` ("" = verify-full for a server on another machine; caseapp.db.postgres
    refuses settings that could fall back to clear text) and ``sslrootcert`` (the CA
    that signed the server's certificate) go into the connection address. The password
    is never here: it is the keyring secret of the login (``caseapp db password``).
    """

    sslmode: str = ""
    sslrootcert: str = ""
    claim_minutes: int = 15

    def __post_init__(self) -> None:
        if self.sslmode and self.sslmode not in DATABASE_SSLMODES:
            raise ConfigError(f"[database] sslmode must be one of "
                              f"{', '.join(DATABASE_SSLMODES)} (got {self.sslmode!r})")
        if not _is_int(self.claim_minutes) or not (
                MIN_CLAIM_MINUTES <= self.claim_minutes <= MAX_CLAIM_MINUTES):
            raise ConfigError(f"[database] claim_minutes must be a whole number of minutes "
                              f"from {MIN_CLAIM_MINUTES} to {MAX_CLAIM_MINUTES} "
                              f"(got {self.claim_minutes!r})")

    def apply_to(self, url: str) -> str:
        """``url`` with sslmode/sslrootcert added (PostgreSQL only; the URL's own win)."""
        if not url.startswith(("postgresql", "postgres")) or not (
                self.sslmode or self.sslrootcert):
            return url
        from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        if self.sslmode:
            query.setdefault("sslmode", self.sslmode)
        if self.sslrootcert:
            query.setdefault("sslrootcert", self.sslrootcert)
        return urlunsplit(parts._replace(query=urlencode(query)))


def url_password_problem(url: str) -> str | None:
    """Why a database URL may not be kept in the settings file (it holds a password)."""
    from urllib.parse import urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    if password:
        return ("database_url holds a password: take it out of the settings file and "
                "store it in the keyring instead (caseapp db password, or Settings → "
                "Database…)")
    return None


@dataclass(frozen=True)
class Settings:
    """What the settings file holds, with the defaults a new desk starts from."""

    paths: Paths
    database_url: str = ""
    timezone: str = DEFAULT_TIMEZONE
    user: str = field(default_factory=lambda: current_os_user())
    mail: MailSettings = field(default_factory=MailSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database.apply_to(self.database_url)
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
    # [database] and a database_url holding a password (caseapp.db.postgres).
    database = (_load_database(file, data.pop("database")) if "database" in data
                else DatabaseSettings())
    problem = url_password_problem(str(data.get("database_url", "")))
    if problem:
        raise ConfigError(f"{file}: {problem}")
    known = {"database_url", "timezone", "user", "mail", "smtp", "retention", "security",
             "backup"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{file}: unknown setting(s): {', '.join(unknown)}")
    for key in known & set(data) - {"mail", "smtp", "retention", "security", "backup"}:
        if not isinstance(data[key], str):
            raise ConfigError(f"{file}: '{key}' must be a string")
    mail = _load_mail(file, data["mail"]) if "mail" in data else MailSettings()
    smtp = _load_smtp(file, data["smtp"]) if "smtp" in data else SmtpSettings()
    retention = (_load_retention(file, data["retention"]) if "retention" in data
                 else RetentionSettings())
    security = (_load_security(file, data["security"]) if "security" in data
                else SecuritySettings())
    backup = _load_backup(file, data["backup"]) if "backup" in data else BackupSettings()
    return replace(
        settings,
        database_url=data.get("database_url", ""),
        timezone=data.get("timezone", DEFAULT_TIMEZONE),
        user=data.get("user", settings.user),
        mail=mail,
        smtp=smtp,
        retention=retention,
        security=security,
        backup=backup,
        database=database,
    )


_DATABASE_KEYS = ("sslmode", "sslrootcert", "claim_minutes")


def _load_database(file: Path, table: object) -> DatabaseSettings:
    where = f"{file}: [database]"
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: 'database' must be a table ([database] with sslmode, "
                          "sslrootcert, claim_minutes)")
    unknown = sorted(set(table) - set(_DATABASE_KEYS))
    if unknown:
        raise ConfigError(f"{where} unknown setting(s): {', '.join(unknown)} "
                          f"(known: {', '.join(_DATABASE_KEYS)})")
    for key, value in table.items():
        if key != "claim_minutes" and not isinstance(value, str):
            raise ConfigError(f"{where} '{key}' must be a string in quotes")
    try:
        return DatabaseSettings(**table)
    except ConfigError as error:
        raise ConfigError(f"{file}: {error.message}") from None


def save_database_settings(database_url: str, database: DatabaseSettings,
                           config_file: Path | None = None) -> Path:
    """Replace only ``database_url`` and ``[database]`` in the settings file (read again
    first); a URL with a password is refused (the password goes to the keyring)."""
    problem = url_password_problem(database_url)
    if problem:
        raise ConfigError(problem)
    if config_file is not None and not config_file.exists():
        on_disk = Settings(paths=Paths.for_user())
    else:
        on_disk = load_settings(config_file)
    return save_settings(replace(on_disk, database_url=database_url, database=database),
                         config_file)


_MAIL_KEYS = ("imap_host", "imap_port", "imap_user", "imap_folder", "imap_security",
              "poll_minutes")
_MAIL_STRINGS = frozenset({"imap_host", "imap_user", "imap_folder", "imap_security"})


def _load_mail(file: Path, table: object) -> MailSettings:
    where = f"{file}: [mail]"
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: 'mail' must be a table ([mail] with imap_host, imap_user …)")
    unknown = sorted(set(table) - set(_MAIL_KEYS))
    if unknown:
        raise ConfigError(f"{where} unknown setting(s): {', '.join(unknown)} "
                          f"(known: {', '.join(_MAIL_KEYS)})")
    for key, value in table.items():
        if key in _MAIL_STRINGS and not isinstance(value, str):
            raise ConfigError(f"{where} '{key}' must be a string in quotes")
        if key not in _MAIL_STRINGS and not _is_int(value):
            raise ConfigError(f"{where} '{key}' must be a whole number (got {value!r})")
    for key, example in (("imap_host", "imap.example.com"), ("imap_user", "privacy@example.com")):
        if not str(table.get(key, "")).strip():
            raise ConfigError(f"{where} needs '{key}' (e.g. {key} = \"{example}\")")
    values: dict[str, Any] = dict(table)
    security = values.get("imap_security", "ssl")
    values.setdefault("imap_port", default_imap_port(security))
    try:
        return MailSettings(**values)
    except ConfigError as error:
        raise ConfigError(f"{where} {error.message}") from None


_SMTP_KEYS = ("host", "port", "security", "user", "from_address", "from_name")


def _load_smtp(file: Path, table: object) -> SmtpSettings:
    where = f"{file}: [smtp]"
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: 'smtp' must be a table ([smtp] with host, from_address …)")
    unknown = sorted(set(table) - set(_SMTP_KEYS))
    if unknown:
        raise ConfigError(f"{where} unknown setting(s): {', '.join(unknown)} "
                          f"(known: {', '.join(_SMTP_KEYS)})")
    for key, value in table.items():
        if key != "port" and not isinstance(value, str):
            raise ConfigError(f"{where} '{key}' must be a string in quotes")
        if key == "port" and not _is_int(value):
            raise ConfigError(f"{where} 'port' must be a whole number (got {value!r})")
    for key, example in (("host", "smtp.example.com"), ("from_address", "privacy@example.com")):
        if not str(table.get(key, "")).strip():
            raise ConfigError(f"{where} needs '{key}' (e.g. {key} = \"{example}\")")
    values: dict[str, Any] = dict(table)
    values.setdefault("port", default_smtp_port(values.get("security", "starttls")))
    try:
        return SmtpSettings(**values)
    except ConfigError as error:
        raise ConfigError(f"{where} {error.message}") from None


def _load_retention(file: Path, table: object) -> RetentionSettings:
    where = f"{file}: [retention]"
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: 'retention' must be a table ([retention] with purge = "
                          "\"daily\" or \"off\")")
    unknown = sorted(set(table) - {"purge"})
    if unknown:
        raise ConfigError(f"{where} unknown setting(s): {', '.join(unknown)} (known: purge)")
    purge = table.get("purge", "daily")
    if purge not in RETENTION_PURGE:
        raise ConfigError(f"{where} purge must be \"daily\" or \"off\" (got {purge!r})")
    return RetentionSettings(purge=purge)


_BACKUP_KEYS = ("folder", "every_hours", "keep")


def _load_backup(file: Path, table: object) -> BackupSettings:
    where = f"{file}: [backup]"
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: 'backup' must be a table ([backup] with folder, "
                          "every_hours, keep)")
    unknown = sorted(set(table) - set(_BACKUP_KEYS))
    if unknown:
        raise ConfigError(f"{where} unknown setting(s): {', '.join(unknown)} "
                          f"(known: {', '.join(_BACKUP_KEYS)})")
    if "folder" in table and not isinstance(table["folder"], str):
        raise ConfigError(f"{where} 'folder' must be a string in quotes")
    try:
        return BackupSettings(**table)
    except ConfigError as error:
        raise ConfigError(f"{file}: {error.message}") from None


def save_backup_settings(backup: BackupSettings, config_file: Path | None = None) -> Path:
    """Replace only the ``[backup]`` table of the settings file; return the file."""
    if config_file is not None and not config_file.exists():
        on_disk = Settings(paths=Paths.for_user())
    else:
        on_disk = load_settings(config_file)
    return save_settings(replace(on_disk, backup=backup), config_file)


def _load_security(file: Path, table: object) -> SecuritySettings:
    where = f"{file}: [security]"
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: 'security' must be a table ([security] with "
                          "lock_after_minutes = 10)")
    unknown = sorted(set(table) - {"lock_after_minutes"})
    if unknown:
        raise ConfigError(f"{where} unknown setting(s): {', '.join(unknown)} "
                          "(known: lock_after_minutes)")
    try:
        return SecuritySettings(lock_after_minutes=table.get("lock_after_minutes", 10))
    except ConfigError as error:
        raise ConfigError(f"{file}: {error.message}") from None


def save_smtp_settings(smtp: SmtpSettings, config_file: Path | None = None) -> Path:
    """Replace only the ``[smtp]`` table of the settings file (read again first, so a
    ``--db`` given for this run is never written into it); return the file."""
    if config_file is not None and not config_file.exists():
        on_disk = Settings(paths=Paths.for_user())  # a new file of its own
    else:
        on_disk = load_settings(config_file)
    return save_settings(replace(on_disk, smtp=smtp), config_file)


def save_settings(settings: Settings, config_file: Path | None = None) -> Path:
    """Write ``settings`` to the settings file (or ``config_file``); return the path.

    The whole file is rewritten (comments in it are not kept) through a temporary file
    and an atomic rename, so a crash leaves the old file or the new one, never half of
    one. ``user`` is written only when it differs from the login name (so an account's
    name change is not frozen in). No password is ever written: a ``database_url``
    holding one (e.g. given with ``--db``) is refused with :class:`ConfigError`, and the
    file is left as it was (it would not load either).
    """
    problem = url_password_problem(settings.database_url)
    if problem:
        raise ConfigError(problem)
    file = config_file or settings.paths.settings_file
    write_text_atomically(file, settings_toml(settings), backup=False)
    return file


def settings_toml(settings: Settings) -> str:
    """The settings file's text for ``settings`` (only what differs from the defaults)."""
    lines = ["# caseapp settings (written by caseapp; the mail passwords are in the keyring)"]
    if settings.database_url:
        lines.append(f"database_url = {_toml_string(settings.database_url)}")
    if settings.timezone != DEFAULT_TIMEZONE:
        lines.append(f"timezone = {_toml_string(settings.timezone)}")
    if settings.user != current_os_user():
        lines.append(f"user = {_toml_string(settings.user)}")
    mail = settings.mail
    if mail.configured:
        lines.append("")
        lines.append("[mail]")
        for key in _MAIL_KEYS:
            value = cast(object, getattr(mail, key))
            rendered = _toml_string(value) if isinstance(value, str) else str(value)
            lines.append(f"{key} = {rendered}")
    smtp = settings.smtp
    if smtp.configured:
        lines.append("")
        lines.append("[smtp]")
        for key in _SMTP_KEYS:
            value = cast(object, getattr(smtp, key))
            rendered = _toml_string(value) if isinstance(value, str) else str(value)
            lines.append(f"{key} = {rendered}")
    if settings.retention != RetentionSettings():
        lines += ["", "[retention]", f"purge = {_toml_string(settings.retention.purge)}"]
    if settings.security != SecuritySettings():
        lines += ["", "[security]",
                  f"lock_after_minutes = {settings.security.lock_after_minutes}"]
    if settings.backup != BackupSettings():
        backup = settings.backup
        lines += ["", "[backup]", f"folder = {_toml_string(backup.folder)}",
                  f"every_hours = {backup.every_hours}", f"keep = {backup.keep}"]
    database = settings.database
    if database != DatabaseSettings():
        lines += ["", "[database]"]
        if database.sslmode:
            lines.append(f"sslmode = {_toml_string(database.sslmode)}")
        if database.sslrootcert:
            lines.append(f"sslrootcert = {_toml_string(database.sslrootcert)}")
        if database.claim_minutes != DatabaseSettings().claim_minutes:
            lines.append(f"claim_minutes = {database.claim_minutes}")
    return "\n".join(lines) + "\n"


_TOML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n",
                 "\f": "\\f", "\r": "\\r"}


def _toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in value:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
