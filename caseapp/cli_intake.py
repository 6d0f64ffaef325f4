"""The intake commands: ``import`` files and folders, list ``intake`` queues.

Results stream one line per message as each is committed, so a long import shows its
progress, and an import killed half-way has printed exactly what it took in.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path
from typing import Any

from caseapp.config import MailSettings, Settings, save_settings
from caseapp.errors import ConfigError, InvalidInput
from caseapp.secrets import get_secret, keyring_description, store_secret
from caseapp.services import Desk
from caseapp.services.dto import INTAKE_OUTCOME_LABELS, IntakeResult

EXIT_SOME_NOT_READ = 1


def add_parsers(commands: Any) -> None:
    importing = commands.add_parser(
        "import", help="take in .eml, .msg, .mbox files and scans (.pdf .png .jpg .tif)",
        description="Take in mail files: each message becomes a new case, joins the case "
        "it answers, is recognized as a duplicate, goes to the not-a-request list (bounces, "
        "auto-replies) or to quarantine (unreadable or hostile mail). One line per "
        "message. Scanned letters are read with OCR and open cases to review. Importing the "
        "same file again takes nothing in twice.",
    )
    importing.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    importing.add_argument("--received", metavar="YYYY-MM-DD", type=date.fromisoformat,
                           help="scans: the day the letters reached the PO box (the legal "
                                "clock starts then; default today)")
    importing.add_argument("--json", action="store_true",
                           help="one JSON object per line instead of text")

    fetch = commands.add_parser(
        "fetch-mail", help="take in the privacy mailbox's new mail (IMAP), once",
        description="Fetch the new messages of the mailbox in the settings ([mail] in "
        "settings.toml, or caseapp mail setup), take each in like caseapp import, and flag "
        "it processed on the server once its case is saved. Safe to run from cron; a "
        "fetch interrupted half-way is finished by the next one, with no duplicate.")
    fetch.add_argument("--json", action="store_true",
                       help="one JSON object per line instead of text")

    mail = commands.add_parser("mail", help="the privacy mailbox's settings and password")
    mail_commands = mail.add_subparsers(dest="mail_command", metavar="ACTION", required=True)
    setup = mail_commands.add_parser("setup", help="set the IMAP server, user and folder")
    setup.add_argument("--host", required=True)
    setup.add_argument("--user", dest="imap_user", required=True, help="IMAP login")
    setup.add_argument("--port", type=int, help="default 993 (ssl) or 143")
    setup.add_argument("--folder", default="INBOX")
    setup.add_argument("--security", choices=("ssl", "starttls", "none"), default="ssl",
                       help="none is allowed only for a server on this machine")
    setup.add_argument("--poll-minutes", type=int, default=0,
                       help="the window checks mail this often (0: only when asked)")
    password = mail_commands.add_parser(
        "password", help="store the mailbox password in the OS keyring (never in a file)")
    password.add_argument("--stdin", action="store_true",
                          help="read the password from standard input (for scripts)")
    mail_commands.add_parser("show", help="the mailbox settings and where the password is")

    queue = commands.add_parser("intake", help="the not-a-request list and the quarantine")
    queue.add_argument("which", choices=("not-request", "quarantine", "review"),
                       help="not-request: bounces and auto-replies that answer no case; "
                            "quarantine: mail that could not be read safely; review: cases "
                            "opened from mail whose classification is not yet confirmed")
    queue.add_argument("--json", action="store_true")


def _result_json(result: IntakeResult) -> dict[str, Any]:
    return {**asdict(result), "outcome_label": INTAKE_OUTCOME_LABELS[result.outcome]}


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    desk = Desk(settings.effective_database_url, settings.user)
    try:
        desk.check_ready()
        counts = _print_results(
            desk.import_files(args.paths, scans_received_on=args.received), args.json)
        return EXIT_SOME_NOT_READ if counts["failed"] else 0
    finally:
        desk.close()


def _print_results(results: Iterable[IntakeResult], as_json: bool) -> Counter[str]:
    counts: Counter[str] = Counter()
    for result in results:
        counts[result.outcome] += 1
        if as_json:
            print(json.dumps(_result_json(result), ensure_ascii=False), flush=True)
        else:
            print(result.line(), flush=True)
    if not as_json:
        summary = ", ".join(f"{counts[o]} {INTAKE_OUTCOME_LABELS[o]}"
                            for o in INTAKE_OUTCOME_LABELS if counts[o])
        print(f"{sum(counts.values())} items: {summary or 'nothing new'}", file=sys.stderr)
    return counts


def cmd_fetch_mail(settings: Settings, args: argparse.Namespace) -> int:
    desk = Desk(settings.effective_database_url, settings.user)
    try:
        desk.check_ready()
        _print_results(desk.fetch_mail(settings.mail), args.json)
        return 0
    finally:
        desk.close()


def cmd_mail(settings: Settings, args: argparse.Namespace) -> int:
    if args.mail_command == "setup":
        port = args.port or (993 if args.security == "ssl" else 143)
        mail = MailSettings(imap_host=args.host, imap_port=port, imap_user=args.imap_user,
                            imap_folder=args.folder, imap_security=args.security,
                            poll_minutes=args.poll_minutes)
        file = save_settings(replace(settings, mail=mail), args.config)
        print(f"Mailbox settings saved in {file}.")
        if not get_secret(mail.secret_name):
            print("Now store its password: caseapp mail password")
        return 0
    mail = settings.mail
    if not mail.configured:
        raise ConfigError("The mailbox is not set up yet: caseapp mail setup --host HOST "
                          "--user USER")
    if args.mail_command == "password":
        if args.stdin:
            secret = sys.stdin.readline().rstrip("\r\n")
        else:
            secret = getpass.getpass(f"Password for {mail.imap_user} at {mail.imap_host}: ")
        if not secret:
            raise InvalidInput("No password given; nothing was stored.")
        store_secret(mail.secret_name, secret)
        print(f"Password stored in the keyring ({keyring_description()}).")
        return 0
    stored = get_secret(mail.secret_name) is not None
    print(f"server:   {mail.imap_host}:{mail.imap_port} ({mail.imap_security})\n"
          f"user:     {mail.imap_user}\nfolder:   {mail.imap_folder}\n"
          f"polling:  {f'every {mail.poll_minutes} min' if mail.poll_minutes else 'off'}\n"
          f"password: {'stored in ' + keyring_description() if stored else 'not stored'}")
    return 0


def cmd_intake(settings: Settings, args: argparse.Namespace) -> int:
    desk = Desk(settings.effective_database_url, settings.user)
    try:
        desk.check_ready()
        if args.which == "review":
            from caseapp.services.dto import CaseQuery

            rows = desk.list_cases(CaseQuery(view="to_review"), limit=1000).rows
            if args.json:
                print(json.dumps([{"ref": r.ref, "request_types": list(r.request_types),
                                   "requester": r.requester_name, "received_on":
                                   r.received_on.isoformat()} for r in rows], indent=2))
            for row in [] if args.json else rows:
                print(f"{row.ref}  {', '.join(row.request_types):30}  {row.requester_name}")
            return 0
        disposition = "not_request" if args.which == "not-request" else "quarantined"
        items = desk.intake_queue(disposition)
        if args.json:
            print(json.dumps([{**asdict(i), "received_at": i.received_at.isoformat() + "Z"}
                              for i in items], indent=2, ensure_ascii=False))
            return 0
        for item in items:
            print(f"#{item.message_db_id}  {item.received_at:%Y-%m-%d %H:%M}  "
                  f"{item.sender[:40]:40}  {item.subject[:50]:50}  {item.reason}")
        if not items:
            print("Nothing here.")
        return 0
    finally:
        desk.close()
