"""Reading the case database into the reports (caseapp.reports.model has the rules).

One query per report part, each reading only the columns it needs (no ORM objects, no
relationships): at 100,000 cases a year's metrics are one pass over the case / request
type pairs. Dates of a response are the desk's dates of the stored UTC moments.
"""

from __future__ import annotations

import calendar
import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session, aliased

from caseapp.db.models import Case, CaseRequestType, RecordAction
from caseapp.errors import InvalidInput
from caseapp.reports import csv_files, pdf_files
from caseapp.reports.model import (
    COMPLIED_STATES,
    DENIED_STATES,
    METRIC_TYPES,
    Entry,
    LogRow,
    MetricsReport,
    RequestLog,
    denial_basis_text,
    denial_reason,
    outcome_of,
    response_text,
    tally,
)
from caseapp.services.context import ServiceContext
from caseapp.services.letters import desk_texts

Report = MetricsReport | RequestLog
FIRST_YEAR = 2000


def _period(start: date, end: date) -> ColumnElement[bool]:
    return Case.received_on.between(start, end) & Case.is_privacy_request.is_(True)


def _non_privacy(session: Session, start: date, end: date) -> int:
    return session.scalar(select(func.count()).select_from(Case).where(
        Case.received_on.between(start, end), Case.is_privacy_request.is_(False))) or 0


def _kept_records(result_json: str) -> bool:
    """A deletion's result kept rows under an exception (the letter's "in part")."""
    try:
        result: dict[str, Any] = json.loads(result_json)
    except ValueError:
        return False
    return any(table.get("kept") for source in result.get("sources", ())
               for table in source.get("tables", ()))


def _in_part(session: Session, where: ColumnElement[bool]) -> set[int]:
    """Cases answered whose verified deletion kept records."""
    rows = session.execute(
        select(RecordAction.case_id, RecordAction.result_json)
        .join(Case, Case.id == RecordAction.case_id)
        .where(where, Case.status.in_(COMPLIED_STATES), RecordAction.kind == "delete",
               RecordAction.status == "verified"))
    return {case_id for case_id, result in rows if result and _kept_records(result)}


def _response_moment(status: str, responded_at: datetime | None,
                     closed_at: datetime | None) -> datetime | None:
    outcome = outcome_of(status)
    if outcome == "complied":
        return responded_at or closed_at
    if outcome == "denied":
        return closed_at
    return None


def metrics(ctx: ServiceContext, year: int) -> MetricsReport:
    if not FIRST_YEAR <= year <= ctx.clock.today().year:
        raise InvalidInput(f"Give a year from {FIRST_YEAR} to {ctx.clock.today().year}.")
    start, end = date(year, 1, 1), date(year, 12, 31)
    where = _period(start, end)
    entries: dict[str, list[Entry]] = defaultdict(list)
    local_date = ctx.clock.local_date
    with ctx.read() as session:
        in_part = _in_part(session, where)
        # The reason text is read for denials only: it decides their basis.
        reason = case((Case.status == "denied", Case.status_reason), else_=None)
        rows = session.execute(
            select(CaseRequestType.request_type, Case.id, Case.status, reason,
                   Case.received_on, Case.responded_at, Case.closed_at)
            .join(Case, Case.id == CaseRequestType.case_id)
            .where(where, CaseRequestType.request_type.in_(METRIC_TYPES)))
        for request_type, case_id, status, text, received_on, responded, closed in rows:
            outcome = outcome_of(status)
            moment = _response_moment(status, responded, closed)
            entries[request_type].append(Entry(
                outcome=outcome,
                days=(local_date(moment) - received_on).days if moment else None,
                reason=denial_reason(status, text) if status in DENIED_STATES else None,
                in_part=request_type == "delete" and case_id in in_part))
        left_out = _non_privacy(session, start, end)
    return MetricsReport(
        year=year, period_start=start, period_end=end, generated_on=ctx.clock.today(),
        rows=tuple(tally(t, entries.get(t, ())) for t in METRIC_TYPES),
        non_privacy_left_out=left_out)


def report_years(ctx: ServiceContext) -> tuple[int, ...]:
    """The years a metrics report can be made for, newest first: from the year of the
    first privacy request received (this year on an empty desk) to this year."""
    this_year = ctx.clock.today().year
    with ctx.read() as session:
        first = session.scalar(select(func.min(Case.received_on)).where(
            Case.is_privacy_request.is_(True)))
    start = min(max(first.year, FIRST_YEAR), this_year) if first else this_year
    return tuple(range(this_year, start - 1, -1))


def default_report_year(years: tuple[int, ...], today: date) -> int:
    """The year §7102 publishes (the last full calendar year, by July 1), unless the desk
    has nothing before this year: then this year's figures to date."""
    last_year = today.year - 1
    return last_year if last_year in years else today.year


def request_log(ctx: ServiceContext, start: date | None = None, end: date | None = None
                ) -> RequestLog:
    """Every privacy request received from ``start`` to ``end`` (default: the 24 months
    §7101 keeps, up to today), oldest first."""
    today = ctx.clock.today()
    end = end or today
    start = start or _months_before(end, 24)
    if start > end:
        raise InvalidInput(f"The period starts ({start}) after it ends ({end}).")
    where = _period(start, end)
    workflow = ctx.workflow
    local_date = ctx.clock.local_date
    original = aliased(Case)
    with ctx.read() as session:
        in_part = _in_part(session, where)
        types: dict[int, list[str]] = defaultdict(list)
        for case_id, request_type in session.execute(
                select(CaseRequestType.case_id, CaseRequestType.request_type)
                .join(Case, Case.id == CaseRequestType.case_id).where(where)
                .order_by(CaseRequestType.id)):
            types[case_id].append(request_type)
        rows = session.execute(
            select(Case.id, Case.ref, Case.received_on, Case.channel, Case.jurisdiction,
                   Case.status, Case.status_reason, Case.responded_at, Case.closed_at,
                   original.ref)
            .outerjoin(original, original.id == Case.duplicate_of_id)
            .where(where).order_by(Case.received_on, Case.ref))
        log = []
        for (case_id, ref, received_on, channel, jurisdiction, status, reason, responded,
             closed, duplicate_of) in rows:
            label = workflow.states[status].label if status in workflow.states else status
            moment = _response_moment(status, responded, closed)
            log.append(LogRow(
                ref=ref, received_on=received_on, request_types=tuple(types[case_id]),
                channel=channel, jurisdiction=jurisdiction, status=status,
                status_label=label, response_on=local_date(moment) if moment else None,
                response=response_text(status, label, case_id in in_part, duplicate_of),
                denial_basis=denial_basis_text(status, reason)))
        left_out = _non_privacy(session, start, end)
    return RequestLog(period_start=start, period_end=end, generated_on=today,
                      rows=tuple(log), non_privacy_left_out=left_out)


def _months_before(day: date, months: int) -> date:
    """The day after the same day ``months`` earlier (the period is inclusive)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last)) + timedelta(days=1)


def report_csv(report: Report) -> bytes:
    if isinstance(report, MetricsReport):
        return csv_files.metrics_csv(report)
    return csv_files.log_csv(report)


def report_pdf(ctx: ServiceContext, report: Report) -> bytes:
    """The report as PDF, headed with the organization of the letters."""
    with ctx.read() as session:
        organization = desk_texts(session).organization("en").name
    if isinstance(report, MetricsReport):
        return pdf_files.metrics_pdf(report, organization)
    return pdf_files.log_pdf(report, organization)
