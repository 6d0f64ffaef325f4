"""Actions on a case's records through the desk, end to end on the demo customer systems
(case database on SQLite and on PostgreSQL): lookup, confirm, propose, four-eyes
approval, execute, verify; what the case keeps afterwards (suppression entry, notices,
nothing of what was deleted); corrections and opt-outs the same way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from caseapp.demo import open_planted_cases
from caseapp.errors import InvalidInput, PermissionDenied, TransitionRefused
from caseapp.records.suppression import SALT_SECRET, PersonIdentifiers, SuppressionUnavailable
from caseapp.secrets import store_secret
from caseapp.services import Desk
from caseapp.services.dto import StepRequest
from caseapp.services.record_actions import plan_json_has_values
from tests import pg_server
from tests.conftest import Staff
from tests.dealer_crm import planted_vin
from tests.keyring_fixtures import MemoryKeyring
from tests.records_dump import (
    allowed_cells,
    diff,
    dump_crm,
    dump_sqlite,
    planned_cells,
    without,
)
from tests.records_fixtures import DemoCopy
from tests.test_records_actions_crash import crm_sources, new_crm


def use_demo(staff: Staff, demo: DemoCopy) -> None:
    for person in (staff.alice, staff.bob, staff.carol):
        person.use_sources(demo.config, demo.data_dir, secret=lambda _name: None)


def verified_and_confirmed(desk: Desk, ref: str, minimum_score: float = 90) -> list[int]:
    """Identity verified, the lookup run, the strong hits confirmed and the rest rejected."""
    desk.take_step(ref, StepRequest(step="start_verification"))
    desk.take_step(ref, StepRequest(step="verify", method="email_match"))
    result = desk.lookup(ref)
    confirmed = []
    for hit in result.hits:
        keep = hit.score >= minimum_score
        desk.decide_hit(ref, hit.id, keep)
        if keep:
            confirmed.append(hit.id)
    assert confirmed
    return confirmed


@pytest.fixture
def desk_staff(staff: Staff, demo: DemoCopy, memory_keyring: MemoryKeyring) -> Staff:
    use_demo(staff, demo)
    return staff


def test_a_deletion_goes_from_lookup_to_approved_executed_and_verified_touching_nothing_else(
        desk_staff: Staff, demo: DemoCopy) -> None:
    alice, bob = desk_staff.alice, desk_staff.bob
    jose_ref = open_planted_cases(alice)[0]
    verified_and_confirmed(alice, jose_ref)
    before = dump_sqlite(demo.path)

    proposed = alice.propose_action(jose_ref, "delete")
    assert proposed.status == "awaiting_approval" and proposed.needs_approval
    assert proposed.rows_planned > 0 and plan_json_has_values(proposed)
    # The preview changed nothing.
    assert dump_sqlite(demo.path) == before
    # Four-eyes, at every layer: the service refuses alice's approval and her run...
    with pytest.raises(PermissionDenied, match="someone else"):
        alice.approve_action(jose_ref, proposed.id)
    with pytest.raises(PermissionDenied, match="second person"):
        alice.execute_action(jose_ref, proposed.id)
    # ... and so does the database, should anything write the row directly.
    with pytest.raises(IntegrityError), alice.db.session() as session:
        session.execute(text("UPDATE record_actions SET approved_by = requested_by"))
        session.commit()
    approved = bob.approve_action(jose_ref, proposed.id)
    assert approved.status == "approved" and approved.approved_by == "bob"

    done = alice.execute_action(jose_ref, proposed.id)
    assert done.status == "verified", done.problems
    assert done.rows_changed == proposed.rows_planned
    assert done.verification is not None and done.verification.ok
    assert {run.state for run in done.runs} == {"done"}
    assert all(run.run_by == "alice" and run.approved_by == "bob" for run in done.runs)
    # Exactly the previewed cells changed; every other row is as it was.
    after = dump_sqlite(demo.path)
    assert done.result is not None
    assert diff(before, after) == planned_cells(proposed.plan)
    rows, cells = allowed_cells(done.result)
    assert diff(before, after) <= cells
    assert without(before, rows) == without(after, rows)

    # The case keeps where the records were, not what they held.
    assert not plan_json_has_values(done)
    assert all(hit.snapshot == () for hit in alice.record_hits(jose_ref)
               if hit.status == "confirmed")
    # The suppression entry recognises José again, by his email or phone.
    case = alice.get_case(jose_ref)
    requester = case.requester
    matches = alice.check_suppression(PersonIdentifiers(emails=(requester.email.upper(),)))
    assert [m.case_ref for m in matches] == [jose_ref]
    assert alice.check_suppression(PersonIdentifiers(emails=("someone.else@example.org",))) \
        == ()
    # Running it again is refused: it is done.
    with pytest.raises(TransitionRefused, match="ran in every system"):
        alice.execute_action(jose_ref, proposed.id)
    report = alice.verify_audit()
    assert report.ok
    actions = [e.action for e in case.history]
    for expected in ("records.action_proposed", "records.action_approved",
                     "records.action_executed", "records.action_verified"):
        assert expected in actions


def test_downstream_notices_keep_the_case_open_until_answered(desk_staff: Staff) -> None:
    alice, bob = desk_staff.alice, desk_staff.bob
    jose_ref = open_planted_cases(alice)[0]
    verified_and_confirmed(alice, jose_ref)
    action = alice.propose_action(jose_ref, "delete")
    bob.approve_action(jose_ref, action.id)
    alice.execute_action(jose_ref, action.id)
    notices = alice.notices(jose_ref)
    assert notices, "the demo shares profiles with affiliates and dealers"
    assert all(n.is_open and n.task_id for n in notices)
    first = notices[0]
    assert jose_ref in first.subject and first.recipient_name in first.body
    assert "José" in first.body  # the recipient must know whom to delete

    case = alice.get_case(jose_ref)
    notice_tasks = [t for t in case.tasks if t.kind == "downstream_notice"]
    assert len(notice_tasks) == len(notices)
    with pytest.raises(TransitionRefused, match="notice"):
        alice.complete_task(jose_ref, notice_tasks[0].id)
    alice.take_step(jose_ref, StepRequest(step="submit_for_review"))
    bob.take_step(jose_ref, StepRequest(step="approve_and_send"))
    with pytest.raises(TransitionRefused, match="unanswered"):
        alice.take_step(jose_ref, StepRequest(step="close"))

    with pytest.raises(TransitionRefused, match="not sent yet"):
        alice.record_notice_answer(jose_ref, first.id, acknowledged=True)
    with pytest.raises(InvalidInput, match="why"):
        alice.record_notice_answer(jose_ref, first.id, acknowledged=False)
    for notice in notices[:-1]:
        alice.mark_notice_sent(jose_ref, notice.id, "email")
        answered = alice.record_notice_answer(jose_ref, notice.id, acknowledged=True,
                                              note="Confirmed by reply")
        assert answered.status == "acknowledged" and not answered.is_open
    last = alice.record_notice_answer(jose_ref, notices[-1].id, acknowledged=False,
                                      note="The dealer closed in 2024; no successor.")
    assert last.status_label == "Not notified"
    closed = alice.take_step(jose_ref, StepRequest(step="close")).case
    assert closed.status == "closed"


def test_a_correction_and_an_opt_out_work_the_same_way_without_a_second_person(
        desk_staff: Staff, demo: DemoCopy) -> None:
    alice = desk_staff.alice
    robert_ref = open_planted_cases(alice)[2]
    with pytest.raises(TransitionRefused, match="identity"):
        alice.propose_action(robert_ref, "correct", corrections={"email": "x@example.com"})
    alice.update_case(robert_ref, request_types=("correct", "opt_out_marketing"))
    verified_and_confirmed(alice, robert_ref, minimum_score=100)
    with pytest.raises(TransitionRefused, match="does not ask"):
        alice.propose_action(robert_ref, "delete")
    before = dump_sqlite(demo.path)

    correction = alice.propose_action(robert_ref, "correct",
                                      corrections={"email": "Robert.New@Example.com"})
    assert correction.status == "approved" and not correction.needs_approval
    changes = [c for s in correction.plan.sources for t in s.tables for ch in t.changes
               for c in ch.columns]
    assert changes and all(c.after == "robert.new@example.com" for c in changes)
    assert all(c.before for c in changes)  # before → after shown for the preview
    corrected = alice.execute_action(robert_ref, correction.id)
    assert corrected.status == "verified"
    after = dump_sqlite(demo.path)
    assert diff(before, after) == planned_cells(correction.plan)
    assert not plan_json_has_values(corrected)

    opt_out = alice.propose_action(robert_ref, "opt_out")
    done = alice.execute_action(robert_ref, opt_out.id)
    assert done.status == "verified" and done.rows_changed > 0
    assert diff(after, dump_sqlite(demo.path)) == planned_cells(opt_out.plan)
    # Nothing is suppressed for a correction or an opt-out: the person is still a customer.
    assert alice.check_suppression(
        PersonIdentifiers(emails=("robert.new@example.com",))) == ()


def test_a_withdrawn_action_never_runs_and_its_preview_values_are_wiped(
        desk_staff: Staff) -> None:
    alice, bob = desk_staff.alice, desk_staff.bob
    jose_ref = open_planted_cases(alice)[0]
    verified_and_confirmed(alice, jose_ref)
    action = alice.propose_action(jose_ref, "delete")
    with pytest.raises(InvalidInput):
        alice.withdraw_action(jose_ref, action.id, "  ")
    withdrawn = alice.withdraw_action(jose_ref, action.id, "Requester called: keep account")
    assert withdrawn.status == "withdrawn" and not plan_json_has_values(withdrawn)
    with pytest.raises(TransitionRefused):
        bob.approve_action(jose_ref, action.id)
    with pytest.raises(TransitionRefused):
        bob.execute_action(jose_ref, action.id)


def test_nothing_is_proposed_without_confirmed_records_or_with_an_unreachable_system(
        desk_staff: Staff, demo: DemoCopy, tmp_path: Path) -> None:
    alice = desk_staff.alice
    jose_ref = open_planted_cases(alice)[0]
    alice.take_step(jose_ref, StepRequest(step="start_verification"))
    alice.take_step(jose_ref, StepRequest(step="verify", method="email_match"))
    with pytest.raises(InvalidInput, match="no confirmed record"):
        alice.propose_action(jose_ref, "delete")
    result = alice.lookup(jose_ref)
    proposed = next(h for h in result.hits if h.status == "proposed")
    with pytest.raises(InvalidInput, match="not confirmed"):
        alice.propose_action(jose_ref, "delete", hit_ids=[proposed.id])
    alice.decide_hit(jose_ref, proposed.id, True)
    demo.path.rename(tmp_path / "gone.db")  # the system is no longer there
    with pytest.raises(Exception, match="cannot be previewed") as refused:
        alice.propose_action(jose_ref, "delete")
    assert "customer" in str(refused.value).lower()
    assert alice.record_actions(jose_ref) == ()


def test_a_workstation_with_another_suppression_salt_is_stopped_before_deleting(
        desk_staff: Staff, demo: DemoCopy, memory_keyring: MemoryKeyring) -> None:
    alice, bob = desk_staff.alice, desk_staff.bob
    jose_ref = open_planted_cases(alice)[0]
    salt = alice.export_suppression_salt()  # the desk's, recorded in the database
    with pytest.raises(PermissionDenied):
        bob.export_suppression_salt()  # IT's job: an administrator's
    verified_and_confirmed(alice, jose_ref)
    action = alice.propose_action(jose_ref, "delete")
    bob.approve_action(jose_ref, action.id)
    before = dump_sqlite(demo.path)
    memory_keyring.items.clear()  # another workstation: its keyring has no salt
    with pytest.raises(SuppressionUnavailable, match="suppression salt --import"):
        alice.execute_action(jose_ref, action.id)
    store_secret(SALT_SECRET, "e" * 64)  # and one whose keyring has another salt
    with pytest.raises(SuppressionUnavailable, match="not the desk's"):
        alice.execute_action(jose_ref, action.id)
    assert dump_sqlite(demo.path) == before  # nothing deleted without its entry
    assert alice.record_action(jose_ref, action.id).status == "approved"
    with pytest.raises(SuppressionUnavailable, match="not this desk's"):
        alice.import_suppression_salt("f" * 64)
    alice.import_suppression_salt(salt)
    assert alice.execute_action(jose_ref, action.id).status == "verified"
    history = [e.action for e in alice.get_case(jose_ref).history]
    assert "records.action_executed" in history


def test_records_named_by_a_pending_action_stay_confirmed_and_the_case_waits_for_it(
        desk_staff: Staff) -> None:
    alice, bob = desk_staff.alice, desk_staff.bob
    jose_ref = open_planted_cases(alice)[0]
    confirmed = verified_and_confirmed(alice, jose_ref)
    action = alice.propose_action(jose_ref, "delete")
    with pytest.raises(TransitionRefused, match="withdraw the action first"):
        alice.decide_hit(jose_ref, confirmed[0], False)
    bob.approve_action(jose_ref, action.id)
    # The response cannot go out, nor the case close, with the deletion not done...
    alice.take_step(jose_ref, StepRequest(step="submit_for_review"))
    with pytest.raises(TransitionRefused, match="not done and verified"):
        bob.take_step(jose_ref, StepRequest(step="approve_and_send"))
    # ... unless a supervisor overrides it, with a reason.
    with pytest.raises(TransitionRefused, match="reason"):
        bob.take_step(jose_ref, StepRequest(step="approve_and_send", override=True))
    bob.take_step(jose_ref, StepRequest(step="return_to_work", reason="Run the deletion"))
    # A withdrawn action frees its records.
    alice.withdraw_action(jose_ref, action.id, "Proposed on the wrong records")
    assert alice.decide_hit(jose_ref, confirmed[0], False).status == "rejected"


def test_an_action_being_run_is_not_run_again_nor_withdrawn_meanwhile(
        desk_staff: Staff) -> None:
    alice, bob = desk_staff.alice, desk_staff.bob
    jose_ref = open_planted_cases(alice)[0]
    verified_and_confirmed(alice, jose_ref)
    action = alice.propose_action(jose_ref, "delete")
    bob.approve_action(jose_ref, action.id)
    refusals: list[str] = []

    def meanwhile(_step: object) -> None:
        if refusals:
            return
        for attempt in (lambda: bob.execute_action(jose_ref, action.id),
                        lambda: bob.withdraw_action(jose_ref, action.id, "Changed my mind")):
            try:
                attempt()
            except TransitionRefused as refused:
                refusals.append(refused.message)

    done = alice.execute_action(jose_ref, action.id, progress=meanwhile)
    assert done.status == "verified"
    assert len(refusals) == 2 and all("being carried out by alice" in r for r in refusals)
    assert [r.state for r in done.runs] == ["done"]


def test_a_deletion_after_a_correction_suppresses_the_new_email_and_keeps_no_value(
        desk_staff: Staff) -> None:
    alice, bob = desk_staff.alice, desk_staff.bob
    jose_ref = open_planted_cases(alice)[0]
    alice.update_case(jose_ref, request_types=("delete", "correct"))
    verified_and_confirmed(alice, jose_ref)
    correction = alice.propose_action(jose_ref, "correct",
                                      corrections={"email": "jose.brand.new@example.net"})
    alice.execute_action(jose_ref, correction.id)
    deletion = alice.propose_action(jose_ref, "delete")
    bob.approve_action(jose_ref, deletion.id)
    assert alice.execute_action(jose_ref, deletion.id).status == "verified"
    matches = alice.check_suppression(PersonIdentifiers(emails=("jose.brand.new@example.net",)))
    assert [m.case_ref for m in matches] == [jose_ref]
    scrubbed = alice.record_action(jose_ref, correction.id)
    stored = json.dumps([scrubbed.plan.to_dict(), scrubbed.result.to_dict()
                         if scrubbed.result else None])
    assert "jose.brand.new" not in stored


@pytest.mark.postgres
def test_a_deletion_in_the_postgresql_dealer_crm_from_lookup_to_verified(
        staff: Staff, memory_keyring: MemoryKeyring, tmp_path: Path,
        postgres_server: pg_server.PostgresServer) -> None:
    """A second customer system of another shape: other column names, a schema, children
    under a foreign key (deleted first), a refusal kept by a retention exception."""
    url = new_crm(postgres_server, contacts=400)
    sources = crm_sources(tmp_path, url)
    for person in (staff.alice, staff.bob):
        person.use_sources(sources, tmp_path, secret=lambda _name: None)
    alice, bob = staff.alice, staff.bob
    jose_ref = open_planted_cases(alice)[0]
    verified_and_confirmed(alice, jose_ref, minimum_score=100)
    confirmed = [h for h in alice.record_hits(jose_ref) if h.status == "confirmed"]
    assert {(h.table, h.record_key) for h in confirmed} >= {("contacts", "D-000001")}
    before = dump_crm(url)
    action = alice.propose_action(jose_ref, "delete")
    bob.approve_action(jose_ref, action.id)
    done = alice.execute_action(jose_ref, action.id)
    assert done.status == "verified", done.problems
    changed = diff(before, dump_crm(url))
    assert changed == planned_cells(action.plan)
    assert ("crm.contacts", "D-000001", "<gone>") in changed
    assert ("crm.vehicles", planted_vin(), "<gone>") in changed
    notices = alice.notices(jose_ref)
    assert [n.recipient_name for n in notices] == ["Capitol Motor Group (independent dealer)"]
