"""Runs one approved action of a case through the desk, in a process of its own, for the
test that kills it midway.

    python -m tests.case_action_runner JOB.json

JOB.json holds the case database URL, the user, the sources file, the data folder, the
case and action, the rows per statement and a pause after each statement. Each
statement's progress is printed as "source table done total"; "STATUS <status>" at the
end. The keyring is the test-only file keyring named by the environment.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from caseapp.records import action_plan
from caseapp.records.action_model import ActionProgress
from caseapp.services import Desk


def main(job_file: str) -> int:
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    action_plan.CHUNK = int(job["chunk"])
    pause = float(job["pause"])

    def progress(step: ActionProgress) -> None:
        print(step.source, step.table, step.done, step.total, flush=True)
        time.sleep(pause)

    desk = Desk(job["db_url"], job["user"])
    try:
        desk.use_sources(Path(job["sources"]), Path(job["data_dir"]),
                         secret=lambda _name: None)
        view = desk.execute_action(job["ref"], int(job["action_id"]), progress=progress)
        print("STATUS", view.status, flush=True)
    finally:
        desk.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
