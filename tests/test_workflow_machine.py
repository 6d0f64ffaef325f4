"""The workflow driven at random through the real services, against a model of the rules.

Three people (alice admin, bob supervisor, carol agent) take random steps with random
inputs on random cases, extend, hold and resume, merge duplicates, add notices and notes,
appeal, and let time pass. After every action the machine checks what a compliance
officer relies on:

- a refused action changes nothing (same version, same history, no audit event);
- every change writes at least one audit event and the chain stays intact;
- every case is in a state the workflow knows; denials, withdrawals, unverified closes
  and holds carry their reason;
- no deletion was ever approved by the person who submitted it for review;
- no due date falls before the request arrived, and time on hold never moves one;
- each step is allowed exactly when the rules in workflows.toml say so (the model below
  reads the guards from the file and applies them independently of caseapp.workflow);
- claims (caseapp.services.claims): a step or an extension claims the case for whoever
  takes it; while someone else holds a live claim, the agent is refused (ClaimHeld,
  nothing changes) and a supervisor or administrator takes the claim over; a step that
  hands the case on (to review, back from it, the response sent) or closes it lets the
  claim go; a claim lapses when its lease runs out. Every case's claim is the model's.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)
from sqlalchemy import text

from caseapp.clock import Clock
from caseapp.errors import InvalidInput, NotFound, TransitionRefused, UserError
from caseapp.services import Desk, Rules
from caseapp.services.claims import ClaimHeld
from caseapp.services.dto import CaseDetail, NewCase, PartyData, StepRequest
from caseapp.vocabulary import CHANNELS, REQUEST_TYPES, VERIFICATION_METHODS
from caseapp.workflow.machine import reachable_states
from caseapp.workflow.rules import PREVIOUS
from tests.conftest import FIXED_NOW

RULES = Rules.load()
WORKFLOW = RULES.workflow
STEPS = tuple(WORKFLOW.transitions)
ROLES = {"alice": "admin", "bob": "supervisor", "carol": "agent"}
NEEDS_REASON_WHEN_CLOSED = {"denied", "withdrawn", "closed_unverified"}
TAKE_OVER = {"supervisor", "admin"}
"""Roles that take over a claim someone else holds by acting on the case."""
HANDS_ON = {"submitted_for_review", "review_cleared", "responded"}
"""Effects of the steps that hand the case on: its claim goes (as when it closes)."""

people = st.sampled_from(tuple(ROLES))
# Deletions (four eyes) and opt-outs (no verification, no extension) come up often.
type_sets = st.one_of(
    st.sampled_from((("delete",), ("opt_out_sale_share",), ("access", "delete"))),
    st.lists(st.sampled_from(REQUEST_TYPES), min_size=1, max_size=3, unique=True).map(tuple),
)
states = st.sampled_from(("CA", "CA", "VA", "UT", "EU", "TX", ""))
reasons = st.sampled_from(("", "   ", "Requester asked us to", "Could not verify identity"))
methods = st.sampled_from(("", "", "", "email_match", "email_match",
                           "data_points_3_signed_declaration", "gut feeling"))
# The way forward from each state, so that random runs also get cases to the end.
FORWARD = {
    "received": "acknowledge", "acknowledged": "start_verification", "verifying": "verify",
    "info_requested": "information_received", "in_progress": "submit_for_review",
    "review": "approve_and_send", "response_sent": "close", "on_hold": "resume",
}


@dataclass
class Model:
    """What the rules say about one case, kept apart from the program's own state."""

    ref: str
    status: str
    types: tuple[str, ...]
    jurisdiction: str
    received_on: date
    due_on: date
    previous: str | None = None
    submitted_by: str | None = None
    open_notices: int = 0
    is_child: bool = False
    extended: bool = False
    duplicate_of: str | None = None
    approvals: list[tuple[str, str | None, bool]] = field(default_factory=list)
    holder: str | None = None
    """Who claimed the case last (None: nobody, or let go), since and until when."""
    held_since: datetime | None = None
    held_until: datetime | None = None


class DeskMachine(RuleBasedStateMachine):
    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="caseapp-machine-"))
        self.clock = Clock(fixed=FIXED_NOW)
        alice = Desk(f"sqlite:///{self.folder / 'cases.sqlite3'}", "alice", clock=self.clock)
        alice.prepare(self.folder / "backups")
        alice.add_user("bob", "supervisor")
        alice.add_user("carol", "agent")
        self.desks = {"alice": alice, "bob": alice.as_user("bob"),
                      "carol": alice.as_user("carol")}
        self.model: dict[str, Model] = {}
        self.events = alice.verify_audit().events

    def teardown(self) -> None:
        self.desks["alice"].close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- helpers --------------------------------------------------------------------

    @property
    def alice(self) -> Desk:
        return self.desks["alice"]

    def snapshot(self, ref: str) -> CaseDetail:
        return self.alice.get_case(ref)

    def assert_unchanged(self, before: CaseDetail, events_before: int) -> None:
        after = self.snapshot(before.ref)
        assert after.version == before.version
        assert after.status == before.status
        assert len(after.history) == len(before.history)
        assert (len(after.notes), len(after.tasks)) == (len(before.notes), len(before.tasks))
        assert after.deadlines.respond_by == before.deadlines.respond_by
        assert after.request_types == before.request_types
        assert self.alice.verify_audit().events == events_before

    def held_by_another(self, ref: str, who: str) -> bool:
        """Someone else holds a live claim on the case."""
        case = self.model[ref]
        return (case.holder is not None and case.holder != who
                and case.held_until is not None and case.held_until >= self.clock.now())

    def claim_refused(self, ref: str, who: str) -> bool:
        """The claim refuses ``who`` (an agent; a supervisor or administrator takes it)."""
        return self.held_by_another(ref, who) and ROLES[who] not in TAKE_OVER

    def claimed(self, ref: str, who: str) -> None:
        """``who`` acted on the case: it is theirs (claimed now, unless it was already)."""
        case = self.model[ref]
        now = self.clock.now()
        if (case.holder == who and case.held_until is not None
                and case.held_until >= now):
            return  # held already: acting does not renew the lease (the window does)
        case.holder, case.held_since = who, now
        case.held_until = now + self.desks[who].claim_lease

    def expect_events(self, added_at_least: int = 1) -> None:
        now = self.alice.verify_audit().events
        assert now >= self.events + added_at_least
        self.events = now

    # --- rules ----------------------------------------------------------------------

    @initialize(target=cases, who=people, types=type_sets, state=states)
    def first_case(self, who: str, types: tuple[str, ...], state: str) -> str:
        return self.create(who, types, state, "email", False, 0)

    @rule(target=cases, who=people, types=type_sets, state=states,
          channel=st.sampled_from(CHANNELS), child=st.booleans(),
          days_ago=st.integers(min_value=0, max_value=60))
    def new_case(self, who: str, types: tuple[str, ...], state: str, channel: str,
                 child: bool, days_ago: int) -> str:
        return self.create(who, types, state, channel, child, days_ago)

    def create(self, who: str, types: tuple[str, ...], state: str, channel: str, child: bool,
               days_ago: int) -> str:
        received = self.clock.today() - timedelta(days=days_ago)
        subject = PartyData(name="Kid Doe", age=8) if child else None
        case = self.desks[who].create_case(NewCase(
            channel=channel, request_types=types, received_on=received, subject=subject,
            requester=PartyData(name="Pat Doe", email="pat@example.com", state=state))).case
        assert case.ref not in self.model
        assert case.status == WORKFLOW.initial
        assert case.request_types == types
        assert case.is_child == child and (case.priority == "urgent") == child
        assert case.deadlines.respond_by > received
        self.expect_events()
        self.model[case.ref] = Model(case.ref, case.status, types, case.jurisdiction, received,
                                     case.deadlines.respond_by, is_child=child)
        return case.ref

    def refusal(self, ref: str, name: str, who: str, reason: str, method: str, other: str,
                override: bool) -> str:
        """Why the rules refuse this step, or "" — worked out from workflows.toml alone."""
        case = self.model[ref]
        transition = WORKFLOW.transitions[name]
        types = set(case.types)
        if method and method not in VERIFICATION_METHODS:
            return "unknown method"
        if self.claim_refused(ref, who):
            return "claim held"
        if case.status not in transition.sources:
            return "wrong state"
        if transition.request_types and not types & set(transition.request_types):
            return "type"
        if transition.all_request_types and not types <= set(transition.all_request_types):
            return "type"
        if transition.roles and ROLES[who] not in transition.roles:
            return "role"
        if set(transition.four_eyes_types) & types and case.submitted_by == who:
            return "four eyes"
        blocked = transition.blocks_on_open_notices and case.open_notices > 0
        if blocked and not (override and ROLES[who] in ("supervisor", "admin")):
            return "open notices"
        if transition.target == PREVIOUS and case.previous is None:
            return "no previous"
        if (transition.requires_reason or (override and blocked)) and not reason.strip():
            return "reason"
        if transition.requires_case:
            if not other:
                return "no case named"
            target = self.model[other]
            if (other == ref or target.duplicate_of is not None
                    or not WORKFLOW.states[target.status].is_open):
                return "bad duplicate target"
        if transition.requires_method and not method:
            return "method"
        # A parent is verified the COPPA way (16 CFR 312.5(b)(2)).
        child_methods = WORKFLOW.verification.child_methods
        if transition.requires_method and case.is_child and method not in child_methods:
            return "not a parent check"
        return ""

    @rule(data=st.data(), ref=cases, count=st.integers(min_value=1, max_value=4))
    def take_steps(self, data: st.DataObject, ref: str, count: int) -> None:
        """A few random steps with random inputs, mostly ones the case's state offers."""
        for _ in range(count):
            status = self.model[ref].status
            possible = [s for s in STEPS if status in WORKFLOW.transitions[s].sources]
            name = data.draw(st.sampled_from(possible) if possible and data.draw(
                st.integers(0, 4), label="offered?") else st.sampled_from(STEPS), label="step")
            other = ""
            if WORKFLOW.transitions[name].requires_case and data.draw(st.booleans(),
                                                                      label="names a case"):
                other = data.draw(st.sampled_from(sorted(self.model)), label="other case")
            self.step(ref, name, data.draw(people, label="who"), data.draw(reasons, label="reason"),
                      data.draw(methods, label="method"), other,
                      data.draw(st.booleans(), label="override"))

    @rule(ref=cases, override=st.booleans(),
          who=st.one_of(people.map(lambda person: [person] * 6),  # one person does it all
                        st.lists(people, min_size=1, max_size=6)))
    def move_forward(self, ref: str, who: list[str], override: bool) -> None:
        """Up to six steps along the usual path, each by one of the people drawn."""
        for person in who:
            name = FORWARD.get(self.model[ref].status)
            if name is None:
                return
            method = "signed_form_post" if self.model[ref].is_child else "email_match"
            self.step(ref, name, person, "Requester asked us to", method, "", override)

    @rule(ref=cases, who=people, days=st.integers(min_value=1, max_value=30))
    def hold_a_while(self, ref: str, who: str, days: int) -> None:
        """Put on hold, let time pass, resume: the clock keeps running (no state pauses)."""
        if self.model[ref].status not in WORKFLOW.transitions["hold"].sources:
            return
        self.step(ref, "hold", who, "Waiting for the signed declaration", "", "", False)
        self.time_passes(days)
        self.step(ref, "resume", who, "", "", "", False)

    def step(self, ref: str, name: str, who: str, reason: str, method: str, other: str,
             override: bool) -> None:
        case = self.model[ref]
        expected_refusal = self.refusal(ref, name, who, reason, method, other, override)
        before = self.snapshot(ref)
        other_before = self.snapshot(other) if other else None
        events_before = self.events
        request = StepRequest(name, reason=reason, method=method, other_case=other,
                              override=override, expected_version=before.version)
        try:
            changed = self.desks[who].take_step(ref, request)
        except (TransitionRefused, InvalidInput, NotFound) as refused:
            assert expected_refusal, f"{name} by {who} was refused: {refused.message}"
            assert isinstance(refused, ClaimHeld) == (expected_refusal == "claim held"), (
                f"{name} by {who}: {refused.message} ({expected_refusal})")
            event(f"refused: {expected_refusal}")
            self.assert_unchanged(before, events_before)
            if other_before is not None:
                self.assert_unchanged(other_before, events_before)
            return
        assert not expected_refusal, f"{name} by {who} went through ({expected_refusal})"
        after = changed.case
        transition = WORKFLOW.transitions[name]
        target = case.previous if transition.target == PREVIOUS else transition.target
        assert after.status == target
        assert after.version > before.version
        self.expect_events(2 if other else 1)
        # Time on hold or any other step never moves the due date (no state pauses it).
        assert after.deadlines.respond_by == case.due_on
        if name == "approve_and_send":
            case.approvals.append((who, case.submitted_by, "delete" in case.types))
            assert not ("delete" in case.types and who == case.submitted_by)
        if target == "on_hold":
            case.previous = case.status
        if transition.target == PREVIOUS:
            case.previous = None
        if name == "submit_for_review":
            case.submitted_by = who
        if name == "return_to_work":
            case.submitted_by = None
        self.claimed(ref, who)
        if set(transition.effects) & HANDS_ON or not WORKFLOW.states[target].is_open:
            case.holder = case.held_since = case.held_until = None  # let go
        if other:
            case.duplicate_of = other
            original = self.model[other]
            original.types = tuple(dict.fromkeys(original.types + case.types))
            merged = self.snapshot(other)
            assert merged.request_types == original.types
            assert merged.deadlines.respond_by <= original.due_on  # never later
            # The clock runs from the first time the person asked.
            original.received_on = min(original.received_on, case.received_on)
            assert merged.deadlines.received_on == original.received_on
            original.due_on = merged.deadlines.respond_by
        case.status = target
        event(f"reached {target}")

    @rule(ref=cases, who=people, reason=reasons)
    def extend(self, ref: str, who: str, reason: str) -> None:
        case = self.model[ref]
        before = self.snapshot(ref)
        events_before = self.events
        late = self.clock.today() > before.deadlines.original_respond_by
        try:
            after = self.desks[who].extend(ref, reason, before.version).case
        except TransitionRefused as refused:
            self.assert_unchanged(before, events_before)
            # A reason is asked for first; then a claim someone else holds refuses agents.
            held = bool(reason.strip()) and self.claim_refused(ref, who)
            assert isinstance(refused, ClaimHeld) == held, refused.message
            if isinstance(refused, ClaimHeld):
                event("extension refused: claim held")
            elif "cannot be extended" in refused.message:
                # The case page did not offer it either.
                assert not before.deadlines.extension_possible
            else:
                stopped = WORKFLOW.states[before.status].clock_stopped
                assert (not reason.strip() or not before.is_open or stopped or case.extended
                        or late), refused.message
            return
        assert not self.claim_refused(ref, who)
        assert reason.strip() and before.is_open and not case.extended and not late
        assert before.deadlines.extension_possible
        assert after.deadlines.extended and not after.deadlines.extension_possible
        assert after.deadlines.respond_by > before.deadlines.respond_by
        assert after.deadlines.original_respond_by == before.deadlines.original_respond_by
        self.expect_events()
        self.claimed(ref, who)
        case.extended = True
        case.due_on = after.deadlines.respond_by

    @rule(ref=cases, who=people)
    def release(self, ref: str, who: str) -> None:
        """The case is closed in someone's window: their claim (even lapsed) goes; anyone
        else's stays."""
        case = self.model[ref]
        result = self.desks[who].release_claim(ref)
        assert result.changed == (case.holder == who)
        if result.changed:
            self.expect_events()
            case.holder = case.held_since = case.held_until = None
            event("released")

    @rule(ref=cases, who=people)
    def add_notice(self, ref: str, who: str) -> None:
        self.desks[who].add_task(ref, "downstream_notice", "Tell dealer 0042")
        self.expect_events()
        self.model[ref].open_notices += 1

    @rule(data=st.data(), ref=cases, who=people)
    def answer_notice(self, data: st.DataObject, ref: str, who: str) -> None:
        open_tasks = [t for t in self.snapshot(ref).tasks if t.status == "open"]
        if not open_tasks:
            return
        task = data.draw(st.sampled_from(open_tasks), label="task")
        self.desks[who].complete_task(ref, task.id)
        self.expect_events()
        if task.kind == "downstream_notice":
            self.model[ref].open_notices -= 1

    @rule(ref=cases, who=people, body=st.sampled_from(("", "  ", "Called back", "Sent letter")))
    def note(self, ref: str, who: str, body: str) -> None:
        before = self.snapshot(ref)
        events_before = self.events
        try:
            after = self.desks[who].add_note(ref, body).case
        except InvalidInput:
            assert not body.strip()
            self.assert_unchanged(before, events_before)
            return
        assert body.strip()
        assert after.notes[-1].body == body.strip() and after.notes[-1].author == who
        self.expect_events()

    @rule(ref=cases, who=people, types=st.lists(st.sampled_from(REQUEST_TYPES), max_size=3,
                                                 unique=True).map(tuple))
    def change_types(self, ref: str, who: str, types: tuple[str, ...]) -> None:
        case = self.model[ref]
        before = self.snapshot(ref)
        events_before = self.events
        try:
            after = self.desks[who].update_case(ref, before.version, request_types=types).case
        except InvalidInput:
            # Empty, or frozen: under review or decided, what was asked no longer changes.
            assert not types or (before.request_locked_reason
                                 and (types != case.types or not before.is_open))
            self.assert_unchanged(before, events_before)
            return
        assert after.request_types == types
        assert not before.request_locked_reason or (types == case.types and before.is_open)
        if types != case.types:
            self.expect_events()
        case.types = types
        case.due_on = after.deadlines.respond_by
        assert case.due_on > case.received_on

    @rule(target=cases, ref=cases, who=people, reason=reasons)
    def appeal(self, ref: str, who: str, reason: str) -> object:
        case = self.model[ref]
        before = self.snapshot(ref)
        events_before = self.events
        try:
            opened = self.desks[who].open_appeal(ref, reason)
        except (TransitionRefused, InvalidInput) as refused:
            assert (not reason.strip() or not WORKFLOW.states[case.status].decided
                    or case.jurisdiction == "UT" or "appeal" in case.types), refused.message
            self.assert_unchanged(before, events_before)
            return multiple()
        assert reason.strip() and WORKFLOW.states[case.status].decided
        assert case.jurisdiction != "UT" and "appeal" not in case.types
        appeal = opened.case
        assert appeal.appeal_of == ref and appeal.request_types == ("appeal",)
        # The appeal is about the same person: a child's case stays a child's case (its
        # parent is verified the COPPA way again).
        assert appeal.is_child == case.is_child
        self.expect_events(2)
        self.model[appeal.ref] = Model(appeal.ref, appeal.status, ("appeal",),
                                       appeal.jurisdiction, appeal.deadlines.received_on,
                                       appeal.deadlines.respond_by, is_child=case.is_child)
        return appeal.ref

    @rule(ref=cases, who=people, to=st.sampled_from(("alice", "bob", "carol", None)))
    def assign(self, ref: str, who: str, to: str | None) -> None:
        assert self.desks[who].assign(ref, to).case.assignee == (to or "")
        self.expect_events()

    @precondition(lambda self: self.clock.today() < date(2027, 6, 1))
    @rule(days=st.integers(min_value=0, max_value=40))
    def time_passes(self, days: int) -> None:
        self.clock = self.clock.advanced(timedelta(days=days))
        for desk in self.desks.values():
            desk.set_clock(self.clock)

    # --- invariants -----------------------------------------------------------------

    @invariant()
    def every_case_is_where_the_model_says(self) -> None:
        with self.alice.db.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT ref, status, status_reason, received_on, acknowledge_by, due_on, "
                "original_due_on FROM cases")).all()
        assert {row.ref for row in rows} == set(self.model)
        for row in rows:
            case = self.model[row.ref]
            assert row.status in WORKFLOW.states
            assert row.status == case.status
            if row.status in NEEDS_REASON_WHEN_CLOSED or row.status == "on_hold":
                assert row.status_reason and row.status_reason.strip(), row.ref
            received, acknowledge_by, due, original = (
                date.fromisoformat(str(v)) for v in (row.received_on, row.acknowledge_by,
                                                     row.due_on, row.original_due_on))
            assert received == case.received_on
            assert received < acknowledge_by and received < original <= due
            assert due == case.due_on

    @invariant()
    def every_claim_is_where_the_model_says(self) -> None:
        with self.alice.db.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT ref, claimed_by, claimed_at, claim_expires_at FROM cases")).all()
        for row in rows:
            case = self.model[row.ref]
            since, until = (None if value is None else datetime.fromisoformat(str(value))
                            for value in (row.claimed_at, row.claim_expires_at))
            assert (row.claimed_by, since, until) == (
                case.holder, case.held_since, case.held_until), row.ref

    @invariant()
    def the_audit_chain_holds_and_counts_every_change(self) -> None:
        report = self.alice.verify_audit()
        assert report.ok, report.problem
        assert report.events == self.events

    @invariant()
    def no_deletion_was_approved_by_its_submitter(self) -> None:
        # Replayed from the audit trail itself, not from the program's case rows.
        with self.alice.db.engine.connect() as connection:
            events = connection.execute(text(
                "SELECT case_ref, actor, detail FROM audit_events "
                "WHERE action = 'case.step' ORDER BY seq")).all()
        submitter: dict[str, str | None] = {}
        approvals: dict[str, list[tuple[str, str | None]]] = {}
        for row in events:
            detail = json.loads(row.detail)
            if detail["step"] == "submit_for_review":
                submitter[row.case_ref] = row.actor
            elif detail["step"] == "return_to_work":
                submitter[row.case_ref] = None
            elif detail["step"] == "approve_and_send":
                assert detail["approved_by"] == row.actor
                approvals.setdefault(row.case_ref, []).append(
                    (row.actor, submitter.get(row.case_ref)))
        for ref, case in self.model.items():
            assert [(who, by) for who, by, _ in case.approvals] == approvals.get(ref, [])
            for who, by, had_delete in case.approvals:
                assert not (had_delete and who == by), ref

    @invariant()
    def the_workflow_can_reach_every_state(self) -> None:
        for request_type in REQUEST_TYPES:
            assert reachable_states(WORKFLOW, (request_type,)) == set(WORKFLOW.states)


DeskMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_the_workflow_under_random_use = DeskMachine.TestCase


def test_refusals_are_user_errors() -> None:
    # The machine treats these as "refused, nothing happened"; they must reach staff as
    # plain messages, never as bugs.
    for error in (TransitionRefused, InvalidInput, NotFound):
        assert issubclass(error, UserError)
