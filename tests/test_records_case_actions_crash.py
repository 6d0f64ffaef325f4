"""A deletion run through the desk, killed midway (SIGKILL, in a process of its own) and
run again: the case records it once, verified, and every row that was not a target of
the approved preview is untouched, in both customer systems. Also the command line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import keyring.core
import pytest

from caseapp.cli import main
from caseapp.clock import Clock
from caseapp.demo import open_planted_cases
from caseapp.errors import TransitionRefused
from caseapp.records.action_model import ActionPlan
from caseapp.records.demo_systems import DEMO_DB_NAME, DemoSystems
from caseapp.services import Desk
from caseapp.services.dto import StepRequest
from tests import keyring_test_backend
from tests.conftest import make_desk
from tests.records_dump import diff, dump_sqlite, planned_cells
from tests.test_records_actions_crash import ARCHIVE, two_system_sources

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """One keyring file for this process and the runner it starts (the desk's salt)."""
    env = {"PYTHON_KEYRING_BACKEND": "tests.keyring_test_backend.TestOnlyKeyring",
           keyring_test_backend.FILE_VARIABLE: str(tmp_path / "keyring.json")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring_test_backend.TestOnlyKeyring())
    return env


def source_plan(plan: ActionPlan, source: str) -> ActionPlan:
    return ActionPlan(request=plan.request, prepared_at=plan.prepared_at,
                      sources=tuple(s for s in plan.sources if s.source == source))


def test_a_deletion_killed_midway_through_the_desk_and_run_again_is_recorded_once(
        demo_built: DemoSystems, tmp_path: Path, clock: Clock,
        file_keyring: dict[str, str]) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for name in (DEMO_DB_NAME, ARCHIVE):  # two systems holding the same people
        shutil.copy(demo_built.path, data_dir / name)
    sources = two_system_sources(tmp_path)
    url = f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    alice = make_desk(url, "alice", clock, tmp_path / "backups")
    alice.add_user("bob", "supervisor", "Bob")
    bob = alice.as_user("bob")
    try:
        for person in (alice, bob):
            person.use_sources(sources, data_dir, secret=lambda _n: None)
        ref = open_planted_cases(alice)[0]
        alice.take_step(ref, StepRequest(step="start_verification"))
        alice.take_step(ref, StepRequest(step="verify", method="email_match"))
        for hit in alice.lookup(ref).hits:
            alice.decide_hit(ref, hit.id, hit.score >= 90)
        action = alice.propose_action(ref, "delete")
        assert {s.source for s in action.plan.sources} == {"customer_db", "archive_db"}
        bob.approve_action(ref, action.id)
        before = {name: dump_sqlite(data_dir / name) for name in (DEMO_DB_NAME, ARCHIVE)}

        first = action.plan.sources[0].source
        second = "archive_db" if first == "customer_db" else "customer_db"
        job = tmp_path / "job.json"
        job.write_text(json.dumps({"db_url": url, "user": "bob", "sources": str(sources),
                                   "data_dir": str(data_dir), "ref": ref,
                                   "action_id": action.id, "chunk": 1, "pause": 0.05}),
                       encoding="utf-8")
        process = subprocess.Popen([sys.executable, "-m", "tests.case_action_runner",
                                    str(job)], cwd=REPO, stdout=subprocess.PIPE, text=True,
                                   env={**os.environ, **file_keyring, "PYTHONPATH": str(REPO)})
        assert process.stdout is not None
        for line in process.stdout:
            if line.split()[0] == second:  # the first system is done, the second under way
                process.send_signal(signal.SIGKILL)
                break
        process.wait(timeout=60)
        process.stdout.close()
        assert process.returncode == -signal.SIGKILL

        files = {"customer_db": DEMO_DB_NAME, "archive_db": ARCHIVE}
        # The first system committed whole, the second rolled back whole; the case knows
        # nothing yet: the action is still ready to run.
        assert diff(before[files[first]], dump_sqlite(data_dir / files[first])) \
            == planned_cells(source_plan(action.plan, first))
        assert dump_sqlite(data_dir / files[second]) == before[files[second]]
        interrupted = alice.record_action(ref, action.id)
        assert interrupted.status == "running" and interrupted.runs == ()
        # Someone else waits for the run to come back or go stale; its runner goes on.
        with pytest.raises(TransitionRefused, match="being carried out by bob"):
            alice.execute_action(ref, action.id)

        done = bob.execute_action(ref, action.id)
        assert done.status == "verified", done.problems
        assert {r.source: r.state for r in done.runs} == {first: "already_done",
                                                          second: "done"}
        # The rows the killed run deleted count too (from the approved plan), and the
        # recipients are told about both systems.
        assert done.rows_changed == action.rows_planned
        notices = bob.notices(ref)
        assert notices and all(set(n.systems) == {"Customer database", "Customer archive"}
                               for n in notices)
        for source, name in files.items():
            assert diff(before[name], dump_sqlite(data_dir / name)) \
                == planned_cells(source_plan(action.plan, source))
        assert alice.verify_audit().ok
        executed = [e for e in alice.get_case(ref).history
                    if e.action == "records.action_executed"]
        assert len(executed) == 1
    finally:
        bob.close()
        alice.close()


def test_the_command_line_takes_a_deletion_from_proposal_to_verified(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        file_keyring: dict[str, str]) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"

    def run(user: str, *args: str) -> tuple[int, str, str]:
        code = main(["--db", db, "--user", user, *args])
        out, err = capsys.readouterr()
        return code, out, err

    assert run("alice", "init", "--demo", "--cases", "3", "--customers", "300")[0] == 0
    assert run("alice", "users", "add", "bob", "--role", "supervisor")[0] == 0
    desk = Desk(db, "alice")
    try:
        ref = open_planted_cases(desk)[0]
    finally:
        desk.close()
    assert run("alice", "action", "propose", ref, "delete")[2].count("identity") == 1
    run("alice", "cases", "step", ref, "start_verification")
    run("alice", "cases", "step", ref, "verify", "--method", "email_match")
    shown = json.loads(run("alice", "lookup", ref, "--json")[1])
    for hit in shown["hits"]:
        if hit["score"] >= 90:
            assert run("alice", "lookup", ref, "--confirm", str(hit["id"]))[0] == 0
    code, out, _ = run("alice", "action", "propose", ref, "delete")
    assert code == 0 and "Awaiting approval" in out and "KEPT" in out
    assert f"caseapp action approve {ref} 1" in out
    code, _, err = run("alice", "action", "approve", ref, "1")
    assert code == 2 and "someone else must approve" in err
    assert run("bob", "action", "approve", ref, "1")[0] == 0
    code, out, _ = run("alice", "action", "run", ref, "1", "--json")
    result = json.loads(out)
    assert code == 0 and result["status"] == "verified" and result["approved_by"] == "bob"
    assert result["verification"]["sources"][0]["state"] == "verified"
    notices = json.loads(run("alice", "notice", "list", ref, "--json")[1])
    assert notices and all(n["status"] == "open" for n in notices)
    assert run("alice", "notice", "sent", ref, str(notices[0]["id"]), "--how", "email")[0] == 0
    code, out, _ = run("alice", "notice", "ack", ref, str(notices[0]["id"]))
    assert code == 0 and "Acknowledged" in out
    code, _, err = run("alice", "notice", "not-notified", ref, str(notices[1]["id"]))
    assert code == 2 and "why" in err
    code, out, _ = run("alice", "suppression", "check", "--email", "Jose.Nunez@example.com")
    assert code == 4 and ref in out
    code, out, _ = run("alice", "suppression", "check", "--phone", "+1 202 555 0000")
    assert code == 0 and "Not on the suppression list" in out
