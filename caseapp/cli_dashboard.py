"""The ``dashboard`` command: the window's home page as text or JSON.

    caseapp dashboard [--weeks N] [--json]

The tiles (due today, due this week, overdue, awaiting verification, awaiting downstream
answers, my cases) with the ``caseapp search`` options that list their cases, the open
cases by status, request type and channel, and the cases received and closed per week.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from caseapp.config import Settings
from caseapp.services import Desk
from caseapp.services.dashboard import Count, Dashboard
from caseapp.services.search import SearchQuery


def add_parsers(commands: Any) -> None:
    dashboard = commands.add_parser(
        "dashboard", help="what is due, open and waiting; received and closed per week",
        description="The desk at a glance, as the window's Dashboard shows it. Each tile "
        "names the `caseapp search` options that list its cases.")
    dashboard.add_argument("--weeks", type=int, default=12,
                           help="weeks of received/closed figures (default 12)")
    dashboard.add_argument("--json", action="store_true")


def search_options(query: SearchQuery) -> str:
    """The ``caseapp search`` options of a tile's or a status's search."""
    options = []
    if query.due:
        options.append(f"--due {query.due}")
    if query.overdue:
        options.append("--overdue")
    if query.waiting_on:
        options.append(f"--waiting-on {query.waiting_on}")
    if query.mine:
        options.append("--mine")
    if query.status:
        options.append(f"--status {query.status}")
    return " ".join(options)


def _counts_json(counts: tuple[Count, ...]) -> list[dict[str, Any]]:
    return [{"key": c.key, "label": c.label, "count": c.count} for c in counts]


def dashboard_json(board: Dashboard) -> dict[str, Any]:
    return {
        "today": board.today.isoformat(), "user": board.username,
        "open_cases": board.open_cases,
        "tiles": [{"key": t.key, "label": t.label, "count": t.count,
                   "explanation": t.explanation, "search": search_options(t.query)}
                  for t in board.tiles],
        "by_status": _counts_json(board.by_status),
        "by_type": _counts_json(board.by_type),
        "by_channel": _counts_json(board.by_channel),
        "weeks": [{"start": w.start.isoformat(), "received": w.received, "closed": w.closed}
                  for w in board.weeks],
    }


def _print(board: Dashboard) -> None:
    print(f"{board.today.isoformat()} · {board.open_cases} open case(s)\n")
    for tile in board.tiles:
        print(f"{tile.count:>6}  {tile.label:<28} caseapp search {search_options(tile.query)}")
    for title, counts in (("status", board.by_status), ("request type", board.by_type),
                          ("channel", board.by_channel)):
        print(f"\nOpen cases by {title}:")
        for count in counts:
            print(f"{count.count:>6}  {count.label}")
    print("\nWeek of        received  closed")
    for week in board.weeks:
        print(f"{week.start.isoformat()}  {week.received:>8}  {week.closed:>6}")


def cmd_dashboard(settings: Settings, args: argparse.Namespace) -> int:
    desk = Desk(settings.effective_database_url, settings.user)
    try:
        desk.check_ready()
        board = desk.dashboard(weeks=args.weeks)
        if args.json:
            print(json.dumps(dashboard_json(board), indent=2, ensure_ascii=False))
        else:
            _print(board)
        return 0
    finally:
        desk.close()
