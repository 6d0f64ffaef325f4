"""Benchmark: the window on 100,000 cases (DESIGN.md performance targets).

Measures, in one run on the same data:
- the bare baseline: one page of 200 case ids by the desk order, straight SQL;
- the service: ``list_cases`` (a page as the list shows it) p50/p95, first page and deep;
- window start-up: from building the window to the first page on screen;
- the longest GUI-thread stall (a 5 ms QTimer probe) while the user scrolls through
  5,000 rows and switches views.

Run:  .venv/bin/python -m bench.window_100k [--cases N]
Writes the figures to bench/RESULTS.md (section "Case list and window").
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QElapsedTimer, QTimer

from bench.bulk_cases import bulk_cases
from bench.results import write_section
from caseapp.services import Desk
from caseapp.services.dto import CaseQuery


class StallProbe:
    """Measures the longest gap between ticks of a 5 ms timer on the GUI thread."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.clock = QElapsedTimer()
        self.longest_ms = 0
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.clock.start()
        self.timer.start()

    def _tick(self) -> None:
        gap = self.clock.restart()
        self.longest_ms = max(self.longest_ms, gap)

    def stop(self) -> int:
        self.timer.stop()
        return self.longest_ms


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def pump_until(condition: object, timeout_s: float = 60) -> None:
    end = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > end:
            raise SystemExit("timed out waiting for the window")
        QCoreApplication.processEvents()
        time.sleep(0.001)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="caseapp-bench-"))
    desk = Desk(f"sqlite:///{folder / 'cases.sqlite3'}", "bench")
    desk.prepare(folder / "backups")
    started = time.perf_counter()
    bulk_cases(desk, args.cases, today=date.today())
    generated_s = time.perf_counter() - started

    # Bare baseline: the page of ids straight from SQLite, same order and filter.
    open_states = ",".join(f"'{s}'" for s in desk.rules.workflow.open_states)
    bare_sql = (f"SELECT id FROM cases WHERE status IN ({open_states}) "
                "ORDER BY priority, due_on, id LIMIT 200 OFFSET {offset}")
    bare: list[float] = []
    service: list[float] = []
    deep: list[float] = []
    with desk.db.engine.connect() as connection:
        for _ in range(30):
            t = time.perf_counter()
            connection.exec_driver_sql(bare_sql.format(offset=0)).all()
            bare.append((time.perf_counter() - t) * 1000)
    total_open = desk.count_cases(CaseQuery(view="open"))
    for _ in range(30):
        t = time.perf_counter()
        desk.list_cases(CaseQuery(view="open"), 0, 200)
        service.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        desk.list_cases(CaseQuery(view="all"), args.cases // 2, 200)
        deep.append((time.perf_counter() - t) * 1000)

    launches = []
    for _ in range(5):
        t = time.monotonic()
        shown = subprocess.run(
            [sys.executable, "-m", "bench.launch_probe", desk.db.url], capture_output=True,
            text=True, check=True, timeout=120, env={**os.environ, "CASEAPP_HOME": str(folder)},
        ).stdout.strip().splitlines()[-1]
        launches.append((float(shown) - t) * 1000)

    from ui.app import application, build_main_window

    application()
    probe = StallProbe()
    probe.start()
    t = time.perf_counter()
    window = build_main_window(desk)
    window.show()
    pump_until(lambda: window.model.rowCount() > 0)
    startup_ms = (time.perf_counter() - t) * 1000
    window.nav.select_view("all")
    pump_until(lambda: window.model.rowCount() > 0 and not window.model.is_loading)
    table = window.case_list.table
    t = time.perf_counter()
    while window.model.rowCount() < 5000:
        table.scrollToBottom()
        pump_until(lambda: not window.model.is_loading)
    scroll_s = time.perf_counter() - t
    for view in ("overdue", "closed", "mine", "open"):
        window.nav.select_view(view)
        pump_until(lambda: not window.model.is_loading and window.runner.is_idle())
    longest_stall = probe.stop()
    window.close()

    rows = [
        ("Cases in the database", f"{args.cases:,} ({total_open:,} open)", "", ""),
        ("Bare SQL: one page of 200 ids, desk order", f"p50 {statistics.median(bare):.1f} ms",
         f"p95 {percentile(bare, 0.95):.1f} ms", "baseline"),
        ("`list_cases` open view, first page", f"p50 {statistics.median(service):.1f} ms",
         f"p95 {percentile(service, 0.95):.1f} ms",
         f"{statistics.median(service) / statistics.median(bare):.1f}× bare"),
        (f"`list_cases` all view, offset {args.cases // 2:,}",
         f"p50 {statistics.median(deep):.1f} ms", f"p95 {percentile(deep, 0.95):.1f} ms", ""),
        ("Launch (new process, imports, database check) → first page on screen",
         f"p50 {statistics.median(launches):.0f} ms", f"max {max(launches):.0f} ms",
         "target ≤ 2 s"),
        ("Window built → first page on screen (warm process)", f"{startup_ms:.0f} ms", "",
         ""),
        ("Scroll the list to 5,000 rows (25 pages)", f"{scroll_s:.2f} s", "", ""),
        ("Longest GUI-thread stall (start, scroll, 4 view switches)", f"{longest_stall} ms",
         "", "target ≤ 100 ms"),
    ]
    table_md = ["| measure | value | p95 | note |", "|---|---|---|---|"]
    table_md += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    write_section(
        "Case list and window",
        [f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
         f"{platform.python_version()}, SQLite; {date.today().isoformat()}. "
         f"Synthetic cases generated in {generated_s:.0f} s by bench/bulk_cases.py "
         "(older requests mostly closed, as at a real desk).", "", *table_md],
    )
    print("\n".join(table_md))
    desk.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
