"""The retention purge (caseapp.services.retention), on SQLite and PostgreSQL.

Cases are made through the real services (mail with attachments, a scanned letter with
its OCR text, notes, tasks, a lookup in the demo customer systems, a deletion with its
notices, a letter issued and mailed), taken to closed, and the clock moved 24 months on.
Planted "canary" values (unusual names, emails, phone numbers, words) are then looked
for in every column of every table, the search index's tables included, and on SQLite in
the database file's bytes: after the purge none of a purged case's is left anywhere,
while the cases not due keep theirs. The §7101 log and §7102 metrics are the same before
and after, the audit chain verifies, and a purge run again does nothing.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from caseapp import audit
from caseapp.cli import main
from caseapp.clock import Clock
from caseapp.config import RetentionSettings, load_settings, save_settings
from caseapp.db.migrate import _config, current_revision, head_revision
from caseapp.db.models import AuditEvent, Case
from caseapp.demo import open_planted_cases
from caseapp.errors import (
    ConfigError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionRefused,
    UserError,
)
from caseapp.records.suppression import PersonIdentifiers
from caseapp.resources import resources_dir
from caseapp.services import Desk, retention
from caseapp.services.dto import NewCase, PartyData, StepRequest
from caseapp.services.letters import LetterRequest
from caseapp.services.search import SearchQuery
from tests.conftest import FIXED_NOW, Staff
from tests.keyring_fixtures import MemoryKeyring
from tests.mailmaker import mail
from tests.records_fixtures import DemoCopy
from tests.test_records_case_actions import use_demo, verified_and_confirmed

T0 = FIXED_NOW  # Wednesday 2026-03-04 15:00 UTC: every case of the history closes today
CLOSED_ON = date(2026, 3, 4)


def at(day: date, hour: int = 15) -> Clock:
    return Clock(fixed=datetime(day.year, day.month, day.day, hour))


# --- the boundary ------------------------------------------------------------------------


@pytest.mark.parametrize(("closed", "kept", "first_purged"), [
    (date(2024, 12, 4), date(2026, 12, 4), date(2026, 12, 5)),  # the issue's example
    (date(2024, 2, 29), date(2026, 2, 28), date(2026, 3, 1)),  # a leap day
    (date(2024, 1, 31), date(2026, 1, 31), date(2026, 2, 1)),
    (date(2023, 12, 31), date(2025, 12, 31), date(2026, 1, 1)),
])
def test_a_case_is_kept_24_months_to_the_day_and_purged_the_day_after(
        closed: date, kept: date, first_purged: date) -> None:
    assert retention.kept_until(closed) == kept
    assert not retention.is_due(closed, kept)
    assert retention.is_due(closed, first_purged)
    assert retention.closed_before(first_purged) > closed
    assert retention.closed_before(kept) <= closed


def test_closed_before_is_exactly_the_first_closing_day_not_due() -> None:
    today = date(2026, 1, 1)
    while today < date(2029, 1, 1):
        first_kept = retention.closed_before(today)
        assert not retention.is_due(first_kept, today)
        assert retention.is_due(first_kept - timedelta(days=1), today)
        today += timedelta(days=1)


def test_the_closing_day_is_the_desks_date_not_utc(desk: Desk) -> None:
    # 03:00 UTC on 5 December is still 4 December in New Jersey.
    desk.set_clock(Clock(fixed=datetime(2024, 12, 5, 3, 0)))
    ref = desk.create_case(NewCase(channel="phone", request_types=("access",),
                                   requester=PartyData(name="Late Caller", state="CA"))
                           ).case.ref
    desk.take_step(ref, StepRequest("withdraw", reason="Called back"))
    desk.set_clock(Clock(fixed=datetime(2026, 12, 5, 4, 59)))  # 23:59 on 4 Dec at the desk
    assert desk.purge_preview().cases == ()
    desk.set_clock(Clock(fixed=datetime(2026, 12, 5, 5, 0)))  # midnight at the desk
    [candidate] = desk.purge_preview().cases
    assert (candidate.ref, candidate.closed_on, candidate.kept_until) == (
        ref, date(2024, 12, 4), date(2026, 12, 4))
    assert desk.purge_preview().closed_before == date(2024, 12, 5)


# --- a desk's history ----------------------------------------------------------------------


@dataclass
class History:
    """The cases made, and what each must (not) keep."""

    jose: str  # deletion with records, notices, letter mailed, mail with attachment
    brackenbury: str  # opened from mail with an attachment, denied
    whitfield: str  # opened from a scanned letter (OCR), withdrawn
    finchley: str  # closed a day later than the others: kept a day longer
    quimby: str  # still open
    others: tuple[str, ...]  # the other planted people's open cases
    canaries: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def due(self) -> tuple[str, ...]:
        return (self.jose, self.brackenbury, self.whitfield)


def _eml(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def make_history(staff: Staff, tmp_path: Path) -> History:
    alice, bob = staff.alice, staff.bob
    staff.set_clock(Clock(fixed=T0 - timedelta(days=2)))
    jose, *others = open_planted_cases(alice)

    # José: his records found and deleted (four-eyes), notices answered, a letter mailed;
    # a reply with an attachment, a note and a task naming a canary.
    verified_and_confirmed(alice, jose)
    [result] = alice.import_files([_eml(tmp_path / "mail", "reply.eml", mail(
        subject=f"Re: Your privacy request {jose}", message_id="<reply-1@example.com>",
        sender="Jose Nunez <jose.nunez@example.com>",
        body="Here is my Quokkaberry membership card, as asked. Zephyrine helped me.",
        attachments=(("quokkaberry-card.txt", "text/plain",
                      b"Member: Jose Nunez, card Quokkaberry-77123"),)))])
    assert (result.outcome, result.case_ref) == ("threaded", jose), result
    alice.add_note(jose, "Zephyrine (his daughter) called for him on 555-0199.")
    alice.add_task(jose, "follow_up", "Ring Zephyrine back about the Quokkaberry card")
    action = alice.propose_action(jose, "delete")
    bob.approve_action(jose, action.id)
    done = alice.execute_action(jose, action.id)
    assert done.status == "verified", done.problems
    notices = alice.notices(jose)
    assert notices
    for notice in notices:
        alice.mark_notice_sent(jose, notice.id, "emailed to Zephyrine's dealer contact")
        alice.record_notice_answer(jose, notice.id, acknowledged=True,
                                   note="Done, says Quokkaberry Motors")
    alice.take_step(jose, StepRequest("submit_for_review"))
    letter = bob.issue_letter(jose, LetterRequest("deletion_confirmation", delivery="post"))
    bob.record_mailing(jose, letter.serial, method="certified",
                       tracking_number="94071118995550001234")
    bob.take_step(jose, StepRequest("approve_and_send"))

    # Ottoline Brackenbury writes in with an attachment; she is a dealer: denied.
    [opened] = alice.import_files([_eml(tmp_path / "mail", "brackenbury.eml", mail(
        subject="Delete my data please", message_id="<brackenbury-1@example.net>",
        sender="Ottoline Brackenbury <ottoline.brackenbury@example.net>",
        body="I am Ottoline Brackenbury, 77 Quillfeather Lane, San Jose, CA 95112, phone "
             "(415) 555-0163. Please delete everything about my Marzipanwagen account.",
        attachments=(("brackenbury-id.txt", "text/plain",
                      b"Ottoline Brackenbury Quillfeather identity"),)))])
    assert opened.outcome == "created", opened
    brackenbury = opened.case_ref

    # Daniel R. Whitfield's postal letter, scanned and read by OCR; withdrawn.
    [scanned] = alice.import_files([resources_dir() / "demo" / "scanned_letter.png"],
                                   scans_received_on=T0.date() - timedelta(days=3))
    assert scanned.outcome == "created", scanned
    whitfield = scanned.case_ref

    # Perpetua Finchley (closed a day later) and Ignatius Quimby (open).
    finchley = alice.create_case(NewCase(
        channel="phone", request_types=("delete",), summary="Perpetua about Lamplighter",
        requester=PartyData(name="Perpetua Finchley", email="perpetua.finchley@example.org",
                            phone="(415) 555-0171", state="CA",
                            postal_address="9 Lamplighter Row\nFresno, CA 93701",
                            postal_code="93701"))).case.ref
    alice.add_note(finchley, "Perpetua Finchley prefers the Lamplighter address.")
    quimby = alice.create_case(NewCase(
        channel="phone", request_types=("access",), summary="Ignatius Quimby, Gooseberry",
        requester=PartyData(name="Ignatius Quimby", email="ignatius.quimby@example.org",
                            phone="(415) 555-0172", state="CA"))).case.ref
    alice.add_note(quimby, "Ignatius Quimby will call about Gooseberry.")

    # Everything due is closed on T0, Finchley a day later.
    staff.set_clock(Clock(fixed=T0))
    alice.take_step(jose, StepRequest("close"))
    alice.take_step(brackenbury, StepRequest("deny", reason="Not made by a consumer: a "
                                             "dealer's business contact"))
    alice.take_step(whitfield, StepRequest("withdraw", reason="He phoned: no longer wanted"))
    staff.set_clock(Clock(fixed=T0 + timedelta(days=1)))
    alice.take_step(finchley, StepRequest("withdraw", reason="Perpetua withdrew it"))

    history = History(jose, brackenbury, whitfield, finchley, quimby, tuple(others))
    history.canaries = {
        jose: ("Núñez", "jose.nunez", "5550143", "Capitol Avenue", "Quokkaberry", "Zephyrine",
               "555-0199", "94071118995550001234"),
        brackenbury: ("Brackenbury", "Ottoline", "Quillfeather", "Marzipanwagen", "5550163"),
        whitfield: ("Whitfield",),
        finchley: ("Finchley", "Perpetua", "Lamplighter", "5550171"),
        quimby: ("Quimby", "Ignatius", "Gooseberry", "5550172"),
    }
    return history


# --- looking for canaries ------------------------------------------------------------------


def fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _forms(canary: str) -> set[str]:
    forms = {fold(canary)}
    digits = "".join(c for c in canary if c.isdigit())
    if len(digits) >= 7:
        forms.add(digits)
    return forms


def _holds(value: object, forms: set[str]) -> bool:
    if value is None:
        return False
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value).lower()
        return any(form.encode() in raw for form in forms)
    folded = fold(str(value))
    # A phone number as typed: without its separators (never without letters, which would
    # turn a hex digest into digits that may hold any 7-digit number).
    joined = re.sub(r"[\s().+\-]", "", folded)
    return any(form in folded or (form.isdigit() and form in joined) for form in forms)


def find_canaries(desk: Desk, canaries: Iterable[str]) -> dict[str, set[str]]:
    """Where (table.column) each canary is found, in every column of every table."""
    wanted = {canary: _forms(canary) for canary in canaries}
    found: dict[str, set[str]] = {canary: set() for canary in wanted}
    engine = desk.db.engine
    inspector = inspect(engine)
    tables = inspector.get_table_names()
    assert "search_documents" in tables and "audit_events" in tables
    with engine.connect() as connection:
        for table in tables:
            columns = [column["name"] for column in inspector.get_columns(table)]
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                for name, value in zip(columns, row, strict=False):
                    for canary, forms in wanted.items():
                        if _holds(value, forms):
                            found[canary].add(f"{table}.{name}")
        if engine.dialect.name == "sqlite":
            # Every word the full-text index still holds (segments not yet merged too).
            connection.execute(text("CREATE VIRTUAL TABLE IF NOT EXISTS temp.purge_vocab "
                                    "USING fts5vocab(main, search_fts, row)"))
            for (term,) in connection.execute(text("SELECT term FROM temp.purge_vocab")):
                for canary, forms in wanted.items():
                    if _holds(term, forms):
                        found[canary].add("search_fts(vocab)")
    return found


def in_file(path: Path, canaries: Iterable[str]) -> set[str]:
    """The canaries whose bytes are in the file (and its write-ahead log)."""
    data = b""
    for each in (path, path.with_name(path.name + "-wal")):
        if each.exists():
            data += each.read_bytes().lower()
    return {canary for canary in canaries
            if any(form.encode() in data for form in _forms(canary) if not form.isdigit())}


# --- the purge -----------------------------------------------------------------------------


@pytest.fixture
def history(staff: Staff, demo: DemoCopy, memory_keyring: MemoryKeyring,
            tmp_path: Path) -> History:
    use_demo(staff, demo)
    return make_history(staff, tmp_path)


def test_a_purge_removes_every_piece_of_personal_information_and_keeps_the_log(
        staff: Staff, history: History) -> None:
    alice = staff.alice
    due_canaries = [c for ref in history.due for c in history.canaries[ref]]
    kept_canaries = [c for ref in (history.finchley, history.quimby)
                     for c in history.canaries[ref]]
    every = due_canaries + kept_canaries
    before = find_canaries(alice, every)
    assert all(before.values()), {c: w for c, w in before.items() if not w}  # planted
    # ... in the tables the scan must reach: the search index, the audit details, blobs.
    index = "search_fts(vocab)" if alice.db.is_sqlite else "search_documents.tsv"
    assert {"search_documents.folded", "search_names.word", index} <= before["Zephyrine"] | \
        before["Brackenbury"] | before["Quokkaberry"]
    assert "audit_events.detail" in before["Zephyrine"]  # a task's title
    assert "blobs.data" in before["Quillfeather"]  # the attachment, the raw mail
    assert "documents.text" in before["Whitfield"]  # the scan's OCR text
    assert "downstream_notices.answer_note" in before["Quokkaberry"]

    # The last day kept: nothing is due; the day after: exactly the three closed on T0.
    staff.set_clock(at(date(2028, 3, 4), 23))
    assert alice.purge_preview().cases == ()
    staff.set_clock(at(date(2028, 3, 5), 14))
    preview = alice.purge_preview()
    assert preview.closed_before == date(2026, 3, 5)
    assert [c.ref for c in preview.cases] == sorted(history.due)
    assert {c.closed_on for c in preview.cases} == {CLOSED_ON}
    jose = next(c for c in preview.cases if c.ref == history.jose)
    counts = jose.counts
    assert counts.parties == 1 and counts.messages == 1 and counts.documents == 1
    assert counts.letter_pdfs == 1 and counts.notes == 1 and counts.record_hits > 0
    assert counts.record_actions == 1 and counts.notices > 0 and counts.audit_events > 0
    whitfield = next(c for c in preview.cases if c.ref == history.whitfield)
    assert whitfield.counts.documents == 1 and whitfield.counts.messages == 1

    log_before = alice.request_log(date(2026, 1, 1), date(2026, 12, 31))
    metrics_before = alice.metrics_report(2026)
    assert any(row.response.startswith("Complied in part") for row in log_before.rows)

    outcome = alice.purge(preview)

    assert [p.ref for p in outcome.purged] == sorted(history.due)
    assert outcome.skipped == () and not outcome.cancelled
    # The §7101 log and the §7102 metrics give the same figures.
    assert alice.request_log(date(2026, 1, 1), date(2026, 12, 31)) == log_before
    assert alice.metrics_report(2026) == metrics_before
    # The audit chain still verifies, with one case.purged event per case.
    report = alice.verify_audit()
    assert report.ok, report
    with alice.ctx.read() as session:
        purged_events = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "case.purged").order_by(AuditEvent.seq)).all()
        assert sorted(e.case_ref or "" for e in purged_events) == sorted(history.due)
        detail = json.loads(purged_events[0].detail)
        assert set(detail) == {"closed_on", "kept_until", "counts", "redacted_events",
                               "redacted_sha256"}
        assert all(isinstance(n, int) for n in detail["counts"].values())

    # No canary of a purged case anywhere; the others keep theirs.
    after = find_canaries(alice, every)
    assert {c: w for c, w in after.items() if c in due_canaries and w} == {}
    assert all(after[c] for c in kept_canaries), after
    if alice.db.is_sqlite:
        path = Path(alice.db.engine.url.database or "")
        assert in_file(path, due_canaries) == set()
        # The file is encrypted (caseapp.db.cipher): what is kept is not readable either;
        # tests/test_encryption.py reads a plain file's bytes after a purge.
        assert in_file(path, kept_canaries) == set()

    # Search finds the purged cases by reference, never by what they held.
    case = alice.get_case(history.jose)
    assert case.status == "closed" and case.request_types == ("delete",)
    assert "retention purge" in case.summary
    assert case.requester.name == "" and case.requester.email == ""
    assert case.requester.state == "CA"
    assert case.messages == () and case.documents == () and case.notes == ()
    assert case.history[-1].action == "case.purged"
    assert not case.can_appeal
    with pytest.raises(TransitionRefused, match="purged"):
        alice.open_appeal(history.jose, "I disagree")
    with pytest.raises(NotFound, match="not stored"):
        alice.letter_pdf(history.jose, alice.list_letters(history.jose)[0].serial)
    assert alice.list_letters(history.jose)[0].tracking_number == ""
    assert alice.get_case(history.brackenbury).status_reason.startswith("Not made by")
    assert alice.get_case(history.whitfield).status_reason == ""
    # The record action keeps its shape and counts, no record key, value or digest.
    [action] = alice.record_actions(history.jose)
    assert action.status == "verified" and action.rows_changed > 0
    assert action.result is not None
    for keys in ([t.key for t in action.plan.request.targets],
                 [t.key for t in action.result.request.targets],
                 [c.key for s in action.plan.sources for t in s.tables for c in t.changes],
                 [k for s in action.result.sources for t in s.tables
                  for k in (*t.changed, *t.already_done, *t.missing, *(r.key for r in t.kept))]):
        assert keys and all(key.startswith("#") for key in keys), keys
    assert all(not t.digests for s in action.result.sources for t in s.tables)
    assert all(c.before is None and c.after is None for s in action.plan.sources
               for t in s.tables for ch in t.changes for c in ch.columns)
    assert sum(s.rows_changed for s in action.result.sources) == action.rows_changed
    assert alice.record_hits(history.jose) == ()
    # The suppression list still recognises José.
    matches = alice.check_suppression(PersonIdentifiers(emails=("jose.nunez@example.com",)))
    assert [m.case_ref for m in matches] == [history.jose]

    # Again: nothing to do, nothing written.
    events = report.events
    assert alice.purge_preview().cases == ()
    assert alice.purge().purged == ()
    assert alice.purge([history.jose]).skipped == ((history.jose, "purged already on "
                                                                  "2028-03-05"),)
    assert alice.verify_audit().events == events

    # A day later Finchley is due too; Quimby (open) never.
    staff.set_clock(at(date(2028, 3, 6)))
    assert alice.purge_preview().refs == (history.finchley,)


def test_only_an_administrator_purges(staff: Staff, history: History) -> None:
    staff.set_clock(at(date(2028, 3, 5)))
    assert staff.bob.purge_preview().refs == tuple(sorted(history.due))  # supervisors see
    with pytest.raises(PermissionDenied):
        staff.bob.purge()
    with pytest.raises(PermissionDenied):
        staff.carol.purge_preview()
    assert staff.alice.purge_preview().refs == tuple(sorted(history.due))


def test_the_audit_trail_still_finds_tampering_after_a_purge(staff: Staff,
                                                              history: History) -> None:
    alice = staff.alice
    staff.set_clock(at(date(2028, 3, 5)))
    alice.purge()
    assert alice.verify_audit().ok
    with alice.ctx.read() as session:
        case_id = session.scalars(select(Case.id).where(Case.ref == history.jose)).one()
        events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                 .order_by(AuditEvent.seq)).all()
        redacted = [e for e in events if e.detail_sha256 is not None]
        kept = [e for e in events if e.detail_sha256 is None and e.action != "case.purged"]
        purge_event = next(e for e in events if e.action == "case.purged")
        task = next(e for e in redacted if e.action == "task.added")
        step = next(e for e in events if e.action == "case.step")
    assert redacted and kept
    assert json.loads(task.detail) == {"kind": "follow_up", audit.REDACTED_KEY: {
        "by": purge_event.seq, "removed": ["title"]}}
    # Who claimed the case by taking the step is staff, kept like "approved_by".
    assert step in kept and set(json.loads(step.detail)) == {"step", "label", "from", "to",
                                                             "claimed"}

    def tampered(statement: str, **params: object) -> int | None:
        with alice.db.engine.begin() as connection:
            saved = connection.execute(text(
                "SELECT seq, detail, detail_sha256 FROM audit_events")).all()
            connection.execute(text(statement), params)
        report = alice.verify_audit()
        with alice.db.engine.begin() as connection:  # put it back
            for seq, detail, digest in saved:
                connection.execute(text("UPDATE audit_events SET detail = :d, "
                                        "detail_sha256 = :h WHERE seq = :s"),
                                   {"d": detail, "h": digest, "s": seq})
        assert alice.verify_audit().ok
        assert not report.ok
        return report.first_broken_seq

    # What a redacted event kept, changed: the purge's seal no longer fits.
    forged = json.loads(task.detail)
    forged["kind"] = "manual_source"
    assert tampered("UPDATE audit_events SET detail = :d WHERE seq = :s",
                    d=audit.canonical_json(forged), s=task.seq) == purge_event.seq
    # Its digest changed: its own link breaks.
    assert tampered("UPDATE audit_events SET detail_sha256 = :h WHERE seq = :s",
                    h="0" * 64, s=task.seq) == task.seq
    # A detail put back in place of the redaction: it is not the one the link covers.
    assert tampered("UPDATE audit_events SET detail = '{\"kind\":\"x\"}', "
                    "detail_sha256 = NULL WHERE seq = :s", s=task.seq) == task.seq
    # A detail the purge kept, removed "in its name": the seal counts one too many.
    marker = audit.canonical_json({audit.REDACTED_KEY: {"by": purge_event.seq,
                                                        "removed": ["step"]}})
    assert tampered("UPDATE audit_events SET detail = :d, detail_sha256 = :h WHERE seq = :s",
                    d=marker, h=audit.detail_digest(step.detail),
                    s=step.seq) == purge_event.seq
    # A detail of a case never purged, removed as if by a purge that is no purge.
    with alice.ctx.read() as session:
        other = session.scalars(select(AuditEvent).where(
            AuditEvent.case_ref == history.quimby).order_by(AuditEvent.seq)).first()
        assert other is not None
        later = session.scalars(select(AuditEvent.seq).where(
            AuditEvent.seq > other.seq, AuditEvent.action != "case.purged")).first()
    fake = audit.canonical_json({audit.REDACTED_KEY: {"by": later, "removed": []}})
    assert tampered("UPDATE audit_events SET detail = :d, detail_sha256 = :h WHERE seq = :s",
                    d=fake, h=audit.detail_digest(other.detail), s=other.seq) == later


def test_a_crash_in_a_batch_leaves_each_case_purged_wholly_or_not_at_all(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    desk.set_clock(at(date(2024, 6, 3)))
    refs = []
    for number in range(5):
        ref = desk.create_case(NewCase(
            channel="phone", request_types=("delete",),
            requester=PartyData(name=f"Crashington Number{number}", state="CA",
                                email=f"crash{number}@example.org"))).case.ref
        desk.add_note(ref, f"Crashington note {number}")
        desk.take_step(ref, StepRequest("withdraw", reason="Changed their mind"))
        refs.append(ref)
    desk.set_clock(at(date(2026, 6, 4)))
    original = retention._purge_case
    calls = []

    def failing(*args: object, **kwargs: object) -> list[Path]:
        calls.append(1)
        if len(calls) == 4:  # the second case of the second batch: the batch fails
            raise RuntimeError("the power went out")
        case = args[2]
        if getattr(case, "ref", "") == refs[3]:  # and this case fails every time
            raise RuntimeError("a row the purge cannot handle")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(retention, "_purge_case", failing)
    outcome = retention.purge(desk.ctx, desk.purge_preview(), batch=2)
    # The failed batch was taken again case by case: the case that cannot be purged is
    # skipped, whole (nothing of it half-purged), and the others are purged.
    assert [p.ref for p in outcome.purged] == [refs[0], refs[1], refs[2], refs[4]]
    assert [ref for ref, _why in outcome.skipped] == [refs[3]]
    assert "tried again at the next purge" in outcome.skipped[0][1]
    monkeypatch.setattr(retention, "_purge_case", original)
    states = {ref: desk.get_case(ref) for ref in refs}
    assert [bool(states[ref].requester.name) for ref in refs] == [False, False, False, True,
                                                                  False]
    assert [len(states[ref].notes) for ref in refs] == [0, 0, 0, 1, 0]
    assert desk.verify_audit().ok
    assert desk.purge_preview().refs == (refs[3],)
    assert [p.ref for p in desk.purge().purged] == [refs[3]]
    assert desk.purge_preview().refs == ()
    assert desk.verify_audit().ok


def test_cancelling_stops_between_batches_and_progress_is_reported(desk: Desk) -> None:
    desk.set_clock(at(date(2024, 6, 3)))
    refs = [desk.create_case(NewCase(channel="phone", request_types=("access",),
                                     requester=PartyData(name=f"P{n}", state="CA"))).case.ref
            for n in range(3)]
    for ref in refs:
        desk.take_step(ref, StepRequest("withdraw", reason="No longer needed"))
    desk.set_clock(at(date(2026, 6, 4)))
    seen: list[tuple[int, int, str]] = []
    outcome = retention.purge(desk.ctx, refs, batch=2,
                              progress=lambda *report: seen.append(report),
                              cancel=lambda: bool(seen))
    assert outcome.cancelled and [p.ref for p in outcome.purged] == refs[:2]
    assert seen == [(2, 3, refs[1])]
    assert "cancelled" in outcome.summary()


def test_bytes_another_case_still_holds_are_kept(desk: Desk, tmp_path: Path) -> None:
    form = ("request-form.pdf", "application/pdf", b"%PDF-1.4 the brand's own request form")
    desk.set_clock(at(date(2024, 6, 3)))
    refs = []
    for number, name in enumerate(("Old Sender", "New Sender"), start=1):
        [result] = desk.import_files([_eml(tmp_path, f"{number}.eml", mail(
            subject="Delete my data", sender=f"{name} <sender{number}@example.org>",
            message_id=f"<form-{number}@example.org>", attachments=(form,)))])
        assert result.outcome == "created", result
        refs.append(result.case_ref)
    desk.take_step(refs[0], StepRequest("withdraw", reason="Withdrawn"))
    desk.set_clock(at(date(2026, 6, 4)))
    assert [p.ref for p in desk.purge().purged] == [refs[0]]
    [message] = desk.get_case(refs[1]).messages
    [attachment] = desk.get_message(message.id).attachments
    assert desk.document_bytes(attachment.document_id)[2] == form[2]
    assert desk.get_case(refs[0]).messages == ()


def test_an_open_appeal_holds_the_case_it_appeals(desk: Desk) -> None:
    desk.set_clock(at(date(2024, 6, 3)))
    ref = desk.create_case(NewCase(channel="phone", request_types=("delete",),
                                   requester=PartyData(name="Apollonia", state="VA"))).case.ref
    desk.take_step(ref, StepRequest("deny", reason="Could not verify the identity"))
    appeal = desk.open_appeal(ref, "I sent the form").case.ref
    desk.set_clock(at(date(2026, 6, 4)))
    preview = desk.purge_preview()
    assert preview.cases == ()
    assert preview.held == ((ref, f"its appeal {appeal} is still open"),)
    assert desk.purge([ref]).skipped == ((ref, f"its appeal {appeal} is still open"),)


# --- the migration of the audit chain --------------------------------------------------------


def _v1_ok(desk: Desk) -> tuple[bool, int]:
    """The chain checked in its form before 0011 (the link covers the detail's JSON)."""
    import hashlib

    prev, count = "0" * 64, 0
    with desk.db.engine.connect() as connection:
        for seq, at_, actor, ref, action, detail, prev_hash, digest in connection.execute(
                select(AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.case_ref,
                       AuditEvent.action, AuditEvent.detail, AuditEvent.prev_hash,
                       AuditEvent.hash).order_by(AuditEvent.seq)):
            content = "\x1f".join([prev, str(seq), at_.isoformat(), actor, ref or "", action,
                                   detail])
            if prev_hash != prev or digest != hashlib.sha256(content.encode()).hexdigest():
                return False, count
            prev, count = digest, count + 1
    return True, count


def _migrate(desk: Desk, revision: str, down: bool = False) -> None:
    config = _config()
    with desk.db.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _busy(desk: Desk) -> int:
    for name in ("Ann", "Ben"):
        ref = desk.create_case(NewCase(channel="email", request_types=("delete",),
                                       requester=PartyData(name=name, state="CA"))).case.ref
        desk.add_task(ref, "follow_up", f"Call {name}")
        desk.take_step(ref, StepRequest("deny", reason=f"{name} is not a consumer"))
    report = desk.verify_audit()
    assert report.ok
    return report.events


def test_the_upgrade_relinks_an_intact_chain_which_then_verifies(desk: Desk) -> None:
    events = _busy(desk)
    head = desk.verify_audit().head_hash
    _migrate(desk, "0010", down=True)
    assert _v1_ok(desk) == (True, events)
    _migrate(desk, "head")
    assert current_revision(desk.db) == head_revision()
    report = desk.verify_audit()
    assert (report.ok, report.events, report.head_hash) == (True, events, head)
    desk.add_note("PR-2026-00001", "After the upgrade")
    assert desk.verify_audit().ok


@pytest.mark.parametrize(("tampering", "broken_at"), [
    ("UPDATE audit_events SET detail = '{\"forged\":true}' WHERE seq = 4", 4),
    ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1", 1),
    ("DELETE FROM audit_events WHERE seq = 6", 6),
    ("DELETE FROM audit_events WHERE seq > 5", 6),
])
def test_the_upgrade_never_launders_a_tampered_chain(desk: Desk, tampering: str,
                                                     broken_at: int) -> None:
    _busy(desk)
    _migrate(desk, "0010", down=True)
    with desk.db.engine.begin() as connection:
        connection.exec_driver_sql(tampering)
    _migrate(desk, "head")
    report = desk.verify_audit()
    assert not report.ok and report.first_broken_seq == broken_at, report


def test_the_downgrade_is_refused_once_a_purge_redacted_events(desk: Desk) -> None:
    desk.set_clock(at(date(2024, 6, 3)))
    _busy(desk)
    desk.set_clock(at(date(2026, 6, 4)))
    assert len(desk.purge().purged) == 2
    with pytest.raises(RuntimeError, match="redacted"):
        _migrate(desk, "0010", down=True)
    assert current_revision(desk.db) == head_revision()
    assert desk.verify_audit().ok


# --- the command line --------------------------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    """A database with two cases closed in 2023 (due whatever today is) and one closed
    today (not due); alice is its administrator, carol an agent."""
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    desk = Desk(url, "alice", clock=at(date(2023, 1, 10)))
    desk.prepare(tmp_path / "backups")
    desk.add_user("carol", "agent")
    refs = []
    for name in ("Cassiopeia Old", "Bartholomew Old"):
        ref = desk.create_case(NewCase(channel="phone", request_types=("access",),
                                       requester=PartyData(name=name, state="CA"))).case.ref
        desk.take_step(ref, StepRequest("withdraw", reason="Withdrawn"))
        refs.append(ref)
    desk.set_clock(Clock())
    recent = desk.create_case(NewCase(channel="phone", request_types=("access",),
                                      requester=PartyData(name="Recent", state="CA"))).case.ref
    desk.take_step(recent, StepRequest("withdraw", reason="Withdrawn"))
    desk.close()
    return url, refs


def test_purge_preview_and_run_from_the_command_line(
        cli_db: tuple[str, list[str]], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    url, refs = cli_db
    assert main(["--db", url, "--user", "alice", "purge", "--preview", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [case["ref"] for case in shown["cases"]] == refs
    assert shown["cases"][0]["closed_on"] == "2023-01-10"
    assert shown["cases"][0]["kept_until"] == "2025-01-10"
    assert shown["cases"][0]["counts"]["parties"] == 1

    assert main(["--db", url, "--user", "alice", "purge", "--preview"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{refs[0]}  closed 2023-01-10  1 party")
    assert "2 cases closed before" in out[-1]

    # Not on a terminal and no --yes: nothing happens.
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["--db", url, "--user", "alice", "purge", "--run"]) == 2
    assert "--yes" in capsys.readouterr().err
    # An agent may not.
    assert main(["--db", url, "--user", "carol", "purge", "--run", "--yes"]) == 2
    assert "administrator" in capsys.readouterr().err
    # On a terminal, "no" purges nothing.
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    assert main(["--db", url, "--user", "alice", "purge", "--run"]) == 1
    assert "Nothing was purged" in capsys.readouterr().out

    assert main(["--db", url, "--user", "alice", "purge", "--run", "--yes"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [f"purged  {refs[0]}  closed 2023-01-10  1 party, 1 audit detail",
                       f"purged  {refs[1]}  closed 2023-01-10  1 party, 1 audit detail"]
    assert out[-1] == "Purged the personal information of 2 cases (of 2 due)."
    assert main(["--db", url, "--user", "alice", "purge", "--run", "--yes"]) == 0
    assert capsys.readouterr().out.startswith("Nothing to purge")
    assert main(["--db", url, "--user", "alice", "audit", "verify"]) == 0


def test_purge_is_listed_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "purge" in capsys.readouterr().out


# --- names a misspelled search offers, after a purge ---------------------------------------


def _two_quackenbusches(desk: Desk) -> tuple[str, str]:
    """A case due for purge (Brunhilde Quackenbush) and a newer one (Otto Quackenbusch):
    "Quackenbosh" is one edit from the first name and two from the second."""
    desk.set_clock(at(date(2024, 6, 3)))
    old = desk.create_case(NewCase(channel="phone", request_types=("delete",),
                                   requester=PartyData(name="Brunhilde Quackenbush",
                                                       state="CA"))).case.ref
    desk.take_step(old, StepRequest("withdraw", reason="Changed their mind"))
    desk.set_clock(at(date(2026, 6, 4)))
    kept = desk.create_case(NewCase(channel="phone", request_types=("access",),
                                    requester=PartyData(name="Otto Quackenbusch",
                                                        state="CA"))).case.ref
    return old, kept


def test_a_purged_name_is_never_offered_for_a_misspelled_one(desk: Desk) -> None:
    old, kept = _two_quackenbusches(desk)
    before = desk.search(SearchQuery(text="Quackenbosh "))
    assert {hit.ref for hit in before.hits} == {old, kept}
    assert before.similar == (("quackenbosh", ("quackenbush", "quackenbusch")),)
    assert [p.ref for p in desk.purge().purged] == [old]
    # The names read before the purge are not searched or shown again ...
    after = desk.search(SearchQuery(text="Quackenbosh "))
    assert [hit.ref for hit in after.hits] == [kept]
    assert after.similar == (("quackenbosh", ("quackenbusch",)),)
    # ... and the purged name, typed, is a misspelling like any other.
    typed = desk.search(SearchQuery(text="Quackenbush "))
    assert [hit.ref for hit in typed.hits] == [kept]
    assert typed.similar == (("quackenbush", ("quackenbusch",)),)


def test_names_restored_from_a_backup_are_offered_again(desk: Desk, tmp_path: Path) -> None:
    old, kept = _two_quackenbusches(desk)
    made = desk.back_up(tmp_path / ("before-purge.sqlite3" if desk.db.is_sqlite
                                    else "before-purge.dump"))
    assert [p.ref for p in desk.purge().purged] == [old]
    assert [hit.ref for hit in desk.search(SearchQuery(text="Quackenbosh ")).hits] == [kept]
    # The purge undone from the backup made just before it: the highest name row is the
    # same as after the purge, the names are not.
    desk.restore_backup(made.path, tmp_path / "safety", replace=True)
    restored = desk.search(SearchQuery(text="Quackenbosh "))
    assert restored.similar == (("quackenbosh", ("quackenbush", "quackenbusch")),)
    assert {hit.ref for hit in restored.hits} == {old, kept}


# --- the setting ---------------------------------------------------------------------------


def test_the_retention_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    file = tmp_path / "settings.toml"
    file.write_text('user = "alice"\n', encoding="utf-8")
    assert load_settings(file).retention == RetentionSettings(purge="daily")  # the default
    file.write_text('[retention]\npurge = "off"\n', encoding="utf-8")
    settings = load_settings(file)
    assert settings.retention.purge == "off"
    save_settings(settings, file)
    assert '[retention]\npurge = "off"' in file.read_text(encoding="utf-8")
    assert load_settings(file).retention.purge == "off"
    for wrong in ('[retention]\npurge = "weekly"\n', '[retention]\nkeep = 24\n',
                  'retention = "off"\n'):
        file.write_text(wrong, encoding="utf-8")
        with pytest.raises(ConfigError, match="retention"):
            load_settings(file)


def test_nothing_new_is_filed_with_a_purged_case(desk: Desk, tmp_path: Path) -> None:
    desk.set_clock(at(date(2024, 6, 3)))
    ref = desk.create_case(NewCase(channel="phone", request_types=("access",), requester=(
        PartyData(name="Xanthippe Quorlewick", email="xq@example.org", state="CA")))).case.ref
    desk.take_step(ref, StepRequest("withdraw", reason="Withdrawn on the phone"))
    desk.set_clock(at(date(2026, 6, 5)))
    other = desk.create_case(NewCase(channel="email", request_types=("delete",), requester=(
        PartyData(name="Bob Other", email="bob@example.org", state="CA")))).case.ref
    assert [p.ref for p in desk.purge().purged] == [ref]
    refused = [
        lambda: desk.add_note(ref, "Xanthippe Quorlewick called from 415-555-0999"),
        lambda: desk.add_task(ref, "follow_up", "Call Xanthippe Quorlewick back"),
        lambda: desk.update_party(ref, "requester", PartyData(
            name="Xanthippe Quorlewick", email="xq@example.org", state="CA")),
        lambda: desk.update_case(ref, summary="Xanthippe Quorlewick phoned again"),
    ]
    for attempt in refused:  # (a decided case's parties were refused before already)
        with pytest.raises(UserError, match=f"{ref} (was purged|is decided|is withdrawn)"):
            attempt()
    # Mail naming the purged case: an auto-reply stays on the intake list, and the person
    # writing again opens a new case; nothing lands on the purged one.
    auto = _eml(tmp_path, "auto.eml", mail(
        subject=f"Automatic reply: Re: [{ref}] your request", message_id="<a1@example.org>",
        sender="Xanthippe Quorlewick <xq@example.org>", body="I am out of the office.",
        headers={"Auto-Submitted": "auto-replied"}))
    again = _eml(tmp_path, "again.eml", mail(
        subject=f"Re: [{ref}] your request", message_id="<a2@example.org>",
        sender="Xanthippe Quorlewick <xq@example.org>", body="Please delete my data now."))
    results = list(desk.import_files([auto, again]))
    assert [r.outcome for r in results] == ["not_request", "created"]
    assert results[1].case_ref not in (ref, other)
    assert desk.get_case(ref).messages == () and desk.get_case(ref).notes == ()
    assert results[0].message_db_id is not None
    with pytest.raises(InvalidInput, match=f"{ref} was purged"):
        desk.attach_messages([results[0].message_db_id], ref)  # filed there by hand: refused
    assert desk.get_case(ref).requester.name == ""
    assert desk.verify_audit().ok
