"""Printing letters on a real CUPS server (a private cupsd with a cups-pdf queue,
tests/cups_server.py): the PDF that comes out of the queue is read back with pdftotext.
A print killed at each moment that matters (tests/print_runner.py, SIGKILL) is printed
once by the next run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from caseapp.cli import main
from caseapp.db.models import AuditEvent
from caseapp.errors import EnvironmentProblem, InvalidInput, NotFound
from caseapp.letters.printing import (
    Cups,
    PrinterNotFound,
    PrintingUnavailable,
    PrintRefused,
)
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData, StepRequest
from caseapp.services.letters import LetterRequest
from tests import cups_server
from tests.cups_server import CupsServer

ACK = LetterRequest("acknowledgement", delivery="post")
REPO = Path(__file__).resolve().parent.parent
TODAY = date(2026, 3, 4)  # conftest.FIXED_NOW
LONG_AGO = date(2026, 2, 2)  # acknowledgements of cases received then are overdue


def _case(desk: Desk, name: str, *, received_on: date | None = LONG_AGO,
          address: str = "88 Valencia Street, Apt 4\nSan Francisco, CA 94103") -> str:
    requester = PartyData(name=name, email=f"{name.split()[0].lower()}@example.com",
                          postal_address=address, postal_code="94103" if address else "",
                          state="CA" if address else "")
    return desk.create_case(NewCase(channel="email", request_types=("delete",),
                                    requester=requester, received_on=received_on,
                                    jurisdiction="CA",
                                    summary="Please delete my data.")).case.ref


def _pdf_text(path: Path) -> str:
    result = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                            text=True, check=True, timeout=60)
    return result.stdout


def _events(desk: Desk, ref: str, action: str) -> list[dict[str, object]]:
    with desk.ctx.read() as session:
        rows = session.scalars(select(AuditEvent.detail).where(
            AuditEvent.case_ref == ref, AuditEvent.action == action)
            .order_by(AuditEvent.seq))
        return [json.loads(row) for row in rows]


def _printed_events(desk: Desk, ref: str) -> list[dict[str, object]]:
    return _events(desk, ref, "letter.printed")


def _killed_print(desk: Desk, cups: CupsServer, tmp_path: Path, ref: str, serial: str,
                  kill: str) -> str:
    """Print the letter in a process of its own, killed with SIGKILL at ``kill``
    (tests/print_runner.py); what it wrote on stdout."""
    job = tmp_path / f"print-{kill}.json"
    job.write_text(json.dumps({"db_url": desk.db.url, "user": "alice",
                               "server": cups.address, "ref": ref, "serial": serial,
                               "now": desk.clock.now().isoformat(), "kill": kill}),
                   encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "tests.print_runner", str(job)], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stderr[-3000:])
    return result.stdout


@pytest.fixture
def printing_desk(desk: Desk, cups: CupsServer) -> Desk:
    """The ``desk`` fixture (both backends) printing on the private cupsd."""
    desk.use_print_server(cups.address)
    return desk


def test_the_pdf_queue_is_listed_as_the_default_printer(printing_desk: Desk,
                                                        cups: CupsServer) -> None:
    printers = printing_desk.printers()
    assert [p.name for p in printers] == [cups.printer]
    assert printers[0].is_default and printers[0].accepting
    assert printers[0].state in ("idle", "printing")
    assert Cups(cups.address).default_printer() == cups.printer


def test_a_printed_letter_comes_out_of_the_queue_and_is_audited(
        printing_desk: Desk, cups: CupsServer) -> None:
    desk = printing_desk
    # An ASCII name: cups-pdf turns the job into PostScript and back (Ghostscript), which
    # prints "ë" and "Å" right but drops their Unicode mapping, so pdftotext loses them.
    ref = _case(desk, "Zachary Agren")
    letter = desk.issue_letter(ref, ACK)

    printed = desk.print_letter(ref, letter.serial, printer=cups.printer)

    assert printed.printer == cups.printer and printed.job_id.startswith(f"{cups.printer}-")
    status = desk.print_server().wait(printed.job_id, timeout=60)
    assert status.state == "completed", cups.log_tail()
    assert desk.print_job_status(printed.job_id).printed
    output = cups.wait_for_output(f"{letter.serial} {ref}")
    text = _pdf_text(output)
    assert ref in text
    assert letter.serial in text
    assert "Dear Zachary Agren," in text
    # Put on record before it was sent, under a job title of its own, then as printed.
    started = _events(desk, ref, "letter.print_started")
    title = str(started[0]["title"])
    assert title.startswith(f"{letter.serial} {ref} ")
    assert started == [{"letter": letter.letter_id, "serial": letter.serial,
                        "kind": "acknowledgement", "printer": cups.printer, "title": title,
                        "copies": 1}]
    assert _printed_events(desk, ref) == [{
        "letter": letter.letter_id, "serial": letter.serial, "kind": "acknowledgement",
        "printer": cups.printer, "job": printed.job_id, "copies": 1, "title": title}]
    assert [job.title for job in desk.print_server().jobs_titled(title)] == [title]
    assert "letter.printed" in [entry.action for entry in desk.get_case(ref).history]
    assert desk.verify_audit().ok


def test_the_default_printer_and_copies(printing_desk: Desk,
                                        cups: CupsServer) -> None:
    ref = _case(printing_desk, "Ana Ruiz")
    serial = printing_desk.issue_letter(ref, ACK).serial
    printed = printing_desk.print_letter(ref, serial, copies=2)
    assert printed.printer == cups.printer and printed.copies == 2
    assert printing_desk.print_server().wait(printed.job_id, timeout=60).printed
    assert _printed_events(printing_desk, ref)[0]["copies"] == 2


def test_acknowledgements_due(printing_desk: Desk) -> None:
    desk = printing_desk
    overdue = _case(desk, "Olive Overdue", received_on=date(2026, 1, 20))
    due = _case(desk, "Dan Due")
    today = _case(desk, "Tom Today", received_on=None)  # due in ten business days
    acknowledged = _case(desk, "Abe Acknowledged")
    desk.take_step(acknowledged, StepRequest(step="acknowledge"))
    withdrawn = _case(desk, "Wanda Withdrawn")
    desk.take_step(withdrawn, StepRequest(step="withdraw", reason="Asked us to stop."))
    mailed = _case(desk, "Mo Mailed")
    desk.record_mailing(mailed, desk.issue_letter(mailed, ACK).serial, method="first_class")
    unsent = _case(desk, "Una Unsent")
    unsent_serial = desk.issue_letter(unsent, ACK).serial

    found = desk.acknowledgements_due()
    assert [d.ref for d in found] == [overdue, due, unsent]
    assert found[0].requester == "Olive Overdue" and found[0].status == "received"
    assert found[0].acknowledge_by < found[1].acknowledge_by <= TODAY
    assert found[2].unsent_serial == unsent_serial and found[0].unsent_serial is None
    later = desk.acknowledgements_due(date(2026, 12, 31))
    assert [d.ref for d in later] == [overdue, due, unsent, today]


def test_batch_prints_every_due_acknowledgement_with_progress(
        printing_desk: Desk, cups: CupsServer) -> None:
    desk = printing_desk
    refs = [_case(desk, f"Batch Person{i}") for i in range(3)]
    homeless = _case(desk, "Hal Homeless", address="")  # no postal address: cannot mail
    reused = _case(desk, "Rita Reused")
    reused_serial = desk.issue_letter(reused, ACK).serial  # issued today, never printed
    seen: list[tuple[int, int, str]] = []

    result = desk.print_batch(progress=lambda *step: seen.append(step))

    due_order = [*refs, homeless, reused]
    assert seen == [(i, 5, ref) for i, ref in enumerate(due_order)] + [(5, 5, "")]
    assert sorted(p.ref for p in result.printed) == sorted([*refs, reused])
    assert [p.ref for p in result.failed] == [homeless]
    assert "no postal address" in result.failed[0].reason
    assert not result.stopped and not result.not_done and not result.skipped
    by_ref = {p.ref: p for p in result.printed}
    assert by_ref[reused].serial == reused_serial and not by_ref[reused].issued_now
    assert all(by_ref[ref].issued_now for ref in refs)
    for printed in result.printed:
        assert desk.print_server().wait(printed.job_id, timeout=60).printed
        text = _pdf_text(cups.wait_for_output(f"{printed.serial} {printed.ref}"))
        assert printed.ref in text and printed.serial in text
        assert len(_printed_events(desk, printed.ref)) == 1
    assert [len(desk.list_letters(ref)) for ref in (*refs, reused)] == [1, 1, 1, 1]

    # Run again: the printed ones are no longer due, the failed one fails again alone.
    again = desk.print_batch()
    assert not again.printed and [p.ref for p in again.failed] == [homeless]
    # Named explicitly, a case printed today is skipped, not printed twice.
    named = desk.print_batch([refs[0]])
    assert not named.printed and [s.ref for s in named.skipped] == [refs[0]]
    assert len(_printed_events(desk, refs[0])) == 1 and len(desk.list_letters(refs[0])) == 1


def test_a_stopped_batch_leaves_the_rest_for_the_next_run(printing_desk: Desk) -> None:
    desk = printing_desk
    refs = [_case(desk, f"Stop Person{i}") for i in range(4)]
    asked = 0

    def should_stop() -> bool:
        nonlocal asked
        asked += 1
        return asked > 2

    result = desk.print_batch(refs, should_stop=should_stop)
    assert result.stopped and [p.ref for p in result.printed] == refs[:2]
    assert result.not_done == tuple(refs[2:])
    assert [d.ref for d in desk.acknowledgements_due()] == refs[2:]
    assert [p.ref for p in desk.print_batch().printed] == refs[2:]


def test_an_unknown_printer_is_a_clear_error(printing_desk: Desk,
                                             cups: CupsServer) -> None:
    desk = printing_desk
    ref = _case(desk, "Pat Printer")
    serial = desk.issue_letter(ref, ACK).serial
    with pytest.raises(PrinterNotFound, match="no printer 'Basement_Laser'"):
        desk.print_letter(ref, serial, printer="Basement_Laser")
    with pytest.raises(PrinterNotFound, match="no printer 'Basement_Laser'"):
        desk.print_batch([ref], printer="Basement_Laser")
    assert issubclass(PrinterNotFound, NotFound)
    with pytest.raises(NotFound, match="has no letter L-2026-999999"):
        desk.print_letter(ref, "L-2026-999999")
    with pytest.raises(InvalidInput, match="Copies"):
        desk.print_letter(ref, serial, copies=0)
    assert _printed_events(desk, ref) == []


def test_a_stopped_server_is_a_clear_error(sqlite_desk: Desk) -> None:
    server = cups_server.start()
    server.stop()
    desk = sqlite_desk
    desk.use_print_server(server.address)
    ref = _case(desk, "Sam Stopped")
    serial = desk.issue_letter(ref, ACK).serial
    for attempt in (lambda: desk.print_letter(ref, serial), desk.printers,
                    lambda: desk.print_batch([ref]),
                    lambda: desk.print_job_status(f"{cups_server.PRINTER}-1")):
        with pytest.raises(PrintingUnavailable, match=f"{server.address}.*not running"):
            attempt()
    assert issubclass(PrintingUnavailable, EnvironmentProblem)
    assert _printed_events(desk, ref) == []
    assert [d.unsent_serial for d in desk.acknowledgements_due()] == [serial]


def test_a_printer_not_accepting_jobs_refuses_them(cups: CupsServer) -> None:
    client = Cups(cups.address)
    subprocess.run(["cupsreject", "-h", cups.address, cups.printer], check=True, timeout=30)
    try:
        with pytest.raises(PrintRefused, match="not accepting jobs"):
            client.submit(b"%PDF-1.4\n%%EOF\n", title="refused")
        assert not client.printers()[0].accepting
    finally:
        subprocess.run(["cupsaccept", "-h", cups.address, cups.printer], check=True,
                       timeout=30)


def test_command_line(cups: CupsServer, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    base = ["--db", db, "--user", "alice"]
    assert main([*base, "init"]) == 0
    desk = Desk(db, "alice")
    refs = [_case(desk, "Cli One"), _case(desk, "Cli Two")]
    desk.close()
    capsys.readouterr()

    assert main([*base, "printers", "--server", cups.address]) == 0
    assert f"* {cups.printer}" in capsys.readouterr().out

    assert main([*base, "print", "--acknowledgements-due", "--dry-run",
                 "--server", cups.address]) == 0
    out = capsys.readouterr().out
    assert "2 acknowledgements due" in out and all(ref in out for ref in refs)

    assert main([*base, "print", "--acknowledgements-due", "--server", cups.address]) == 0
    captured = capsys.readouterr()
    assert "2 printed, 0 failed" in captured.out
    assert f"[1/2] {refs[0]}" in captured.err and "[2/2] done" in captured.err

    serial = next(line.split()[1] for line in captured.out.splitlines()
                  if line.strip().startswith(refs[0]))
    assert main([*base, "print", refs[0], serial, "--printer", cups.printer,
                 "--copies", "2", "--server", cups.address]) == 0
    assert f"sent to {cups.printer}" in capsys.readouterr().out

    assert main([*base, "print", refs[0], serial, "--printer", "Nope",
                 "--server", cups.address]) == 2
    assert "no printer 'Nope'" in capsys.readouterr().err
    assert main([*base, "print", refs[0], "--server", cups.address]) == 2
    assert "REF SERIAL" in capsys.readouterr().err


@pytest.mark.parametrize("again", ["batch", "letter"])
def test_a_print_killed_after_cups_took_it_is_recorded_and_never_sent_twice(
        printing_desk: Desk, cups: CupsServer, tmp_path: Path, again: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """kill -9 between CUPS taking the job and the desk recording it: the next run (the
    batch, or printing that letter) finds the job by its title and records it."""
    desk = printing_desk
    client = Cups(cups.address)
    ref = _case(desk, f"Kai Killed{again.title()}")
    letter = desk.issue_letter(ref, ACK)
    serial = letter.serial
    before = {job.number for job in client.jobs()}

    taken = _killed_print(desk, cups, tmp_path, ref, serial, "after_lp").split()[1]
    [started] = _events(desk, ref, "letter.print_started")
    title = str(started["title"])
    assert _printed_events(desk, ref) == []  # the desk did not see the job: still due
    assert [d.unsent_serial for d in desk.acknowledgements_due()] == [serial]

    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    base = ["--db", desk.db.url, "--user", "alice", "print"]
    if again == "batch":
        assert main([*base, "--acknowledgements-due", "--server", cups.address]) == 0
        out = capsys.readouterr().out
        assert out.startswith("1 printed (1 before an interruption), 0 failed")
        assert (f"{ref}  {serial}  already printed before the interruption (CUPS job "
                f"{taken}): recorded now, not printed again") in out
    else:
        assert main([*base, ref, serial, "--server", cups.address]) == 0
        assert capsys.readouterr().out == (
            f"{ref} letter {serial}: already printed before the interruption (CUPS job "
            f"{taken}): recorded now, not printed again. Run the command again to print "
            "another copy.\n")

    # CUPS got the letter once; the desk has it printed once, with that job.
    new = [job for job in client.jobs() if job.number not in before]
    assert [(job.job_id, job.title) for job in new] == [(taken, title)]
    assert client.wait(taken, timeout=60).printed, cups.log_tail()
    assert _printed_events(desk, ref) == [{
        "letter": letter.letter_id, "serial": serial, "kind": "acknowledgement",
        "printer": cups.printer, "job": taken, "copies": 1, "title": title,
        "recovered": True}]
    assert len(_events(desk, ref, "letter.print_started")) == 1
    assert desk.acknowledgements_due() == ()
    assert desk.verify_audit().ok
    if again == "letter":  # asked again, it prints another copy: a new job
        assert main([*base, ref, serial, "--server", cups.address]) == 0
        assert f"sent to {cups.printer}" in capsys.readouterr().out
        assert len(_printed_events(desk, ref)) == 2
        assert len([job for job in client.jobs() if job.number not in before]) == 2


@pytest.mark.parametrize("kill", ["before_lp", "while_sending"])
def test_a_print_killed_before_cups_had_it_is_printed_once_by_the_next_batch(
        printing_desk: Desk, cups: CupsServer, tmp_path: Path, kill: str) -> None:
    """kill -9 after the print was put on record and before CUPS had the whole job (lp
    not run yet, or killed while sending): the next batch prints the letter, once."""
    desk = printing_desk
    client = Cups(cups.address)
    ref = _case(desk, "Noor Before" if kill == "before_lp" else "Noor Sending")
    serial = desk.issue_letter(ref, ACK).serial
    before = {job.number for job in client.jobs()}

    _killed_print(desk, cups, tmp_path, ref, serial, kill)
    killed_title = _events(desk, ref, "letter.print_started")[0]["title"]
    left = [job for job in client.jobs() if job.number not in before]
    if kill == "while_sending":  # a job whose document never came: it prints nothing
        assert [(job.title, job.incomplete, job.taken) for job in left] == [
            (killed_title, True, False)]
    else:
        assert left == []

    result = desk.print_batch()
    assert [(p.ref, p.serial, p.recovered) for p in result.printed] == [(ref, serial, False)]
    job_id = result.printed[0].job_id
    assert client.wait(job_id, timeout=60).printed, cups.log_tail()
    jobs = [job for job in client.jobs() if job.number not in before]
    assert [job.job_id for job in jobs if job.taken] == [job_id]
    assert [job.state for job in jobs if job.job_id != job_id] == (
        ["canceled"] if kill == "while_sending" else [])
    started = [str(e["title"]) for e in _events(desk, ref, "letter.print_started")]
    assert len(started) == 2 and started[0] == killed_title
    assert [(e["job"], e["title"]) for e in _printed_events(desk, ref)] == [
        (job_id, started[1])]
    assert not desk.print_batch().printed
    assert desk.verify_audit().ok
