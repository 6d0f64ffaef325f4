"""``caseapp backup``, ``caseapp restore`` and ``caseapp database-key`` (caseapp.services.backup).

    caseapp backup FILE              back the database up now, while it is in use
    caseapp backup --scheduled       the scheduled backup if one is due ([backup] settings;
                                     for cron), keeping the newest N
    caseapp backup --list            the scheduled backups in the backup folder
    caseapp restore FILE [--yes]     check the backup, back the current database up, replace
    caseapp database-key --export    print the embedded database's key (keep it apart)
    caseapp database-key --import    read it from standard input into the keyring
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from caseapp.config import Settings
from caseapp.db import cipher
from caseapp.db.engine import sqlite_path
from caseapp.errors import DatabaseUnavailable, InvalidInput
from caseapp.services import Desk
from caseapp.services import backup as service_backup


def add_parsers(commands: Any) -> None:
    backup = commands.add_parser(
        "backup", help="back the case database up (SQLite: an encrypted copy; PostgreSQL: "
        "pg_dump), with a manifest of its row counts and audit chain",
        description="Back the case database up while it is in use. SQLite: an online copy "
        "encrypted with the database's own key (from this workstation's keyring); "
        "PostgreSQL: pg_dump --format=custom. Beside the FILE, FILE.manifest.json records "
        "the row counts and the audit chain's head, which caseapp restore checks.")
    backup.add_argument("file", nargs="?", type=Path, help="the new backup file")
    what = backup.add_mutually_exclusive_group()
    what.add_argument("--scheduled", action="store_true",
                      help="the scheduled backup into the [backup] folder, if one is due "
                      "(every_hours), keeping the newest [backup] keep; for cron")
    what.add_argument("--list", action="store_true",
                      help="list the scheduled backups in the backup folder")
    backup.add_argument("--now", action="store_true",
                        help="with --scheduled: back up even if one is not due")

    restore = commands.add_parser(
        "restore", help="replace the case database by a backup (checked first; the current "
        "database is backed up first)",
        description="Restore a backup made by caseapp backup. The file is checked first "
        "(its manifest, size and checksum; then the copy's integrity, every table's row "
        "count and the audit chain, which must end where the manifest says). An existing "
        "database is replaced only with --yes, after it is backed up into the backup "
        "folder. Nothing is asked.")
    restore.add_argument("file", type=Path, help="the backup file")
    restore.add_argument("--yes", action="store_true",
                         help="replace the existing database (it is backed up first)")

    key = commands.add_parser(
        "database-key", help="export or import the embedded database's encryption key",
        description="The embedded database (and its backups) open only with its key, kept "
        "in this workstation's keyring. Export it once and keep it apart from the backups "
        "(a password manager, a sealed envelope): a lost keyring otherwise loses the "
        "backups too. Import it on a workstation that must open the database or restore "
        "its backups.")
    key_what = key.add_mutually_exclusive_group(required=True)
    key_what.add_argument("--export", action="store_true",
                          help="print the key on standard output")
    key_what.add_argument("--import", dest="import_", action="store_true",
                          help="read the key from standard input and keep it in the keyring")


def _progress(done: int, total: int, what: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{what}… ({done}/{total})\033[K", end="" if done < total else "\n",
              file=sys.stderr, flush=True)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    if args.now and not args.scheduled:
        raise InvalidInput("--now goes with --scheduled.")
    if (args.scheduled or args.list) and args.file is not None:
        raise InvalidInput("Name a FILE, or use --scheduled / --list, not both.")
    if not (args.scheduled or args.list) and args.file is None:
        raise InvalidInput("Name the new backup FILE (or use --scheduled, as a cron job "
                           "does).")
    desk = Desk(settings.effective_database_url, settings.user)
    try:
        folder = settings.backup.folder_path(settings.paths)
        if args.list:
            items = desk.backups(folder)
            for line in service_backup.describe_backups(items):
                print(line)
            print(f"{len(items)} scheduled backup(s) in {folder}")
            return 0
        if args.scheduled:
            if settings.backup.every_hours == 0 and not args.now:
                print("Scheduled backups are off ([backup] every_hours = 0).")
                return 0
            result = desk.scheduled_backup(settings.backup, settings.paths, force=args.now,
                                           progress=_progress)
            if result is None:
                print(f"No backup due: the newest in {folder} is less than "
                      f"{settings.backup.every_hours} hours old.")
                return 0
            print(result.describe())
            for old in result.removed:
                print(f"Removed the older backup {old} (keeping {settings.backup.keep}).")
            return 0
        print(desk.back_up(args.file, progress=_progress).describe())
        return 0
    finally:
        desk.close()


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    url = settings.effective_database_url
    backup_dir = settings.backup.folder_path(settings.paths)
    try:
        desk: Desk | None = Desk(url, settings.user)
    except DatabaseUnavailable:  # damaged, or its key is gone: restore the file anyway
        desk = None
    try:
        if desk is not None:
            result = desk.restore_backup(args.file, backup_dir, replace=args.yes,
                                         progress=_progress)
        else:
            result = service_backup.restore(url, args.file, replace=args.yes,
                                            backup_dir=backup_dir, progress=_progress)
    finally:
        if desk is not None:
            desk.close()
    print(result.describe())
    print("Run caseapp init if this program is newer than the backup (it upgrades the "
          "database), then caseapp audit verify at any time.")
    return 0


def cmd_database_key(settings: Settings, args: argparse.Namespace) -> int:
    path = sqlite_path(settings.effective_database_url)
    if path is None:
        raise InvalidInput("Only the embedded (SQLite) database has a key; this desk uses "
                           f"{settings.effective_database_url.split(':', 1)[0]}.")
    if args.export:
        key = cipher.read_key(path)
        if key is None:
            raise InvalidInput(f"The keyring holds no key for {path} (keyring entry "
                               f"\"{cipher.key_name(path)}\").")
        if sys.stdout.isatty():
            print("Keep this key apart from the backups; whoever has both can read them.",
                  file=sys.stderr)
        print(key)
        return 0
    key = sys.stdin.readline().strip().lower()
    cipher.key_pragma(key)  # 64 hexadecimal digits, or refused
    if cipher.file_kind(path) == "encrypted":
        cipher.connect(path, key).close()  # refused when it does not open the database
    cipher.save_key(path, key)
    print(f"Kept the key of {path} in the keyring (entry \"{cipher.key_name(path)}\").")
    return 0
