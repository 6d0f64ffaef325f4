"""The ``email`` and ``smtp`` commands: email an issued letter, and the outgoing mail server.

    caseapp email REF SERIAL [--to ADDRESS] [--again] [--json]
    caseapp smtp show                       the settings and whether the password is stored
    caseapp smtp set --host HOST --from ADDRESS [--port N] [--security starttls|ssl|none]
                     [--user LOGIN] [--from-name NAME]
    caseapp smtp password [--stdin] [--forget]   the login's password in the OS keyring
    caseapp smtp check                      connect and log in; nothing is sent

Settings go to ``[smtp]`` in settings.toml; the password only to the keyring, as the
secret ``smtp:USER@HOST``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from caseapp.cli_letters import offer_next_step
from caseapp.config import (
    SMTP_SECURITY,
    Settings,
    SmtpSettings,
    default_smtp_port,
    save_smtp_settings,
)
from caseapp.errors import ConfigError, InvalidInput
from caseapp.secrets import delete_secret, get_secret, keyring_description, store_secret
from caseapp.services import Desk
from caseapp.services.letter_email import check_smtp


def add_parsers(commands: Any) -> None:
    email = commands.add_parser(
        "email", help="email an issued letter (its PDF attached) to the requester",
        description="Send letter SERIAL of case REF as a PDF attachment, with the case "
        "reference in the subject, through the SMTP server of the settings (caseapp smtp "
        "set). Once the server accepted it, the sent message joins the case thread and "
        "the letter shows when and to whom it was emailed. A letter emailed before is "
        "sent again only with --again.")
    email.add_argument("ref", help="the case reference, e.g. PR-2026-00042")
    email.add_argument("serial", help="the letter's serial, e.g. L-2026-000017")
    email.add_argument("--to", metavar="ADDRESS",
                       help="send to this address instead of the requester's")
    email.add_argument("--again", action="store_true",
                       help="send a letter that was emailed before once more")
    email.add_argument("--advance", action="store_true",
                       help="also take the step sending it completes (acknowledge; "
                       "approve and send)")
    email.add_argument("--json", action="store_true")

    smtp = commands.add_parser(
        "smtp", help="the outgoing mail server letters are emailed through",
        description="Outgoing mail (SMTP): letters are emailed through this server. The "
        "password is kept in the OS keyring as the secret smtp:USER@HOST, never in the "
        "settings file.")
    actions = smtp.add_subparsers(dest="smtp_command", metavar="ACTION", required=True)
    actions.add_parser("show", help="the settings and whether the password is stored")
    setting = actions.add_parser("set", help="set the SMTP server and the from address")
    setting.add_argument("--host", required=True, help="e.g. smtp.example.com")
    setting.add_argument("--port", type=int,
                         help="default 587 (starttls), 465 (ssl) or 25 (none)")
    setting.add_argument("--security", choices=SMTP_SECURITY, default="starttls",
                         help="none is allowed only for a server on this machine")
    setting.add_argument("--user", dest="smtp_user", default="",
                         help="the login (leave out for a server that needs none)")
    setting.add_argument("--from", dest="from_address", required=True, metavar="ADDRESS",
                         help="the address letters come from, e.g. privacy@example.com")
    setting.add_argument("--from-name", default="", metavar="NAME",
                         help="the name shown with it, e.g. \"Privacy Office\"")
    password = actions.add_parser(
        "password", help="store the login's password in the OS keyring (never in a file)")
    password.add_argument("--stdin", action="store_true",
                          help="read the password from standard input (for scripts)")
    password.add_argument("--forget", action="store_true",
                          help="remove the stored password instead")
    actions.add_parser("check", help="connect and log in with the settings; nothing is sent")


def cmd_email(settings: Settings, args: argparse.Namespace) -> int:
    desk = Desk(settings.effective_database_url, settings.user)
    try:
        desk.check_ready()
        desk.use_smtp(settings.smtp, settings_file=args.config)
        sent = desk.email_letter(args.ref, args.serial, args.to, again=args.again)
        if args.json:
            print(json.dumps({"ref": sent.ref, "serial": sent.serial, "to": sent.to,
                              "subject": sent.subject, "message_id": sent.message_id,
                              "emailed_at": sent.emailed_at.isoformat() + "Z",
                              "again": sent.again}, indent=2, ensure_ascii=False))
        else:
            print(sent.sentence())
            kind = next(v.kind for v in desk.list_letters(sent.ref) if v.serial == sent.serial)
            offer_next_step(desk, sent.ref, kind, args.advance)
        return 0
    finally:
        desk.close()


def cmd_smtp(settings: Settings, args: argparse.Namespace) -> int:
    command = args.smtp_command
    if command == "set":
        smtp = SmtpSettings(host=args.host, port=args.port or default_smtp_port(args.security),
                            security=args.security, user=args.smtp_user.strip(),
                            from_address=args.from_address.strip(),
                            from_name=args.from_name.strip())
        file = save_smtp_settings(smtp, args.config)
        print(f"Outgoing mail settings saved in {file}.")
        if smtp.user and not get_secret(smtp.secret_name):
            print("Now store its password: caseapp smtp password")
        return 0
    smtp = settings.smtp
    if not smtp.configured:
        raise ConfigError("Outgoing mail is not set up yet: caseapp smtp set --host HOST "
                          "--from ADDRESS [--user LOGIN]")
    if command == "password":
        return _password(smtp, args.stdin, args.forget)
    if command == "check":
        print(check_smtp(smtp).sentence())
        return 0
    if smtp.user:
        stored = get_secret(smtp.secret_name) is not None
        password = f"stored in {keyring_description()}" if stored else "not stored"
    else:
        password = "none needed (no login)"
    sender = f"{smtp.from_name} <{smtp.from_address}>" if smtp.from_name else smtp.from_address
    print(f"server:   {smtp.host}:{smtp.port} ({smtp.security})\n"
          f"user:     {smtp.user or '(none)'}\nfrom:     {sender}\n"
          f"password: {password}")
    return 0


def _password(smtp: SmtpSettings, from_stdin: bool, forget: bool) -> int:
    if not smtp.user:
        raise ConfigError("The SMTP settings have no user, so no password is used. Set one "
                          "with: caseapp smtp set ... --user LOGIN")
    if forget:
        delete_secret(smtp.secret_name)
        print(f"Password of {smtp.user} at {smtp.host} removed from the keyring.")
        return 0
    if from_stdin or not sys.stdin.isatty():  # never an argument: argv is visible to all
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = getpass.getpass(f"Password for {smtp.user} at {smtp.host}: ")
    if not secret:
        raise InvalidInput("No password given; nothing was stored.")
    store_secret(smtp.secret_name, secret)
    print(f"Password stored in the keyring ({keyring_description()}).")
    return 0
