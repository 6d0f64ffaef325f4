"""The customer systems the desk searches for a data subject, read from a sources file.

A sources file (TOML; ``resources/sources.example.toml`` explains every key) names
each system (a *source*): a database by its SQLAlchemy URL and the tables to search, or
a *manual* source that a named person searches by hand. Per table it says which columns
hold which identifier, the data category, what deletion means there, what must be kept
and why (retention exceptions), and who the data went to (downstream recipients).

The file is data staff and lawyers edit, so it is checked whole on load and refused
with :class:`ConfigError` naming the file, the line and the problem. Nothing in it is
ever run as SQL: tables and columns must be plain names, and row conditions are
``column = value`` pairs the lookup binds as parameters. Passwords are never in it: a
URL with a user but no password gets it from the keyring secret ``source:<name>``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Literal, NoReturn

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from caseapp.errors import ConfigError
from caseapp.records.tomllines import KeyPath, TomlLines, scan
from caseapp.vocabulary import IDENTIFIER_KINDS, RECIPIENT_KINDS, RECORD_CATEGORIES

Scalar = str | int | float | bool
SourceKind = Literal["database", "manual"]
DATA_DIR_PLACEHOLDER = "{data_dir}"
SECRET_PREFIX = "source:"

# Plain SQL names only: whatever the file says is quoted as an identifier, never parsed.
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_URL_PASSWORD_PARAMS = frozenset({"password", "passwd", "pwd"})
# Keys someone might try to smuggle a query through: answered with a clear refusal.
_SQL_KEYS = frozenset({"sql", "query", "where_sql", "filter", "condition", "select",
                       "raw_sql"})


# --- the model --------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteRows:
    """Deletion removes the matching rows."""

    mode: ClassVar[str] = "delete_rows"


@dataclass(frozen=True)
class Deidentify:
    """Deletion overwrites the named columns: with NULL, or with a fixed token."""

    set_null: tuple[str, ...]
    set_token: Mapping[str, str]
    mode: ClassVar[str] = "deidentify"

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.set_null, *self.set_token)


@dataclass(frozen=True)
class Suppress:
    """Deletion sets a suppression flag column (the system keeps the row, unused)."""

    column: str
    value: Scalar
    mode: ClassVar[str] = "suppress"


Deletion = DeleteRows | Deidentify | Suppress
DELETION_MODES = ("delete_rows", "deidentify", "suppress")


@dataclass(frozen=True)
class Flag:
    """A column set to a value to mark a row: opted out of marketing, not to be shared."""

    column: str
    value: Scalar


@dataclass(frozen=True)
class ParentLink:
    """This table's rows belong to a parent table's row: ``column`` = parent's column."""

    table: str
    column: str
    parent_column: str


@dataclass(frozen=True)
class Retention:
    """Rows that must be kept, and why (listed in the deletion letter).

    ``where`` holds column = value pairs that must all match; empty means the whole table.
    """

    name: str
    reason: str
    legal_basis: str
    where: Mapping[str, Scalar] = field(default_factory=dict)

    @property
    def whole_table(self) -> bool:
        return not self.where

    def applies_to(self, row: Mapping[str, object]) -> bool:
        return all(row.get(column) == value for column, value in self.where.items())


@dataclass(frozen=True)
class Table:
    """One table of a database source."""

    name: str
    """How the file names it (used by ``parent`` references and in messages)."""
    db_table: str
    """The table in the database, maybe schema-qualified (``crm.contacts``)."""
    label: str
    category: str
    key: str
    """The column that addresses one row (actions name rows by it)."""
    identifiers: Mapping[str, tuple[str, ...]]
    """Identifier kind (vocabulary.IDENTIFIER_KINDS) → the columns that hold it."""
    parent: ParentLink | None = None
    deletion: Deletion | None = None
    """None only when a retention exception keeps the whole table."""
    retention: tuple[Retention, ...] = ()
    recipients: tuple[str, ...] = ()
    recipient_column: str | None = None
    """Column naming who got each row (e.g. the dealer), for the downstream notice."""
    line: int | None = None
    opt_out: Flag | None = None
    """The unsubscribe / do-not-contact flag an opt-out sets (else a Suppress deletion)."""
    stop_sharing: Flag | None = None
    """The flag that stops a row being shared with its recipients (share and lead tables)."""
    never_disclose: tuple[str, ...] = ()
    """Columns an access report masks whatever their name (CCPA §7024(d): government ID,
    account numbers, passwords...); names that look like such data are masked anyway."""

    def columns_for(self, kind: str) -> tuple[str, ...]:
        return self.identifiers.get(kind, ())

    @property
    def kept_whole(self) -> Retention | None:
        return next((r for r in self.retention if r.whole_table), None)

    def columns_used(self) -> tuple[str, ...]:
        """Every column of this table the file names (to check against the database)."""
        columns = [self.key, *(c for cs in self.identifiers.values() for c in cs)]
        if self.parent:
            columns.append(self.parent.column)
        if isinstance(self.deletion, Deidentify):
            columns += self.deletion.columns
        elif isinstance(self.deletion, Suppress):
            columns.append(self.deletion.column)
        for exception in self.retention:
            columns += exception.where
        if self.recipient_column:
            columns.append(self.recipient_column)
        columns += [flag.column for flag in (self.opt_out, self.stop_sharing) if flag]
        return tuple(dict.fromkeys(columns))


@dataclass(frozen=True)
class ManualSource:
    """A system searched by hand: its owner gets a task and answers done / nothing found."""

    owner: str
    owner_contact: str
    instructions: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Recipient:
    """Someone the data went to downstream, told of deletions and corrections."""

    key: str
    name: str
    kind: str
    email: str = ""
    postal_address: str = ""
    notes: str = ""


@dataclass(frozen=True)
class Source:
    name: str
    """The key in the file; stable: the keyring secret is ``source:<name>``."""
    label: str
    kind: SourceKind
    url: str | None = None
    """The URL template as written (``{data_dir}`` not yet expanded; never a password)."""
    tables: tuple[Table, ...] = ()
    recipients: tuple[str, ...] = ()
    manual: ManualSource | None = None
    line: int | None = None

    @property
    def secret_name(self) -> str:
        return f"{SECRET_PREFIX}{self.name}"

    @property
    def categories(self) -> tuple[str, ...]:
        if self.manual is not None:
            return self.manual.categories
        return tuple(dict.fromkeys(table.category for table in self.tables))

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def children(self, name: str) -> tuple[Table, ...]:
        """The tables whose rows hang off ``name``'s rows (a lookup there finds them)."""
        return tuple(t for t in self.tables if t.parent and t.parent.table == name)

    def url_for(self, data_dir: Path) -> str:
        """The URL with ``{data_dir}`` expanded (still without the password)."""
        if self.url is None:
            raise ValueError(f"{self.name} is a manual source: it has no URL")
        return self.url.replace(DATA_DIR_PLACEHOLDER, data_dir.as_posix())


@dataclass(frozen=True)
class SourcesConfig:
    file: Path
    sources: tuple[Source, ...]
    recipients: Mapping[str, Recipient]

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def recipients_for(self, source: Source, table: Table | None = None) -> tuple[Recipient, ...]:
        """Who gets the source's data (and the table's, if given), each once."""
        keys = (*source.recipients, *(table.recipients if table else ()))
        return tuple(self.recipients[key] for key in dict.fromkeys(keys))


# --- loading ----------------------------------------------------------------------------


def load_sources(path: Path) -> SourcesConfig:
    """Read and check a sources file; a bad one raises ConfigError with file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM from Windows Notepad is fine
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: is not UTF-8 text ({exc.reason} at byte {exc.start})") \
            from exc
    return parse_sources(text, path)


def parse_sources(text: str, file: Path) -> SourcesConfig:
    lines = scan(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_syntax_message(file, exc, lines)) from None
    return _Loader(file, lines).config(data)


def _syntax_message(file: Path, error: tomllib.TOMLDecodeError, lines: TomlLines) -> str:
    for path, first, second in lines.duplicate_headers():
        if len(path) == 2 and path[0] == "sources":
            return (f"{file}, line {second}: the source '{path[1]}' is declared twice "
                    f"(first at line {first}); every source needs a name of its own")
        return (f"{file}, line {second}: [{'.'.join(path)}] is declared twice (first at "
                f"line {first})")
    message = str(error)
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if found:
        reason = message[:found.start()].strip()
        return (f"{file}, line {found.group(1)}: not valid TOML: {reason} "
                f"(column {found.group(2)})")
    return f"{file}: not valid TOML: {message}"


class _Loader:
    def __init__(self, file: Path, lines: TomlLines) -> None:
        self.file = file
        self.lines = lines

    def fail(self, path: KeyPath, message: str) -> NoReturn:
        line = self.lines.line_of(path)
        where = f"{self.file}, line {line}" if line else str(self.file)
        raise ConfigError(f"{where}: {message}")

    # -- helpers --

    def table_at(self, path: KeyPath, value: Any, what: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"{what} must be a table")
        return value

    def known_keys(self, path: KeyPath, table: Mapping[str, Any], allowed: set[str],
                   what: str) -> None:
        for key in table:
            if key in allowed:
                continue
            if key.lower() in _SQL_KEYS:
                self.fail((*path, key), f"{what}: '{key}' is not accepted: SQL text is never "
                          "read from the sources file; name the columns and values instead, "
                          "e.g. where = { claim_status = \"open\" }")
            self.fail((*path, key), f"{what}: unknown key '{key}' (known: "
                      f"{', '.join(sorted(allowed))})")

    def text(self, path: KeyPath, value: Any, what: str, *, required: bool = True) -> str:
        if value is None and not required:
            return ""
        if value is None:
            self.fail(path, f"{what} is missing")
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(path, f"{what} must be {'a non-empty' if required else 'a'} text in "
                      "quotes")
        return value.strip()

    def column(self, path: KeyPath, value: Any, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"{what}: a column name is missing")
        if not _COLUMN.fullmatch(value):
            self.fail(path, f"{what}: {value!r} is not a plain column name (letters, digits "
                      "and _ only); SQL is never read from the sources file")
        return value

    def names(self, path: KeyPath, value: Any, what: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(path, f"{what} must be a list of names in quotes, e.g. [\"dealers\"]")
        return tuple(value)

    # -- the file --

    def config(self, data: Mapping[str, Any]) -> SourcesConfig:
        self.known_keys((), data, {"sources", "recipients"}, "the sources file")
        recipients = {
            key: self.recipient(("recipients", key), key, value)
            for key, value in self.table_at(("recipients",), data.get("recipients", {}),
                                            "[recipients]").items()
        }
        raw_sources = self.table_at(("sources",), data.get("sources", {}), "[sources]")
        if not raw_sources:
            self.fail(("sources",), "no source is defined; add at least one [sources.NAME] "
                      "table (see resources/sources.example.toml)")
        sources = tuple(self.source(name, value, recipients)
                        for name, value in raw_sources.items())
        labels: dict[str, str] = {}
        for source in sources:
            folded = source.label.casefold()
            if folded in labels:
                self.fail(("sources", source.name, "label"),
                          f"two sources are both called '{source.label}' ({labels[folded]} "
                          f"and {source.name}); give each a name of its own")
            labels[folded] = source.name
        return SourcesConfig(file=self.file, sources=sources, recipients=recipients)

    def recipient(self, path: KeyPath, key: str, value: Any) -> Recipient:
        what = f"[recipients.{key}]"
        table = self.table_at(path, value, what)
        self.known_keys(path, table, {"name", "kind", "email", "postal_address", "notes"}, what)
        kind = table.get("kind")
        if kind not in RECIPIENT_KINDS:
            self.fail((*path, "kind"), f"{what}: kind must be one of "
                      f"{', '.join(RECIPIENT_KINDS)} (got {kind!r})")
        email = self.text((*path, "email"), table.get("email"), f"{what} email",
                          required=False)
        address = self.text((*path, "postal_address"), table.get("postal_address"),
                            f"{what} postal_address", required=False)
        if not email and not address:
            self.fail(path, f"{what}: give an email or a postal_address: the downstream "
                      "notice must reach someone")
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            self.fail((*path, "email"), f"{what}: {email!r} is not an email address")
        return Recipient(
            key=key,
            name=self.text((*path, "name"), table.get("name"), f"{what} name"),
            kind=kind,
            email=email,
            postal_address=address,
            notes=self.text((*path, "notes"), table.get("notes"), f"{what} notes",
                            required=False),
        )

    def source(self, name: str, value: Any, recipients: Mapping[str, Recipient]) -> Source:
        path: KeyPath = ("sources", name)
        what = f"[sources.{name}]"
        if not _NAME.fullmatch(name):
            self.fail(path, f"{what}: a source name holds letters, digits, '_', '-' and '.' "
                      "only (it names the keyring secret source:NAME)")
        table = self.table_at(path, value, what)
        kind = table.get("kind", "database")
        if kind not in ("database", "manual"):
            self.fail((*path, "kind"), f"{what}: kind must be \"database\" or \"manual\" "
                      f"(got {kind!r})")
        label = self.text((*path, "label"), table.get("label", name), f"{what} label")
        own_recipients = self.recipient_keys((*path, "recipients"), table.get("recipients"),
                                             recipients, what)
        if kind == "manual":
            return self.manual_source(path, name, label, table, own_recipients)
        self.known_keys(path, table, {"label", "kind", "url", "tables", "recipients"}, what)
        url = self.url((*path, "url"), name, table.get("url"), what)
        raw_tables = self.table_at((*path, "tables"), table.get("tables", {}),
                                   f"{what} tables")
        if not raw_tables:
            self.fail(path, f"{what}: no table is listed; add [sources.{name}.tables.NAME] "
                      "tables, or make it kind = \"manual\"")
        tables = tuple(self.table((*path, "tables", key), key, raw, recipients)
                       for key, raw in raw_tables.items())
        tables = self.check_links(path, tables)
        return Source(name=name, label=label, kind="database", url=url, tables=tables,
                      recipients=own_recipients, line=self.lines.line_of(path))

    def manual_source(self, path: KeyPath, name: str, label: str, table: Mapping[str, Any],
                      recipients: tuple[str, ...]) -> Source:
        what = f"[sources.{name}]"
        self.known_keys(path, table, {"label", "kind", "owner", "owner_contact",
                                      "instructions", "categories", "recipients"},
                        f"{what} (a manual source)")
        categories = self.names((*path, "categories"), table.get("categories"),
                                f"{what} categories")
        if not categories:
            self.fail(path, f"{what}: a manual source needs the categories of data it holds, "
                      "e.g. categories = [\"customer_communications\"]")
        for category in categories:
            self.category((*path, "categories"), category, what)
        manual = ManualSource(
            owner=self.text((*path, "owner"), table.get("owner"), f"{what} owner"),
            owner_contact=self.text((*path, "owner_contact"), table.get("owner_contact"),
                                    f"{what} owner_contact", required=False),
            instructions=self.text((*path, "instructions"), table.get("instructions"),
                                   f"{what} instructions"),
            categories=categories,
        )
        return Source(name=name, label=label, kind="manual", recipients=recipients,
                      manual=manual, line=self.lines.line_of(path))

    def url(self, path: KeyPath, name: str, value: Any, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path if value is not None else path[:-1],
                      f"{what}: a url is needed, e.g. url = "
                      "\"postgresql+psycopg://reader@crm.example.com/crm\" (or kind = "
                      "\"manual\")")
        for placeholder in _PLACEHOLDER.findall(value):
            if "{" + placeholder + "}" != DATA_DIR_PLACEHOLDER:
                self.fail(path, f"{what}: unknown placeholder {{{placeholder}}} in the url "
                          f"(only {DATA_DIR_PLACEHOLDER} is filled in)")
        try:
            parsed = make_url(value.replace(DATA_DIR_PLACEHOLDER, "/data"))
        except (ArgumentError, ValueError):
            # Not echoed: a malformed URL may still hold a password.
            self.fail(path, f"{what}: the url is not a database URL of the form "
                      "dialect+driver://user@host/database")
        secret = f"{SECRET_PREFIX}{name}"
        if parsed.password is not None or _URL_PASSWORD_PARAMS & {
                key.lower() for key in parsed.query}:
            self.fail(path, f"{what}: the url holds a password; remove it from the file. "
                      f"The password is read from the keyring secret '{secret}'")
        return value

    def table(self, path: KeyPath, key: str, value: Any,
              recipients: Mapping[str, Recipient]) -> Table:
        what = f"[{'.'.join(path)}]"
        raw = self.table_at(path, value, what)
        self.known_keys(path, raw, {"label", "table", "category", "key", "identifiers",
                                    "parent", "deletion", "retention", "recipients",
                                    "recipient_column", "opt_out", "stop_sharing",
                                    "never_disclose"}, what)
        db_table = raw.get("table", key)
        if not isinstance(db_table, str) or not _TABLE.fullmatch(db_table):
            self.fail((*path, "table") if "table" in raw else path,
                      f"{what}: {db_table!r} is not a plain table name (letters, digits, _ "
                      "and one optional schema. prefix); SQL is never read from the file")
        category = raw.get("category")
        if category is None:
            self.fail(path, f"{what}: category is missing (one of "
                      f"{', '.join(RECORD_CATEGORIES)})")
        self.category((*path, "category"), category, what)
        if "key" not in raw:
            self.fail(path, f"{what}: key is missing: the column that names one row "
                      "(e.g. key = \"customer_id\")")
        key_column = self.column((*path, "key"), raw["key"], f"{what} key")
        parent = self.parent((*path, "parent"), raw.get("parent"), what)
        identifiers = self.identifiers((*path, "identifiers"), raw.get("identifiers", {}), what)
        if not identifiers and parent is None:
            self.fail((*path, "identifiers") if "identifiers" in raw else path,
                      f"{what}: no column is mapped to an identifier, so no record could be "
                      "found here; map at least one, e.g. identifiers = { email = \"email\" }, "
                      "or link the table to a parent table")
        retention = tuple(
            self.retention((*path, "retention", name), name, item, what)
            for name, item in self.table_at((*path, "retention"), raw.get("retention", {}),
                                            f"{what} retention").items()
        )
        deletion = self.deletion((*path, "deletion"), raw.get("deletion"), what)
        if deletion is None and not any(r.whole_table for r in retention):
            self.fail(path, f"{what}: deletion is missing: say what deleting a record means "
                      "here (deletion = { mode = \"delete_rows\" }, \"deidentify\" or "
                      "\"suppress\"), or keep the whole table with a retention exception")
        if isinstance(deletion, Deidentify):
            exempt = {key_column, parent.column if parent else key_column}
            left = [column for columns in identifiers.values() for column in columns
                    if column not in exempt and column not in deletion.columns]
            if key_column in deletion.columns:
                self.fail((*path, "deletion"), f"{what}: the key column '{key_column}' "
                          "cannot be de-identified: it is how the row is found again")
            if left:
                self.fail((*path, "deletion"), f"{what}: de-identification leaves identifying "
                          f"column(s) {', '.join(dict.fromkeys(left))} as they are; add them to "
                          "set_null or set_token")
        recipient_column = raw.get("recipient_column")
        return Table(
            name=key,
            db_table=db_table,
            label=self.text((*path, "label"), raw.get("label", key), f"{what} label"),
            category=category,
            key=key_column,
            identifiers=identifiers,
            parent=parent,
            deletion=deletion,
            retention=retention,
            recipients=self.recipient_keys((*path, "recipients"), raw.get("recipients"),
                                           recipients, what),
            recipient_column=None if recipient_column is None else self.column(
                (*path, "recipient_column"), recipient_column, f"{what} recipient_column"),
            line=self.lines.line_of(path),
            opt_out=self.flag((*path, "opt_out"), raw.get("opt_out"), key_column,
                              f"{what} opt_out"),
            stop_sharing=self.flag((*path, "stop_sharing"), raw.get("stop_sharing"),
                                   key_column, f"{what} stop_sharing"),
            never_disclose=tuple(
                self.column((*path, "never_disclose"), column, f"{what} never_disclose")
                for column in self.names((*path, "never_disclose"), raw.get("never_disclose"),
                                         f"{what} never_disclose")),
        )

    def flag(self, path: KeyPath, value: Any, key_column: str, what: str) -> Flag | None:
        if value is None:
            return None
        raw = self.table_at(path, value, what)
        self.known_keys(path, raw, {"column", "value"}, what)
        column = self.column(path, raw.get("column"), what)
        if column == key_column:
            self.fail(path, f"{what}: the key column '{key_column}' cannot be the flag: it is "
                      "how the row is found again")
        if "value" not in raw:
            self.fail(path, f"{what}: the value to set is missing, e.g. "
                      f"{{ column = \"{column}\", value = 1 }}")
        flag = raw["value"]
        if not isinstance(flag, str | int | float | bool):
            self.fail(path, f"{what}: the value must be true/false, a number or a text")
        return Flag(column=column, value=flag)

    def category(self, path: KeyPath, value: Any, what: str) -> None:
        if value not in RECORD_CATEGORIES:
            self.fail(path, f"{what}: unknown category {value!r} (known: "
                      f"{', '.join(RECORD_CATEGORIES)})")

    def recipient_keys(self, path: KeyPath, value: Any, recipients: Mapping[str, Recipient],
                       what: str) -> tuple[str, ...]:
        keys = self.names(path, value, f"{what} recipients")
        for key in keys:
            if key not in recipients:
                known = ", ".join(recipients) or "none defined"
                self.fail(path, f"{what}: unknown recipient '{key}' (defined in "
                          f"[recipients]: {known})")
        return keys

    def identifiers(self, path: KeyPath, value: Any, what: str) -> dict[str, tuple[str, ...]]:
        raw = self.table_at(path, value, f"{what} identifiers")
        mapped: dict[str, tuple[str, ...]] = {}
        for kind, columns in raw.items():
            if kind not in IDENTIFIER_KINDS:
                self.fail((*path, kind), f"{what}: unknown identifier '{kind}' (known: "
                          f"{', '.join(IDENTIFIER_KINDS)})")
            listed = columns if isinstance(columns, list) else [columns]
            if not listed:
                self.fail((*path, kind), f"{what}: identifier '{kind}': a column name is "
                          "missing")
            mapped[kind] = tuple(self.column((*path, kind), column,
                                             f"{what} identifier '{kind}'")
                                 for column in listed)
        return mapped

    def parent(self, path: KeyPath, value: Any, what: str) -> ParentLink | None:
        if value is None:
            return None
        raw = self.table_at(path, value, f"{what} parent")
        self.known_keys(path, raw, {"table", "column", "parent_column"}, f"{what} parent")
        table = raw.get("table")
        if not isinstance(table, str) or not table:
            self.fail(path, f"{what}: parent needs the parent table's name, e.g. parent = "
                      "{ table = \"customers\", column = \"customer_id\" }")
        column = self.column(path, raw.get("column"), f"{what} parent column")
        # The parent's key is filled in by check_links when parent_column is left out.
        parent_column = raw.get("parent_column", "")
        if parent_column:
            self.column(path, parent_column, f"{what} parent parent_column")
        return ParentLink(table=table, column=column, parent_column=parent_column)

    def check_links(self, path: KeyPath, tables: tuple[Table, ...]) -> tuple[Table, ...]:
        """Parents exist in this source and form no circle; default parent_column filled."""
        by_name = {table.name: table for table in tables}
        seen_db: dict[str, str] = {}
        linked: list[Table] = []
        for table in tables:
            where = (*path, "tables", table.name)
            header = f"[{'.'.join(where)}]"
            if table.db_table in seen_db:
                other = ".".join((*path, "tables", seen_db[table.db_table]))
                self.fail(where, f"{header}: the database table '{table.db_table}' is already "
                          f"described as [{other}]")
            seen_db[table.db_table] = table.name
            link = table.parent
            if link is not None:
                parent = by_name.get(link.table)
                if parent is None:
                    self.fail((*where, "parent"), f"{header}: the parent table "
                              f"'{link.table}' is not a table of this source (its tables: "
                              f"{', '.join(by_name)})")
                if not link.parent_column:
                    table = replace(table, parent=replace(link, parent_column=parent.key))
            linked.append(table)
        for table in tables:
            chain = [table.name]
            step = table
            while step.parent is not None:
                step = by_name[step.parent.table]
                if step.name in chain:
                    where = (*path, "tables", table.name, "parent")
                    self.fail(where, f"[{'.'.join(where[:-1])}]: parent links go round in a "
                              f"circle ({' → '.join([*chain, step.name])})")
                chain.append(step.name)
        return tuple(linked)

    def deletion(self, path: KeyPath, value: Any, what: str) -> Deletion | None:
        if value is None:
            return None
        raw = self.table_at(path, value, f"{what} deletion")
        mode = raw.get("mode")
        if mode == "delete_rows":
            self.known_keys(path, raw, {"mode"}, f"{what} deletion")
            return DeleteRows()
        if mode == "deidentify":
            self.known_keys(path, raw, {"mode", "set_null", "set_token"}, f"{what} deletion")
            nulls = tuple(self.column(path, column, f"{what} deletion set_null")
                          for column in self.names(path, raw.get("set_null"),
                                                   f"{what} deletion set_null"))
            raw_tokens = self.table_at(path, raw.get("set_token", {}),
                                       f"{what} deletion set_token")
            tokens = {self.column(path, column, f"{what} deletion set_token"):
                      self.text(path, token, f"{what} deletion set_token '{column}'")
                      for column, token in raw_tokens.items()}
            if not nulls and not tokens:
                self.fail(path, f"{what}: de-identification names no column: list them in "
                          "set_null = [...] and/or set_token = { column = \"DELETED\" }")
            return Deidentify(set_null=nulls, set_token=tokens)
        if mode == "suppress":
            self.known_keys(path, raw, {"mode", "column", "value"}, f"{what} deletion")
            column = self.column(path, raw.get("column"), f"{what} deletion column")
            flag = raw.get("value", True)
            if not isinstance(flag, str | int | float | bool):
                self.fail(path, f"{what}: the suppression value must be true, a number or a "
                          "text")
            return Suppress(column=column, value=flag)
        self.fail((*path, "mode") if "mode" in raw else path,
                  f"{what}: deletion mode must be one of {', '.join(DELETION_MODES)} "
                  f"(got {mode!r})")

    def retention(self, path: KeyPath, name: str, value: Any, what: str) -> Retention:
        where_text = f"{what} retention '{name}'"
        raw = self.table_at(path, value, where_text)
        self.known_keys(path, raw, {"reason", "legal_basis", "where"}, where_text)
        condition = raw.get("where", {})
        if isinstance(condition, str):
            self.fail((*path, "where"), f"{where_text}: where must be column = value pairs, "
                      "e.g. where = { claim_status = \"open\" }; SQL text is never read from "
                      "the sources file")
        pairs = self.table_at((*path, "where"), condition, f"{where_text} where")
        checked: dict[str, Scalar] = {}
        for column, expected in pairs.items():
            self.column((*path, "where"), column, f"{where_text} where")
            if not isinstance(expected, str | int | float | bool):
                self.fail((*path, "where"), f"{where_text}: the value for '{column}' must be "
                          "a text, a number or true/false")
            checked[column] = expected
        return Retention(
            name=name,
            reason=self.text((*path, "reason"), raw.get("reason"), f"{where_text} reason"),
            legal_basis=self.text((*path, "legal_basis"), raw.get("legal_basis"),
                                  f"{where_text} legal_basis"),
            where=checked,
        )
