"""Every benchmark of DESIGN.md "Performance targets" in one run, at its scale, each figure
beside its bare baseline; writes bench/RESULTS.md: the summary table (figure, value,
baseline, ratio, target, pass/fail), the machine and the date, then one section each.

    .venv/bin/python -m bench.run_all            # full scale: 100,000 cases, 500,000
                                                 # messages, 1,000,000 customers
    .venv/bin/python -m bench.run_all --quick    # 2,000 cases: a check in a few minutes

1. The case database (bench.scale), on SQLite and on a private PostgreSQL server
   (bench.pg), generated once and kept in --data (default /tmp/caseapp-bench) for the
   next run; the search index built by the project's own code, timed.
2. Case search on both backends (bench.search), beside the bare FTS queries.
3. On a working copy of the SQLite database: mail import (bench.mail_import), letters
   (bench.letters), the window (bench.window_100k: start-up, and GUI stalls during
   scrolling, an import and search as you type).
4. Record lookup at 1,000,000 customers (bench.lookup; its files stay in
   /tmp/caseapp-bench-lookup).

The PostgreSQL server is stopped by its PID at the end, on an error or Ctrl+C too.
A quick run writes its report into --data (RESULTS-quick.md), a partial one (--only) into
RESULTS-partial.md there: only a whole run at full scale writes bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    Figure,
    Section,
    load_average,
    log,
    machine_lines,
    summary_table,
    use_keys_in,
)
from bench.results import RESULTS, write_report

STEPS = ("search", "import", "letters", "window", "lookup")


@dataclass(frozen=True)
class Plan:
    per_kind: int  # search probes per query kind
    mails: int  # mails imported by Desk.import_files
    window_mails: int  # mails imported in the window
    letters: int
    customers: int
    lookup_samples: int
    launches: int


FULL_PLAN = Plan(per_kind=200, mails=5000, window_mails=1000, letters=1000,
                 customers=1_000_000, lookup_samples=300, launches=5)
QUICK_PLAN = Plan(per_kind=30, mails=300, window_mails=100, letters=100, customers=10_000,
                  lookup_samples=50, launches=2)


def _guarded(name: str, step: Callable[[], Section], sections: list[Section]) -> None:
    """Run one benchmark; a failure becomes its section (the others still run)."""
    log(f"== {name}")
    started = time.perf_counter()
    try:
        section = step()
    except (Exception, SystemExit) as error:  # reported in the results
        detail = traceback.format_exc(limit=8)
        log(f"{name} failed: {error!r}\n{detail}")
        section = Section(name, ["The benchmark failed:", "", "```", detail.rstrip(), "```"],
                          [Figure(f"{name} (benchmark failed)", repr(error)[:80], "", "", "",
                                  False)])
    log(f"== {name}: {time.perf_counter() - started:.0f} s")
    sections.append(section)


def main() -> int:
    from bench import scale as scale_module

    parser = argparse.ArgumentParser(
        description="Every benchmark of DESIGN.md's performance targets in one run, beside "
        "bare baselines; writes bench/RESULTS.md.")
    parser.add_argument("--quick", action="store_true", help="small scale, a few minutes")
    parser.add_argument("--data", type=Path, default=scale_module.DEFAULT_DATA,
                        help="where the generated databases are kept (default %(default)s)")
    parser.add_argument("--output", type=Path, help="the report (default bench/RESULTS.md; "
                        "with --quick, DATA/RESULTS-quick.md; with --only, "
                        "DATA/RESULTS-partial.md)")
    parser.add_argument("--regenerate", action="store_true",
                        help="generate the case databases again even if cached")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--only", nargs="+", choices=STEPS, help="run only these")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    use_keys_in(args.data)
    scale = scale_module.QUICK if args.quick else scale_module.FULL
    plan = QUICK_PLAN if args.quick else FULL_PLAN
    # Only a whole run at full scale writes bench/RESULTS.md (its summary covers every
    # figure); a quick or partial one writes its report beside the data.
    output = args.output or (args.data / "RESULTS-quick.md" if args.quick
                             else args.data / "RESULTS-partial.md" if args.only else RESULTS)
    steps = set(args.only or STEPS)
    started = time.perf_counter()
    load_at_start = load_average()
    sections: list[Section] = []
    data = Section("Data")

    path, built = scale_module.sqlite_database(args.data, scale, args.regenerate)
    data.lines.append("- " + scale_module.describe(built, "SQLite"))
    data.figures.append(Figure(f"Search index build, {built.cases:,} cases (SQLite)",
                               f"{built.index_s:.0f} s", "", "", "", None))
    postgres_version = None
    if "search" in steps:
        if args.no_postgres:
            _guarded("Case search", lambda: _search(path, None, plan), sections)
        else:
            from bench import pg

            with pg.running(args.data / f"pg-{scale.key}") as server:
                postgres_version = server.version
                log(f"PostgreSQL {server.version} on port {server.port} (PID {server.pid})")
                pg_built = scale_module.postgres_database(
                    server.url, args.data / f"pg-{scale.key}" / "built.json", scale,
                    args.regenerate)
                data.lines.append("- " + scale_module.describe(
                    pg_built, f"PostgreSQL {server.version}"))
                data.figures.append(Figure(
                    f"Search index build, {pg_built.cases:,} cases (PostgreSQL)",
                    f"{pg_built.index_s:.0f} s", "", "", "", None))
                _guarded("Case search", lambda: _search(path, server.url, plan),
                         sections)
            log(f"PostgreSQL (PID {server.pid}) stopped")
    data.lines += [
        "",
        "Generated by bench/scale.py: bulk inserts shaped as the services write rows "
        "(requests as people write them, the desk's answers, replies quoting the case "
        "reference, 2% of the mail on the \"not a request\" list; postal cases with the "
        "scan's OCR text as a message and a `documents` row of kind scan, as "
        "`take_in_scan` keeps it; phones stored as intake (E.164) or staff (as typed) "
        "store them). Left out: raw mail and scan bytes (`blobs`), audit events, letters. "
        "PostgreSQL: a private server (bench/pg.py: fsync off, shared_buffers 512MB), "
        "VACUUM ANALYZE after the load.",
    ]

    work = args.data / "work" / scale.key
    copy: Path | None = None
    if steps & {"import", "letters", "window"}:
        log("working copy of the SQLite case database")
        copy = scale_module.working_copy(path, work / "cases.sqlite3")
    if "import" in steps and copy is not None:
        from bench import mail_import

        target = copy
        _guarded("Mail import", lambda: mail_import.run(target, work, plan.mails), sections)
    if "letters" in steps and copy is not None:
        target = copy
        _guarded("Letters", lambda: _letters(target, work, plan.letters, built.cases),
                 sections)
    if "window" in steps and copy is not None:
        target = copy
        _guarded("Case list and window",
                 lambda: _window(target, work, plan, path), sections)
    if "lookup" in steps:
        from bench import lookup

        _guarded("Record lookup", lambda: lookup.run(
            plan.customers, samples=plan.lookup_samples,
            cases=40 if not args.quick else 10), sections)

    figures = data.figures + [f for s in sections for f in s.figures]
    failed = [f for f in figures if f.passed is False]
    took = time.perf_counter() - started
    summary = [
        f"One run of `{'bench/run --quick' if args.quick else 'bench/run'}` "
        f"({'QUICK SCALE, a check only: ' if args.quick else ''}{scale.cases:,} cases, "
        f"{scale.messages:,} messages, {plan.customers:,} customers) in {took / 60:.0f} min. "
        f"{len(figures) - len(failed)} of {len(figures)} figures pass or have no target; "
        f"{len(failed)} miss their target.",
        "",
        *machine_lines(postgres_version, load_at_start),
        "",
        *summary_table(figures),
    ]
    write_report(output, summary, [(s.title, s.lines) for s in [data, *sections]])
    log(f"wrote {output} ({took / 60:.1f} min)")
    print("\n".join(summary_table(figures)))
    return 0


def _search(path: Path, postgres_url: str | None, plan: Plan) -> Section:
    from bench import search

    return search.run(path, postgres_url, plan.per_kind)


def _letters(copy: Path, work: Path, count: int, cases: int) -> Section:
    from bench import letters
    from caseapp.clock import Clock
    from caseapp.services import Desk

    desk = Desk(f"sqlite:///{copy}", "alice", clock=Clock(fixed=letters.NOW))
    try:
        desk.prepare(work / "backups")
        return letters.run(desk, count, f"a working copy of the full-scale SQLite case "
                           f"database ({cases:,} cases and the imported mail)")
    finally:
        desk.close()


def _window(copy: Path, work: Path, plan: Plan, cached: Path) -> Section:
    from bench import mail_import, search, window_100k
    from caseapp.services import Desk
    from caseapp.services.dto import CaseQuery

    mbox = work / f"window-{plan.window_mails}.mbox"
    if not mbox.exists():
        partial = mbox.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        mail_import.write_mbox(partial, plan.window_mails,
                               mail_import.sample_refs(copy, 200), seed=77)
        partial.rename(mbox)
    probes = search.cached_probes(cached, plan.per_kind)
    wanted = ("full name", "phone (415) 555-0134", "misspelled surname",
              "word from a scanned letter", "common word, page of 50")
    searches = [next(p.text for p in probes if p.kind == kind) for kind in wanted
                if any(p.kind == kind for p in probes)]
    desk = Desk(f"sqlite:///{copy}", "bench")
    try:
        desk.prepare(work / "backups")
        cases = desk.count_cases(CaseQuery(view="all"))
        home = work / "home"
        home.mkdir(parents=True, exist_ok=True)
        return window_100k.run(desk, home, cases=cases, mbox=mbox, mails=plan.window_mails,
                               searches=searches, launches=plan.launches)
    finally:
        desk.close()


if __name__ == "__main__":
    raise SystemExit(main())
