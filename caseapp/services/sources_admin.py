"""Looking after the sources file (the customer systems the desk searches), for the
Settings → Customer systems dialog and the ``caseapp sources`` command alike.

Nothing here needs a Desk or the case database: the file is read, checked and written,
the systems are tried, and a database system's password goes to (or leaves) the keyring
secret ``source:NAME``. A text that does not load is refused with
:class:`SourcesTextError` (a ConfigError that also carries the line and the reason) and
nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from caseapp.config import Paths
from caseapp.errors import ConfigError, InvalidInput
from caseapp.files import write_text_atomically
from caseapp.records.connect import SecretLookup, check_source
from caseapp.records.sources import (
    DATA_DIR_PLACEHOLDER,
    SECRET_PREFIX,
    Source,
    SourceKind,
    SourcesConfig,
    parse_sources,
)
from caseapp.resources import resources_dir
from caseapp.secrets import SecretStoreUnavailable, delete_secret, get_secret, store_secret

PasswordState = Literal["not_needed", "stored", "not_stored", "unknown"]
CheckState = Literal["ok", "unreachable", "schema_mismatch", "manual"]
CheckProgress = Callable[[int, int, str], None]
"""(systems done, systems in all, label of the one being tried now)."""

EXAMPLE_NAME = "sources.example.toml"


class SourcesTextError(ConfigError):
    """The sources text does not load; ``line`` (1-based, or None) and ``reason`` say why."""

    def __init__(self, message: str, line: int | None, reason: str) -> None:
        super().__init__(message)
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class SourcesFileView:
    path: Path
    text: str
    """The file's text; the example's when there is no file yet."""
    exists: bool


@dataclass(frozen=True)
class SystemSummary:
    name: str
    label: str
    kind: SourceKind
    where: str
    """The URL as written (never a password), or who searches a manual system."""
    tables: int
    password: PasswordState
    password_note: str = ""
    """Why the keyring could not be asked (``password == "unknown"``)."""
    line: int | None = None

    @property
    def needs_password(self) -> bool:
        return self.password != "not_needed"

    @property
    def password_stored(self) -> bool:
        return self.password == "stored"


@dataclass(frozen=True)
class SystemCheck:
    name: str
    label: str
    state: CheckState
    problems: tuple[str, ...] = ()

    @property
    def reachable(self) -> bool | None:
        """None for a system searched by hand (nothing to reach)."""
        return None if self.state == "manual" else self.state != "unreachable"

    @property
    def searchable(self) -> bool:
        return self.state in ("ok", "manual")

    def verdict(self) -> str:
        if self.state == "ok":
            return "reachable"
        if self.state == "manual":
            return "searched by hand"
        detail = "; ".join(self.problems)
        if self.state == "unreachable":
            return f"NOT reachable: {detail}" if detail else "NOT reachable"
        return f"reachable, but {detail}"


@dataclass(frozen=True)
class SavedSources:
    path: Path
    backup: Path | None
    """The previous file, kept beside it as ``NAME.bak`` (None if there was none)."""
    systems: tuple[SystemSummary, ...]


# --- reading and checking ----------------------------------------------------------------


def read_sources_file(path: Path) -> SourcesFileView:
    """The file's text, or the example's when there is no file yet (to start from)."""
    if not path.exists():
        example = resources_dir() / EXAMPLE_NAME
        return SourcesFileView(path, _read(example), exists=False)
    return SourcesFileView(path, _read(path), exists=True)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # as load_sources: a BOM is fine
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: is not UTF-8 text ({exc.reason} at byte {exc.start})") \
            from exc


def parse_sources_text(text: str, path: Path) -> SourcesConfig:
    """parse_sources, with the refusal as a SourcesTextError (line and reason apart)."""
    try:
        return parse_sources(text, path)
    except ConfigError as error:
        raise _text_error(error.message, path) from None


def _text_error(message: str, path: Path) -> SourcesTextError:
    # The loader writes "FILE, line N: reason" or "FILE: reason"; FILE is ours, so the
    # prefix is cut exactly rather than guessed by a pattern.
    prefix = str(path)
    rest = message[len(prefix):] if message.startswith(prefix) else message
    if rest.startswith(", line "):
        number, _, reason = rest[len(", line "):].partition(": ")
        if number.isdigit():
            return SourcesTextError(message, int(number), reason)
    return SourcesTextError(message, None, rest.removeprefix(": "))


def validate_sources_text(text: str, path: Path,
                          secret: SecretLookup = get_secret) -> list[SystemSummary]:
    """The systems the text describes; SourcesTextError if it does not load."""
    config = parse_sources_text(text, path)
    return [_summary(source, secret) for source in config.sources]


def _summary(source: Source, secret: SecretLookup) -> SystemSummary:
    if source.manual is not None:
        owner = source.manual.owner
        contact = f" ({source.manual.owner_contact})" if source.manual.owner_contact else ""
        return SystemSummary(source.name, source.label, "manual", f"by hand: {owner}{contact}",
                             0, "not_needed", line=source.line)
    password: PasswordState = "not_needed"
    note = ""
    if _user(source):
        try:
            password = "stored" if secret(source.secret_name) is not None else "not_stored"
        except SecretStoreUnavailable as error:
            password, note = "unknown", error.message
    return SystemSummary(source.name, source.label, "database", _shown_url(source),
                         len(source.tables), password, note, source.line)


def _parsed_url(source: Source) -> URL | None:
    try:
        return make_url((source.url or "").replace(DATA_DIR_PLACEHOLDER, "/data"))
    except (ArgumentError, ValueError):
        return None


def _user(source: Source) -> str:
    """The user the URL logs in as; a password is only ever used with one."""
    url = _parsed_url(source)
    return (url.username or "") if url is not None else ""


def _shown_url(source: Source) -> str:
    url = source.url or ""
    # The loader refuses a URL with a password; masked again so no display can leak one.
    parsed = _parsed_url(source)
    password = parsed.password if parsed is not None else None
    return url.replace(str(password), "***") if password else url


# --- saving ------------------------------------------------------------------------------


def save_sources_text(text: str, path: Path,
                      secret: SecretLookup = get_secret) -> SavedSources:
    """Check ``text``, then write it to ``path`` atomically, the previous file kept as
    ``NAME.bak``. A text that does not load raises SourcesTextError; nothing is written."""
    systems = tuple(validate_sources_text(text, path, secret))
    backup = write_text_atomically(path, text)
    return SavedSources(path, backup, systems)


# --- trying the systems ------------------------------------------------------------------


def check_systems(path: Path, data_dir: Path, secret: SecretLookup = get_secret,
                  progress: CheckProgress | None = None) -> tuple[SystemCheck, ...]:
    """Try every system of the file (connect, then its tables and columns), in file order.

    One unreachable system never stops the others (records.connect.check_source).
    ``progress`` is called before each system; an exception it raises (a cancel) ends
    the check there.
    """
    config = parse_sources_text(_existing_text(path), path)
    total = len(config.sources)
    checks: list[SystemCheck] = []
    for done, source in enumerate(config.sources):
        if progress is not None:
            progress(done, total, source.label)
        status = check_source(source, data_dir, secret)
        # The label is shown beside the problems already: not repeated inside them.
        problems = tuple(p.removeprefix(f"{status.label}: ") for p in status.problems)
        checks.append(SystemCheck(status.name, status.label, status.state, problems))
    if progress is not None:
        progress(total, total, "")
    return tuple(checks)


def _existing_text(path: Path) -> str:
    """The file's text; a ConfigError saying how to start one if there is none."""
    if not path.exists():
        raise ConfigError(f"No sources file at {path}: describe the customer systems there "
                          f"(start from resources/{EXAMPLE_NAME}), or run caseapp init "
                          "--demo for the demo systems.")
    return _read(path)


# --- passwords ---------------------------------------------------------------------------


def _database_source(name: str, path: Path) -> Source:
    config = parse_sources_text(_existing_text(path), path)
    try:
        source = config.source(name)
    except KeyError:
        known = ", ".join(s.name for s in config.sources)
        raise InvalidInput(f"There is no customer system '{name}' in {path} (the systems "
                           f"there: {known}).") from None
    if source.manual is not None:
        raise InvalidInput(f"'{name}' ({source.label}) is searched by hand: it has no "
                           "password.")
    if not _user(source):
        raise InvalidInput(f"The url of '{name}' ({source.label}) names no user, so no "
                           "password is used; write the user into the url (e.g. "
                           "postgresql+psycopg://reader@host/db) first.")
    return source


def password_system(name: str, path: Path | None = None) -> SystemSummary:
    """The database system of the file a password would be for; refused like
    store_source_password (so nobody types a password only to have it refused)."""
    return _summary(_database_source(name, path or Paths.for_user().sources_file), get_secret)


def store_source_password(name: str, password: str,
                          path: Path | None = None) -> SystemSummary:
    """Keep ``password`` as the keyring secret ``source:NAME`` of a database system of
    the file (default: the user's); an unknown or manual system, or an empty password,
    is refused. A keyring that is not secure raises SecretStoreUnavailable (nothing
    stored)."""
    source = _database_source(name, path or Paths.for_user().sources_file)
    if not password:
        raise InvalidInput("No password given; nothing was stored.")
    store_secret(source.secret_name, password)
    return _summary(source, get_secret)


def forget_source_password(name: str, path: Path | None = None) -> bool:
    """Remove the keyring secret ``source:NAME``; False if none was stored.

    A name the file no longer has is accepted only while a password is still stored
    for it (cleaning up after a system was removed); otherwise it is refused.
    """
    secret_name = f"{SECRET_PREFIX}{name}"
    try:
        _database_source(name, path or Paths.for_user().sources_file)
    except InvalidInput:
        if get_secret(secret_name) is None:
            raise
    if get_secret(secret_name) is None:
        return False
    delete_secret(secret_name)
    return True
