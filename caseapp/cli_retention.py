"""The ``purge`` command: the retention purge (caseapp.services.retention).

    caseapp purge --preview [--as-of DATE] [--json]   what is due: one line per case
    caseapp purge --run [--yes]                        purge it (administrators)

``--run`` asks for confirmation on a terminal; ``--yes`` is what a cron job or a systemd
timer gives (without a terminal and without ``--yes`` nothing is purged).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from caseapp.cli_reports import iso_day
from caseapp.config import Settings
from caseapp.errors import InvalidInput, PermissionDenied
from caseapp.services import Desk
from caseapp.services.retention import (
    RETENTION_MONTHS,
    PurgeCandidate,
    PurgeOutcome,
    PurgePreview,
    describe_candidate,
)


def add_parsers(commands: Any) -> None:
    purge = commands.add_parser(
        "purge", help="retention: purge the personal information of cases closed more than "
        f"{RETENTION_MONTHS} months ago",
        description="Cases closed more than 24 months ago (11 CCR §7101 keeps the record of "
        "a request that long) lose every piece of personal information: parties' names and "
        "addresses, messages, attachments, scans, notes, letters' PDFs, record hits, what "
        "record actions changed, notice texts. The request log's fields, the case's "
        "outline, the suppression list and the audit trail's outline stay. Irreversible; "
        "each case is audited (case.purged).")
    what = purge.add_mutually_exclusive_group(required=True)
    what.add_argument("--preview", action="store_true",
                      help="list the cases due and what would go (changes nothing)")
    what.add_argument("--run", action="store_true",
                      help="purge the cases due (administrators; asks on a terminal)")
    purge.add_argument("--yes", action="store_true",
                       help="with --run: no question (for cron jobs and timers)")
    purge.add_argument("--json", action="store_true", help="with --preview: as JSON")
    purge.add_argument("--as-of", type=iso_day, metavar="DATE",
                       help="with --preview: the cases due on this day (default: today)")


def preview_json(preview: PurgePreview) -> dict[str, Any]:
    return {
        "as_of": preview.as_of.isoformat(),
        "closed_before": preview.closed_before.isoformat(),
        "cases": [{"ref": case.ref, "status": case.status,
                   "closed_on": case.closed_on.isoformat(),
                   "kept_until": case.kept_until.isoformat(),
                   "counts": case.counts.as_dict()} for case in preview.cases],
        "held": [{"ref": ref, "why": why} for ref, why in preview.held],
    }


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    if not args.preview and (args.json or args.as_of):
        raise InvalidInput("--json and --as-of go with --preview.")
    if args.preview and args.yes:
        raise InvalidInput("--yes goes with --run.")
    desk = Desk(settings.effective_database_url, settings.user)
    try:
        desk.check_ready()
        if args.preview:
            return _preview(desk, args.as_of, args.json)
        return _run(desk, args.yes)
    finally:
        desk.close()


def _preview(desk: Desk, as_of: date | None, as_json: bool) -> int:
    preview = desk.purge_preview(as_of)
    if as_json:
        print(json.dumps(preview_json(preview), indent=2, ensure_ascii=False))
        return 0
    for case in preview.cases:
        print(describe_candidate(case))
    for ref, why in preview.held:
        print(f"{ref}  kept: {why}")
    print(_due_line(preview))
    return 0


def _due_line(preview: PurgePreview) -> str:
    count = len(preview.cases)
    if not count:
        return (f"Nothing to purge on {preview.as_of}: no case closed before "
                f"{preview.closed_before} still holds personal information.")
    return (f"{count} case{'s' if count != 1 else ''} closed before {preview.closed_before} "
            f"(more than {RETENTION_MONTHS} months before {preview.as_of}) "
            f"{'are' if count != 1 else 'is'} due to be purged.")


def _run(desk: Desk, yes: bool) -> int:
    me = desk.current_user()
    if me.role != "admin":
        raise PermissionDenied(f"Only an administrator may purge; {me.username} is {me.role}.")
    preview = desk.purge_preview()
    if not preview.cases:
        print(_due_line(preview))
        return 0
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput("Purging cannot be undone: confirm with --yes (as a cron job "
                               "does), or run it on a terminal to be asked.")
        for case in preview.cases:
            print(describe_candidate(case))
        print(_due_line(preview))
        answer = input(f"Purge the personal information of these {len(preview.cases)} "
                       "case(s)? This cannot be undone. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing was purged.")
            return 1
    outcome = desk.purge(preview, progress=_progress)
    _print_outcome(outcome, preview.cases)
    return 0


def _progress(done: int, total: int, _ref: str) -> None:
    if sys.stderr.isatty():
        print(f"\rPurging: {done}/{total}", end="" if done < total else "\n",
              file=sys.stderr, flush=True)


def _print_outcome(outcome: PurgeOutcome, asked: tuple[PurgeCandidate, ...]) -> None:
    for case in outcome.purged:
        print(f"purged  {describe_candidate(case)}")
    for ref, why in outcome.skipped:
        print(f"kept    {ref}  {why}")
    print(f"{outcome.summary()} (of {len(asked)} due).")
