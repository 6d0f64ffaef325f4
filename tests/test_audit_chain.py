"""The audit trail is tamper-evident: any edit, deletion, truncation or reordering done
behind the program's back (straight in the database) is found, at the first broken link.

Runs on SQLite and PostgreSQL; the tampering is plain SQL, as an intruder would do it.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from caseapp import audit
from caseapp.db.models import AuditEvent
from caseapp.errors import TransitionRefused
from caseapp.services import Desk
from caseapp.services.dto import AuditReport, NewCase, PartyData, StepRequest


@pytest.fixture
def busy_desk(desk: Desk) -> Desk:
    """A desk with a short history: 1 user event, then case events (10 in all)."""
    for name in ("Ann", "Ben", "Cat"):
        desk.create_case(NewCase(channel="email", request_types=("delete",),
                                 requester=PartyData(name=name, state="CA")))
    desk.take_step("PR-2026-00001", StepRequest("acknowledge"))
    desk.take_step("PR-2026-00001", StepRequest("deny", reason="Not a consumer"))
    desk.add_note("PR-2026-00002", "Called back")
    desk.assign("PR-2026-00003", "alice")
    desk.update_case("PR-2026-00003", summary="Dealer records")
    desk.add_user("bob", "supervisor")
    report = desk.verify_audit()
    assert report.ok and report.events == 10 and report.first_broken_seq is None
    return desk


def sql(desk: Desk, statement: str, **params: object) -> None:
    with desk.db.engine.begin() as connection:
        connection.execute(text(statement), params)


def broken(desk: Desk) -> AuditReport:
    report = desk.verify_audit()
    assert not report.ok
    assert report.problem
    return report


def test_an_untouched_chain_verifies(busy_desk: Desk) -> None:
    report = busy_desk.verify_audit()
    assert report.problem == "" and len(report.head_hash) == 64
    with busy_desk.ctx.read() as session:  # in small batches too
        small = audit.verify(session, batch=3)
    assert small.ok and small.events == 10 and small.head_hash == report.head_hash


def test_an_edited_detail_is_found(busy_desk: Desk) -> None:
    with busy_desk.db.engine.connect() as connection:
        detail = connection.execute(text("SELECT detail FROM audit_events WHERE seq = 6")).scalar()
    changed = json.loads(str(detail))
    changed["reason"] = "Verified consumer; complied"
    sql(busy_desk, "UPDATE audit_events SET detail = :d WHERE seq = 6",
        d=audit.canonical_json(changed))
    report = broken(busy_desk)
    assert report.first_broken_seq == 6
    assert "changed" in report.problem
    assert report.events == 5  # the links before it still hold


@pytest.mark.parametrize(("column", "value"), [("actor", "mallory"),
                                               ("action", "case.note"),
                                               ("case_ref", "PR-2026-00099")])
def test_an_edited_actor_action_or_case_is_found(busy_desk: Desk, column: str,
                                                 value: str) -> None:
    sql(busy_desk, f"UPDATE audit_events SET {column} = :v WHERE seq = 4", v=value)
    assert broken(busy_desk).first_broken_seq == 4


def test_an_edited_time_is_found(busy_desk: Desk) -> None:
    sql(busy_desk, "UPDATE audit_events SET at = :at WHERE seq = 2", at="2026-01-01 09:00:00")
    assert broken(busy_desk).first_broken_seq == 2


def test_a_rehashed_edit_is_found_at_the_next_link(busy_desk: Desk) -> None:
    # The intruder edits event 5 and recomputes its own hash: event 6 no longer fits.
    with busy_desk.ctx.read() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.seq == 5)).one()
        detail = audit.canonical_json({"forged": True})
        forged = audit.link_hash(event.prev_hash, event.seq, event.at, event.actor,
                                 event.case_ref, event.action, detail)
    sql(busy_desk, "UPDATE audit_events SET detail = :d, hash = :h WHERE seq = 5",
        d=detail, h=forged)
    report = broken(busy_desk)
    assert report.first_broken_seq == 6
    assert "does not point at the event before it" in report.problem


def test_a_deleted_event_in_the_middle_is_found(busy_desk: Desk) -> None:
    sql(busy_desk, "DELETE FROM audit_events WHERE seq = 7")
    report = broken(busy_desk)
    assert report.first_broken_seq == 7
    assert "missing" in report.problem


def test_a_deleted_first_event_is_found(busy_desk: Desk) -> None:
    sql(busy_desk, "DELETE FROM audit_events WHERE seq = 1")
    assert broken(busy_desk).first_broken_seq == 1


def test_deleting_the_last_events_is_caught_by_the_head(busy_desk: Desk) -> None:
    sql(busy_desk, "DELETE FROM audit_events WHERE seq > 8")
    report = broken(busy_desk)
    assert report.first_broken_seq == 9
    assert "removed from the end" in report.problem
    assert report.events == 8


def test_deleting_every_event_is_caught_by_the_head(busy_desk: Desk) -> None:
    sql(busy_desk, "DELETE FROM audit_events")
    report = broken(busy_desk)
    assert report.first_broken_seq == 1 and report.events == 0


def test_reordered_events_are_found(busy_desk: Desk) -> None:
    # Swap events 3 and 4 (through a free number: seq is unique).
    sql(busy_desk, "UPDATE audit_events SET seq = 1000 WHERE seq = 3")
    sql(busy_desk, "UPDATE audit_events SET seq = 3 WHERE seq = 4")
    sql(busy_desk, "UPDATE audit_events SET seq = 4 WHERE seq = 1000")
    report = broken(busy_desk)
    assert report.first_broken_seq == 3


def test_the_chain_keeps_growing_correctly_after_a_check(busy_desk: Desk) -> None:
    busy_desk.add_note("PR-2026-00001", "After the check")
    report = busy_desk.verify_audit()
    assert report.ok and report.events == 11


def test_a_refused_change_writes_no_event(busy_desk: Desk) -> None:
    with pytest.raises(TransitionRefused):
        busy_desk.take_step("PR-2026-00002", StepRequest("approve_and_send"))
    assert busy_desk.verify_audit().events == 10
