"""Other workstations hear of changes: NOTIFY on PostgreSQL, polling on SQLite."""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from pathlib import Path

import pytest

from caseapp.clock import Clock
from caseapp.db.notify import MAX_PAYLOAD, parse_payload, payloads
from caseapp.services import Desk
from caseapp.services.changes import CaseChanges, ChangeWatch
from caseapp.services.dto import NewCase, PartyData, StepRequest
from tests import pg_server
from tests.conftest import _fresh_postgres_database, make_desk


def new_case(desk: Desk, name: str = "Ana Ruiz") -> str:
    return desk.create_case(NewCase(channel="phone", request_types=("delete",),
                                    requester=PartyData(name=name, state="CA"))).case.ref


def wait_for(heard: queue.Queue[CaseChanges], ref: str, within: float) -> float:
    """Seconds until a change of ``ref`` was heard; fails after ``within``."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        try:
            changes = heard.get(timeout=0.05)
        except queue.Empty:
            continue
        if ref in changes.refs:
            return time.monotonic() - start
    raise AssertionError(f"no change of {ref} heard within {within} s")


@pytest.mark.postgres
def test_a_change_at_one_workstation_reaches_another_within_a_second(
        postgres_server: pg_server.PostgresServer, clock: Clock, tmp_path: Path) -> None:
    url = _fresh_postgres_database(postgres_server.url)
    first = make_desk(url, "alice", clock, tmp_path / "b")
    first.add_user("bob", "agent")
    second = Desk(url, "bob", clock=clock)  # another workstation: its own engine
    heard: queue.Queue[CaseChanges] = queue.Queue()
    watch = second.watch_changes(heard.put)
    try:
        assert watch.listening.wait(5)
        ref = new_case(first)  # a new case
        assert wait_for(heard, ref, 2.0) < 2.0
        first.take_step(ref, StepRequest("acknowledge"))  # a change to it
        assert wait_for(heard, ref, 2.0) < 2.0
        first.claim_case(ref)  # a claim is a change others must see
        assert wait_for(heard, ref, 2.0) < 2.0
        # A change rolled back is never announced.
        with pytest.raises(Exception, match="Held by alice"):
            second.take_step(ref, StepRequest("start_verification"))
        time.sleep(1.0)
        assert all(ref not in c.refs for c in iter_queue(heard))
    finally:
        second.close()
        first.close()
    assert not watch.running


def iter_queue(heard: queue.Queue[CaseChanges]) -> list[CaseChanges]:
    items = []
    while True:
        try:
            items.append(heard.get_nowait())
        except queue.Empty:
            return items


def _write_elsewhere(url: str, done: multiprocessing.synchronize.Event) -> None:
    desk = Desk(url, "bob", clock=Clock())
    try:
        new_case(desk, "Written by another process")
    finally:
        desk.close()
        done.set()


def test_the_sqlite_poll_sees_another_process_write(sqlite_url: str, clock: Clock,
                                                    tmp_path: Path) -> None:
    desk = make_desk(sqlite_url, "alice", clock, tmp_path / "b")
    desk.add_user("bob", "agent")
    heard: queue.Queue[CaseChanges] = queue.Queue()
    watch = desk.watch_changes(heard.put, poll_seconds=0.2)
    try:
        assert watch.listening.wait(5)
        context = multiprocessing.get_context("spawn")
        done = context.Event()
        process = context.Process(target=_write_elsewhere, args=(sqlite_url, done))
        process.start()
        process.join(60)
        assert process.exitcode == 0 and done.is_set()
        seen = wait_for(heard, "PR-2026-00001", 3.0)
        assert seen < 3.0
        # Nothing new: nothing more is reported.
        time.sleep(0.6)
        assert iter_queue(heard) == []
    finally:
        desk.close()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql",
                                                             marks=pytest.mark.postgres)])
def test_a_change_made_before_the_watcher_looked_is_still_heard(
        backend: str, request: pytest.FixtureRequest, clock: Clock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A window starts the watch, then loads its list: a case made after the watch started
    is heard even if the watcher's thread (busy machine) listens or looks only later."""
    if backend == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        server: pg_server.PostgresServer = request.getfixturevalue("postgres_server")
        url = _fresh_postgres_database(server.url)
    desk = make_desk(url, "alice", clock, tmp_path / "b")
    gate = threading.Event()
    name = "_poll_sqlite" if backend == "sqlite" else "_listen"
    start = getattr(ChangeWatch, name)

    def late(self: ChangeWatch) -> None:
        assert gate.wait(10)
        start(self)

    monkeypatch.setattr(ChangeWatch, name, late)
    heard: queue.Queue[CaseChanges] = queue.Queue()
    watch = desk.watch_changes(heard.put, poll_seconds=0.2)
    try:
        ref = new_case(desk)  # committed before the thread took its first look
        gate.set()
        assert watch.listening.wait(5)
        assert wait_for(heard, ref, 3.0) < 3.0
        time.sleep(0.6)  # reported once, not again at the next look
        assert all(ref not in c.refs for c in iter_queue(heard))
    finally:
        desk.close()


def test_payloads_stay_under_the_limit_and_read_back() -> None:
    ids = set(range(1, 5000))
    chunks = payloads(ids)
    assert len(chunks) > 1 and all(len(c.encode()) < MAX_PAYLOAD for c in chunks)
    assert set().union(*(parse_payload(c) for c in chunks)) == ids
