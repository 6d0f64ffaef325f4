"""Runs one action in a process of its own, for the tests that kill it midway.

    python -m tests.action_runner JOB.json

JOB.json holds the sources file, the data folder, the request (ActionRequest JSON), the
rows per statement and a pause after each statement (so a test can kill the process
mid-transaction). Each statement's progress is printed as "source table done total".
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from caseapp.records import action_plan
from caseapp.records.action_model import ActionProgress, ActionRequest
from caseapp.records.actions import execute
from caseapp.records.sources import load_sources


def main(job_file: str) -> int:
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    action_plan.CHUNK = int(job["chunk"])
    pause = float(job["pause"])

    def progress(step: ActionProgress) -> None:
        print(step.source, step.table, step.done, step.total, flush=True)
        time.sleep(pause)

    result = execute(load_sources(Path(job["sources"])),
                     ActionRequest.from_json(job["request"]), Path(job["data_dir"]),
                     secret=lambda _name: None, progress=progress)
    print("RESULT", result.to_json(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
