"""SQLAlchemy 2.0 models of the case database.

Timestamps are naive UTC; legal dates (received, due) are plain dates at the desk.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so that Alembic batch migrations on SQLite can find them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="agent")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_due", "status", "due_on"),
        Index("ix_cases_assignee_status", "assignee_id", "status"),
        Index("ix_cases_received_at", "received_at"),
        # The desk's default order (urgent first, then earliest due) read straight off.
        Index("ix_cases_priority_due", "priority", "due_on"),
        Index("ix_cases_due", "due_on"),
        Index("ix_cases_claimed_by", "claimed_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30), index=True)
    previous_status: Mapped[str | None] = mapped_column(String(30))
    jurisdiction: Mapped[str] = mapped_column(String(10))
    is_privacy_request: Mapped[bool] = mapped_column(Boolean, default=True)
    is_child: Mapped[bool] = mapped_column(Boolean, default=False)
    via_agent: Mapped[bool] = mapped_column(Boolean, default=False)
    subject_is_requester: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer, default=2)
    language: Mapped[str] = mapped_column(String(10), default="en")
    summary: Mapped[str] = mapped_column(Text, default="")
    intake_review: Mapped[bool] = mapped_column(Boolean, default=False)
    """Opened from a classifier's proposal that staff have not yet confirmed."""
    received_at: Mapped[datetime] = mapped_column(DateTime)
    received_on: Mapped[date] = mapped_column(Date)
    acknowledge_by: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    original_due_on: Mapped[date] = mapped_column(Date)
    extended_at: Mapped[datetime | None] = mapped_column(DateTime)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    held_since: Mapped[datetime | None] = mapped_column(DateTime)
    paused_days: Mapped[int] = mapped_column(Integer, default=0)
    status_reason: Mapped[str | None] = mapped_column(Text)
    verification_method: Mapped[str | None] = mapped_column(String(60))
    submitted_for_review_by: Mapped[str | None] = mapped_column(String(100))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    appeal_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime)
    """When the retention purge took the personal information out (24 months after
    closing, caseapp.services.retention); None while the case still holds it."""
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    """Who is working on the case (caseapp.services.claims); None: nobody. The claim
    counts only until ``claim_expires_at`` (a lease the holder's window renews)."""
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    claim_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy API

    request_types: Mapped[list[CaseRequestType]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseRequestType.id"
    )
    parties: Mapped[list[Party]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Party.id"
    )
    notes: Mapped[list[Note]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Note.id"
    )
    tasks: Mapped[list[Task]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Task.id"
    )
    messages: Mapped[list[Message]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Message.id"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Document.id"
    )
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    duplicate_of: Mapped[Case | None] = relationship(
        remote_side=[id], foreign_keys=[duplicate_of_id]
    )
    appeal_of: Mapped[Case | None] = relationship(remote_side=[id], foreign_keys=[appeal_of_id])

    @property
    def type_names(self) -> list[str]:
        return [t.request_type for t in self.request_types]


class CaseRequestType(Base):
    __tablename__ = "case_request_types"
    __table_args__ = (UniqueConstraint("case_id", "request_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    request_type: Mapped[str] = mapped_column(String(30), index=True)

    case: Mapped[Case] = relationship(back_populates="request_types")


class Party(Base):
    """The requester or the data subject of a case."""

    __tablename__ = "parties"
    __table_args__ = (UniqueConstraint("case_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # requester | subject
    name: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(320), default="", index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    postal_address: Mapped[str] = mapped_column(Text, default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    state: Mapped[str] = mapped_column(String(10), default="")
    is_child: Mapped[bool] = mapped_column(Boolean, default=False)
    age: Mapped[int | None] = mapped_column(Integer)
    relationship_to_subject: Mapped[str] = mapped_column(String(30), default="self")

    case: Mapped[Case] = relationship(back_populates="parties")


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    body: Mapped[str] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="notes")


class Task(Base):
    """Work owed on a case: a downstream notice, a manual source check, a follow-up."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # downstream_notice | manual_source | follow_up
    title: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | done
    assignee: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)

    case: Mapped[Case] = relationship(back_populates="tasks")


class Message(Base):
    """A mail or letter taken in (or sent): in a case's thread, on the "not a request"
    list, or in quarantine. Its raw bytes are kept in :class:`Blob` by ``raw_sha256``."""

    __tablename__ = "messages"
    __table_args__ = (
        # One row per message of a mailbox: fetching again never takes it in twice.
        UniqueConstraint("mailbox_key", "imap_uidvalidity", "imap_uid",
                         name="uq_messages_mailbox_uid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(10))  # in | out
    channel: Mapped[str] = mapped_column(String(20))
    disposition: Mapped[str] = mapped_column(String(20), default="case", index=True)
    """case | not_request | quarantined"""
    quarantine_reason: Mapped[str] = mapped_column(Text, default="")
    auto_kind: Mapped[str] = mapped_column(String(20), default="")  # "" | auto_reply | bounce
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str] = mapped_column(Text, default="")
    reference_ids: Mapped[str] = mapped_column(Text, default="")  # space-separated
    subject: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(Text, default="")
    from_addr: Mapped[str] = mapped_column(String(320), default="", index=True)
    recipients: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    received_at: Mapped[datetime | None] = mapped_column(DateTime)
    body_text: Mapped[str] = mapped_column(Text, default="")
    html_sanitized: Mapped[str] = mapped_column(Text, default="")
    blocked: Mapped[str] = mapped_column(Text, default="")  # one line per kind blocked
    defects: Mapped[str] = mapped_column(Text, default="")
    classification: Mapped[str] = mapped_column(Text, default="")  # JSON of the proposal
    raw_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    source_label: Mapped[str] = mapped_column(Text, default="")
    mailbox_key: Mapped[str | None] = mapped_column(String(300))
    imap_uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    imap_uid: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    case: Mapped[Case | None] = relationship(back_populates="messages")


class MailboxUid(Base):
    """A message of a mailbox (by UIDVALIDITY and UID) already dealt with: taken in, or
    found to be a duplicate. What decides "new" on servers without custom keywords."""

    __tablename__ = "mailbox_uids"

    mailbox_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    uid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"))
    seen_at: Mapped[datetime] = mapped_column(DateTime)


class Blob(Base):
    """Stored bytes (a raw message, an attachment, a scan), once per content hash."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Document(Base):
    """A stored file of a case: attachment, scan or issued letter (later issues)."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(30))  # attachment | scan | letter
    filename: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    storage_path: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)

    case: Mapped[Case | None] = relationship(back_populates="documents")


class AuditEvent(Base):
    """One link of the audit chain: each row carries the hash of the one before it."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(100))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    case_ref: Mapped[str | None] = mapped_column(String(20), index=True)
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    detail_sha256: Mapped[str | None] = mapped_column(String(64))
    """Set when the retention purge redacted ``detail``: the digest of what it said, which
    the link covers (caseapp.audit); NULL otherwise (the link covers the detail's own)."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    case: Mapped[Case | None] = relationship(foreign_keys=[case_id])


class AuditHead(Base):
    """A single row: the chain's last link. Writers lock it, which serializes appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class RefCounter(Base):
    """Last case number issued per year (PR-2026-00042)."""

    __tablename__ = "ref_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class ClockOverride(Base):
    """An administrator's change to a clock the rules mark configurable ("confirm")."""

    __tablename__ = "clock_overrides"
    __table_args__ = (UniqueConstraint("jurisdiction", "request_type", "clock"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(10))
    request_type: Mapped[str] = mapped_column(String(30), default="")  # "" = every type
    clock: Mapped[str] = mapped_column(String(20))
    days: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(DateTime)


class RecordHit(Base):
    """A customer-system record a lookup found for a case's data subject.

    ``record_key`` is the row's key as text; ``matched`` (JSON) says which identifiers
    matched and how; ``snapshot`` (JSON) holds the row's identifier columns as they were
    at lookup time, so staff see why, and nothing more. Staff confirm or reject a hit; a
    new lookup refreshes the proposal but keeps that decision.
    """

    __tablename__ = "record_hits"
    __table_args__ = (
        UniqueConstraint("case_id", "source", "table_name", "record_key",
                         name="uq_record_hits_case_record"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(100))
    table_name: Mapped[str] = mapped_column(String(100))
    record_key: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    matched: Mapped[str] = mapped_column(Text, default="[]")
    category: Mapped[str] = mapped_column(String(40))
    via: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    """proposed | confirmed | rejected"""
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    found_at: Mapped[datetime] = mapped_column(DateTime)
    snapshot: Mapped[str] = mapped_column(Text, default="{}")


class SourceSearch(Base):
    """One search of one customer system for a case; the latest per (case, source) is its
    current state. ``unreachable`` and ``schema_mismatch`` leave the lookup incomplete;
    they never count as "nothing found"."""

    __tablename__ = "source_searches"
    __table_args__ = (Index("ix_source_searches_case_source", "case_id", "source", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(100))
    searched_at: Mapped[datetime] = mapped_column(DateTime)
    searched_by: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(30))
    """found | nothing_found | unreachable | schema_mismatch | manual_pending | manual_done |
    manual_nothing_found"""
    detail: Mapped[str] = mapped_column(Text, default="")
    hit_count: Mapped[int] = mapped_column(Integer, default=0)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    """For a manual source: the task its owner was given."""


class RecordAction(Base):
    """An action on a case's confirmed records (delete, correct, opt out, stop sharing).

    Proposed with its preview (``plan``, the rows that will change, before → after);
    a deletion then needs a second person's approval, and the one who proposed it can
    never approve it: the service refuses it and the database's check constraint does
    too. Executed with the action's ``token`` (idempotent: re-running after a crash
    finds the work done), then verified. Once executed the plan's "before" values are
    wiped: the case keeps which rows changed, not what they held.
    """

    __tablename__ = "record_actions"
    __table_args__ = (
        CheckConstraint("approved_by IS NULL OR approved_by <> requested_by",
                        name="approver_not_requester"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # delete | correct | opt_out | stop_sharing
    status: Mapped[str] = mapped_column(String(20))
    """awaiting_approval | approved | running | executed | incomplete | verified |
    verify_failed | withdrawn"""
    token: Mapped[str] = mapped_column(String(64), unique=True)
    needs_approval: Mapped[bool] = mapped_column(Boolean)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    executed_by: Mapped[str | None] = mapped_column(String(100))
    executed_at: Mapped[datetime | None] = mapped_column(DateTime)
    verified_by: Mapped[str | None] = mapped_column(String(100))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    running_by: Mapped[str | None] = mapped_column(String(100))
    running_since: Mapped[datetime | None] = mapped_column(DateTime)
    """Who is carrying it out now (status "running"); a run that died leaves it, and
    it may be taken over by its runner at once, by anyone else once it is stale."""
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    rows_planned: Mapped[int] = mapped_column(Integer, default=0)
    rows_changed: Mapped[int] = mapped_column(Integer, default=0)
    request_json: Mapped[str] = mapped_column(Text)
    plan_json: Mapped[str] = mapped_column(Text)
    result_json: Mapped[str] = mapped_column(Text, default="")
    verification_json: Mapped[str] = mapped_column(Text, default="")

    runs: Mapped[list[RecordActionRun]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="RecordActionRun.id")


class RecordActionRun(Base):
    """What one execution did in one system: for the confirmation letter and the audit."""

    __tablename__ = "record_action_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("record_actions.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20))  # caseapp.records.action_model.RunState
    rows_changed: Mapped[int] = mapped_column(Integer, default=0)
    categories: Mapped[str] = mapped_column(Text, default="")  # comma-separated
    problem: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    run_by: Mapped[str] = mapped_column(String(100))
    approved_by: Mapped[str | None] = mapped_column(String(100))

    action: Mapped[RecordAction] = relationship(back_populates="runs")


class DownstreamNotice(Base):
    """A recipient the deleted (or corrected, or no longer shared) data went to, to be
    told; its task keeps the case from closing until it is answered."""

    __tablename__ = "downstream_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("record_actions.id", ondelete="SET NULL"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    recipient_key: Mapped[str] = mapped_column(String(100))
    recipient_name: Mapped[str] = mapped_column(String(300))
    recipient_kind: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(320), default="")
    postal_address: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[str] = mapped_column(Text, default="")  # comma-separated
    systems: Mapped[str] = mapped_column(Text, default="")  # comma-separated labels
    rows: Mapped[int] = mapped_column(Integer, default=0)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    """open | sent | acknowledged | not_notified"""
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_by: Mapped[str | None] = mapped_column(String(100))
    sent_how: Mapped[str] = mapped_column(String(100), default="")
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answer_note: Mapped[str] = mapped_column(Text, default="")


class SuppressionEntry(Base):
    """A salted hash of one identifier of a person whose records were deleted (never
    the identifier itself), so that the person is not added again by mistake."""

    __tablename__ = "suppression_entries"
    __table_args__ = (UniqueConstraint("hash", "case_id", name="uq_suppression_entries_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # email | phone | name_zip
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    case_ref: Mapped[str] = mapped_column(String(20))
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("record_actions.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(100))


class DeskSetting(Base):
    """Desk-wide values every workstation must agree on (e.g. which suppression salt)."""

    __tablename__ = "desk_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(DateTime)


class Letter(Base):
    """A letter issued for a case: its PDF (a document of the case), serial and hash, and
    how it went out (printed and mailed, emailed, returned as undeliverable)."""

    __tablename__ = "letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(10))
    serial: Mapped[str] = mapped_column(String(30), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    delivery: Mapped[str] = mapped_column(String(10))  # post | email | file
    recipient: Mapped[str] = mapped_column(Text, default="")
    """The address block (or email address) as printed, one line each."""
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the letter's content, printed in its footer (the PDF's own hash,
    ``sha256``, cannot be printed inside it)."""
    texts_sha256: Mapped[str] = mapped_column(String(64), default="")
    """SHA-256 of the text, profile and logo it was made with (which version of each)."""
    notice_id: Mapped[int | None] = mapped_column(
        ForeignKey("downstream_notices.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    issued_by: Mapped[str] = mapped_column(String(100))
    mailed_on: Mapped[date | None] = mapped_column(Date)
    mail_method: Mapped[str] = mapped_column(String(40), default="")
    tracking_number: Mapped[str] = mapped_column(String(60), default="")
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime)
    emailed_to: Mapped[str] = mapped_column(String(320), default="")
    sending_at: Mapped[datetime | None] = mapped_column(DateTime)
    """Set while one workstation emails the letter (a claim), so no other sends it too;
    a claim older than a few minutes is from a crashed sender."""
    sending_by: Mapped[str] = mapped_column(String(100), default="")
    returned_on: Mapped[date | None] = mapped_column(Date)

    document: Mapped[Document | None] = relationship()


class LetterText(Base):
    """A letter text, the organization profile or the logo as an administrator set it
    for the whole desk (every workstation prints with it); what is not here is printed
    as shipped in resources/letters."""

    __tablename__ = "letter_texts"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    """``en/denial.toml``, ``organization.toml`` or ``logo``."""
    text: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64))
    """Of the text (of the picture, for the logo: its bytes are the blob of that hash)."""
    saved_by: Mapped[str] = mapped_column(String(100))
    saved_at: Mapped[datetime] = mapped_column(DateTime)


class LetterCounter(Base):
    """Last letter serial issued per year (L-2026-000042)."""

    __tablename__ = "letter_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class SavedSearch(Base):
    """A search a user keeps in the navigation: its name and the query as JSON
    (caseapp.services.search.SearchQuery)."""

    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("owner", "name", name="uq_saved_searches_owner_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    query_json: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(DateTime)
