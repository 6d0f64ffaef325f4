"""The ``report`` command: CCPA §7102 metrics and the §7101 request log, as CSV or PDF.

    caseapp report metrics [--year 2026] [--csv FILE] [--pdf FILE]
    caseapp report log [--from DATE] [--to DATE] [--csv FILE] [--pdf FILE]

Without a file the report is printed as a table. Files are never written over.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from caseapp.config import Settings
from caseapp.errors import InvalidInput
from caseapp.reports.csv_files import days_text, mean_text
from caseapp.reports.model import (
    DENIAL_REASON_LABELS,
    DENIAL_REASONS,
    MetricsReport,
    RequestLog,
    metrics_notes,
)
from caseapp.services import Desk


def iso_day(text: str) -> date:
    """An argparse type: a YYYY-MM-DD date, or a clear message."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from None


def add_parsers(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="CCPA §7102 metrics, §7101 request log (PDF/CSV)",
        description="The yearly CCPA §7102 metrics (per request type: received, complied "
        "with in whole or in part, denied by basis, median and mean days to respond) and "
        "the §7101 request log. Cases that are not privacy requests are left out.")
    kinds = report.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    metrics = kinds.add_parser("metrics", help="§7102 metrics of one calendar year")
    metrics.add_argument("--year", type=int,
                         help="the year the requests were received (default: last year, "
                         "the one §7102 publishes)")
    log = kinds.add_parser("log", help="§7101 request log (one line per request)")
    log.add_argument("--from", dest="start", type=iso_day, metavar="DATE",
                     help="first day received (default: 24 months before --to)")
    log.add_argument("--to", dest="end", type=iso_day, metavar="DATE",
                     help="last day received (default: today)")
    for each in (metrics, log):
        each.add_argument("--csv", type=Path, metavar="FILE", help="write CSV (UTF-8) here")
        each.add_argument("--pdf", type=Path, metavar="FILE", help="write PDF here")


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    for path in (args.csv, args.pdf):
        _check_writable(path)
    desk = Desk(settings.effective_database_url, settings.user)
    try:
        desk.check_ready()
        report: MetricsReport | RequestLog
        if args.report_command == "metrics":
            year = args.year if args.year is not None else desk.clock.today().year - 1
            report = desk.metrics_report(year)
        else:
            report = desk.request_log(args.start, args.end)
        if args.csv:
            _write(args.csv, desk.report_csv(report))
            print(f"CSV → {args.csv}")
        if args.pdf:
            _write(args.pdf, desk.report_pdf(report))
            print(f"PDF → {args.pdf}")
        if not args.csv and not args.pdf:
            print("\n".join(metrics_lines(report) if isinstance(report, MetricsReport)
                            else log_lines(report)))
        return 0
    finally:
        desk.close()


SHORT_REASONS = {"not_verifiable": "unverif.", "not_by_consumer": "non-cons",
                 "exempt": "exempt", "other": "other"}


def metrics_lines(report: MetricsReport) -> list[str]:
    reasons = " ".join(f"{SHORT_REASONS[r]:>8}" for r in DENIAL_REASONS)
    lines = [
        f"CCPA §7102 metrics {report.year} (requests received {report.period_start} to "
        f"{report.period_end})",
        f"{'request type':<26} {'received':>8} {'whole':>6} {'part':>5} {'denied':>6} "
        f"{reasons} {'withdrn':>7} {'open':>5} {'median':>6} {'mean':>6}",
    ]
    for row in report.rows:
        split = " ".join(f"{row.denied_for(r):>8}" for r in DENIAL_REASONS)
        mark = "" if row.ccpa else " *"
        lines.append(
            f"{row.label + mark:<26} {row.received:>8} {row.complied_whole:>6} "
            f"{row.complied_part:>5} {row.denied:>6} {split} {row.withdrawn:>7} "
            f"{row.open:>5} {days_text(row.median_days) or '-':>6} "
            f"{mean_text(row.mean_days) or '-':>6}")
    lines.append("* not a §7102 category. Denied by basis: "
                 + ", ".join(DENIAL_REASON_LABELS[r].lower() for r in DENIAL_REASONS)
                 + ". Days: calendar days to the response.")
    lines += metrics_notes(report)  # how they are counted, as the PDF and the window say
    return lines


def log_lines(report: RequestLog) -> list[str]:
    lines = [f"CCPA §7101 request log: {len(report.rows)} request(s) received "
             f"{report.period_start} to {report.period_end}"]
    for row in report.rows:
        day = row.response_on.isoformat() if row.response_on else ""
        response = f"{day:<10}  {row.response}"
        if row.denial_basis:
            response += f" — {row.denial_basis}"
        lines.append(f"{row.ref}  {row.received_on}  {row.manner:<9} {row.nature:<36} "
                     f"{response}")
    return lines


def _check_writable(path: Path | None) -> None:
    if path is None:
        return
    if path.exists():
        raise InvalidInput(f"{path} exists already: choose another file.")
    folder = path.parent
    if not folder.is_dir():
        raise InvalidInput(f"{folder}: no such folder to write the report into.")


def _write(path: Path, data: bytes) -> None:
    try:
        with path.open("xb") as out:  # never over another file
            out.write(data)
    except FileExistsError:
        raise InvalidInput(f"{path} exists already: choose another file.") from None
    except OSError as error:
        raise InvalidInput(f"{path}: cannot be written ({error.strerror or error}).") from None
