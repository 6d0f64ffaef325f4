"""Prints one issued letter through the desk in a process of its own and kills itself
(SIGKILL) at a chosen moment of the print, for the tests that check a letter is printed
once however the program stops.

    python -m tests.print_runner JOB.json

JOB.json holds the case database URL, the user, the CUPS server, the case and the
letter, the desk's (fixed) time and where to die ("kill"):

- ``before_lp``: the print is on record as started, ``lp`` is not run;
- ``after_lp``: ``lp`` returned (the server took the job; "TAKEN <job id>" is printed)
  and the desk has not recorded it;
- ``while_sending``: ``lp`` was started with the print's title and sent half the PDF,
  and is killed with this process (the server holds a job whose document never came).

The keyring is the test-only file keyring named by the environment.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from caseapp.clock import Clock
from caseapp.letters.printing import Cups, PrintJob
from caseapp.services import Desk


def die() -> NoReturn:
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("not killed")


def send_half(cups: Cups, pdf: bytes, title: str) -> NoReturn:
    """Start ``lp`` as Cups.submit would, send half the document, then kill it (and die)
    once the server lists the job."""
    assert cups.server is not None
    lp = subprocess.Popen([shutil.which("lp") or "lp", "-h", cups.server, "-t", title, "-"],
                          stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    assert lp.stdin is not None
    lp.stdin.write(pdf[: len(pdf) // 2])
    lp.stdin.flush()
    deadline = time.monotonic() + 20
    while not cups.jobs_titled(title) and time.monotonic() < deadline:
        time.sleep(0.05)
    lp.kill()
    lp.wait()
    die()


def main(job_file: str) -> int:
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    point = job["kill"]
    submit = Cups.submit

    def killing_submit(self: Cups, pdf: bytes, *, title: str, printer: str | None = None,
                       copies: int = 1) -> PrintJob:
        if point == "before_lp":
            die()
        if point == "while_sending":
            send_half(self, pdf, title)
        taken = submit(self, pdf, title=title, printer=printer, copies=copies)
        print("TAKEN", taken.job_id, flush=True)
        die()

    Cups.submit = killing_submit  # type: ignore[method-assign]
    desk = Desk(job["db_url"], job["user"],
                clock=Clock(fixed=datetime.fromisoformat(job["now"])))
    desk.use_print_server(job["server"])
    desk.print_letter(job["ref"], job["serial"])
    return 1  # not reached: killed in the print


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
