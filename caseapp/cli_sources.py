"""The ``sources`` command: the customer systems of the sources file, and their passwords.

    caseapp sources show [--json]           the systems the file describes
    caseapp sources check [--json]          try each system (exit 3 if one cannot be searched)
    caseapp sources password NAME           store a system's password in the OS keyring
    caseapp sources password NAME --forget  remove it from the keyring
    caseapp sources edit-check FILE         check a draft before putting it in place
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from caseapp.config import Settings
from caseapp.errors import ConfigError, InvalidInput
from caseapp.secrets import keyring_description
from caseapp.services.sources_admin import (
    SystemCheck,
    SystemSummary,
    check_systems,
    forget_source_password,
    password_system,
    read_sources_file,
    store_source_password,
    validate_sources_text,
)

EXIT_INCOMPLETE = 3
PASSWORD_LABELS = {"not_needed": "-", "stored": "stored", "not_stored": "NOT stored",
                   "unknown": "keyring unavailable"}


def add_parsers(commands: Any) -> None:
    sources = commands.add_parser(
        "sources", help="the customer systems of the sources file and their passwords",
        description="Show, check and try the customer systems described in the sources "
        "file (sources.toml in the settings folder; see resources/sources.example.toml). "
        "A database system's password is kept in the OS keyring as the secret "
        "source:NAME, never in the file.")
    actions = sources.add_subparsers(dest="sources_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="the systems the sources file describes")
    show.add_argument("--json", action="store_true")
    check = actions.add_parser(
        "check", help="connect to each system and look for its tables and columns",
        description="Try every system of the sources file. Exit status 3 when one cannot "
        "be searched (unreachable, or a table or column the file names is missing).")
    check.add_argument("--json", action="store_true")
    password = actions.add_parser(
        "password", help="store a database system's password in the OS keyring",
        description="Read the password without echo (or one line from standard input "
        "when it is not a terminal) and keep it as the keyring secret source:NAME.")
    password.add_argument("name", help="the system's NAME, as in [sources.NAME]")
    password.add_argument("--forget", action="store_true",
                          help="remove the stored password instead")
    edit_check = actions.add_parser(
        "edit-check", help="check a sources file (e.g. a draft) without using it")
    edit_check.add_argument("file", type=Path)


def cmd_sources(settings: Settings, args: argparse.Namespace) -> int:
    paths = settings.paths
    command = args.sources_command
    if command == "edit-check":
        text = read_sources_file(args.file)
        if not text.exists:
            raise InvalidInput(f"{args.file}: no such file.")
        systems = validate_sources_text(text.text, args.file)
        print(f"{args.file}: valid, {len(systems)} systems")
        _print_systems(systems)
        return 0
    if command == "password":
        return _password(args.name, args.forget, paths.sources_file)
    view = read_sources_file(paths.sources_file)
    if command == "show":
        if not view.exists:
            raise ConfigError(f"No sources file at {view.path}: start from "
                              "resources/sources.example.toml, or run caseapp init --demo.")
        systems = validate_sources_text(view.text, view.path)
        if args.json:
            print(json.dumps({"file": str(view.path), "systems": [
                {**asdict(s), "needs_password": s.needs_password} for s in systems]},
                indent=2, ensure_ascii=False))
        else:
            print(f"{view.path}: {len(systems)} systems")
            _print_systems(systems)
        return 0
    progress = _progress if sys.stderr.isatty() and not args.json else None
    checks = check_systems(paths.sources_file, paths.data_dir, progress=progress)
    if progress is not None:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps([{**asdict(c), "reachable": c.reachable, "verdict": c.verdict()}
                          for c in checks], indent=2, ensure_ascii=False))
    else:
        _print_checks(checks)
    return 0 if all(check.searchable for check in checks) else EXIT_INCOMPLETE


def _progress(done: int, total: int, label: str) -> None:
    print(f"\rTrying {min(done + 1, total)}/{total}: {label:<40}", end="", file=sys.stderr,
          flush=True)


def _print_systems(systems: list[SystemSummary]) -> None:
    for system in systems:
        tables = f"{system.tables} tables" if system.kind == "database" else "manual"
        print(f"  {system.name:<20} {system.label:<28} {tables:<10} "
              f"password: {PASSWORD_LABELS[system.password]:<10} {system.where}")


def _print_checks(checks: tuple[SystemCheck, ...]) -> None:
    for check in checks:
        print(f"  {check.name:<20} {check.label:<28} {check.verdict()}")
    bad = [check.name for check in checks if not check.searchable]
    print("Every system can be searched." if not bad else
          f"Cannot be searched now: {', '.join(bad)}.")


def _password(name: str, forget: bool, file: Path) -> int:
    if forget:
        removed = forget_source_password(name, file)
        print(f"Password of {name} removed from the keyring." if removed
              else f"No password was stored for {name}; nothing to remove.")
        return 0
    system = password_system(name, file)  # an unknown name is refused before the prompt
    if sys.stdin.isatty():
        secret = getpass.getpass(f"Password for {system.label} ({system.where}): ")
    else:  # a script pipes it in: one line, never an argument (argv is visible to all)
        secret = sys.stdin.readline().rstrip("\r\n")
    summary = store_source_password(name, secret, file)
    print(f"Password of {summary.label} ({name}) stored in the keyring "
          f"({keyring_description()}).")
    return 0
