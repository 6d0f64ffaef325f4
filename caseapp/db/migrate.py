"""Create or upgrade the case database with Alembic, backing up SQLite files first."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc

from caseapp.db import cipher
from caseapp.db.engine import Database, describe_database_error, sqlite_path
from caseapp.errors import DatabaseUnavailable

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# Tables no model describes: the search index (caseapp.search.index), written with Core,
# with an FTS5 virtual table (and its shadow tables) or a tsvector column per dialect.
NOT_MODELS = ("search_documents", "search_fts", "search_names")


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """For Alembic's schema comparison: leave out what no model describes."""
    if type_ == "table" and name is not None:
        return not any(name == table or name.startswith(f"{table}_") for table in NOT_MODELS)
    return True


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    try:
        with db.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except exc.DBAPIError as error:
        raise describe_database_error(error, db.url) from error


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(_config()).get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        return False


def needs_upgrade(db: Database) -> bool:
    return current_revision(db) != head_revision()


def backup_sqlite_file(db: Database, backup_dir: Path, label: str) -> Path | None:
    """Copy the SQLite file (with a consistent snapshot) before a migration."""
    path = sqlite_path(db.url)
    if path is None or not path.exists() or path.stat().st_size == 0:
        return None
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = backup_dir / f"{path.stem}-{stamp}-before-{label}{path.suffix}"
    try:
        # Encrypted with the database's own key (caseapp.db.cipher): no plain copy.
        cipher.copy_database(db.raw_sqlite, target, db.key)
        if db.key is not None:  # the copy opens by itself too (caseapp --db sqlite:///COPY)
            cipher.save_key(target, db.key)
    except (OSError, cipher.dbapi.Error) as error:
        raise DatabaseUnavailable(
            f"Could not back up the database before upgrading it "
            f"({getattr(error, 'strerror', None) or error}); nothing was changed."
        ) from error
    shutil.copystat(path, target)
    return target


def upgrade(db: Database, backup_dir: Path) -> Path | None:
    """Bring the schema to the newest revision; return the backup made, if any."""
    current = current_revision(db)
    head = head_revision()
    if current == head:
        return None
    if current is not None and not _known(current):
        raise DatabaseUnavailable(
            f"The database {db.display_url} was set up by a newer version of caseapp "
            f"(schema {current}); this one knows up to {head}. Update caseapp on this "
            "workstation; nothing was changed."
        )
    backup = backup_sqlite_file(db, backup_dir, f"upgrade-to-{head}") if current else None
    config = _config()
    try:
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except exc.DBAPIError as error:
        raise describe_database_error(error, db.url) from error
    return backup
