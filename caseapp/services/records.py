"""Finding a case's records in the customer systems, and staff's decisions on them.

A lookup reads the case (one short read), searches the systems outside any transaction
(it may take a while and is cancellable), then stores what it found in one unit of
work with its audit event: hits as proposals (keeping earlier confirm/reject decisions
for the same record), one source_searches row per system, and a task for each manual
system's owner (once per case and system). The audit detail holds counts only.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from caseapp import audit
from caseapp.db.models import Case, Note, RecordAction, RecordHit, SourceSearch, Task
from caseapp.errors import EnvironmentProblem, InvalidInput, NotFound, TransitionRefused
from caseapp.records.dbtables import SchemaMismatch
from caseapp.records.disclosure import MASKED_NOTE, MASKED_TEXT, never_disclose
from caseapp.records.index import IndexReport
from caseapp.records.lookup import FoundRecord, LookupReport, RecordSystems
from caseapp.records.matching import Reason
from caseapp.records.sources import Source
from caseapp.records.subject import PartyIdentifiers, Subject, subject_from_parties
from caseapp.services.cases import load_case, touch
from caseapp.services.context import ServiceContext
from caseapp.services.dto import (
    AccessGroup,
    AccessRecord,
    AccessReportData,
    LookupResult,
    RecordHitView,
    ReindexResult,
    SourceSearchView,
)
from caseapp.services.views import party_of
from caseapp.vocabulary import RECORD_CATEGORY_LABELS

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]
MANUAL_OUTCOMES = ("manual_pending", "manual_done", "manual_nothing_found")
MANUAL_TASK_DAYS = 10
MAX_DETAIL = 2000


def _identifiers(party: object) -> PartyIdentifiers:
    return PartyIdentifiers(
        name=getattr(party, "name", "") or "", email=getattr(party, "email", "") or "",
        phone=getattr(party, "phone", "") or "",
        postal_address=getattr(party, "postal_address", "") or "",
        postal_code=getattr(party, "postal_code", "") or "")


def case_subject(case: Case) -> Subject:
    """Whom to search for: the data subject (the requester when no one else is named);
    for a child, also through the parent's email and at the parent's address."""
    requester = party_of(case, "requester")
    subject = party_of(case, "subject")
    text = "\n".join([case.summary or "", *(note.body for note in case.notes)])
    if subject is None:
        return subject_from_parties(_identifiers(requester), text=text)
    is_child = case.is_child or subject.is_child
    return subject_from_parties(_identifiers(subject),
                                _identifiers(requester) if requester else None,
                                is_child=is_child, text=text)


# --- views ------------------------------------------------------------------------------


def _labels(systems: RecordSystems | None, source: str, table: str) -> tuple[str, str]:
    if systems is None:
        return source, table
    try:
        found = systems.config.source(source)
    except KeyError:
        return source, table
    try:
        return found.label, found.table(table).label
    except KeyError:
        return found.label, table


def hit_view(hit: RecordHit, systems: RecordSystems | None) -> RecordHitView:
    source_label, table_label = _labels(systems, hit.source, hit.table_name)
    try:
        reasons = json.loads(hit.matched)
        texts = tuple(Reason(r["kind"], r["how"], r.get("score")).text() for r in reasons)
    except (ValueError, KeyError, TypeError):
        texts = ()
    try:
        snapshot = tuple((str(k), "" if v is None else str(v))
                         for k, v in json.loads(hit.snapshot).items())
    except (ValueError, AttributeError):
        snapshot = ()
    return RecordHitView(
        id=hit.id, source=hit.source, source_label=source_label, table=hit.table_name,
        table_label=table_label, category=hit.category,
        category_label=RECORD_CATEGORY_LABELS.get(hit.category, hit.category),
        record_key=hit.record_key, score=hit.score, reasons=texts, via=hit.via,
        status=hit.status, decided_by=hit.decided_by or "", decided_at=hit.decided_at,
        found_at=hit.found_at, snapshot=snapshot)


def _hits(session: Session, case: Case) -> list[RecordHit]:
    return list(session.scalars(
        select(RecordHit).where(RecordHit.case_id == case.id)
        .order_by(RecordHit.score.desc(), RecordHit.source, RecordHit.table_name,
                  RecordHit.id)))


def _latest_searches(session: Session, case: Case) -> dict[str, SourceSearch]:
    latest: dict[str, SourceSearch] = {}
    for row in session.scalars(select(SourceSearch).where(SourceSearch.case_id == case.id)
                               .order_by(SourceSearch.id)):
        latest[row.source] = row
    return latest


def _status_views(session: Session, case: Case, systems: RecordSystems | None
                  ) -> tuple[SourceSearchView, ...]:
    latest = _latest_searches(session, case)
    views = []
    configured = systems.config.sources if systems is not None else ()
    for source in configured:
        row = latest.pop(source.name, None)
        kind = source.kind
        if row is None:
            views.append(SourceSearchView(source.name, source.label, kind, "not_searched",
                                          None, "", "", 0))
        else:
            views.append(_search_view(row, source.label, kind))
    for name, row in latest.items():  # searched once, since removed from the file
        views.append(_search_view(row, name, "manual" if row.outcome in MANUAL_OUTCOMES
                                  else "database"))
    return tuple(views)


def _search_view(row: SourceSearch, label: str, kind: str) -> SourceSearchView:
    return SourceSearchView(row.source, label, kind, row.outcome, row.searched_at,
                            row.searched_by, row.detail, row.hit_count, row.task_id)


def record_hits(ctx: ServiceContext, systems: RecordSystems | None, ref: str
                ) -> tuple[RecordHitView, ...]:
    with ctx.read() as session:
        case = load_case(session, ref)
        return tuple(hit_view(hit, systems) for hit in _hits(session, case))


def source_status(ctx: ServiceContext, systems: RecordSystems | None, ref: str
                  ) -> tuple[SourceSearchView, ...]:
    with ctx.read() as session:
        case = load_case(session, ref)
        return _status_views(session, case, systems)


# --- lookup -----------------------------------------------------------------------------


def lookup(ctx: ServiceContext, systems: RecordSystems, ref: str, *,
           progress: Progress | None = None, cancel: Cancel | None = None) -> LookupResult:
    with ctx.read() as session:
        ctx.actor(session)  # a known, active user, before any system is touched
        case = load_case(session, ref)
        if not ctx.workflow.state(case.status).is_open:
            raise TransitionRefused(f"{case.ref} is closed: its records are not searched "
                                    "again.")
        subject = case_subject(case)
    if subject.is_empty:  # "nothing found" would be a lie: nothing was searched for
        raise InvalidInput(f"{case.ref} gives nothing to search by: add the data subject's "
                           "email, phone, or name with a postal address.")
    report = systems.lookup(subject, now=ctx.clock.now(), progress=progress, cancel=cancel)
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        new_hits, task_added = _store(ctx, session, case, report, actor.username, systems)
        if task_added:
            touch(case, ctx.clock.now())
        states = [o.state for o in report.outcomes]
        audit.record(session, actor=actor.username, action="records.looked_up",
                     at=ctx.clock.now(), case=case, detail={
                         "sources": len(states),
                         "found": states.count("found"),
                         "nothing_found": states.count("nothing_found"),
                         "unreachable": states.count("unreachable"),
                         "schema_mismatch": states.count("schema_mismatch"),
                         "manual": states.count("manual"),
                         "hits": len(report.records), "new_hits": new_hits,
                         "complete": report.complete})
        session.flush()
        return LookupResult(
            ref=case.ref, complete=report.complete,
            sources=_status_views(session, case, systems),
            hits=tuple(hit_view(hit, systems) for hit in _hits(session, case)),
            new_hits=new_hits, seconds=report.seconds,
            warnings=tuple(f"{o.label}: {w}" for o in report.outcomes for w in o.warnings))


def _store(ctx: ServiceContext, session: Session, case: Case, report: LookupReport,
           username: str, systems: RecordSystems) -> tuple[int, bool]:
    """Hits and searches of a lookup; (new hits, whether a task was added)."""
    now = ctx.clock.now()
    existing: dict[tuple[str, str, str], RecordHit] = {
        (h.source, h.table_name, h.record_key): h for h in _hits(session, case)}
    latest = _latest_searches(session, case)
    new_hits = 0
    task_added = False
    for outcome in report.outcomes:
        if outcome.state == "manual":
            task_added |= _manual_task(ctx, session, case, systems.config.source(
                outcome.source), latest.get(outcome.source), username)
            continue
        if outcome.searched:
            found = set()
            for record in outcome.records:
                ident = (record.source, record.table, record.key)
                found.add(ident)
                hit = existing.get(ident)
                if hit is None:
                    hit = RecordHit(case_id=case.id, source=record.source,
                                    table_name=record.table, record_key=record.key,
                                    status="proposed", found_at=now)
                    session.add(hit)
                    existing[ident] = hit
                    new_hits += 1
                _fill(hit, record, now)
            for ident, hit in list(existing.items()):
                # A proposal no longer found is dropped; a decision stays.
                if ident[0] == outcome.source and ident not in found \
                        and hit.status == "proposed":
                    session.delete(hit)
                    del existing[ident]
        detail = outcome.detail or "; ".join(outcome.warnings)
        session.add(SourceSearch(case_id=case.id, source=outcome.source, searched_at=now,
                                 searched_by=username, outcome=outcome.state,
                                 detail=detail[:MAX_DETAIL], hit_count=len(outcome.records)))
    return new_hits, task_added


def _fill(hit: RecordHit, record: FoundRecord, now: datetime) -> None:
    hit.score = round(record.score, 1)
    hit.matched = json.dumps([r.as_json() for r in record.reasons])
    hit.category = record.category
    hit.via = record.via[:200]
    hit.snapshot = json.dumps(dict(record.snapshot), ensure_ascii=False, default=str)
    hit.found_at = now


def _manual_task(ctx: ServiceContext, session: Session, case: Case, source: Source,
                 latest: SourceSearch | None, username: str) -> bool:
    """A task for the owner of a manual source, once per case and source."""
    if latest is not None and latest.outcome in MANUAL_OUTCOMES:
        return False
    assert source.manual is not None
    now = ctx.clock.now()
    due = min(case.due_on, ctx.clock.today() + timedelta(days=MANUAL_TASK_DAYS))
    title = f"Search {source.label} by hand ({source.manual.owner}): " \
            f"{source.manual.instructions}"
    task = Task(kind="manual_source", title=title[:300], due_on=due, status="open",
                assignee=source.manual.owner[:100], created_at=now)
    case.tasks.append(task)
    session.flush()
    session.add(SourceSearch(case_id=case.id, source=source.name, searched_at=now,
                             searched_by=username, outcome="manual_pending",
                             detail=f"task for {source.manual.owner}"[:MAX_DETAIL],
                             hit_count=0, task_id=task.id))
    return True


def complete_manual_source(ctx: ServiceContext, systems: RecordSystems | None, ref: str,
                           source_name: str, found: bool, note: str
                           ) -> tuple[SourceSearchView, ...]:
    """The owner of a manual source answers: records found (and dealt with), or none."""
    note = note.strip()
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        latest = _latest_searches(session, case).get(source_name)
        if latest is None or latest.outcome not in MANUAL_OUTCOMES:
            raise NotFound(f"{case.ref} has no manual search of '{source_name}' to complete: "
                           "run the lookup first (it gives the owner a task).")
        now = ctx.clock.now()
        outcome = "manual_done" if found else "manual_nothing_found"
        session.add(SourceSearch(case_id=case.id, source=source_name, searched_at=now,
                                 searched_by=actor.username, outcome=outcome,
                                 detail=note[:MAX_DETAIL], hit_count=0,
                                 task_id=latest.task_id))
        task = session.get(Task, latest.task_id) if latest.task_id else None
        if task is not None and task.case_id == case.id and task.status != "done":
            task.status = "done"
            task.done_at = now
        if note:
            case.notes.append(Note(author=actor.username, created_at=now,
                                   body=f"[{source_name}] {note}"))
        touch(case, now)
        audit.record(session, actor=actor.username, action="records.manual_source_done",
                     at=now, case=case, detail={"source": source_name, "found": found})
        session.flush()
        return _status_views(session, case, systems)


def decide_hit(ctx: ServiceContext, systems: RecordSystems | None, ref: str, hit_id: int,
               confirmed: bool) -> RecordHitView:
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        hit = session.get(RecordHit, hit_id)
        if hit is None or hit.case_id != case.id:
            raise NotFound(f"{case.ref} has no record hit {hit_id} (see: caseapp lookup "
                           f"{case.ref}).")
        if not confirmed:
            _refuse_if_pending(session, case, hit)
        now = ctx.clock.now()
        hit.status = "confirmed" if confirmed else "rejected"
        hit.decided_by = actor.username
        hit.decided_at = now
        audit.record(session, actor=actor.username,
                     action="records.hit_confirmed" if confirmed else "records.hit_rejected",
                     at=now, case=case, detail={"hit": hit.id, "source": hit.source,
                                                "table": hit.table_name})
        session.flush()
        return hit_view(hit, systems)


PENDING = ("awaiting_approval", "approved", "running", "incomplete")


def _refuse_if_pending(session: Session, case: Case, hit: RecordHit) -> None:
    """A record an action waiting to run names stays confirmed until it is withdrawn."""
    for action in session.scalars(select(RecordAction).where(
            RecordAction.case_id == case.id, RecordAction.status.in_(PENDING))):
        targets = json.loads(action.request_json).get("targets", [])
        if any((t["source"], t["table"], t["key"]) ==
               (hit.source, hit.table_name, hit.record_key) for t in targets):
            raise TransitionRefused(
                f"Action {action.id} ({action.kind.replace('_', ' ')}) names this record: "
                "withdraw the action first, then reject the record.")


# --- index ------------------------------------------------------------------------------


def reindex(ctx: ServiceContext, systems: RecordSystems, source: str | None, *, full: bool,
            progress: Callable[[str, int, int], None] | None = None,
            cancel: Cancel | None = None) -> tuple[ReindexResult, ...]:
    if source is not None:
        try:
            systems.config.source(source)
        except KeyError:
            names = ", ".join(s.name for s in systems.config.sources)
            raise NotFound(f"No source '{source}' in {systems.config.file} (its sources: "
                           f"{names}).") from None
    results = systems.reindex(source, now=ctx.clock.now(), full=full, progress=progress,
                              cancel=cancel)
    views = []
    for result in results:
        if isinstance(result, IndexReport):
            label = systems.config.source(result.source).label
            views.append(ReindexResult(result.source, label, True, result.full,
                                       tuple(result.tables.items()), result.seconds))
        else:
            views.append(ReindexResult(result.source, result.label, False, full, (), 0.0,
                                       result.detail))
    return tuple(views)


# --- access report ----------------------------------------------------------------------


def access_report_data(ctx: ServiceContext, systems: RecordSystems, ref: str
                       ) -> AccessReportData:
    """The confirmed records grouped by category and source, read again from their
    systems, with the never-disclose fields masked."""
    with ctx.read() as session:
        case = load_case(session, ref)
        confirmed = [h for h in _hits(session, case) if h.status == "confirmed"]
        case_ref = case.ref
    by_source: dict[str, list[RecordHit]] = defaultdict(list)
    for hit in confirmed:
        by_source[hit.source].append(hit)
    groups: list[AccessGroup] = []
    complete = True
    for source_name, hits in by_source.items():
        try:
            source = systems.config.source(source_name)
        except KeyError:
            complete = False
            groups += _unavailable(source_name, source_name, hits,
                                   "the system is no longer in the sources file")
            continue
        try:
            groups += _read_group(systems, source, hits)
        except (EnvironmentProblem, SchemaMismatch, SQLAlchemyError):
            systems.forget(source)
            complete = False
            groups += _unavailable(source_name, source.label, hits,
                                   f"{source.label} could not be read now")
    groups.sort(key=lambda g: (g.category_label, g.source_label))
    return AccessReportData(case_ref, tuple(groups), MASKED_NOTE, complete)


def _unavailable(source: str, label: str, hits: Iterable[RecordHit], problem: str
                 ) -> list[AccessGroup]:
    by_category: dict[str, list[RecordHit]] = defaultdict(list)
    for hit in hits:
        by_category[hit.category].append(hit)
    return [AccessGroup(category, RECORD_CATEGORY_LABELS.get(category, category), source,
                        label, (), problem) for category in by_category]


def _read_group(systems: RecordSystems, source: Source, hits: list[RecordHit]
                ) -> list[AccessGroup]:
    by_category: dict[str, list[AccessRecord]] = defaultdict(list)
    shared_with: dict[str, dict[str, None]] = defaultdict(dict)
    by_table: dict[str, list[RecordHit]] = defaultdict(list)
    for hit in hits:
        by_table[hit.table_name].append(hit)
    for table_name, table_hits in by_table.items():
        try:
            mapped = source.table(table_name)
        except KeyError:
            continue
        for recipient in systems.config.recipients_for(source, mapped):
            for hit in table_hits:
                shared_with[hit.category][recipient.name] = None
        rows = systems.read_rows(source, table_name, [h.record_key for h in table_hits])
        for hit in table_hits:
            row = rows.get(hit.record_key)
            if row is None:
                by_category[hit.category].append(AccessRecord(
                    table_name, mapped.label, hit.record_key, (), (),
                    "no longer in the system"))
                continue
            fields = []
            masked = []
            for column, value in row.items():
                if never_disclose(mapped, column):
                    masked.append(column)
                    fields.append((column, MASKED_TEXT))
                else:
                    fields.append((column, "" if value is None else str(value)))
            by_category[hit.category].append(AccessRecord(
                table_name, mapped.label, hit.record_key, tuple(fields), tuple(masked)))
    return [AccessGroup(category, RECORD_CATEGORY_LABELS.get(category, category), source.name,
                        source.label, tuple(records),
                        recipients=tuple(shared_with.get(category, {})))
            for category, records in by_category.items()]
