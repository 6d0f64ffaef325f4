"""The background-task API: results and errors come back on the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from ui.tasks import Progress, TaskRunner, TaskStatus


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    errors: list[BaseException] = []
    task_runner = TaskRunner(error_handler=errors.append)
    task_runner.errors = errors  # type: ignore[attr-defined]
    yield task_runner
    task_runner.shutdown()


def test_result_comes_back_on_the_gui_thread(runner: TaskRunner) -> None:
    seen: dict[str, object] = {}

    def work(_progress: Progress) -> int:
        seen["worker"] = threading.current_thread()
        return 42

    def done(result: int) -> None:
        seen["result"] = result
        seen["callback"] = threading.current_thread()

    runner.run(work, label="Answering", on_done=done)
    assert runner.wait_idle()
    assert seen["result"] == 42
    assert seen["callback"] is threading.main_thread()
    assert seen["worker"] is not threading.main_thread()
    assert runner.is_idle()


def test_errors_reach_the_handler_when_no_on_error(runner: TaskRunner) -> None:
    def fail(_progress: Progress) -> None:
        raise ValueError("broken")

    runner.run(fail, label="Failing", on_done=lambda _r: None)
    assert runner.wait_idle()
    assert [str(e) for e in runner.errors] == ["broken"]  # type: ignore[attr-defined]


def test_on_error_receives_the_exception(runner: TaskRunner) -> None:
    got: list[BaseException] = []

    def fail(_progress: Progress) -> None:
        raise KeyError("missing")

    runner.run(fail, label="Failing", on_done=lambda _r: None, on_error=got.append)
    assert runner.wait_idle()
    assert isinstance(got[0], KeyError)
    assert runner.errors == []  # type: ignore[attr-defined]


def test_an_exception_in_a_callback_is_not_swallowed(runner: TaskRunner) -> None:
    def done(_result: object) -> None:
        raise RuntimeError("callback bug")

    runner.run(lambda _p: 1, label="Fine", on_done=done)
    assert runner.wait_idle()
    assert [str(e) for e in runner.errors] == ["callback bug"]  # type: ignore[attr-defined]


def test_status_shows_progress_and_cancel_stops_the_task(qtbot: QtBot,
                                                         runner: TaskRunner) -> None:
    status = TaskStatus(runner, show_delay_ms=0)
    qtbot.addWidget(status)
    started = threading.Event()
    cancelled: list[bool] = []

    def slow(progress: Progress) -> str:
        step = 0
        while True:
            step += 1
            progress.set(min(step, 99), 100, f"item {min(step, 99)}")
            started.set()
            progress.check()
            threading.Event().wait(0.005)

    runner.run(slow, label="Importing mail", on_done=lambda _r: None, cancellable=True,
               on_cancelled=lambda: cancelled.append(True))
    assert started.wait(5)
    qtbot.waitUntil(lambda: status.isVisible() and status.bar.maximum() == 100)
    assert status.label.text().startswith("Importing mail: item")
    assert status.cancel_button.isVisible() and status.cancel_button.isEnabled()
    status.cancel_button.click()
    assert runner.wait_idle()
    assert cancelled == [True]
    assert not status.isVisible()


def test_wait_idle_times_out_while_a_task_blocks(runner: TaskRunner) -> None:
    release = threading.Event()
    results: list[str] = []
    runner.run(lambda _p: release.wait(10) and "done", label="Blocked",
               on_done=results.append)
    assert not runner.wait_idle(timeout_ms=100)
    release.set()
    assert runner.wait_idle()
    assert results == ["done"]


def test_a_task_that_is_not_cancellable_shows_no_cancel_button(qtbot: QtBot,
                                                               runner: TaskRunner) -> None:
    status = TaskStatus(runner, show_delay_ms=0)
    qtbot.addWidget(status)
    release = threading.Event()
    runner.run(lambda _p: release.wait(10), label="Saving", on_done=lambda _r: None)
    qtbot.waitUntil(lambda: not status.isHidden())
    assert status.label.text() == "Saving"
    assert status.cancel_button.isHidden()
    assert status.bar.maximum() == 0  # busy indicator: no total known
    release.set()
    assert runner.wait_idle()
    assert status.isHidden()
