"""Several people of different roles working the same cases at random, through the real
services, with real demo customer systems behind the record deletions.

tests/test_workflow_machine.py drives the workflow steps against a model of the rules
read from workflows.toml. This machine adds what it does not cover:

- the steps as the case page offers them to each person (``CaseDetail.steps``, what the
  window enables or greys out): an enabled step goes through, a greyed one is refused by
  the service itself (a supervisor's override aside), whoever asks;
- record deletions proposed, approved, withdrawn and run by random people: no deletion
  runs without an approval by someone other than its proposer (checked in the database
  and replayed from the audit trail);
- every change of a case's state has exactly one audit event, in the same transaction:
  the chain of "from → to" in the ``case.step`` events of each case ends in the state the
  case is in, one event per step that went through and none for a refused one;
- everything the window keeps from a role (override, legal clocks, letter texts, the
  letterhead and logo, purge and its preview, users and roles, the suppression salt) is
  refused by the service too, while roles change at random;
- the audit chain verifies after every rule.

Runs on SQLite and on the real PostgreSQL server (``CASEAPP_STATEFUL_EXAMPLES`` sets the
examples per backend; by default 5 on SQLite, 2 on PostgreSQL).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import create_engine, text

from caseapp.clock import Clock
from caseapp.demo import DEMO_PEOPLE, demo_sources_text
from caseapp.errors import PermissionDenied, TransitionRefused, UserError
from caseapp.records.demo_systems import DEMO_DB_NAME, DemoSystems, build_demo_systems
from caseapp.services import Desk, Rules
from caseapp.services.claims import ClaimHeld
from caseapp.services.dto import NewCase, PartyData, StepRequest
from tests import pg_server
from tests.conftest import FIXED_NOW
from tests.keyring_fixtures import MemoryKeyring

WORKFLOW = Rules.load().workflow
ROLES = ("agent", "supervisor", "admin")
START = {"alice": "admin", "bob": "supervisor", "carol": "agent", "dave": "agent"}
PEOPLE = tuple(START)
SEEN: Counter[str] = Counter()
"""What the examples got to do (checked at the end, so a run that never reaches a
deletion fails instead of passing on nothing)."""
EXAMPLES = int(os.environ.get("CASEAPP_STATEFUL_EXAMPLES", "0"))
"""Examples per backend (0: 5 on SQLite, 2 on PostgreSQL)."""
TYPE_SETS = (("delete",), ("delete",), ("access", "delete"), ("opt_out_marketing",),
             ("delete", "opt_out_marketing"))
RAN = ("executed", "verified", "verify_failed", "incomplete")
# The way forward from each state, so that cases also get to review and beyond.
FORWARD = {
    "received": "acknowledge", "acknowledged": "start_verification", "verifying": "verify",
    "info_requested": "information_received", "in_progress": "submit_for_review",
    "review": "approve_and_send", "response_sent": "close", "on_hold": "resume",
}
ADMIN_ONLY = ("legal_clock", "organization", "logo", "template", "purge", "salt",
              "add_user")


@dataclass
class ActionModel:
    ref: str
    id: int
    proposer: str
    approver: str | None = None


@dataclass
class CaseModel:
    status: str
    steps: int = 0
    """Steps that went through (each must have left exactly one case.step event)."""
    actions: list[int] = field(default_factory=list)


@dataclass
class World:
    """Makes a fresh desk (case database from a prepared template) and a fresh copy of the
    demo customer systems for each example."""

    fresh_url: Callable[[], str]
    demo: DemoSystems
    folder: Path

    def data_dir(self) -> tuple[Path, Path]:
        data_dir = self.folder / f"data-{uuid.uuid4().hex[:8]}"
        data_dir.mkdir()
        shutil.copy(self.demo.path, data_dir / DEMO_DB_NAME)
        sources = data_dir / "sources.toml"
        sources.write_text(demo_sources_text(data_dir), encoding="utf-8")
        return data_dir, sources


class DeskAtWork(RuleBasedStateMachine):
    cases = Bundle("cases")
    actions = Bundle("actions")

    def __init__(self, world: World) -> None:
        super().__init__()
        self.clock = Clock(fixed=FIXED_NOW)
        self.url = world.fresh_url()
        self.data_dir, sources = world.data_dir()
        alice = Desk(self.url, "alice", clock=self.clock)
        self.desks = {name: alice if name == "alice" else alice.as_user(name)
                      for name in PEOPLE}
        for desk in self.desks.values():
            desk.use_sources(sources, self.data_dir, secret=lambda _name: None)
        self.roles = dict(START)
        self.model: dict[str, CaseModel] = {}
        self.action_models: dict[tuple[str, int], ActionModel] = {}
        self.events = alice.verify_audit().events
        self.new_users = 0

    def teardown(self) -> None:
        self.desks["alice"].close()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # --- helpers --------------------------------------------------------------------

    @property
    def alice(self) -> Desk:
        return self.desks["alice"]

    def audit_count(self) -> int:
        return self.alice.verify_audit().events

    def status_of(self, ref: str) -> str:
        return self.alice.get_case(ref).status

    def refused_and_unchanged(self, ref: str | None, before: int, status: str | None) -> None:
        assert self.audit_count() == before, "a refused call wrote an audit event"
        if ref is not None:
            assert self.status_of(ref) == status

    def claim_blocks(self, ref: str, who: str) -> bool:
        """Someone else holds a live claim on the case and ``who`` may not take it over."""
        claim = self.alice.claim_of(ref).claim
        return (claim is not None and claim.live and claim.holder != who
                and self.roles[who] not in ("supervisor", "admin"))

    def check_step_result(self, ref: str, before_events: int) -> None:
        self.model[ref].steps += 1
        self.model[ref].status = self.status_of(ref)
        assert self.audit_count() > before_events

    # --- cases and steps --------------------------------------------------------------

    @initialize(target=cases, data=st.data(), person=st.integers(0, len(DEMO_PEOPLE) - 1))
    def first_deletion(self, data: st.DataObject, person: int) -> str:
        """Every example starts with a deletion case worked to the end by random people:
        proposed, refused to its proposer, approved by someone else, run; then two steps
        of its page, and an agent tries an administrator's setting."""
        proposer, approver = data.draw(st.permutations(PEOPLE), label="people")[:2]
        ref = self.open_case(proposer, person, ("delete",))
        self.a_deletion_from_start_to_end(ref, proposer, approver,
                                          data.draw(st.sampled_from(PEOPLE), label="runner"))
        for desk in self.desks.values():
            desk.release_claim(ref)
        shown = self.desks[proposer].get_case(ref)  # the page offers the way forward
        forward = [o for o in shown.steps if o.name == FORWARD.get(shown.status)]
        assert forward and forward[0].allowed, (shown.status, shown.steps)
        before = self.audit_count()
        self.desks[proposer].take_step(ref, StepRequest(forward[0].name))
        self.check_step_result(ref, before)
        SEEN["step taken"] += 1
        self.steps_as_the_window_offers_them(data, ref, 2)  # and on from there
        # An agent tries something only an administrator may do.
        self.restricted_setting("carol", data.draw(st.sampled_from(ADMIN_ONLY), label="what"))
        return ref

    @rule(target=cases, who=st.sampled_from(PEOPLE), person=st.integers(0, len(DEMO_PEOPLE) - 1),
          types=st.sampled_from(TYPE_SETS))
    def open_case(self, who: str, person: int, types: tuple[str, ...]) -> str:
        planted = DEMO_PEOPLE[person]
        address = planted.address
        requester = PartyData(
            name=f"{planted.first_name} {planted.last_name}", email=planted.email,
            phone=planted.phone, postal_code=address.postal_code, state=address.state,
            postal_address=f"{address.street}\n{address.city}, {address.state} "
                           f"{address.postal_code}")
        before = self.audit_count()
        case = self.desks[who].create_case(NewCase(
            channel="email", request_types=types, requester=requester,
            summary="Please act on my request.")).case
        assert case.status == WORKFLOW.initial
        assert self.audit_count() > before
        self.model[case.ref] = CaseModel(status=case.status)
        return case.ref

    @rule(data=st.data(), ref=cases, count=st.integers(1, 4))
    def steps_as_the_window_offers_them(self, data: st.DataObject, ref: str,
                                        count: int) -> None:
        """A few steps of the case page, each by someone drawn, mostly enabled ones."""
        for _ in range(count):
            self.step_as_the_window_offers_it(data, ref,
                                              data.draw(st.sampled_from(PEOPLE), label="who"))

    def step_as_the_window_offers_it(self, data: st.DataObject, ref: str, who: str) -> None:
        """A step of the case page, enabled or greyed, taken with the inputs it asks for."""
        shown = self.desks[who].get_case(ref)
        SEEN["window step"] += 1
        assert shown.status == self.model[ref].status
        if not shown.steps:  # a closed case: the page offers nothing, the desk takes nothing
            name = data.draw(st.sampled_from(sorted(WORKFLOW.transitions)), label="step")
            before = self.audit_count()
            with pytest.raises(TransitionRefused):
                self.desks[who].take_step(ref, StepRequest(
                    name, reason="Because", method="email_match", override=True,
                    other_case=next(iter(self.model))))
            self.refused_and_unchanged(ref, before, shown.status)
            SEEN["step refused"] += 1
            return
        offered = [o for o in shown.steps if o.allowed]
        forward = [o for o in offered if o.name == FORWARD.get(shown.status)]
        how = data.draw(st.integers(0, 5), label="which kind of step")
        choice = forward if forward and how >= 3 else offered if offered and how else \
            shown.steps
        option = data.draw(st.sampled_from(choice), label="step")
        may_override = self.roles[who] in ("supervisor", "admin")
        override = (option.overridable and may_override
                    and data.draw(st.booleans(), label="override"))
        method = ""
        if option.requires_method:
            method = ("agent_signed_permission" if shown.via_agent else "signed_form_post"
                      if shown.is_child else "email_match")
        other = ""
        if option.requires_case:
            others = sorted(r for r, m in self.model.items()
                            if r != ref and WORKFLOW.states[m.status].is_open
                            and m.status != "duplicate")
            if not others:
                SEEN["no case to name"] += 1
                return
            other = data.draw(st.sampled_from(others), label="duplicate of")
        reason = "Asked by the requester" if (option.requires_reason or override) else ""
        before = self.audit_count()
        status = shown.status
        blocked = self.claim_blocks(ref, who)
        request = StepRequest(option.name, reason=reason, method=method, other_case=other,
                              override=override, expected_version=shown.version)
        try:
            changed = self.desks[who].take_step(ref, request)
        except TransitionRefused as refused:
            self.refused_and_unchanged(ref, before, status)
            if isinstance(refused, ClaimHeld):  # someone else is working on it
                assert blocked, refused.message
                SEEN["claim held"] += 1
                return
            # Refused: the window greyed it (for this person), or the other case named
            # cannot take a duplicate (decided meanwhile, itself a duplicate).
            SEEN["step refused"] += 1
            assert not option.allowed or option.requires_case, (
                f"{option.name} was offered to {who} ({self.roles[who]}) and refused: "
                f"{refused.message}")
            return
        # Went through: the window offered it, or a supervisor overrode what it blocked.
        assert not blocked, f"{who} acted on a case someone else holds"
        assert option.allowed or (override and option.overridable), (
            f"{option.name} was greyed for {who} ({option.why_not}) and went through")
        assert changed.case.status == self.status_of(ref)
        SEEN["step overridden" if not option.allowed else "step taken"] += 1
        self.check_step_result(ref, before)
        if other:  # the duplicate's messages and types moved: the other case's state not
            assert self.status_of(other) == self.model[other].status

    @rule(ref=cases, who=st.sampled_from(PEOPLE))
    def move_to_work(self, ref: str, who: str) -> None:
        """Acknowledge and verify, so that records can be acted on."""
        for name in ("acknowledge", "start_verification", "verify"):
            if self.model[ref].status not in WORKFLOW.transitions[name].sources:
                continue
            before = self.audit_count()
            blocked = self.claim_blocks(ref, who)
            try:
                self.desks[who].take_step(ref, StepRequest(
                    name, method="email_match" if name == "verify" else ""))
            except ClaimHeld:
                assert blocked
                return
            assert not blocked
            self.check_step_result(ref, before)

    # --- record deletions --------------------------------------------------------------

    @rule(ref=cases, who=st.sampled_from(PEOPLE))
    def look_up_records(self, ref: str, who: str) -> None:
        if self.model[ref].status not in WORKFLOW.record_action_states:
            return
        blocked = self.claim_blocks(ref, who)
        try:
            found = self.desks[who].lookup(ref)
            for hit in found.hits:
                if hit.status == "proposed":
                    self.desks[who].decide_hit(ref, hit.id, hit.score >= 90)
        except ClaimHeld:
            assert blocked

    @rule(target=actions, ref=cases, who=st.sampled_from(PEOPLE))
    def propose_deletion(self, ref: str, who: str) -> object:
        from hypothesis.stateful import multiple

        before = self.audit_count()
        blocked = self.claim_blocks(ref, who)
        try:
            action = self.desks[who].propose_action(ref, "delete")
        except ClaimHeld:
            assert blocked
            return multiple()
        except UserError:
            assert self.audit_count() == before
            return multiple()
        assert action.status == "awaiting_approval" and action.needs_approval
        assert action.requested_by == who
        SEEN["deletion proposed"] += 1
        key = (ref, action.id)
        self.action_models[key] = ActionModel(ref, action.id, who)
        self.model[ref].actions.append(action.id)
        return key

    @rule(key=actions, who=st.sampled_from(PEOPLE))
    def approve(self, key: tuple[str, int], who: str) -> None:
        ref, action_id = key
        model = self.action_models[key]
        before = self.audit_count()
        blocked = self.claim_blocks(ref, who)
        try:
            view = self.desks[who].approve_action(ref, action_id)
        except ClaimHeld:
            assert blocked and who != model.proposer
            self.refused_and_unchanged(None, before, None)
            return
        except PermissionDenied:
            SEEN["four-eyes refusal"] += 1
            assert who == model.proposer  # only the four-eyes rule keeps anyone out
            self.refused_and_unchanged(None, before, None)
            return
        except TransitionRefused:
            current = self.alice.record_action(ref, action_id)
            assert (current.status != "awaiting_approval"
                    or self.model[ref].status not in WORKFLOW.record_action_states)
            self.refused_and_unchanged(None, before, None)
            return
        assert who != model.proposer, "the proposer approved their own deletion"
        assert view.approved_by == who
        model.approver = who
        SEEN["deletion approved"] += 1

    @rule(key=actions, who=st.sampled_from(PEOPLE))
    def run(self, key: tuple[str, int], who: str) -> None:
        ref, action_id = key
        model = self.action_models[key]
        status = self.alice.record_action(ref, action_id).status
        try:
            view = self.desks[who].execute_action(ref, action_id)
        except UserError:
            return
        assert model.approver is not None and model.approver != model.proposer, (
            f"action {action_id} ran ({status} → {view.status}) without a second person")
        assert view.status in RAN
        SEEN[f"deletion ran: {view.status}"] += 1

    @rule(key=actions, who=st.sampled_from(PEOPLE))
    def withdraw(self, key: tuple[str, int], who: str) -> None:
        ref, action_id = key
        current = self.alice.record_action(ref, action_id)
        try:
            self.desks[who].withdraw_action(ref, action_id, "Not wanted any more")
        except PermissionDenied:
            assert current.status == "incomplete" and self.roles[who] == "agent"
            return
        except TransitionRefused:
            return
        assert current.status in ("awaiting_approval", "approved", "incomplete")

    @rule(ref=cases, proposer=st.sampled_from(PEOPLE), approver=st.sampled_from(PEOPLE),
          runner=st.sampled_from(PEOPLE))
    def a_deletion_from_start_to_end(self, ref: str, proposer: str, approver: str,
                                     runner: str) -> None:
        """The whole way at once (random people at each turn), so deletions get run."""
        if "delete" not in self.alice.get_case(ref).request_types:
            return
        for desk in self.desks.values():  # nobody else has the case open now
            desk.release_claim(ref)
        self.move_to_work(ref, proposer)
        self.look_up_records(ref, proposer)
        key = self.propose_deletion(ref, proposer)
        if not isinstance(key, tuple):
            return
        self.approve(key, proposer)  # refused: four eyes
        self.desks[proposer].release_claim(ref)  # each closes the case after their turn
        self.approve(key, approver)
        self.desks[approver].release_claim(ref)
        self.run(key, runner)

    @rule(ref=cases, who=st.sampled_from(PEOPLE))
    def close_the_case_page(self, ref: str, who: str) -> None:
        """The window lets go of the claim when its case is closed."""
        claim = self.alice.claim_of(ref).claim
        result = self.desks[who].release_claim(ref)
        assert result.changed == (claim is not None and claim.holder == who)
        assert self.alice.claim_of(ref).claim is None or not result.changed

    @rule(ref=cases, who=st.sampled_from(PEOPLE))
    def take_over(self, ref: str, who: str) -> None:
        """The claim banner offers "Take over" to supervisors; the desk refuses agents."""
        before = self.audit_count()
        try:
            result = self.desks[who].take_over_claim(ref)
        except PermissionDenied:
            assert self.roles[who] == "agent"
            self.refused_and_unchanged(None, before, None)
            SEEN["restricted: refused"] += 1
            return
        assert self.roles[who] in ("supervisor", "admin")
        assert result.claim is not None and result.claim.holder == who

    # --- roles -------------------------------------------------------------------------

    @rule(by=st.sampled_from(PEOPLE), whom=st.sampled_from(PEOPLE),
          role=st.sampled_from(ROLES))
    def change_role(self, by: str, whom: str, role: str) -> None:
        admins = [name for name, r in self.roles.items() if r == "admin"]
        before = self.audit_count()
        try:
            self.desks[by].set_role(whom, role)
        except PermissionDenied:
            assert self.roles[by] != "admin"
            self.refused_and_unchanged(None, before, None)
            return
        except UserError:  # the last administrator cannot step down
            assert self.roles[by] == "admin" and whom == by and admins == [by]
            self.refused_and_unchanged(None, before, None)
            return
        assert self.roles[by] == "admin", f"{by} ({self.roles[by]}) changed a role"
        self.roles[whom] = role

    @rule(who=st.sampled_from(PEOPLE), what=st.sampled_from((*ADMIN_ONLY, "purge_preview")))
    def restricted_setting(self, who: str, what: str) -> None:
        """What the window keeps from a role is refused by the service as well."""
        desk = self.desks[who]
        role = self.roles[who]
        allowed = role == "admin" or (what == "purge_preview" and role == "supervisor")
        before = self.audit_count()
        try:
            if what == "legal_clock":
                clock = next(c for c in desk.legal_clocks() if c.configurable)
                desk.set_legal_clock(clock.jurisdiction, clock.request_type, clock.clock,
                                     clock.days)
            elif what == "organization":
                desk.save_letter_organization(desk.letter_organization())
            elif what == "logo":
                desk.set_letter_logo(None)
            elif what == "template":
                desk.revert_letter_template("acknowledgement", "en")
            elif what == "purge":
                desk.purge([])
            elif what == "purge_preview":
                desk.purge_preview()
            elif what == "salt":
                desk.export_suppression_salt()
            else:
                self.new_users += 1
                desk.add_user(f"temp{self.new_users}", "agent")
        except PermissionDenied:
            SEEN["restricted: refused"] += 1
            assert not allowed, f"{who} ({role}) was refused {what}"
            self.refused_and_unchanged(None, before, None)
            return
        assert allowed, f"{who} ({role}) did {what}, which the window keeps from them"

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def the_audit_chain_verifies(self) -> None:
        report = self.alice.verify_audit()
        assert report.ok, report.problem

    @invariant()
    def each_state_change_has_exactly_one_audit_event(self) -> None:
        with self.alice.db.engine.connect() as connection:
            statuses = dict(connection.execute(text("SELECT ref, status FROM cases")).all())
            events = connection.execute(text(
                "SELECT case_ref, detail FROM audit_events WHERE action = 'case.step' "
                "ORDER BY seq")).all()
            created = connection.execute(text(
                "SELECT case_ref, count(*) FROM audit_events WHERE action = 'case.created' "
                "GROUP BY case_ref")).all()
        assert set(statuses) == set(self.model)
        assert dict(created) == dict.fromkeys(self.model, 1)
        chains: dict[str, list[tuple[str, str]]] = {ref: [] for ref in statuses}
        for ref, detail in events:
            step = json.loads(detail)
            chains[ref].append((step["from"], step["to"]))
        for ref, status in statuses.items():
            chain = chains[ref]
            at = WORKFLOW.initial
            for source, target in chain:
                assert source == at, (ref, chain)
                at = target
            assert at == status == self.model[ref].status, (ref, chain, status)
            assert len(chain) == self.model[ref].steps, (ref, chain)

    @invariant()
    def no_deletion_ran_without_a_second_person(self) -> None:
        with self.alice.db.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT a.id, a.kind, a.status, a.requested_by, a.approved_by, "
                "(SELECT count(*) FROM record_action_runs r WHERE r.action_id = a.id) "
                "FROM record_actions a")).all()
            events = connection.execute(text(
                "SELECT action, actor, detail FROM audit_events WHERE action LIKE "
                "'records.action_%' ORDER BY seq")).all()
        for _id, kind, status, requested_by, approved_by, runs in rows:
            if kind == "delete" and (status in RAN or runs):
                assert approved_by and approved_by != requested_by, (_id, status)
        approved: dict[int, str] = {}
        proposed: dict[int, str] = {}
        for action, actor, detail in events:
            values = json.loads(detail)
            number = values.get("action")
            if action == "records.action_proposed" and number is not None:
                proposed[number] = actor
            elif action == "records.action_approved":
                assert actor != values["requested_by"]
                approved[number] = actor
            elif action == "records.action_executed" and values.get("kind", "delete") == \
                    "delete":
                assert number in approved, f"action {number} ran unapproved"
                if number in proposed:
                    assert approved[number] != proposed[number]


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSystems:
    """Demo customer systems small enough to copy and search in every example (the
    planted people, whose records the deletions find, are in it)."""
    return build_demo_systems(tmp_path_factory.mktemp("small-demo") / DEMO_DB_NAME,
                              customers=300)


def prepare(url: str, backups: Path) -> None:
    """A new case database with the staff of ``START``."""
    desk = Desk(url, "alice", clock=Clock(fixed=FIXED_NOW))
    try:
        desk.prepare(backups)
        for username, role in START.items():
            if username != "alice":
                desk.add_user(username, role)
    finally:
        desk.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def template_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[
        Callable[[], str]]:
    """A function that makes a fresh case database with the staff: on SQLite a new file
    (the desk may encrypt it with a key kept for its path, so no copying), on PostgreSQL
    a copy of one prepared database (CREATE DATABASE ... TEMPLATE)."""
    if request.param == "sqlite":
        def fresh_file() -> str:
            url = f"sqlite:///{tmp_path / f'cases-{uuid.uuid4().hex[:8]}.sqlite3'}"
            prepare(url, tmp_path / "backups")
            return url

        yield fresh_file
        return
    server: pg_server.PostgresServer = request.getfixturevalue("postgres_server")
    admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
    template_name = f"tpl_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{template_name}"'))
    prepare(server.url.rsplit("/", 1)[0] + f"/{template_name}", tmp_path / "backups")

    def fresh_database() -> str:
        new = f"t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{new}" TEMPLATE "{template_name}"'))
        return server.url.rsplit("/", 1)[0] + f"/{new}"

    yield fresh_database
    admin.dispose()


def test_people_of_every_role_working_cases_and_deletions_at_random(
        template_url: Callable[[], str], request: pytest.FixtureRequest, small_demo: DemoSystems,
        memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    world = World(template_url, small_demo, tmp_path)
    examples = EXAMPLES or (2 if "postgresql" in request.node.name else 5)
    SEEN.clear()
    run_state_machine_as_test(
        lambda: DeskAtWork(world),
        settings=settings(max_examples=examples, stateful_step_count=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.filter_too_much]))
    # The examples did get to the parts that matter.
    print(dict(SEEN))
    for what in ("step taken", "step refused", "deletion approved", "four-eyes refusal",
                 "restricted: refused"):
        assert SEEN[what], (what, SEEN)
    assert sum(n for what, n in SEEN.items() if what.startswith("deletion ran")), SEEN
