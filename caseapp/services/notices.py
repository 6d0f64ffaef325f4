"""Downstream notices: telling the affiliates, service providers and dealers the data
went to about a deletion, correction, opt-out or stop-sharing, and recording the answer.

Each notice has a task (kind ``downstream_notice``) that keeps the case from closing
until the recipient acknowledged it, or staff recorded why it was not notified (11 CCR
§7022(b)(3): impossible or disproportionate effort, explained). The notice's text comes
from ``resources/notices/downstream_notice.toml``.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp import audit
from caseapp.db.models import Case, DownstreamNotice, RecordAction, Task
from caseapp.errors import ConfigError, InvalidInput, NotFound, TransitionRefused
from caseapp.records.action_model import ActionResult
from caseapp.records.sources import Recipient
from caseapp.resources import resources_dir
from caseapp.services.cases import load_case, touch
from caseapp.services.context import ServiceContext
from caseapp.services.dto import NoticeView
from caseapp.services.views import party_of
from caseapp.vocabulary import (
    ACTION_KIND_LABELS,
    NOTICE_STATUS_LABELS,
    RECORD_CATEGORY_LABELS,
)

NOTICE_DAYS = 10
"""Days to send a notice (and the recipient to answer), never past the case's due date."""
NOTICE_FILE = "notices/downstream_notice.toml"
PLACEHOLDERS = frozenset({"recipient", "case_ref", "action_label", "completed_on", "systems",
                          "categories", "rows", "named", "changes", "consumer", "asks",
                          "reply_days"})


@dataclass(frozen=True)
class NoticeTexts:
    subjects: dict[str, str]
    asks: dict[str, str]
    body: str


def load_notice_texts(path: Path | None = None) -> NoticeTexts:
    """The texts, checked: every action kind has a subject and an ask, and no text uses a
    placeholder the program does not fill."""
    file = path or resources_dir() / NOTICE_FILE
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{file}: the notice texts cannot be read ({error})") from None
    subjects, asks = data.get("subject", {}), data.get("asks", {})
    body = data.get("body", {}).get("text", "")
    for kind in ACTION_KIND_LABELS:
        if not isinstance(subjects.get(kind), str) or not isinstance(asks.get(kind), str):
            raise ConfigError(f"{file}: [subject] and [asks] need a text for '{kind}'")
    if not isinstance(body, str) or not body.strip():
        raise ConfigError(f"{file}: [body] text is missing")
    for text in (*subjects.values(), body):
        for found in string.Template.pattern.finditer(text):
            name = found.group("named") or found.group("braced")
            if name and name not in PLACEHOLDERS:
                raise ConfigError(f"{file}: unknown placeholder ${name} (known: "
                                  f"{', '.join(sorted(PLACEHOLDERS))})")
    return NoticeTexts(dict(subjects), dict(asks), body.strip() + "\n")


@cache
def _texts() -> NoticeTexts:
    return load_notice_texts()


@dataclass
class _Draft:
    """What one recipient is told, gathered over the systems an action ran in."""

    recipient: Recipient
    categories: list[str]
    systems: list[str]
    rows: int
    named: list[str]


def drafts_for(result: ActionResult, recipients: dict[str, Recipient]) -> list[_Draft]:
    """One draft per recipient of the systems that ran; names a row's recipient column
    holds (a dealer) go into the draft of the table's recipients, or stand alone."""
    drafts: dict[str, _Draft] = {}

    def add(recipient: Recipient, category: str, system: str, rows: int,
            named: tuple[str, ...]) -> None:
        draft = drafts.setdefault(recipient.key, _Draft(recipient, [], [], 0, []))
        for items, item in ((draft.categories, category), (draft.systems, system)):
            if item not in items:
                items.append(item)
        draft.rows += rows
        draft.named += [n for n in named if n not in draft.named]

    for source in result.sources:
        if not source.succeeded:
            continue
        for notice in source.notices:
            for recipient in notice.recipients:
                add(recipients.get(recipient.key, recipient), notice.category, source.label,
                    notice.rows, notice.named)
            if not notice.recipients:
                for name in notice.named:
                    add(Recipient(key=f"named:{name}"[:100], name=name, kind="third_party"),
                        notice.category, source.label, notice.rows, ())
    return list(drafts.values())


def _consumer(case: Case) -> str:
    subject = party_of(case, "subject") or party_of(case, "requester")
    if subject is None:
        return "  (see the case)"
    lines = [f"  Name: {subject.name}" if subject.name else "",
             f"  Email: {subject.email}" if subject.email else "",
             f"  Phone: {subject.phone}" if subject.phone else "",
             f"  Address: {_one_line_address(subject.postal_address, subject.postal_code)}"
             if subject.postal_address else ""]
    return "\n".join(line for line in lines if line) or "  (see the case)"


def _one_line_address(address: str, postal_code: str) -> str:
    """The postal address on one line, its ZIP added only when the address lacks it."""
    line = ", ".join(part.strip() for part in address.splitlines() if part.strip())
    return line if not postal_code or postal_code in line else f"{line} {postal_code}"


def _fill(case: Case, kind: str, draft: _Draft, completed_on: date,
          corrections: dict[str, str]) -> tuple[str, str]:
    texts = _texts()
    categories = ", ".join(RECORD_CATEGORY_LABELS.get(c, c) for c in draft.categories)
    named = ("\nThe records name: " + ", ".join(draft.named) + "." if draft.named else "")
    changes = ("\nThe corrected information: " + "; ".join(
        f"{field.replace('_', ' ')}: {value}" for field, value in corrections.items()) + "."
        if corrections else "")
    values = {
        "recipient": draft.recipient.name, "case_ref": case.ref,
        "action_label": ACTION_KIND_LABELS[kind].lower(),
        "completed_on": f"{completed_on:%B} {completed_on.day}, {completed_on.year}",
        "systems": ", ".join(draft.systems), "categories": categories, "rows": str(draft.rows),
        "named": named, "changes": changes, "consumer": _consumer(case),
        "asks": texts.asks[kind],
        "reply_days": str(NOTICE_DAYS),
    }
    subject = string.Template(texts.subjects[kind]).safe_substitute(values)
    return subject[:300], string.Template(texts.body).safe_substitute(values)


def add_notices(ctx: ServiceContext, session: Session, case: Case, action: RecordAction,
                result: ActionResult, recipients: dict[str, Recipient]) -> int:
    """Notices (each with its task) for the recipients of what an action did; a notice
    not yet sent is brought up to date by a later run. Returns how many were added."""
    today = ctx.clock.today()
    due = max(today, min(case.due_on, today + timedelta(days=NOTICE_DAYS)))
    existing = {n.recipient_key: n for n in session.scalars(
        select(DownstreamNotice).where(DownstreamNotice.action_id == action.id))}
    added = 0
    corrections = dict(result.request.corrections)
    for draft in drafts_for(result, recipients):
        subject, body = _fill(case, action.kind, draft, today, corrections)
        notice = existing.get(draft.recipient.key)
        if notice is not None:
            if notice.status == "open":
                notice.categories = ",".join(draft.categories)
                notice.systems = ",".join(draft.systems)
                notice.rows, notice.subject, notice.body = draft.rows, subject, body
            continue
        task = Task(kind="downstream_notice", due_on=due, status="open",
                    created_at=ctx.clock.now(),
                    title=f"Notify {draft.recipient.name} of the "
                          f"{ACTION_KIND_LABELS[action.kind].lower()} and record the answer"[:300])
        case.tasks.append(task)
        session.flush()
        session.add(DownstreamNotice(
            case_id=case.id, action_id=action.id, task_id=task.id,
            recipient_key=draft.recipient.key[:100], recipient_name=draft.recipient.name[:300],
            recipient_kind=draft.recipient.kind, email=draft.recipient.email[:320],
            postal_address=draft.recipient.postal_address,
            categories=",".join(draft.categories), systems=",".join(draft.systems),
            rows=draft.rows, subject=subject, body=body, status="open", due_on=due,
            created_at=ctx.clock.now()))
        added += 1
    return added


def notice_view(case_ref: str, notice: DownstreamNotice) -> NoticeView:
    return NoticeView(
        id=notice.id, case_ref=case_ref, action_id=notice.action_id, task_id=notice.task_id,
        recipient_key=notice.recipient_key, recipient_name=notice.recipient_name,
        recipient_kind=notice.recipient_kind, email=notice.email,
        postal_address=notice.postal_address,
        categories=tuple(c for c in notice.categories.split(",") if c),
        systems=tuple(s for s in notice.systems.split(",") if s), rows=notice.rows,
        subject=notice.subject, body=notice.body, status=notice.status,
        status_label=NOTICE_STATUS_LABELS.get(notice.status, notice.status),
        due_on=notice.due_on, created_at=notice.created_at, sent_at=notice.sent_at,
        sent_by=notice.sent_by or "", sent_how=notice.sent_how,
        answered_at=notice.answered_at, answered_by=notice.answered_by or "",
        answer_note=notice.answer_note)


def _notices(session: Session, case: Case) -> list[DownstreamNotice]:
    return list(session.scalars(select(DownstreamNotice)
                                .where(DownstreamNotice.case_id == case.id)
                                .order_by(DownstreamNotice.id)))


def list_notices(ctx: ServiceContext, ref: str) -> tuple[NoticeView, ...]:
    with ctx.read() as session:
        case = load_case(session, ref)
        return tuple(notice_view(case.ref, n) for n in _notices(session, case))


def open_notice_for_task(session: Session, task: Task) -> DownstreamNotice | None:
    """The unanswered notice a task stands for (its task is closed by answering it)."""
    return session.scalars(select(DownstreamNotice).where(
        DownstreamNotice.task_id == task.id,
        DownstreamNotice.status.in_(("open", "sent")))).first()


def _load(session: Session, case: Case, notice_id: int) -> DownstreamNotice:
    notice = session.get(DownstreamNotice, notice_id)
    if notice is None or notice.case_id != case.id:
        raise NotFound(f"{case.ref} has no downstream notice {notice_id}.")
    return notice


def mark_sent(ctx: ServiceContext, ref: str, notice_id: int, how: str) -> NoticeView:
    """The notice went out (by email, post...); it stays open until answered."""
    how = " ".join(how.split())
    if not how:
        raise InvalidInput("Say how the notice went out (email, first-class mail...).")
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        notice = _load(session, case, notice_id)
        if notice.status not in ("open", "sent"):
            raise TransitionRefused(f"The notice to {notice.recipient_name} is already "
                                    f"{NOTICE_STATUS_LABELS[notice.status].lower()}.")
        now = ctx.clock.now()
        notice.status, notice.sent_at, notice.sent_by = "sent", now, actor.username
        notice.sent_how = how[:100]
        touch(case, now)
        audit.record(session, actor=actor.username, action="notice.sent", at=now, case=case,
                     detail={"notice": notice.id, "recipient": notice.recipient_key,
                             "how": notice.sent_how})
        session.flush()
        return notice_view(case.ref, notice)


def record_answer(ctx: ServiceContext, ref: str, notice_id: int, *, acknowledged: bool,
                  note: str) -> NoticeView:
    """The recipient acknowledged the notice; or it was not notified, and ``note`` says
    why (required: the deletion letter must explain it)."""
    note = note.strip()
    if not acknowledged and not note:
        raise InvalidInput("Say why this recipient is not notified (e.g. impossible or a "
                           "disproportionate effort, and why): the letter explains it.")
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        notice = _load(session, case, notice_id)
        if notice.status not in ("open", "sent"):
            raise TransitionRefused(f"The notice to {notice.recipient_name} is already "
                                    f"{NOTICE_STATUS_LABELS[notice.status].lower()}.")
        if acknowledged and notice.status == "open":
            raise TransitionRefused(f"The notice to {notice.recipient_name} was not sent yet: "
                                    "record how it went out first.")
        now = ctx.clock.now()
        notice.status = "acknowledged" if acknowledged else "not_notified"
        notice.answered_at, notice.answered_by = now, actor.username
        notice.answer_note = note
        task = session.get(Task, notice.task_id) if notice.task_id else None
        if task is not None and task.status != "done":
            task.status, task.done_at = "done", now
        touch(case, now)
        audit.record(session, actor=actor.username,
                     action="notice.acknowledged" if acknowledged else "notice.not_notified",
                     at=now, case=case, detail={"notice": notice.id,
                                                "recipient": notice.recipient_key})
        session.flush()
        return notice_view(case.ref, notice)
