"""Choosing the case database: checking an address before using it, and the keyring
password of a shared (PostgreSQL) desk's login.

``check_database(url)`` connects once (nothing is written) and says what it found: the
server, whether the connection is encrypted, whether the schema is this caseapp's, and
for SQLite whether the file is on a network share (refused: caseapp.db.sharing). The
window's Settings → Database… runs it in the background; ``caseapp db check`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text
from sqlalchemy.engine import URL, make_url

from caseapp.db.engine import Database, is_sqlite
from caseapp.db.migrate import needs_upgrade
from caseapp.db.postgres import keyring_password, secret_name
from caseapp.db.sharing import refuse_network_share
from caseapp.errors import InvalidInput, UserError
from caseapp.secrets import delete_secret, store_secret


@dataclass(frozen=True)
class DatabaseCheck:
    ok: bool
    where: str  # the address without a password
    server: str = ""
    encrypted: str = ""  # "TLS (TLSv1.3)", "no (this machine)", "" for SQLite
    schema: str = ""  # "ready", "needs caseapp init", ...
    problem: str = ""
    clock_offset: float | None = None
    """Seconds the server's clock is ahead of this workstation's (PostgreSQL only)."""

    def sentence(self) -> str:
        if not self.ok:
            return f"Cannot use {self.where}: {self.problem}"
        parts = [f"Connected to {self.where}", self.server]
        if self.encrypted:
            parts.append(f"encrypted: {self.encrypted}")
        parts.append(f"schema: {self.schema}")
        sentence = "; ".join(p for p in parts if p) + "."
        skew = clock_warning(self.clock_offset)
        return f"{sentence} {skew}" if skew else sentence


CLOCK_TOLERANCE_S = 60
"""Clocks further apart than this make claims unfair: a case's lease (15 minutes by
default) is written and read by each workstation's own clock."""


def clock_warning(offset: float | None) -> str:
    """What to tell staff when this workstation's clock is off the server's ("" if not)."""
    if offset is None or abs(offset) <= CLOCK_TOLERANCE_S:
        return ""
    side = "behind" if offset > 0 else "ahead of"
    return (f"Warning: this workstation's clock is {_duration(abs(offset))} {side} the "
            "database server's. "
            "Who holds a case is decided by the clocks, so a claim may run out early or "
            "late: turn on automatic time (NTP) on this workstation.")


def _duration(seconds: float) -> str:
    """"45 s", "4 min", "3 min 20 s", "2 h 5 min", "3 days 2 h": the two largest units."""
    total = round(seconds)
    units = (("day", 86_400), ("h", 3_600), ("min", 60), ("s", 1))
    parts: list[str] = []
    for name, size in units:
        count, total = divmod(total, size)
        if count or parts:
            parts.append(f"{count} {name}{'s' if name == 'day' and count != 1 else ''}")
        if len(parts) == 2:
            break
    if not parts:
        return "0 s"
    return " ".join([parts[0], *(part for part in parts[1:] if not part.startswith("0 "))])


def _where(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def check_database(url: str) -> DatabaseCheck:
    where = _where(url)
    try:
        refuse_network_share(url)
        db = Database(url)
    except UserError as error:
        return DatabaseCheck(False, where, problem=error.message)
    try:
        with db.engine.connect() as connection:
            if db.is_sqlite:
                version = connection.exec_driver_sql("SELECT sqlite_version()").scalar()
                server, encrypted = f"SQLite {version}", ""
            else:
                server = str(connection.execute(text("SHOW server_version")).scalar())
                server = f"PostgreSQL {server}"
                row = connection.execute(text(
                    "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                ).first()
                encrypted = (f"TLS ({row[1]})" if row is not None and row[0] else
                             "no (a server on this machine)")
                offset = clock_offset(connection)
        schema = "needs caseapp init (create or upgrade)" if needs_upgrade(db) else "ready"
        return DatabaseCheck(True, where, server, encrypted, schema,
                             clock_offset=None if db.is_sqlite else offset)
    except UserError as error:
        return DatabaseCheck(False, where, problem=error.message)
    except Exception as error:  # the driver's own words: wrong host, password, CA...
        detail = str(getattr(error, "orig", error)).strip().splitlines()
        return DatabaseCheck(False, where, problem=detail[0] if detail else repr(error))
    finally:
        db.dispose()


def clock_offset(connection: Connection) -> float:
    """Seconds the PostgreSQL server's clock is ahead of this machine's (the round trip's
    midpoint taken as the moment the server read its clock)."""
    before = datetime.now(UTC)
    server: datetime = connection.execute(text("SELECT clock_timestamp()")).scalar_one()
    after = datetime.now(UTC)
    return float((server - (before + (after - before) / 2)).total_seconds())


def _login_url(url: str) -> URL:
    if is_sqlite(url):
        raise InvalidInput("An embedded SQLite database has no password: only a shared "
                           "PostgreSQL desk's login has one.")
    parsed = make_url(url)
    if not parsed.username:
        raise InvalidInput("The database address names no user (postgresql+psycopg://USER@"
                           "HOST/DATABASE): the password belongs to a login.")
    return parsed


def password_secret_name(url: str) -> str:
    """The keyring entry of the login's password (``postgresql:USER@HOST:PORT/DB``)."""
    return secret_name(_login_url(url))


def store_password(url: str, password: str) -> str:
    """Keep the login's password in the keyring (never in a file); return its name."""
    name = password_secret_name(url)
    if not password:
        raise InvalidInput("The password is empty.")
    store_secret(name, password)
    return name


def forget_password(url: str) -> str:
    name = password_secret_name(url)
    delete_secret(name)
    return name


def password_stored(url: str) -> bool:
    try:
        return bool(keyring_password(_login_url(url)))
    except UserError:
        return False
