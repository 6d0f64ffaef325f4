"""The ``printers`` and ``print`` commands: letters on a CUPS printer, one or a batch.

    caseapp printers [--json]                              the print server's printers
    caseapp print REF SERIAL [--printer P] [--copies N]    print an issued letter
    caseapp print --acknowledgements-due [--day D] [--printer P] [--dry-run]
                                                           issue and print every
                                                           acknowledgement due (cron)

``--server HOST:PORT`` (or ``CUPS_SERVER``) picks the CUPS server; by default the one the
CUPS client uses. A batch prints its progress on stderr and exits with 3 when a letter
could not be printed (the others are printed; run it again to retry: nothing is printed
twice, not even a letter the server took just before the program was killed: it is found
on the server by its job title and recorded, not printed again).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import date
from typing import Any

from caseapp.config import Settings
from caseapp.errors import InvalidInput
from caseapp.letters.printing import MAX_COPIES
from caseapp.services import Desk
from caseapp.services.letter_printing import BatchResult

EXIT_INCOMPLETE = 3


def add_parsers(commands: Any) -> None:
    printers = commands.add_parser(
        "printers", help="the printers of the print server (CUPS)",
        description="List the printers of the CUPS server, the default one first.")
    printers.add_argument("--server", metavar="HOST:PORT",
                          help="the CUPS server (default: CUPS_SERVER, or the client's own)")
    printers.add_argument("--json", action="store_true")

    printing = commands.add_parser(
        "print", help="print an issued letter, or every acknowledgement due",
        description="Print an issued letter (REF SERIAL) on a CUPS printer, or with "
        "--acknowledgements-due issue and print the acknowledgement of every open case "
        "due by today (or --day). A letter issued today and not printed yet is printed "
        "rather than issued again, and one printed already is not printed again (nor one "
        "the server took just before an interruption: it is found on the server and "
        "recorded). Every print is in the audit trail (letter.printed, with the printer "
        "and the job id).")
    printing.add_argument("ref", nargs="?", help="the case, e.g. PR-2026-00042")
    printing.add_argument("serial", nargs="?", help="the letter's serial, e.g. L-2026-000001")
    printing.add_argument("--acknowledgements-due", action="store_true",
                          help="every acknowledgement due by today (or --day)")
    printing.add_argument("--day", metavar="YYYY-MM-DD", type=date.fromisoformat,
                          help="with --acknowledgements-due: due by this day")
    printing.add_argument("--dry-run", action="store_true",
                          help="with --acknowledgements-due: list the cases, print nothing")
    printing.add_argument("--printer", help="the printer (default: the server's default)")
    printing.add_argument("--copies", type=int, default=1)
    printing.add_argument("--server", metavar="HOST:PORT",
                          help="the CUPS server (default: CUPS_SERVER, or the client's own)")
    printing.add_argument("--json", action="store_true")


def _desk(settings: Settings, server: str | None) -> Desk:
    desk = Desk(settings.effective_database_url, settings.user)
    desk.use_print_server(server)
    return desk


def cmd_printers(settings: Settings, args: argparse.Namespace) -> int:
    desk = _desk(settings, args.server)
    found = desk.printers()
    if args.json:
        print(json.dumps([asdict(p) for p in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print("No printers on the print server.")
    for printer in found:
        mark = "*" if printer.is_default else " "
        takes = "" if printer.accepting else ", not accepting jobs"
        print(f"{mark} {printer.name:<24} {printer.state}{takes}  {printer.description}")
    return 0


def cmd_print(settings: Settings, args: argparse.Namespace) -> int:
    if not 1 <= args.copies <= MAX_COPIES:
        raise InvalidInput(f"--copies: 1 to {MAX_COPIES}.")
    desk = _desk(settings, args.server)
    if args.acknowledgements_due:
        if args.ref or args.serial:
            raise InvalidInput("Either REF SERIAL or --acknowledgements-due, not both.")
        return _print_due(desk, args)
    if args.day or args.dry_run:
        raise InvalidInput("--day and --dry-run go with --acknowledgements-due.")
    if not (args.ref and args.serial):
        raise InvalidInput("Name the case and the letter (REF SERIAL), or use "
                           "--acknowledgements-due.")
    printed = desk.print_letter(args.ref, args.serial, args.printer, args.copies)
    if args.json:
        print(json.dumps(asdict(printed), default=str, indent=2))
    elif printed.recovered:
        print(f"{printed.ref} letter {printed.serial}: {printed.how}. Run the command again "
              "to print another copy.")
    else:
        print(f"{printed.ref} letter {printed.serial}: sent to {printed.printer} "
              f"(job {printed.job_id}, {printed.copies} "
              f"{'copy' if printed.copies == 1 else 'copies'})")
    return 0


def _print_due(desk: Desk, args: argparse.Namespace) -> int:
    due = desk.acknowledgements_due(args.day)
    if args.dry_run:
        if args.json:
            print(json.dumps([asdict(d) for d in due], default=str, indent=2,
                             ensure_ascii=False))
            return 0
        print(f"{len(due)} acknowledgements due by {args.day or desk.clock.today()}"
              + (":" if due else "."))
        for item in due:
            again = f"  (prints {item.unsent_serial})" if item.unsent_serial else ""
            print(f"  {item.ref}  due {item.acknowledge_by}  {item.requester}{again}")
        return 0
    result = desk.print_batch([d.ref for d in due], printer=args.printer,
                              copies=args.copies, progress=_progress)
    if args.json:
        print(json.dumps(asdict(result), default=str, indent=2, ensure_ascii=False))
    else:
        _summary(result)
    return EXIT_INCOMPLETE if result.failed or result.not_done else 0


def _progress(done: int, total: int, ref: str) -> None:
    if ref:
        print(f"[{done + 1}/{total}] {ref}", file=sys.stderr, flush=True)
    else:
        print(f"[{done}/{total}] done", file=sys.stderr, flush=True)


def _summary(result: BatchResult) -> None:
    recovered = sum(printed.recovered for printed in result.printed)
    print(f"{len(result.printed)} printed"
          + (f" ({recovered} before an interruption)" if recovered else "")
          + f", {len(result.failed)} failed, {len(result.skipped)} already printed"
          + (f", {len(result.not_done)} not done (stopped)" if result.not_done else ""))
    for printed in result.printed:
        print(f"  {printed.ref}  {printed.serial}  {printed.how}")
    for problem in result.failed:
        print(f"  {problem.ref}  FAILED: {problem.reason}")
    for problem in result.skipped:
        print(f"  {problem.ref}  skipped: {problem.reason}")
    for ref in result.not_done:
        print(f"  {ref}  not done")
