"""Moving a case through its workflow: steps, extension, hold, duplicates and appeals."""

from __future__ import annotations

from datetime import date, timedelta

from caseapp import audit
from caseapp.db.models import Case, CaseRequestType, Note, Party, Task
from caseapp.errors import InvalidInput, NotFound, TransitionRefused
from caseapp.services import claims
from caseapp.services.cases import (
    check_version,
    insert_case,
    load_case,
    refresh_deadlines,
    touch,
)
from caseapp.services.context import ServiceContext
from caseapp.services.dto import Changed, NewCase, PartyData, StepRequest
from caseapp.services.notices import open_notice_for_task
from caseapp.services.views import case_detail, facts_of
from caseapp.vocabulary import VERIFICATION_METHODS
from caseapp.workflow.machine import StepInput, check
from caseapp.workflow.rules import PREVIOUS

HANDED_OVER = frozenset({"submitted_for_review", "review_cleared", "responded"})
"""Effects of the steps after which the case's claim is let go."""


def _merge_into(duplicate: Case, target: Case) -> list[str]:
    """Move what the duplicate holds to the case it duplicates; return what moved."""
    moved = []
    for message in list(duplicate.messages):
        message.case = target
        moved.append("messages")
    for document in list(duplicate.documents):
        document.case = target
        moved.append("documents")
    for note in list(duplicate.notes):
        target.notes.append(
            Note(author=note.author, created_at=note.created_at,
                 body=f"[from {duplicate.ref}] {note.body}")
        )
        moved.append("notes")
    # The legal clock runs from the first time the person asked.
    if duplicate.received_on < target.received_on:
        target.received_on = duplicate.received_on
        target.received_at = duplicate.received_at
        moved.append("received_on")
    existing = set(target.type_names)
    for request_type in duplicate.type_names:
        if request_type not in existing:
            target.request_types.append(CaseRequestType(request_type=request_type))
            moved.append("request_types")
    target_requester = next((p for p in target.parties if p.role == "requester"), None)
    source_requester = next((p for p in duplicate.parties if p.role == "requester"), None)
    if target_requester and source_requester:
        for field in ("email", "phone", "postal_address", "postal_code", "state"):
            if not getattr(target_requester, field) and getattr(source_requester, field):
                setattr(target_requester, field, getattr(source_requester, field))
                moved.append(f"requester.{field}")
    return sorted(set(moved))


def take_step(ctx: ServiceContext, ref: str, request: StepRequest) -> Changed:
    given = StepInput(
        reason=request.reason.strip(),
        other_case=request.other_case.strip(),
        method=request.method.strip(),
        override=request.override,
    )
    if given.method and given.method not in VERIFICATION_METHODS:
        raise InvalidInput(
            f"Unknown verification method '{given.method}'. Known: "
            f"{', '.join(VERIFICATION_METHODS)}."
        )
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        check_version(case, request.expected_version)
        # Refused while someone else works on it; else the step claims the case.
        claimed = claims.hold(ctx, session, case, actor)
        workflow = ctx.workflow
        facts = facts_of(case)
        target = check(workflow, request.step, facts, actor, given)
        transition = workflow.transitions[request.step]
        now = ctx.clock.now()
        detail: dict[str, object] = {
            "step": request.step,
            "label": transition.label,
            "from": case.status,
            "to": target,
        }
        refs = [case.ref]
        if given.reason:
            detail["reason"] = given.reason
        if transition.blocks_on_open_notices and facts.open_notices and given.override:
            detail["override_open_notices"] = facts.open_notices
        if transition.blocks_on_pending_actions and facts.pending_actions and given.override:
            detail["override_pending_actions"] = facts.pending_actions
        if transition.requires_case:
            other = load_case(session, given.other_case)
            if other.id == case.id:
                raise TransitionRefused("A case cannot be a duplicate of itself.")
            if other.duplicate_of_id is not None:
                original = other.duplicate_of.ref if other.duplicate_of else "another case"
                raise TransitionRefused(
                    f"{other.ref} is itself a duplicate of {original}: name that case instead."
                )
            if not workflow.state(other.status).is_open:
                raise TransitionRefused(
                    f"{other.ref} is already decided: a request made again after a decision "
                    "is a new request, not a duplicate."
                )
            case.duplicate_of = other
            detail["duplicate_of"] = other.ref
            detail["moved"] = _merge_into(case, other)
            refresh_deadlines(ctx, other)
            touch(other, now)
            audit.record(session, actor=actor.username, action="case.merged_from", at=now,
                         case=other, detail={"from": case.ref, "moved": detail["moved"]})
            refs.append(other.ref)
        if transition.requires_method:
            case.verification_method = given.method
            detail["method"] = given.method
        effects = set(transition.effects)
        if "submitted_for_review" in effects:
            case.submitted_for_review_by = actor.username
        if "review_cleared" in effects:
            case.submitted_for_review_by = None
        if "acknowledged" in effects:
            case.acknowledged_at = now
        if "responded" in effects:
            case.responded_at = now
            detail["approved_by"] = actor.username
        if target == "on_hold":
            case.previous_status = case.status
            case.held_since = now
        if transition.target == PREVIOUS:
            if case.held_since is not None:
                held = (ctx.clock.today() - ctx.clock.local_date(case.held_since)).days
                case.paused_days += max(held, 0)
                detail["held_days"] = held
            case.held_since = None
            case.previous_status = None
            refresh_deadlines(ctx, case)
            detail["due_on"] = case.due_on.isoformat()
        if given.reason and (target in workflow.closed_states or target == "on_hold"):
            case.status_reason = given.reason
        elif target not in workflow.closed_states:
            case.status_reason = None
        if target in workflow.closed_states:
            case.closed_at = now
        case.status = target
        touch(case, now)
        detail.update(claimed)
        if effects & HANDED_OVER or target in workflow.closed_states:
            # The case changes hands (to the reviewer, back to whoever works it, to
            # whoever closes it): its claim goes; a decided case is nobody's.
            detail.update(claims.let_go(session, case))
        audit.record(session, actor=actor.username, action="case.step", at=now, case=case,
                     detail=detail)
        session.flush()
        return Changed(case=case_detail(ctx, session, case, actor), refs=tuple(refs))


def extend(ctx: ServiceContext, ref: str, reason: str,
           expected_version: int | None = None) -> Changed:
    """Use the single extension the law allows; the notice must go out before the first
    deadline passes (11 CCR §7021(b), Va. Code §59.1-577(B), GDPR Art. 12(3))."""
    reason = reason.strip()
    if not reason:
        raise TransitionRefused("An extension needs a reason; it goes into the notice.")
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        check_version(case, expected_version)
        claimed = claims.hold(ctx, session, case, actor)
        state = ctx.workflow.state(case.status)
        if not state.is_open or state.clock_stopped:
            raise TransitionRefused(
                f"{case.ref} is {state.label.lower()}: only a case still awaiting its "
                "response can be extended."
            )
        if case.extended_at is not None:
            raise TransitionRefused(
                f"{case.ref} was already extended on {case.extended_at:%Y-%m-%d}; "
                "the law allows one extension only."
            )
        today = ctx.clock.today()
        if today > case.original_due_on:
            raise TransitionRefused(
                f"The first deadline ({case.original_due_on}) has passed: an extension must be "
                "noticed within the original response period."
            )
        now = ctx.clock.now()
        before = case.due_on
        case.extended_at = now
        case.extension_reason = reason
        refresh_deadlines(ctx, case)
        if case.due_on == before:
            raise TransitionRefused(
                "This case's deadline cannot be extended: the request type due first "
                "allows no extension (e.g. opt-outs must be honoured within their first "
                "deadline)."
            )
        touch(case, now)
        case.tasks.append(
            Task(kind="follow_up", title="Send the extension notice (reason and new due date)",
                 due_on=today, status="open", assignee=actor.username, created_at=now)
        )
        audit.record(session, actor=actor.username, action="case.extended", at=now, case=case,
                     detail={"reason": reason, "due_on": case.due_on.isoformat(),
                             "was": before.isoformat(), **claimed})
        session.flush()
        return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,))


def complete_task(ctx: ServiceContext, ref: str, task_id: int) -> Changed:
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        task = next((t for t in case.tasks if t.id == task_id), None)
        if task is None:
            raise NotFound(f"{case.ref} has no task {task_id}.")
        if task.status == "done":
            raise InvalidInput(f"Task '{task.title}' is already done.")
        if open_notice_for_task(session, task) is not None:
            raise TransitionRefused(
                "This task is a downstream notice: record the recipient's acknowledgement, "
                "or why it was not notified, on the notice (Records tab, or caseapp notice).")
        now = ctx.clock.now()
        task.status = "done"
        task.done_at = now
        touch(case, now)
        audit.record(session, actor=actor.username, action="task.done", at=now, case=case,
                     detail={"task": task.id, "kind": task.kind, "title": task.title})
        session.flush()
        return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,),
                       list_changed=False)


def add_task(ctx: ServiceContext, ref: str, kind: str, title: str,
             due_in_days: int | None = None) -> Changed:
    if kind not in ("downstream_notice", "manual_source", "follow_up"):
        raise InvalidInput("Task kind must be downstream_notice, manual_source or follow_up.")
    if not title.strip():
        raise InvalidInput("A task needs a title.")
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        now = ctx.clock.now()
        due = ctx.clock.today() + timedelta(days=due_in_days) if due_in_days is not None else None
        case.tasks.append(Task(kind=kind, title=title.strip(), due_on=due, status="open",
                               created_at=now))
        touch(case, now)
        audit.record(session, actor=actor.username, action="task.added", at=now, case=case,
                     detail={"kind": kind, "title": title.strip()})
        session.flush()
        return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,),
                       list_changed=False)


def open_appeal(ctx: ServiceContext, ref: str, reason: str,
                received_on: date | None = None) -> Changed:
    """An appeal of a decided case: a new linked case with its own clock (e.g. 60 days)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say what the requester appeals against.")
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        state = ctx.workflow.state(case.status)
        if not state.decided:
            raise TransitionRefused(
                f"{case.ref} is {state.label.lower()}: an appeal follows a decision that was "
                "sent to the requester."
            )
        if case.purged_at is not None:
            raise TransitionRefused(
                f"{case.ref} was closed more than 24 months ago and its personal information "
                "was purged: answer a request made now as a new case.")
        if "appeal" in case.type_names:
            raise TransitionRefused(
                f"{case.ref} is itself an appeal: its decision is final here; the letter "
                "names the Attorney General for a complaint."
            )
        policy = ctx.rules.jurisdictions.policy(case.jurisdiction, "appeal")
        if not policy.appeals_allowed:
            raise TransitionRefused(
                f"{policy.jurisdiction_name} provides no appeal; answer as a new request instead."
            )
        requester = next((p for p in case.parties if p.role == "requester"), None)
        subject = next((p for p in case.parties if p.role == "subject"), None)
        new = NewCase(
            channel=case.channel,
            request_types=("appeal",),
            requester=_party_data(requester) if requester else PartyData(name="(unknown)"),
            subject=_party_data(subject) if subject else None,
            jurisdiction=case.jurisdiction,
            received_on=received_on,
            summary=f"Appeal of {case.ref}: {reason}",
            language=case.language,
            priority="high",
        )
        appeal = insert_case(ctx, session, actor.username, new)
        appeal.appeal_of = case
        audit.record(session, actor=actor.username, action="case.appealed",
                     at=ctx.clock.now(), case=case, detail={"appeal": appeal.ref,
                                                             "reason": reason})
        session.flush()
        return Changed(case=case_detail(ctx, session, appeal, actor),
                       refs=(appeal.ref, case.ref))


def _party_data(party: Party) -> PartyData:
    return PartyData(
        name=party.name, email=party.email, phone=party.phone,
        postal_address=party.postal_address, postal_code=party.postal_code, state=party.state,
        is_child=party.is_child, age=party.age, relationship=party.relationship_to_subject,
    )
