"""The desk's home page in figures: what needs doing now, what is open, how the weeks went.

``dashboard`` reads it all in one read-only unit of work and a handful of queries (no ORM
objects): the six tiles in one statement of counts, the open cases by status, request
type and channel each one GROUP BY, and the cases received and closed per week one
GROUP BY each. Every tile carries the search (caseapp.services.search) that lists exactly
its cases, and is counted with that search's own filter code, so a tile's number is the
number of results its search finds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, func, literal, select
from sqlalchemy.orm import Session

from caseapp.db.models import Case, CaseRequestType
from caseapp.errors import InvalidInput
from caseapp.services.context import ServiceContext
from caseapp.services.search import SearchQuery, filtered
from caseapp.vocabulary import CHANNELS, REQUEST_TYPE_LABELS, REQUEST_TYPES

MAX_WEEKS = 104


@dataclass(frozen=True)
class Tile:
    """One figure of the home page: how many cases, and the search that lists them."""

    key: str
    label: str
    count: int
    explanation: str
    query: SearchQuery


@dataclass(frozen=True)
class Count:
    """Open cases with one status, request type or channel. ``query`` lists exactly these
    cases where a search can (a status); None where it cannot (the search's request
    type and channel filters take closed cases too)."""

    key: str
    label: str
    count: int
    query: SearchQuery | None = None


@dataclass(frozen=True)
class Week:
    """A Monday-to-Sunday week at the desk: cases received (by their received date) and
    cases closed (by the desk's date of the moment they reached a closed state)."""

    start: date  # a Monday
    received: int
    closed: int

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)


@dataclass(frozen=True)
class Dashboard:
    today: date
    username: str
    tiles: tuple[Tile, ...]
    by_status: tuple[Count, ...]  # open states in workflow order
    by_type: tuple[Count, ...]  # a case with two request types counts under each
    by_channel: tuple[Count, ...]
    weeks: tuple[Week, ...]  # oldest first; the last one holds today

    @property
    def open_cases(self) -> int:
        return sum(count.count for count in self.by_status)

    def tile(self, key: str) -> Tile:
        for tile in self.tiles:
            if tile.key == key:
                return tile
        raise KeyError(key)


# key, label, explanation, the search that lists the tile's cases
TILES: tuple[tuple[str, str, str, SearchQuery], ...] = (
    ("due_today", "Due today", "Open cases whose response is due today",
     SearchQuery(due="today")),
    ("due_week", "Due this week", "Response due today or in the next 6 days",
     SearchQuery(due="week")),
    ("overdue", "Overdue", "Past the response deadline, no response sent yet",
     SearchQuery(overdue=True)),
    ("verification", "Awaiting verification",
     "Waiting on the requester's identity or more information",
     SearchQuery(waiting_on="verification")),
    ("downstream", "Awaiting downstream answers",
     "Notices sent to dealers or affiliates, not yet acknowledged",
     SearchQuery(waiting_on="downstream")),
    ("mine", "My cases", "Open cases assigned to you", SearchQuery(mine=True)),
)


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def dashboard(ctx: ServiceContext, weeks: int = 12) -> Dashboard:
    """The home page's figures as of ``ctx.clock.today()``, with the ``weeks`` weeks up to
    and including this one."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInput(f"Show between 1 and {MAX_WEEKS} weeks.")
    today = ctx.clock.today()
    workflow = ctx.workflow
    starts = [week_start(today) - timedelta(weeks=weeks - 1 - n) for n in range(weeks + 1)]
    open_states = workflow.open_states
    with ctx.read() as session:
        tile_counts = _tile_counts(ctx, session)
        by_status = _grouped(session, select(Case.status, func.count(Case.id))
                             .where(Case.status.in_(open_states)).group_by(Case.status))
        by_type = _grouped(session, select(CaseRequestType.request_type, func.count(Case.id))
                           .join(Case, Case.id == CaseRequestType.case_id)
                           .where(Case.status.in_(open_states))
                           .group_by(CaseRequestType.request_type))
        by_channel = _grouped(session, select(Case.channel, func.count(Case.id))
                              .where(Case.status.in_(open_states)).group_by(Case.channel))
        received = _per_week(session, Case.received_on, starts)
        # Closed: in a closed state now, dated by when it got there (UTC moments compared
        # with the UTC moments the desk's Mondays begin).
        closed = _per_week(session, Case.closed_at,
                           [ctx.clock.start_of_local_day(start) for start in starts],
                           only_states=workflow.closed_states)
    tiles = tuple(Tile(key, label, tile_counts[n], explanation, query)
                  for n, (key, label, explanation, query) in enumerate(TILES))
    return Dashboard(
        today=today,
        username=ctx.username,
        tiles=tiles,
        by_status=_counts(open_states, by_status, workflow.label,
                          lambda state: SearchQuery(status=state)),
        by_type=_counts(REQUEST_TYPES, by_type, lambda t: REQUEST_TYPE_LABELS.get(t, t)),
        by_channel=_counts(CHANNELS, by_channel, lambda c: c.replace("_", " ").capitalize()),
        weeks=tuple(Week(start, received.get(n, 0), closed.get(n, 0))
                    for n, start in enumerate(starts[:-1])),
    )


def _tile_counts(ctx: ServiceContext, session: Session) -> list[int]:
    """Every tile's count in one statement, each with the search's own filters."""
    counts = [filtered(ctx, query, select(func.count(Case.id))).scalar_subquery()
              for _key, _label, _explanation, query in TILES]
    row = session.execute(select(*counts)).one()
    return [int(value or 0) for value in row]


def _grouped(session: Session, statement: Any) -> dict[str, int]:
    return {str(key): int(count) for key, count in session.execute(statement)}


def _counts(known: Sequence[str], found: dict[str, int], label: Callable[[str], str],
            query: Callable[[str], SearchQuery] | None = None) -> tuple[Count, ...]:
    """Every known key in its order (zeros too), then any other found in the data (a state
    or type a changed rules file no longer has)."""
    keys = list(known) + sorted(key for key in found if key not in known)
    return tuple(Count(key, label(key), found.get(key, 0),
                       query(key) if query is not None else None) for key in keys)


def _per_week(session: Session, column: Any, bounds: Sequence[date | datetime],
              only_states: Collection[str] | None = None) -> dict[int, int]:
    """How many cases have ``column`` in each [bounds[n], bounds[n+1]), by n: one GROUP BY
    over a CASE that numbers the weeks (the same SQL on SQLite and PostgreSQL). With
    ``only_states``, only cases now in one of them count: grouped by status too and kept
    here, because a WHERE on the status makes SQLite read most rows through the status
    index (six times slower than the one pass over the table)."""
    week = case(*((column < bounds[n + 1], literal(n, Integer))
                  for n in range(len(bounds) - 1))).label("week")
    numbered = (select(week, Case.status).where(column >= bounds[0], column < bounds[-1])
                .subquery("numbered"))
    rows = session.execute(select(numbered.c.week, numbered.c.status, func.count())
                           .group_by(numbered.c.week, numbered.c.status))
    counts: dict[int, int] = {}
    for n, status, count in rows:
        if n is not None and (only_states is None or status in only_states):
            counts[int(n)] = counts.get(int(n), 0) + int(count)
    return counts
