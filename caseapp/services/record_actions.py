"""Actions on a case's confirmed records: proposed with a preview, approved by a second
person (deletions), carried out in every system, verified; results stored and audited.

The customer systems are read and changed outside any case-database transaction (that
may take a while and can be cancelled); each step on the case side is one unit of work
with its audit event. The engine (caseapp.records.actions) is idempotent by the action's
token: a run killed midway, or a crash between changing the systems and recording it,
leaves the action runnable, and running it again finds the work done and records it.

After a deletion the case keeps only what the letters and the request log need: which
rows in which systems changed (not what they held: the plan's "before" values and the
records' identifier snapshots are wiped), and a suppression entry of salted hashes.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp import audit
from caseapp.db.models import Case, RecordAction, RecordActionRun, RecordHit
from caseapp.errors import (
    EnvironmentProblem,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionRefused,
)
from caseapp.records import actions as engine
from caseapp.records.action_model import (
    ACTION_KINDS,
    ActionKind,
    ActionPlan,
    ActionProgress,
    ActionRequest,
    ActionResult,
    ColumnChange,
    RowChange,
    SourcePlan,
    SourceResult,
    TableOutcome,
    TablePlan,
    Target,
    VerificationResult,
)
from caseapp.records.lookup import RecordSystems
from caseapp.services import claims, notices, suppression
from caseapp.services.cases import load_case, touch
from caseapp.services.context import ServiceContext
from caseapp.services.dto import ActionRunView, RecordActionView
from caseapp.vocabulary import ACTION_KIND_LABELS, ACTION_STATUS_LABELS, REQUEST_TYPE_LABELS

Progress = Callable[[ActionProgress], None]
Cancel = Callable[[], bool]

FOUR_EYES_KINDS: tuple[str, ...] = ("delete",)
"""Irreversible: a second person approves (DESIGN.md, Workflow)."""
KIND_NEEDS: dict[str, tuple[str, ...]] = {
    "delete": ("delete",),
    "correct": ("correct",),
    "opt_out": ("opt_out_marketing", "delete"),
    "stop_sharing": ("opt_out_sale_share", "limit_sensitive", "delete"),
}
"""The request types that ask for each action: nothing is done that was not asked."""


# --- views ------------------------------------------------------------------------------


def _loads(kind: Any, text: str) -> Any:
    return kind.from_json(text) if text else None


def action_view(case_ref: str, action: RecordAction) -> RecordActionView:
    return RecordActionView(
        id=action.id, case_ref=case_ref, kind=action.kind,
        kind_label=ACTION_KIND_LABELS.get(action.kind, action.kind), status=action.status,
        status_label=ACTION_STATUS_LABELS.get(action.status, action.status),
        needs_approval=action.needs_approval, requested_by=action.requested_by,
        requested_at=action.requested_at, approved_by=action.approved_by or "",
        approved_at=action.approved_at, executed_by=action.executed_by or "",
        executed_at=action.executed_at, verified_by=action.verified_by or "",
        verified_at=action.verified_at, withdrawn_reason=action.withdrawn_reason,
        rows_planned=action.rows_planned, rows_changed=action.rows_changed,
        plan=ActionPlan.from_json(action.plan_json),
        result=_loads(ActionResult, action.result_json),
        verification=_loads(VerificationResult, action.verification_json),
        runs=tuple(ActionRunView(
            source=run.source, label=run.label, state=run.state, rows_changed=run.rows_changed,
            categories=tuple(c for c in run.categories.split(",") if c), problem=run.problem,
            started_at=run.started_at, finished_at=run.finished_at, run_by=run.run_by,
            approved_by=run.approved_by or "") for run in action.runs))


def _actions(session: Session, case: Case) -> list[RecordAction]:
    return list(session.scalars(select(RecordAction).where(RecordAction.case_id == case.id)
                                .order_by(RecordAction.id)))


def list_actions(ctx: ServiceContext, ref: str) -> tuple[RecordActionView, ...]:
    with ctx.read() as session:
        case = load_case(session, ref)
        return tuple(action_view(case.ref, a) for a in _actions(session, case))


def get_action(ctx: ServiceContext, ref: str, action_id: int) -> RecordActionView:
    with ctx.read() as session:
        case = load_case(session, ref)
        return action_view(case.ref, _load(session, case, action_id))


def _load(session: Session, case: Case, action_id: int) -> RecordAction:
    action = session.get(RecordAction, action_id)
    if action is None or action.case_id != case.id:
        raise NotFound(f"{case.ref} has no record action {action_id} (see: caseapp action "
                       f"list {case.ref}).")
    return action


def _check_state(ctx: ServiceContext, case: Case) -> None:
    if case.status not in ctx.workflow.record_action_states:
        allowed = ", ".join(ctx.workflow.label(s) for s in ctx.workflow.record_action_states)
        raise TransitionRefused(
            f"{case.ref} is {ctx.workflow.label(case.status).lower()}: records are changed "
            f"only once identity is settled ({allowed}).")


# --- propose, approve, withdraw ---------------------------------------------------------


def propose(ctx: ServiceContext, systems: RecordSystems, ref: str, kind: str, *,
            hit_ids: Iterable[int] | None = None, corrections: dict[str, str] | None = None
            ) -> RecordActionView:
    """Preview an action on the case's confirmed records (all, or the hits named) and
    store it: a deletion then awaits a second person's approval; the others can run."""
    if kind not in ACTION_KIND_LABELS:
        raise InvalidInput(f"Unknown action '{kind}' (known: {', '.join(ACTION_KIND_LABELS)}).")
    corrections = {k.strip(): v.strip() for k, v in (corrections or {}).items()}
    if kind == "correct" and not corrections:
        raise InvalidInput("A correction needs the new values (e.g. email = the new address).")
    wanted = set(hit_ids) if hit_ids is not None else None
    with ctx.read() as session:
        ctx.actor(session)
        case = load_case(session, ref)
        _check_state(ctx, case)
        asked = set(case.type_names) & set(KIND_NEEDS[kind])
        if not asked:
            needs = " or ".join(REQUEST_TYPE_LABELS.get(t, t) for t in KIND_NEEDS[kind])
            raise TransitionRefused(f"{case.ref} does not ask for this ({needs}): edit the "
                                    "request first if the person asked for it.")
        hits = [h for h in session.scalars(select(RecordHit).where(RecordHit.case_id == case.id)
                                           .order_by(RecordHit.id))
                if wanted is None or h.id in wanted]
        if wanted is not None:
            missing = wanted - {h.id for h in hits}
            if missing:
                raise NotFound(f"{case.ref} has no record hit {min(missing)}.")
            unconfirmed = [h.id for h in hits if h.status != "confirmed"]
            if unconfirmed:
                raise InvalidInput(f"Hit {unconfirmed[0]} is not confirmed: only records staff "
                                   "confirmed as the person's are acted on.")
        targets = tuple(Target(h.source, h.table_name, h.record_key) for h in hits
                        if h.status == "confirmed")
        case_ref = case.ref
    if not targets:
        raise InvalidInput(f"{case_ref} has no confirmed record to act on: search the customer "
                           "systems and confirm the person's records first.")
    request = ActionRequest(kind=kind_of(kind), targets=targets, corrections=corrections,
                            case_ref=case_ref, token=uuid.uuid4().hex)
    plan = engine.preview(systems.config, request, systems.data_dir, secret=systems.secret,
                          now=ctx.clock.now)
    troubles = [s.problem or f"{s.label}: {s.state}" for s in plan.sources if s.state != "ready"]
    if troubles:
        raise EnvironmentProblem("The action cannot be previewed in every system, so it is not "
                                 "proposed: " + "; ".join(troubles))
    rows = sum(s.rows_to_change for s in plan.sources)
    if rows == 0 and not any(t.unchanged for s in plan.sources for t in s.tables):
        raise InvalidInput("Nothing would change: the confirmed records are already as this "
                           "action would leave them.")
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        # Refused while someone else works on it; else proposing claims the case.
        claimed = claims.hold(ctx, session, case, actor)
        needs_approval = kind in FOUR_EYES_KINDS
        action = RecordAction(
            case_id=case.id, kind=kind, token=request.token, needs_approval=needs_approval,
            status="awaiting_approval" if needs_approval else "approved",
            requested_by=actor.username, requested_at=ctx.clock.now(), rows_planned=rows,
            request_json=request.to_json(), plan_json=plan.to_json(), withdrawn_reason="",
            rows_changed=0, result_json="", verification_json="")
        session.add(action)
        session.flush()
        touch(case, ctx.clock.now())
        audit.record(session, actor=actor.username, action="records.action_proposed",
                     at=ctx.clock.now(), case=case, detail={
                         "action": action.id, "kind": kind, "rows": rows,
                         "records": len(targets), "sources": [s.source for s in plan.sources],
                         "corrected": sorted(corrections), **claimed})
        session.flush()
        return action_view(case.ref, action)


def kind_of(kind: str) -> ActionKind:
    for known in ACTION_KINDS:
        if known == kind:
            return known
    raise InvalidInput(f"Unknown action '{kind}'.")


def _still_wanted(session: Session, case: Case, action: RecordAction) -> None:
    """Refuse an action whose records staff no longer confirm, or that the request no
    longer asks for: the approval was given for what the preview showed."""
    request = ActionRequest.from_json(action.request_json)
    hits = {(h.source, h.table_name, h.record_key): h
            for h in _target_hits(session, case, request.targets)}
    dropped = [t for t in request.targets if (t.source, t.table, t.key) not in hits
               or hits[(t.source, t.table, t.key)].status != "confirmed"]
    if dropped:
        raise TransitionRefused(
            f"Action {action.id} names {len(dropped)} record(s) no longer confirmed as the "
            f"person's (e.g. {dropped[0].table} #{dropped[0].key}): withdraw it and propose "
            "it again.")
    if not set(case.type_names) & set(KIND_NEEDS[action.kind]):
        raise TransitionRefused(f"{case.ref} no longer asks for this action: withdraw it.")


def approve(ctx: ServiceContext, ref: str, action_id: int) -> RecordActionView:
    """A second person approves a proposed deletion (never the one who proposed it)."""
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        action = _load(session, case, action_id)
        if action.status != "awaiting_approval":
            raise TransitionRefused(f"Action {action.id} is "
                                    f"{ACTION_STATUS_LABELS[action.status].lower()}: there is "
                                    "nothing to approve.")
        if actor.username == action.requested_by:
            raise PermissionDenied("Four-eyes rule: you proposed this action, so someone else "
                                   "must approve it.")
        _check_state(ctx, case)
        _still_wanted(session, case, action)
        now = ctx.clock.now()
        action.status, action.approved_by, action.approved_at = "approved", actor.username, now
        touch(case, now)
        audit.record(session, actor=actor.username, action="records.action_approved", at=now,
                     case=case, detail={"action": action.id, "kind": action.kind,
                                        "requested_by": action.requested_by,
                                        "rows": action.rows_planned})
        session.flush()
        return action_view(case.ref, action)


def withdraw(ctx: ServiceContext, ref: str, action_id: int, reason: str) -> RecordActionView:
    """Withdraw an action before it runs; one that ran only in part (a system gone for
    good) is closed out by a supervisor, with what it did kept."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the action is withdrawn.")
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        action = _load(session, case, action_id)
        state = ACTION_STATUS_LABELS.get(action.status, action.status).lower()
        if action.status == "running":
            raise TransitionRefused(f"Action {action.id} is being carried out by "
                                    f"{action.running_by}: it cannot be withdrawn now.")
        if action.status not in ("awaiting_approval", "approved", "incomplete"):
            raise TransitionRefused(f"Action {action.id} is {state}: there is nothing to "
                                    "withdraw.")
        if action.status == "incomplete" and actor.role not in ("supervisor", "admin"):
            raise PermissionDenied(f"Action {action.id} already ran in some systems: only a "
                                   "supervisor closes it out unfinished.")
        now = ctx.clock.now()
        action.status, action.withdrawn_reason = "withdrawn", reason
        action.plan_json = _without_values(ActionPlan.from_json(action.plan_json)).to_json()
        touch(case, now)
        audit.record(session, actor=actor.username, action="records.action_withdrawn", at=now,
                     case=case, detail={"action": action.id, "reason": reason[:500],
                                        "had_run": bool(action.runs)})
        session.flush()
        return action_view(case.ref, action)


# --- execute and verify -----------------------------------------------------------------

RUN_LEASE = timedelta(minutes=15)
"""How long a run holds an action before another person may take it over (a run that
died leaves it "running"; its own runner may run it again at once)."""


def execute(ctx: ServiceContext, systems: RecordSystems, ref: str, action_id: int, *,
            progress: Progress | None = None, cancel: Cancel | None = None
            ) -> RecordActionView:
    """Carry out an approved action in every system, record what it did, and (when every
    system ran) verify it at once."""
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        action = _load(session, case, action_id)
        now = ctx.clock.now()
        _check_runnable(action, actor.username, now)
        # Refused while someone else works on it; else running claims it (audited now:
        # the run's own events are written when the systems answered).
        claims.hold(ctx, session, case, actor, own_event=True)
        _check_state(ctx, case)
        _still_wanted(session, case, action)
        plan = ActionPlan.from_json(action.plan_json)
        entries: list[tuple[str, str]] = []
        if action.kind == "delete":  # the salt is checked before anything is deleted
            salt = suppression.desk_salt(ctx, session, actor.username)
            hits = _target_hits(session, case, plan.request.targets)
            person = suppression.identifiers_of(case, hits, systems.config,
                                                _corrected_values(session, case))
            entries = suppression.hashed_entries(person, salt)
        action.status, action.running_by, action.running_since = "running", actor.username, now
    try:
        result = engine.execute(systems.config, plan, systems.data_dir, secret=systems.secret,
                                progress=progress, cancel=cancel, now=ctx.clock.now)
    except BaseException:
        _release(ctx, ref, action_id)
        raise
    view = _record_run(ctx, systems, ref, action_id, result, entries)
    if view.status != "executed":
        return view
    return verify(ctx, systems, ref, action_id)


def _check_runnable(action: RecordAction, username: str, now: datetime) -> None:
    state = ACTION_STATUS_LABELS.get(action.status, action.status).lower()
    if action.status == "running" and action.running_by != username \
            and action.running_since is not None and now - action.running_since < RUN_LEASE:
        raise TransitionRefused(
            f"Action {action.id} is being carried out by {action.running_by} since "
            f"{action.running_since:%H:%M}: wait for it to finish.")
    if action.status in ("executed", "verified"):
        raise TransitionRefused(f"Action {action.id} is {state}: it ran in every system "
                                "(check it again with Verify).")
    if action.status == "verify_failed":
        raise TransitionRefused(f"Action {action.id} failed its verification: look at what "
                                "the verification found, then propose a new action.")
    if action.status not in ("approved", "incomplete", "running", "awaiting_approval"):
        raise TransitionRefused(f"Action {action.id} is {state}: it cannot be run.")
    if action.needs_approval and (action.approved_by is None
                                  or action.approved_by == action.requested_by):
        raise PermissionDenied(f"Action {action.id} needs a second person's approval "
                               "before it runs.")


def _release(ctx: ServiceContext, ref: str, action_id: int) -> None:
    """A run that failed before anything was recorded: the action is runnable again."""
    with ctx.write() as session:
        case = load_case(session, ref)
        action = _load(session, case, action_id)
        if action.status == "running":
            action.status = "incomplete" if action.runs else "approved"
            action.running_by = action.running_since = None


def _target_hits(session: Session, case: Case, targets: Iterable[Target]) -> list[RecordHit]:
    wanted = {(t.source, t.table, t.key) for t in targets}
    return [h for h in session.scalars(select(RecordHit).where(RecordHit.case_id == case.id))
            if (h.source, h.table_name, h.record_key) in wanted]


def _corrected_values(session: Session, case: Case) -> dict[str, list[str]]:
    """Identifier kind → the new values earlier corrections of this case wrote (the
    person may now be known by them)."""
    found: dict[str, list[str]] = {}
    for action in _actions(session, case):
        if action.kind == "correct" and action.runs:
            for name, value in ActionRequest.from_json(action.request_json).corrections.items():
                found.setdefault(name, []).append(value)
    return found


def merged(previous: ActionResult | None, new: ActionResult, plan: ActionPlan
           ) -> ActionResult:
    """What the action did, over all its runs: per system the run that did the work.

    A system a later run finds "already done" keeps the earlier run's outcome; where no
    run was recorded (a run that died after its systems committed), the approved plan
    says what was done there."""
    before = {s.source: s for s in previous.sources} if previous else {}
    sources = []
    for source in new.sources:
        earlier = before.get(source.source)
        if source.state == "already_done" and earlier is not None \
                and earlier.state in ("done", "already_done") and earlier.tables:
            sources.append(earlier)
        elif source.state == "already_done":
            sources.append(_from_plan(source, plan))
        else:
            sources.append(source)
    return dataclasses.replace(new, started_at=previous.started_at if previous
                               else new.started_at, sources=tuple(sources))


def _from_plan(source: SourceResult, plan: ActionPlan) -> SourceResult:
    try:
        planned = plan.source(source.source)
    except KeyError:
        return source
    tables = tuple(TableOutcome.of(t) for t in planned.tables)
    return dataclasses.replace(source, tables=tables, notices=planned.notices or source.notices)


def _record_run(ctx: ServiceContext, systems: RecordSystems, ref: str, action_id: int,
                result: ActionResult, entries: list[tuple[str, str]]) -> RecordActionView:
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        action = _load(session, case, action_id)
        now = ctx.clock.now()
        plan = ActionPlan.from_json(action.plan_json)
        for source in result.sources:
            done = sum(len(t.changed) for t in source.tables)
            action.runs.append(RecordActionRun(
                source=source.source, label=source.label[:200], state=source.state,
                rows_changed=done, problem=source.problem,
                categories=",".join(dict.fromkeys(t.category for t in source.tables)),
                started_at=_parse(source.started_at), finished_at=_parse(source.finished_at),
                run_by=actor.username, approved_by=action.approved_by))
        previous = ActionResult.from_json(action.result_json) if action.result_json else None
        whole = merged(previous, result, plan)
        action.rows_changed = sum(len(t.changed) for s in whole.sources if s.succeeded
                                  for t in s.tables)
        action.result_json = whole.to_json()
        action.executed_by, action.executed_at = actor.username, now
        action.status = "executed" if whole.complete else "incomplete"
        action.running_by = action.running_since = None
        succeeded = {s.source for s in whole.sources if s.succeeded}
        added_entries = 0
        if action.kind == "delete":
            action.plan_json = _without_values(plan, succeeded).to_json()
            for hit in _target_hits(session, case, plan.request.targets):
                if hit.source in succeeded:
                    hit.snapshot = "{}"  # the case keeps where the record was, not what
            if succeeded:
                added_entries = suppression.add_entries(session, case, action.id, entries,
                                                        actor.username, ctx)
                _scrub_others(session, case, action.id)
        elif whole.complete:
            action.plan_json = _without_values(plan).to_json()
        added_notices = notices.add_notices(ctx, session, case, action, whole,
                                            dict(systems.config.recipients))
        touch(case, now)
        audit.record(session, actor=actor.username, action="records.action_executed", at=now,
                     case=case, detail={
                         "action": action.id, "kind": action.kind,
                         "approved_by": action.approved_by, "complete": whole.complete,
                         "rows_changed": sum(s.rows_changed for s in result.sources),
                         "sources": {s.source: s.state for s in result.sources},
                         "suppression_entries": added_entries, "notices": added_notices})
        session.flush()
        return action_view(case.ref, action)


def _scrub_others(session: Session, case: Case, deleting: int) -> None:
    """After a deletion, the case's other actions keep no value they wrote or showed
    (a correction's new email is the deleted person's too)."""
    for other in _actions(session, case):
        if other.id == deleting:
            continue
        request = ActionRequest.from_json(other.request_json)
        if request.corrections:
            other.request_json = dataclasses.replace(
                request, corrections=dict.fromkeys(request.corrections, "")).to_json()
        scrubbed = _without_values(ActionPlan.from_json(other.plan_json), after=True)
        other.plan_json = dataclasses.replace(scrubbed, request=dataclasses.replace(
            scrubbed.request, corrections=dict.fromkeys(scrubbed.request.corrections, ""))
        ).to_json()
        if other.result_json:
            result = ActionResult.from_json(other.result_json)
            other.result_json = dataclasses.replace(result, request=dataclasses.replace(
                result.request, corrections=dict.fromkeys(result.request.corrections, "")),
                sources=tuple(dataclasses.replace(s, tables=tuple(
                    dataclasses.replace(t, set_values=dict.fromkeys(t.set_values))
                    if t.operation == "update" and request.corrections else t
                    for t in s.tables)) for s in result.sources)).to_json()


def verify(ctx: ServiceContext, systems: RecordSystems, ref: str, action_id: int
           ) -> RecordActionView:
    """Re-read every system the action ran in: deleted rows gone, updated rows as set and
    otherwise untouched, kept rows unchanged."""
    with ctx.read() as session:
        ctx.actor(session)
        case = load_case(session, ref)
        action = _load(session, case, action_id)
        if not action.result_json or action.status not in ("executed", "verified",
                                                            "verify_failed"):
            raise TransitionRefused(f"Action {action.id} has not run in every system yet: "
                                    "there is nothing to verify.")
        result = ActionResult.from_json(action.result_json)
    checked = engine.verify(systems.config, result, systems.data_dir, secret=systems.secret,
                            now=ctx.clock.now)
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        action = _load(session, case, action_id)
        now = ctx.clock.now()
        action.verification_json = checked.to_json()
        action.verified_by, action.verified_at = actor.username, now
        action.status = "verified" if checked.ok else "verify_failed"
        touch(case, now)
        audit.record(session, actor=actor.username, action="records.action_verified", at=now,
                     case=case, detail={
                         "action": action.id, "ok": checked.ok,
                         "sources": {s.source: s.state for s in checked.sources},
                         "rows_checked": sum(s.rows_checked for s in checked.sources)})
        session.flush()
        return action_view(case.ref, action)


def _parse(stamp: str) -> datetime | None:
    if not stamp:
        return None
    parsed = datetime.fromisoformat(stamp)
    return parsed.replace(tzinfo=None) if parsed.tzinfo else parsed


def _without_values(plan: ActionPlan, sources: set[str] | None = None, *,
                    after: bool = False) -> ActionPlan:
    """The plan with the values the rows held before wiped (in ``sources``, or all), and
    with ``after`` the values written too."""

    def row(change: RowChange) -> RowChange:
        return dataclasses.replace(change, columns=tuple(
            ColumnChange(c.column, None, None if after else c.after) for c in change.columns))

    def table(plan: TablePlan) -> TablePlan:
        changes = tuple(row(c) for c in plan.changes)
        if after and plan.operation == "update":
            return dataclasses.replace(plan, changes=changes,
                                       set_values=dict.fromkeys(plan.set_values))
        return dataclasses.replace(plan, changes=changes)

    def source(plan: SourcePlan) -> SourcePlan:
        if sources is not None and plan.source not in sources:
            return plan
        return dataclasses.replace(plan, tables=tuple(table(t) for t in plan.tables))

    return dataclasses.replace(plan, sources=tuple(source(s) for s in plan.sources))


def plan_json_has_values(action: RecordActionView) -> bool:
    """Whether the stored plan still holds any value from before (for tests and checks)."""
    return any(c.before is not None for s in action.plan.sources for t in s.tables
               for ch in t.changes for c in ch.columns)
