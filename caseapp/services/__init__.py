"""The API the window and the command line call.

``Desk`` bundles the service functions for one database, one user and one clock. Each
method is one unit of work and returns frozen values (caseapp.services.dto).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path

from caseapp.audit import verify
from caseapp.clock import Clock
from caseapp.config import BackupSettings, MailSettings, Paths
from caseapp.db.cipher import encrypt_plain_backups
from caseapp.db.engine import Database, DatabaseDamaged
from caseapp.db.migrate import needs_upgrade, upgrade
from caseapp.db.sharing import refuse_network_share
from caseapp.errors import ConfigError, DatabaseUnavailable
from caseapp.intake.imap import Mailbox
from caseapp.intake.sources import SourceItem, read_items
from caseapp.intake.worker import MailParser
from caseapp.records.action_model import ActionProgress
from caseapp.records.connect import SecretLookup
from caseapp.records.lookup import RecordSystems
from caseapp.records.sources import SourcesConfig, load_sources
from caseapp.records.suppression import PersonIdentifiers
from caseapp.reports.model import MetricsReport, RequestLog
from caseapp.secrets import get_secret
from caseapp.services import backup as service_backup
from caseapp.services import (
    cases,
    changes,
    claims,
    database_admin,
    intake,
    intake_lists,
    legal_clocks,
    letters,
    notices,
    record_actions,
    records,
    scans,
    steps,
    suppression,
    users,
)
from caseapp.services import dashboard as service_dashboard
from caseapp.services import duplicates as service_duplicates
from caseapp.services import reports as service_reports
from caseapp.services import retention as service_retention
from caseapp.services import search as service_search
from caseapp.services.context import Rules, ServiceContext
from caseapp.services.desk_letters import LetterDesk
from caseapp.services.dto import (
    AccessReportData,
    AuditReport,
    CaseDetail,
    CasePage,
    CaseQuery,
    Changed,
    ClockSetting,
    IntakeItem,
    IntakeResult,
    LookupResult,
    MessageDetail,
    NewCase,
    NoticeView,
    PartyData,
    RecordActionView,
    RecordHitView,
    ReindexResult,
    SourceSearchView,
    StepRequest,
    SuppressionMatch,
    UserView,
)
from caseapp.services.intake import MailOrigin
from caseapp.services.mail_fetch import fetch_new_mail
from caseapp.services.scans import ScannedLetter, proposal_for

IMPORT_BATCH = 50
INTEGRITY_AT_START_BYTES = 64 * 1024 * 1024
"""An embedded database file up to this size is checked (quick_check) before the desk
opens: about a second. A larger one (1 GB at 100,000 cases: 15 s) is checked by the
window in the background after it opens, and before each scheduled backup."""
"""Messages per unit of work when importing files: fewer commits, little to redo."""

__all__ = ["Desk", "MailOrigin", "Rules", "ScannedLetter", "proposal_for"]


class Desk(LetterDesk):
    def __init__(self, database_url: str, username: str, clock: Clock | None = None,
                 rules: Rules | None = None) -> None:
        refuse_network_share(database_url)  # SQLite over the network corrupts: say so
        self.db = Database(database_url)
        self.ctx = ServiceContext(self.db, rules or Rules.load(), clock or Clock(), username)
        self._watches: list[changes.ChangeWatch] = []
        self._parser: MailParser | None = None
        self._owns_parser = True
        self._records: RecordSystems | None = None
        self._owns_records = True

    def as_user(self, username: str) -> Desk:
        """The same database and rules, acting as another user (demo data, tests)."""
        other = Desk.__new__(Desk)
        other.db = self.db
        other.ctx = ServiceContext(self.db, self.ctx.base_rules, self.ctx.clock, username)
        other.ctx.rules = self.ctx.rules
        other.ctx.claim_lease = self.ctx.claim_lease
        other._watches = []
        other._parser, other._owns_parser = self._parser, False
        other._records, other._owns_records = self.record_systems_if_set, False
        # The same outgoing mail and printers as this desk (set in tests or by the window).
        for name in ("_smtp", "_smtp_password", "_smtp_ssl_context", "_smtp_settings_file",
                     "_print_server"):
            if name in vars(self):
                setattr(other, name, getattr(self, name))
        return other

    # --- set-up ------------------------------------------------------------------------
    @property
    def database_label(self) -> str:
        return self.db.display_url

    @property
    def is_shared(self) -> bool:
        """A database several workstations share (PostgreSQL), not the embedded file."""
        return self.db.engine.dialect.name != "sqlite"

    @property
    def username(self) -> str:
        return self.ctx.username

    @property
    def rules(self) -> Rules:
        return self.ctx.rules

    @property
    def clock(self) -> Clock:
        return self.ctx.clock

    def set_clock(self, clock: Clock) -> None:
        self.ctx.clock = clock

    def prepare(self, backup_dir: Path) -> Path | None:
        """Create or upgrade the schema (backing SQLite up first) and register the user.
        An embedded file up to INTEGRITY_AT_START_BYTES is checked first (a damaged one
        raises DatabaseDamaged and is not written to); a larger one too when its schema is
        to be upgraded (that writes to it: slow, but once after an update)."""
        size = self.db.file_size() or 0  # PostgreSQL, a new file: nothing to check
        if size <= INTEGRITY_AT_START_BYTES or (size and needs_upgrade(self.db)):
            if size:
                self.check_integrity([backup_dir, Paths.for_user().backup_dir])
            self.db.integrity_checked = True
        if self.db.key is not None and self.db.path is not None:
            # Copies left plain by the release before encryption: encrypted in place.
            encrypt_plain_backups(self.db.path, self.db.key, backup_dir)
        backup = upgrade(self.db, backup_dir)
        users.ensure_current_user(self.ctx)
        legal_clocks.load_overrides(self.ctx)
        return backup

    def check_ready(self) -> None:
        if needs_upgrade(self.db):
            raise DatabaseUnavailable(
                f"The case database {self.db.display_url} is not set up or is older than this "
                "program. Run: caseapp init"
            )
        users.ensure_current_user(self.ctx)
        legal_clocks.load_overrides(self.ctx)

    def close(self) -> None:
        for watch in self._watches:
            watch.stop()
        self._watches = []
        if self._parser is not None and self._owns_parser:
            self._parser.close()
        self._parser = None
        if self._records is not None and self._owns_records:
            self._records.close()
        self._records = None
        self.db.dispose()

    # --- intake ------------------------------------------------------------------------
    @property
    def mail_parser(self) -> MailParser:
        """The desk's pool of mail-parsing worker processes, started on first use."""
        if self._parser is None:
            self._parser, self._owns_parser = MailParser(), True
        return self._parser

    def share_mail_parser(self, parser: MailParser) -> None:
        """Use a pool the caller owns (and closes), e.g. one for many desks in tests."""
        self._parser, self._owns_parser = parser, False

    def take_in(self, item: SourceItem, origin: MailOrigin | None = None) -> IntakeResult:
        """One message in: created, threaded, duplicate, not a request or quarantined."""
        return intake.take_in(self.ctx, self.mail_parser, item, origin)

    def import_files(self, paths: Iterable[Path], *, scans_received_on: date | None = None
                     ) -> Iterator[IntakeResult]:
        """Every message and scan of the files (and folders) named, one result each, in
        order. Scans open cases to review, received on ``scans_received_on`` (today when
        not given: the PO box is emptied daily)."""
        items = read_items(paths)
        scan: list[SourceItem] = []

        def mail_until_a_scan() -> Iterator[SourceItem]:
            for item in items:
                if item.kind == "scan" and item.data:
                    scan.append(item)
                    return
                yield item

        while True:
            # The mail up to the next scan, by batches (one unit of work per batch, the
            # next batch read while one is stored); then the scan.
            yield from intake.take_in_many(self.ctx, self.mail_parser, mail_until_a_scan(),
                                           batch=IMPORT_BATCH)
            if not scan:
                return
            item = scan.pop()
            yield scans.take_in_scan(self.ctx, item.label, item.data,
                                     scans_received_on or self.clock.today())

    def fetch_mail(self, settings: MailSettings, *, password: str | None = None,
                   ssl_context: ssl.SSLContext | None = None,
                   cancel: Callable[[], bool] | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   ) -> Iterator[IntakeResult]:
        """Take in the mailbox's new messages (one result each), flagging each on the
        server once committed. The password comes from the keyring unless given."""
        if not settings.configured:
            raise ConfigError("The mailbox is not set up: give the IMAP server and user in "
                              "Settings → Mailbox, or run: caseapp mail setup")
        secret = password if password is not None else get_secret(settings.secret_name)
        if not secret:
            raise ConfigError(f"No password is stored for the mailbox {settings.imap_user} "
                              f"at {settings.imap_host}. Store it in Settings → Mailbox, or "
                              "run: caseapp mail password")
        with Mailbox.connect(settings, secret, ssl_context=ssl_context) as mailbox:
            yield from fetch_new_mail(
                self.take_in, mailbox, cancel=cancel, progress=progress,
                known_uids=lambda key, validity: intake_lists.known_uids(self.ctx, key, validity))

    def create_case_from_scan(self, new: NewCase, letter: ScannedLetter) -> Changed:
        """A case from a scanned letter as staff confirmed it in the window."""
        return scans.create_case_from_scan(self.ctx, new, letter)

    def attach_scan(self, ref: str, letter: ScannedLetter) -> Changed:
        return scans.attach_scan(self.ctx, ref, letter)

    def intake_queue(self, disposition: str) -> tuple[IntakeItem, ...]:
        return intake_lists.intake_queue(self.ctx, disposition)

    def message_count(self) -> int:
        return intake_lists.message_count(self.ctx)

    def intake_queue_count(self, disposition: str) -> int:
        return intake_lists.intake_queue_count(self.ctx, disposition)

    def review_count(self) -> int:
        return intake_lists.review_count(self.ctx)

    def get_message(self, message_db_id: int) -> MessageDetail:
        return intake_lists.get_message(self.ctx, message_db_id)

    def document_bytes(self, document_id: int) -> tuple[str, str, bytes]:
        return intake_lists.document_bytes(self.ctx, document_id)

    def raw_message(self, message_db_id: int) -> bytes:
        return intake_lists.raw_message(self.ctx, message_db_id)

    def confirm_intake(self, ref: str, expected_version: int | None = None) -> Changed:
        return intake_lists.confirm_intake(self.ctx, ref, expected_version)

    def attach_messages(self, message_db_ids: Iterable[int], ref: str) -> Changed:
        return intake_lists.attach_to_case(self.ctx, message_db_ids, ref)

    def open_case_from_message(self, message_db_id: int, new: NewCase) -> Changed:
        return intake_lists.open_case_from_message(self.ctx, message_db_id, new)

    # --- cases -------------------------------------------------------------------------
    def create_case(self, new: NewCase) -> Changed:
        return cases.create_case(self.ctx, new)

    def get_case(self, ref: str) -> CaseDetail:
        return cases.get_case(self.ctx, ref)

    def list_cases(self, query: CaseQuery, offset: int = 0, limit: int = 200) -> CasePage:
        return cases.list_cases(self.ctx, query, offset, limit)

    def count_cases(self, query: CaseQuery) -> int:
        return cases.count_cases(self.ctx, query)

    def audit_mark(self) -> int:
        return cases.audit_mark(self.ctx)

    def cases_created_since(self, query: CaseQuery, seq: int, limit: int = 200) -> CasePage:
        return cases.cases_created_since(self.ctx, query, seq, limit)

    def update_party(self, ref: str, role: str, data: PartyData,
                     expected_version: int | None = None) -> Changed:
        return cases.update_party(self.ctx, ref, role, data, expected_version)

    def update_case(self, ref: str, expected_version: int | None = None, *,
                    request_types: tuple[str, ...] | None = None,
                    jurisdiction: str | None = None, received_on: date | None = None,
                    priority: str | None = None, summary: str | None = None,
                    language: str | None = None) -> Changed:
        return cases.update_case(
            self.ctx, ref, expected_version, request_types=request_types,
            jurisdiction=jurisdiction, received_on=received_on, priority=priority,
            summary=summary, language=language,
        )

    def assign(self, ref: str, username: str | None,
               expected_version: int | None = None) -> Changed:
        return cases.assign(self.ctx, ref, username, expected_version)

    def add_note(self, ref: str, body: str) -> Changed:
        return cases.add_note(self.ctx, ref, body)

    def take_step(self, ref: str, request: StepRequest) -> Changed:
        return steps.take_step(self.ctx, ref, request)

    def extend(self, ref: str, reason: str, expected_version: int | None = None) -> Changed:
        return steps.extend(self.ctx, ref, reason, expected_version)

    def open_appeal(self, ref: str, reason: str, received_on: date | None = None) -> Changed:
        return steps.open_appeal(self.ctx, ref, reason, received_on)

    # --- claims: who is working on a case (caseapp.services.claims) ----------------------
    @property
    def claim_lease(self) -> timedelta:
        return self.ctx.claim_lease

    def set_claim_lease(self, lease: timedelta) -> None:
        """How long a claim holds unless renewed (the settings' [database] claim_minutes)."""
        self.ctx.claim_lease = lease

    def claim_case(self, ref: str) -> claims.ClaimResult:
        """Take the case to work on (or renew one's lease); ClaimHeld names who holds it."""
        return claims.claim(self.ctx, ref)

    def renew_claim(self, ref: str) -> claims.ClaimResult:
        """Extend this user's lease (the window, while the case is open); a claim someone
        else took meanwhile is left to them (``mine`` is False)."""
        return claims.renew(self.ctx, ref)

    def release_claim(self, ref: str) -> claims.ClaimResult:
        return claims.release(self.ctx, ref)

    def take_over_claim(self, ref: str) -> claims.ClaimResult:
        """Supervisors and administrators: take the case from whoever holds it."""
        return claims.take_over(self.ctx, ref)

    def claim_of(self, ref: str) -> claims.ClaimResult:
        return claims.claim_of(self.ctx, ref)

    def my_claims(self) -> tuple[str, ...]:
        return claims.my_claims(self.ctx)

    def release_my_claims(self) -> tuple[str, ...]:
        """Release every live claim of this user (the window closes); the refs released."""
        released = []
        for ref in claims.my_claims(self.ctx):
            if claims.release(self.ctx, ref).changed:
                released.append(ref)
        return tuple(released)

    def watch_changes(self, callback: Callable[[changes.CaseChanges], None], *,
                      poll_seconds: float = 2.0) -> changes.ChangeWatch:
        """Call ``callback`` (in a thread of its own) with the cases anyone changed:
        PostgreSQL LISTEN/NOTIFY, SQLite polled every ``poll_seconds``. Stopped by
        ``stop()`` or when the desk closes."""
        watch = changes.watch(self.db, callback, poll_seconds)
        self._watches.append(watch)
        return watch

    def add_task(self, ref: str, kind: str, title: str, due_in_days: int | None = None) -> (
        Changed
    ):
        return steps.add_task(self.ctx, ref, kind, title, due_in_days)

    def complete_task(self, ref: str, task_id: int) -> Changed:
        return steps.complete_task(self.ctx, ref, task_id)

    # --- search ------------------------------------------------------------------------
    # One search box over cases, parties, messages, notes, scans' and letters' text
    # (caseapp.search); the index is kept current by every write (caseapp.search.tracking).
    _search_ready = False

    def search(self, query: service_search.SearchQuery) -> service_search.SearchResults:
        """One page of the cases matching the text (anything typed is a valid search) and
        the filters, best first, each with a marked snippet; an empty text lists by the
        filters. The first search of a desk indexes the cases that have no document yet
        (a database from before search)."""
        if not self._search_ready:
            service_search.ensure_index(self.ctx)
            self._search_ready = True
        return service_search.search(self.ctx, query)

    def likely_duplicates(self, ref: str) -> tuple[service_duplicates.LikelyDuplicate, ...]:
        """Other cases likely of the same person (any channel), strong matches first: to
        merge this one into (the "Mark as duplicate" step)."""
        if not self._search_ready:
            service_search.ensure_index(self.ctx)
            self._search_ready = True
        return service_duplicates.likely_duplicates(self.ctx, ref)

    def rebuild_search_index(self) -> int:
        """Every case's search document built again; returns how many."""
        count = service_search.rebuild_index(self.ctx)
        self._search_ready = True
        return count

    def save_search(self, name: str, query: service_search.SearchQuery
                    ) -> service_search.SavedSearchView:
        """Keep ``query`` under ``name`` for this user (a search of that name is replaced)."""
        return service_search.save_search(self.ctx, name, query)

    def list_saved_searches(self) -> tuple[service_search.SavedSearchView, ...]:
        return service_search.list_saved_searches(self.ctx)

    def delete_saved_search(self, name: str) -> None:
        service_search.delete_saved_search(self.ctx, name)
    # --- end of search -----------------------------------------------------------------

    # --- customer records ---------------------------------------------------------------
    def use_sources(self, sources: Path | SourcesConfig, data_dir: Path,
                    index_dir: Path | None = None, secret: SecretLookup | None = None,
                    stale_after_hours: float | None = None) -> None:
        """Search the systems of this sources file (or loaded config); ``data_dir`` fills
        ``{data_dir}`` in its URLs; the desk-side index goes to ``index_dir`` (default
        ``data_dir/record_index``)."""
        config = sources if isinstance(sources, SourcesConfig) else load_sources(sources)
        if self._records is not None and self._owns_records:
            self._records.close()
        extra = {} if stale_after_hours is None else {"stale_after_hours": stale_after_hours}
        self._records = RecordSystems(config, data_dir, index_dir, secret or get_secret,
                                      **extra)
        self._owns_records = True

    @property
    def record_systems_if_set(self) -> RecordSystems | None:
        return self._records

    @property
    def record_systems(self) -> RecordSystems:
        """The customer systems (the user's sources file unless use_sources was called)."""
        if self._records is None:
            paths = Paths.for_user()
            if not paths.sources_file.is_file():
                raise ConfigError(
                    f"No sources file at {paths.sources_file}: describe the customer "
                    "systems there (see resources/sources.example.toml), or run caseapp "
                    "init --demo for the demo systems.")
            self.use_sources(paths.sources_file, paths.data_dir)
        assert self._records is not None
        return self._records

    def lookup(self, ref: str, progress: Callable[[int, int, str], None] | None = None,
               cancel: Callable[[], bool] | None = None) -> LookupResult:
        """Search every customer system for the case's data subject; hits are stored as
        proposals (earlier decisions kept). Cancellable; nothing is stored if cancelled
        (caseapp.records.lookup.LookupCancelled)."""
        return records.lookup(self.ctx, self.record_systems, ref, progress=progress,
                              cancel=cancel)

    def record_hits(self, ref: str) -> tuple[RecordHitView, ...]:
        return records.record_hits(self.ctx, self._records, ref)

    def decide_hit(self, ref: str, hit_id: int, confirmed: bool) -> RecordHitView:
        return records.decide_hit(self.ctx, self._records, ref, hit_id, confirmed)

    def source_status(self, ref: str) -> tuple[SourceSearchView, ...]:
        return records.source_status(self.ctx, self.record_systems, ref)

    def complete_manual_source(self, ref: str, source: str, found: bool, note: str = ""
                               ) -> tuple[SourceSearchView, ...]:
        return records.complete_manual_source(self.ctx, self._records, ref, source, found,
                                              note)

    def reindex(self, source: str | None = None, *, full: bool = False,
                progress: Callable[[str, int, int], None] | None = None,
                cancel: Callable[[], bool] | None = None) -> tuple[ReindexResult, ...]:
        """Build (``full``) or bring up to date the desk-side index of one source or all."""
        return records.reindex(self.ctx, self.record_systems, source, full=full,
                               progress=progress, cancel=cancel)

    def access_report_data(self, ref: str) -> AccessReportData:
        return records.access_report_data(self.ctx, self.record_systems, ref)

    # --- actions on the records ---------------------------------------------------------
    def record_actions(self, ref: str) -> tuple[RecordActionView, ...]:
        return record_actions.list_actions(self.ctx, ref)

    def record_action(self, ref: str, action_id: int) -> RecordActionView:
        return record_actions.get_action(self.ctx, ref, action_id)

    def propose_action(self, ref: str, kind: str, *, hit_ids: Iterable[int] | None = None,
                       corrections: dict[str, str] | None = None) -> RecordActionView:
        """Preview ``kind`` (delete, correct, opt_out, stop_sharing) on the case's
        confirmed records (or the hits named) and store it for approval / running."""
        return record_actions.propose(self.ctx, self.record_systems, ref, kind,
                                      hit_ids=hit_ids, corrections=corrections)

    def approve_action(self, ref: str, action_id: int) -> RecordActionView:
        """Four-eyes: someone other than the one who proposed it approves a deletion."""
        return record_actions.approve(self.ctx, ref, action_id)

    def withdraw_action(self, ref: str, action_id: int, reason: str) -> RecordActionView:
        return record_actions.withdraw(self.ctx, ref, action_id, reason)

    def execute_action(self, ref: str, action_id: int, *,
                       progress: Callable[[ActionProgress], None] | None = None,
                       cancel: Callable[[], bool] | None = None) -> RecordActionView:
        """Carry an approved action out in every system (each in one transaction), record
        the result, the suppression entry and the downstream notices, then verify."""
        try:
            return record_actions.execute(self.ctx, self.record_systems, ref, action_id,
                                          progress=progress, cancel=cancel)
        finally:
            self.db.checkpoint()  # no page from before the deletion stays in the log

    def verify_action(self, ref: str, action_id: int) -> RecordActionView:
        return record_actions.verify(self.ctx, self.record_systems, ref, action_id)

    def notices(self, ref: str) -> tuple[NoticeView, ...]:
        return notices.list_notices(self.ctx, ref)

    def mark_notice_sent(self, ref: str, notice_id: int, how: str) -> NoticeView:
        return notices.mark_sent(self.ctx, ref, notice_id, how)

    def record_notice_answer(self, ref: str, notice_id: int, *, acknowledged: bool,
                             note: str = "") -> NoticeView:
        """Acknowledged by the recipient, or (with the reason why) not notified."""
        return notices.record_answer(self.ctx, ref, notice_id, acknowledged=acknowledged,
                                     note=note)


    def _systems_for(self, ref: str, request: letters.LetterRequest) -> RecordSystems | None:
        """The customer systems, read only for an access report (and only for a verified
        requester: checked before the systems are even opened)."""
        if request.kind != "access_report":
            return self._records
        letters.require_verified_case(self.ctx, ref)
        return self.record_systems

    def check_suppression(self, person: PersonIdentifiers) -> tuple[SuppressionMatch, ...]:
        return suppression.check(self.ctx, person)

    def export_suppression_salt(self) -> str:
        return suppression.export_salt(self.ctx)

    def import_suppression_salt(self, salt: str) -> None:
        suppression.import_salt(self.ctx, salt)

    # --- legal clocks ------------------------------------------------------------------
    def legal_clocks(self) -> list[ClockSetting]:
        return legal_clocks.list_clocks(self.ctx)

    def set_legal_clock(self, jurisdiction: str, request_type: str, clock: str, days: int) -> (
        ClockSetting
    ):
        """Administrator: change a clock marked configurable; new due dates use it."""
        return legal_clocks.set_clock(self.ctx, jurisdiction, request_type, clock, days)

    # --- reports -------------------------------------------------------------------------
    # CCPA §7102 metrics and the §7101 request log (caseapp.reports.model: what counts).
    def metrics_report(self, year: int) -> MetricsReport:
        """The §7102 metrics of the privacy requests received in ``year``."""
        return service_reports.metrics(self.ctx, year)

    def report_years(self) -> tuple[int, ...]:
        """The years with metrics to report, newest first (this year at least)."""
        return service_reports.report_years(self.ctx)

    def request_log(self, start: date | None = None, end: date | None = None
                    ) -> RequestLog:
        """The §7101 log of the privacy requests received from ``start`` to ``end``
        (default: the 24 months up to today)."""
        return service_reports.request_log(self.ctx, start, end)

    def report_csv(self, report: MetricsReport | RequestLog) -> bytes:
        return service_reports.report_csv(report)

    def report_pdf(self, report: MetricsReport | RequestLog) -> bytes:
        """Headed with the organization the letters print."""
        return service_reports.report_pdf(self.ctx, report)
    # --- end of reports --------------------------------------------------------------------

    # --- dashboard -----------------------------------------------------------------------
    def dashboard(self, weeks: int = 12) -> service_dashboard.Dashboard:
        """The home page: six tiles (each with the search that lists its cases), the open
        cases by status, request type and channel, and the cases received and closed in
        each of the last ``weeks`` weeks (Monday to Sunday, this week last)."""
        return service_dashboard.dashboard(self.ctx, weeks)
    # --- end of dashboard ----------------------------------------------------------------

    # --- retention -----------------------------------------------------------------------
    # Cases closed more than 24 months ago lose their personal information (11 CCR §7101
    # keeps the request's record that long): caseapp.services.retention.
    def purge_preview(self, as_of: date | None = None) -> service_retention.PurgePreview:
        """The closed cases due to be purged on ``as_of`` (today), with what would go."""
        return service_retention.purge_preview(self.ctx, as_of)

    def purge(self, cases: service_retention.PurgePreview | Iterable[str] | None = None, *,
              progress: service_retention.Progress | None = None,
              cancel: service_retention.ShouldStop | None = None,
              ) -> service_retention.PurgeOutcome:
        """Administrator: purge the cases of a preview (or these references; None: every
        case due today) that are still due, in batches of one transaction each."""
        try:
            return service_retention.purge(self.ctx, cases, progress=progress, cancel=cancel)
        finally:
            self.db.checkpoint()  # no page from before the purge stays in the log
    # --- end of retention ----------------------------------------------------------------

    # --- backups and the database's integrity (caseapp.services.backup) -----------------
    def back_up(self, target: Path, *, progress: service_backup.Progress | None = None,
                ) -> service_backup.BackupResult:
        """Back the database up into the new file ``target`` while it is in use."""
        return service_backup.back_up(self.db, target, progress=progress)

    def scheduled_backup(self, settings: BackupSettings, paths: Paths, *, force: bool = False,
                         progress: service_backup.Progress | None = None,
                         ) -> service_backup.BackupResult | None:
        """The scheduled backup into the settings' folder if one is due (or ``force``),
        keeping the newest ``keep``; None when none was due."""
        return service_backup.run_scheduled(self.db, settings.folder_path(paths),
                                            settings.every_hours, settings.keep,
                                            force=force, progress=progress)

    def backups(self, folder: Path) -> list[tuple[Path, service_backup.BackupManifest]]:
        return service_backup.scheduled_backups(folder, self.db)

    def restore_backup(self, file: Path, backup_dir: Path, *, replace: bool,
                       progress: service_backup.Progress | None = None,
                       ) -> service_backup.RestoreResult:
        """Replace this database by the backup ``file`` (checked first; the current one is
        backed up into ``backup_dir``). Connections are closed for the swap; the desk goes
        on with the restored database."""
        result = service_backup.restore(self.db.url, file, replace=replace,
                                        backup_dir=backup_dir, db=self.db, progress=progress)
        self.db.allow_writes()
        return result

    def check_integrity(self, backup_dirs: Iterable[Path] = ()) -> None:
        """SQLite's quick check of the embedded file; a damaged database raises
        DatabaseDamaged (naming the newest backup) and is never written to again by this
        desk. Nothing to check on PostgreSQL (the server checks its own pages)."""
        restores = self.db.restores
        problems = self.db.integrity_problems(quick=True)
        if self.db.restores != restores:
            return  # a backup was restored meanwhile: this was the file it replaced
        self.db.integrity_checked = not problems
        if problems:
            self.db.refuse_writes(problems)
            raise DatabaseDamaged(
                f"The case database {self.db.display_url} is damaged (SQLite's check found: "
                f"{problems[0][:200]}). Nothing more is written to it. "
                + service_backup.describe_for_damage(backup_dirs), problems=problems)
        self.db.end_check_hold()

    def hold_writes_for_check(self) -> str:
        """A large file is checked in the background after the window opens: until that
        check passes every write is refused, saying when it started (returned: "10:42";
        reads work). A failed check leaves writes refused as damaged; one that could not
        run keeps them held."""
        if not self.db.integrity_checked:
            self.db.hold_writes_for_check(claims.local_time(self.clock.now(), self.clock))
        return self.db.checking_since

    def writes_held(self) -> bool:
        """Whether writes are refused now (the check runs, or the database is damaged):
        automatic background work waits."""
        return self.db.writes_held

    def clock_offset(self) -> float | None:
        """Seconds a shared desk's server clock is ahead of this workstation's (None for
        an embedded database, which only this workstation's clock times)."""
        if self.db.is_sqlite:
            return None
        with self.db.engine.connect() as connection:
            return database_admin.clock_offset(connection)

    def integrity_checked_at_start(self) -> bool:
        """Whether :meth:`prepare` checked the file (a large one is checked later, in the
        background, by the window)."""
        return self.db.integrity_checked

    # --- users and audit ---------------------------------------------------------------
    def current_user(self) -> UserView:
        return users.ensure_current_user(self.ctx)

    def list_users(self) -> list[UserView]:
        return users.list_users(self.ctx)

    def add_user(self, username: str, role: str, display_name: str = "") -> UserView:
        return users.add_user(self.ctx, username, role, display_name)

    def set_role(self, username: str, role: str) -> UserView:
        return users.set_role(self.ctx, username, role)

    def verify_audit(self) -> AuditReport:
        with self.ctx.read() as session:
            report = verify(session)
        return AuditReport(report.ok, report.events, report.first_broken_seq, report.problem,
                           report.head_hash)
