"""The ``lookup`` command: search the customer systems for a case's data subject, decide
on what was found, and keep the desk-side index up to date.

    caseapp lookup PR-2026-00042 [--json]     search every system, print per system and hit
    caseapp lookup PR-2026-00042 --confirm 7  (or --reject 7) staff's decision on hit 7
    caseapp lookup PR-2026-00042 --show       what is stored, without searching again
    caseapp lookup --reindex [SOURCE] [--full]   build or refresh the index
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from caseapp.config import Settings
from caseapp.errors import InvalidInput
from caseapp.services import Desk
from caseapp.services.dto import LookupResult, RecordHitView, SourceSearchView

EXIT_INCOMPLETE = 3


def add_parsers(commands: Any) -> None:
    lookup = commands.add_parser(
        "lookup", help="search the customer systems for a case's data subject; --json",
        description="Search every customer system of the sources file for the case's data "
        "subject (exact email, phone, VIN, customer id; fuzzy name and address; for a "
        "child also the parent's email) and store what was found as proposals for staff "
        "to confirm or reject. A system that cannot be reached is named and the lookup "
        "is incomplete (exit status 3), never 'nothing found'.")
    lookup.add_argument("ref", nargs="?", help="the case reference (PR-2026-00042)")
    lookup.add_argument("--json", action="store_true")
    lookup.add_argument("--confirm", type=int, metavar="HIT_ID",
                        help="confirm that hit HIT_ID is the data subject's record")
    lookup.add_argument("--reject", type=int, metavar="HIT_ID",
                        help="reject hit HIT_ID (not the data subject's record)")
    lookup.add_argument("--show", action="store_true",
                        help="show the stored hits and per-system state without searching")
    lookup.add_argument("--reindex", nargs="?", const="", metavar="SOURCE",
                        help="build or refresh the desk-side index of SOURCE (default: all)")
    lookup.add_argument("--full", action="store_true",
                        help="with --reindex: rebuild from scratch instead of adding new rows")


def cmd_lookup(settings: Settings, args: argparse.Namespace) -> int:
    desk = Desk(settings.effective_database_url, settings.user)
    try:
        desk.check_ready()
        if args.reindex is not None:
            if args.ref or args.confirm or args.reject:
                raise InvalidInput("--reindex takes a source name, not a case.")
            return _reindex(desk, args.reindex or None, args.full, args.json)
        if not args.ref:
            raise InvalidInput("Name the case: caseapp lookup PR-2026-00042 (or --reindex).")
        if args.confirm is not None and args.reject is not None:
            raise InvalidInput("Give --confirm or --reject, not both.")
        if args.confirm is not None or args.reject is not None:
            hit = desk.decide_hit(args.ref, args.confirm if args.confirm is not None
                                  else args.reject, args.confirm is not None)
            if args.json:
                print(json.dumps(_hit_json(hit), indent=2, ensure_ascii=False))
            else:
                print(f"Hit {hit.id} {hit.status}: {hit.source_label} / {hit.table_label} "
                      f"#{hit.record_key}")
            return 0
        if args.show:
            sources = desk.source_status(args.ref)
            hits = desk.record_hits(args.ref)
            _print(args.ref, sources, hits, args.json, complete=None)
            return 0
        progress = _progress if sys.stderr.isatty() and not args.json else None
        result = desk.lookup(args.ref, progress=progress)
        if progress is not None:
            print(file=sys.stderr)
        _print(result.ref, result.sources, result.hits, args.json, complete=result.complete,
               result=result)
        return 0 if result.complete else EXIT_INCOMPLETE
    finally:
        desk.close()


def _progress(done: int, total: int, label: str) -> None:
    print(f"\rSearching {done + 1 if label else done}/{total}: {label:<40}", end="",
          file=sys.stderr, flush=True)


def _hit_json(hit: RecordHitView) -> dict[str, Any]:
    data = asdict(hit)
    data["decided_at"] = hit.decided_at.isoformat() if hit.decided_at else None
    data["found_at"] = hit.found_at.isoformat()
    data["reasons"] = list(hit.reasons)
    data["snapshot"] = dict(hit.snapshot)
    return data


def _source_json(source: SourceSearchView) -> dict[str, Any]:
    data = asdict(source)
    data["searched_at"] = source.searched_at.isoformat() if source.searched_at else None
    data["outcome_label"] = source.outcome_label
    return data


def _print(ref: str, sources: tuple[SourceSearchView, ...], hits: tuple[RecordHitView, ...],
           as_json: bool, *, complete: bool | None, result: LookupResult | None = None) -> None:
    if as_json:
        print(json.dumps({
            "ref": ref,
            "complete": complete if complete is not None else not any(
                s.outcome in ("unreachable", "schema_mismatch") for s in sources),
            "new_hits": result.new_hits if result else None,
            "warnings": list(result.warnings) if result else [],
            "sources": [_source_json(s) for s in sources],
            "hits": [_hit_json(h) for h in hits],
        }, indent=2, ensure_ascii=False))
        return
    print(f"{ref}: customer systems")
    for source in sources:
        when = (f"  {source.searched_at:%Y-%m-%d %H:%M} by {source.searched_by}"
                if source.searched_at else "")
        count = f" ({source.hit_count} records)" if source.outcome == "found" else ""
        detail = f"\n      {source.detail}" if source.detail else ""
        print(f"  {source.label:<28} {source.outcome_label}{count}{when}{detail}")
    if hits:
        print("Records (confirm or reject: caseapp lookup REF --confirm ID / --reject ID):")
    for hit in hits:
        via = f" [via {hit.via}]" if hit.via else ""
        print(f"  #{hit.id:<5} {hit.status:<9} {hit.score:5.1f}  {hit.source_label} / "
              f"{hit.table_label} #{hit.record_key}: {hit.why}{via}")
    if result is not None:
        for warning in result.warnings:
            print(f"  note: {warning}")
        verdict = "complete" if result.complete else (
            "INCOMPLETE: not searched: " + ", ".join(result.unreachable))
        print(f"Lookup {verdict}; {len(hits)} records, {result.new_hits} new, in "
              f"{result.seconds:.2f} s.")


def _reindex(desk: Desk, source: str | None, full: bool, as_json: bool) -> int:
    def progress(label: str, done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\rIndexing {label}: {done:,}/{total:,} rows", end="", file=sys.stderr,
                  flush=True)

    results = desk.reindex(source, full=full, progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if as_json:
        print(json.dumps([{**asdict(r), "rows": dict(r.rows)} for r in results], indent=2))
    for result in [] if as_json else results:
        if result.ok:
            rows = sum(count for _, count in result.rows)
            print(f"{result.label}: {'rebuilt' if result.full else 'brought up to date'}, "
                  f"{rows:,} rows read in {result.seconds:.1f} s")
        else:
            print(f"{result.label}: NOT indexed: {result.problem}")
    return 0 if all(r.ok for r in results) else EXIT_INCOMPLETE
