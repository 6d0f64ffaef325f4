"""Turning loaded rows into the frozen views services return."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from caseapp.db.models import AuditEvent, Case, Document, Message, Party, RecordAction
from caseapp.services.claims import RENEWED, claim_view
from caseapp.services.context import ServiceContext
from caseapp.services.dto import (
    CaseDetail,
    DeadlineView,
    DocumentView,
    HistoryEntry,
    MessageView,
    NoteView,
    PartyView,
    TaskView,
)
from caseapp.vocabulary import PRIORITY_NAMES, REQUEST_TYPE_LABELS
from caseapp.workflow.deadlines import compute_deadlines
from caseapp.workflow.machine import Actor, CaseFacts, options

EMPTY_PARTY = PartyView("subject", "", "", "", "", "", "", False, None, "self")


def party_view(party: Party) -> PartyView:
    return PartyView(
        role=party.role,
        name=party.name,
        email=party.email,
        phone=party.phone,
        postal_address=party.postal_address,
        postal_code=party.postal_code,
        state=party.state,
        is_child=party.is_child,
        age=party.age,
        relationship=party.relationship_to_subject,
    )


def party_of(case: Case, role: str) -> Party | None:
    return next((p for p in case.parties if p.role == role), None)


def open_notice_count(case: Case) -> int:
    return sum(1 for t in case.tasks if t.kind == "downstream_notice" and t.status == "open")


def pending_action_count(case: Case) -> int:
    """Actions on the records not yet done and verified (nor withdrawn)."""
    session = object_session(case)
    if session is None or case.id is None:
        return 0
    return session.scalar(select(func.count()).select_from(RecordAction).where(
        RecordAction.case_id == case.id,
        RecordAction.status.not_in(("verified", "withdrawn")))) or 0


def facts_of(case: Case) -> CaseFacts:
    return CaseFacts(
        status=case.status,
        previous_status=case.previous_status,
        request_types=tuple(case.type_names),
        submitted_for_review_by=case.submitted_for_review_by,
        open_notices=open_notice_count(case),
        pending_actions=pending_action_count(case),
        is_child=case.is_child,
        via_agent=case.via_agent,
    )


def deadline_view(ctx: ServiceContext, case: Case, today: date) -> DeadlineView:
    computed = compute_deadlines(
        ctx.rules.jurisdictions,
        case.jurisdiction,
        case.type_names,
        case.received_on,
        extended=case.extended_at is not None,
        paused_days=case.paused_days,
    )
    state = ctx.workflow.state(case.status)
    running = state.is_open and not state.clock_stopped
    days_left = (case.due_on - today).days
    return DeadlineView(
        received_on=case.received_on,
        acknowledge_by=case.acknowledge_by,
        acknowledged=case.acknowledged_at is not None,
        respond_by=case.due_on,
        original_respond_by=case.original_due_on,
        extended=case.extended_at is not None,
        extension_possible=running and computed.extension_possible and case.extended_at is None,
        extension_reason=case.extension_reason or "",
        today=today,
        days_left=days_left,
        acknowledge_days_left=(case.acknowledge_by - today).days if case.acknowledge_by else None,
        overdue=running and days_left < 0,
        responded_on=ctx.clock.local_date(case.responded_at) if case.responded_at else None,
        sources=computed.sources,
    )


def describe_event(ctx: ServiceContext, action: str, detail_json: str) -> str:
    """One readable line for the history list."""
    try:
        detail = json.loads(detail_json)
    except ValueError:
        detail = {}
    label = ctx.workflow.label
    reason = f" — {detail['reason']}" if detail.get("reason") else ""
    if action == "case.purged":
        return ("Personal information removed by the retention purge (closed "
                f"{detail.get('closed_on')}, kept until {detail.get('kept_until')})")
    if action == "case.created":
        types = ", ".join(REQUEST_TYPE_LABELS.get(t, t) for t in detail.get("request_types", []))
        return f"Case opened ({detail.get('channel', '')}): {types}; due {detail.get('due_on')}"
    if action == "case.step":
        return (
            f"{detail.get('label', detail.get('step'))}: {label(detail.get('from', ''))} → "
            f"{label(detail.get('to', ''))}{reason}"
        )
    if action == "case.extended":
        return f"Deadline extended to {detail.get('due_on')}{reason}"
    if action == "case.assigned":
        return f"Assigned to {detail.get('to') or 'nobody'}"
    if action == "case.note":
        return "Note added"
    if action == "party.updated":
        fields = ", ".join(detail.get("fields", []))
        return f"{str(detail.get('role', 'party')).capitalize()} details changed: {fields}"
    if action == "case.updated":
        return "Request changed: " + _changes_text(detail.get("changes", {}))
    if action == "case.merged_into":
        return f"Merged into {detail.get('into')}"
    if action == "case.merged_from":
        return f"Merged in from {detail.get('from')}"
    if action == "case.appealed":
        return f"Appeal opened as {detail.get('appeal')}{reason}"
    if action == "task.done":
        return f"Task done: {detail.get('title', '')}"
    if action == "case.claimed":
        return "Claimed (working on it)" + (" by acting on it" if detail.get("implicit") else "")
    if action == "case.released":
        why = detail.get("reason")
        return f"Claim of {detail.get('holder', '')} released" + (f" ({why})" if why else "")
    if action == "case.claim_taken_over":
        return f"Claim taken over from {detail.get('from')}"
    return action + reason


def request_lock(ctx: ServiceContext, case: Case) -> str:
    """Why what was requested can no longer change: a decision was reviewed or made on it
    (changing it then would slip past the four-eyes review or rewrite a legal clock)."""
    state = ctx.workflow.state(case.status)
    if not state.is_open:
        return f"{case.ref} is {state.label.lower()}: a decided case is not changed."
    if case.submitted_for_review_by or case.responded_at:
        return (f"{case.ref} was submitted for review: return it to work before changing "
                "what was requested.")
    return ""


_CHANGE_LABELS = (
    ("request_types", "types"),
    ("jurisdiction", "jurisdiction"),
    ("received_on", "received"),
    ("priority", "priority"),
    ("language", "language"),
    ("summary", "summary"),
    ("due_on", "due"),
)


def _changes_text(changes: dict[str, dict[str, object]]) -> str:
    parts = []
    for key, label in _CHANGE_LABELS:
        change = changes.get(key)
        if change is None:
            continue
        if "from" not in change:
            parts.append(f"{label} edited")
            continue
        before, after = change["from"], change["to"]
        if isinstance(before, list) and isinstance(after, list):
            before, after = ", ".join(map(str, before)), ", ".join(map(str, after))
        parts.append(f"{label} {before} → {after}")
    return "; ".join(parts) or "no change"


def case_detail(
    ctx: ServiceContext, session: Session, case: Case, actor: Actor
) -> CaseDetail:
    today = ctx.clock.today()
    requester = party_of(case, "requester")
    subject = party_of(case, "subject")
    requester_view = party_view(requester) if requester else EMPTY_PARTY
    subject_view = (
        party_view(subject) if subject else
        PartyView(**{**requester_view.__dict__, "role": "subject"})
    )
    events = session.execute(
        select(AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.action,
               AuditEvent.detail)
        .where(AuditEvent.case_id == case.id, AuditEvent.action != RENEWED)
        .order_by(AuditEvent.seq)
    ).all()
    attachment_counts: dict[int | None, int] = {
        message_id: count for message_id, count in session.execute(
            select(Document.message_id, func.count()).where(Document.case_id == case.id,
                                                            Document.message_id.is_not(None))
            .group_by(Document.message_id))
    }
    messages = tuple(
        MessageView(m.direction, m.channel, m.subject, m.sender, m.sent_at, m.id, m.auto_kind,
                    m.received_at, attachment_counts.get(m.id, 0))
        for m in session.scalars(
            select(Message).where(Message.case_id == case.id).order_by(Message.id)
        )
    )
    documents = tuple(
        DocumentView(d.kind, d.filename, d.media_type, d.sha256, d.size)
        for d in session.scalars(
            select(Document).where(Document.case_id == case.id).order_by(Document.id)
        )
    )
    state = ctx.workflow.state(case.status)
    return CaseDetail(
        request_locked_reason=request_lock(ctx, case),
        ref=case.ref,
        version=case.version,
        status=case.status,
        status_label=state.label,
        status_reason=case.status_reason or "",
        is_open=state.is_open,
        channel=case.channel,
        request_types=tuple(case.type_names),
        jurisdiction=case.jurisdiction,
        jurisdiction_name=ctx.rules.jurisdictions.name(case.jurisdiction),
        is_privacy_request=case.is_privacy_request,
        is_child=case.is_child,
        via_agent=case.via_agent,
        priority=PRIORITY_NAMES.get(case.priority, "normal"),
        language=case.language,
        summary=case.summary,
        received_at=case.received_at,
        assignee=case.assignee.username if case.assignee else "",
        requester=requester_view,
        subject=subject_view,
        subject_is_requester=case.subject_is_requester,
        deadlines=deadline_view(ctx, case, today),
        duplicate_of=case.duplicate_of.ref if case.duplicate_of else "",
        appeal_of=case.appeal_of.ref if case.appeal_of else "",
        verification_method=case.verification_method or "",
        notes=tuple(NoteView(n.author, n.created_at, n.body) for n in case.notes),
        tasks=tuple(TaskView(t.id, t.kind, t.title, t.due_on, t.status) for t in case.tasks),
        history=tuple(
            HistoryEntry(e.seq, e.at, e.actor, e.action, describe_event(ctx, e.action, e.detail))
            for e in events
        ),
        steps=tuple(options(ctx.workflow, facts_of(case), actor)) if state.is_open else (),
        message_count=len(messages),
        document_count=len(documents),
        created_by=case.created_by,
        messages=messages,
        documents=documents,
        intake_review=case.intake_review,
        claim=claim_view(case, ctx.clock.now()),
        can_appeal=state.decided and "appeal" not in case.type_names
        and case.purged_at is None
        and ctx.rules.jurisdictions.policy(case.jurisdiction, "appeal").appeals_allowed,
    )
