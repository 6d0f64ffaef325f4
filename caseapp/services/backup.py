"""Backups of the case database, and restoring one: ``caseapp backup FILE`` / ``restore FILE``.

**What a backup is.** On SQLite, a copy made with SQLite's online backup API while the
desk is in use (one consistent snapshot; writers are not blocked), encrypted with the
database's own SQLCipher key — so a backup is no plainer than the database, and opens
only with the key in this workstation's keyring (export it with ``caseapp database-key
--export`` and keep it apart from the backups, or a lost keyring loses the backups too).
On PostgreSQL, ``pg_dump --format=custom`` of one exported snapshot; the password goes to
pg_dump in its environment (PGPASSWORD) only, never on its command line. caseapp does not
encrypt PostgreSQL dumps (the server's data is not encrypted by caseapp either): keep them
on encrypted storage.

**The manifest.** Beside each backup ``FILE``, ``FILE.manifest.json`` records what the
backup must hold: the schema revision, the row count of every table, the audit chain's
length and its newest hash, the file's size and SHA-256, and which keyring entry holds
the key. All counts and the chain head are read from the same snapshot as the copy. It
holds no personal data.

**Restoring** checks before it changes anything: the manifest is there and is one of
ours, the file has its full size and digest (a truncated or altered copy is refused),
the copy opens, passes SQLite's integrity check, has every row the manifest counts, and
its audit chain verifies and ends at the manifest's hash (so a copy missing its newest
events is refused). Only then is the database replaced — after the current one is backed
up into the backup folder — and a database that exists is replaced only when asked
(``--yes``). On PostgreSQL the checks of the content run after ``pg_restore``; if they
fail, the current database's backup is put back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from caseapp import __version__, audit
from caseapp.db import cipher, postgres
from caseapp.db.engine import Database, make_engine, sqlite_path
from caseapp.errors import DatabaseUnavailable, EnvironmentProblem, InvalidInput
from caseapp.secrets import SecretStoreUnavailable, get_secret

FORMAT: Final = "caseapp-backup"
VERSION: Final = 1
MANIFEST_SUFFIX: Final = ".manifest.json"
SCHEDULED_MARK: Final = "-backup"
"""Scheduled backups are named ``STEM-YYYYmmdd-HHMMSS-backup.EXT``; only those rotate."""
STAMP: Final = "%Y%m%d-%H%M%S"

Backend = Literal["sqlite", "postgresql"]
Progress = Callable[[int, int, str], None]
"""(step done, steps, what is being done)."""


class BackupProblem(EnvironmentProblem):
    """A backup could not be made, or a file cannot be restored; nothing was changed."""


# --- the manifest ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupManifest:
    backend: Backend
    created_at: datetime
    """UTC."""
    schema_revision: str
    audit_events: int
    audit_head_hash: str
    row_counts: dict[str, int] = field(hash=False)
    size: int = 0
    sha256: str = ""
    key_entry: str | None = None
    """The keyring entry of the SQLCipher key the copy is encrypted with (SQLite)."""
    source: str = ""
    """Where it was made from (the URL without a password)."""
    app_version: str = __version__

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT, "version": VERSION, "backend": self.backend,
            "created_at": self.created_at.isoformat(), "schema_revision": self.schema_revision,
            "audit": {"events": self.audit_events, "head_hash": self.audit_head_hash},
            "row_counts": dict(sorted(self.row_counts.items())),
            "file": {"size": self.size, "sha256": self.sha256},
            "key_entry": self.key_entry, "source": self.source,
            "app_version": self.app_version,
        }, indent=2, ensure_ascii=False) + "\n"

    @property
    def rows(self) -> int:
        return sum(self.row_counts.values())

    @staticmethod
    def from_json(data: str, where: Path) -> BackupManifest:
        refused = InvalidInput(f"{where} is not the manifest of a caseapp backup: nothing "
                               "was changed.")
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise refused
            if raw.get("version") != VERSION:
                raise InvalidInput(f"{where} is a backup manifest of another version of "
                                   f"caseapp (format {raw.get('version')!r}); nothing was "
                                   "changed.")
            counts = raw["row_counts"]
            if not isinstance(counts, dict) or not all(
                    isinstance(k, str) and type(v) is int for k, v in counts.items()):
                raise refused
            backend = raw["backend"]
            if backend not in ("sqlite", "postgresql"):
                raise refused
            return BackupManifest(
                backend=backend, created_at=datetime.fromisoformat(raw["created_at"]),
                schema_revision=str(raw["schema_revision"]),
                audit_events=int(raw["audit"]["events"]),
                audit_head_hash=str(raw["audit"]["head_hash"]), row_counts=counts,
                size=int(raw["file"]["size"]), sha256=str(raw["file"]["sha256"]),
                key_entry=raw.get("key_entry"), source=str(raw.get("source", "")),
                app_version=str(raw.get("app_version", "")))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise refused from None


def manifest_path(file: Path) -> Path:
    return file.with_name(file.name + MANIFEST_SUFFIX)


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: BackupManifest
    seconds: float
    removed: tuple[Path, ...] = ()
    """Older scheduled backups removed to keep the last N."""

    def describe(self) -> str:
        m = self.manifest
        return (f"Backed up {_cases(m)} ({m.rows:,} rows, "
                f"{m.audit_events:,} audit events) to {self.path} "
                f"({_size_text(m.size)}, {self.seconds:.1f} s).")


@dataclass(frozen=True)
class RestoreResult:
    target: str
    manifest: BackupManifest
    previous: Path | None
    """The backup of the database that was replaced (None: there was none)."""

    def describe(self) -> str:
        m = self.manifest
        text = (f"Restored the backup of {m.created_at:%Y-%m-%d %H:%M} UTC into {self.target}: "
                f"{m.row_counts.get('cases', 0):,} cases, {m.rows:,} rows, every count as "
                f"the manifest says; audit chain intact ({m.audit_events:,} events, head "
                f"{m.audit_head_hash[:16]}…).")
        if self.previous is not None:
            text += f" The database it replaced was backed up first: {self.previous}"
        return text


def _cases(manifest: BackupManifest) -> str:
    count = manifest.row_counts.get("cases", 0)
    return f"{count:,} case{'s' if count != 1 else ''}"


def _size_text(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _step(progress: Progress | None, done: int, total: int, what: str) -> None:
    if progress is not None:
        progress(done, total, what)


# --- what a database holds ------------------------------------------------------------------


def _counted_tables(connection: Connection) -> list[str]:
    # The full-text index's virtual table and its shadow tables are derived: left out.
    return sorted(name for name in inspect(connection).get_table_names()
                  if not name.startswith("search_fts") and name != "alembic_version")


def _contents(connection: Connection) -> tuple[str, dict[str, int], int, str]:
    """Schema revision, rows per table, audit events and the chain head's hash."""
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    counts = {name: int(connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar()
                        or 0) for name in _counted_tables(connection)}
    head = connection.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).first()
    events, head_hash = (int(head[0]), str(head[1])) if head is not None else (0, audit.GENESIS)
    return str(revision or ""), counts, events, head_hash


def _verify_chain(engine: Engine) -> audit.ChainReport:
    with Session(engine) as session:
        return audit.verify(session)


def _check_contents(engine: Engine, manifest: BackupManifest, what: str) -> None:
    """Refuse (BackupProblem) a restored copy whose content is not what the manifest says."""
    with engine.connect() as connection:
        revision, counts, events, head_hash = _contents(connection)
    if revision != manifest.schema_revision:
        raise BackupProblem(f"{what}: its schema is {revision!r}, the manifest says "
                            f"{manifest.schema_revision!r}; nothing was changed.")
    differ = [f"{name} {counts.get(name, 0):,} instead of {manifest.row_counts.get(name, 0):,}"
              for name in sorted(set(counts) | set(manifest.row_counts))
              if counts.get(name, 0) != manifest.row_counts.get(name, 0)]
    if differ:
        raise BackupProblem(f"{what} does not hold the rows its manifest counts ("
                            + "; ".join(differ[:5]) + "): the copy is incomplete or was "
                            "changed. Nothing was changed.")
    if (events, head_hash) != (manifest.audit_events, manifest.audit_head_hash):
        raise BackupProblem(
            f"{what}: its audit chain's head is event {events} ({head_hash[:16]}…) but the "
            f"manifest says {manifest.audit_events} ({manifest.audit_head_hash[:16]}…). "
            "Nothing was changed.")
    report = _verify_chain(engine)
    if not report.ok:
        raise BackupProblem(f"{what}: its audit chain is broken at event "
                            f"{report.first_broken_seq} ({report.problem}). Nothing was "
                            "changed.")
    if (report.events, report.head_hash) != (manifest.audit_events, manifest.audit_head_hash):
        raise BackupProblem(
            f"{what}: its audit chain ends at event {report.events} ({report.head_hash[:16]}…) "
            f"but the manifest says {manifest.audit_events} ({manifest.audit_head_hash[:16]}…): "
            "the copy is missing its newest events. Nothing was changed.")


# --- making a backup ------------------------------------------------------------------------


def backup_name(db: Database, when: datetime, label: str = SCHEDULED_MARK.lstrip("-")) -> str:
    """``cases-20260304-150000-backup.sqlite3`` / ``desk-20260304-150000-backup.dump``."""
    path = db.path
    if path is not None:
        return f"{path.stem}-{when:{STAMP}}-{label}{path.suffix or '.sqlite3'}"
    name = make_url(db.url).database or "caseapp"
    return f"{name}-{when:{STAMP}}-{label}.dump"


def back_up(db: Database, target: Path, *, progress: Progress | None = None,
            now: datetime | None = None) -> BackupResult:
    """Back the database up into the new file ``target`` (and its manifest beside it)."""
    started = datetime.now()
    target = target.expanduser()
    if target.exists():
        raise InvalidInput(f"{target} exists already: name a new file (a backup never "
                           "overwrites one).")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupProblem(f"The backup folder {target.parent} cannot be made: "
                            f"{error.strerror}; nothing was backed up.") from error
    try:
        if db.is_sqlite:
            manifest = _back_up_sqlite(db, target, progress, now or _utc_now())
        else:
            manifest = _back_up_postgresql(db, target, progress, now or _utc_now())
        _step(progress, 3, 4, "Computing the backup's checksum")
        manifest = _with_file(manifest, target)
        _write_manifest(target, manifest)
    except BaseException:
        for leftover in (target, manifest_path(target)):
            with contextlib.suppress(OSError):
                leftover.unlink()
        raise
    _step(progress, 4, 4, "Done")
    return BackupResult(target, manifest, (datetime.now() - started).total_seconds())


def _with_file(manifest: BackupManifest, target: Path) -> BackupManifest:
    from dataclasses import replace

    return replace(manifest, size=target.stat().st_size, sha256=_sha256(target))


def _write_manifest(target: Path, manifest: BackupManifest) -> None:
    path = manifest_path(target)
    temp = path.with_name(f".{path.name}.tmp")
    try:
        with temp.open("w", encoding="utf-8") as out:
            out.write(manifest.to_json())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise BackupProblem(f"The backup's manifest {path} cannot be written: "
                            f"{error.strerror}; the backup was not kept.") from error


def _back_up_sqlite(db: Database, target: Path, progress: Progress | None,
                    now: datetime) -> BackupManifest:
    path = db.path
    assert path is not None
    _step(progress, 0, 4, "Copying the database")
    try:
        cipher.copy_database(db.raw_sqlite, target, db.key)
    except OSError as error:
        raise BackupProblem(f"The backup {target} cannot be written: {error.strerror}; "
                            "nothing was backed up.") from error
    except cipher.dbapi.Error as error:
        raise BackupProblem(f"The database could not be copied ({error}); nothing was "
                            "backed up.") from error
    _step(progress, 1, 4, "Counting the rows of the copy")
    engine = make_engine(f"sqlite:///{target}", key=db.key, read_only=True)
    try:
        with engine.connect() as connection:
            revision, counts, events, head_hash = _contents(connection)
    finally:
        engine.dispose()
    _step(progress, 2, 4, "Counted")
    return BackupManifest(
        backend="sqlite", created_at=now, schema_revision=revision, audit_events=events,
        audit_head_hash=head_hash, row_counts=counts,
        key_entry=cipher.key_name(path) if db.key is not None else None,
        source=db.display_url)


# --- PostgreSQL: pg_dump / pg_restore ------------------------------------------------------


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupProblem(f"{name} was not found: install the PostgreSQL client programs "
                            "(Debian: postgresql-client; .ci/setup installs them).")
    return found


def _pg_connection(db_url: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection options, and the environment with the password
    (never on the command line: other users can read a process's arguments)."""
    url = make_url(db_url)
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    args += ["--dbname", url.database or ""]
    env = dict(os.environ)
    # The same TLS as the desk's own connections (verify-full to another machine, the
    # URL's CA file): libpq's default ("prefer") would go on unencrypted.
    tls = {**postgres.connect_args(url), **{key: str(value) for key, value in url.query.items()
                                           if key in _LIBPQ_TLS}}
    for key, value in tls.items():
        env[_LIBPQ_TLS[key]] = value
    password = url.password
    if password is None:
        # A password kept in the keyring for this server (optional; libpq's own
        # ~/.pgpass and PGPASSWORD work as they do for psql).
        with contextlib.suppress(SecretStoreUnavailable):
            password = get_secret(pg_secret_name(db_url))
    if password is not None:
        env["PGPASSWORD"] = str(password)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    return args, env


_LIBPQ_TLS = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT",
              "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "sslcrl": "PGSSLCRL"}
"""A desk address's TLS settings and the environment variables pg_dump reads them from."""


def pg_secret_name(db_url: str) -> str:
    """The keyring entry of a PostgreSQL desk's password: ``postgresql:USER@HOST:PORT/DB``,
    the engine's own (caseapp.db.postgres.secret_name)."""
    return postgres.secret_name(make_url(db_url))


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL)
    except OSError as error:
        raise BackupProblem(f"{what} could not be started: {error.strerror}") from error
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupProblem(f"{what} failed: {detail[-1] if detail else done.returncode}")


def _back_up_postgresql(db: Database, target: Path, progress: Progress | None,
                        now: datetime) -> BackupManifest:
    pg_dump = _pg_tool("pg_dump")
    args, env = _pg_connection(db.url)
    partial = target.with_name(f".{target.name}.partial")
    _step(progress, 0, 4, "Dumping the database (pg_dump)")
    with db.engine.connect().execution_options(
            isolation_level="REPEATABLE READ") as connection, connection.begin():
        # One snapshot for the dump, the counts and the chain head.
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar()
        revision, counts, events, head_hash = _contents(connection)
        try:
            _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges",
                  f"--snapshot={snapshot}", f"--file={partial}", *args], env,
                 "pg_dump (the PostgreSQL backup)")
            os.replace(partial, target)
        finally:
            with contextlib.suppress(OSError):
                partial.unlink()
    _step(progress, 2, 4, "Dumped")
    return BackupManifest(
        backend="postgresql", created_at=now, schema_revision=revision,
        audit_events=events, audit_head_hash=head_hash, row_counts=counts,
        source=db.display_url)


# --- reading a backup -----------------------------------------------------------------------


def read_manifest(file: Path) -> BackupManifest:
    """The manifest of the backup ``file``; refused (InvalidInput) when it is no backup."""
    if not file.is_file():
        raise InvalidInput(f"{file} does not exist (or is no file): nothing was changed.")
    path = manifest_path(file)
    try:
        data = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(
            f"{file} is not a backup of a case database made by caseapp backup (there is no "
            f"{path.name} beside it): nothing was changed.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{path} cannot be read ({error}); nothing was changed.") from None
    return BackupManifest.from_json(data, path)


def check_file(file: Path) -> BackupManifest:
    """The manifest, once the file is whole: its size and SHA-256 as recorded."""
    manifest = read_manifest(file)
    size = file.stat().st_size
    if size != manifest.size:
        raise BackupProblem(
            f"{file} is incomplete or was changed: {size:,} bytes where the backup had "
            f"{manifest.size:,} (a copy cut short?). Nothing was changed.")
    if _sha256(file) != manifest.sha256:
        raise BackupProblem(f"{file} was changed since it was made (its checksum differs "
                            "from the manifest's). Nothing was changed.")
    return manifest


def newest_backup(folders: Iterable[Path], backend: Backend | None = None,
                  ) -> tuple[Path, BackupManifest] | None:
    """The newest backup (with a readable manifest) in ``folders``."""
    found: list[tuple[datetime, Path, BackupManifest]] = []
    for folder in dict.fromkeys(folders):
        if not folder.is_dir():
            continue
        for manifest_file in folder.glob(f"*{MANIFEST_SUFFIX}"):
            file = manifest_file.with_name(manifest_file.name[:-len(MANIFEST_SUFFIX)])
            try:
                manifest = read_manifest(file)
            except InvalidInput:
                continue
            if backend is None or manifest.backend == backend:
                found.append((manifest.created_at, file, manifest))
    if not found:
        return None
    _when, file, manifest = max(found, key=lambda item: (item[0], str(item[1])))
    return file, manifest


# --- restoring ------------------------------------------------------------------------------


def restore(url: str, file: Path, *, replace: bool, backup_dir: Path,
            db: Database | None = None, progress: Progress | None = None) -> RestoreResult:
    """Restore the backup ``file`` into the database ``url`` (see the module's text).

    ``db`` is the open database of ``url``, if it could be opened (a damaged one cannot):
    its connections are closed for the swap and it goes on with the restored file.
    """
    file = file.expanduser()
    _step(progress, 0, 5, "Checking the backup file")
    manifest = check_file(file)
    backend: Backend = "sqlite" if sqlite_path(url) is not None else "postgresql"
    if make_url(url).get_backend_name() == "sqlite" and sqlite_path(url) is None:
        raise InvalidInput("An in-memory database cannot be restored into.")
    if manifest.backend != backend:
        raise InvalidInput(
            f"{file} is a backup of a {manifest.backend} database; the database here is "
            f"{backend}. Restore it into a {manifest.backend} database (--db). Nothing was "
            "changed.")
    if not _known_revision(manifest.schema_revision):
        raise InvalidInput(
            f"{file} is a backup of a newer version of caseapp (schema "
            f"{manifest.schema_revision}); update caseapp first. Nothing was changed.")
    if backend == "sqlite":
        return _restore_sqlite(url, file, manifest, replace, backup_dir, db, progress)
    return _restore_postgresql(url, file, manifest, replace, backup_dir, db, progress)


def _known_revision(revision: str) -> bool:
    from caseapp.db.migrate import _known

    return _known(revision)


def _existing_sqlite(path: Path) -> bool:
    return cipher.file_kind(path) != "new"


def _refuse_without_yes(where: str) -> InvalidInput:
    return InvalidInput(
        f"The case database {where} exists: restoring replaces it. Run the command again "
        "with --yes to replace it (it is backed up into the backup folder first). Nothing "
        "was changed.")


def _backup_key(file: Path, manifest: BackupManifest, target_key: str | None) -> str | None:
    """The key that opens the backup: the manifest's keyring entry's, the file's own
    entry's, or the target database's."""
    candidates: list[str] = []
    entry = manifest.key_entry
    for lookup in ((lambda: get_secret(entry)) if entry else None,
                   lambda: cipher.read_key(file)):
        if lookup is None:
            continue
        with contextlib.suppress(SecretStoreUnavailable, DatabaseUnavailable):
            key = lookup()
            if key:
                candidates.append(key)
    if target_key:
        candidates.append(target_key)
    for key in dict.fromkeys(candidates):
        with contextlib.suppress(DatabaseUnavailable):
            cipher.connect(file, key, read_only=True).close()
            return key
    if manifest.key_entry is None:
        with contextlib.suppress(DatabaseUnavailable):
            cipher.connect(file, None, read_only=True).close()
            return None
    raise BackupProblem(
        f"{file} is encrypted with a key this workstation's keyring does not hold "
        f"(keyring entry \"{manifest.key_entry}\"). Import the key of the database it was "
        "made from (caseapp database-key --import) and try again. Nothing was changed.")


def _restore_sqlite(url: str, file: Path, manifest: BackupManifest, replace: bool,
                    backup_dir: Path, db: Database | None, progress: Progress | None,
                    ) -> RestoreResult:
    path = sqlite_path(url)
    assert path is not None
    exists = _existing_sqlite(path)
    if exists and not replace:
        raise _refuse_without_yes(str(path))
    target_key = db.key if db is not None else cipher.read_key(path)
    if target_key is None:
        target_key = cipher.new_key()
        cipher.save_key(path, target_key)
    source_key = _backup_key(file, manifest, target_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.restoring")
    with contextlib.suppress(FileNotFoundError):
        staged.unlink()
    try:
        _step(progress, 1, 5, "Copying the backup")
        shutil.copyfile(file, staged)
        if source_key != target_key:  # the restored file opens with this database's key
            _rekey(staged, source_key, target_key)
        _step(progress, 2, 5, "Checking the copy (integrity, rows, audit chain)")
        with contextlib.closing(cipher.connect(staged, target_key)) as check:
            problems = check.execute("PRAGMA integrity_check(5)").fetchall()
        if problems != [("ok",)]:
            raise BackupProblem(f"{file} is damaged ({problems[0][0]}); nothing was "
                                "changed.")
        engine = make_engine(f"sqlite:///{staged}", key=target_key)
        try:
            _check_contents(engine, manifest, str(file))
        finally:
            engine.dispose()
        previous = None
        if exists:
            _step(progress, 3, 5, "Backing up the database it replaces")
            previous = _keep_current_sqlite(path, db, backup_dir, target_key)
        _step(progress, 4, 5, "Putting the restored database in place")
        if db is not None:
            db.checkpoint()
            db.dispose()
        os.replace(staged, path)
        for sidecar in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            with contextlib.suppress(FileNotFoundError):
                sidecar.unlink()
    except BaseException:
        with contextlib.suppress(OSError):
            staged.unlink()
        raise
    _step(progress, 5, 5, "Restored")
    return RestoreResult(str(path), manifest, previous)


def _rekey(path: Path, old: str | None, new: str) -> None:
    connection = cipher.connect(path, old)
    try:
        if old is None:  # a plain copy: encrypted through an export
            connection.close()
            encrypted = path.with_name(path.name + ".encrypted")
            cipher.encrypt_file(path, new, target=encrypted)
            os.replace(encrypted, path)
            return
        connection.execute("PRAGMA journal_mode = DELETE").fetchone()
        connection.execute(f"PRAGMA rekey = \"x'{new}'\"")
    finally:
        connection.close()


def _keep_current_sqlite(path: Path, db: Database | None, backup_dir: Path,
                         key: str) -> Path:
    """Back up the database about to be replaced; a damaged one (that cannot be read
    through SQLite) is kept as its encrypted bytes."""
    when = _utc_now()
    stem, suffix = path.stem, path.suffix or ".sqlite3"
    if db is not None:
        with contextlib.suppress(DatabaseUnavailable, cipher.dbapi.Error):
            return back_up(db, backup_dir / f"{stem}-{when:{STAMP}}-before-restore{suffix}",
                           now=when).path
    kept = backup_dir / f"{stem}-{when:{STAMP}}-before-restore-damaged{suffix}"
    backup_dir.mkdir(parents=True, exist_ok=True)
    for source, copy in ((path, kept),
                         (path.with_name(path.name + "-wal"), kept.with_name(kept.name + "-wal"))):
        if source.exists():
            shutil.copyfile(source, copy)
    cipher.save_key(kept, key)
    return kept


def _restore_postgresql(url: str, file: Path, manifest: BackupManifest, replace: bool,
                        backup_dir: Path, db: Database | None, progress: Progress | None,
                        ) -> RestoreResult:
    pg_restore = _pg_tool("pg_restore")
    args, env = _pg_connection(url)
    _step(progress, 1, 5, "Reading the dump's table of contents")
    _run([pg_restore, "--list", str(file)], env, f"{file} is not a PostgreSQL dump "
         "(pg_restore --list)")
    owned = db is None
    database = db or Database(url)
    try:
        with database.engine.connect() as connection:
            has_tables = bool(_counted_tables(connection)) or bool(
                inspect(connection).get_table_names())
        previous = None
        if has_tables:
            if not replace:
                raise _refuse_without_yes(database.display_url)
            _step(progress, 2, 5, "Backing up the database it replaces")
            when = _utc_now()
            previous = back_up(database, backup_dir / backup_name(database, when,
                                                                  "before-restore"),
                               now=when).path
            _empty_schema(database)
        _step(progress, 3, 5, "Restoring (pg_restore)")
        try:
            _run([pg_restore, "--no-owner", "--no-privileges", "--single-transaction",
                  "--exit-on-error", *args, str(file)], env, "pg_restore")
            _step(progress, 4, 5, "Checking the restored database (rows, audit chain)")
            database.engine.dispose()
            _check_contents(database.engine, manifest, str(file))
        except BaseException:
            if previous is not None:  # put the database back as it was
                _empty_schema(database)
                _run([pg_restore, "--no-owner", "--no-privileges", "--single-transaction",
                      "--exit-on-error", *args, str(previous)], env,
                     "Putting the previous database back (pg_restore)")
            raise
    finally:
        if owned:
            database.dispose()
    _step(progress, 5, 5, "Restored")
    return RestoreResult(database.display_url, manifest, previous)


def _empty_schema(db: Database) -> None:
    with db.engine.begin() as connection:
        tables = inspect(connection).get_table_names()
        if tables:
            connection.execute(text("DROP TABLE " + ", ".join(f'"{t}"' for t in tables)
                                    + " CASCADE"))
    db.engine.dispose()


# --- the schedule ---------------------------------------------------------------------------


def scheduled_backups(folder: Path, db: Database) -> list[tuple[Path, BackupManifest]]:
    """The scheduled backups of this database in ``folder``, oldest first."""
    found = []
    prefix = backup_name(db, datetime(2000, 1, 1)).split("-20000101-")[0] + "-"
    if folder.is_dir():
        for manifest_file in folder.glob(f"{prefix}*{SCHEDULED_MARK}*{MANIFEST_SUFFIX}"):
            file = manifest_file.with_name(manifest_file.name[:-len(MANIFEST_SUFFIX)])
            with contextlib.suppress(InvalidInput):
                found.append((file, read_manifest(file)))
    return sorted(found, key=lambda item: (item[1].created_at, str(item[0])))


def backup_due(folder: Path, db: Database, every_hours: int, now: datetime) -> bool:
    """True when no scheduled backup was made in the last ``every_hours`` (a few minutes'
    slack: a daily backup at 09:00 is not skipped for being made at 09:00:30 yesterday)."""
    if every_hours <= 0:
        return False
    made = scheduled_backups(folder, db)
    if not made:
        return True
    return made[-1][1].created_at <= now - timedelta(hours=every_hours) + timedelta(minutes=5)


def run_scheduled(db: Database, folder: Path, every_hours: int, keep: int, *,
                  force: bool = False, progress: Progress | None = None,
                  now: datetime | None = None) -> BackupResult | None:
    """The scheduled backup, if one is due (or ``force``), then only the newest ``keep``
    scheduled backups are kept. None when none was due."""
    moment = now or _utc_now()
    if not force and not backup_due(folder, db, every_hours, moment):
        return None
    result = back_up(db, folder / backup_name(db, moment), progress=progress, now=moment)
    removed = rotate(folder, db, keep)
    from dataclasses import replace as replaced

    return replaced(result, removed=tuple(removed))


def rotate(folder: Path, db: Database, keep: int) -> list[Path]:
    """Delete the scheduled backups older than the newest ``keep`` (with their manifests)."""
    made = scheduled_backups(folder, db)
    removed = []
    for file, _manifest in made[:max(len(made) - max(keep, 1), 0)]:
        for path in (file, manifest_path(file)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        removed.append(file)
    return removed


def describe_backups(items: Sequence[tuple[Path, BackupManifest]]) -> list[str]:
    return [f"{m.created_at:%Y-%m-%d %H:%M} UTC  {file}  ({m.row_counts.get('cases', 0):,} "
            f"cases, {_size_text(m.size)})" for file, m in items]


def describe_for_damage(folders: Iterable[Path], backend: Backend = "sqlite") -> str:
    """What to tell staff whose database is damaged: the newest backup and the command."""
    newest = newest_backup(folders, backend)
    if newest is None:
        return ("No backup of it was found in the backup folder; ask IT for a copy from "
                "the workstation's own backups.")
    file, manifest = newest
    return (f"The newest backup is {file} (made {manifest.created_at:%Y-%m-%d %H:%M} UTC, "
            f"{manifest.row_counts.get('cases', 0):,} cases): restore it with "
            f"caseapp restore {file} --yes")
