"""Retention: the personal information of cases closed more than 24 months ago is purged.

11 CCR §7101 keeps the record of a request for 24 months: date, nature and manner of the
request, date and nature of the response, basis for a denial. After that the desk keeps
no personal information about the requester or the data subject: only the §7101 fields
(the request log and the §7102 metrics give the same figures before and after a purge),
the case's workflow outline, the suppression list (salted hashes, so the person is not
added again by mistake) and the audit trail's outline (who did what when; details that
held personal data are redacted with the chain still verifying: caseapp.audit).

**The boundary.** A case closed on day D (the desk's date of ``closed_at``) is kept
through the same day 24 months later (D + 24 months; a 29 February closes on
28 February) and purged from the day after: closed on 2024-12-04, purged from 2026-12-05.
A case with an open appeal is kept until the appeal is closed (its own clock).

**Per table and column** (caseapp/db/models.py), what a purge does to a case's rows:

- ``cases``: KEPT ref, channel, status, previous_status, jurisdiction,
  is_privacy_request, is_child, via_agent, subject_is_requester, priority, language,
  intake_review, every date and moment (received, acknowledged, due, extended, held,
  responded, closed), paused_days, verification_method (a method name, never an ID
  number), submitted_for_review_by / created_by / assignee (staff), duplicate_of,
  appeal_of, version; ``status_reason`` KEPT for a denial (denied, closed unverified:
  §7101's basis for denial, which the log and metrics read), CLEARED otherwise (hold,
  withdrawal reasons: free text); ``summary`` REPLACED by a note of the purge;
  ``extension_reason`` CLEARED (free text); ``purged_at`` SET.
- ``case_request_types``: KEPT (the nature of the request).
- ``parties``: name, email, phone, postal_address, postal_code CLEARED, age NULL; KEPT
  role, state (the jurisdiction's basis), is_child, relationship_to_subject (the outline:
  a parent's or an agent's request).
- ``notes``: DELETED (free text).
- ``tasks``: title REPLACED ("Read the new message from <sender>"...); KEPT kind, dates,
  status, assignee (staff).
- ``messages`` (in, out, scans): DELETED, with their raw bytes; ``mailbox_uids`` KEPT
  (mailbox, UIDVALIDITY, UID: so the mailbox is not fetched again) with message_id NULL.
- ``documents`` (attachments, scans with their OCR text, letters' PDFs with their text):
  DELETED; ``blobs`` DELETED unless another row still refers to the same bytes (another
  case's document or message, another letter, the letterhead logo). Documents are stored
  in the database only (``storage_path`` is never set); a path there would be deleted
  after the commit.
- ``letters``: KEPT kind, language, serial, sha256 and fingerprint (the PDF's and its
  content's digests), texts_sha256, delivery, issued/mailed/emailed/returned dates and
  by whom, mail_method, notice_id; recipient, emailed_to, tracking_number, subject
  CLEARED; title REPLACED by the kind's name; document_id NULL (the PDF is gone).
- ``record_hits``: DELETED (record keys, matched identifiers, snapshots).
- ``source_searches``: KEPT source, when, by whom, outcome, hit_count, task_id; detail
  CLEARED (error texts and manual notes may name the person).
- ``record_actions``: KEPT kind, status, token, approvals and runs (who, when),
  rows_planned, rows_changed; the JSON of the request, plan, result and verification
  keep their shape, sources, tables, categories, operations and counts (a deletion's
  kept rows, which the metrics count as "complied in part"), with every record key,
  value before and after, correction, digest and problem text taken out;
  withdrawn_reason CLEARED.
- ``record_action_runs``: KEPT but problem CLEARED.
- ``downstream_notices``: KEPT recipient_key, recipient_name, recipient_kind (the
  business told), categories, systems, rows, status, dates and by whom; email,
  postal_address, subject, body, sent_how, answer_note CLEARED.
- ``suppression_entries``: KEPT (salted hashes only, never an identifier).
- ``audit_events``: KEPT seq, at, actor, case_ref, action; a detail with personal data
  (see AUDIT_KEEP: reasons, task titles, addresses emailed to, notes, tracking numbers)
  keeps only its other keys and names the purge event that sealed the redaction
  (caseapp.audit.redact); the chain still verifies. Who held the case (claims: staff
  names and lease times, in the claim events and in the "claimed" keys of the actions
  that claimed it) is KEPT like the other staff names. One ``case.purged`` event per
  case, counts only.
- ``search_documents`` / ``search_fts`` / ``search_names`` (the search index): rebuilt
  for the case in the same transaction, from what it still holds (reference, request
  types, state, the purge note, letter serials); on SQLite the full-text index is then
  optimized (its old segments dropped) and deleted pages are zeroed (secure_delete).
- Not per case, left as they are: users, audit_head, ref_counters, letter_counters,
  clock_overrides, desk_settings, letter_texts (desk-wide texts), saved_searches (a
  user's query).

Each batch of cases is one transaction: a crash leaves each case purged wholly or not
at all, and a purge run again does only what is left.
"""

from __future__ import annotations

import calendar
import contextlib
import dataclasses
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from caseapp import audit
from caseapp.db.models import (
    AuditEvent,
    Blob,
    Case,
    Document,
    DownstreamNotice,
    Letter,
    LetterText,
    MailboxUid,
    Message,
    Note,
    Party,
    RecordAction,
    RecordActionRun,
    RecordHit,
    SourceSearch,
    Task,
)
from caseapp.errors import DatabaseUnavailable, PermissionDenied
from caseapp.letters.kinds import LETTER_KINDS
from caseapp.records.action_model import (
    ActionPlan,
    ActionRequest,
    ActionResult,
    ColumnChange,
    KeptRow,
    RowChange,
    SourcePlan,
    SourceResult,
    TableOutcome,
    TablePlan,
    VerificationResult,
)
from caseapp.reports.model import DENIED_STATES
from caseapp.search import tracking
from caseapp.services import claims
from caseapp.services.cases import normalize_ref
from caseapp.services.context import ServiceContext

log = logging.getLogger(__name__)
T = TypeVar("T")

RETENTION_MONTHS: Final = 24
"""11 CCR §7101: the record of a request is kept 24 months."""
BATCH: Final = 20
"""Cases per transaction."""
PURGED_TEXT: Final = "(removed by the retention purge)"

_CLAIMING: Final = frozenset({"case.step", "case.extended", "letter.issued",
                              "records.action_proposed"})
"""The audit actions whose services call ``claims.hold`` / ``claims.let_go`` and add
their result to the event's detail."""
CLAIM_KEEP: Final = (claims.CLAIMED_KEY, claims.RELEASED_KEY, claims.TAKEN_OVER_KEY)
"""Keys an action adds when it claimed the case, let its claim go or took it over
(caseapp.services.claims): staff names and lease times, no personal data, kept like
"approved_by"."""

AUDIT_KEEP: Final[dict[str, frozenset[str]]] = {
    action: frozenset(keys) | (frozenset(CLAIM_KEEP) if action in _CLAIMING else frozenset())
    for action, keys in {
        "case.created": ("channel", "request_types", "jurisdiction", "received_on", "due_on",
                         "is_child"),
        "case.step": ("step", "label", "from", "to", "override_open_notices",
                      "override_pending_actions", "duplicate_of", "moved", "method",
                      "approved_by", "held_days", "due_on"),  # not "reason"
        "case.merged_from": ("from", "moved"),
        "case.extended": ("due_on", "was"),  # not "reason"
        "case.assigned": ("from", "to"),
        "case.note": ("length",),
        "case.updated": ("fields", "changes"),  # the summary's length only, never its text
        "party.updated": ("role", "fields", "jurisdiction", "due_on"),  # names of fields
        "case.appealed": ("appeal",),  # not "reason"
        "case.intake_confirmed": ("request_types", "jurisdiction", "is_privacy_request"),
        "task.added": ("kind",),  # not "title"
        "task.done": ("task", "kind"),  # not "title"
        "message.received": ("message", "sha256", "attachments", "opened_case",
                             "after_closed", "scan_pages"),
        "message.threaded": ("message", "sha256", "attachments", "why", "auto",
                             "scan_pages"),
        "message.attached": ("moved", "opened_case"),
        "records.looked_up": ("sources", "found", "nothing_found", "unreachable",
                              "schema_mismatch", "manual", "hits", "new_hits", "complete"),
        "records.manual_source_done": ("source", "found"),
        "records.hit_confirmed": ("hit", "source", "table"),
        "records.hit_rejected": ("hit", "source", "table"),
        "records.action_proposed": ("action", "kind", "rows", "records", "sources",
                                    "corrected"),  # "corrected": which kinds, no value
        "records.action_approved": ("action", "kind", "requested_by", "rows"),
        "records.action_withdrawn": ("action", "had_run"),  # not "reason"
        "records.action_executed": ("action", "kind", "approved_by", "complete",
                                    "rows_changed", "sources", "suppression_entries",
                                    "notices"),
        "records.action_verified": ("action", "ok", "sources", "rows_checked"),
        "notice.sent": ("notice", "recipient"),  # not "how" (free text)
        "notice.acknowledged": ("notice", "recipient"),
        "notice.not_notified": ("notice", "recipient"),
        "letter.issued": ("letter", "kind", "serial", "sha256", "fingerprint",
                          "texts_sha256", "language", "delivery"),
        "letter.print_started": ("letter", "serial", "kind", "printer", "title", "copies"),
        "letter.printed": ("letter", "serial", "kind", "printer", "job", "copies", "title",
                           "recovered"),
        "letter.mailed": ("letter", "serial", "on", "method"),  # not "tracking"
        "letter.returned": ("letter", "serial", "on"),  # not "note"
        "letter.emailed": ("letter", "serial", "message", "message_id", "sha256",
                           "pdf_sha256", "again"),  # not "to"
        audit.PURGE_ACTION: ("closed_on", "kept_until", "counts", audit.COUNT_KEY,
                             audit.SEAL_KEY),
        # Claims (caseapp.services.claims): who held the case, since and until when.
        claims.CLAIMED: ("until", "implicit", "lapsed"),
        claims.RENEWED: ("until",),
        claims.RELEASED: ("holder",),
        claims.TAKEN_OVER: ("from", "since", "until"),
    }.items()
}
"""Per audit action, the keys of its detail that hold no personal data. Any other key (and
every key of an action not listed here) is redacted from a purged case's events."""


# --- values ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeCounts:
    """What a purge takes out of one case."""

    parties: int = 0
    """Requester / data subject entries with a name, email, phone or address."""
    messages: int = 0
    """Mails and postal letters in and out (bodies, headers, raw files)."""
    documents: int = 0
    """Attachments and scans (with their OCR text)."""
    letter_pdfs: int = 0
    notes: int = 0
    tasks: int = 0
    record_hits: int = 0
    record_actions: int = 0
    notices: int = 0
    audit_events: int = 0
    """Audit events whose detail loses its personal data."""

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @property
    def total(self) -> int:
        return sum(self.as_dict().values())

    def describe(self) -> str:
        """E.g. "2 parties, 3 messages, 1 document" (the non-zero ones)."""
        parts = [f"{count} {_LABELS[name][count != 1]}"
                 for name, count in self.as_dict().items() if count]
        return ", ".join(parts) or "nothing personal left"


_LABELS: Final = {
    "parties": ("party", "parties"), "messages": ("message", "messages"),
    "documents": ("document", "documents"), "letter_pdfs": ("letter PDF", "letter PDFs"),
    "notes": ("note", "notes"), "tasks": ("task text", "task texts"),
    "record_hits": ("record hit", "record hits"),
    "record_actions": ("record action", "record actions"),
    "notices": ("downstream notice", "downstream notices"),
    "audit_events": ("audit detail", "audit details"),
}
COUNT_LABELS: Final = {name: plural for name, (_one, plural) in _LABELS.items()}


@dataclass(frozen=True)
class PurgeCandidate:
    ref: str
    status: str
    status_label: str
    closed_on: date
    kept_until: date
    """The last day it is kept (purged from the day after)."""
    counts: PurgeCounts


@dataclass(frozen=True)
class PurgePreview:
    as_of: date
    closed_before: date
    """Cases closed before this day are due (closed on it or later: kept)."""
    cases: tuple[PurgeCandidate, ...]
    held: tuple[tuple[str, str], ...] = ()
    """Cases due by their date but kept, and why (an open appeal)."""

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(case.ref for case in self.cases)


@dataclass(frozen=True)
class PurgedCase:
    ref: str
    closed_on: date
    counts: PurgeCounts


@dataclass(frozen=True)
class PurgeOutcome:
    purged: tuple[PurgedCase, ...]
    skipped: tuple[tuple[str, str], ...]
    """Cases asked for but not purged, and why (purged already, not closed long enough)."""
    cancelled: bool = False

    def summary(self) -> str:
        count = len(self.purged)
        text = (f"Purged the personal information of {count} case{'s' if count != 1 else ''}"
                if count else "Nothing was purged")
        if self.skipped:
            text += f"; {len(self.skipped)} left as they were"
        if self.cancelled:
            text += "; cancelled before the rest"
        return text


Progress = Callable[[int, int, str], None]
ShouldStop = Callable[[], bool]


# --- dates -------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier); the month's last day if it is shorter."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def kept_until(closed_on: date) -> date:
    """The last day a case closed on ``closed_on`` keeps its personal information."""
    return add_months(closed_on, RETENTION_MONTHS)


def is_due(closed_on: date, today: date) -> bool:
    return kept_until(closed_on) < today


def closed_before(today: date) -> date:
    """The first closing day that is not yet due on ``today`` (every earlier one is)."""
    day = add_months(today, -RETENTION_MONTHS)
    while is_due(day, today):  # never more than a few days: month ends
        day += timedelta(days=1)
    while not is_due(day - timedelta(days=1), today):
        day -= timedelta(days=1)
    return day


# --- preview -----------------------------------------------------------------------------


def purge_preview(ctx: ServiceContext, as_of: date | None = None) -> PurgePreview:
    """The closed cases whose personal information is due to go on ``as_of`` (today),
    oldest closing first, each with what would go. Cases purged already are not listed."""
    today = as_of or ctx.clock.today()
    with ctx.read() as session:
        ctx.require_role(session, "supervisor")
        due, held = _due_cases(ctx, session, today)
        counts = _counts(session, [case for case, _closed in due])
        cases = tuple(
            PurgeCandidate(ref=case.ref, status=case.status,
                           status_label=ctx.workflow.label(case.status), closed_on=closed,
                           kept_until=kept_until(closed), counts=counts[case.id])
            for case, closed in due)
    return PurgePreview(as_of=today, closed_before=closed_before(today), cases=cases,
                        held=held)


def _due_cases(ctx: ServiceContext, session: Session, today: date
               ) -> tuple[list[tuple[Case, date]], tuple[tuple[str, str], ...]]:
    """The cases due on ``today`` with their closing day, and those held back (why)."""
    # A little wide on purpose (time zones); the exact rule is is_due, on the desk's date.
    until = ctx.clock.start_of_local_day(closed_before(today) + timedelta(days=1))
    rows = session.scalars(
        select(Case).where(Case.status.in_(ctx.workflow.closed_states),
                           Case.closed_at.is_not(None), Case.closed_at < until,
                           Case.purged_at.is_(None))
        .order_by(Case.closed_at, Case.id)).all()
    due = [(case, ctx.clock.local_date(case.closed_at)) for case in rows
           if case.closed_at is not None]
    due = [(case, closed) for case, closed in due if is_due(closed, today)]
    appeals = _open_appeals(ctx, session, [case.id for case, _closed in due])
    held = tuple((case.ref, f"its appeal {appeals[case.id]} is still open")
                 for case, _closed in due if case.id in appeals)
    return [(case, closed) for case, closed in due if case.id not in appeals], held


def _open_appeals(ctx: ServiceContext, session: Session, case_ids: Sequence[int]
                  ) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(case_ids):
        for original, ref in session.execute(
                select(Case.appeal_of_id, Case.ref).where(
                    Case.appeal_of_id.in_(chunk), Case.status.in_(ctx.workflow.open_states))):
            if original is not None:
                found[original] = ref
    return found


def _chunks(ids: Sequence[T], size: int = 500) -> Iterable[Sequence[T]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _count_by_case(session: Session, column: Any, case_column: Any, chunk: Sequence[int],
                   *where: Any) -> dict[int, int]:
    return {case_id: count for case_id, count in session.execute(
        select(case_column, func.count(column)).where(case_column.in_(chunk), *where)
        .group_by(case_column))}


def _counts(session: Session, cases: Sequence[Case]) -> dict[int, PurgeCounts]:
    """What a purge would take out of each case (by id)."""
    ids = [case.id for case in cases]
    refs = {case.id: case.ref for case in cases}
    by_ref = {case.ref: case.id for case in cases}
    found: dict[str, dict[int, int]] = defaultdict(dict)
    for chunk in _chunks(ids):
        found["parties"].update(_count_by_case(
            session, Party.id, Party.case_id, chunk,
            or_(Party.name != "", Party.email != "", Party.phone != "",
                Party.postal_address != "", Party.postal_code != "",
                Party.age.is_not(None))))
        found["messages"].update(_count_by_case(session, Message.id, Message.case_id, chunk))
        found["documents"].update(_count_by_case(session, Document.id, Document.case_id, chunk,
                                                 Document.kind != "letter"))
        found["letter_pdfs"].update(_count_by_case(session, Document.id, Document.case_id,
                                                   chunk, Document.kind == "letter"))
        found["notes"].update(_count_by_case(session, Note.id, Note.case_id, chunk))
        found["tasks"].update(_count_by_case(session, Task.id, Task.case_id, chunk,
                                             Task.title != PURGED_TEXT))
        found["record_hits"].update(_count_by_case(session, RecordHit.id, RecordHit.case_id,
                                                   chunk))
        found["record_actions"].update(_count_by_case(session, RecordAction.id,
                                                      RecordAction.case_id, chunk))
        found["notices"].update(_count_by_case(session, DownstreamNotice.id,
                                               DownstreamNotice.case_id, chunk))
        for event in session.scalars(_events_of(chunk, [refs[i] for i in chunk])):
            if _kept_keys(event) is not None:
                owner = (event.case_id if event.case_id in refs
                         else by_ref.get(event.case_ref or ""))
                if owner is not None:
                    found["audit_events"][owner] = found["audit_events"].get(owner, 0) + 1
    names = [f.name for f in dataclasses.fields(PurgeCounts)]
    return {case_id: PurgeCounts(**{name: found[name].get(case_id, 0) for name in names})
            for case_id in ids}


def _events_of(case_ids: Sequence[int], refs: Sequence[str]) -> Any:
    """The audit events of these cases (also one whose case link was cut: by its ref)."""
    return (select(AuditEvent)
            .where(or_(AuditEvent.case_id.in_(case_ids), AuditEvent.case_ref.in_(refs)))
            .order_by(AuditEvent.seq))


def _kept_keys(event: AuditEvent) -> dict[str, Any] | None:
    """What of ``event``'s detail a purge keeps; None when it keeps all of it."""
    if event.detail_sha256 is not None:
        return None  # redacted already
    try:
        detail = json.loads(event.detail)
    except ValueError:
        detail = None
    if not isinstance(detail, dict):
        return {} if event.detail not in ("", "{}") else None
    allowed = AUDIT_KEEP.get(event.action, frozenset())
    if set(detail) <= allowed:
        return None
    return {key: value for key, value in detail.items() if key in allowed}


# --- purge -------------------------------------------------------------------------------


def purge(ctx: ServiceContext, cases: PurgePreview | Iterable[str] | None = None, *,
          progress: Progress | None = None, cancel: ShouldStop | None = None,
          batch: int = BATCH) -> PurgeOutcome:
    """Purge the cases of ``cases`` (a preview, or references; None: every case due today)
    that are due today, ``batch`` cases per transaction; an administrator's task. Each
    case gets a ``case.purged`` audit event in its transaction. ``progress(done, total,
    ref)`` after each batch; ``cancel()`` is asked before each batch."""
    with ctx.read() as session:
        ctx.require_role(session, "admin")
    if cases is None:
        refs: list[str] = list(purge_preview(ctx).refs)
    elif isinstance(cases, PurgePreview):
        refs = list(cases.refs)
    else:
        refs = list(dict.fromkeys(normalize_ref(ref) for ref in cases))
    purged: list[PurgedCase] = []
    skipped: list[tuple[str, str]] = []
    cancelled = False
    try:
        for start in range(0, len(refs), max(batch, 1)):
            if cancel is not None and cancel():
                cancelled = True
                break
            chunk = refs[start:start + max(batch, 1)]
            done, left = _purge_chunk(ctx, chunk)
            purged += done
            skipped += left
            if progress is not None:
                progress(min(start + len(chunk), len(refs)), len(refs), chunk[-1])
    finally:
        if purged:
            _compact(ctx)  # also after a failure: what was purged leaves the files
    return PurgeOutcome(tuple(purged), tuple(skipped), cancelled)


def _purge_chunk(ctx: ServiceContext, refs: Sequence[str]
                 ) -> tuple[list[PurgedCase], list[tuple[str, str]]]:
    """A batch in one transaction; when it fails, its cases one by one, so that one case
    that cannot be purged (reported as skipped, with why) never holds back the others.
    Lost rights and a lost database stop the purge."""
    try:
        done, left, files = _purge_batch(ctx, refs)
    except (PermissionDenied, DatabaseUnavailable):
        raise
    except Exception:
        if len(refs) == 1:
            raise
        log.warning("retention: a batch of %d cases failed; purging them one by one",
                    len(refs), exc_info=True)
        done, left = [], []
        for ref in refs:
            try:
                one, one_left = _purge_chunk(ctx, [ref])
            except (PermissionDenied, DatabaseUnavailable):
                raise
            except Exception as error:
                log.error("retention: %s could not be purged", ref, exc_info=True)
                left.append((ref, f"could not be purged ({type(error).__name__}); "
                                  "it is tried again at the next purge"))
                continue
            done += one
            left += one_left
        return done, left
    _remove_files(files)
    return done, left


def _purge_batch(ctx: ServiceContext, refs: Sequence[str]
                 ) -> tuple[list[PurgedCase], list[tuple[str, str]], list[Path]]:
    """One transaction: each case of ``refs`` still due purged, or none at all."""
    purged: list[PurgedCase] = []
    skipped: list[tuple[str, str]] = []
    files: list[Path] = []
    purged_ids: set[int] = set()
    with ctx.write() as session:
        actor = ctx.require_role(session, "admin")
        if session.get_bind().dialect.name == "sqlite":
            # Deleted rows' bytes are overwritten, not left in free pages of the file.
            session.execute(text("PRAGMA secure_delete = ON"))
        today = ctx.clock.today()
        for ref in refs:
            case = session.scalars(select(Case).where(Case.ref == ref)).first()
            why, closed = _why_not(ctx, session, case, today)
            if why or case is None or closed is None:
                skipped.append((ref, why))
                continue
            counts = _counts(session, [case])[case.id]
            files += _purge_case(ctx, session, case, actor.username, closed, counts)
            purged.append(PurgedCase(case.ref, closed, counts))
            purged_ids.add(case.id)
        # The search documents are rebuilt from what the cases hold now, before the commit
        # (caseapp.search.tracking sees the ORM changes, not the bulk statements).
        session.info.setdefault(tracking.PENDING, set()).update(purged_ids)
    return purged, skipped, files


def _why_not(ctx: ServiceContext, session: Session, case: Case | None, today: date
             ) -> tuple[str, date | None]:
    """Why ``case`` is not purged today ("" if it is), and its closing day."""
    if case is None:
        return "no such case", None
    if case.purged_at is not None:
        return f"purged already on {ctx.clock.local_date(case.purged_at)}", None
    if ctx.workflow.state(case.status).is_open or case.closed_at is None:
        return "not closed", None
    closed = ctx.clock.local_date(case.closed_at)
    if not is_due(closed, today):
        return f"closed on {closed}: kept until {kept_until(closed)}", closed
    appeal = _open_appeals(ctx, session, [case.id]).get(case.id)
    if appeal:
        return f"its appeal {appeal} is still open", closed
    return "", closed


def _purge_case(ctx: ServiceContext, session: Session, case: Case, actor: str,
                closed: date, counts: PurgeCounts) -> list[Path]:
    """Take the personal information out of ``case`` (see the module's list); audited.
    Returns the document files to delete once the transaction committed."""
    now = ctx.clock.now()
    head = audit.lock_chain(session)
    purge_seq = head.seq + 1
    redacted = [(event.seq, audit.redact(event, kept, purge_seq))
                for event in session.scalars(_events_of([case.id], [case.ref]))
                if (kept := _kept_keys(event)) is not None]
    case_id = case.id
    # The case itself: the outline and the §7101 fields stay.
    case.summary = (f"Personal information removed by the retention purge on "
                    f"{ctx.clock.today().isoformat()}: closed on {closed.isoformat()}, kept "
                    f"{RETENTION_MONTHS} months (11 CCR §7101).")
    case.extension_reason = None if case.extension_reason is None else ""
    if case.status not in DENIED_STATES:
        case.status_reason = None
    case.purged_at = now
    session.execute(update(Party).where(Party.case_id == case_id).values(
        name="", email="", phone="", postal_address="", postal_code="", age=None))
    session.execute(delete(Note).where(Note.case_id == case_id))
    session.execute(update(Task).where(Task.case_id == case_id).values(title=PURGED_TEXT))
    # Messages, documents and the bytes no one else refers to.
    message_ids = list(session.scalars(select(Message.id).where(Message.case_id == case_id)))
    held = {sha for sha in session.scalars(select(Message.raw_sha256).where(
        Message.case_id == case_id)) if sha}
    document_rows = session.execute(select(Document.id, Document.sha256, Document.storage_path)
                                    .where(or_(Document.case_id == case_id,
                                               Document.message_id.in_(message_ids)))).all()
    held |= {row.sha256 for row in document_rows}
    held |= set(session.scalars(select(Letter.sha256).where(Letter.case_id == case_id)))
    files = [Path(row.storage_path) for row in document_rows if row.storage_path]
    session.execute(update(Letter).where(Letter.case_id == case_id).values(
        document_id=None, recipient="", emailed_to="", tracking_number="", subject=""))
    for letter_id, kind in session.execute(select(Letter.id, Letter.kind)
                                           .where(Letter.case_id == case_id)):
        label = LETTER_KINDS[kind].label if kind in LETTER_KINDS else kind
        session.execute(update(Letter).where(Letter.id == letter_id).values(title=label))
    if message_ids:
        session.execute(update(MailboxUid).where(MailboxUid.message_id.in_(message_ids))
                        .values(message_id=None))
    session.execute(delete(Document).where(Document.id.in_([r.id for r in document_rows])))
    session.execute(delete(Message).where(Message.case_id == case_id))
    _delete_unreferenced_blobs(session, held, case_id)
    # The customer records: where they were and what was done stays, not what they held.
    session.execute(delete(RecordHit).where(RecordHit.case_id == case_id))
    session.execute(update(SourceSearch).where(SourceSearch.case_id == case_id)
                    .values(detail=""))
    actions = session.scalars(select(RecordAction).where(RecordAction.case_id == case_id))
    action_ids = []
    for action in actions:
        action_ids.append(action.id)
        _scrub_action(action)
    if action_ids:
        session.execute(update(RecordActionRun).where(RecordActionRun.action_id.in_(action_ids))
                        .values(problem=""))
    session.execute(update(DownstreamNotice).where(DownstreamNotice.case_id == case_id).values(
        email="", postal_address="", subject="", body="", sent_how="", answer_note=""))
    session.flush()
    event = audit.record(session, actor=actor, action=audit.PURGE_ACTION, at=now, case=case,
                         detail={"closed_on": closed.isoformat(),
                                 "kept_until": kept_until(closed).isoformat(),
                                 "counts": counts.as_dict(),
                                 audit.COUNT_KEY: len(redacted),
                                 audit.SEAL_KEY: audit.seal(redacted)})
    if event.seq != purge_seq:  # pragma: no cover - the chain is locked by this transaction
        raise RuntimeError("the audit chain moved during a purge")
    return files


def _delete_unreferenced_blobs(session: Session, candidates: set[str], case_id: int) -> None:
    """Delete the bytes of ``candidates`` that nothing outside the purged case refers to."""
    for chunk in _chunks(sorted(candidates)):
        wanted = [str(sha) for sha in chunk]
        used = set(session.scalars(select(Document.sha256).where(Document.sha256.in_(wanted))))
        used |= set(session.scalars(select(Message.raw_sha256)
                                    .where(Message.raw_sha256.in_(wanted))))
        used |= set(session.scalars(select(Letter.sha256).join(Case, Case.id == Letter.case_id)
                                    .where(Letter.sha256.in_(wanted), Letter.case_id != case_id,
                                           Case.purged_at.is_(None))))
        used |= set(session.scalars(select(LetterText.sha256)
                                    .where(LetterText.sha256.in_(wanted))))
        gone = [sha for sha in wanted if sha not in used]
        if gone:
            session.execute(delete(Blob).where(Blob.sha256.in_(gone)))


# --- the actions' JSON -------------------------------------------------------------------


def _masks(keys: Sequence[str]) -> tuple[str, ...]:
    """Record keys replaced by their position: counts stay, identifiers go."""
    return tuple(f"#{number}" for number in range(1, len(keys) + 1))


def _kept_rows(rows: Sequence[KeptRow]) -> tuple[KeptRow, ...]:
    return tuple(dataclasses.replace(row, key=f"#{number}", via="")
                 for number, row in enumerate(rows, start=1))


def _request(request: ActionRequest) -> ActionRequest:
    return dataclasses.replace(
        request, corrections=dict.fromkeys(request.corrections, ""),
        targets=tuple(dataclasses.replace(target, key=f"#{number}")
                      for number, target in enumerate(request.targets, start=1)))


def _table_plan(table: TablePlan) -> TablePlan:
    return dataclasses.replace(
        table, set_values=dict.fromkeys(table.set_values),
        changes=tuple(RowChange(key=f"#{number}", operation=change.operation,
                                columns=tuple(ColumnChange(c.column, None, None)
                                              for c in change.columns))
                      for number, change in enumerate(table.changes, start=1)),
        kept=_kept_rows(table.kept), already_done=_masks(table.already_done),
        missing=_masks(table.missing), unchanged=_masks(table.unchanged), note="",
        digests={})


def _table_outcome(table: TableOutcome) -> TableOutcome:
    return dataclasses.replace(
        table, set_values=dict.fromkeys(table.set_values), changed=_masks(table.changed),
        followed=_masks(table.followed), kept=_kept_rows(table.kept),
        already_done=_masks(table.already_done), missing=_masks(table.missing),
        unchanged=_masks(table.unchanged), note="", digests={})


def _plan(plan: ActionPlan) -> ActionPlan:
    def source(each: SourcePlan) -> SourcePlan:
        return dataclasses.replace(each, problem="",
                                   tables=tuple(_table_plan(t) for t in each.tables))

    return dataclasses.replace(plan, request=_request(plan.request),
                               sources=tuple(source(s) for s in plan.sources))


def _result(result: ActionResult) -> ActionResult:
    def source(each: SourceResult) -> SourceResult:
        return dataclasses.replace(each, problem="",
                                   tables=tuple(_table_outcome(t) for t in each.tables))

    return dataclasses.replace(result, request=_request(result.request),
                               sources=tuple(source(s) for s in result.sources))


def _verification(checked: VerificationResult) -> VerificationResult:
    return dataclasses.replace(checked, sources=tuple(
        dataclasses.replace(s, problems=(PURGED_TEXT,) * len(s.problems))
        for s in checked.sources))


def _scrub_action(action: RecordAction) -> None:
    action.request_json = _request(ActionRequest.from_json(action.request_json)).to_json()
    action.plan_json = _plan(ActionPlan.from_json(action.plan_json)).to_json()
    if action.result_json:
        action.result_json = _result(ActionResult.from_json(action.result_json)).to_json()
    if action.verification_json:
        action.verification_json = _verification(
            VerificationResult.from_json(action.verification_json)).to_json()
    action.withdrawn_reason = ""


# --- after the transactions ----------------------------------------------------------------


def _remove_files(files: Iterable[Path]) -> None:
    for path in files:
        try:
            path.unlink(missing_ok=True)
        except OSError as error:  # the row is gone; say so, the purge itself stands
            log.warning("retention purge: could not delete %s: %s", path, error)


def _compact(ctx: ServiceContext) -> None:
    """SQLite: drop the full-text index's old segments (they still hold the words of what
    was purged) and empty the write-ahead log into the database file."""
    if ctx.db.engine.dialect.name != "sqlite":
        return
    with ctx.write() as session:
        session.execute(text("PRAGMA secure_delete = ON"))
        session.execute(text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
    raw = ctx.db.engine.raw_connection()
    try:
        with contextlib.closing(raw.cursor()) as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def describe_candidate(candidate: PurgeCandidate | PurgedCase) -> str:
    """One line for the command line: ref, closing day, what goes."""
    return f"{candidate.ref}  closed {candidate.closed_on}  {candidate.counts.describe()}"
