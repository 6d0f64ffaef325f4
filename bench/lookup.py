"""Benchmark: record lookup at 1,000,000 customers (DESIGN.md: exact email/phone p95 ≤ 10 ms,
fuzzy name + address p95 ≤ 200 ms), each beside a bare baseline in the same run.

1. Builds the demo customer systems (or reuses them from --data), and times the
   desk-side index build (``RecordSystems.reindex(full=True)``) and a refresh with
   nothing new.
2. Samples customers and looks each up through the engine the desk uses
   (``RecordSystems.lookup``: index candidates, re-read by key, direct query for new rows,
   parent links, every table of the source):
   - exact: the customer's email and phone, the phone typed another way;
   - fuzzy: name and street address with ZIP, no email or phone.
3. Baselines on a prepared copy (one table of the same customers with normalized email,
   E.164 phone and ZIP columns, indexed): the exact lookup is one indexed query; the fuzzy
   one reads the ZIP's customers by index and scores their names with rapidfuzz.
4. End to end through ``Desk.lookup`` on a SQLite case database for a few cases (storing
   hits and the audit event included).

Run:  .venv/bin/python -m bench.lookup [--customers 1000000] [--data DIR] [--samples 300]
The built files stay in --data (default /tmp/caseapp-bench-lookup) for the next run.
Writes bench/RESULTS.md section "Record lookup".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

from rapidfuzz.distance import JaroWinkler

from bench.common import Figure, Section
from bench.results import write_section
from caseapp.clock import Clock
from caseapp.demo import demo_sources_text
from caseapp.records.demo_systems import DEMO_DB_NAME, build_demo_systems
from caseapp.records.index import IndexReport
from caseapp.records.lookup import LookupReport, RecordSystems
from caseapp.records.matching import fast_phone
from caseapp.records.normalize import fold_name, normalize_email, normalize_zip
from caseapp.records.sources import parse_sources
from caseapp.records.subject import PartyIdentifiers, subject_from_parties
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData

NOW = datetime(2026, 3, 4, 15, 0, 0)
DEFAULT_DATA = Path("/tmp/caseapp-bench-lookup")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(calls: Sequence[Callable[..., object]]) -> tuple[list[float], list[object]]:
    times: list[float] = []
    results: list[object] = []
    for call in calls:
        started = time.perf_counter()
        results.append(call())
        times.append((time.perf_counter() - started) * 1000)
    return times, results


def retype(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())[-10:]
    return f"+1 ({digits[:3]}) {digits[3:6]} {digits[6:]}"


def demo_files(folder: Path, customers: int) -> tuple[Path, float | None]:
    """The demo systems for ``customers`` in ``folder``, built unless already there."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / "built.json"
    path = folder / DEMO_DB_NAME
    if path.exists() and marker.exists() and json.loads(marker.read_text()) == {
            "customers": customers}:
        return path, None
    built = build_demo_systems(path, customers=customers)
    marker.write_text(json.dumps({"customers": customers}))
    return path, built.seconds


def prepared_copy(source: Path, target: Path) -> sqlite3.Connection:
    """One table of the customers with normalized, indexed identifier columns."""
    if target.exists():
        target.unlink()
    connection = sqlite3.connect(target)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("CREATE TABLE prepared (customer_id INTEGER PRIMARY KEY, email TEXT, "
                       "phone TEXT, zip TEXT, first TEXT, last TEXT, street TEXT)")
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    rows = reader.execute("SELECT customer_id, email, phone, postal_code, first_name, "
                          "last_name, street FROM customers")
    while batch := rows.fetchmany(50_000):
        connection.executemany("INSERT INTO prepared VALUES (?, ?, ?, ?, ?, ?, ?)", [
            (cid, normalize_email(email), fast_phone(phone), normalize_zip(code),
             fold_name(first), fold_name(last), street)
            for cid, email, phone, code, first, last, street in batch])
    reader.close()
    for column in ("email", "phone", "zip"):
        connection.execute(f"CREATE INDEX prepared_{column} ON prepared ({column})")
    connection.commit()
    return connection


def run(customers: int = 1_000_000, data: Path = DEFAULT_DATA, samples: int = 300,
        cases: int = 40) -> Section:
    """The lookup figures at ``customers`` (demo systems built or reused in ``data``)."""
    folder = data / str(customers)
    path, generated = demo_files(folder, customers)
    print(f"demo systems: {path}" + (f" (built in {generated:.0f} s)" if generated else
                                     " (reused)"), flush=True)
    sources = folder / "sources.toml"
    sources.write_text(demo_sources_text(folder), encoding="utf-8")
    config = parse_sources(sources.read_text(encoding="utf-8"), sources)
    systems = RecordSystems(config, folder, secret=lambda _name: None)
    (built,) = systems.reindex("customer_db", now=NOW, full=True)
    assert isinstance(built, IndexReport)
    index_rows = sum(built.tables.values())
    index_size = built.path.stat().st_size / 1e6
    print(f"index: {index_rows:,} rows in {built.seconds:.1f} s, {index_size:.0f} MB",
          flush=True)
    (refresh,) = systems.reindex("customer_db", now=NOW)
    assert isinstance(refresh, IndexReport)
    print(f"refresh with nothing new: {refresh.seconds:.2f} s", flush=True)

    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    (count,) = reader.execute("SELECT COUNT(*) FROM customers").fetchone()
    rng = random.Random(11)
    wanted = rng.sample(range(1, count + 1), samples * 3)
    people = []
    for cid in wanted:
        row = reader.execute(
            "SELECT customer_id, first_name, last_name, email, phone, street, city, state, "
            "postal_code FROM customers WHERE customer_id = ? AND is_child = 0 AND email IS "
            "NOT NULL AND phone IS NOT NULL", (cid,)).fetchone()
        if row:
            people.append(row)
        if len(people) == samples:
            break
    reader.close()

    bare = prepared_copy(path, folder / "prepared.sqlite3")

    def exact(p: tuple[object, ...]) -> LookupReport:
        return systems.lookup(subject_from_parties(PartyIdentifiers(
            email=str(p[3]).upper(), phone=retype(str(p[4])))), now=NOW, fuzzy=False)

    def fuzzy(p: tuple[object, ...]) -> LookupReport:
        return systems.lookup(subject_from_parties(PartyIdentifiers(
            name=f"{p[1]} {p[2]}", postal_address=f"{p[5]}\n{p[6]}, {p[7]}",
            postal_code=str(p[8] or ""))), now=NOW)

    def bare_exact(p: tuple[object, ...]) -> list[tuple[int]]:
        return bare.execute("SELECT customer_id FROM prepared WHERE email = ? OR phone = ?",
                            (normalize_email(str(p[3]).upper()),
                             fast_phone(retype(str(p[4]))))).fetchall()

    def bare_fuzzy(p: tuple[object, ...]) -> list[int]:
        first, last = fold_name(p[1]), fold_name(p[2])
        rows = bare.execute("SELECT customer_id, first, last FROM prepared WHERE zip = ?",
                            (normalize_zip(p[8]),)).fetchall()
        return [cid for cid, f, s in rows
                if JaroWinkler.similarity(first, f) > 0.85
                and JaroWinkler.similarity(last, s) > 0.88]

    # Warm-up (connections, reflection, page cache), then the four measured side by side,
    # person by person, so the machine's noise falls on each alike.
    for p in people[:20]:
        exact(p), fuzzy(p), bare_exact(p), bare_fuzzy(p)
    exact_ms: list[float] = []
    fuzzy_ms: list[float] = []
    bare_exact_ms: list[float] = []
    bare_fuzzy_ms: list[float] = []
    exact_found = fuzzy_found = 0
    for p in people:
        for call, times in ((exact, exact_ms), (fuzzy, fuzzy_ms), (bare_exact, bare_exact_ms),
                            (bare_fuzzy, bare_fuzzy_ms)):
            started = time.perf_counter()
            result = call(p)
            times.append((time.perf_counter() - started) * 1000)
            if isinstance(result, LookupReport):
                keys = {r.key for r in result.records if r.table == "customers"}
                hit = str(p[0]) in keys
                if call is exact:
                    exact_found += hit
                else:
                    fuzzy_found += hit
    bare.close()
    print(f"exact p50 {statistics.median(exact_ms):.2f} ms p95 "
          f"{percentile(exact_ms, 0.95):.2f} ms ({exact_found}/{len(people)} found)")
    print(f"fuzzy p50 {statistics.median(fuzzy_ms):.2f} ms p95 "
          f"{percentile(fuzzy_ms, 0.95):.2f} ms ({fuzzy_found}/{len(people)} found)")
    print(f"bare exact p50 {statistics.median(bare_exact_ms):.3f} ms p95 "
          f"{percentile(bare_exact_ms, 0.95):.3f} ms; bare fuzzy p50 "
          f"{statistics.median(bare_fuzzy_ms):.2f} ms p95 "
          f"{percentile(bare_fuzzy_ms, 0.95):.2f} ms", flush=True)

    # End to end: cases on a SQLite case database, Desk.lookup storing hits and audit.
    with tempfile.TemporaryDirectory(prefix="caseapp-bench-lookup-desk-") as temp:
        desk = Desk(f"sqlite:///{temp}/cases.sqlite3", "bench",
                    clock=Clock(fixed=NOW))
        desk.prepare(Path(temp) / "backups")
        desk.use_sources(config, folder, secret=lambda _name: None)
        refs = []
        for p in people[:cases]:
            refs.append(desk.create_case(NewCase(
                channel="email", request_types=("delete",), requester=PartyData(
                    name=f"{p[1]} {p[2]}", email=p[3], phone=p[4],
                    postal_address=f"{p[5]}\n{p[6]}, {p[7]} {p[8]}",
                    postal_code=str(p[8] or "")))).case.ref)
        first_ms, _ = timed([lambda: desk.lookup(refs[0])])  # connects and reflects
        desk_ms, _ = timed([(lambda r=r: desk.lookup(r)) for r in refs[1:]])
        desk.close()
    print(f"Desk.lookup end to end p50 {statistics.median(desk_ms):.1f} ms p95 "
          f"{percentile(desk_ms, 0.95):.1f} ms", flush=True)
    systems.close()

    def figure(name: str, mine: list[float], base: list[float], target: str) -> str:
        p50, p95 = statistics.median(mine), percentile(mine, 0.95)
        b50, b95 = statistics.median(base), percentile(base, 0.95)
        return (f"| {name} | {p50:.2f} ms | {p95:.2f} ms | {b50:.3f} ms | {b95:.3f} ms | "
                f"{p95 / b95:.0f}× | {target} |")

    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
        f"{date.today().isoformat()}. Demo customer systems with {customers:,} "
        "customers, on SQLite. "
        f"{len(people)} customers sampled (adults with email and phone); each lookup "
        "searches every table of the source through the desk-side index, re-reads the "
        "candidates by key, runs the direct query for rows added since the index, and "
        "follows parent links (`RecordSystems.lookup`, what `Desk.lookup` runs).",
        "",
        f"Index build (full, streaming by key order): **{built.seconds:.0f} s** for the "
        f"{index_rows:,} rows of the tables with identifiers it holds "
        f"({index_rows / built.seconds:,.0f} rows/s), "
        f"{index_size:.0f} MB; a refresh with nothing new: {refresh.seconds:.2f} s."
        + (f" (Generating the demo systems took {generated:.0f} s.)" if generated else ""),
        "",
        "| lookup | p50 | p95 | bare p50 | bare p95 | p95 ratio | target p95 |",
        "|---|---|---|---|---|---|---|",
        figure("exact: email upper-cased + phone retyped", exact_ms, bare_exact_ms, "≤ 10 ms"),
        figure("fuzzy: name + street + ZIP", fuzzy_ms, bare_fuzzy_ms, "≤ 200 ms"),
        "",
        f"Found the sampled customer: exact {exact_found}/{len(people)}, fuzzy "
        f"{fuzzy_found}/{len(people)}. Bare baselines on a prepared copy: one table of the "
        "customers with normalized email, E.164 phone and ZIP columns, indexed; exact = one "
        "indexed query; fuzzy = the ZIP's customers by index, names scored with "
        "Jaro–Winkler (one table, no re-check, no links). The four are timed person by "
        "person, side by side, after 20 warm-up lookups.",
        "",
        f"End to end, `Desk.lookup` on a SQLite case database ({len(desk_ms)} cases with "
        "email, phone, name and address; exact and fuzzy together, hits, searches and "
        f"audit stored): p50 {statistics.median(desk_ms):.0f} ms, p95 "
        f"{percentile(desk_ms, 0.95):.0f} ms (the desk's first lookup, which also connects "
        f"and reads the tables' structure: {first_ms[0]:.0f} ms).",
    ]
    exact_p95, fuzzy_p95 = percentile(exact_ms, 0.95), percentile(fuzzy_ms, 0.95)
    bare_exact_p95 = percentile(bare_exact_ms, 0.95)
    bare_fuzzy_p95 = percentile(bare_fuzzy_ms, 0.95)
    scale = f"{customers:,} customers"
    figures = [
        Figure(f"Exact record lookup (email + phone), {scale}",
               f"p95 {exact_p95:.1f} ms, found {exact_found}/{len(people)}",
               f"bare p95 {bare_exact_p95:.2f} ms", f"{exact_p95 / bare_exact_p95:.0f}×",
               "p95 ≤ 10 ms", exact_p95 <= 10 and exact_found == len(people)),
        Figure(f"Fuzzy record lookup (name + address), {scale}",
               f"p95 {fuzzy_p95:.1f} ms, found {fuzzy_found}/{len(people)}",
               f"bare p95 {bare_fuzzy_p95:.1f} ms", f"{fuzzy_p95 / bare_fuzzy_p95:.0f}×",
               "p95 ≤ 200 ms", fuzzy_p95 <= 200 and fuzzy_found >= 0.95 * len(people)),
    ]
    return Section("Record lookup", lines, figures)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--cases", type=int, default=40, help="end-to-end Desk.lookup runs")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    section = run(args.customers, args.data, args.samples, args.cases)
    print("\n".join(section.lines))
    if not args.no_write:
        write_section(section.title, section.lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
