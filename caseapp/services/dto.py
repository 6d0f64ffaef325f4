"""Plain, frozen values that services take and return; no ORM object leaves a service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from caseapp.records.action_model import ActionPlan, ActionResult, VerificationResult
from caseapp.workflow.machine import StepOption


@dataclass(frozen=True)
class PartyData:
    """A requester or data subject as typed in."""

    name: str = ""
    email: str = ""
    phone: str = ""
    postal_address: str = ""
    postal_code: str = ""
    state: str = ""
    is_child: bool = False
    age: int | None = None
    relationship: str = "self"


@dataclass(frozen=True)
class NewCase:
    channel: str
    request_types: tuple[str, ...]
    requester: PartyData
    subject: PartyData | None = None  # None: the requester is the data subject
    jurisdiction: str | None = None  # None: from the requester's (or subject's) state
    received_on: date | None = None  # None: today at the desk
    summary: str = ""
    priority: str | None = None  # None: urgent for children, else normal
    language: str = "en"
    is_privacy_request: bool | None = None  # None: False only when every type is "other"
    assignee: str | None = None
    received_at: datetime | None = None
    """The exact moment it reached the desk (UTC, naive), e.g. a mail's arrival; when set,
    it decides ``received_on``."""
    intake_review: bool = False
    """Opened from the classifier's proposal: staff still have to confirm it."""


@dataclass(frozen=True)
class PartyView:
    role: str
    name: str
    email: str
    phone: str
    postal_address: str
    postal_code: str
    state: str
    is_child: bool
    age: int | None
    relationship: str


@dataclass(frozen=True)
class NoteView:
    author: str
    created_at: datetime
    body: str


@dataclass(frozen=True)
class TaskView:
    id: int
    kind: str
    title: str
    due_on: date | None
    status: str


@dataclass(frozen=True)
class MessageView:
    direction: str
    channel: str
    subject: str
    sender: str
    sent_at: datetime | None
    id: int = 0
    auto_kind: str = ""
    received_at: datetime | None = None
    attachment_count: int = 0


@dataclass(frozen=True)
class DocumentView:
    kind: str
    filename: str
    media_type: str
    sha256: str
    size: int


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    summary: str


@dataclass(frozen=True)
class DeadlineView:
    received_on: date
    acknowledge_by: date | None
    acknowledged: bool
    respond_by: date
    original_respond_by: date
    extended: bool
    extension_possible: bool
    extension_reason: str
    today: date
    days_left: int
    acknowledge_days_left: int | None
    overdue: bool
    sources: tuple[str, ...]
    responded_on: date | None = None  # the day the response went out (clock met)


@dataclass(frozen=True)
class ClaimView:
    """Who is working on a case (caseapp.services.claims): since when, and until when the
    lease runs unless renewed. ``live`` as of when it was read; an expired claim is kept
    to say whose it was, but holds nothing."""

    holder: str
    since: datetime
    until: datetime
    live: bool


@dataclass(frozen=True)
class CaseRow:
    """One line of the case list."""

    ref: str
    status: str
    status_label: str
    is_open: bool
    channel: str
    request_types: tuple[str, ...]
    requester_name: str
    jurisdiction: str
    received_on: date
    due_on: date
    days_left: int
    overdue: bool
    priority: str
    is_child: bool
    assignee: str
    intake_review: bool = False
    claimed_by: str = ""  # who is working on it now (a live claim only)
    claimed_since: datetime | None = None


@dataclass(frozen=True)
class CaseDetail:
    ref: str
    version: int
    status: str
    status_label: str
    status_reason: str
    is_open: bool
    channel: str
    request_types: tuple[str, ...]
    jurisdiction: str
    jurisdiction_name: str
    is_privacy_request: bool
    is_child: bool
    via_agent: bool
    priority: str
    language: str
    summary: str
    received_at: datetime
    assignee: str
    requester: PartyView
    subject: PartyView
    subject_is_requester: bool
    deadlines: DeadlineView
    duplicate_of: str
    appeal_of: str
    verification_method: str
    notes: tuple[NoteView, ...]
    tasks: tuple[TaskView, ...]
    history: tuple[HistoryEntry, ...]
    steps: tuple[StepOption, ...]
    message_count: int
    document_count: int
    created_by: str
    can_appeal: bool = False
    # Why the request itself (types, jurisdiction, received date) cannot be edited now;
    # "" when it can. Parties and notes stay editable while the case is open.
    request_locked_reason: str = ""
    messages: tuple[MessageView, ...] = ()
    documents: tuple[DocumentView, ...] = ()
    intake_review: bool = False
    """Opened from the classifier's proposal; staff have not confirmed it yet."""
    claim: ClaimView | None = None
    """Who is working on it (caseapp.services.claims); None: nobody has claimed it."""


@dataclass(frozen=True)
class CaseQuery:
    """What the case list shows: a view from the navigation plus filters and order."""

    view: str = "open"  # mine | open | due_soon | overdue | closed | all
    text: str = ""
    status: str = ""
    sort: str = "desk"  # see caseapp.services.cases.SORT_KEYS
    descending: bool = False
    due_soon_days: int = 7


@dataclass(frozen=True)
class CasePage:
    rows: tuple[CaseRow, ...]
    offset: int
    total: int


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str
    role: str
    active: bool


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    events: int
    first_broken_seq: int | None
    problem: str
    head_hash: str


@dataclass(frozen=True)
class ClockSetting:
    """One legal clock as the administrator's page shows it."""

    jurisdiction: str
    jurisdiction_name: str
    request_type: str  # "" = every request type
    clock: str
    days: int
    unit: str
    source: str
    configurable: bool
    shipped_days: int
    changed_by: str


@dataclass(frozen=True)
class StepRequest:
    step: str
    reason: str = ""
    other_case: str = ""
    method: str = ""
    override: bool = False
    expected_version: int | None = None


@dataclass(frozen=True)
class Changed:
    """What a mutation changed, so a view refreshes only that (cf. anki's OpChanges)."""

    case: CaseDetail
    refs: tuple[str, ...] = field(default=())
    list_changed: bool = True


# ---------------------------------------------------------------------- intake --

INTAKE_OUTCOMES = ("created", "threaded", "duplicate", "not_request", "quarantined", "failed")
INTAKE_OUTCOME_LABELS = {
    "created": "created case",
    "threaded": "threaded into case",
    "duplicate": "duplicate",
    "not_request": "not a request",
    "quarantined": "quarantined",
    "failed": "not read",
}


@dataclass(frozen=True)
class IntakeResult:
    """What became of one message or file taken in."""

    label: str
    outcome: str  # one of INTAKE_OUTCOMES
    case_ref: str = ""
    detail: str = ""
    message_db_id: int | None = None

    def line(self) -> str:
        """One line for the command line and the import log."""
        what = INTAKE_OUTCOME_LABELS.get(self.outcome, self.outcome)
        ref = f" {self.case_ref}" if self.case_ref and self.outcome != "duplicate" else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.label}: {what}{ref}{detail}"


@dataclass(frozen=True)
class IntakeItem:
    """A row of the "not a request" list or of the quarantine."""

    message_db_id: int
    disposition: str
    subject: str
    sender: str
    received_at: datetime
    reason: str
    source_label: str


@dataclass(frozen=True)
class AttachmentView:
    document_id: int
    filename: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class MessageDetail:
    """A message for the safe viewer: text, sanitized HTML and what was blocked."""

    id: int
    disposition: str
    case_ref: str
    direction: str
    channel: str
    subject: str
    sender: str
    recipients: str
    sent_at: datetime | None
    received_at: datetime | None
    body_text: str
    html_sanitized: str
    blocked: tuple[str, ...]
    auto_kind: str
    quarantine_reason: str
    source_label: str
    classification: str
    attachments: tuple[AttachmentView, ...]


# --------------------------------------------------------------------- records --

SOURCE_OUTCOMES = ("found", "nothing_found", "unreachable", "schema_mismatch",
                   "manual_pending", "manual_done", "manual_nothing_found", "not_searched")
SOURCE_OUTCOME_LABELS = {
    "found": "searched, records found",
    "nothing_found": "searched, nothing found",
    "unreachable": "could not be reached: NOT searched",
    "schema_mismatch": "tables do not match the sources file: NOT searched",
    "manual_pending": "searched by hand: waiting for its owner",
    "manual_done": "searched by hand: records found and dealt with",
    "manual_nothing_found": "searched by hand: nothing found",
    "not_searched": "not searched yet",
}
HIT_STATUSES = ("proposed", "confirmed", "rejected")


@dataclass(frozen=True)
class RecordHitView:
    """A record a lookup found, with why it matched and staff's decision."""

    id: int
    source: str
    source_label: str
    table: str
    table_label: str
    category: str
    category_label: str
    record_key: str
    score: float
    reasons: tuple[str, ...]
    """How it matched, for people: "exact email", "fuzzy name 92", "ZIP"..."""
    via: str
    """"" when found by its own identifiers; else how: "parent email", "parent link
    from customers"."""
    status: str
    decided_by: str
    decided_at: datetime | None
    found_at: datetime
    snapshot: tuple[tuple[str, str], ...]
    """The row's identifier columns when found (column, value as text)."""

    @property
    def why(self) -> str:
        return ", ".join(self.reasons)


@dataclass(frozen=True)
class SourceSearchView:
    """The current state of one customer system for a case."""

    source: str
    label: str
    kind: str  # database | manual
    outcome: str  # one of SOURCE_OUTCOMES
    searched_at: datetime | None
    searched_by: str
    detail: str
    hit_count: int
    task_id: int | None = None

    @property
    def outcome_label(self) -> str:
        return SOURCE_OUTCOME_LABELS.get(self.outcome, self.outcome)

    @property
    def incomplete(self) -> bool:
        """Not (yet) searched: the lookup cannot say "nothing found" for this system."""
        return self.outcome in ("unreachable", "schema_mismatch", "manual_pending",
                                "not_searched")


@dataclass(frozen=True)
class LookupResult:
    ref: str
    complete: bool
    """Every database source was searched (none unreachable or mismatched)."""
    sources: tuple[SourceSearchView, ...]
    hits: tuple[RecordHitView, ...]
    new_hits: int
    seconds: float
    warnings: tuple[str, ...] = ()

    @property
    def unreachable(self) -> tuple[str, ...]:
        return tuple(s.label for s in self.sources
                     if s.outcome in ("unreachable", "schema_mismatch"))


@dataclass(frozen=True)
class ReindexResult:
    source: str
    label: str
    ok: bool
    full: bool
    rows: tuple[tuple[str, int], ...]
    """Rows read per table."""
    seconds: float
    problem: str = ""


@dataclass(frozen=True)
class AccessRecord:
    table: str
    table_label: str
    record_key: str
    fields: tuple[tuple[str, str], ...]
    """(column, value as text); masked columns say so instead of their value."""
    masked: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class AccessGroup:
    category: str
    category_label: str
    source: str
    source_label: str
    records: tuple[AccessRecord, ...]
    problem: str = ""
    """Why the records could not be read now ("" when they were)."""
    recipients: tuple[str, ...] = ()
    """Whom this information is shared with (the sources file's recipients)."""


@dataclass(frozen=True)
class AccessReportData:
    """The confirmed records of an access request, for the access report letter."""

    ref: str
    groups: tuple[AccessGroup, ...]
    masked_note: str
    complete: bool


@dataclass(frozen=True)
class ActionRunView:
    """What one execution of an action did in one system."""

    source: str
    label: str
    state: str
    rows_changed: int
    categories: tuple[str, ...]
    problem: str
    started_at: datetime | None
    finished_at: datetime | None
    run_by: str
    approved_by: str


@dataclass(frozen=True)
class RecordActionView:
    """An action on a case's confirmed records, from proposal to verification.

    ``plan`` is the preview as proposed (once executed, its "before" values are wiped);
    ``result`` and ``verification`` are those of the latest run."""

    id: int
    case_ref: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    needs_approval: bool
    requested_by: str
    requested_at: datetime
    approved_by: str
    approved_at: datetime | None
    executed_by: str
    executed_at: datetime | None
    verified_by: str
    verified_at: datetime | None
    withdrawn_reason: str
    rows_planned: int
    rows_changed: int
    plan: ActionPlan
    result: ActionResult | None
    verification: VerificationResult | None
    runs: tuple[ActionRunView, ...]

    @property
    def awaiting_approval(self) -> bool:
        return self.status == "awaiting_approval"

    @property
    def runnable(self) -> bool:
        """It may be carried out (again): approved, or a run that did not finish."""
        return self.status in ("approved", "incomplete")

    @property
    def done(self) -> bool:
        return self.status in ("executed", "verified", "verify_failed")

    @property
    def problems(self) -> tuple[str, ...]:
        """What stands in the way, system by system, for people."""
        found = [s.problem for s in self.plan.sources if s.problem]
        if self.result is not None:
            found = [s.problem for s in self.result.sources if s.problem]
        if self.verification is not None:
            found += [p for s in self.verification.sources for p in s.problems]
        return tuple(found)


@dataclass(frozen=True)
class NoticeView:
    """A downstream recipient to tell about an action, and where that stands."""

    id: int
    case_ref: str
    action_id: int | None
    task_id: int | None
    recipient_key: str
    recipient_name: str
    recipient_kind: str
    email: str
    postal_address: str
    categories: tuple[str, ...]
    systems: tuple[str, ...]
    rows: int
    subject: str
    body: str
    status: str
    status_label: str
    due_on: date
    created_at: datetime
    sent_at: datetime | None
    sent_by: str
    sent_how: str
    answered_at: datetime | None
    answered_by: str
    answer_note: str

    @property
    def is_open(self) -> bool:
        """Still keeps the case from closing (not yet answered or closed with a reason)."""
        return self.status in ("open", "sent")


@dataclass(frozen=True)
class SuppressionMatch:
    """An identifier that belongs to a person whose records were deleted."""

    kind: str
    case_ref: str
    created_at: datetime
