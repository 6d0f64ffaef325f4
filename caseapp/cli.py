"""The ``caseapp`` command: the window by default, and everything staff script or cron runs.

User errors print one line on stderr and exit 2; bugs print a short report and exit 70.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from caseapp import (
    __version__,
    cli_actions,
    cli_backup,
    cli_dashboard,
    cli_database,
    cli_email,
    cli_intake,
    cli_letters,
    cli_print,
    cli_records,
    cli_reports,
    cli_retention,
    cli_search,
    cli_sources,
)
from caseapp.clock import Clock
from caseapp.config import Settings, load_settings
from caseapp.errors import DatabaseDamaged, InvalidInput, UserError
from caseapp.logs import bug_report, setup_logging, summary
from caseapp.services import Desk, claims
from caseapp.services.cases import VIEWS
from caseapp.services.dto import CaseDetail, CaseQuery, NewCase, PartyData, StepRequest
from caseapp.vocabulary import CHANNELS, RELATIONSHIPS, REQUEST_TYPES, ROLES, VERIFICATION_METHODS

EXIT_USER_ERROR = 2
EXIT_BUG = 70

EPILOG = """\
examples:
  caseapp                                  open the window
  caseapp init --demo                      create the database with demo staff and cases
  caseapp cases list --overdue
  caseapp cases show PR-2026-00042 --json
  caseapp cases new --channel phone --type delete --name "Ana Ruiz" --phone 555-0100 --state CA
  caseapp cases step PR-2026-00042 acknowledge
  caseapp cases edit PR-2026-00042 --type delete --type opt_out_sale_share --jurisdiction CA
  caseapp cases party PR-2026-00042 requester --state CA --zip 94123
  caseapp import ~/Downloads/privacy.mbox  take in mail: one line per message
  caseapp intake quarantine                mail that could not be read safely
  caseapp mail setup --host imap.example.com --user privacy
  caseapp mail password                    store the mailbox password in the OS keyring
  caseapp fetch-mail                       take in the mailbox's new mail (cron-safe)
  caseapp lookup PR-2026-00042             search the customer systems for the subject
  caseapp lookup --reindex                 refresh the desk-side index of those systems
  caseapp rules clocks                     legal clocks and their sources
  caseapp dashboard                        what is due, open and waiting at the desk
  caseapp audit verify
  caseapp purge --preview                  cases closed over 24 months ago, due to be purged
  caseapp backup ~/cases-backup.sqlite3    back the database up (restore: caseapp restore FILE)

The database defaults to a SQLite file in the user data folder; --db or the settings file
point it at PostgreSQL (postgresql+psycopg://user@host/db).
"""


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from error


def _customer_count(value: str) -> int:
    if not value.isdigit() or not 30 <= int(value) <= 1_000_000:
        raise argparse.ArgumentTypeError(f"a number of customers from 30 to 1000000: {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caseapp",
        description="Case manager for consumer privacy requests (CCPA/CPRA, state laws, "
        "COPPA, GDPR).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", metavar="URL", help="case database URL (default: settings, "
                        "else SQLite in the user data folder)")
    parser.add_argument("--config", metavar="FILE", type=Path, help="settings file to use")
    parser.add_argument("--user", metavar="NAME", help="act as this user (default: OS user)")
    parser.add_argument("--version", action="version", version=f"caseapp {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("gui", help="open the window (the default)")

    init = commands.add_parser("init", help="create or upgrade the database")
    init.add_argument("--demo", action="store_true",
                      help="load demo staff and cases (only into an empty database)")
    init.add_argument("--cases", type=int, default=300, help="number of demo cases")
    init.add_argument("--seed", type=int, default=2026, help="demo data random seed")
    init.add_argument("--customers", type=_customer_count, metavar="N",
                      help="customers in the demo customer systems (default 5,000; up to "
                      "1,000,000)")

    cases = commands.add_parser("cases", help="list, show, create and move cases")
    case_commands = cases.add_subparsers(dest="case_command", metavar="ACTION", required=True)

    listing = case_commands.add_parser("list", help="list cases")
    listing.add_argument("--view", choices=VIEWS, default="open")
    listing.add_argument("--status", help="only this status (e.g. verifying)")
    listing.add_argument("--overdue", action="store_true", help="only overdue open cases")
    listing.add_argument("--text", default="", help="filter by reference, name, email")
    listing.add_argument("--limit", type=int, default=1000)
    listing.add_argument("--json", action="store_true")

    show = case_commands.add_parser("show", help="show one case")
    show.add_argument("ref")
    show.add_argument("--json", action="store_true")

    duplicates = case_commands.add_parser(
        "duplicates", help="other cases likely of the same person (same email, phone, or "
        "name and address; any channel), to merge into with `cases step REF "
        "mark_duplicate --duplicate-of OTHER`")
    duplicates.add_argument("ref")
    duplicates.add_argument("--json", action="store_true")

    new = case_commands.add_parser("new", help="open a case for a phone call or a letter")
    new.add_argument("--channel", choices=CHANNELS, default="phone")
    new.add_argument("--type", dest="types", action="append", choices=REQUEST_TYPES,
                     required=True, help="request type (repeat for several)")
    new.add_argument("--name", default="", help="requester's name")
    new.add_argument("--email", default="")
    new.add_argument("--phone", default="")
    new.add_argument("--address", default="", help="postal address (use \\n for new lines)")
    new.add_argument("--zip", default="")
    new.add_argument("--state", default="", help="two-letter state, e.g. CA")
    new.add_argument("--jurisdiction", help="CA, VA, CO, CT, UT, TX, OR, EU (default: state)")
    new.add_argument("--received", type=_date, help="date received (default: today)")
    new.add_argument("--summary", default="")
    new.add_argument("--language", default="en", choices=("en", "es"))
    new.add_argument("--priority", choices=("urgent", "high", "normal", "low"))
    new.add_argument("--subject-name", help="data subject, when not the requester")
    new.add_argument("--subject-email", default="")
    new.add_argument("--subject-age", type=int)
    new.add_argument("--child", action="store_true", help="the data subject is a child under 13")
    new.add_argument("--relationship", choices=RELATIONSHIPS,
                     help="requester's relationship to the subject (default: parent for a "
                     "child; required otherwise)")
    new.add_argument("--json", action="store_true")

    edit = case_commands.add_parser(
        "edit", help="change what was requested (frozen once the case is in review)")
    edit.add_argument("ref")
    edit.add_argument("--type", dest="types", action="append", choices=REQUEST_TYPES,
                      help="the request types, all of them (repeat)")
    edit.add_argument("--jurisdiction", help="CA, VA, ..., EU or DEFAULT")
    edit.add_argument("--received", type=_date, help="date received (starts the clock)")
    edit.add_argument("--priority", choices=("urgent", "high", "normal", "low"))
    edit.add_argument("--summary")
    edit.add_argument("--language", choices=("en", "es"))

    party = case_commands.add_parser("party", help="correct the requester or data subject")
    party.add_argument("ref")
    party.add_argument("role", choices=("requester", "subject"))
    for option in ("name", "email", "phone", "address", "zip", "state"):
        party.add_argument(f"--{option}", help="new value (others are kept)")
    party.add_argument("--age", type=int)
    party.add_argument("--child", action=argparse.BooleanOptionalAction)
    party.add_argument("--relationship", choices=RELATIONSHIPS)

    task = case_commands.add_parser("task", help="add a task or mark one done")
    task.add_argument("ref")
    task.add_argument("action", choices=("add", "done"))
    task.add_argument("what", help="for add: the title; for done: the task number")
    task.add_argument("--kind", default="follow_up",
                      choices=("follow_up", "downstream_notice", "manual_source"))
    task.add_argument("--due-in", type=int, metavar="DAYS")

    step = case_commands.add_parser("step", help="take a workflow step")
    step.add_argument("ref")
    step.add_argument("step", help="e.g. acknowledge, start_verification, verify, deny, close")
    step.add_argument("--reason", default="")
    step.add_argument("--duplicate-of", default="")
    step.add_argument("--method", default="", choices=("", *VERIFICATION_METHODS))
    step.add_argument("--override", action="store_true",
                      help="supervisor: close despite unanswered downstream notices")

    extend = case_commands.add_parser("extend", help="use the one legal extension")
    extend.add_argument("ref")
    extend.add_argument("--reason", required=True)

    note = case_commands.add_parser("note", help="add a note")
    note.add_argument("ref")
    note.add_argument("text")

    assign = case_commands.add_parser("assign", help="assign to a user ('-' for nobody)")
    assign.add_argument("ref")
    assign.add_argument("user")

    for name, text in (("claim", "take the case to work on (others are refused meanwhile)"),
                       ("release", "let go of your claim on the case"),
                       ("take-over", "supervisor: take the case from whoever holds it")):
        case_commands.add_parser(name, help=text).add_argument("ref")

    appeal = case_commands.add_parser("appeal", help="open an appeal of a decided case")
    appeal.add_argument("ref")
    appeal.add_argument("--reason", required=True)
    appeal.add_argument("--received", type=_date)

    users = commands.add_parser("users", help="staff accounts and roles")
    user_commands = users.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    user_commands.add_parser("list", help="list users")
    add = user_commands.add_parser("add", help="add a user (admin)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="agent")
    add.add_argument("--display-name", default="")
    role = user_commands.add_parser("role", help="change a user's role (admin)")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)

    rules = commands.add_parser("rules", help="legal clocks per jurisdiction")
    rule_commands = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    rule_commands.add_parser("clocks", help="list every clock with its legal source")
    set_clock = rule_commands.add_parser(
        "set", help="admin: change a clock marked configurable (applies to new due dates)")
    set_clock.add_argument("jurisdiction", help="CA, VA, ..., or DEFAULT")
    set_clock.add_argument("clock", choices=("acknowledge", "respond", "extension", "appeal"))
    set_clock.add_argument("days", type=int)
    set_clock.add_argument("--type", dest="request_type", default="", choices=("",
                           *REQUEST_TYPES), help="only for this request type's rule")

    cli_intake.add_parsers(commands)
    cli_records.add_parsers(commands)
    cli_actions.add_parsers(commands)
    cli_sources.add_parsers(commands)
    cli_email.add_parsers(commands)
    cli_letters.add_parsers(commands)
    cli_print.add_parsers(commands)
    cli_search.add_parsers(commands)
    cli_reports.add_parsers(commands)
    cli_dashboard.add_parsers(commands)
    cli_retention.add_parsers(commands)
    cli_backup.add_parsers(commands)
    cli_database.add_parsers(commands)

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    audit_commands.add_parser("verify", help="check the audit hash chain")
    return parser


# --- output ----------------------------------------------------------------------------

def case_json(case: CaseDetail) -> dict[str, Any]:
    """The machine-readable shape of a case (DESIGN.md "Command line")."""
    requester = case.requester
    subject = case.subject
    return {
        "ref": case.ref,
        "version": case.version,
        "channel": case.channel,
        "request_types": list(case.request_types),
        "status": case.status,
        "status_reason": case.status_reason,
        "received_at": case.received_at.isoformat() + "Z",
        "received_on": case.deadlines.received_on.isoformat(),
        "acknowledge_by": case.deadlines.acknowledge_by.isoformat()
        if case.deadlines.acknowledge_by else None,
        "due_at": case.deadlines.respond_by.isoformat(),
        "original_due_at": case.deadlines.original_respond_by.isoformat(),
        "extended": case.deadlines.extended,
        "days_left": case.deadlines.days_left,
        "overdue": case.deadlines.overdue,
        "jurisdiction": case.jurisdiction,
        "is_privacy_request": case.is_privacy_request,
        "priority": case.priority,
        "language": case.language,
        "assignee": case.assignee or None,
        "requester": {
            "name": requester.name,
            "email": requester.email,
            "phone": requester.phone,
            "postal_address": requester.postal_address,
            "postal_code": requester.postal_code,
            "state": requester.state,
            "relationship": requester.relationship,
        },
        "subject": {
            "name": subject.name,
            "email": subject.email,
            "is_child": subject.is_child,
            "age": subject.age,
        },
        "via_agent": case.via_agent,
        "duplicate_of": case.duplicate_of or None,
        "appeal_of": case.appeal_of or None,
        "summary": case.summary,
        "intake_review": case.intake_review,
        "claim": {"by": case.claim.holder, "since": case.claim.since.isoformat() + "Z",
                  "until": case.claim.until.isoformat() + "Z", "live": case.claim.live}
        if case.claim is not None else None,
        "messages": [
            {**asdict(m), "sent_at": m.sent_at.isoformat() if m.sent_at else None,
             "received_at": m.received_at.isoformat() if m.received_at else None}
            for m in case.messages
        ],
        "attachments": [asdict(d) for d in case.documents],
        "notes": [
            {"author": n.author, "at": n.created_at.isoformat(), "body": n.body}
            for n in case.notes
        ],
        "history": [
            {"seq": h.seq, "at": h.at.isoformat(), "actor": h.actor, "action": h.action,
             "summary": h.summary}
            for h in case.history
        ],
    }


def print_case(case: CaseDetail) -> None:
    d = case.deadlines
    lines = [
        f"{case.ref}  {case.status_label}"
        + (f" ({case.status_reason})" if case.status_reason else "")
        + ("  [CHILD]" if case.is_child else "")
        + ("  [classification to confirm]" if case.intake_review else ""),
        f"  types:        {', '.join(case.request_types)}",
        f"  channel:      {case.channel}   jurisdiction: {case.jurisdiction_name}",
        f"  requester:    {case.requester.name} <{case.requester.email}> {case.requester.phone}",
    ]
    if not case.subject_is_requester:
        lines.append(f"  subject:      {case.subject.name}"
                     + (" (child)" if case.subject.is_child else ""))
    lines += [
        f"  received:     {d.received_on}",
        f"  acknowledge:  {d.acknowledge_by or '-'}"
        + (" (done)" if d.acknowledged else ""),
        f"  due:          {d.respond_by}"
        + (f" ({_days(d.days_left)})" if case.is_open else "")
        + (f", extended from {d.original_respond_by}" if d.extended else ""),
        f"  assignee:     {case.assignee or '-'}",
        f"  working on it: {claim_text(case)}",
    ]
    for task in case.tasks:
        due = f", due {task.due_on}" if task.due_on else ""
        lines.append(f"  task {task.id}:      [{'x' if task.status == 'done' else ' '}] "
                     f"{task.title} ({task.kind}{due})")
    for message in case.messages:
        when = message.received_at or message.sent_at
        arrow = "→" if message.direction == "out" else "←"
        lines.append(f"  message {arrow}    {when:%Y-%m-%d %H:%M} UTC " if when else
                     f"  message {arrow}    ")
        lines[-1] += f"{message.sender}: {message.subject}" + (
            f" ({message.attachment_count} attachments)" if message.attachment_count else "")
    allowed = [s.name for s in case.steps if s.allowed]
    if allowed:
        lines.append(f"  next steps:   {', '.join(allowed)}")
    print("\n".join(lines))


def claim_text(case: CaseDetail, clock: Clock | None = None) -> str:
    """``Held by carol since 10:42 (until 10:57)``, or ``nobody``."""
    claim = case.claim
    if claim is None:
        return "nobody"
    clock = clock or Clock()
    text = claims.describe(claim, clock)
    return text + (f" (until {claims.local_time(claim.until, clock)})" if claim.live else "")


def _days(days_left: int) -> str:
    if days_left < 0:
        return f"{-days_left} days overdue"
    if days_left == 0:
        return "due today"
    return f"{days_left} days left"


# --- commands --------------------------------------------------------------------------

def _open_desk(settings: Settings) -> Desk:
    desk = Desk(settings.effective_database_url, settings.user)
    desk.set_claim_lease(claims.lease_of(settings.database.claim_minutes))
    return desk


class WindowOpener(Protocol):
    """ui.launcher.open_window: the window on a ready desk, with the settings of the run
    and the settings file they came from (``--config``, or None for the default file)."""

    def __call__(self, desk: Desk, *, settings: Settings | None = ...,
                 config_file: Path | None = ...,
                 damaged: DatabaseDamaged | None = ...) -> int: ...


def _gui_command(open_window: WindowOpener | None) -> Callable[[Settings, argparse.Namespace],
                                                                 int]:
    def cmd_gui(settings: Settings, args: argparse.Namespace) -> int:
        if open_window is None:
            raise InvalidInput(
                "The window is started by the 'caseapp' command (ui.launcher); "
                "'python -m caseapp' offers the other commands only."
            )
        desk = _open_desk(settings)
        try:
            desk.prepare(settings.paths.backup_dir)  # a new desk opens on an empty database
        except DatabaseDamaged as damaged:  # the window offers the newest backup
            return open_window(desk, settings=settings, config_file=args.config,
                               damaged=damaged)
        return open_window(desk, settings=settings, config_file=args.config)

    return cmd_gui


def cmd_init(settings: Settings, args: argparse.Namespace) -> int:
    desk = _open_desk(settings)
    backup = desk.prepare(settings.paths.backup_dir)
    if backup:
        print(f"Backed up the database before upgrading it: {backup}")
    print(f"Database ready: {desk.database_label}")
    if args.demo:
        from caseapp.demo import load_demo

        if desk.count_cases(CaseQuery(view="all")) > 0:
            raise InvalidInput(
                "The database already holds cases; demo data goes only into an empty one. "
                "Use --db to name a new database."
            )
        result = load_demo(desk, cases=args.cases, seed=args.seed,
                           progress=lambda done, total: _progress("Demo cases", done, total))
        print(f"\nLoaded demo data: {result.cases} cases, {len(result.users)} staff "
              f"({', '.join(result.users)}).")
        _init_demo_records(settings, desk, args)
    return 0


def _init_demo_records(settings: Settings, desk: Desk, args: argparse.Namespace) -> None:
    """The demo customer systems and their sources file, and cases for the planted people."""
    from caseapp.demo import install_demo_systems, open_planted_cases

    setup = install_demo_systems(
        settings.paths, customers=args.customers, seed=args.seed,
        progress=lambda done, total: _progress("Demo customers", done, total))
    if setup.built:
        rows = sum(setup.built.rows.values())
        print(f"\nDemo customer systems: {setup.database} ({setup.built.rows['customers']:,} "
              f"customers, {rows:,} rows in all, built in {setup.built.seconds:.1f} s).")
    else:
        print(f"Demo customer systems: kept the existing {setup.database}.")
    print(f"Sources file: {setup.sources_file} "
          + ("(written)." if setup.wrote_sources else "(kept as it was)."))
    refs = open_planted_cases(desk)
    print(f"Cases whose records exist in the demo systems: {', '.join(refs)}.")


def _progress(label: str, done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\r{label}: {done}/{total}", end="", file=sys.stderr, flush=True)


def cmd_cases(settings: Settings, args: argparse.Namespace) -> int:
    desk = _open_desk(settings)
    desk.check_ready()
    action: str = args.case_command
    if action == "list":
        view = "overdue" if args.overdue else args.view
        page = desk.list_cases(CaseQuery(view=view, status=args.status or "", text=args.text),
                               limit=args.limit)
        if args.json:
            rows = [{**asdict(r), "received_on": r.received_on.isoformat(),
                     "due_on": r.due_on.isoformat(), "request_types": list(r.request_types),
                     "claimed_since": r.claimed_since.isoformat() + "Z"
                     if r.claimed_since else None}
                    for r in page.rows]
            print(json.dumps({"total": page.total, "cases": rows}, indent=2,
                             ensure_ascii=False))
            return 0
        for r in page.rows:
            flag = "!" if r.overdue else ("C" if r.is_child else " ")
            due = _days(r.days_left) if r.is_open else "-"
            print(f"{flag} {r.ref}  {r.status_label:<22} {r.due_on}  {due:<18} "
                  f"{r.jurisdiction:<7} {','.join(r.request_types):<24} {r.requester_name}")
        shown = len(page.rows)
        print(f"{page.total} case(s)" + (f", {shown} shown" if shown < page.total else ""))
        return 0
    if action == "show":
        case = desk.get_case(args.ref)
        if args.json:
            print(json.dumps(case_json(case), indent=2, ensure_ascii=False))
        else:
            print_case(case)
        return 0
    if action == "duplicates":
        found = desk.likely_duplicates(args.ref)
        if args.json:
            print(json.dumps([{
                "ref": d.ref, "requester_name": d.requester_name, "channel": d.channel,
                "received_on": d.received_on.isoformat(), "status": d.status,
                "reasons": list(d.reasons), "strong": d.strong, "can_merge": d.can_merge,
            } for d in found], indent=2, ensure_ascii=False))
            return 0
        for d in found:
            print(f"{'likely  ' if d.strong else 'possible'} {d.ref}  {d.received_on}  "
                  f"{d.channel:<9} {d.status_label:<22} {d.requester_name}  "
                  f"({', '.join(d.reasons)})")
        print(f"{len(found)} other case(s) of the same person" if found
              else "no other case of the same person")
        return 0
    if action == "new":
        subject = None
        if args.subject_name or args.child or args.subject_age is not None:
            subject = PartyData(name=args.subject_name or "", email=args.subject_email,
                                age=args.subject_age, is_child=args.child,
                                state=args.state.upper())
        relationship = args.relationship or "self"
        if subject is not None and args.relationship is None:
            if not subject.is_child and (subject.age is None or subject.age >= 13):
                raise InvalidInput("Say how the requester relates to the data subject: "
                                   "--relationship parent|guardian|authorized_agent|other")
            relationship = "parent"
        requester = PartyData(
            name=args.name, email=args.email, phone=args.phone,
            postal_address=args.address.replace("\\n", "\n"), postal_code=args.zip,
            state=args.state, relationship=relationship,
        )
        changed = desk.create_case(NewCase(
            channel=args.channel, request_types=tuple(args.types), requester=requester,
            subject=subject, jurisdiction=args.jurisdiction, received_on=args.received,
            summary=args.summary, language=args.language, priority=args.priority,
        ))
        return _report(changed.case, args.json)
    if action == "step":
        changed = desk.take_step(args.ref, StepRequest(
            step=args.step, reason=args.reason, other_case=args.duplicate_of,
            method=args.method, override=args.override))
        return _report(changed.case, False)
    if action == "edit":
        return _report(desk.update_case(
            args.ref, request_types=tuple(args.types) if args.types else None,
            jurisdiction=args.jurisdiction, received_on=args.received, priority=args.priority,
            summary=args.summary, language=args.language).case, False)
    if action == "party":
        current = desk.get_case(args.ref)
        old = current.requester if args.role == "requester" else current.subject
        data = PartyData(
            name=_given(args.name, old.name), email=_given(args.email, old.email),
            phone=_given(args.phone, old.phone),
            postal_address=_given(args.address, old.postal_address).replace("\\n", "\n"),
            postal_code=_given(args.zip, old.postal_code), state=_given(args.state, old.state),
            is_child=old.is_child if args.child is None else args.child,
            age=old.age if args.age is None else args.age,
            relationship=args.relationship or old.relationship,
        )
        return _report(desk.update_party(args.ref, args.role, data, current.version).case,
                       False)
    if action == "task":
        if args.action == "add":
            changed = desk.add_task(args.ref, args.kind, args.what, args.due_in)
        else:
            if not args.what.isdigit():
                raise InvalidInput("Name the task by its number (see: caseapp cases show).")
            changed = desk.complete_task(args.ref, int(args.what))
        return _report(changed.case, False)
    if action == "extend":
        return _report(desk.extend(args.ref, args.reason).case, False)
    if action == "note":
        return _report(desk.add_note(args.ref, args.text).case, False)
    if action == "assign":
        return _report(desk.assign(args.ref, None if args.user == "-" else args.user).case,
                       False)
    if action == "appeal":
        return _report(desk.open_appeal(args.ref, args.reason, args.received).case, False)
    if action in ("claim", "release", "take-over"):
        result = {"claim": desk.claim_case, "release": desk.release_claim,
                  "take-over": desk.take_over_claim}[action](args.ref)
        case = desk.get_case(result.ref)
        print(f"{result.ref}: {claim_text(case, desk.clock)}")
        return 0
    raise AssertionError(action)


def _given(value: str | None, old: str) -> str:
    return old if value is None else value


def _report(case: CaseDetail, as_json: bool) -> int:
    if as_json:
        print(json.dumps(case_json(case), indent=2, ensure_ascii=False))
    else:
        print_case(case)
    return 0


def cmd_users(settings: Settings, args: argparse.Namespace) -> int:
    desk = _open_desk(settings)
    desk.check_ready()
    if args.user_command == "list":
        for user in desk.list_users():
            print(f"{user.username:<20} {user.role:<11} {user.display_name}"
                  + ("" if user.active else "  (inactive)"))
    elif args.user_command == "add":
        user = desk.add_user(args.name, args.role, args.display_name)
        print(f"Added {user.username} as {user.role}.")
    else:
        user = desk.set_role(args.name, args.role)
        print(f"{user.username} is now {user.role}.")
    return 0


def cmd_rules(settings: Settings, args: argparse.Namespace) -> int:
    desk = _open_desk(settings)
    desk.check_ready()
    if args.rules_command == "set":
        setting = desk.set_legal_clock(args.jurisdiction, args.request_type, args.clock,
                                       args.days)
        print(f"{setting.jurisdiction} {setting.request_type or 'all types'} {setting.clock}: "
              f"{setting.days} {setting.unit.replace('_', ' ')} (shipped: "
              f"{setting.shipped_days}; {setting.source}). New due dates use it.")
        return 0
    for s in desk.legal_clocks():
        mark = "*" if s.configurable else " "
        changed = f"  [changed by {s.changed_by}, shipped {s.shipped_days}]" if (
            s.days != s.shipped_days) else ""
        print(f"{mark} {s.jurisdiction:<8} {s.request_type or '(all)':<19} {s.clock:<12} "
              f"{s.days:>3} {s.unit.replace('_', ' '):<14} {s.source}{changed}")
    print("* configurable by an administrator: caseapp rules set JURISDICTION CLOCK DAYS")
    return 0


def cmd_audit(settings: Settings, _args: argparse.Namespace) -> int:
    desk = _open_desk(settings)
    desk.check_ready()
    report = desk.verify_audit()
    if report.ok:
        print(f"Audit chain intact: {report.events} events, head {report.head_hash[:16]}…")
        return 0
    print(f"Audit chain BROKEN at event {report.first_broken_seq}: {report.problem} "
          f"({report.events} events verified before it).", file=sys.stderr)
    return 1


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "init": cmd_init,
    "cases": cmd_cases,
    "users": cmd_users,
    "rules": cmd_rules,
    "audit": cmd_audit,
    "import": cli_intake.cmd_import,
    "intake": cli_intake.cmd_intake,
    "fetch-mail": cli_intake.cmd_fetch_mail,
    "mail": cli_intake.cmd_mail,
    "lookup": cli_records.cmd_lookup,
    "action": cli_actions.cmd_action,
    "notice": cli_actions.cmd_notice,
    "suppression": cli_actions.cmd_suppression,
    "sources": cli_sources.cmd_sources,
    "email": cli_email.cmd_email,
    "smtp": cli_email.cmd_smtp,
    "letter": cli_letters.cmd_letter,
    "printers": cli_print.cmd_printers,
    "print": cli_print.cmd_print,
    "letters": cli_letters.cmd_letters,
    "search": cli_search.cmd_search,
    "report": cli_reports.cmd_report,
    "dashboard": cli_dashboard.cmd_dashboard,
    "purge": cli_retention.cmd_purge,
    "backup": cli_backup.cmd_backup,
    "restore": cli_backup.cmd_restore,
    "database-key": cli_backup.cmd_database_key,
    "db": cli_database.cmd_db,
}


def main(argv: Sequence[str] | None = None, open_window: WindowOpener | None = None) -> int:
    """Run the command line; ``open_window`` is given by ui.launcher (caseapp has no Qt)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config).with_overrides(database_url=args.db,
                                                             user=args.user)
        setup_logging(settings.paths.data_dir / "logs")
        command = COMMANDS.get(args.command or "gui") or _gui_command(open_window)
        return command(settings, args)
    except UserError as error:
        print(f"caseapp: {error.message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("caseapp: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug: say so plainly, keep the details for the report
        # Redacted (caseapp.logs): an exception's text may quote a consumer's data.
        print(f"caseapp: internal error ({summary(error)}). Nothing more was saved. "
              "Please report this with the details below.", file=sys.stderr)
        print(bug_report(error), file=sys.stderr, end="")
        logging.getLogger("caseapp").error("Internal error in the command %s:\n%s",
                                           args.command or "gui", bug_report(error),
                                           extra={"file_only": True})
        return EXIT_BUG
