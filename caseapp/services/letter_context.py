"""What a letter knows (resources/letters/README.md), read from a case: plain values only.

Each kind's own part is filled only when that kind is asked for, and refused when the
case cannot support it yet ("no deletion confirmation before the deletion ran").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseapp.db.models import (
    AuditHead,
    Case,
    DownstreamNotice,
    Party,
    RecordAction,
    RecordHit,
    SourceSearch,
    User,
)
from caseapp.errors import InvalidInput, TransitionRefused
from caseapp.letters.layout import Organization
from caseapp.letters.words import Words
from caseapp.records.action_model import ActionResult
from caseapp.services.context import ServiceContext
from caseapp.services.dto import AccessReportData
from caseapp.services.views import party_of
from caseapp.vocabulary import ACTION_STATUS_LABELS

SETTLED = ("verified", "withdrawn")
"""Action states a confirmation letter can speak of: done and checked, or never to be."""
INCOMPLETE_SEARCH = ("unreachable", "schema_mismatch", "manual_pending")


@dataclass(frozen=True)
class Extra:
    """What staff add for one letter: what is needed (requests), the notice (downstream)."""

    needed: str = ""
    notice_id: int | None = None
    access: AccessReportData | None = None


def _address(party: Party | None) -> list[str]:
    if party is None:
        return []
    lines = [line.strip() for line in party.postal_address.splitlines() if line.strip()]
    if party.postal_code and not any(party.postal_code in line for line in lines):
        lines.append(party.postal_code)
    return [party.name.strip(), *lines] if lines and party.name.strip() else lines


def _name(party: Party | None) -> str:
    return party.name.strip() if party is not None else ""


def build_context(ctx: ServiceContext, session: Session, case: Case, kind: str,
                  words: Words, org: Organization, serial: str, extra: Extra) -> dict[str, Any]:
    requester = party_of(case, "requester")
    subject = party_of(case, "subject")
    today = ctx.clock.today()
    types = list(case.type_names)
    policy = ctx.rules.jurisdictions.policy(case.jurisdiction, types[0] if types else "other")
    appeal_policy = ctx.rules.jurisdictions.policy(case.jurisdiction, "appeal")
    staff = session.scalars(select(User).where(User.username == ctx.username)).first()
    context: dict[str, Any] = {
        "letter": {"kind": kind, "serial": serial, "date": words.date(today),
                   "language": words.language},
        "org": {"name": org.name, "department": org.department, "address": list(org.address),
                "email": org.email, "phone": org.phone, "website": org.website,
                "attorney_general": dict(org.attorneys_general).get(case.jurisdiction)
                or words["attorney_general"]},
        "case": {
            "ref": case.ref, "received_on": words.date(case.received_on),
            "channel": words.label("channels", case.channel),
            "request_types": [words.label("request_types", t) for t in types],
            "request_text": words.joined([words.label("request_types", t) for t in types]),
            "jurisdiction": policy.jurisdiction_name, "due_on": words.date(case.due_on),
            "acknowledge_by": words.date(case.acknowledge_by),
            "days_to_respond": policy.respond.days,
            "status": ctx.workflow.label(case.status), "reason": case.status_reason or "",
            "extended": case.extended_at is not None,
            "extension_reason": case.extension_reason or "",
            "original_due_on": words.date(case.original_due_on),
            "verification": words.label("verification", case.verification_method)
            if case.verification_method else "",
            "verified": bool(case.verification_method), "is_child": case.is_child,
            "via_agent": case.via_agent,
            "appeal_of": case.appeal_of.ref if case.appeal_of else "",
            "appeal_granted": False,
            "appeals_allowed": appeal_policy.appeals_allowed,
            "appeal_days": appeal_policy.respond.days},
        "requester": {"name": requester.name if requester else "",
                      "email": requester.email if requester else "",
                      "phone": requester.phone if requester else "",
                      "address": _address(requester),
                      "greeting_name": (requester.name if requester else "").strip()},
        "subject": {"name": _name(subject or requester),
                    "is_child": bool(subject and subject.is_child) or case.is_child,
                    "age": subject.age if subject and subject.age is not None else "",
                    "same_as_requester": subject is None},
        "staff": {"name": staff.display_name if staff and staff.display_name
                  else ctx.username},
        "deletion": {"decision": "none_held", "completed_on": "", "deleted": [], "kept": [],
                     "notified": [], "not_notified": [], "pending": [], "audit_hash": ""},
        "access": {"groups": [], "masked_note": "", "complete": True},
        "correction": {"changes": [], "completed_on": ""},
        "opt_out": {"systems": [], "completed_on": ""},
        "notice": {"recipient": "", "kind": "", "categories": "", "systems": "", "rows": 0,
                   "text": [], "due": ""},
        "info": {"needed": extra.needed.strip(), "respond_by": words.date(case.due_on)},
    }
    fill = _FILLERS.get(kind)
    if fill is not None:
        fill(ctx, session, case, words, context, extra)
    return context


def _actions(session: Session, case: Case, kinds: Sequence[str], what: str
             ) -> list[RecordAction]:
    """The verified actions of these kinds; refused while one is still on its way (a
    letter saying what was done must not run ahead of it)."""
    actions = list(session.scalars(select(RecordAction).where(
        RecordAction.case_id == case.id, RecordAction.kind.in_(list(kinds)))
        .order_by(RecordAction.id)))
    for action in actions:
        if action.status not in SETTLED:
            state = ACTION_STATUS_LABELS.get(action.status, action.status)
            raise TransitionRefused(
                f"{case.ref}: the {what} (action {action.id}) is {state.lower()}: the letter "
                "waits until it has run and been verified (or is withdrawn).")
    return [action for action in actions if action.status == "verified"]


@dataclass(frozen=True)
class SearchState:
    searched_on: date | None
    """The day of the latest search (None: never searched)."""
    confirmed: int
    undecided: int
    """Records the lookup proposed that nobody confirmed or rejected yet."""
    incomplete: tuple[str, ...]
    """Systems not searched to the end (unreachable, waiting for a search by hand)."""


def _search_state(ctx: ServiceContext, session: Session, case: Case) -> SearchState:
    searches = list(session.scalars(select(SourceSearch).where(SourceSearch.case_id == case.id)
                                    .order_by(SourceSearch.id)))
    latest = {s.source: s for s in searches}
    counts: dict[str, int] = {status: count for status, count in session.execute(
        select(RecordHit.status, func.count()).where(RecordHit.case_id == case.id)
        .group_by(RecordHit.status))}
    last = max((s.searched_at for s in searches if s.searched_at), default=None)
    return SearchState(
        searched_on=ctx.clock.local_date(last) if last else None,
        confirmed=counts.get("confirmed", 0), undecided=counts.get("proposed", 0),
        incomplete=tuple(s.source for s in latest.values() if s.outcome in INCOMPLETE_SEARCH))


def _nothing_held(ctx: ServiceContext, session: Session, case: Case) -> date | None:
    """The day the search ended with nothing found in any system (None: it did not)."""
    search = _search_state(ctx, session, case)
    if search.searched_on is None or search.confirmed or search.undecided or search.incomplete:
        return None
    return search.searched_on


def _deletion(ctx: ServiceContext, session: Session, case: Case, words: Words,
              context: dict[str, Any], _extra: Extra) -> None:
    actions = _actions(session, case, ("delete",), "deletion")
    part = context["deletion"]
    head = session.get(AuditHead, 1)
    part["audit_hash"] = head.hash if head else ""
    if not actions:
        search = _search_state(ctx, session, case)
        nothing_on = _nothing_held(ctx, session, case)
        if nothing_on is not None:
            part["completed_on"] = words.date(nothing_on)
            return  # decision "none_held"
        if search.undecided:
            raise TransitionRefused(
                f"{case.ref}: {search.undecided} record(s) the lookup found are neither "
                "confirmed nor rejected: decide them (and delete what is confirmed) before "
                "the deletion confirmation.")
        if search.incomplete:
            raise TransitionRefused(
                f"{case.ref}: not every system was searched to the end "
                f"({', '.join(search.incomplete)}): finish the search before the deletion "
                "confirmation.")
        raise TransitionRefused(
            f"No deletion confirmation before the deletion ran: {case.ref} has no deletion "
            "carried out yet (and its search is not complete with nothing found).")
    unsent = _unsent_notices(session, case)
    if unsent:
        raise TransitionRefused(
            f"{case.ref}: the downstream notices to {', '.join(unsent)} are not sent yet: send "
            "them (or record why a recipient is not notified) before the deletion "
            "confirmation, which says who was told.")
    for action in actions:
        result = ActionResult.from_json(action.result_json)
        done_on = words.date(ctx.clock.local_date(action.executed_at)
                             if action.executed_at else None)
        part["completed_on"] = done_on
        for source in result.sources:
            for table in source.tables:
                rows = len(table.changed) + len(table.already_done) + (
                    len(table.missing) if table.operation == "delete" else 0)
                if rows and table.operation in ("delete", "update"):
                    part["deleted"].append({
                        "category": words.category(table.category), "system": source.label,
                        "rows": rows, "how": words.label("how", table.operation),
                        "date": done_on})
                for kept in table.kept:
                    part["kept"].append({
                        "category": words.category(table.category), "system": source.label,
                        "reason": kept.reason, "legal_basis": kept.legal_basis, "rows": 1})
    part["kept"] = _merged(part["kept"])
    part["decision"] = "partial" if part["kept"] else "full"
    _notices(ctx, session, case, words, part)


def _unsent_notices(session: Session, case: Case) -> list[str]:
    return [n.recipient_name for n in session.scalars(select(DownstreamNotice).where(
        DownstreamNotice.case_id == case.id, DownstreamNotice.status == "open",
        DownstreamNotice.sent_at.is_(None)).order_by(DownstreamNotice.id))]


def _merged(kept: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per category, system and reason, with the rows counted."""
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in kept:
        key = (row["category"], row["system"], row["reason"])
        if key in merged:
            merged[key]["rows"] += row["rows"]
        else:
            merged[key] = dict(row)
    return list(merged.values())


def _notices(ctx: ServiceContext, session: Session, case: Case, words: Words,
             part: dict[str, Any]) -> None:
    for notice in session.scalars(select(DownstreamNotice).where(
            DownstreamNotice.case_id == case.id).order_by(DownstreamNotice.id)):
        kind = words.label("recipient_kinds", notice.recipient_kind)
        if notice.status == "not_notified":
            part["not_notified"].append({"recipient": notice.recipient_name, "kind": kind,
                                         "reason": notice.answer_note})
        elif notice.sent_at is not None:
            part["notified"].append({
                "recipient": notice.recipient_name, "kind": kind,
                "status": words.label("notice_status", notice.status),
                "date": words.date(ctx.clock.local_date(notice.sent_at))})
        else:
            part["pending"].append({"recipient": notice.recipient_name, "kind": kind,
                                    "due": words.date(notice.due_on)})


def _correction(ctx: ServiceContext, session: Session, case: Case, words: Words,
                context: dict[str, Any],
                _extra: Extra) -> None:
    actions = _actions(session, case, ("correct",), "correction")
    if not actions:
        raise TransitionRefused(f"No correction confirmation before the correction ran: "
                                f"{case.ref} has no correction carried out yet.")
    part = context["correction"]
    for action in actions:
        result = ActionResult.from_json(action.result_json)
        part["completed_on"] = words.date(ctx.clock.local_date(action.executed_at)
                                          if action.executed_at else None)
        for source in result.sources:
            for table in source.tables:
                if not (table.changed or table.already_done):
                    continue
                for column, value in table.set_values.items():
                    part["changes"].append({"system": source.label,
                                            "category": words.category(table.category),
                                            "field": words.field(column),
                                            "value": "" if value is None
                                            else str(value)})


def _opt_out(ctx: ServiceContext, session: Session, case: Case, words: Words,
             context: dict[str, Any],
             _extra: Extra) -> None:
    actions = _actions(session, case, ("opt_out", "stop_sharing"), "opt-out")
    asked = {"opt_out_marketing", "opt_out_sale_share", "limit_sensitive"} & set(case.type_names)
    if not actions and not asked:
        raise TransitionRefused(f"{case.ref} asks for no opt-out.")
    part = context["opt_out"]
    for action in actions:
        result = ActionResult.from_json(action.result_json)
        part["completed_on"] = words.date(ctx.clock.local_date(action.executed_at)
                                          if action.executed_at else None)
        for source in result.sources:
            for table in source.tables:
                rows = len(table.changed) + len(table.already_done)
                if rows:
                    part["systems"].append({"system": source.label, "rows": rows,
                                            "category": words.category(table.category)})


def _access(ctx: ServiceContext, session: Session, case: Case, words: Words,
            context: dict[str, Any],
            extra: Extra) -> None:
    require_verified(case)
    search = _search_state(ctx, session, case)
    if search.undecided:
        raise TransitionRefused(
            f"{case.ref}: {search.undecided} record(s) the lookup found are neither confirmed "
            "nor rejected: decide them first, so the report holds every record.")
    if extra.access is None:
        raise TransitionRefused(f"{case.ref}: the access report needs the records read from "
                                "the customer systems.")
    part = context["access"]
    part["masked_note"] = extra.access.masked_note
    part["complete"] = extra.access.complete and not any(g.problem for g in extra.access.groups)
    for group in extra.access.groups:
        part["groups"].append({
            "category": words.category(group.category), "system": group.source_label,
            "purpose": words.label("purposes", group.category)
            if group.category in words.data.get("purposes", {}) else "",
            "shared_with": list(group.recipients),
            "records": [{"table": record.table_label, "key": record.record_key,
                         "fields": [{"name": words.field(name), "value": words["withheld"]
                                     if name in record.masked else value}
                                    for name, value in record.fields]}
                        for record in group.records]})


def require_verified(case: Case) -> None:
    if not case.verification_method:
        raise TransitionRefused(
            f"{case.ref}: identity is not verified: an access report discloses personal "
            "information only to a requester whose identity was checked (11 CCR §7060-7062). "
            "Take the Identity verified step first.")


def _request(ctx: ServiceContext, session: Session, case: Case, words: Words,
             context: dict[str, Any],
             extra: Extra) -> None:
    needed = extra.needed.strip() or (case.status_reason or "").strip()
    if not needed:
        raise InvalidInput("Say what the requester must send (it goes into the letter).")
    context["info"]["needed"] = needed


def _extension(ctx: ServiceContext, session: Session, case: Case, words: Words,
               context: dict[str, Any],
               _extra: Extra) -> None:
    if case.extended_at is None:
        raise TransitionRefused(f"{case.ref} is not extended: extend the deadline first "
                                "(the reason goes into this notice).")


def _denial(ctx: ServiceContext, session: Session, case: Case, words: Words,
            context: dict[str, Any],
            _extra: Extra) -> None:
    if case.status not in ("denied", "closed_unverified") or not case.status_reason:
        raise TransitionRefused(f"{case.ref} is not denied: take the Deny step with its "
                                "reason first (the reason goes into the letter).")


def _appeal(ctx: ServiceContext, session: Session, case: Case, words: Words,
            context: dict[str, Any],
            _extra: Extra) -> None:
    if "appeal" not in case.type_names or case.appeal_of is None:
        raise TransitionRefused(f"{case.ref} is not an appeal.")
    if case.status == "denied" and case.status_reason:
        context["case"]["appeal_granted"] = False
    elif case.status in ("response_sent", "closed"):
        context["case"]["appeal_granted"] = True
    else:
        raise TransitionRefused(f"{case.ref}: decide the appeal first: Deny (with the "
                                "reasons) upholds the decision; Approve, response sent "
                                "grants the appeal.")


def _parent(ctx: ServiceContext, session: Session, case: Case, words: Words,
            context: dict[str, Any],
            extra: Extra) -> None:
    if not context["subject"]["is_child"]:
        raise TransitionRefused(f"{case.ref} is not about a child.")
    if _actions(session, case, ("delete",), "deletion") or _nothing_held(ctx, session, case):
        _deletion(ctx, session, case, words, context, extra)


def _notice(ctx: ServiceContext, session: Session, case: Case, words: Words,
            context: dict[str, Any],
            extra: Extra) -> None:
    notice = session.get(DownstreamNotice, extra.notice_id) if extra.notice_id else None
    if notice is None or notice.case_id != case.id:
        raise InvalidInput(f"Name the downstream notice of {case.ref} this letter is for.")
    context["notice"] = {
        "recipient": notice.recipient_name,
        "kind": words.label("recipient_kinds", notice.recipient_kind),
        "categories": ", ".join(words.category(c) for c in notice.categories.split(",") if c),
        "systems": ", ".join(s for s in notice.systems.split(",") if s), "rows": notice.rows,
        "text": [line for line in notice.body.splitlines() if line.strip()],
        "due": words.date(notice.due_on)}


_FILLERS = {
    "deletion_confirmation": _deletion, "correction_confirmation": _correction,
    "opt_out_confirmation": _opt_out, "access_report": _access,
    "verification_request": _request, "information_request": _request,
    "extension_notice": _extension, "denial": _denial, "appeal_decision": _appeal,
    "parent_response": _parent, "downstream_notice": _notice,
}
