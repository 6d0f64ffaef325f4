"""Four workstations (processes, each its own Desk and user) working the same cases at
once: 1,000 random edits, notes, claims, releases and workflow steps in total.

Nothing is lost (every counter increment that was accepted is in the final count, every
note accepted is there, each refused one was refused), no two people ever held a live
claim on one case at the same moment and nobody answered a case someone else held (both
replayed from the audit trail), and the audit chain verifies.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from caseapp.clock import Clock
from caseapp.db.models import AuditEvent
from caseapp.errors import StaleEdit, TransitionRefused
from caseapp.services import Desk
from caseapp.services.claims import (
    CLAIMED,
    CLAIMED_KEY,
    RELEASED,
    RELEASED_KEY,
    RENEWED,
    TAKEN_OVER,
)
from caseapp.services.dto import NewCase, PartyData, StepRequest
from tests.conftest import make_desk

WORKSTATIONS = 4
OPERATIONS = 1000
CASES = 6
LEASE = timedelta(milliseconds=300)  # short, so leases run out during the run
COUNTER = re.compile(r"^count=(\d+)$")


def _work(url: str, username: str, seed: int, operations: int, refs: list[str],
          results: Any, start: Any) -> None:
    desk = Desk(url, username, clock=Clock())
    desk.set_claim_lease(LEASE)
    rng = random.Random(seed)
    outcome: Counter[str] = Counter()
    increments: Counter[str] = Counter()
    notes: list[tuple[str, str]] = []
    steps: Counter[str] = Counter()
    start.wait(60)
    try:
        for number in range(operations):
            ref = rng.choice(refs)
            kind = rng.choice(("increment", "increment", "note", "claim", "release", "step"))
            try:
                if kind == "increment":  # read, then write on the version read
                    case = desk.get_case(ref)
                    match = COUNTER.match(case.summary)
                    count = int(match.group(1)) if match else 0
                    desk.update_case(ref, case.version, summary=f"count={count + 1}")
                    increments[ref] += 1
                elif kind == "note":
                    text = f"{username}-{number}"
                    desk.add_note(ref, text)
                    notes.append((ref, text))
                elif kind == "claim":
                    desk.claim_case(ref)
                elif kind == "release":
                    if not desk.release_claim(ref).changed:
                        outcome["release:not-held"] += 1
                        continue
                else:  # answering the case: needs the claim (taken by acting)
                    status = desk.get_case(ref).status
                    step = (StepRequest("resume") if status == "on_hold"
                            else StepRequest("hold", reason=f"{username} waits"))
                    desk.take_step(ref, step)
                    steps[ref] += 1
                outcome[f"{kind}:ok"] += 1
            except StaleEdit:
                outcome[f"{kind}:stale"] += 1
            except TransitionRefused as refused:  # ClaimHeld, or the state moved on
                outcome[f"{kind}:{type(refused).__name__}"] += 1
        results.put(json.dumps({"user": username, "outcome": outcome,
                                "increments": increments, "notes": notes,
                                "steps": steps}))
    except BaseException as error:
        results.put(json.dumps({"user": username, "error": repr(error)}))
    finally:
        desk.close()


def replay_claims(events: list[AuditEvent]) -> list[str]:
    """Walk each case's audit events in order: who held it when. Returns every moment a
    claim was taken while someone else's was live, or someone answered a case they did
    not hold."""
    problems: list[str] = []
    holder: dict[str, tuple[str, datetime] | None] = defaultdict(lambda: None)
    slack = timedelta(seconds=1)  # the event's time is taken a moment after the check
    for event in events:
        ref = event.case_ref or ""
        detail = json.loads(event.detail)
        current = holder[ref]
        claimed = (detail if event.action in (CLAIMED, RENEWED, TAKEN_OVER)
                   else detail.get(CLAIMED_KEY))
        if claimed is not None:
            if event.action == TAKEN_OVER:
                problems.append(f"{event.seq}: a take-over by {event.actor}")
            elif current is not None and current[0] != event.actor and current[1] >= event.at:
                problems.append(f"{event.seq}: {event.actor} claimed {ref} while "
                                f"{current[0]} held it until {current[1]}")
            if event.action == RENEWED and (current is None or current[0] != event.actor):
                problems.append(f"{event.seq}: {event.actor} renewed a claim not theirs")
            holder[ref] = (event.actor, datetime.fromisoformat(claimed["until"]))
        elif event.action == "case.step" and (
                current is None or current[0] != event.actor or current[1] < event.at - slack):
            problems.append(f"{event.seq}: {event.actor} answered {ref} held by "
                                f"{current}")
        if event.action == RELEASED and (current is None
                                         or current[0] != detail.get("holder")):
            problems.append(f"{event.seq}: released a claim that was not there")
        if event.action == RELEASED:
            holder[ref] = None
        if RELEASED_KEY in detail:
            holder[ref] = None
    return problems


def test_four_workstations_lose_nothing_and_never_share_a_case(
        database_url: str, tmp_path: Path) -> None:
    admin = make_desk(database_url, "admin", Clock(), tmp_path / "b")
    users = [f"ws{n}" for n in range(WORKSTATIONS)]
    for user in users:
        admin.add_user(user, "agent")
    refs = [admin.create_case(NewCase(
        channel="phone", request_types=("delete",),
        requester=PartyData(name=f"Person {n}", state="CA"))).case.ref for n in range(CASES)]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = context.Barrier(WORKSTATIONS)
    per = OPERATIONS // WORKSTATIONS
    processes = [context.Process(target=_work, args=(database_url, user, 1000 + n, per, refs,
                                                     results, start))
                 for n, user in enumerate(users)]
    try:
        for process in processes:
            process.start()
        reports = [json.loads(results.get(timeout=600)) for _ in processes]
        for process in processes:
            process.join(60)
        assert [r.get("error") for r in reports] == [None] * WORKSTATIONS
        outcome: Counter[str] = Counter()
        increments: Counter[str] = Counter()
        steps: Counter[str] = Counter()
        notes: dict[str, set[str]] = defaultdict(set)
        for report in reports:
            outcome.update(report["outcome"])
            increments.update(report["increments"])
            steps.update(report["steps"])
            for ref, text in report["notes"]:
                notes[ref].add(text)
        assert sum(outcome.values()) == OPERATIONS  # every one accepted or refused
        # Real contention happened: stale edits, claims refused, claims that lapsed.
        assert outcome["increment:stale"] > 0 and outcome["claim:ClaimHeld"] > 0
        assert outcome["increment:ok"] == sum(increments.values()) > 0
        for ref in refs:
            case = admin.get_case(ref)
            match = COUNTER.match(case.summary)
            # No lost update: the count is exactly the increments accepted.
            assert (int(match.group(1)) if match else 0) == increments[ref], ref
            written = {n.body for n in case.notes}
            assert written == notes[ref], ref
        with admin.ctx.read() as session:
            events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
            for event in events:
                session.expunge(event)
        step_events = Counter(e.case_ref for e in events if e.action == "case.step")
        assert step_events == +steps  # every accepted step is in the trail, no more
        assert any(CLAIMED_KEY in json.loads(e.detail) and "lapsed" in json.loads(e.detail)
                   [CLAIMED_KEY] for e in events) or any(
            e.action == CLAIMED and "lapsed" in json.loads(e.detail) for e in events)
        assert replay_claims(events) == []
        report = admin.verify_audit()
        assert report.ok, report.problem
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
        admin.close()
