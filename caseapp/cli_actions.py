"""The ``action``, ``notice`` and ``suppression`` commands: acting on a case's confirmed
records, telling the recipients downstream, and the suppression list.

    caseapp action propose PR-2026-00042 delete [--hit 7 --hit 9]
    caseapp action propose PR-2026-00042 correct --set email=new@example.com
    caseapp action list|show PR-2026-00042 [ID] [--json]
    caseapp action approve|run|verify PR-2026-00042 ID
    caseapp action withdraw PR-2026-00042 ID --reason "..."
    caseapp notice list PR-2026-00042 [--json]
    caseapp notice sent|ack|not-notified PR-2026-00042 ID [--how email] [--note "..."]
    caseapp suppression check [--email E] [--phone P] [--name N --zip Z]
    caseapp suppression salt --export | --import
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from caseapp.config import Settings
from caseapp.errors import InvalidInput
from caseapp.records.action_model import ActionProgress
from caseapp.records.suppression import PersonIdentifiers
from caseapp.services import Desk
from caseapp.services.dto import NoticeView, RecordActionView
from caseapp.vocabulary import ACTION_KIND_LABELS

EXIT_INCOMPLETE = 3
"""An action that did not run in every system, or whose verification failed."""
EXIT_SUPPRESSED = 4
"""``suppression check``: the person is on the suppression list."""


def add_parsers(commands: Any) -> None:
    action = commands.add_parser(
        "action", help="act on a case's confirmed records: propose, approve, run, verify",
        description="Delete, correct, opt out or stop sharing the records confirmed as the "
        "data subject's. An action is proposed with a preview of every row it will change; "
        "a deletion then needs a second person's approval (never the one who proposed it); "
        "running it changes each system in one transaction and verifies the result. An "
        "action that did not finish everywhere exits with status 3 and can be run again.")
    verbs = action.add_subparsers(dest="action_command", metavar="ACTION", required=True)
    propose = verbs.add_parser("propose", help="preview an action and store it")
    propose.add_argument("ref")
    propose.add_argument("kind", choices=tuple(ACTION_KIND_LABELS))
    propose.add_argument("--hit", type=int, action="append", metavar="HIT_ID",
                         help="only this confirmed hit (repeat; default: every confirmed one)")
    propose.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                         help="for correct: the new value of an identifier (email=..., "
                         "phone=..., or a column)")
    propose.add_argument("--json", action="store_true")
    for name, text in (("list", "the case's actions"), ("show", "one action with its preview")):
        verb = verbs.add_parser(name, help=text)
        verb.add_argument("ref")
        if name == "show":
            verb.add_argument("id", type=int)
        verb.add_argument("--json", action="store_true")
    for name, text in (("approve", "approve a proposed deletion (not your own)"),
                       ("run", "carry an approved action out in every system, then verify"),
                       ("verify", "re-read the systems: is the action's work still in place?")):
        verb = verbs.add_parser(name, help=text)
        verb.add_argument("ref")
        verb.add_argument("id", type=int)
        verb.add_argument("--json", action="store_true")
    withdraw = verbs.add_parser("withdraw", help="withdraw an action that has not run")
    withdraw.add_argument("ref")
    withdraw.add_argument("id", type=int)
    withdraw.add_argument("--reason", required=True)

    notice = commands.add_parser(
        "notice", help="downstream notices of a case: list, sent, acknowledged",
        description="The affiliates, service providers and dealers to tell about an action. "
        "The case cannot close while a notice is unanswered, unless a supervisor overrides.")
    notice_verbs = notice.add_subparsers(dest="notice_command", metavar="ACTION", required=True)
    listing = notice_verbs.add_parser("list", help="the case's notices, with their texts")
    listing.add_argument("ref")
    listing.add_argument("--json", action="store_true")
    for name, text in (("sent", "the notice went out (--how email, first-class mail...)"),
                       ("ack", "the recipient acknowledged it"),
                       ("not-notified", "the recipient is not notified (--note says why)")):
        verb = notice_verbs.add_parser(name, help=text)
        verb.add_argument("ref")
        verb.add_argument("id", type=int)
        verb.add_argument("--how", default="email")
        verb.add_argument("--note", default="")

    suppression = commands.add_parser(
        "suppression", help="check identifiers against deleted people; copy the salt",
        description="After a deletion the desk keeps only salted hashes of the person's "
        "identifiers. 'check' says whether an email, phone or name with ZIP belongs to "
        "someone deleted (so they are not added again by mistake). Every workstation of a "
        "desk needs the same salt: 'salt --export' prints it, 'salt --import' reads it.")
    sup_verbs = suppression.add_subparsers(dest="suppression_command", metavar="ACTION",
                                           required=True)
    check = sup_verbs.add_parser("check", help="is this person on the suppression list?")
    check.add_argument("--email", action="append", default=[])
    check.add_argument("--phone", action="append", default=[])
    check.add_argument("--name", default="")
    check.add_argument("--zip", default="")
    check.add_argument("--json", action="store_true")
    salt = sup_verbs.add_parser("salt", help="copy the desk's salt between workstations")
    which = salt.add_mutually_exclusive_group(required=True)
    which.add_argument("--export", action="store_true")
    which.add_argument("--import", dest="import_", action="store_true")


# --- action ---------------------------------------------------------------------------


def cmd_action(settings: Settings, args: argparse.Namespace) -> int:
    desk = Desk(settings.effective_database_url, settings.user)
    try:
        desk.check_ready()
        verb = args.action_command
        if verb == "propose":
            view = desk.propose_action(args.ref, args.kind, hit_ids=args.hit,
                                       corrections=_corrections(args.set))
            _print_action(view, args.json, plan=True)
            if not args.json:
                print(f"Next: caseapp action {'approve' if view.awaiting_approval else 'run'} "
                      f"{view.case_ref} {view.id}"
                      + (" (by someone else)" if view.awaiting_approval else ""))
            return 0
        if verb == "list":
            views = desk.record_actions(args.ref)
            if args.json:
                print(json.dumps([action_json(v) for v in views], indent=2,
                                 ensure_ascii=False))
            for view in [] if args.json else views:
                _print_line(view)
            return 0
        if verb == "show":
            _print_action(desk.record_action(args.ref, args.id), args.json, plan=True)
            return 0
        if verb == "approve":
            _print_action(desk.approve_action(args.ref, args.id), args.json)
            return 0
        if verb == "withdraw":
            _print_line(desk.withdraw_action(args.ref, args.id, args.reason))
            return 0
        if verb == "run":
            view = desk.execute_action(args.ref, args.id, progress=_progress())
            if sys.stderr.isatty():
                print(file=sys.stderr)
        else:
            view = desk.verify_action(args.ref, args.id)
        _print_action(view, args.json)
        return 0 if view.status == "verified" else EXIT_INCOMPLETE
    finally:
        desk.close()


def _corrections(pairs: list[str]) -> dict[str, str] | None:
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--set takes FIELD=VALUE, e.g. email=new@example.com (got "
                               f"{pair!r}).")
        found[name.strip()] = value.strip()
    return found or None


def _progress() -> Any:
    if not sys.stderr.isatty():
        return None

    def show(step: ActionProgress) -> None:
        print(f"\r{step.source} / {step.table}: {step.done:,} of {step.total:,} rows",
              end="", file=sys.stderr, flush=True)

    return show


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def action_json(view: RecordActionView) -> dict[str, Any]:
    data = {k: _plain(v) for k, v in asdict(view).items()
            if k not in ("plan", "result", "verification")}
    data["plan"] = view.plan.to_dict()
    data["result"] = view.result.to_dict() if view.result else None
    data["verification"] = view.verification.to_dict() if view.verification else None
    data["problems"] = list(view.problems)
    return data


def _print_line(view: RecordActionView) -> None:
    who = f"proposed by {view.requested_by}"
    if view.approved_by:
        who += f", approved by {view.approved_by}"
    rows = (f"{view.rows_changed} rows changed" if view.runs
            else f"{view.rows_planned} rows to change")
    print(f"  #{view.id:<4} {view.kind_label:<22} {view.status_label:<24} {rows}; {who}")


def _print_action(view: RecordActionView, as_json: bool, *, plan: bool = False) -> None:
    if as_json:
        print(json.dumps(action_json(view), indent=2, ensure_ascii=False))
        return
    print(f"{view.case_ref}: action {view.id}, {view.kind_label}: {view.status_label}")
    _print_line(view)
    if plan:
        for source in view.plan.sources:
            print(f"  {source.label}: {source.rows_to_change} rows")
            for table in source.tables:
                if not (table.changes or table.kept or table.already_done):
                    continue
                what = (f"{len(table.changes)} to {table.operation}" if table.changes
                        else f"{len(table.kept)} kept" if table.kept else "already done")
                print(f"    {table.label} ({table.db_table}): {what}"
                      + (f"; {table.note}" if table.note else ""))
                for change in table.changes[:20]:
                    columns = ", ".join(f"{c.column}: {c.before!r} → {c.after!r}"
                                        for c in change.columns)
                    via = f" (follows {change.via})" if change.via else ""
                    print(f"      #{change.key} {change.operation}{via} {columns}".rstrip())
                if len(table.changes) > 20:
                    print(f"      ... and {len(table.changes) - 20} more")
                for kept in table.kept:
                    print(f"      #{kept.key} KEPT: {kept.reason} ({kept.legal_basis})")
                if table.already_done:
                    print(f"      already done: {len(table.already_done)}")
    for run in view.runs[-len(view.result.sources):] if view.result else ():
        print(f"  ran in {run.label}: {run.state}, {run.rows_changed} rows"
              + (f" ({run.problem})" if run.problem else ""))
    if view.verification is not None:
        print("  verified: " + ("yes, every system" if view.verification.ok else "NO"))
    for problem in view.problems:
        print(f"  problem: {problem}")


# --- notice ---------------------------------------------------------------------------


def notice_json(view: NoticeView) -> dict[str, Any]:
    return {k: _plain(v) for k, v in asdict(view).items()}


def cmd_notice(settings: Settings, args: argparse.Namespace) -> int:
    desk = Desk(settings.effective_database_url, settings.user)
    try:
        desk.check_ready()
        verb = args.notice_command
        if verb == "list":
            views = desk.notices(args.ref)
            if args.json:
                print(json.dumps([notice_json(v) for v in views], indent=2,
                                 ensure_ascii=False))
                return 0
            for view in views:
                print(f"  #{view.id:<4} {view.recipient_name:<40} {view.status_label:<22} "
                      f"due {view.due_on.isoformat()}")
            return 0
        if verb == "sent":
            view = desk.mark_notice_sent(args.ref, args.id, args.how)
        else:
            view = desk.record_notice_answer(args.ref, args.id, acknowledged=verb == "ack",
                                             note=args.note)
        print(f"Notice {view.id} to {view.recipient_name}: {view.status_label}")
        return 0
    finally:
        desk.close()


# --- suppression ----------------------------------------------------------------------


def cmd_suppression(settings: Settings, args: argparse.Namespace) -> int:
    desk = Desk(settings.effective_database_url, settings.user)
    try:
        desk.check_ready()
        if args.suppression_command == "salt":
            if args.export:
                print(desk.export_suppression_salt())
                return 0
            salt = (getpass.getpass("The desk's suppression salt: ") if sys.stdin.isatty()
                    else sys.stdin.readline())
            desk.import_suppression_salt(salt)
            print("The desk's suppression salt is kept in this workstation's keyring.")
            return 0
        if args.name and not args.zip:
            raise InvalidInput("A name is checked with its ZIP code (--zip): a name alone "
                               "matches too many people.")
        person = PersonIdentifiers(emails=tuple(args.email), phones=tuple(args.phone),
                                   names=((args.name, args.zip),) if args.name else ())
        if not (person.emails or person.phones or person.names):
            raise InvalidInput("Give --email, --phone, or --name with --zip.")
        matches = desk.check_suppression(person)
        if args.json:
            print(json.dumps([{k: _plain(v) for k, v in asdict(m).items()} for m in matches],
                             indent=2))
        elif matches:
            for match in matches:
                print(f"SUPPRESSED: the {match.kind.replace('_', ' + ')} belongs to a person "
                      f"deleted in {match.case_ref} ({match.created_at:%Y-%m-%d})")
        else:
            print("Not on the suppression list.")
        return EXIT_SUPPRESSED if matches else 0
    finally:
        desk.close()
