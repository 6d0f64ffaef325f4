"""Acting on confirmed records in the customer systems: preview, execute, verify.

The engine takes plain values (an :class:`ActionRequest` of confirmed targets) and never
touches the case database; approval, audit and letters are the case side's business.

* ``preview`` plans every source read-only: the rows that will change and how (before →
  after), the child rows that follow, the rows a retention exception keeps and why, the
  rows already done, and whom to notify downstream.
* ``execute`` runs each source in ONE transaction (SQLite: ``BEGIN IMMEDIATE``; other
  databases: the rows locked with ``SELECT … FOR UPDATE``), planning again inside it, so
  it acts on the rows as they are. Every statement must touch exactly the rows planned,
  or the source rolls back. Re-running (after a crash, or twice) finds the work done and
  says so: deleted rows are gone, de-identified columns already hold NULL or the token,
  flags are set. Given an approved plan, a source whose records changed since (more
  would change than was approved) is refused and left alone. A source that fails rolls
  back alone and is reported by name; the others go on.
* ``verify`` re-reads: deleted rows gone, updated rows holding the new values with their
  other columns as they were, kept rows unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from caseapp.errors import EnvironmentProblem, InvalidInput
from caseapp.records.action_model import (
    ACTION_KINDS,
    ActionPlan,
    ActionProgress,
    ActionRequest,
    ActionResult,
    CheckState,
    RunState,
    SourcePlan,
    SourceResult,
    SourceState,
    SourceVerification,
    TableOutcome,
    Target,
    VerificationResult,
)
from caseapp.records.action_plan import (
    Planner,
    PlanProblem,
    check_corrections,
    chunks,
    coerce_key,
    column,
    digest,
    reflect,
    same,
    select_rows,
    value_of,
)
from caseapp.records.connect import SecretLookup, open_engine
from caseapp.records.sources import Source, SourcesConfig
from caseapp.secrets import get_secret

__all__ = ["ActionPlan", "ActionProgress", "ActionRequest", "ActionResult", "Target",
           "VerificationResult", "execute", "preview", "verify"]

Clock = Callable[[], datetime]
Progress = Callable[[ActionProgress], None]
Cancel = Callable[[], bool]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _stamp(clock: Clock) -> str:
    return clock().isoformat(timespec="seconds")


class _Refused(Exception):
    pass


class _Cancelled(Exception):
    pass


# --- the request ----------------------------------------------------------------------------


def check_request(config: SourcesConfig, request: ActionRequest) -> None:
    """InvalidInput for a request that cannot be carried out as asked."""
    if request.kind not in ACTION_KINDS:
        raise InvalidInput(f"Unknown action {request.kind!r} (known: {', '.join(ACTION_KINDS)})")
    if not request.targets:
        raise InvalidInput("The action names no record")
    if not request.token.strip() or not request.case_ref.strip():
        raise InvalidInput("The action needs its case reference and its token")
    if request.kind != "correct" and request.corrections:
        raise InvalidInput("Only a correction carries new values")
    for target in request.targets:
        source = _source(config, target.source)
        if isinstance(source, str):
            raise InvalidInput(source)
        if not any(table.name == target.table for table in source.tables):
            raise InvalidInput(f"{source.label}: the sources file {config.file} has no table "
                               f"'{target.table}'")
    if request.kind == "correct":
        tables = dict.fromkeys((t.source, t.table) for t in request.targets)
        check_corrections(config, tables, request.corrections)


def _grouped(request: ActionRequest) -> dict[str, dict[str, list[str]]]:
    """Source → table → keys, in the order the targets name them."""
    grouped: dict[str, dict[str, list[str]]] = {}
    for target in request.targets:
        grouped.setdefault(target.source, {}).setdefault(target.table, []).append(target.key)
    return grouped


def _source(config: SourcesConfig, name: str) -> Source | str:
    try:
        source = config.source(name)
    except KeyError:
        return f"{name}: no such system in the sources file {config.file}"
    if source.manual is not None:
        return (f"{source.label}: a system searched by hand; its owner "
                f"({source.manual.owner}) carries out the action")
    return source


def _reason(error: SQLAlchemyError, engine: Engine) -> str:
    original = getattr(error, "orig", None) or error
    text = str(original).strip()
    line = text.splitlines()[0] if text else type(original).__name__
    password = engine.url.password
    if password:
        line = line.replace(str(password), "***")
    return line


def _lost(error: SQLAlchemyError) -> bool:
    return isinstance(error, OperationalError | InterfaceError)


# --- preview --------------------------------------------------------------------------------


def preview(config: SourcesConfig, request: ActionRequest, data_dir: Path, *,
            secret: SecretLookup = get_secret, now: Clock = _utc_now) -> ActionPlan:
    """What ``execute`` would do now, source by source; nothing is changed."""
    check_request(config, request)
    plans = tuple(_preview_source(config, name, keys, request, data_dir, secret)
                  for name, keys in _grouped(request).items())
    return ActionPlan(request=request, sources=plans, prepared_at=_stamp(now))


def _preview_source(config: SourcesConfig, name: str, keys: Mapping[str, Sequence[str]],
                    request: ActionRequest, data_dir: Path,
                    secret: SecretLookup) -> SourcePlan:
    source = _source(config, name)
    if isinstance(source, str):
        return SourcePlan(source=name, label=name, state="error", problem=source)
    try:
        engine = open_engine(source, data_dir, secret)
    except EnvironmentProblem as problem:
        return SourcePlan(source=name, label=source.label, state="unreachable",
                          problem=problem.message)
    planner = Planner(config, source, request.kind, request.corrections, lock=False)
    try:
        with engine.connect() as connection:
            return planner.plan(connection, keys)
    except PlanProblem as problem:
        return SourcePlan(source=name, label=source.label, state="error",
                          problem=f"{source.label}: {problem}")
    except SQLAlchemyError as error:
        state: SourceState = "unreachable" if _lost(error) else "error"
        return SourcePlan(source=name, label=source.label, state=state,
                          problem=f"{source.label}: cannot be read ({_reason(error, engine)})")
    finally:
        engine.dispose()


# --- execute --------------------------------------------------------------------------------


def execute(config: SourcesConfig, plan_or_request: ActionPlan | ActionRequest,
            data_dir: Path, *, secret: SecretLookup = get_secret,
            progress: Progress | None = None, cancel: Cancel | None = None,
            now: Clock = _utc_now) -> ActionResult:
    """Carry the action out, each source in one transaction; see the module docstring.

    Given an :class:`ActionPlan` (the approved preview), a source is changed only where
    the rows to change are among those the plan showed."""
    approved = plan_or_request if isinstance(plan_or_request, ActionPlan) else None
    request = approved.request if approved else plan_or_request
    assert isinstance(request, ActionRequest)
    check_request(config, request)
    started = _stamp(now)
    results: list[SourceResult] = []
    stopped = False
    for name, keys in _grouped(request).items():
        if stopped or (cancel is not None and cancel()):
            stopped = True
            source = _source(config, name)
            label = name if isinstance(source, str) else source.label
            results.append(SourceResult(source=name, label=label, state="cancelled",
                                        problem="cancelled before this system was started"))
            continue
        approved_plan = _approved(approved, name)
        result = _execute_source(config, name, keys, request, approved_plan, data_dir,
                                 secret=secret, progress=progress, cancel=cancel, now=now)
        stopped = result.state == "cancelled"
        results.append(result)
    return ActionResult(request=request, sources=tuple(results), started_at=started,
                        finished_at=_stamp(now))


def _approved(plan: ActionPlan | None, name: str) -> SourcePlan | None:
    if plan is None:
        return None
    try:
        return plan.source(name)
    except KeyError:
        return SourcePlan(source=name, label=name, state="error", problem="not in the plan")


def _serialize_sqlite(engine: Engine) -> None:
    """SQLite: the transaction takes the write lock at BEGIN, before the plan is read."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _execute_source(config: SourcesConfig, name: str, keys: Mapping[str, Sequence[str]],
                    request: ActionRequest, approved: SourcePlan | None, data_dir: Path, *,
                    secret: SecretLookup, progress: Progress | None, cancel: Cancel | None,
                    now: Clock) -> SourceResult:
    source = _source(config, name)
    if isinstance(source, str):
        return SourceResult(source=name, label=name, state="failed", problem=source)
    label = source.label
    try:
        engine = open_engine(source, data_dir, secret)
    except EnvironmentProblem as problem:
        return SourceResult(source=name, label=label, state="unreachable",
                            problem=problem.message)
    _serialize_sqlite(engine)
    planner = Planner(config, source, request.kind, request.corrections, lock=True)
    started = _stamp(now)
    try:
        with engine.begin() as connection:
            plan = planner.plan(connection, keys)
            if approved is not None:
                _check_approved(approved, plan)
            _apply(connection, source, planner, plan, progress, cancel)
    except _Refused as refusal:
        return SourceResult(source=name, label=label, state="refused",
                            problem=f"{label}: {refusal}", started_at=started)
    except _Cancelled:
        return SourceResult(source=name, label=label, state="cancelled",
                            problem=f"{label}: cancelled; nothing was changed here",
                            started_at=started)
    except PlanProblem as problem:
        return SourceResult(source=name, label=label, state="failed",
                            problem=f"{label}: {problem}; nothing was changed here",
                            started_at=started)
    except SQLAlchemyError as error:
        failure: RunState = "unreachable" if _lost(error) else "failed"
        return SourceResult(source=name, label=label, state=failure,
                            problem=f"{label}: {_reason(error, engine)}; nothing was "
                            "changed here", started_at=started)
    finally:
        engine.dispose()
    outcomes = tuple(TableOutcome.of(table) for table in plan.tables)
    state: RunState
    if plan.rows_to_change:
        state = "done"
    elif any(t.already_done or (t.operation == "delete" and t.missing) for t in plan.tables):
        state = "already_done"
    else:
        state = "nothing_to_do"
    return SourceResult(source=name, label=label, state=state, started_at=started,
                        finished_at=_stamp(now), tables=outcomes, notices=plan.notices)


def _check_approved(approved: SourcePlan, plan: SourcePlan) -> None:
    """Refuse when more would change now than the approved preview showed."""
    allowed = {(t.table, c.key, c.operation): ({cc.column for cc in c.columns}, t.set_values)
               for t in approved.tables for c in t.changes}
    surprises: list[str] = []
    for table in plan.tables:
        for change in table.changes:
            columns = {cc.column for cc in change.columns}
            planned = allowed.get((table.table, change.key, change.operation))
            if planned is None or not columns <= planned[0] or \
                    dict(planned[1]) != dict(table.set_values):
                surprises.append(f"{table.table} {change.key}")
    if surprises:
        raise _Refused(f"the records changed since the approved preview ({len(surprises)} "
                       f"row(s) would change that it did not show, e.g. {surprises[0]}); "
                       "nothing was changed here: preview and approve again")


def _apply(connection: Connection, source: Source, planner: Planner, plan: SourcePlan,
           progress: Progress | None, cancel: Cancel | None) -> None:
    total, done = plan.rows_to_change, 0
    # Deepest first: child rows go before the rows they belong to.
    for table in sorted(plan.tables, key=lambda t: -t.depth):
        if not table.changes:
            continue
        db = planner.reflected[table.table]
        key_column = column(db, source.table(table.table).key)
        keys = [coerce_key(key_column, change.key) for change in table.changes]
        values = {column(db, name): value for name, value in table.set_values.items()}
        for part in chunks(keys):
            if cancel is not None and cancel():
                raise _Cancelled
            statement: sa.Delete | sa.Update
            if table.operation == "delete":
                statement = sa.delete(db).where(key_column.in_(part))
            else:
                statement = sa.update(db).where(key_column.in_(part)).values(values)
            count = connection.execute(statement).rowcount
            if count != len(part):
                raise PlanProblem(f"{table.db_table}: {count} row(s) matched where "
                                  f"{len(part)} were planned (is {key_column.name} unique?)")
            done += len(part)
            if progress is not None:
                progress(ActionProgress(source.name, table.table, done, total))


# --- verify ---------------------------------------------------------------------------------


def verify(config: SourcesConfig, result: ActionResult, data_dir: Path, *,
           secret: SecretLookup = get_secret, now: Clock = _utc_now) -> VerificationResult:
    """Re-read every source the action ran in and check it did exactly what it says."""
    checks = tuple(_verify_source(config, outcome, data_dir, secret)
                   for outcome in result.sources)
    return VerificationResult(case_ref=result.request.case_ref, token=result.request.token,
                              verified_at=_stamp(now), sources=checks)


def _verify_source(config: SourcesConfig, outcome: SourceResult, data_dir: Path,
                   secret: SecretLookup) -> SourceVerification:
    name, label = outcome.source, outcome.label
    if not outcome.succeeded:
        return SourceVerification(name, label, "not_run", (
            f"{label}: the action did not run here ({outcome.state}"
            f"{': ' + outcome.problem if outcome.problem else ''})",))
    source = _source(config, name)
    if isinstance(source, str):
        return SourceVerification(name, label, "failed", (source,))
    try:
        engine = open_engine(source, data_dir, secret)
    except EnvironmentProblem as problem:
        return SourceVerification(name, label, "unreachable", (problem.message,))
    problems: list[str] = []
    checked = 0
    try:
        with engine.connect() as connection:
            tables = [source.table(t.table) for t in outcome.tables]
            reflected = reflect(connection, tables)
            for table, done in zip(tables, outcome.tables, strict=True):
                checked += _verify_table(connection, reflected[table.name], table.key, done,
                                         problems)
    except PlanProblem as problem:
        return SourceVerification(name, label, "failed", (f"{label}: {problem}",), checked)
    except SQLAlchemyError as error:
        check: CheckState = "unreachable" if _lost(error) else "failed"
        return SourceVerification(name, label, check, (
            f"{label}: cannot be read ({_reason(error, engine)})",), checked)
    finally:
        engine.dispose()
    return SourceVerification(name, label, "failed" if problems else "verified",
                              tuple(f"{label}: {p}" for p in problems), checked)


def _verify_table(connection: Connection, db: sa.Table, key: str, done: TableOutcome,
                  problems: list[str]) -> int:
    key_column = column(db, key)

    def rows(keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        values = [v for v in (coerce_key(key_column, k) for k in keys) if v is not None]
        found = select_rows(connection, db, key_column, values, lock=False)
        return {str(value_of(row, key)): row for row in found}

    where = f"{done.label} ({done.db_table})"
    checked = 0
    if done.operation == "delete":
        gone = [*done.changed, *done.already_done, *done.missing]
        for still in rows(gone):
            problems.append(f"{where}: row {still} is still there")
        checked += len(gone)
    elif done.operation == "update":
        keys = [*done.changed, *done.already_done]
        found = rows(keys)
        for row_key in keys:
            row = found.get(row_key)
            if row is None:
                problems.append(f"{where}: row {row_key} is gone")
                continue
            wrong = [name for name, value in done.set_values.items()
                     if not same(value_of(row, name), value)]
            if wrong:
                problems.append(f"{where}: row {row_key}: {', '.join(wrong)} not as set")
            if done.digests.get(row_key) != digest(row, done.set_values):
                problems.append(f"{where}: row {row_key}: other columns changed")
        checked += len(keys)
    kept_keys = [kept.key for kept in done.kept]
    found = rows(kept_keys)
    for kept_key in kept_keys:
        row = found.get(kept_key)
        if row is None:
            problems.append(f"{where}: kept row {kept_key} is gone")
        elif done.digests.get(kept_key) != digest(row):
            problems.append(f"{where}: kept row {kept_key} changed")
    return checked + len(kept_keys)
