"""Checking the privacy mailbox from the window: by hand (File → Check mail) or every
few minutes (``poll_minutes`` of the mailbox settings).

One fetch at a time: a tick of the timer while a fetch runs is skipped, and Check mail
during an automatic check shows that check's results when it ends. An automatic check is
quiet: what it took in and what went wrong go to the status bar (an error once, not at
every tick), never to a dialog.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from caseapp.config import MailSettings
from caseapp.errors import UserError
from caseapp.services import Desk
from caseapp.services.dto import IntakeResult
from ui.settings_store import SettingsStore
from ui.tasks import Progress, Task, TaskRunner


@dataclass(frozen=True)
class FetchOutcome:
    results: tuple[IntakeResult, ...]
    cancelled: bool
    quiet: bool

    @property
    def new_cases(self) -> int:
        return Counter(result.outcome for result in self.results)["created"]

    def status_text(self) -> str:
        """For the status bar after a check."""
        created = self.new_cases
        others = len(self.results) - created
        if not self.results:
            return "No new mail in the mailbox"
        text = (f"{created} new case{'s' if created != 1 else ''} from the mailbox" if created
                else f"{len(self.results)} new message{'s' if len(self.results) != 1 else ''} "
                     "from the mailbox, no new case")
        if created and others:
            text += f" (and {others} other message{'s' if others != 1 else ''})"
        return text


class MailChecker(QObject):
    checked = Signal(object)  # FetchOutcome, of every check that ended
    show_results = Signal(object)  # FetchOutcome, of a check someone asked for
    not_configured = Signal()  # Check mail without a mailbox: open the settings
    status = Signal(str, int)  # a status-bar message and how long (ms, 0 = until replaced)

    MINUTE_MS = 60_000

    def __init__(self, desk: Desk, runner: TaskRunner, store: SettingsStore | None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.runner = runner
        self.store = store
        self.task: Task | None = None
        self._wanted_results = False
        self._last_error = ""
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.poll)

    # --- settings ------------------------------------------------------------------------
    def set_store(self, store: SettingsStore) -> None:
        self.store = store
        self.apply_settings()

    def apply_settings(self) -> None:
        """Start, change or stop the automatic checks from the mailbox settings."""
        mail = self.store.mail if self.store is not None else MailSettings()
        if mail.configured and mail.poll_minutes > 0:
            self.timer.start(mail.poll_minutes * self.MINUTE_MS)
        else:
            self.timer.stop()
        self._last_error = ""

    @property
    def busy(self) -> bool:
        return self.task is not None

    # --- checking ------------------------------------------------------------------------
    def check_now(self) -> None:
        """File → Check mail: check and show the results."""
        if self.busy:
            self._wanted_results = True
            self.status.emit("The mailbox is being checked already; its results will show "
                             "when it is done", 5000)
            return
        if self.store is None or not self.store.mail.configured:
            self.not_configured.emit()
            return
        self._start(self.store.mail, quiet=False)

    def poll(self) -> None:
        """A tick of the timer: check quietly, unless a check is running or the desk
        takes no changes now (its database is being checked, or damaged): the next tick."""
        if self.busy or self.store is None or not self.store.mail.configured:
            return
        if self.desk.writes_held():
            return
        self._start(self.store.mail, quiet=True)

    def _start(self, mail: MailSettings, *, quiet: bool) -> None:
        desk = self.desk
        self._wanted_results = not quiet

        def fetch(progress: Progress) -> FetchOutcome:
            def counted(done: int, total: int) -> None:
                progress.set(done, total, f"{done} of {total} new messages" if total
                             else "no new messages")

            progress.set(0, 0, f"connecting to {mail.imap_host}")
            results = list(desk.fetch_mail(mail, cancel=lambda: progress.cancelled,
                                           progress=counted))
            return FetchOutcome(tuple(results), progress.cancelled, quiet)

        try:
            self.task = self.runner.run(fetch, label="Checking mail", on_done=self._done,
                                        on_error=self._failed, cancellable=True)
        except RuntimeError:  # the window is closing: its task runner was shut down
            self.timer.stop()

    def _done(self, outcome: FetchOutcome) -> None:
        self.task = None
        self._last_error = ""
        self.status.emit(outcome.status_text(), 0 if outcome.new_cases else 8000)
        self.checked.emit(outcome)
        if self._wanted_results:
            self._wanted_results = False
            self.show_results.emit(outcome)

    def _failed(self, error: BaseException) -> None:
        self.task = None
        wanted, self._wanted_results = self._wanted_results, False
        if wanted:
            self.runner.report(error)  # asked for: shown like any other error
            return
        message = error.message if isinstance(error, UserError) else repr(error)
        repeated = message == self._last_error
        self._last_error = message
        if repeated:  # said once already; the status bar still shows it
            return
        if isinstance(error, UserError):
            self.status.emit(f"Checking the mailbox failed: {message}", 0)
        else:
            self.runner.report(error)  # a bug is reported, once, even from a quiet check
