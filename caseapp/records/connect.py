"""Reaching the systems a sources file names: URL and password, and a health check.

One system that cannot be reached never stops the desk: :func:`check_sources` reports
each source by name (reachable, unreachable and why, or tables/columns the file names
that the database lacks) and goes on with the others. Lookups build on the same calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.engine import URL, Inspector, make_url
from sqlalchemy.exc import SQLAlchemyError

from caseapp.errors import EnvironmentProblem
from caseapp.records.sources import Source, SourcesConfig, Table
from caseapp.secrets import get_secret

SecretLookup = Callable[[str], str | None]
CONNECT_TIMEOUT_SECONDS = 5


class SourceUnavailable(EnvironmentProblem):
    """A customer system cannot be reached now; the message names it and says why."""


def connection_url(source: Source, data_dir: Path,
                   secret: SecretLookup = get_secret) -> URL:
    """The source's URL with ``{data_dir}`` filled and, for a user without a password in
    the file, the password from the keyring secret ``source:<name>`` (if one is stored:
    a server may let the user in without one)."""
    url = make_url(source.url_for(data_dir))
    if url.username and url.password is None:
        password = secret(source.secret_name)
        if password is not None:
            url = url.set(password=password)
    return url


def open_engine(source: Source, data_dir: Path, secret: SecretLookup = get_secret) -> Engine:
    """An engine for a database source; SourceUnavailable if it cannot be set up."""
    url = connection_url(source, data_dir, secret)
    database = url.database or ""
    # SQLite would quietly create an empty file: a wrong path must say so instead.
    if (url.get_backend_name() == "sqlite" and database not in ("", ":memory:")
            and not Path(database).is_file()):
        raise SourceUnavailable(f"{source.label}: the database file {url.database} does "
                                    "not exist")
    connect_args: dict[str, object] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    try:
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except (SQLAlchemyError, ImportError, ValueError) as error:
        raise SourceUnavailable(f"{source.label}: {_reason(error, url)}") from None


@dataclass(frozen=True)
class SourceStatus:
    name: str
    label: str
    state: Literal["ok", "unreachable", "schema_mismatch", "manual"]
    problems: tuple[str, ...] = ()

    @property
    def searchable(self) -> bool:
        return self.state == "ok"


def check_schema(source: Source, engine: Engine) -> tuple[str, ...]:
    """What the file names that the database lacks: tables, then columns."""
    problems: list[str] = []
    inspector = inspect(engine)
    needed: dict[str, list[str]] = {t.name: list(t.columns_used()) for t in source.tables}
    for table in source.tables:
        if table.parent:
            needed[table.parent.table].append(table.parent.parent_column)
    for table in source.tables:
        found = _columns(inspector, table)
        if found is None:
            problems.append(f"table {table.db_table} is missing")
            continue
        missing = [c for c in dict.fromkeys(needed[table.name]) if c.lower() not in found]
        if missing:
            problems.append(f"table {table.db_table} has no column(s) {', '.join(missing)}")
    return tuple(problems)


def _columns(inspector: Inspector, table: Table) -> set[str] | None:
    schema, _, name = table.db_table.rpartition(".")
    try:
        columns = inspector.get_columns(name, schema=schema or None)
    except SQLAlchemyError:
        return None
    return {str(column["name"]).lower() for column in columns}


def check_source(source: Source, data_dir: Path,
                 secret: SecretLookup = get_secret) -> SourceStatus:
    if source.manual is not None:
        return SourceStatus(source.name, source.label, "manual")
    try:
        engine = open_engine(source, data_dir, secret)
    except EnvironmentProblem as problem:  # also a locked keyring: this source only
        return SourceStatus(source.name, source.label, "unreachable", (problem.message,))
    try:
        with engine.connect():
            pass
        problems = check_schema(source, engine)
    except SQLAlchemyError as error:
        url = engine.url
        return SourceStatus(source.name, source.label, "unreachable",
                            (f"{source.label}: {_reason(error, url)}",))
    finally:
        engine.dispose()
    if problems:
        return SourceStatus(source.name, source.label, "schema_mismatch", problems)
    return SourceStatus(source.name, source.label, "ok")


def check_sources(config: SourcesConfig, data_dir: Path,
                  secret: SecretLookup = get_secret) -> tuple[SourceStatus, ...]:
    """Every source's status, in file order; one failing source never stops the others."""
    return tuple(check_source(source, data_dir, secret) for source in config.sources)


def unreachable_reason(error: BaseException, url: URL) -> str:
    """Why a source cannot be reached: the driver's first line, never the password."""
    return _reason(error, url)


def _reason(error: BaseException, url: URL) -> str:
    """The driver's first line, never the password."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()[0] if str(original).strip() else \
        type(original).__name__
    if url.password:
        text = text.replace(str(url.password), "***")
    return f"cannot be reached ({text})"
