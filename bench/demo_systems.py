"""Benchmark: generating the demo customer systems (``caseapp init --demo --customers N``).

For each size, in one run: the generator (all tables, indexes, ANALYZE) beside a bare
baseline, SQLite's executemany of as many constant customer rows as the generator wrote
rows in all tables, so the ratio says what making realistic rows costs over writing them.

Run:  .venv/bin/python -m bench.demo_systems [--sizes 10000 100000 1000000]
Writes the figures to bench/RESULTS.md (section "Demo customer systems").
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.results import write_section
from caseapp.records.demo_systems import COLUMNS, SCHEMA, build_demo_systems


def bare_insert(path: Path, count: int) -> float:
    """Seconds to executemany ``count`` constant customer rows with the same pragmas."""
    started = time.perf_counter()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    connection.executescript(SCHEMA)
    columns = COLUMNS["customers"]
    sql = f"INSERT INTO customers ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    row = ("CU-1", "Ana", "Ruiz", "ana@example.com", "(916) 555-0100", "1 Main Street",
           "Sacramento", "CA", "95814", 1980, 0, None, 0, "2020-01-01T10:00:00",
           "2020-01-01T10:00:00")
    connection.execute("BEGIN")
    for first in range(0, count, 20_000):
        connection.executemany(sql, [(first + n + 1, *row)
                                     for n in range(min(20_000, count - first))])
    connection.execute("COMMIT")
    connection.close()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    lines = ["| customers | all rows | generate | rows/s | file | bare insert of as many rows "
             "| ratio |", "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="caseapp-bench-demo-") as folder:
        for size in args.sizes:
            path = Path(folder) / f"demo{size}.sqlite3"
            built = build_demo_systems(path, customers=size)
            total = sum(built.rows.values())
            base = bare_insert(Path(folder) / f"bare{size}.sqlite3", total)
            (Path(folder) / f"bare{size}.sqlite3").unlink()
            megabytes = path.stat().st_size / 1e6
            line = (f"| {size:,} | {total:,} | {built.seconds:.1f} s | "
                    f"{total / built.seconds:,.0f} | {megabytes:,.0f} MB | {base:.2f} s | "
                    f"{built.seconds / base:.0f}× |")
            print(line, flush=True)
            lines.append(line)
            path.unlink()
    write_section("Demo customer systems", [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
        f"{date.today().isoformat()}. `build_demo_systems` (caseapp/records/demo_systems.py): "
        "customers with their subscriptions, configurations, web visits, leads, shares, "
        "warranty and broker rows, then indexes and ANALYZE, into a temporary file renamed "
        "into place. The bare baseline writes the same number of rows, constant, into one "
        "table, without indexes.",
        "", *lines])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
