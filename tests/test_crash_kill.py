"""Nothing is lost when the program is killed (SIGKILL, ``kill -9``) at random points of a
long operation, and nothing is taken in, issued, printed or run twice once the same
operation is started again and left to finish.

Each operation runs in real processes of its own (the ``caseapp`` command, or the desk's
action runner), killed as a whole process group at points drawn from a seeded RNG
(``CASEAPP_CRASH_SEED``; ``CASEAPP_CRASH_KILLS`` kills per operation, 3 by default), then
run again to completion and compared with a run that was never killed:

- mail import (``caseapp import`` of a generated mbox of a few hundred messages: new
  requests, replies threading into them, bounces and byte-identical copies): the same
  cases, the same messages (Message-ID and SHA-256 of the bytes, disposition, case), the
  same audit events and the same search index;
- the acknowledgements batch (``caseapp print --acknowledgements-due``) on the private
  CUPS server: every due case gets one letter, printed once (one CUPS job per letter
  that prints, even when the kill came between CUPS taking the job and the desk
  recording it: the next run finds the job by its title), every print recorded once,
  and no print recorded that the server did not take;
- a deletion of customer records through the desk (tests/case_action_runner.py), killed
  several times, also while resuming (the single kill point of
  tests/test_records_case_actions_crash.py is kept there).

After every operation: ``PRAGMA integrity_check`` is ok (and the FTS5 index's own
integrity check), and ``caseapp audit verify`` passes. SQLite only: the case database a
killed workstation leaves behind is the SQLite file (PostgreSQL rolls back on the server).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from caseapp.clock import Clock

try:  # the embedded desk is encrypted (SQLCipher) when caseapp.db.cipher is there
    from caseapp.db import cipher
except ImportError:  # pragma: no cover - a tree from before encryption
    cipher = None  # type: ignore[assignment]
from caseapp.demo import open_planted_cases
from caseapp.errors import TransitionRefused
from caseapp.letters import printing as ipp
from caseapp.records.demo_systems import DEMO_DB_NAME, DemoSystems
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData, StepRequest
from tests.cups_server import CupsServer
from tests.mailmaker import bounce, mail, mbox
from tests.records_dump import diff, dump_sqlite, planned_cells
from tests.test_records_actions_crash import ARCHIVE, two_system_sources
from tests.test_records_case_actions_crash import file_keyring  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
SEED = int(os.environ.get("CASEAPP_CRASH_SEED", "20260305"))
KILLS = int(os.environ.get("CASEAPP_CRASH_KILLS", "3"))
MAILS = 300


# --- running and killing ---------------------------------------------------------------------


def caseapp(db: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "caseapp", "--db", db, "--user", "alice", *args]


def environment(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "CASEAPP_HOME": str(home), "PYTHONPATH": str(REPO),
            "OMP_THREAD_LIMIT": "1", **(extra or {})}


def run_killed(command: list[str], env: dict[str, str], *, stream: str, lines: int,
               delay: float, timeout: float = 120) -> tuple[bool, list[str]]:
    """Start ``command`` in a process group of its own and SIGKILL the whole group once
    it wrote ``lines`` lines on ``stream`` ("stdout" or "stderr") and ``delay`` seconds
    more went by (``lines`` 0: ``delay`` seconds after the start). Returns whether the
    kill landed before the command ended, and the lines read."""
    pipe = {"stdout": subprocess.PIPE if stream == "stdout" else subprocess.DEVNULL,
            "stderr": subprocess.PIPE if stream == "stderr" else subprocess.DEVNULL}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                               text=True, start_new_session=True, **pipe)  # type: ignore[call-overload]
    source = process.stdout if stream == "stdout" else process.stderr
    assert source is not None
    seen: list[str] = []
    try:
        if lines:
            for line in source:
                seen.append(line)
                if len(seen) >= lines:
                    break
        time.sleep(delay)
        killed = process.poll() is None
        if killed:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        source.close()
    if killed:
        assert process.returncode == -signal.SIGKILL
    return killed, seen


def run_to_end(command: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,),
               ) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode in ok, (result.returncode, result.stdout[-2000:],
                                     result.stderr[-2000:])
    return result


# --- what a database holds ---------------------------------------------------------------


def connect(path: Path, *, read_only: bool = True) -> sqlite3.Connection:
    """The case database file, opened with its key when it is encrypted."""
    if cipher is not None and cipher.file_kind(path) == "encrypted":
        return cipher.connect(path, cipher.read_key(path),  # type: ignore[no-any-return]
                              read_only=read_only)
    if read_only:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    return sqlite3.connect(path)


def copy_database(source: Path, target: Path) -> None:
    """A copy of a closed case database (its WAL too, and its key under the copy's
    name)."""
    shutil.copy(source, target)
    for suffix in ("-wal", "-shm"):
        sidecar = source.with_name(source.name + suffix)
        if sidecar.exists():
            shutil.copy(sidecar, target.with_name(target.name + suffix))
    key = cipher.read_key(source) if cipher is not None else None
    if key is not None:
        cipher.save_key(target, key)


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with connect(path) as connection:
        return sorted(connection.execute(sql).fetchall(), key=repr)


def check_sound(path: Path, home: Path, *, command: bool = False) -> None:
    """The file is sound, its full-text index too, and the audit chain verifies (with
    ``caseapp audit verify`` when ``command``, else through the desk: quicker)."""
    connection = connect(path, read_only=False)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        connection.execute("INSERT INTO search_fts(search_fts) VALUES('integrity-check')")
        connection.rollback()
    finally:
        connection.close()
    if command:
        verified = run_to_end(caseapp(f"sqlite:///{path}", "audit", "verify"),
                              environment(home))
        assert verified.stdout.startswith("Audit chain intact")
        return
    desk = Desk(f"sqlite:///{path}", "alice")
    try:
        report = desk.verify_audit()
        assert report.ok, report
    finally:
        desk.close()


def case_rows(path: Path) -> list[tuple[object, ...]]:
    return rows(path, """
        SELECT c.ref, c.status, c.channel, c.jurisdiction, c.received_on,
               (SELECT group_concat(request_type, ',') FROM
                   (SELECT request_type FROM case_request_types t WHERE t.case_id = c.id
                    ORDER BY request_type)),
               (SELECT email FROM parties p WHERE p.case_id = c.id AND p.role = 'requester')
        FROM cases c""")


def message_rows(path: Path) -> list[tuple[object, ...]]:
    return rows(path, """
        SELECT m.message_id, m.raw_sha256, m.disposition, c.ref, m.auto_kind
        FROM messages m LEFT JOIN cases c ON c.id = m.case_id""")


def audit_counts(path: Path, *, without: tuple[str, ...] = ()) -> Counter[tuple[object, ...]]:
    return Counter(row for row in rows(path, "SELECT action, case_ref FROM audit_events")
                   if row[0] not in without)


def index_rows(path: Path) -> list[tuple[object, ...]]:
    return rows(path, """SELECT c.ref, d.* FROM search_documents d
                         JOIN cases c ON c.id = d.rowid""")


# --- mail import -----------------------------------------------------------------------------


def generated_mailbox(rng: random.Random) -> bytes:
    """New requests, replies to earlier ones (threaded by In-Reply-To), bounces and
    byte-identical copies of earlier messages (duplicates)."""
    subjects = ("Please delete my data", "Unsubscribe me", "What data do you have on me?",
                "Correct my address", "Do not sell my information")
    messages: list[bytes] = []
    for n in range(MAILS):
        roll = rng.random()
        if n > 10 and roll < 0.15:
            k = rng.randrange(n)
            messages.append(mail(subject="Re: my request",
                                 sender=f"Person {k} <person{k}@example.com>",
                                 message_id=f"<reply{n}@example.com>",
                                 in_reply_to=f"<m{k}@example.com>",
                                 body=f"Any news on my request? (reply {n})\n"))
        elif n > 10 and roll < 0.20:
            messages.append(bounce(messages[rng.randrange(n)],
                                   message_id=f"<bounce{n}@mx.example.net>"))
        elif n > 10 and roll < 0.25:
            messages.append(messages[rng.randrange(n)])
        else:
            messages.append(mail(
                subject=rng.choice(subjects), sender=f"Person {n} <person{n}@example.com>",
                message_id=f"<m{n}@example.com>",
                body=f"Hello,\n\nI live in California, ZIP 9{n % 1000:04d}. Please act on my "
                     f"request, reference {n}.\n\nPerson {n}\n"))
    return mbox(*messages)


def init_dbs(tmp_path: Path) -> tuple[tuple[Path, Path], tuple[Path, Path]]:
    """Two new case databases, "clean" and "crashed" (the second a copy of the first, made
    by ``caseapp init``), each with a home folder: (path, home) twice."""
    made = []
    for name in ("clean", "crashed"):
        made.append((tmp_path / f"{name}.sqlite3", tmp_path / f"home-{name}"))
    run_to_end(caseapp(f"sqlite:///{made[0][0]}", "init"), environment(made[0][1]))
    copy_database(made[0][0], made[1][0])
    return made[0], made[1]


def test_an_import_killed_at_random_points_and_run_again_loses_and_doubles_nothing(
        tmp_path: Path) -> None:
    rng = random.Random(SEED)
    file = tmp_path / "privacy.mbox"
    file.write_bytes(generated_mailbox(rng))

    (clean, clean_home), (crashed, home) = init_dbs(tmp_path)
    started = time.perf_counter()
    done = run_to_end(caseapp(f"sqlite:///{clean}", "import", str(file)),
                      environment(clean_home))
    clean_seconds = time.perf_counter() - started
    assert len(done.stdout.splitlines()) == MAILS
    assert {"created case", "threaded into", "duplicate"} <= {
        word for line in done.stdout.splitlines()
        for word in ("created case", "threaded into", "duplicate", "not a request")
        if word in line}

    command = caseapp(f"sqlite:///{crashed}", "import", str(file))
    kills, cut_short = 0, 0
    # One kill at a random moment (start-up, the parser workers starting, the first
    # messages), the others after a random number of result lines (they come in bursts,
    # a batch at a time) and a random delay more, so they land inside a batch.
    # The first kill's moment is a share of the whole run's time, measured above: on a
    # fast machine a fixed delay would land after the end and leave nothing to cut.
    points = [(0, rng.uniform(0.2, 0.6) * clean_seconds)] + [
        (lines, rng.uniform(0, 0.05))
        for lines in sorted(rng.sample(range(1, MAILS * 2 // 3), KILLS - 1))]
    for lines, delay in points:
        killed, _seen = run_killed(command, environment(home), stream="stdout",
                                   lines=lines, delay=delay)
        kills += killed
        check_sound(crashed, home)
        taken_in = message_rows(crashed)
        assert set(taken_in) <= set(message_rows(clean))
        cut_short += len(taken_in) < len(message_rows(clean))
    assert kills >= KILLS - 1, "the kills came too late to cut an import short"
    assert cut_short >= 2, "the kills left no work undone"
    again = run_to_end(command, environment(home))
    assert len(again.stdout.splitlines()) == MAILS

    check_sound(crashed, home, command=True)
    assert case_rows(crashed) == case_rows(clean)
    assert message_rows(crashed) == message_rows(clean)
    ids = [row[0] for row in message_rows(crashed)]
    assert len(ids) == len(set(ids))  # no message twice
    assert rows(crashed, "SELECT sha256 FROM blobs") == rows(clean, "SELECT sha256 FROM blobs")
    assert audit_counts(crashed, without=("user.created",)) == \
        audit_counts(clean, without=("user.created",))
    assert index_rows(crashed) == index_rows(clean)


# --- the acknowledgements batch on CUPS ------------------------------------------------------

DUE_CASES = 10


def due_cases(path: Path) -> list[str]:
    """Cases received a month ago, none acknowledged: every acknowledgement is due."""
    desk = Desk(f"sqlite:///{path}", "alice")
    try:
        start = desk.clock.today() - timedelta(days=30)
        refs = []
        for n in range(DUE_CASES):
            requester = PartyData(name=f"Due Person{n}", email=f"due{n}@example.com",
                                  postal_address=f"{n + 1} Valencia Street\n"
                                                 "San Francisco, CA 94103",
                                  postal_code="94103", state="CA")
            refs.append(desk.create_case(NewCase(
                channel="email", request_types=("delete",), requester=requester,
                received_on=start + timedelta(days=n % 5), jurisdiction="CA",
                summary="Please delete my data.")).case.ref)
        return refs
    finally:
        desk.close()


def job_names(server: CupsServer, first: int, *, printing: bool = False) -> dict[int, str]:
    """The title (job-name) of every CUPS job numbered from ``first`` on; ``printing``:
    only those that print (not cancelled or aborted, like one whose ``lp`` was killed
    while it sent the document, which the next run cancels)."""
    names: dict[int, str] = {}
    number = first
    while True:
        request = (ipp.struct.pack(">BBHI", 2, 0, ipp._GET_JOB_ATTRIBUTES, 1)
                   + bytes([ipp._OPERATION_GROUP])
                   + ipp._attribute(ipp._CHARSET, "attributes-charset", "utf-8")
                   + ipp._attribute(ipp._LANGUAGE, "attributes-natural-language", "en")
                   + ipp._attribute(ipp._URI, "job-uri", f"ipp://localhost/jobs/{number}")
                   + ipp._attribute(ipp._NAME, "requesting-user-name", ipp._user())
                   + ipp._attribute(ipp._KEYWORD, "requested-attributes", "job-name",
                                    "job-state")
                   + bytes([ipp._END]))
        connection = ipp._connection(server.address, 10)
        try:
            connection.request("POST", "/jobs", body=request,
                               headers={"Content-Type": "application/ipp"})
            body = connection.getresponse().read()
        finally:
            connection.close()
        if ipp.struct.unpack(">H", body[2:4])[0] == ipp._NOT_FOUND:
            return names
        attributes = ipp._parse_attributes(body[8:])
        if not printing or attributes.get("job-state", [0])[0] not in (7, 8):
            names[number] = str(attributes.get("job-name", [""])[0])
        number += 1


def next_job_number(server: CupsServer) -> int:
    """The number the server gives its next job (jobs are kept: PreserveJobHistory)."""
    probe = ipp.Cups(server.address).submit(b"%PDF-1.4\n%%EOF\n", title="probe")
    return probe.number + 1


def printed_records(path: Path, action: str = "letter.printed") -> list[dict[str, object]]:
    with connect(path) as connection:
        return [json.loads(detail) for (detail,) in connection.execute(
            "SELECT detail FROM audit_events WHERE action = ? ORDER BY seq", (action,))]


def letter_rows(path: Path) -> list[tuple[object, ...]]:
    return rows(path, """SELECT c.ref, l.kind, l.delivery, l.serial FROM letters l
                         JOIN cases c ON c.id = l.case_id""")


def test_a_print_batch_killed_at_random_points_and_run_again_prints_each_letter_once(
        tmp_path: Path, cups: CupsServer) -> None:
    rng = random.Random(SEED + 1)
    batch = ("print", "--acknowledgements-due", "--server", cups.address)

    (clean, clean_home), (crashed, home) = init_dbs(tmp_path)
    due_cases(clean)
    started = time.perf_counter()
    run_to_end(caseapp(f"sqlite:///{clean}", *batch), environment(clean_home))
    clean_seconds = time.perf_counter() - started
    refs = due_cases(crashed)
    first_job = next_job_number(cups)
    command = caseapp(f"sqlite:///{crashed}", *batch)
    kills = 0
    points = [(0, rng.uniform(0.2, 0.6) * clean_seconds)] + [
        (lines, rng.uniform(0, 0.15))
        for lines in sorted(rng.sample(range(1, DUE_CASES - 2), KILLS - 1))]
    for lines, delay in points:
        # stderr: "[3/10] PR-…" as each case is started
        killed, _seen = run_killed(command, environment(home), stream="stderr",
                                   lines=lines, delay=delay)
        kills += killed
        check_sound(crashed, home)
        # Never a print recorded that the server did not take.
        jobs = job_names(cups, first_job)
        for record in printed_records(crashed):
            number = int(str(record["job"]).rsplit("-", 1)[1])
            assert jobs.get(number, "").startswith(str(record["serial"])), (record, jobs)
    assert kills >= KILLS - 1, "the kills came too late to cut the batch short"
    run_to_end(command, environment(home))

    check_sound(crashed, home, command=True)
    # One acknowledgement per case, as in the run never killed (same serials too).
    assert letter_rows(crashed) == letter_rows(clean)
    assert sorted(ref for ref, *_ in letter_rows(crashed)) == sorted(refs)
    records = printed_records(crashed)
    serials = [str(record["serial"]) for record in records]
    assert sorted(serials) == sorted(str(serial) for *_, serial in letter_rows(crashed))
    assert len(serials) == len(set(serials))  # each print recorded once
    jobs = job_names(cups, first_job)
    # Each record names the job sent under the title the print was started with.
    started_titles = {str(r["title"]) for r in printed_records(crashed, "letter.print_started")}
    for record in records:
        number = int(str(record["job"]).rsplit("-", 1)[1])
        assert jobs[number] == record["title"] and record["title"] in started_titles
    # Every letter went to the printer once: one job per letter prints, whether the kill
    # came before lp, while it sent the document (that job is cancelled), or after CUPS
    # took the job and before the desk recorded it (the job is found and recorded).
    sent = Counter(name.split()[0] for name in job_names(cups, first_job, printing=True).values())
    assert sent == Counter(serials)
    # The same events as the run never killed, but a start for each print cut short.
    without = ("user.created", "letter.print_started")
    assert audit_counts(crashed, without=without) == audit_counts(clean, without=without)
    # Nothing is due any more, and a new run prints nothing.
    quiet = run_to_end(command, environment(home))
    assert quiet.stdout.startswith("0 printed, 0 failed")
    assert len(job_names(cups, first_job)) == len(jobs)


# --- a deletion of customer records through the desk -----------------------------------------


@pytest.fixture
def approved_deletion(demo_built: DemoSystems, tmp_path: Path, file_keyring: dict[str, str],  # noqa: F811
                      ) -> Iterator[dict[str, object]]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for name in (DEMO_DB_NAME, ARCHIVE):
        shutil.copy(demo_built.path, data_dir / name)
    sources = two_system_sources(tmp_path)
    path = tmp_path / "cases.sqlite3"
    url = f"sqlite:///{path}"
    clock = Clock()
    alice = Desk(url, "alice", clock=clock)
    alice.prepare(tmp_path / "backups")
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
        bob.approve_action(ref, action.id)
        yield {"alice": alice, "bob": bob, "ref": ref, "action": action, "path": path,
               "url": url, "sources": sources, "data_dir": data_dir, "home": tmp_path / "h",
               "env": file_keyring}
    finally:
        bob.close()
        alice.close()


def test_a_deletion_killed_again_and_again_even_while_resuming_is_done_once(
        approved_deletion: dict[str, object], tmp_path: Path) -> None:
    rng = random.Random(SEED + 2)
    d = approved_deletion
    alice, bob, ref, action = d["alice"], d["bob"], str(d["ref"]), d["action"]
    assert isinstance(alice, Desk) and isinstance(bob, Desk)
    data_dir, path, home = Path(str(d["data_dir"])), Path(str(d["path"])), Path(str(d["home"]))
    before = {name: dump_sqlite(data_dir / name) for name in (DEMO_DB_NAME, ARCHIVE)}
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"db_url": d["url"], "user": "bob", "sources": str(d["sources"]),
                               "data_dir": str(data_dir), "ref": ref,
                               "action_id": action.id, "chunk": 1, "pause": 0.02}),  # type: ignore[attr-defined]
                   encoding="utf-8")
    command = [sys.executable, "-m", "tests.case_action_runner", str(job)]
    env = environment(home, d["env"])  # type: ignore[arg-type]
    total = action.rows_planned  # type: ignore[attr-defined]
    kills = 0
    # The first kill at a random moment (start-up, claiming the action), the others after
    # a random number of rows, in the first or the second system, or while a resumed run
    # skips what the killed one did.
    points = [(0, rng.uniform(0.2, 1.2))] + [(rng.randint(1, max(2, total // 2)),
                                              rng.uniform(0, 0.02)) for _ in range(KILLS)]
    for lines, delay in points:
        killed, _seen = run_killed(command, env, stream="stdout", lines=lines, delay=delay)
        kills += killed
        check_sound(path, home)
        for name in (DEMO_DB_NAME, ARCHIVE):
            with sqlite3.connect(data_dir / name) as connection:
                assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        if not killed:
            break
    assert kills >= 2, "the kills came too late to cut the run short"

    done = bob.execute_action(ref, action.id)  # type: ignore[attr-defined]
    assert done.status == "verified", done.problems
    assert done.rows_changed == total
    files = {"customer_db": DEMO_DB_NAME, "archive_db": ARCHIVE}
    for source, name in files.items():
        plan = action.plan  # type: ignore[attr-defined]
        only = type(plan)(request=plan.request, prepared_at=plan.prepared_at,
                          sources=tuple(s for s in plan.sources if s.source == source))
        assert diff(before[name], dump_sqlite(data_dir / name)) == planned_cells(only)
    history = [e.action for e in alice.get_case(ref).history]
    assert history.count("records.action_executed") == 1
    check_sound(path, home, command=True)
    with pytest.raises(TransitionRefused, match=r"ran in every system|verified"):
        bob.execute_action(ref, action.id)  # type: ignore[attr-defined]
