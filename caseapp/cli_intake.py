"""The intake commands: ``import`` files and folders, list ``intake`` queues.

Results stream one line per message as each is committed, so a long import shows its
progress, and an import killed half-way has printed exactly what it took in.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from caseapp.config import Settings
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
        counts: Counter[str] = Counter()
        for result in desk.import_files(args.paths, scans_received_on=args.received):
            counts[result.outcome] += 1
            if args.json:
                print(json.dumps(_result_json(result), ensure_ascii=False), flush=True)
            else:
                print(result.line(), flush=True)
        if not args.json:
            summary = ", ".join(f"{counts[o]} {INTAKE_OUTCOME_LABELS[o]}"
                                for o in INTAKE_OUTCOME_LABELS if counts[o])
            print(f"{sum(counts.values())} items: {summary or 'nothing found'}",
                  file=sys.stderr)
        return EXIT_SOME_NOT_READ if counts["failed"] else 0
    finally:
        desk.close()


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
