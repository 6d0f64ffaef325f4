"""The desk's services as staff use them, on SQLite and on PostgreSQL (``desk`` fixture)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from caseapp.clock import Clock
from caseapp.db.models import AuditEvent
from caseapp.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaleEdit,
    TransitionRefused,
)
from caseapp.services import Desk
from caseapp.services.dto import CaseDetail, CaseQuery, NewCase, PartyData, StepRequest
from tests.conftest import Staff, make_desk

TODAY = date(2026, 3, 4)


def new_case(desk: Desk, types: tuple[str, ...] = ("access",), *, state: str = "CA",
             name: str = "Maria Lopez", email: str = "maria@example.com",
             **more: object) -> CaseDetail:
    requester = PartyData(name=name, email=email, state=state)
    return desk.create_case(
        NewCase(channel="email", request_types=types, requester=requester, **more)  # type: ignore[arg-type]
    ).case


def step(desk: Desk, ref: str, name: str, **inputs: object) -> CaseDetail:
    return desk.take_step(ref, StepRequest(name, **inputs)).case  # type: ignore[arg-type]


def to_review(desk: Desk, ref: str) -> CaseDetail:
    step(desk, ref, "acknowledge")
    step(desk, ref, "start_verification")
    step(desk, ref, "verify", method="data_points_2")
    return step(desk, ref, "submit_for_review")


def audit_count(desk: Desk) -> int:
    with desk.ctx.read() as session:
        return int(session.scalar(select(func.count(AuditEvent.id))) or 0)


def actions(case: CaseDetail) -> list[str]:
    return [entry.action for entry in case.history]


# --- creating cases -------------------------------------------------------------------

def test_references_are_printable_yearly_and_sequential(desk: Desk) -> None:
    refs = [new_case(desk).ref for _ in range(3)]
    assert refs == ["PR-2026-00001", "PR-2026-00002", "PR-2026-00003"]
    assert all(re.fullmatch(r"PR-\d{4}-\d{5}", ref) for ref in refs)
    assert desk.get_case("pr-2026-00002 ").ref == "PR-2026-00002"  # typed loosely


def test_a_new_case_is_received_today_with_deadlines_and_an_audit_event(desk: Desk) -> None:
    before = audit_count(desk)
    case = new_case(desk, ("delete",), summary="Please delete my account")
    assert case.status == "received" and case.is_open
    assert case.jurisdiction == "CA" and case.jurisdiction_name.startswith("California")
    assert case.deadlines.received_on == TODAY
    assert case.deadlines.acknowledge_by == date(2026, 3, 18)
    assert case.deadlines.respond_by == date(2026, 4, 18)
    assert case.deadlines.days_left == 45 and not case.deadlines.overdue
    assert case.priority == "normal" and not case.is_child and not case.via_agent
    assert case.subject_is_requester and case.subject.name == "Maria Lopez"
    assert case.created_by == "alice"
    assert audit_count(desk) == before + 1
    assert actions(case) == ["case.created"]
    assert desk.verify_audit().ok


def test_the_jurisdiction_follows_the_subject_then_the_requester(desk: Desk) -> None:
    assert new_case(desk, state="va").jurisdiction == "VA"
    assert new_case(desk, state="").jurisdiction == "DEFAULT"
    assert new_case(desk, state="NY").jurisdiction == "DEFAULT"
    subject = PartyData(name="Ann Lopez", state="UT")
    assert new_case(desk, state="CA", subject=subject).jurisdiction == "UT"
    assert new_case(desk, state="CA", jurisdiction="EU").jurisdiction == "EU"


def test_a_child_subject_makes_an_urgent_child_case(desk: Desk) -> None:
    child = PartyData(name="Leo Ruiz", age=9)
    case = new_case(desk, ("delete",), name="Ana Ruiz", subject=child)
    assert case.is_child and case.subject.is_child
    assert case.priority == "urgent"
    assert not case.subject_is_requester and case.subject.name == "Leo Ruiz"
    flagged = new_case(desk, subject=PartyData(name="Mia", is_child=True))
    assert flagged.is_child and flagged.priority == "urgent"
    teen = new_case(desk, subject=PartyData(name="Tom", age=15))
    assert not teen.is_child and teen.priority == "normal"


def test_an_authorized_agent_request_is_marked_as_such(desk: Desk) -> None:
    requester = PartyData(name="Privacy Agents LLC", email="agent@example.com", state="CA",
                          relationship="authorized_agent")
    case = desk.create_case(NewCase(channel="web", request_types=("access",),
                                    requester=requester,
                                    subject=PartyData(name="Joe Doe", state="CA"))).case
    assert case.via_agent
    assert case.requester.relationship == "authorized_agent"


def test_an_other_request_is_not_a_privacy_request(desk: Desk) -> None:
    assert not new_case(desk, ("other",)).is_privacy_request
    assert new_case(desk, ("other", "access")).is_privacy_request


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"requester": PartyData(name="X", email="not-an-email")}, "not an email address"),
        ({"request_types": ()}, "at least one request type"),
        ({"request_types": ("erase",)}, "Unknown request type(s): erase"),
        ({"channel": "fax"}, "Channel must be one of: email, postal, phone, web, in_person"),
        ({"received_on": TODAY + timedelta(days=1)}, "2026-03-05 is in the future"),
        ({"requester": PartyData()}, "needs at least a name, an email or a phone number"),
        ({"priority": "whenever"}, "Priority must be one of"),
        ({"requester": PartyData(name="X", relationship="cousin")}, "relationship"),
        ({"subject": PartyData(name="X", age=200)}, "age must be between"),
    ],
)
def test_invalid_input_is_refused_with_clear_text(desk: Desk, change: dict[str, object],
                                                  message: str) -> None:
    base: dict[str, object] = {"channel": "email", "request_types": ("access",),
                               "requester": PartyData(name="Maria Lopez", state="CA")}
    with pytest.raises(InvalidInput) as raised:
        desk.create_case(NewCase(**{**base, **change}))  # type: ignore[arg-type]
    assert message in raised.value.message
    assert desk.count_cases(CaseQuery(view="all")) == 0
    assert desk.verify_audit().ok


def test_a_postal_letter_keeps_the_day_it_reached_the_po_box(desk: Desk) -> None:
    case = desk.create_case(NewCase(channel="postal", request_types=("access",),
                                    requester=PartyData(name="Bo", state="VA"),
                                    received_on=date(2026, 2, 20))).case
    assert case.deadlines.received_on == date(2026, 2, 20)
    assert case.deadlines.respond_by == date(2026, 4, 6)  # 45 days from Feb 20
    assert case.ref == "PR-2026-00001"


def test_unknown_and_malformed_references(desk: Desk) -> None:
    with pytest.raises(NotFound):
        desk.get_case("PR-2026-09999")
    with pytest.raises(InvalidInput) as raised:
        desk.get_case("case 42")
    assert "PR-2026-00042" in raised.value.message


# --- the case list --------------------------------------------------------------------

@pytest.fixture
def listed(staff: Staff) -> dict[str, str]:
    """Five cases, one for each view of the navigation."""
    alice = staff.alice
    fresh = new_case(alice, ("delete",), name="Ann Fresh", email="ann@fresh.example")
    late = alice.create_case(NewCase(
        channel="postal", request_types=("access",), received_on=date(2026, 1, 5),
        requester=PartyData(name="Ben Late", state="CA"), summary="Letter about a Jeep")).case
    soon = alice.create_case(NewCase(
        channel="email", request_types=("opt_out_marketing",), received_on=date(2026, 2, 25),
        requester=PartyData(name="Cat Soon", email="cat@soon.example", state="CA"))).case
    done = new_case(alice, name="Dan Done")
    step(alice, done.ref, "withdraw", reason="Requester withdrew by phone")
    child = new_case(alice, name="Eve Mine", subject=PartyData(name="Kid", age=8),
                     assignee="alice")
    new_case(staff.bob, name="Fay Bobs", assignee="bob")
    return {"fresh": fresh.ref, "late": late.ref, "soon": soon.ref, "done": done.ref,
            "mine": child.ref}


def refs(desk: Desk, **query: object) -> list[str]:
    return [row.ref for row in desk.list_cases(CaseQuery(**query)).rows]  # type: ignore[arg-type]


def test_every_view_of_the_navigation(staff: Staff, listed: dict[str, str]) -> None:
    alice = staff.alice
    late = alice.get_case(listed["late"])
    assert late.deadlines.respond_by == date(2026, 2, 19) and late.deadlines.overdue
    soon = alice.get_case(listed["soon"])
    assert soon.deadlines.respond_by == date(2026, 3, 11)  # 10 business days, CAN-SPAM

    assert set(refs(alice, view="mine")) == {listed["mine"]}
    assert set(refs(staff.bob, view="mine")) == {"PR-2026-00006"}
    assert set(refs(alice, view="open")) == {listed["fresh"], listed["late"], listed["soon"],
                                            listed["mine"], "PR-2026-00006"}
    assert set(refs(alice, view="due_soon")) == {listed["soon"]}
    assert set(refs(alice, view="overdue")) == {listed["late"]}
    assert set(refs(alice, view="closed")) == {listed["done"]}
    assert len(refs(alice, view="all")) == 6
    for view in ("mine", "open", "due_soon", "overdue", "closed", "all"):
        page = alice.list_cases(CaseQuery(view=view))
        assert page.total == alice.count_cases(CaseQuery(view=view)) == len(page.rows), view
    row = next(r for r in alice.list_cases(CaseQuery(view="overdue")).rows)
    assert row.overdue and row.days_left == -13 and row.requester_name == "Ben Late"
    assert row.status_label == "Received" and row.request_types == ("access",)


def test_status_filter_and_text_search(staff: Staff, listed: dict[str, str]) -> None:
    alice = staff.alice
    assert refs(alice, view="all", status="withdrawn") == [listed["done"]]
    assert refs(alice, view="all", text="ben late") == [listed["late"]]  # any case
    assert refs(alice, view="all", text="SOON.EXAMPLE") == [listed["soon"]]  # email
    assert refs(alice, view="all", text="jeep") == [listed["late"]]  # summary
    assert refs(alice, view="all", text=listed["fresh"].lower()) == [listed["fresh"]]  # ref
    assert refs(alice, view="all", text="100%_") == []
    assert refs(alice, view="open", text="Dan Done") == []  # closed cases stay closed
    assert alice.count_cases(CaseQuery(view="all", text="@fresh.example")) == 1
    assert alice.count_cases(CaseQuery(view="all", text="EXAMPLE")) == 5  # one is by phone
    with pytest.raises(InvalidInput):
        alice.list_cases(CaseQuery(view="everything"))
    with pytest.raises(InvalidInput):
        alice.list_cases(CaseQuery(view="all", status="lost"))
    with pytest.raises(InvalidInput):
        alice.list_cases(CaseQuery(view="all", sort="colour"))


def test_sorting_puts_children_first_then_the_earliest_due(staff: Staff,
                                                           listed: dict[str, str]) -> None:
    alice = staff.alice
    rows = alice.list_cases(CaseQuery(view="all")).rows
    assert rows[0].ref == listed["mine"] and rows[0].priority == "urgent" and rows[0].is_child
    rest = [row.due_on for row in rows[1:]]
    assert rest == sorted(rest)
    by_due = alice.list_cases(CaseQuery(view="all", sort="due", descending=True)).rows
    assert [r.due_on for r in by_due] == sorted((r.due_on for r in by_due), reverse=True)
    by_ref = refs(alice, view="all", sort="ref")
    assert by_ref == sorted(by_ref)
    assert refs(alice, view="all", sort="ref", descending=True) == by_ref[::-1]
    names = [r.requester_name for r in alice.list_cases(CaseQuery(view="all",
                                                                  sort="requester")).rows]
    assert names == sorted(names)
    received = [r.received_on for r in alice.list_cases(CaseQuery(view="all",
                                                                  sort="received")).rows]
    assert received == sorted(received)
    for key in ("status", "channel", "types", "jurisdiction", "priority", "assignee"):
        assert len(refs(alice, view="all", sort=key)) == 6, key


def test_pages_of_the_list_fit_together(desk: Desk) -> None:
    for number in range(23):
        new_case(desk, name=f"Person {number:02d}")
    query = CaseQuery(view="all", sort="ref")
    everything = [row.ref for row in desk.list_cases(query).rows]
    assert len(everything) == 23
    pages = [desk.list_cases(query, offset=offset, limit=10) for offset in (0, 10, 20)]
    assert [len(p.rows) for p in pages] == [10, 10, 3]
    assert all(p.total == 23 for p in pages)
    assert [p.offset for p in pages] == [0, 10, 20]
    assert [row.ref for p in pages for row in p.rows] == everything
    assert desk.list_cases(query, offset=40, limit=10).rows == ()


# --- editing --------------------------------------------------------------------------

def test_editing_the_request_recomputes_the_deadlines_and_is_audited(desk: Desk) -> None:
    case = new_case(desk, ("delete",))
    changed = desk.update_case(case.ref, case.version, received_on=date(2026, 2, 1)).case
    assert changed.deadlines.respond_by == date(2026, 3, 18)
    assert changed.deadlines.received_on == date(2026, 2, 1)
    changed = desk.update_case(case.ref, jurisdiction="EU").case
    assert changed.jurisdiction == "EU" and changed.deadlines.respond_by == date(2026, 3, 1)
    assert changed.deadlines.overdue
    # Keep one type and add one: the due date follows the earliest.
    changed = desk.update_case(case.ref, jurisdiction="CA",
                               request_types=("delete", "opt_out_sale_share")).case
    assert changed.request_types == ("delete", "opt_out_sale_share")
    # 15 business days from Sunday Feb 1, skipping Washington's Birthday (Feb 16).
    assert changed.deadlines.respond_by == date(2026, 2, 23)
    changed = desk.update_case(case.ref, request_types=("opt_out_sale_share", "delete")).case
    assert changed.request_types == ("opt_out_sale_share", "delete")
    assert actions(changed).count("case.updated") == 4
    summaries = [h.summary for h in changed.history]
    assert ("Request changed: received 2026-03-04 → 2026-02-01; due 2026-04-18 → 2026-03-18"
            in summaries)
    assert ("Request changed: types delete → delete, opt_out_sale_share; jurisdiction EU → CA;"
            " due 2026-03-01 → 2026-02-23") in summaries
    before = audit_count(desk)
    unchanged = desk.update_case(case.ref, summary=changed.summary, jurisdiction="ca")
    assert not unchanged.list_changed and audit_count(desk) == before
    with pytest.raises(InvalidInput, match="in the future"):
        desk.update_case(case.ref, received_on=TODAY + timedelta(days=3))
    with pytest.raises(InvalidInput):
        desk.update_case(case.ref, request_types=())
    assert desk.get_case(case.ref).deadlines.received_on == date(2026, 2, 1)
    assert desk.verify_audit().ok


def test_what_was_requested_is_frozen_once_reviewed(staff: Staff) -> None:
    case = new_case(staff.alice, ("delete",))
    in_review = to_review(staff.alice, case.ref)
    assert "submitted for review" in in_review.request_locked_reason
    # Taking "delete" out to approve one's own deletion is refused ...
    with pytest.raises(InvalidInput, match="return it to work"):
        staff.alice.update_case(case.ref, request_types=("access",))
    with pytest.raises(InvalidInput, match="return it to work"):
        staff.alice.update_case(case.ref, received_on=date(2026, 1, 5))
    # ... while the summary may still be tidied.
    staff.alice.update_case(case.ref, summary="Delete my account, says the caller.")
    back = step(staff.alice, case.ref, "return_to_work", reason="Wrong request type")
    assert back.request_locked_reason == ""
    staff.alice.update_case(case.ref, request_types=("access",))
    closed = step(staff.alice, case.ref, "deny", reason="Not a consumer")
    assert "decided" in closed.request_locked_reason
    with pytest.raises(InvalidInput, match="decided"):
        staff.alice.update_case(case.ref, summary="x")
    with pytest.raises(InvalidInput, match="decided"):
        staff.alice.update_party(case.ref, "requester", PartyData(name="Someone Else"))


def test_editing_a_party_is_audited_and_a_child_found_later_becomes_urgent(
    desk: Desk
) -> None:
    case = new_case(desk, ("delete",), name="Ana Ruiz")
    assert case.priority == "normal"
    changed = desk.update_party(case.ref, "subject", PartyData(name="Leo Ruiz", age=10),
                                case.version).case
    assert changed.is_child and not changed.subject_is_requester
    assert changed.priority == "urgent"
    assert changed.subject.name == "Leo Ruiz"
    assert actions(changed)[-1] == "party.updated"
    changed = desk.update_party(case.ref, "requester", PartyData(
        name="Ana  Ruiz ", email=" ana@example.com ", state="CA",
        relationship="authorized_agent")).case
    assert changed.via_agent
    assert changed.requester.name == "Ana Ruiz" and changed.requester.email == "ana@example.com"
    with pytest.raises(InvalidInput, match="not an email address"):
        desk.update_party(case.ref, "requester", PartyData(name="Ana", email="ana@"))
    with pytest.raises(InvalidInput):
        desk.update_party(case.ref, "witness", PartyData(name="Ana"))
    assert desk.get_case(case.ref).requester.email == "ana@example.com"


def test_assigning_and_notes(staff: Staff) -> None:
    case = new_case(staff.alice)
    assigned = staff.alice.assign(case.ref, "carol").case
    assert assigned.assignee == "carol"
    assert [r.ref for r in staff.carol.list_cases(CaseQuery(view="mine")).rows] == [case.ref]
    with pytest.raises(NotFound):
        staff.alice.assign(case.ref, "mallory")
    noted = staff.carol.add_note(case.ref, "  Called back, left a message.  ").case
    assert [(n.author, n.body) for n in noted.notes] == [("carol",
                                                          "Called back, left a message.")]
    with pytest.raises(InvalidInput):
        staff.carol.add_note(case.ref, "   ")
    unassigned = staff.alice.assign(case.ref, None).case
    assert unassigned.assignee == ""
    assert actions(unassigned) == ["case.created", "case.assigned", "case.note",
                                   "case.assigned"]


# --- extension, hold, duplicates, appeals ---------------------------------------------

def test_one_extension_before_the_original_due_date(staff: Staff, clock: Clock) -> None:
    alice = staff.alice
    case = new_case(alice, ("access",))
    with pytest.raises(TransitionRefused, match="needs a reason"):
        alice.extend(case.ref, "  ")
    # On the last day of the first period the notice may still go out.
    staff.set_clock(clock.advanced(timedelta(days=45)))
    extended = alice.extend(case.ref, "Records are spread over three dealer systems").case
    assert extended.deadlines.respond_by == date(2026, 6, 2)
    assert extended.deadlines.original_respond_by == date(2026, 4, 18)
    assert extended.deadlines.extended and not extended.deadlines.extension_possible
    assert extended.deadlines.extension_reason.startswith("Records are spread")
    assert any(t.kind == "follow_up" and "extension notice" in t.title for t in extended.tasks)
    with pytest.raises(TransitionRefused, match="one extension only"):
        alice.extend(case.ref, "Again")

    late = new_case(alice, ("access",), received_on=date(2026, 1, 5))
    with pytest.raises(TransitionRefused, match="has passed"):
        alice.extend(late.ref, "Too late")
    assert alice.get_case(late.ref).deadlines.respond_by == date(2026, 2, 19)


def test_opt_outs_cannot_be_extended(desk: Desk) -> None:
    for types in (("opt_out_sale_share",), ("opt_out_marketing",),
                  ("delete", "opt_out_sale_share")):
        case = new_case(desk, types)
        assert not case.deadlines.extension_possible, types
        before = audit_count(desk)
        with pytest.raises(TransitionRefused, match="cannot be extended"):
            desk.extend(case.ref, "Busy")
        after = desk.get_case(case.ref)
        assert after.deadlines.respond_by == case.deadlines.respond_by
        assert not after.deadlines.extended and after.version == case.version
        assert audit_count(desk) == before


def test_a_closed_case_cannot_be_extended(desk: Desk) -> None:
    case = new_case(desk)
    step(desk, case.ref, "deny", reason="Not a consumer")
    with pytest.raises(TransitionRefused, match="awaiting its response"):
        desk.extend(case.ref, "Busy")


def test_on_hold_the_california_clock_keeps_running(staff: Staff, clock: Clock) -> None:
    alice = staff.alice
    case = new_case(alice, ("delete",))
    step(alice, case.ref, "acknowledge")
    step(alice, case.ref, "start_verification")
    held = step(alice, case.ref, "hold", reason="Waiting for the signed declaration")
    assert held.status == "on_hold" and held.status_reason.startswith("Waiting")
    staff.set_clock(clock.advanced(timedelta(days=20)))
    with pytest.raises(TransitionRefused):
        step(alice, case.ref, "hold", reason="Again")
    resumed = step(alice, case.ref, "resume")
    assert resumed.status == "verifying"  # back where it was
    assert resumed.status_reason == ""
    assert resumed.deadlines.respond_by == case.deadlines.respond_by == date(2026, 4, 18)
    assert resumed.deadlines.days_left == 25
    assert [h.summary for h in resumed.history][-1] == "Resume: On hold → Identity verification"


def test_a_duplicate_is_merged_into_the_case_it_duplicates(staff: Staff) -> None:
    alice = staff.alice
    original = new_case(alice, ("access",), name="Maria Lopez", email="")
    copy = alice.create_case(NewCase(
        channel="phone", request_types=("opt_out_sale_share",),
        requester=PartyData(name="Maria Lopez", phone="(310) 555-0100", state="CA"))).case
    alice.add_note(copy.ref, "She also called about the dealer newsletter.")
    with pytest.raises(TransitionRefused, match="itself"):
        step(alice, copy.ref, "mark_duplicate", other_case=copy.ref)
    with pytest.raises(TransitionRefused, match="name the case"):
        step(alice, copy.ref, "mark_duplicate")
    with pytest.raises(NotFound):
        step(alice, copy.ref, "mark_duplicate", other_case="PR-2026-00999")
    before = audit_count(alice)
    changed = alice.take_step(copy.ref, StepRequest("mark_duplicate", other_case=original.ref))
    assert set(changed.refs) == {copy.ref, original.ref}
    assert audit_count(alice) == before + 2  # the duplicate and the case it merged into
    merged = alice.get_case(original.ref)
    duplicate = alice.get_case(copy.ref)
    assert duplicate.status == "duplicate" and duplicate.duplicate_of == original.ref
    assert not duplicate.is_open
    assert merged.request_types == ("access", "opt_out_sale_share")
    assert merged.deadlines.respond_by == date(2026, 3, 25)  # the opt-out is due first
    assert [n.body for n in merged.notes] == [
        f"[from {copy.ref}] She also called about the dealer newsletter."]
    assert merged.requester.phone == "(310) 555-0100"
    assert f"Merged in from {copy.ref}" in [h.summary for h in merged.history]
    assert "case.step" in actions(duplicate)
    # A duplicate of a duplicate must name the original instead.
    third = new_case(alice)
    with pytest.raises(TransitionRefused, match=f"duplicate of {original.ref}"):
        step(alice, third.ref, "mark_duplicate", other_case=copy.ref)
    assert alice.verify_audit().ok


def test_appeals_follow_decisions_only(staff: Staff) -> None:
    alice = staff.alice
    case = new_case(alice, ("access",), state="VA")
    assert not case.can_appeal
    with pytest.raises(TransitionRefused, match="an appeal follows a decision"):
        alice.open_appeal(case.ref, "Unhappy")
    withdrawn = new_case(alice, ("access",), state="VA")
    step(alice, withdrawn.ref, "withdraw", reason="Requester called to withdraw")
    with pytest.raises(TransitionRefused, match="is withdrawn: an appeal follows a decision"):
        alice.open_appeal(withdrawn.ref, "Changed my mind")
    denied = step(alice, case.ref, "deny", reason="Could not find the requester as a consumer")
    assert denied.can_appeal
    with pytest.raises(InvalidInput):
        alice.open_appeal(case.ref, " ")
    opened = alice.open_appeal(case.ref, "The requester insists she bought a car")
    appeal = opened.case
    assert set(opened.refs) == {appeal.ref, case.ref}
    assert appeal.request_types == ("appeal",) and appeal.appeal_of == case.ref
    assert appeal.jurisdiction == "VA" and appeal.priority == "high"
    assert appeal.deadlines.respond_by == date(2026, 5, 3)  # 60 days, Va. Code §59.1-577(C)
    assert appeal.summary.startswith(f"Appeal of {case.ref}")
    assert "case.appealed" in actions(alice.get_case(case.ref))

    utah = new_case(alice, ("delete",), state="UT")
    utah_denied = step(alice, utah.ref, "deny", reason="Exempt: warranty records")
    assert not utah_denied.can_appeal
    with pytest.raises(TransitionRefused, match="provides no appeal"):
        alice.open_appeal(utah.ref, "Unhappy")
    assert alice.count_cases(CaseQuery(view="all")) == 4


def test_a_response_sent_can_be_appealed_before_the_case_is_closed(staff: Staff) -> None:
    case = new_case(staff.alice, ("access",), state="VA")
    to_review(staff.alice, case.ref)
    sent = step(staff.bob, case.ref, "approve_and_send")
    assert sent.status == "response_sent" and sent.can_appeal
    appeal = staff.alice.open_appeal(case.ref, "The copy was incomplete").case
    assert appeal.appeal_of == case.ref


# --- guards: four eyes, notices, reasons, roles ---------------------------------------

def test_a_deletion_needs_a_second_person_to_approve(staff: Staff) -> None:
    case = new_case(staff.alice, ("delete",))
    in_review = to_review(staff.alice, case.ref)
    approve = next(s for s in in_review.steps if s.name == "approve_and_send")
    assert not approve.allowed and "Four-eyes" in approve.why_not
    before = audit_count(staff.alice)
    with pytest.raises(TransitionRefused, match="Four-eyes"):
        step(staff.alice, case.ref, "approve_and_send")
    assert staff.alice.get_case(case.ref).version == in_review.version
    assert audit_count(staff.alice) == before
    as_bob = staff.bob.get_case(case.ref)
    assert next(s for s in as_bob.steps if s.name == "approve_and_send").allowed
    sent = step(staff.bob, case.ref, "approve_and_send")
    assert sent.status == "response_sent"
    assert sent.history[-1].actor == "bob"


def test_four_eyes_applies_to_deletions_only(staff: Staff) -> None:
    case = new_case(staff.carol, ("access",))
    to_review(staff.carol, case.ref)
    assert step(staff.carol, case.ref, "approve_and_send").status == "response_sent"


def test_returning_a_deletion_to_work_lets_the_submitter_approve_a_resubmission_by_another(
    staff: Staff
) -> None:
    case = new_case(staff.carol, ("delete",))
    to_review(staff.carol, case.ref)
    step(staff.bob, case.ref, "return_to_work", reason="Dealer records missing")
    step(staff.bob, case.ref, "submit_for_review")
    with pytest.raises(TransitionRefused, match="Four-eyes"):
        step(staff.bob, case.ref, "approve_and_send")
    assert step(staff.carol, case.ref, "approve_and_send").status == "response_sent"


def test_closing_waits_for_downstream_notices_unless_a_supervisor_overrides(
    staff: Staff
) -> None:
    case = new_case(staff.carol, ("access",))
    to_review(staff.carol, case.ref)
    step(staff.carol, case.ref, "approve_and_send")
    first = staff.carol.add_task(case.ref, "downstream_notice", "Tell dealer 0042").case
    staff.carol.add_task(case.ref, "downstream_notice", "Tell the finance affiliate")
    shown = staff.carol.get_case(case.ref)
    close = next(s for s in shown.steps if s.name == "close")
    assert not close.allowed and close.overridable and "2 downstream notice(s)" in close.why_not
    with pytest.raises(TransitionRefused, match="2 downstream notice"):
        step(staff.carol, case.ref, "close")
    with pytest.raises(TransitionRefused):  # an agent may not override
        step(staff.carol, case.ref, "close", override=True, reason="Dealer closed down")
    with pytest.raises(TransitionRefused, match="reason is required"):
        step(staff.bob, case.ref, "close", override=True)
    staff.carol.complete_task(case.ref, first.tasks[0].id)
    with pytest.raises(TransitionRefused, match="1 downstream notice"):
        step(staff.carol, case.ref, "close")
    closed = step(staff.bob, case.ref, "close", override=True, reason="Affiliate dissolved")
    assert closed.status == "closed" and closed.status_reason == "Affiliate dissolved"
    assert not closed.is_open and closed.steps == ()


def test_all_notices_answered_lets_anyone_close(staff: Staff) -> None:
    case = new_case(staff.carol, ("access",))
    to_review(staff.carol, case.ref)
    step(staff.carol, case.ref, "approve_and_send")
    task = staff.carol.add_task(case.ref, "downstream_notice", "Tell dealer 0042").case.tasks[0]
    staff.carol.complete_task(case.ref, task.id)
    with pytest.raises(InvalidInput, match="already done"):
        staff.carol.complete_task(case.ref, task.id)
    assert step(staff.carol, case.ref, "close").status == "closed"


@pytest.mark.parametrize("name", ["deny", "withdraw", "close_unverified", "hold",
                                  "request_information"])
def test_steps_that_need_a_reason_refuse_without_one(desk: Desk, name: str) -> None:
    case = new_case(desk)
    step(desk, case.ref, "acknowledge")
    step(desk, case.ref, "start_verification")
    before = desk.get_case(case.ref)
    with pytest.raises(TransitionRefused, match="reason is required"):
        step(desk, case.ref, name, reason="   ")
    after = desk.get_case(case.ref)
    assert (after.status, after.version, len(after.history)) == (
        before.status, before.version, len(before.history))


def test_verification_needs_a_known_method(desk: Desk) -> None:
    case = new_case(desk)
    step(desk, case.ref, "acknowledge")
    step(desk, case.ref, "start_verification")
    with pytest.raises(TransitionRefused, match="how identity was verified"):
        step(desk, case.ref, "verify")
    with pytest.raises(InvalidInput, match="Unknown verification method"):
        step(desk, case.ref, "verify", method="looked trustworthy")
    verified = step(desk, case.ref, "verify", method="government_id_checked_then_deleted")
    assert verified.verification_method == "government_id_checked_then_deleted"
    assert verified.status == "in_progress"


def test_opt_outs_skip_verification_but_deletions_do_not(desk: Desk) -> None:
    opt_out = new_case(desk, ("opt_out_sale_share", "opt_out_marketing"))
    assert "skip_verification" in [s.name for s in opt_out.steps]
    step(desk, opt_out.ref, "acknowledge")
    assert step(desk, opt_out.ref, "skip_verification").status == "in_progress"
    deletion = new_case(desk, ("delete", "opt_out_marketing"))
    assert "skip_verification" not in [s.name for s in deletion.steps]
    with pytest.raises(TransitionRefused, match="request types"):
        step(desk, deletion.ref, "skip_verification")
    with pytest.raises(TransitionRefused, match="Unknown step"):
        step(desk, deletion.ref, "teleport")


def test_an_agent_cannot_manage_users_or_clocks(staff: Staff) -> None:
    with pytest.raises(PermissionDenied):
        staff.carol.add_user("mallory", "admin")
    with pytest.raises(PermissionDenied):
        staff.carol.set_role("carol", "admin")
    with pytest.raises(PermissionDenied):
        staff.bob.add_user("mallory", "agent")
    with pytest.raises(PermissionDenied):
        staff.carol.set_legal_clock("CA", "opt_out_sale_share", "respond", 10)
    assert [u.username for u in staff.alice.list_users()] == ["alice", "bob", "carol"]
    assert staff.carol.current_user().role == "agent"


def test_users_and_roles(staff: Staff) -> None:
    with pytest.raises(InvalidInput, match="exists already"):
        staff.alice.add_user("bob", "agent")
    with pytest.raises(InvalidInput):
        staff.alice.add_user("two words", "agent")
    with pytest.raises(InvalidInput):
        staff.alice.add_user("dave", "owner")
    with pytest.raises(InvalidInput, match="last administrator"):
        staff.alice.set_role("alice", "agent")
    assert staff.alice.set_role("carol", "supervisor").role == "supervisor"
    assert staff.carol.current_user().role == "supervisor"


def test_someone_unknown_to_the_desk_is_told_how_to_get_access(desk: Desk) -> None:
    stranger = desk.as_user("mallory")
    with pytest.raises(NotFound, match="caseapp users add mallory"):
        stranger.create_case(NewCase(channel="email", request_types=("access",),
                                     requester=PartyData(name="X")))


# --- two workstations -----------------------------------------------------------------

def test_a_stale_edit_is_refused_and_overwrites_nothing(database_url: str, clock: Clock,
                                                        tmp_path: Path) -> None:
    first = make_desk(database_url, "alice", clock, tmp_path / "b1")
    second = make_desk(database_url, "alice", clock, tmp_path / "b2")
    try:
        case = new_case(first, ("access",), summary="Original")
        seen_by_second = second.get_case(case.ref)
        edited = first.update_case(case.ref, case.version, summary="First workstation").case
        assert edited.version > case.version
        with pytest.raises(StaleEdit, match="Nothing was overwritten"):
            second.update_case(case.ref, seen_by_second.version, summary="Second workstation")
        with pytest.raises(StaleEdit):
            second.take_step(case.ref, StepRequest("deny", reason="x",
                                                   expected_version=seen_by_second.version))
        with pytest.raises(StaleEdit):
            second.assign(case.ref, "alice", seen_by_second.version)
        with pytest.raises(StaleEdit):
            second.update_party(case.ref, "requester", PartyData(name="Changed"),
                                seen_by_second.version)
        current = second.get_case(case.ref)
        assert current.summary == "First workstation" and current.status == "received"
        assert current.requester.name == "Maria Lopez" and current.assignee == ""
        # With the fresh version the second workstation's edit goes through.
        second.update_case(case.ref, current.version, summary="Second workstation")
        assert first.get_case(case.ref).summary == "Second workstation"
        assert first.verify_audit().ok
    finally:
        first.close()
        second.close()


def test_a_clock_changed_by_the_administrator_counts_at_every_workstation(
    database_url: str, clock: Clock, tmp_path: Path
) -> None:
    admin = make_desk(database_url, "alice", clock, tmp_path / "b1")
    other = make_desk(database_url, "alice", clock, tmp_path / "b2")  # already running
    try:
        assert new_case(other, ("opt_out_sale_share",)).deadlines.respond_by == date(2026, 3, 25)
        setting = admin.set_legal_clock("CA", "opt_out_sale_share", "respond", 10)
        assert (setting.days, setting.shipped_days, setting.changed_by) == (10, 15, "alice")
        # 10 business days from Wed March 4 instead of 15, at both workstations.
        assert new_case(admin, ("opt_out_sale_share",)).deadlines.respond_by == date(2026, 3, 18)
        assert new_case(other, ("opt_out_sale_share",)).deadlines.respond_by == date(2026, 3, 18)
        # Cases already open keep their date until their facts change.
        assert other.get_case("PR-2026-00001").deadlines.respond_by == date(2026, 3, 25)
        with pytest.raises(InvalidInput, match="no clock CA/delete respond"):
            admin.set_legal_clock("CA", "delete", "respond", 60)
        with pytest.raises(InvalidInput, match="fixed by law"):
            admin.set_legal_clock("CA", "", "respond", 60)
        with pytest.raises(InvalidInput, match="between 1 and 366"):
            admin.set_legal_clock("CA", "opt_out_sale_share", "respond", 0)
    finally:
        admin.close()
        other.close()


# --- review findings: verification, clocks after the response, corrected facts ---------

def test_a_parent_is_verified_the_coppa_way_and_an_agent_with_signed_permission(
    desk: Desk,
) -> None:
    child = desk.create_case(NewCase(
        channel="phone", request_types=("delete",),
        requester=PartyData(name="Ana Ruiz", state="CA", relationship="parent"),
        subject=PartyData(name="Leo Ruiz", age=9))).case
    step(desk, child.ref, "acknowledge")
    step(desk, child.ref, "start_verification")
    with pytest.raises(TransitionRefused, match=r"16 CFR 312\.5\(b\)\(2\)"):
        step(desk, child.ref, "verify", method="email_match")
    assert step(desk, child.ref, "verify", method="signed_form_post").status == "in_progress"

    agent = desk.create_case(NewCase(
        channel="email", request_types=("access",),
        requester=PartyData(name="Privacy Agents LLC", relationship="authorized_agent"),
        subject=PartyData(name="Sam Lee", state="CA"))).case
    assert agent.via_agent
    step(desk, agent.ref, "acknowledge")
    step(desk, agent.ref, "start_verification")
    with pytest.raises(TransitionRefused, match="§7063"):
        step(desk, agent.ref, "verify", method="data_points_2")
    step(desk, agent.ref, "verify", method="agent_signed_permission")


def test_receipt_is_confirmed_before_verification_starts(desk: Desk) -> None:
    case = new_case(desk, ("delete",))
    start = next(s for s in case.steps if s.name == "start_verification")
    assert not start.allowed and "Acknowledged" in start.why_not
    with pytest.raises(TransitionRefused):
        step(desk, case.ref, "start_verification")


def test_once_the_response_is_sent_the_case_is_not_overdue(staff: Staff,
                                                           clock: Clock) -> None:
    case = new_case(staff.alice, ("access",))
    to_review(staff.alice, case.ref)
    sent = step(staff.bob, case.ref, "approve_and_send")
    assert not sent.deadlines.extension_possible
    with pytest.raises(TransitionRefused, match="awaiting its response"):
        staff.alice.extend(case.ref, "More time")
    staff.alice.set_clock(clock.advanced(timedelta(days=60)))
    later = staff.alice.get_case(case.ref)
    assert later.deadlines.days_left < 0 and not later.deadlines.overdue
    assert staff.alice.count_cases(CaseQuery(view="overdue")) == 0
    rows = staff.alice.list_cases(CaseQuery(view="open")).rows
    assert [r.overdue for r in rows] == [False]


def test_a_corrected_state_moves_the_case_to_that_law(desk: Desk) -> None:
    case = new_case(desk, ("opt_out_sale_share",), state="")
    assert case.jurisdiction == "DEFAULT" and case.deadlines.respond_by == date(2026, 4, 18)
    fixed = desk.update_party(case.ref, "requester",
                              PartyData(name="Maria Lopez", email="maria@example.com",
                                        state="CA")).case
    assert fixed.jurisdiction == "CA"
    assert fixed.deadlines.respond_by == date(2026, 3, 25)  # 15 business days (§7026(f))
    assert "jurisdiction" in fixed.history[-1].summary or fixed.history[-1].action == (
        "party.updated")
    # A jurisdiction chosen by hand is kept when the address changes.
    desk.update_case(case.ref, jurisdiction="EU")
    moved = desk.update_party(case.ref, "requester",
                              PartyData(name="Maria Lopez", email="maria@example.com",
                                        state="VA")).case
    assert moved.jurisdiction == "EU"


def test_a_duplicate_merges_only_into_an_open_case_and_keeps_the_first_date(
    desk: Desk,
) -> None:
    newer = new_case(desk, ("delete",))
    older = new_case(desk, ("access",), received_on=date(2026, 2, 2))
    merged = step(desk, older.ref, "mark_duplicate", other_case=newer.ref)
    assert merged.duplicate_of == newer.ref
    target = desk.get_case(newer.ref)
    assert target.deadlines.received_on == date(2026, 2, 2)
    assert target.deadlines.respond_by == date(2026, 3, 19)  # 45 days from the first letter
    closed = new_case(desk, ("delete",))
    step(desk, closed.ref, "deny", reason="Not a consumer")
    again = new_case(desk, ("delete",))
    with pytest.raises(TransitionRefused, match="new request, not a duplicate"):
        step(desk, again.ref, "mark_duplicate", other_case=closed.ref)


def test_an_appeal_cannot_be_appealed(desk: Desk) -> None:
    case = new_case(desk, ("access",), state="VA")
    step(desk, case.ref, "deny", reason="Not verifiable")
    appeal = desk.open_appeal(case.ref, "I am who I say").case
    step(desk, appeal.ref, "deny", reason="Still not verifiable")
    assert not desk.get_case(appeal.ref).can_appeal
    with pytest.raises(TransitionRefused, match="itself an appeal"):
        desk.open_appeal(appeal.ref, "Again")


def test_a_party_field_longer_than_its_column_is_refused_with_a_message(desk: Desk) -> None:
    from caseapp.errors import InvalidInput as Refused

    with pytest.raises(Refused, match="name is too long"):
        desk.create_case(NewCase(channel="phone", request_types=("delete",),
                                 requester=PartyData(name="N" * 301)))
    with pytest.raises(Refused, match="phone is too long"):
        desk.create_case(NewCase(channel="phone", request_types=("delete",),
                                 requester=PartyData(name="Ana", phone="5" * 41)))
