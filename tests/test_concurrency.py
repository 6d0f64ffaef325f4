"""Two workstations entering cases at the same moment on one case database."""

from __future__ import annotations

import threading
from pathlib import Path

from caseapp.clock import Clock
from caseapp.services import Desk
from caseapp.services.dto import CaseQuery, NewCase, PartyData, StepRequest
from tests.conftest import make_desk

PER_WORKSTATION = 50


def enter_cases(desk: Desk, who: str, refs: list[str], errors: list[BaseException],
                start: threading.Barrier) -> None:
    try:
        start.wait(timeout=30)
        for number in range(PER_WORKSTATION):
            changed = desk.create_case(NewCase(
                channel="phone", request_types=("delete",),
                requester=PartyData(name=f"{who} caller {number}", state="CA")))
            refs.append(changed.case.ref)
            if number % 10 == 0:  # and some other work in between
                desk.take_step(changed.case.ref, StepRequest("acknowledge"))
                desk.add_note(changed.case.ref, f"Entered at {who}'s workstation")
    except BaseException as error:
        errors.append(error)


def test_two_workstations_entering_cases_at_once(database_url: str, clock: Clock,
                                                 tmp_path: Path) -> None:
    first = make_desk(database_url, "alice", clock, tmp_path / "b")
    first.add_user("bob", "agent")
    second = make_desk(database_url, "bob", clock, tmp_path / "b")
    refs: dict[str, list[str]] = {"alice": [], "bob": []}
    errors: list[BaseException] = []
    start = threading.Barrier(2)
    threads = [
        threading.Thread(target=enter_cases, args=(desk, who, refs[who], errors, start))
        for desk, who in ((first, "alice"), (second, "bob"))
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        assert errors == []
        everything = refs["alice"] + refs["bob"]
        assert len(everything) == 2 * PER_WORKSTATION
        assert len(set(everything)) == 2 * PER_WORKSTATION
        # References are handed out without gaps, in the order each workstation got them.
        assert sorted(everything) == [f"PR-2026-{n:05d}" for n in range(1, 101)]
        assert refs["alice"] == sorted(refs["alice"]) and refs["bob"] == sorted(refs["bob"])
        assert first.count_cases(CaseQuery(view="all")) == 2 * PER_WORKSTATION
        report = second.verify_audit()
        # 2 user events + 100 cases + 10 acknowledgements + 10 notes.
        assert report.ok and report.events == 2 + 100 + 10 + 10
        assert first.get_case(refs["bob"][-1]).created_by == "bob"
    finally:
        first.close()
        second.close()
