"""Creating, finding, listing and editing cases."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.orm.attributes import flag_modified

from caseapp import audit
from caseapp.db.models import AuditEvent, Case, CaseRequestType, Note, Party, RefCounter, User
from caseapp.errors import InvalidInput, NotFound, StaleEdit
from caseapp.services.claims import CLAIM_ACTIONS
from caseapp.services.context import ServiceContext
from caseapp.services.dto import (
    CaseDetail,
    CasePage,
    CaseQuery,
    CaseRow,
    Changed,
    NewCase,
    PartyData,
)
from caseapp.services.views import case_detail, request_lock
from caseapp.vocabulary import (
    CHANNELS,
    LANGUAGES,
    PRIORITIES,
    PRIORITY_NAMES,
    RELATIONSHIPS,
    REQUEST_TYPES,
)
from caseapp.workflow.deadlines import compute_deadlines
from caseapp.workflow.machine import Actor

# Any SELECT, whatever its columns (SQLAlchemy 2.1 types them as a tuple).
AnySelect = Select[*tuple[Any, ...]]

REF_PATTERN = re.compile(r"^PR-(\d{4})-(\d{5,})$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
VIEWS = ("mine", "to_review", "open", "due_soon", "overdue", "closed", "all")
MAX_TEXT = 20_000


def normalize_ref(ref: str) -> str:
    cleaned = ref.strip().upper()
    if not REF_PATTERN.match(cleaned):
        raise InvalidInput(f"'{ref}' is not a case reference (they look like PR-2026-00042).")
    return cleaned


def load_case(session: Session, ref: str) -> Case:
    wanted = normalize_ref(ref)
    case = session.scalars(
        select(Case)
        .where(Case.ref == wanted)
        .options(
            selectinload(Case.parties),
            selectinload(Case.request_types),
            selectinload(Case.notes),
            selectinload(Case.tasks),
        )
    ).first()
    if case is None:
        raise NotFound(f"No case {wanted}.")
    return case


def check_version(case: Case, expected: int | None) -> None:
    if expected is not None and case.version != expected:
        raise StaleEdit(
            f"{case.ref} was changed by someone else since you opened it (version "
            f"{expected} → {case.version}). Nothing was overwritten: reload and try again."
        )


class EditConflict(StaleEdit):
    """An edit started from an older version of the case: nothing was written. Carries
    the case as it is now and the version the edit started from, so the window can show
    what the other person changed and let the edit be applied on top (merged)."""

    def __init__(self, message: str, current: CaseDetail, expected_version: int,
                 who: str = "someone else") -> None:
        super().__init__(message)
        self.current = current
        self.expected_version = expected_version
        self.who = who  # who saved last (the merge names them)


def _check_fresh(ctx: ServiceContext, session: Session, case: Case, actor: Actor,
                 expected: int | None) -> None:
    """check_version for the edit services: a stale edit comes with the case as it is."""
    if expected is None or case.version == expected:
        return
    who = _last_editor(session, case)
    raise EditConflict(
        f"{case.ref} was changed by {who} since you opened it (version {expected} → "
        f"{case.version}). Nothing was overwritten.",
        case_detail(ctx, session, case, actor), expected, who)


def _last_editor(session: Session, case: Case) -> str:
    actor = session.scalars(
        select(AuditEvent.actor).where(AuditEvent.case_id == case.id,
                                       AuditEvent.action.not_in(CLAIM_ACTIONS))
        .order_by(AuditEvent.seq.desc()).limit(1)).first()
    return actor or "someone else"


def touch(case: Case, now: datetime) -> None:
    """Mark a case changed: its version goes up even when only related rows changed,
    so another workstation's stale edit is refused (optimistic locking)."""
    case.updated_at = now
    flag_modified(case, "updated_at")


def _next_ref(session: Session, year: int) -> str:
    counter = session.get(RefCounter, year)
    if counter is None:
        counter = RefCounter(year=year, last=0)
        session.add(counter)
    counter.last += 1
    return f"PR-{year}-{counter.last:05d}"


# What the party columns hold (PostgreSQL refuses longer values outright).
PARTY_LIMITS = {"name": 300, "email": 254, "phone": 40, "postal_code": 20, "state": 10}


def _clean_party(data: PartyData, what: str) -> PartyData:
    for item in fields(data):
        value = getattr(data, item.name)
        limit = PARTY_LIMITS.get(item.name, MAX_TEXT)
        if isinstance(value, str) and len(value.strip()) > limit:
            raise InvalidInput(f"{what} {item.name.replace('_', ' ')} is too long "
                               f"(at most {limit} characters).")
    email = data.email.strip()
    if email and not EMAIL_PATTERN.match(email):
        raise InvalidInput(f"{what} email '{email}' is not an email address.")
    if data.relationship not in RELATIONSHIPS:
        raise InvalidInput(
            f"{what} relationship must be one of: {', '.join(RELATIONSHIPS)}."
        )
    if data.age is not None and not 0 <= data.age < 130:
        raise InvalidInput(f"{what} age must be between 0 and 129.")
    state = data.state.strip().upper()
    is_child = data.is_child or (data.age is not None and data.age < 13)
    return PartyData(
        name=" ".join(data.name.split()),
        email=email,
        phone=data.phone.strip(),
        postal_address=data.postal_address.strip(),
        postal_code=data.postal_code.strip(),
        state=state,
        is_child=is_child,
        age=data.age,
        relationship=data.relationship,
    )


def _apply_party(party: Party, data: PartyData) -> list[str]:
    changed = []
    mapping = asdict(data)
    mapping["relationship_to_subject"] = mapping.pop("relationship")
    for key, value in mapping.items():
        if getattr(party, key) != value:
            setattr(party, key, value)
            changed.append(key)
    return changed


def refresh_deadlines(ctx: ServiceContext, case: Case) -> None:
    computed = compute_deadlines(
        ctx.rules.jurisdictions,
        case.jurisdiction,
        case.type_names,
        case.received_on,
        extended=case.extended_at is not None,
        paused_days=case.paused_days,
    )
    case.acknowledge_by = computed.acknowledge_by
    case.due_on = computed.respond_by
    case.original_due_on = computed.original_respond_by


def _check_types(types: tuple[str, ...]) -> tuple[str, ...]:
    if not types:
        raise InvalidInput("Choose at least one request type.")
    unknown = [t for t in types if t not in REQUEST_TYPES]
    if unknown:
        raise InvalidInput(
            f"Unknown request type(s): {', '.join(unknown)}. Known: {', '.join(REQUEST_TYPES)}."
        )
    return tuple(dict.fromkeys(types))


def _user(session: Session, username: str | None) -> User | None:
    if not username:
        return None
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"No user '{username}'.")
    return user


def create_case(ctx: ServiceContext, new: NewCase) -> Changed:
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = insert_case(ctx, session, actor.username, new)
        return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,))


def insert_case(ctx: ServiceContext, session: Session, actor: str, new: NewCase,
                flush: bool = True) -> Case:
    """Validate and add a new case, audited, inside the caller's unit of work."""
    if new.channel not in CHANNELS:
        raise InvalidInput(f"Channel must be one of: {', '.join(CHANNELS)}.")
    types = _check_types(new.request_types)
    requester = _clean_party(new.requester, "Requester")
    subject = _clean_party(new.subject, "Data subject") if new.subject else None
    if not (requester.name or requester.email or requester.phone):
        raise InvalidInput("The requester needs at least a name, an email or a phone number.")
    if new.priority is not None and new.priority not in PRIORITIES:
        raise InvalidInput(f"Priority must be one of: {', '.join(PRIORITIES)}.")
    if len(new.summary) > MAX_TEXT:
        raise InvalidInput("The summary is too long.")
    if new.language not in LANGUAGES:
        raise InvalidInput(f"Language must be one of: {', '.join(LANGUAGES)}.")
    today = ctx.clock.today()
    now = ctx.clock.now()
    exact = min(new.received_at, now) if new.received_at is not None else None
    received_on = ctx.clock.local_date(exact) if exact else (new.received_on or today)
    if received_on > today:
        raise InvalidInput(f"The received date {received_on} is in the future.")
    jurisdictions = ctx.rules.jurisdictions
    stated = new.jurisdiction or (subject.state if subject and subject.state else "") or (
        requester.state
    )
    jurisdiction = jurisdictions.normalize(stated)
    is_child = bool(subject and subject.is_child)
    priority = new.priority or (jurisdictions.child_priority if is_child else "normal")
    # A request typed in today was received now; one dated earlier, at the start of its day.
    received_at = exact or (
        now if received_on == today else ctx.clock.start_of_local_day(received_on)
    )
    case = Case(
        ref=_next_ref(session, today.year),
        channel=new.channel,
        status=ctx.workflow.initial,
        jurisdiction=jurisdiction,
        is_privacy_request=(
            new.is_privacy_request if new.is_privacy_request is not None
            else set(types) != {"other"}
        ),
        is_child=is_child,
        via_agent=bool(subject) and requester.relationship == "authorized_agent",
        subject_is_requester=subject is None,
        priority=PRIORITIES[priority],
        language=new.language,
        summary=new.summary.strip(),
        intake_review=new.intake_review,
        received_at=received_at,
        received_on=received_on,
        paused_days=0,
        created_at=now,
        updated_at=now,
        created_by=actor,
        assignee=_user(session, new.assignee),
    )
    case.request_types = [CaseRequestType(request_type=t) for t in types]
    parties = [Party(role="requester")]
    _apply_party(parties[0], requester)
    if subject is not None:
        parties.append(Party(role="subject"))
        _apply_party(parties[1], subject)
    case.parties = parties
    refresh_deadlines(ctx, case)
    session.add(case)
    if flush:
        session.flush()
    audit.record(
        session, actor=actor, action="case.created", at=now, case=case,
        detail={
            "channel": case.channel,
            "request_types": list(types),
            "jurisdiction": jurisdiction,
            "received_on": received_on.isoformat(),
            "due_on": case.due_on.isoformat(),
            "is_child": is_child,
        },
    )
    if flush:
        session.flush()
    return case


def get_case(ctx: ServiceContext, ref: str) -> CaseDetail:
    with ctx.read() as session:
        actor = ctx.actor(session)
        return case_detail(ctx, session, load_case(session, ref), actor)


def update_party(
    ctx: ServiceContext, ref: str, role: str, data: PartyData, expected_version: int | None
) -> Changed:
    if role not in ("requester", "subject"):
        raise InvalidInput("Role must be requester or subject.")
    cleaned = _clean_party(data, role.capitalize())
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        _check_fresh(ctx, session, case, actor, expected_version)
        if not ctx.workflow.state(case.status).is_open:
            raise InvalidInput(f"{case.ref} is decided: its parties are no longer changed.")
        derived_before = _derived_jurisdiction(ctx, case)
        party = next((p for p in case.parties if p.role == role), None)
        if party is None:
            party = Party(role=role)
            case.parties.append(party)
            case.subject_is_requester = False
        changed = _apply_party(party, cleaned)
        if not changed:
            return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,),
                           list_changed=False)
        subject = next((p for p in case.parties if p.role == "subject"), None)
        was_child = case.is_child
        case.is_child = bool(subject and subject.is_child)
        if case.is_child and not was_child:
            # A child case found out later is as urgent as one known from the start (COPPA).
            urgent = PRIORITIES[ctx.rules.jurisdictions.child_priority]
            case.priority = min(case.priority, urgent)
        case.via_agent = bool(subject) and any(
            p.role == "requester" and p.relationship_to_subject == "authorized_agent"
            for p in case.parties
        )
        detail: dict[str, object] = {"role": role, "fields": changed}
        # A jurisdiction that came from the party's state follows a corrected state, and
        # with it the legal clocks; one set explicitly (or a locked request) stays.
        derived_after = _derived_jurisdiction(ctx, case)
        if (derived_after != derived_before and case.jurisdiction == derived_before
                and not request_lock(ctx, case)):
            detail["jurisdiction"] = {"from": case.jurisdiction, "to": derived_after}
            case.jurisdiction = derived_after
            before_due = case.due_on
            refresh_deadlines(ctx, case)
            detail["due_on"] = {"from": before_due.isoformat(), "to": case.due_on.isoformat()}
        touch(case, ctx.clock.now())
        audit.record(session, actor=actor.username, action="party.updated", at=case.updated_at,
                     case=case, detail=detail)
        session.flush()
        return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,))


def _derived_jurisdiction(ctx: ServiceContext, case: Case) -> str:
    """The jurisdiction the parties' states point to (the subject's first)."""
    subject = next((p for p in case.parties if p.role == "subject"), None)
    requester = next((p for p in case.parties if p.role == "requester"), None)
    state = (subject.state if subject and subject.state else "") or (
        requester.state if requester else "")
    return ctx.rules.jurisdictions.normalize(state)


def update_case(
    ctx: ServiceContext,
    ref: str,
    expected_version: int | None,
    *,
    request_types: tuple[str, ...] | None = None,
    jurisdiction: str | None = None,
    received_on: date | None = None,
    priority: str | None = None,
    summary: str | None = None,
    language: str | None = None,
) -> Changed:
    """Change what the request is; due dates are recomputed from the new facts.

    Types, jurisdiction and received date are frozen once the case went to review (or
    was decided): changing them then would slip past the four-eyes review or rewrite a
    legal clock after the fact. The audit keeps the old and new values.
    """
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        _check_fresh(ctx, session, case, actor, expected_version)
        if not ctx.workflow.state(case.status).is_open:
            raise InvalidInput(request_lock(ctx, case))
        changes: dict[str, dict[str, object]] = {}
        types = _check_types(request_types) if request_types is not None else None
        code = ctx.rules.jurisdictions.normalize(jurisdiction) if jurisdiction else None
        if received_on is not None and received_on > ctx.clock.today():
            raise InvalidInput(f"The received date {received_on} is in the future.")
        request_changes = (
            (types is not None and types != tuple(case.type_names))
            or (code is not None and code != case.jurisdiction)
            or (received_on is not None and received_on != case.received_on)
        )
        lock = request_lock(ctx, case)
        if request_changes and lock:
            raise InvalidInput(lock)
        if types is not None and types != tuple(case.type_names):
            changes["request_types"] = {"from": list(case.type_names), "to": list(types)}
            # Remove the old rows first: (case_id, request_type) is unique, and a type
            # kept across the change would otherwise be inserted before it is deleted.
            case.request_types = []
            session.flush()
            case.request_types = [CaseRequestType(request_type=t) for t in types]
            case.is_privacy_request = set(types) != {"other"}
        if code is not None and code != case.jurisdiction:
            changes["jurisdiction"] = {"from": case.jurisdiction, "to": code}
            case.jurisdiction = code
        if received_on is not None and received_on != case.received_on:
            changes["received_on"] = {"from": case.received_on.isoformat(),
                                      "to": received_on.isoformat()}
            case.received_on = received_on
            case.received_at = ctx.clock.start_of_local_day(received_on)
        if priority is not None:
            if priority not in PRIORITIES:
                raise InvalidInput(f"Priority must be one of: {', '.join(PRIORITIES)}.")
            if PRIORITIES[priority] != case.priority:
                changes["priority"] = {"from": PRIORITY_NAMES.get(case.priority),
                                       "to": priority}
                case.priority = PRIORITIES[priority]
        if summary is not None and summary.strip() != case.summary:
            if len(summary) > MAX_TEXT:
                raise InvalidInput("The summary is too long.")
            changes["summary"] = {"length": len(summary.strip())}  # text stays out of the log
            case.summary = summary.strip()
        if language is not None and language != case.language:
            if language not in LANGUAGES:
                raise InvalidInput(f"Language must be one of: {', '.join(LANGUAGES)}.")
            changes["language"] = {"from": case.language, "to": language}
            case.language = language
        if not changes:
            return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,),
                           list_changed=False)
        before_due = case.due_on
        if request_changes:  # a tidied summary must not re-time the case under new rules
            refresh_deadlines(ctx, case)
        if case.due_on != before_due:
            changes["due_on"] = {"from": before_due.isoformat(), "to": case.due_on.isoformat()}
        touch(case, ctx.clock.now())
        audit.record(session, actor=actor.username, action="case.updated", at=case.updated_at,
                     case=case, detail={"fields": sorted(changes), "changes": changes})
        session.flush()
        return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,))


def assign(ctx: ServiceContext, ref: str, username: str | None,
           expected_version: int | None = None) -> Changed:
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        _check_fresh(ctx, session, case, actor, expected_version)
        user = _user(session, username)
        before = case.assignee.username if case.assignee else None
        case.assignee = user
        touch(case, ctx.clock.now())
        audit.record(session, actor=actor.username, action="case.assigned", at=case.updated_at,
                     case=case, detail={"from": before, "to": user.username if user else None})
        session.flush()
        return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,))


def add_note(ctx: ServiceContext, ref: str, body: str) -> Changed:
    text = body.strip()
    if not text:
        raise InvalidInput("The note is empty.")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"A note can hold at most {MAX_TEXT:,} characters.")
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        now = ctx.clock.now()
        case.notes.append(Note(author=actor.username, created_at=now, body=text))
        touch(case, now)
        audit.record(session, actor=actor.username, action="case.note", at=now, case=case,
                     detail={"length": len(text)})
        session.flush()
        return Changed(case=case_detail(ctx, session, case, actor), refs=(case.ref,),
                       list_changed=False)


# --- the case list -------------------------------------------------------------------

_requester = aliased(Party)

SORT_KEYS: dict[str, tuple[Any, ...]] = {
    # "desk" is the default order: urgent (child) cases first, then the earliest due.
    "desk": (Case.priority, Case.due_on),
    "ref": (Case.id,),
    "status": (Case.status,),
    "channel": (Case.channel,),
    "requester": (_requester.name,),
    "types": (Case.id,),
    "jurisdiction": (Case.jurisdiction,),
    "received": (Case.received_on,),
    "due": (Case.due_on,),
    "priority": (Case.priority,),
    "assignee": (User.username,),
}


def _filtered(ctx: ServiceContext, query: CaseQuery, statement: AnySelect,
              requester_joined: bool = False) -> AnySelect:
    """Apply the view and filters; joins the requester only when the filter needs it."""
    workflow = ctx.workflow
    today = ctx.clock.today()
    open_states = workflow.open_states
    if query.view not in VIEWS:
        raise InvalidInput(f"Unknown view '{query.view}'. Known: {', '.join(VIEWS)}.")
    if query.view == "mine":
        me = select(User.id).where(User.username == ctx.username).scalar_subquery()
        statement = statement.where(Case.assignee_id == me, Case.status.in_(open_states))
    elif query.view == "to_review":
        statement = statement.where(Case.intake_review.is_(True), Case.status.in_(open_states))
    elif query.view == "open":
        statement = statement.where(Case.status.in_(open_states))
    elif query.view == "due_soon":
        statement = statement.where(
            Case.status.in_(workflow.awaiting_response_states),
            Case.due_on >= today,
            Case.due_on <= today + timedelta(days=query.due_soon_days),
        )
    elif query.view == "overdue":
        statement = statement.where(Case.status.in_(workflow.awaiting_response_states),
                                    Case.due_on < today)
    elif query.view == "closed":
        statement = statement.where(Case.status.in_(workflow.closed_states))
    if query.status:
        if query.status not in workflow.states:
            raise InvalidInput(
                f"Unknown status '{query.status}'. Known: {', '.join(workflow.states)}."
            )
        statement = statement.where(Case.status == query.status)
    text = query.text.strip()
    if text:
        pattern = f"%{text.replace('%', '').replace('_', '')}%"
        if not requester_joined:
            statement = _with_requester(statement)
        statement = statement.where(
            or_(
                Case.ref.ilike(pattern),
                _requester.name.ilike(pattern),
                _requester.email.ilike(pattern),
                Case.summary.ilike(pattern),
            )
        )
    return statement


def _with_requester(statement: AnySelect) -> AnySelect:
    return statement.outerjoin(
        _requester, and_(_requester.case_id == Case.id, _requester.role == "requester")
    )


def _with_assignee(statement: AnySelect) -> AnySelect:
    return statement.outerjoin(User, User.id == Case.assignee_id)


def count_cases(ctx: ServiceContext, query: CaseQuery) -> int:
    with ctx.read() as session:
        return _count(ctx, session, query)


def _count(ctx: ServiceContext, session: Session, query: CaseQuery) -> int:
    statement = _filtered(ctx, query, select(func.count(Case.id)).select_from(Case))
    return int(session.scalar(statement) or 0)


def list_cases(ctx: ServiceContext, query: CaseQuery, offset: int = 0, limit: int = 200) -> (
    CasePage
):
    """One page of the case list; only the page's rows are read, never the whole list."""
    ids_statement = _ordered_ids(ctx, query)
    with ctx.read() as session:
        total = _count(ctx, session, query)
        # First the page's ids, joining only what the order and filter need ...
        page_ids = list(session.scalars(ids_statement.offset(offset).limit(limit)))
        # ... then what the list shows, for those rows only.
        result = case_rows(ctx, session, page_ids)
    return CasePage(rows=tuple(result), offset=offset, total=total)


def _ordered_ids(ctx: ServiceContext, query: CaseQuery) -> AnySelect:
    """The ids of the query's cases in the list's order (joining only what it needs)."""
    if query.sort not in SORT_KEYS:
        raise InvalidInput(f"Cannot sort by '{query.sort}'. Known: {', '.join(SORT_KEYS)}.")
    keys = SORT_KEYS[query.sort]
    order = [key.desc() if query.descending else key.asc() for key in keys]
    order.append(Case.id.desc() if query.descending else Case.id.asc())
    statement = select(Case.id).select_from(Case)
    by_requester = query.sort == "requester"
    if by_requester:
        statement = _with_requester(statement)
    statement = _filtered(ctx, query, statement, requester_joined=by_requester)
    if query.sort == "assignee":
        statement = _with_assignee(statement)
    return statement.order_by(*order)


def audit_mark(ctx: ServiceContext) -> int:
    """The last audit event's seq: read before a list, it tells the cases created after
    the list was read (cases_created_since). Appends are serialized by the chain's lock
    until they commit (caseapp.audit), so a later commit always has a later seq."""
    with ctx.read() as session:
        return int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def cases_created_since(ctx: ServiceContext, query: CaseQuery, seq: int,
                        limit: int = 200) -> CasePage:
    """The query's cases created after audit event ``seq`` (an ``audit_mark``), in the
    list's order; ``total`` counts them all. What a list loaded at the mark lacks."""
    created = select(AuditEvent.case_id).where(AuditEvent.seq > seq,
                                               AuditEvent.action == "case.created")
    with ctx.read() as session:
        total = int(session.scalar(
            _filtered(ctx, query, select(func.count(Case.id)).select_from(Case))
            .where(Case.id.in_(created))) or 0)
        ids = list(session.scalars(
            _ordered_ids(ctx, query).where(Case.id.in_(created)).limit(limit))) if total else []
        result = case_rows(ctx, session, ids)
    return CasePage(rows=tuple(result), offset=0, total=total)


def case_rows(ctx: ServiceContext, session: Session, case_ids: list[int]) -> list[CaseRow]:
    """The case list's rows of these cases, in this order (missing ids left out)."""
    return list(case_rows_by_id(ctx, session, case_ids).values())


@cache  # a statement is immutable, and building it cost more than running it for one hit
def case_row_columns() -> AnySelect:
    """SELECT the case list's columns of cases (requester and assignee joined, request
    types in the order given), in the order ``case_rows_from`` reads them; add a WHERE,
    joins or more columns after them."""
    request_types = select(
        func.aggregate_strings(CaseRequestType.request_type, ",")
        .aggregate_order_by(CaseRequestType.id)
    ).where(CaseRequestType.case_id == Case.id).correlate(Case).scalar_subquery()
    return _with_assignee(_with_requester(select(
        Case.id, Case.ref, Case.status, Case.channel, _requester.name, Case.jurisdiction,
        Case.received_on, Case.due_on, Case.priority, Case.is_child, User.username,
        Case.intake_review, Case.claimed_by, Case.claimed_at, Case.claim_expires_at,
        request_types,
    ).select_from(Case)))


ROW_COLUMNS = 16
"""How many columns ``case_row_columns`` selects: the ones added after them follow."""


def case_rows_by_id(ctx: ServiceContext, session: Session, case_ids: list[int]
                    ) -> dict[int, CaseRow]:
    """The case list's rows of these cases by case id, in the order of ``case_ids``
    (missing ids left out)."""
    shown = session.connection().execute(
        case_row_columns().where(Case.id.in_(case_ids))).all() if case_ids else []
    by_id = {row[0]: row for row in shown}
    return case_rows_from(ctx, [by_id[case_id] for case_id in case_ids if case_id in by_id])


def case_rows_from(ctx: ServiceContext, rows: Sequence[Sequence[Any]]) -> dict[int, CaseRow]:
    """The case list's rows, by case id in the order given, from rows that start with the
    columns of ``case_row_columns``."""
    today = ctx.clock.today()
    workflow = ctx.workflow
    result: dict[int, CaseRow] = {}
    now = ctx.clock.now()
    for (case_id, ref, status, channel, name, jurisdiction, received_on, due_on, priority,
         is_child, assignee, intake_review, claimed_by, claimed_at,
         claim_expires, request_types) in (row[:ROW_COLUMNS] for row in rows):
        live = bool(claimed_by) and claim_expires is not None and claim_expires >= now
        state = workflow.states.get(status)
        is_open = bool(state and state.is_open)
        running = is_open and not (state and state.clock_stopped)
        days_left = (due_on - today).days
        result[case_id] = (
            CaseRow(
                ref=ref,
                status=status,
                status_label=workflow.label(status),
                is_open=is_open,
                channel=channel,
                request_types=tuple(request_types.split(",")) if request_types else (),
                requester_name=name or "",
                jurisdiction=jurisdiction,
                received_on=received_on,
                due_on=due_on,
                days_left=days_left,
                overdue=running and days_left < 0,
                priority=PRIORITY_NAMES.get(priority, "normal"),
                is_child=is_child,
                assignee=assignee or "",
                intake_review=bool(intake_review),
                claimed_by=claimed_by if live else "",
                claimed_since=claimed_at if live else None,
            )
        )
    return result
