"""The ``db`` command: which case database this workstation uses, and a shared desk's
login password.

    caseapp db show                    the address (no password), TLS and claim settings
    caseapp db check                   connect once and say what was found (exit 3: cannot)
    caseapp db password [--stdin]      keep the login's password in the keyring
    caseapp db password --forget

The password is asked for on the terminal (or read from standard input), never taken as
an argument, and goes to the operating system's keyring, never to the settings file.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from caseapp.config import Settings
from caseapp.errors import InvalidInput
from caseapp.services.database_admin import (
    check_database,
    forget_password,
    password_stored,
    store_password,
)

EXIT_UNREACHABLE = 3


def add_parsers(commands: Any) -> None:
    db = commands.add_parser(
        "db", help="the case database: show, check, the shared desk's password",
        description="A desk shared by several workstations uses one PostgreSQL server "
        "(--db postgresql+psycopg://USER@HOST/DATABASE, or database_url in the settings "
        "file). The login's password is kept in the keyring, never in the settings file.")
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    actions.add_parser("show", help="the database in use and its settings")
    actions.add_parser("check", help="connect once and report (nothing is written)")
    password = actions.add_parser("password", help="store the login's password in the "
                                  "keyring (asked for; never an argument)")
    password.add_argument("--stdin", action="store_true",
                          help="read the password from standard input")
    password.add_argument("--forget", action="store_true",
                          help="remove the stored password")


def cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    url = settings.effective_database_url
    action: str = args.db_command
    if action == "show":
        database = settings.database
        shared = url.startswith("postgres")
        print(f"database:      {_hidden(url)}")
        print(f"mode:          {'shared (PostgreSQL)' if shared else 'this workstation (SQLite)'}")
        if shared:
            print(f"sslmode:       {database.sslmode or 'verify-full (default)'}")
            print(f"sslrootcert:   {database.sslrootcert or '(libpq default)'}")
            print(f"password:      {'in the keyring' if password_stored(url) else 'none stored'}")
        print(f"claim lease:   {database.claim_minutes} minutes")
        return 0
    if action == "check":
        result = check_database(url)
        print(result.sentence(), file=sys.stdout if result.ok else sys.stderr)
        return 0 if result.ok else EXIT_UNREACHABLE
    if action == "password":
        if args.forget:
            name = forget_password(url)
            print(f"Removed the password {name} from the keyring.")
            return 0
        if args.stdin:
            secret = sys.stdin.readline().rstrip("\r\n")
        else:
            secret = getpass.getpass(f"Password for {_hidden(url)}: ")
        if not secret:
            raise InvalidInput("No password given: nothing was stored.")
        name = store_password(url, secret)
        print(f"Stored the password in the keyring as {name}.")
        return 0
    raise AssertionError(action)


def _hidden(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url
