"""Finding cases by any text staff remember, with the case list's filters.

``search`` runs one query: the text (anything typed, caseapp.search.query) against the
cases' search documents, the filters on the cases, one page of hits ranked best first
(an empty text lists by the filters, in the desk's order), each with a marked snippet,
and the total. Saved searches keep a query under a name per user for the navigation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from functools import cache
from typing import Any

from sqlalchemy import CTE, Connection, bindparam, func, select
from sqlalchemy.orm import Session

from caseapp.db.models import Case, CaseRequestType, DownstreamNotice, SavedSearch, User
from caseapp.errors import InvalidInput, NotFound
from caseapp.search import fuzzy, index
from caseapp.search.document import sections_from_json
from caseapp.search.query import ParsedQuery, parse_query
from caseapp.search.snippet import Snippet, make_snippet
from caseapp.services.cases import (
    AnySelect,
    case_row_columns,
    case_rows_by_id,
    case_rows_from,
)
from caseapp.services.context import ServiceContext
from caseapp.services.dto import CaseRow
from caseapp.vocabulary import CHANNELS, REQUEST_TYPES

MAX_LIMIT = 500
COUNT_LIMIT = 1000
"""Matches counted at most. Past this a word is too common for ranking to mean anything
("information" is in most cases), and ranking costs the time of every match (bm25 and
ts_rank read each matching document): such a search lists the newest cases first and
says "more than 1,000"."""
INDEX_BATCH = 500
"""Cases indexed per transaction when the desk fills in missing documents."""
DUE_FILTERS = ("today", "week")


def _last_days(days: int) -> Callable[[date], tuple[date, date]]:
    return lambda today: (today - timedelta(days=days - 1), today)


RECEIVED_PERIODS: dict[str, Callable[[date], tuple[date, date]]] = {
    "today": lambda today: (today, today),
    "7_days": _last_days(7),
    "30_days": _last_days(30),
    "this_year": lambda today: (date(today.year, 1, 1), today),
    "last_year": lambda today: (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
}
"""Received-date periods that move with the day (a saved "last 7 days" stays so)."""
WAITING_FILTERS = ("verification", "downstream")
VERIFICATION_STATES = ("verifying", "info_requested")
"""Where a case waits on the requester's identity (the dashboard's "awaiting
verification")."""


@dataclass(frozen=True)
class SearchQuery:
    """The search box's text and the filters beside it. Empty fields filter nothing."""

    text: str = ""
    status: str = ""
    request_type: str = ""
    channel: str = ""
    jurisdiction: str = ""
    assignee: str = ""  # a username
    child: bool = False  # only cases about a child under 13
    overdue: bool = False  # only cases past their due date and still awaiting a response
    received_from: date | None = None
    received_to: date | None = None  # inclusive
    received_within: str = ""  # a period counted from the day searched: RECEIVED_PERIODS
    due: str = ""  # "today" or "week" (today and the 6 days after), open cases only
    waiting_on: str = ""  # "verification" (identity) or "downstream" (notice answers)
    mine: bool = False  # only open cases assigned to the searching user
    limit: int = 50
    offset: int = 0

    def to_json(self) -> str:
        values = asdict(self)
        for key in ("received_from", "received_to"):
            values[key] = values[key].isoformat() if values[key] else None
        for key in ("limit", "offset"):
            values.pop(key)
        return json.dumps(values, ensure_ascii=False, sort_keys=True)

    @staticmethod
    def from_json(stored: str) -> SearchQuery:
        values = json.loads(stored)
        known = {name for name in SearchQuery.__dataclass_fields__} - {"limit", "offset"}
        kept: dict[str, Any] = {key: value for key, value in values.items() if key in known}
        for key in ("received_from", "received_to"):
            kept[key] = date.fromisoformat(kept[key]) if kept.get(key) else None
        return SearchQuery(**kept)


@dataclass(frozen=True)
class SearchHit:
    case: CaseRow  # ref, requester name, status label, due date ... as the case list has
    snippet: Snippet  # the text around the matched words, their spans marked

    @property
    def ref(self) -> str:
        return self.case.ref


@dataclass(frozen=True)
class SearchResults:
    hits: tuple[SearchHit, ...]
    total: int
    offset: int
    query: SearchQuery
    similar: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Words that found nothing as typed, each with the names searched instead."""
    more: bool = False
    """More than ``total`` (COUNT_LIMIT) cases match, listed newest first, not ranked."""


@dataclass(frozen=True)
class SavedSearchView:
    name: str
    query: SearchQuery


def _check(ctx: ServiceContext, query: SearchQuery) -> SearchQuery:
    if query.status and query.status not in ctx.workflow.states:
        raise InvalidInput(f"Unknown status '{query.status}'. Known: "
                           f"{', '.join(ctx.workflow.states)}.")
    if query.request_type and query.request_type not in REQUEST_TYPES:
        raise InvalidInput(f"Unknown request type '{query.request_type}'. Known: "
                           f"{', '.join(REQUEST_TYPES)}.")
    if query.channel and query.channel not in CHANNELS:
        raise InvalidInput(f"Unknown channel '{query.channel}'. Known: {', '.join(CHANNELS)}.")
    if query.received_from and query.received_to and query.received_from > query.received_to:
        raise InvalidInput("The received date range ends before it starts.")
    if query.received_within and query.received_within not in RECEIVED_PERIODS:
        raise InvalidInput(f"Unknown period '{query.received_within}'. Known: "
                           f"{', '.join(RECEIVED_PERIODS)}.")
    if query.due and query.due not in DUE_FILTERS:
        raise InvalidInput(f"Unknown due filter '{query.due}'. Known: {', '.join(DUE_FILTERS)}.")
    if query.waiting_on and query.waiting_on not in WAITING_FILTERS:
        raise InvalidInput(f"Unknown waiting filter '{query.waiting_on}'. Known: "
                           f"{', '.join(WAITING_FILTERS)}.")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidInput(f"Show between 1 and {MAX_LIMIT} results at a time.")
    if query.offset < 0:
        raise InvalidInput("The offset cannot be negative.")
    return replace(query, jurisdiction=query.jurisdiction.strip().upper(),
                   assignee=query.assignee.strip())


def filtered(ctx: ServiceContext, query: SearchQuery, statement: AnySelect) -> AnySelect:
    """``statement`` narrowed to the cases matching the query's filters (not its text): the
    search's count and the dashboard's tiles both count with this."""
    if query.status:
        statement = statement.where(Case.status == query.status)
    if query.request_type:
        statement = statement.where(select(CaseRequestType.id).where(
            CaseRequestType.case_id == Case.id,
            CaseRequestType.request_type == query.request_type).exists())
    if query.channel:
        statement = statement.where(Case.channel == query.channel)
    if query.jurisdiction:
        statement = statement.where(Case.jurisdiction == query.jurisdiction)
    if query.assignee:
        statement = statement.where(Case.assignee_id == select(User.id).where(
            User.username == query.assignee).scalar_subquery())
    if query.child:
        statement = statement.where(Case.is_child.is_(True))
    if query.overdue:  # as the case list's "overdue" view counts it
        statement = statement.where(Case.status.in_(ctx.workflow.awaiting_response_states),
                                    Case.due_on < ctx.clock.today())
    if query.received_from:
        statement = statement.where(Case.received_on >= query.received_from)
    if query.received_to:
        statement = statement.where(Case.received_on < query.received_to + timedelta(days=1))
    if query.received_within:
        first, last = RECEIVED_PERIODS[query.received_within](ctx.clock.today())
        statement = statement.where(Case.received_on >= first,
                                    Case.received_on < last + timedelta(days=1))
    if query.due:
        today = ctx.clock.today()
        last = today if query.due == "today" else today + timedelta(days=6)
        statement = statement.where(Case.status.in_(ctx.workflow.awaiting_response_states),
                                    Case.due_on >= today, Case.due_on <= last)
    if query.waiting_on == "verification":
        statement = statement.where(Case.status.in_(VERIFICATION_STATES))
    elif query.waiting_on == "downstream":
        # A notice sent and not yet answered, on a case still open.
        statement = statement.where(
            Case.status.in_(ctx.workflow.open_states),
            select(DownstreamNotice.id).where(DownstreamNotice.case_id == Case.id,
                                              DownstreamNotice.status == "sent").exists())
    if query.mine:
        statement = statement.where(
            Case.status.in_(ctx.workflow.open_states),
            Case.assignee_id == select(User.id).where(
                User.username == ctx.username).scalar_subquery())
    return statement


def search(ctx: ServiceContext, query: SearchQuery) -> SearchResults:
    """One page of the cases matching the text and the filters, best match first. When the
    words find nothing, a misspelled name is tried as the names closest to it
    (caseapp.search.fuzzy); the results then say which names were searched."""
    query = _check(ctx, query)
    parsed = parse_query(query.text)
    if parsed.matches_nothing:
        return SearchResults((), 0, query.offset, query)
    similar: tuple[tuple[str, tuple[str, ...]], ...] = ()
    with ctx.read() as session:
        page = _run(ctx, session, query, parsed)
        if not page.total and parsed.terms:
            # Widened only when the words themselves find nothing: with a filter that
            # leaves nothing, a name that matched is no misspelling.
            filtered_out = _has_filters(query) and _matches_any(session, parsed)
            widened = None if filtered_out else fuzzy.widen_by_names(
                session.connection(), parsed)
            if widened is not None:
                page = _run(ctx, session, query, widened)
                parsed = widened
                similar = tuple((term.words[0], term.alternatives)
                                for term in widened.terms if term.alternatives)
        rows = page.rows if page.rows is not None else case_rows_by_id(ctx, session, page.ids)
        stored = (page.sections if page.sections is not None
                  else index.stored_sections(session.connection(), page.ids))
    result = [SearchHit(row, make_snippet(sections_from_json(stored.get(case_id, "[]")),
                                          parsed)) for case_id, row in rows.items()]
    return SearchResults(tuple(result), page.total, query.offset, query,
                         similar if page.total else (), page.more)


@dataclass(frozen=True)
class _Page:
    total: int
    ids: list[int]
    more: bool = False
    """More than ``total`` (COUNT_LIMIT) cases match: listed newest first."""
    rows: dict[int, CaseRow] | None = None
    sections: dict[int, str] | None = None
    """The page's rows and stored sections when the page's statement read them too."""


def _has_filters(query: SearchQuery) -> bool:
    return replace(query, text="", limit=1, offset=0) != SearchQuery(limit=1)


def _matches_any(session: Session, parsed: ParsedQuery) -> bool:
    """Whether the words find any case at all, whatever the filters."""
    backend = index.backend_for(session.connection())
    matching = index.matching(backend, parsed).subquery("any")
    return session.execute(select(matching.c.case_id).limit(1)).first() is not None


@dataclass(frozen=True)
class _Ranking:
    """A search's statements, built once per dialect (building them cost more than
    running them for a search that finds one case); the words are the ``match``
    parameter, the page's bounds ``offset`` and ``limit``."""

    count: AnySelect
    """The matching cases, counted up to ``cap``."""
    hits: CTE
    """case_id, rank of the matching cases."""
    rows: AnySelect
    """The list's columns, the stored sections and the count of rows, of the matching
    cases: narrowed by the filters, then ordered and paged."""


@cache
def _ranking(dialect: str) -> _Ranking:
    backend = index.backend_named(dialect)
    matched = backend.ids.subquery("matched")
    count = select(func.count()).select_from(
        select(matched.c.case_id).limit(bindparam("cap")).subquery())
    # The matches are read once (MATERIALIZED): with filters, SQLite's planner would
    # otherwise walk the filtered cases and run the full-text match once per case (0.2 s
    # and more at 100,000 cases). They are at most COUNT_LIMIT here.
    hits = backend.ranked.cte("hits").prefix_with("MATERIALIZED", dialect="sqlite")
    rows = case_row_columns().add_columns(
        index.documents.c.sections, func.count().over()
    ).join(hits, hits.c.case_id == Case.id).outerjoin(
        index.documents, index.documents.c.case_id == Case.id)
    return _Ranking(count, hits, rows)


def _ordered_page(ranking: _Ranking, statement: AnySelect) -> AnySelect:
    return statement.order_by(ranking.hits.c.rank, Case.priority, Case.due_on, Case.id
                              ).offset(bindparam("offset")).limit(bindparam("limit"))


@cache
def _unfiltered_page(dialect: str) -> AnySelect:
    ranking = _ranking(dialect)
    return _ordered_page(ranking, ranking.rows)


def _run(ctx: ServiceContext, session: Session, query: SearchQuery, parsed: ParsedQuery
         ) -> _Page:
    """The number of matching cases and the page asked for, in order."""
    if parsed.is_empty:
        ids_statement = filtered(ctx, query, select(Case.id))
        count_statement = filtered(ctx, query, select(func.count(Case.id)))
        return _Page(*_page(session, query, ids_statement.order_by(
            Case.priority, Case.due_on, Case.id), count_statement))
    connection = session.connection()
    dialect = connection.dialect.name
    backend = index.backend_named(dialect)
    ranking = _ranking(dialect)
    match = backend.match_value(parsed)
    # Counting stops past the limit: cheap however common the words are.
    matches = int(connection.execute(
        ranking.count, {"match": match, "cap": COUNT_LIMIT + 1}).scalar() or 0)
    has_filters = _has_filters(query)
    if matches > COUNT_LIMIT:
        return _newest_page(ctx, connection, query, match, has_filters)
    if not matches:
        return _Page(0, [])
    return _ranked_page(ctx, connection, query, ranking, match,
                        matches if not has_filters else None)


@cache
def _newest_rows() -> AnySelect:
    """The list's columns and the stored sections of cases: add which ones and the order."""
    return case_row_columns().add_columns(index.documents.c.sections).outerjoin(
        index.documents, index.documents.c.case_id == Case.id)


def _newest_page(ctx: ServiceContext, connection: Connection, query: SearchQuery,
                 match: str, has_filters: bool) -> _Page:
    """Words too common to rank: the newest matching cases first, with the list's rows and
    the stored sections, counted up to the limit."""
    dialect = connection.dialect.name
    matched = index.backend_named(dialect).ids.subquery("matched")
    values = {"match": match}
    rows = _newest_rows()
    if not has_filters:
        # The page's ids straight from the index, in its own (case id) order.
        page_ids = select(matched.c.case_id).order_by(matched.c.case_id.desc()).offset(
            query.offset).limit(query.limit)
        found = connection.execute(
            rows.where(Case.id.in_(page_ids)).order_by(Case.id.desc()), values).all()
        total, more = COUNT_LIMIT, True
    else:
        found = connection.execute(filtered(ctx, query, rows.where(
            Case.id.in_(select(matched.c.case_id)))).order_by(Case.id.desc()).offset(
                query.offset).limit(query.limit), values).all()
        if len(found) < query.limit and (found or not query.offset):
            total = query.offset + len(found)  # the last page: its end is the total
        else:
            ids = filtered(ctx, query, select(Case.id).where(
                Case.id.in_(select(matched.c.case_id))))
            total = int(connection.execute(select(func.count()).select_from(
                ids.limit(COUNT_LIMIT + 1).subquery()), values).scalar() or 0)
        total, more = min(total, COUNT_LIMIT), total > COUNT_LIMIT
    return _Page(total, [row[0] for row in found], more=more,
                 rows=case_rows_from(ctx, found),
                 sections={row[0]: row[-1] or "[]" for row in found})


def _ranked_page(ctx: ServiceContext, connection: Connection, query: SearchQuery,
                 ranking: _Ranking, match: str, matches: int | None) -> _Page:
    """The page of the matching cases, best first, with the list's rows and the stored
    sections, read by one statement (``matches``: the total when no filter narrows it;
    otherwise the statement counts the filtered matches too)."""
    narrowed = None
    if matches is not None:
        statement = _unfiltered_page(connection.dialect.name)
    else:  # filtered: the cases looked at are the matches, not the filtered
        narrowed = filtered(ctx, query, ranking.rows.where(
            Case.id.in_(select(ranking.hits.c.case_id))))
        statement = _ordered_page(ranking, narrowed)
    values = {"match": match, "offset": query.offset, "limit": query.limit}
    found = connection.execute(statement, values).all()
    if found:
        total = found[0][-1]
    elif narrowed is None or not query.offset:
        total = matches or 0
    else:  # past the end of the filtered matches: counted apart
        total = connection.execute(select(func.count()).select_from(
            narrowed.subquery()), values).scalar() or 0
    return _Page(int(total), [row[0] for row in found],
                 rows=case_rows_from(ctx, found),
                 sections={row[0]: row[-2] or "[]" for row in found})


def _page(session: Session, query: SearchQuery, ids_statement: AnySelect,
          count_statement: AnySelect) -> tuple[int, list[int]]:
    """The total and the page's ids: counted unless the page is the last one (its end is
    the total)."""
    page = list(session.scalars(ids_statement.offset(query.offset).limit(query.limit)))
    if len(page) < query.limit and (page or not query.offset):
        return query.offset + len(page), page
    return int(session.scalar(count_statement) or 0), page


def ensure_index(ctx: ServiceContext) -> int:
    """Index the cases that have no search document yet (a database from before search
    came, cases written around the services); returns how many. Cheap when there are
    none: one anti-join on the primary keys (45 ms at 100,000 cases on SQLite)."""
    with ctx.read() as session:
        missing = index.missing_cases(session.connection())
    written = 0
    # In transactions of their own, a few hundred cases each: after an upgrade that
    # emptied the index (100,000 cases: minutes), other workstations' writes wait for
    # one batch at a time, not for the whole rebuild.
    for start in range(0, len(missing), INDEX_BATCH):
        with ctx.write() as session:
            written += index.reindex_cases(session.connection(),
                                           missing[start:start + INDEX_BATCH])
    return written


def rebuild_index(ctx: ServiceContext) -> int:
    """Every case's search document built again (``caseapp search --reindex``)."""
    with ctx.write() as session:
        ctx.actor(session)
        return index.rebuild(session.connection())


# --- saved searches ---------------------------------------------------------------------

MAX_NAME = 100


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput("Give the saved search a name.")
    if len(cleaned) > MAX_NAME:
        raise InvalidInput(f"A saved search's name has at most {MAX_NAME} characters.")
    return cleaned


def _saved(session: Session, owner: str, name: str) -> SavedSearch | None:
    return session.scalars(select(SavedSearch).where(
        SavedSearch.owner == owner, SavedSearch.name == name)).first()


def save_search(ctx: ServiceContext, name: str, query: SearchQuery) -> SavedSearchView:
    """Keep ``query`` (text and filters; not the page) under ``name`` for this user; a
    search of that name is replaced."""
    name = _name(name)
    query = _check(ctx, query)
    with ctx.write() as session:
        ctx.actor(session)
        row = _saved(session, ctx.username, name)
        if row is None:
            row = SavedSearch(owner=ctx.username, name=name, query_json="",
                              saved_at=ctx.clock.now())
            session.add(row)
        row.query_json = query.to_json()
        row.saved_at = ctx.clock.now()
    return SavedSearchView(name, SearchQuery.from_json(row.query_json))


def list_saved_searches(ctx: ServiceContext) -> tuple[SavedSearchView, ...]:
    """This user's saved searches by name."""
    with ctx.read() as session:
        rows = session.execute(select(SavedSearch.name, SavedSearch.query_json).where(
            SavedSearch.owner == ctx.username).order_by(SavedSearch.name)).all()
    views = []
    for name, stored in rows:
        try:
            views.append(SavedSearchView(name, SearchQuery.from_json(stored)))
        except (ValueError, TypeError):
            views.append(SavedSearchView(name, SearchQuery()))
    return tuple(views)


def delete_saved_search(ctx: ServiceContext, name: str) -> None:
    with ctx.write() as session:
        row = _saved(session, ctx.username, " ".join(name.split()))
        if row is None:
            raise NotFound(f"No saved search '{name}'.")
        session.delete(row)

