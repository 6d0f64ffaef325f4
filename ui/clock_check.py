"""At start on a shared desk: is this workstation's clock right? Who holds a case is
decided by the workstations' clocks (a claim's lease), so one minutes off the server's
gets a warning once, with what to do (caseapp.services.database_admin.clock_warning)."""

from __future__ import annotations

from collections.abc import Callable

from caseapp.services import Desk
from caseapp.services.database_admin import clock_warning
from ui.errors import Report
from ui.tasks import Task, TaskRunner


def check_clock(desk: Desk, runner: TaskRunner, present: Callable[[Report], None]) -> Task:
    """Compare the clocks in the background; a skew is presented as a warning. A server
    that does not answer is left to the window's own messages (nothing shown here)."""

    def done(offset: float | None) -> None:
        warning = clock_warning(offset)
        if warning:
            present(Report("warning", "This workstation's clock", warning))

    return runner.run(lambda _progress: desk.clock_offset(), label="Comparing clocks",
                      on_done=done, on_error=lambda _error: None)
