"""One way to run work off the GUI thread (cf. anki's ``aqt.operations``).

``runner.run(fn, label=..., on_done=...)`` runs ``fn(progress)`` in a QThreadPool. Its
result, or the exception it raised, comes back to the GUI thread through a queued
signal and is handed to ``on_done`` / ``on_error``. Without ``on_error`` the exception
goes to the runner's error handler (the window's ErrorPresenter), and an exception
raised by a callback goes there too: nothing is swallowed.

``progress`` is thread-safe: the function reports with ``progress.set(done, total,
text)`` and looks at ``progress.cancelled`` (or calls ``progress.check()``, which raises
TaskCancelled) when the task was started with ``cancellable=True``. TaskStatus shows the
running task in the status bar with a progress bar and a Cancel button.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QObject,
    QRunnable,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

ErrorHandler = Callable[[BaseException], object]


class TaskCancelled(Exception):
    """Raised inside a task that noticed it was cancelled; no result is delivered."""


class Progress:
    """What a running task reports; safe to use from the worker thread."""

    def __init__(self, notify: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0
        self._text = ""
        self._pending = False
        self._cancel = threading.Event()
        self._notify = notify

    def set(self, done: int, total: int = 0, text: str = "") -> None:
        with self._lock:
            self._done, self._total, self._text = done, total, text
            if self._pending:  # the GUI has not read the last value yet: no new signal
                return
            self._pending = True
        self._notify()

    def snapshot(self) -> tuple[int, int, str]:
        with self._lock:
            self._pending = False
            return self._done, self._total, self._text

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def check(self) -> None:
        """Raise TaskCancelled if the user pressed Cancel."""
        if self.cancelled:
            raise TaskCancelled()


@dataclass
class Task:
    id: int
    label: str
    cancellable: bool
    progress: Progress
    on_done: Callable[[Any], None]
    on_error: ErrorHandler | None
    on_cancelled: Callable[[], None] | None


class _Bridge(QObject):
    """Lives in the GUI thread; workers emit on it, so delivery is queued there."""

    finished = Signal(int, object, object)  # task id, result, exception (or None)
    progressed = Signal(int)


class _Job(QRunnable):
    def __init__(self, task_id: int, fn: Callable[[Progress], Any], progress: Progress,
                 bridge: _Bridge) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self._task_id = task_id
        self._fn = fn
        self._progress = progress
        self._bridge = bridge

    def run(self) -> None:
        try:
            result = self._fn(self._progress)
        except BaseException as error:  # delivered to the GUI thread, never lost
            self._bridge.finished.emit(self._task_id, None, error)
        else:
            self._bridge.finished.emit(self._task_id, result, None)


def _default_error_handler(error: BaseException) -> None:
    sys.excepthook(type(error), error, error.__traceback__)


class TaskRunner(QObject):
    task_started = Signal(int)
    task_progressed = Signal(int)
    task_finished = Signal(int)

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 4,
                 error_handler: ErrorHandler | None = None) -> None:
        super().__init__(parent)
        self.error_handler: ErrorHandler = error_handler or _default_error_handler
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._bridge = _Bridge(self)
        self._bridge.finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._bridge.progressed.connect(self.task_progressed, Qt.ConnectionType.QueuedConnection)
        self._tasks: dict[int, Task] = {}
        self._jobs: dict[int, _Job] = {}
        self._ids = itertools.count(1)
        self._closed = False

    def run(
        self,
        fn: Callable[[Progress], Any],
        *,
        label: str,
        on_done: Callable[[Any], None],
        on_error: ErrorHandler | None = None,
        cancellable: bool = False,
        on_cancelled: Callable[[], None] | None = None,
    ) -> Task:
        """Run ``fn(progress)`` in the pool; call ``on_done(result)`` in the GUI thread."""
        if self._closed:
            raise RuntimeError("The task runner was shut down.")
        task_id = next(self._ids)
        bridge = self._bridge
        progress = Progress(lambda: bridge.progressed.emit(task_id))
        task = Task(task_id, label, cancellable, progress, on_done, on_error, on_cancelled)
        job = _Job(task_id, fn, progress, bridge)
        self._tasks[task_id] = task
        self._jobs[task_id] = job
        self._pool.start(job)
        self.task_started.emit(task_id)
        return task

    def tasks(self) -> list[Task]:
        """Tasks started and not yet delivered, oldest first."""
        return list(self._tasks.values())

    def task(self, task_id: int) -> Task | None:
        return self._tasks.get(task_id)

    def is_idle(self) -> bool:
        return not self._tasks

    def cancel(self, task_id: int) -> None:
        task = self._tasks.get(task_id)
        if task is not None and task.cancellable:
            task.progress.cancel()
            self.task_progressed.emit(task_id)

    def report(self, error: BaseException) -> None:
        """Hand an exception to the error handler; if that fails too, to sys.excepthook."""
        try:
            self.error_handler(error)
        except Exception as handler_error:
            _default_error_handler(error)
            _default_error_handler(handler_error)

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        """Process events until every task (and what its callbacks started) was delivered."""
        deadline = time.monotonic() + timeout_ms / 1000
        while self._tasks:
            if time.monotonic() > deadline:
                return False
            self._pool.waitForDone(10)
            QCoreApplication.processEvents()
        return True

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Cancel what can be cancelled, wait for the pool; nothing more is delivered."""
        self._closed = True
        for task in self._tasks.values():
            task.progress.cancel()
        self._pool.waitForDone(timeout_ms)
        self._tasks.clear()
        self._jobs.clear()

    def _deliver(self, task_id: int, result: object, error: BaseException | None) -> None:
        task = self._tasks.pop(task_id, None)
        self._jobs.pop(task_id, None)
        if task is None:  # shut down meanwhile
            return
        self.task_finished.emit(task_id)
        try:
            if error is None:
                task.on_done(result)
            elif isinstance(error, TaskCancelled):
                if task.on_cancelled is not None:
                    task.on_cancelled()
            elif task.on_error is not None:
                task.on_error(error)
            else:
                self.report(error)
        except Exception as callback_error:
            self.report(callback_error)


class TaskStatus(QWidget):
    """Status-bar widget: the running task's label, a progress bar and Cancel.

    It appears only when a task has been running for ``show_delay_ms``, so quick
    queries do not make the status bar flicker.
    """

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None, *,
                 show_delay_ms: int = 300) -> None:
        super().__init__(parent)
        self._runner = runner
        self._current: int | None = None
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(160)
        self.bar.setMaximumHeight(16)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._show_timer = QTimer(self)
        self._show_timer.setSingleShot(True)
        self._show_timer.setInterval(show_delay_ms)
        self._show_timer.timeout.connect(self._show_if_busy)
        runner.task_started.connect(self._refresh)
        runner.task_progressed.connect(self._refresh)
        runner.task_finished.connect(self._refresh)
        self.hide()

    def _refresh(self, _task_id: int = 0) -> None:
        tasks = self._runner.tasks()
        if not tasks:
            self._current = None
            self._show_timer.stop()
            self.hide()
            return
        # The task worth showing: one the user can cancel, else the oldest.
        task = next((t for t in tasks if t.cancellable), tasks[0])
        self._current = task.id
        done, total, text = task.progress.snapshot()
        caption = task.label
        if text:
            caption += f": {text}"
        if task.progress.cancelled:
            caption += " (cancelling…)"
        if len(tasks) > 1:
            caption += f"  (+{len(tasks) - 1} more)"
        self.label.setText(caption)
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        else:
            self.bar.setRange(0, 0)  # busy indicator
        self.cancel_button.setVisible(task.cancellable)
        self.cancel_button.setEnabled(task.cancellable and not task.progress.cancelled)
        if self.isHidden() and not self._show_timer.isActive():
            self._show_timer.start()

    def _show_if_busy(self) -> None:
        if self._runner.tasks():
            self.show()

    def _cancel(self) -> None:
        if self._current is not None:
            self._runner.cancel(self._current)
