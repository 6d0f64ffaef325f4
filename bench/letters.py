"""Benchmark: letters per second for a 1,000-letter batch (DESIGN.md: ≥ 50 letter PDFs/s),
beside a bare ReportLab baseline in the same run.

1. A SQLite case database with N cases (requesters with accented names and postal
   addresses), made through the desk.
2. Renders (``Desk.draft_letter``: case read, context, sandboxed template, Platypus
   layout, PDF) and issues (``Desk.issue_letter``: the same plus serial, PDF stored with
   the case and the audit record, one transaction each) an acknowledgement for each.
3. Baselines: a bare ReportLab page (one canvas, the bundled font, the same number of
   words drawn line by line), and a bare Platypus letter (the same text as paragraphs in
   a SimpleDocTemplate), both without any database.

Run:  .venv/bin/python -m bench.letters [--letters 1000]
Writes bench/RESULTS.md section "Letters".
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate

from bench.common import Figure, Section
from bench.results import write_section
from caseapp.clock import Clock
from caseapp.resources import resources_dir
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData
from caseapp.services.letters import LetterRequest

NOW = datetime(2026, 3, 4, 15, 0, 0)
NAMES = ("José Núñez", "Zoë Ågren", "Ana María Peña", "Sam O'Brien", "Emily Carter")


def _cases(desk: Desk, count: int) -> list[str]:
    refs = []
    for number in range(count):
        name = f"{NAMES[number % len(NAMES)]} {number}"
        requester = PartyData(name=name, email=f"person{number}@example.com",
                              postal_address=f"{100 + number} Main Street\nSacramento, CA "
                                             "95814", postal_code="95814", state="CA")
        refs.append(desk.create_case(NewCase(
            channel="postal", request_types=("delete",), requester=requester,
            received_on=date(2026, 3, 2), summary="Please delete my data.")).case.ref)
    return refs


def _timed(label: str, count: int, work: Callable[[int], int]) -> tuple[str, float, int]:
    started = time.perf_counter()
    size = sum(work(number) for number in range(count))
    return label, time.perf_counter() - started, size


def _bare_canvas(text: str) -> Callable[[int], int]:
    font = resources_dir() / "fonts" / "DejaVuSans.ttf"
    pdfmetrics.registerFont(TTFont("BenchSans", str(font)))
    words = text.split()
    lines = [" ".join(words[i:i + 12]) for i in range(0, len(words), 12)]

    def one(_number: int) -> int:
        out = io.BytesIO()
        canvas = Canvas(out, pagesize=LETTER, invariant=1)
        canvas.setFont("BenchSans", 10)
        y = 700.0
        for line in lines:
            canvas.drawString(72, y, line)
            y -= 14
        canvas.showPage()
        canvas.save()
        return len(out.getvalue())

    return one


def _bare_platypus(paragraphs: list[str]) -> Callable[[int], int]:
    style = ParagraphStyle("body", fontName="BenchSans", fontSize=10, leading=14,
                           spaceAfter=7)

    def one(_number: int) -> int:
        out = io.BytesIO()
        SimpleDocTemplate(out, pagesize=LETTER, invariant=1).build(
            [Paragraph(p, style) for p in paragraphs])
        return len(out.getvalue())

    return one


def run(desk: Desk, count: int, where: str) -> Section:
    """``count`` acknowledgements drafted and issued on ``desk`` (cases made first),
    beside the bare pages; the section and its summary figures."""
    started = time.perf_counter()
    refs = _cases(desk, count)
    made = time.perf_counter() - started
    sample = desk.draft_letter(refs[0], LetterRequest("acknowledgement"))
    paragraphs = [p for p in sample.text.split("\n\n") if p.strip()]
    runs = [
        _timed("Bare ReportLab page (canvas, same words)", count, _bare_canvas(sample.text)),
        _timed("Bare Platypus letter (same paragraphs)", count, _bare_platypus(paragraphs)),
        _timed("`Desk.draft_letter` (case read, template, layout, PDF)", count,
               lambda n: len(desk.draft_letter(refs[n], LetterRequest(
                   "acknowledgement")).pdf)),
        _timed("`Desk.issue_letter` (+ serial, PDF stored, audited, case re-indexed)", count,
               lambda n: len(desk.issue_letter(refs[n], LetterRequest(
                   "acknowledgement")).pdf)),
    ]
    bare = runs[0][1]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite; {date.today().isoformat()}. "
        f"{count:,} acknowledgements (one page each, accented names, postal addresses) on "
        f"{where}; the {count:,} cases made through `Desk.create_case` first, in "
        f"{made:.1f} s ({count / made:,.0f} cases/s). Target: ≥ 50 letter PDFs/s "
        "(DESIGN.md).",
        "",
        "| measure | letters/s | ms per letter | PDF size | vs bare page |",
        "|---|---|---|---|---|",
    ]
    for label, seconds, size in runs:
        lines.append(f"| {label} | {count / seconds:,.0f} | "
                     f"{1000 * seconds / count:.1f} | "
                     f"{size / count / 1024:.0f} KB | {seconds / bare:.1f}× |")
    figures = [Figure(f"Letters {kind} per second", f"{count / runs[index][1]:,.0f}/s",
                      f"bare page {count / bare:,.0f}/s",
                      f"{runs[index][1] / bare:.1f}× the time", "≥ 50/s",
                      count / runs[index][1] >= 50)
               for kind, index in (("drafted", 2), ("issued", 3))]
    return Section("Letters", lines, figures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        desk = Desk(f"sqlite:///{folder / 'cases.sqlite3'}", "alice", clock=Clock(fixed=NOW))
        desk.prepare(folder / "backups")
        try:
            section = run(desk, args.letters, "a new SQLite case database")
        finally:
            desk.close()
    print("\n".join(section.lines))
    if not args.no_write:
        write_section(section.title, section.lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
