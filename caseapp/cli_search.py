"""The ``search`` command: find cases by any text, with the case list's filters.

    caseapp search QUERY [--status S] [--type T] [--channel C] [--jurisdiction J]
                         [--assignee USER] [--child] [--overdue] [--due today|week]
                         [--waiting-on verification|downstream] [--mine]
                         [--from DATE] [--to DATE] [--received-within PERIOD]
                         [--limit N] [--offset N] [--json]
    caseapp search --reindex            build every case's search document again
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from caseapp.config import Settings
from caseapp.errors import InvalidInput
from caseapp.services import Desk
from caseapp.services.search import (
    DUE_FILTERS,
    MAX_LIMIT,
    RECEIVED_PERIODS,
    WAITING_FILTERS,
    SearchHit,
    SearchQuery,
)
from caseapp.vocabulary import CHANNELS, REQUEST_TYPES


def add_parsers(commands: Any) -> None:
    search = commands.add_parser(
        "search", help="find cases by any text (names, emails, phones, messages, notes, "
        "scans, letters) and filters",
        description="Find cases by what they say: names (accents and case do not matter), "
        "an email address, a phone number however written, words of messages, notes, "
        "scanned letters and issued letters. Every word must match; the last one may be "
        "the start of a word. \"Quotes\" keep words together. Any text is a valid search. "
        "Without QUERY, lists the cases the filters select.")
    search.add_argument("query", nargs="*", metavar="QUERY",
                        help="the words to find (several arguments are joined by spaces)")
    search.add_argument("--status", default="", help="a workflow state, e.g. in_progress")
    search.add_argument("--type", dest="request_type", default="", choices=REQUEST_TYPES,
                        metavar="TYPE", help=f"a request type: {', '.join(REQUEST_TYPES)}")
    search.add_argument("--channel", default="", choices=CHANNELS, metavar="CHANNEL",
                        help=f"{', '.join(CHANNELS)}")
    search.add_argument("--jurisdiction", default="", help="e.g. CA")
    search.add_argument("--assignee", default="", metavar="USER")
    search.add_argument("--child", action="store_true", help="only cases about a child")
    search.add_argument("--overdue", action="store_true", help="only overdue cases")
    search.add_argument("--received-within", default="", choices=tuple(RECEIVED_PERIODS),
                        help="received today, in the last 7 or 30 days, this year or last "
                        "year (counted from the day searched)")
    search.add_argument("--due", default="", choices=DUE_FILTERS,
                        help="only open cases due today, or within the week")
    search.add_argument("--waiting-on", default="", choices=WAITING_FILTERS,
                        help="only cases waiting on identity verification, or on answers "
                        "to downstream notices")
    search.add_argument("--mine", action="store_true", help="only my open cases")
    search.add_argument("--from", dest="received_from", type=date.fromisoformat,
                        metavar="DATE", help="received on or after YYYY-MM-DD")
    search.add_argument("--to", dest="received_to", type=date.fromisoformat,
                        metavar="DATE", help="received on or before YYYY-MM-DD")
    search.add_argument("--limit", type=int, default=50, help=f"at most N (≤ {MAX_LIMIT})")
    search.add_argument("--offset", type=int, default=0, help="skip the first N")
    search.add_argument("--json", action="store_true")
    search.add_argument("--reindex", action="store_true",
                        help="build every case's search document again, then exit")


def cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    desk = Desk(settings.effective_database_url, settings.user)
    try:
        desk.check_ready()
        if args.reindex:
            if args.query:
                raise InvalidInput("--reindex takes no QUERY.")
            count = desk.rebuild_search_index()
            print(f"search index rebuilt: {count} case(s)")
            return 0
        query = SearchQuery(
            text=" ".join(args.query), status=args.status, request_type=args.request_type,
            channel=args.channel, jurisdiction=args.jurisdiction, assignee=args.assignee,
            child=args.child, overdue=args.overdue, received_from=args.received_from,
            received_to=args.received_to, received_within=args.received_within,
            due=args.due, waiting_on=args.waiting_on, mine=args.mine, limit=args.limit,
            offset=args.offset)
        results = desk.search(query)
        if args.json:
            print(json.dumps({"total": results.total, "more": results.more,
                              "offset": results.offset,
                              "similar": {typed: list(names)
                                          for typed, names in results.similar},
                              "hits": [hit_json(hit) for hit in results.hits]},
                             indent=2, ensure_ascii=False))
            return 0
        for typed, names in results.similar:
            print(f"nothing matches “{typed}” as typed; searched the names "
                  f"{', '.join(names)} instead")
        for hit in results.hits:
            row = hit.case
            flag = "!" if row.overdue else ("C" if row.is_child else " ")
            print(f"{flag} {row.ref}  {row.status_label:<22} due {row.due_on}  "
                  f"{row.requester_name}")
            if hit.snippet.text:
                print(f"    {hit.snippet.source}: {hit.snippet.marked('[', ']')}")
        shown = len(results.hits)
        if results.more:
            print(f"more than {results.total} cases, the newest {shown} shown (the words "
                  "are too common to rank: add a word or a filter)")
        else:
            more = f", {shown} shown" if shown < results.total else ""
            print(f"{results.total} case(s){more}")
        return 0
    finally:
        desk.close()


def hit_json(hit: SearchHit) -> dict[str, Any]:
    row = hit.case
    return {
        "ref": row.ref, "requester_name": row.requester_name, "status": row.status,
        "status_label": row.status_label, "channel": row.channel,
        "request_types": list(row.request_types), "jurisdiction": row.jurisdiction,
        "received_on": row.received_on.isoformat(), "due_on": row.due_on.isoformat(),
        "overdue": row.overdue, "is_child": row.is_child, "assignee": row.assignee,
        "snippet": {"text": hit.snippet.text, "source": hit.snippet.source,
                    "spans": [list(span) for span in hit.snippet.spans]},
    }
