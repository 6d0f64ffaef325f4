"""Worker processes that parse mail under a time and memory limit.

The parent never parses: it prescans, hands the bytes to a worker over a pipe, and waits
at most ``timeout_s``. Intake has the worker classify what it parsed too
(:meth:`MailParser.parse_classified`), so that time is not spent in the parent either.
A worker that overruns is killed and replaced; one that dies (crash, out-of-memory kill)
is replaced too. Either way the message comes back as :class:`MailRejected`, and the next
message gets a fresh worker. An import hands a worker several messages at once
(:meth:`MailParser.parse_classified_each`): the limits still hold per message.

Workers are started with the "forkserver" method where the platform has it (cheap
starts, safe in a multi-threaded GUI process) and "spawn" elsewhere; never plain fork.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import TYPE_CHECKING, Any

from caseapp.errors import ConfigError
from caseapp.intake.mailtypes import (
    DEFAULT_LIMITS,
    MailLimits,
    MailRejected,
    ParsedMail,
    ParserUnavailable,
)

if TYPE_CHECKING:
    from caseapp.intake.classify import Proposal

_MB = 1024 * 1024
WORKER_NICENESS = 10
"""How much lower the workers' scheduling priority is than the program's (os.nice)."""


def _limit_memory(memory_mb: int | None, held: int = 0) -> None:
    """Set the soft address-space limit to *memory_mb* (None: back to the hard limit),
    plus ``held`` bytes the process holds for later tasks (not this one's to use)."""
    if sys.platform == "win32":
        return
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = hard if memory_mb is None else memory_mb * _MB + held
    if hard != resource.RLIM_INFINITY and wanted != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


class _OutOfMemory(Exception):
    pass


def _handle(task: tuple[Any, ...], held: int = 0) -> tuple[str, Any]:
    """Run one task in the worker; returns ("ok", result) or ("rejected", reason).
    ``held``: bytes of the messages still waiting in this worker (see worker_main)."""
    kind = task[0]
    if kind == "parse":
        raw: bytes = task[1]
        limits: MailLimits = task[2]
        wants_proposal = len(task) > 3 and bool(task[3])
        from caseapp.intake.extract import build

        _limit_memory(limits.memory_mb, held)
        try:
            parsed = build(raw, limits)
            if not wants_proposal:
                return ("ok", parsed)
            from caseapp.intake.classify import classify

            return ("ok", (parsed, classify(parsed.subject, parsed.text, parsed.from_name,
                                            parsed.from_addr)))
        except ConfigError as exc:  # the classifier's rules cannot be read: not the mail's
            return ("unavailable", f"the classifier cannot work: {exc}")
        except MemoryError:
            raise _OutOfMemory(
                f"reading the message needs more than {limits.memory_mb} MB of memory"
            ) from None
        except MailRejected as exc:
            return ("rejected", exc.reason)
        except RecursionError:
            return ("rejected", "the message is nested too deeply to read")
        except Exception as exc:
            return ("rejected", f"the message could not be read ({type(exc).__name__})")
        finally:
            _limit_memory(None)
    if kind == "msg":
        data: bytes = task[1]
        msg_limits: MailLimits = task[2]
        from caseapp.intake.outlook import msg_to_mime

        _limit_memory(msg_limits.memory_mb)
        try:
            return ("ok", msg_to_mime(data))
        except MemoryError:
            raise _OutOfMemory(
                f"reading the Outlook file needs more than {msg_limits.memory_mb} MB of memory"
            ) from None
        except ValueError as exc:
            return ("rejected", str(exc))
        except RecursionError:
            return ("rejected", "the Outlook file is nested too deeply to read")
        except Exception as exc:
            return ("rejected", f"the Outlook file could not be read ({type(exc).__name__})")
        finally:
            _limit_memory(None)
    if kind == "sleep":  # for tests: a task that takes as long as asked
        time.sleep(float(task[1]))
        return ("ok", None)
    return ("rejected", f"unknown task {kind!r}")


def worker_main(conn: Connection) -> None:
    """The worker's loop: one task in, one answer out, until told to stop.

    After running out of memory the worker answers and exits (its heap may be in a poor
    state); the pool starts a fresh one.
    """
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    if hasattr(os, "nice"):
        # Background work: the window, and the thread storing what workers read, come
        # first. On an idle machine it changes nothing; during a large import the storing
        # thread keeps its core instead of sharing it with two parsers.
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)
    while True:
        try:
            task = conn.recv()
        except BaseException:
            return
        if task is None:
            return
        if task[0] != "each":
            if not _answer(conn, task):
                return
            continue
        # Several tasks at once: each answer is sent as soon as it is ready, so the worker
        # never waits for the parent between them. A task it has to stop on is answered
        # ("stopped", why): refused, and no more answers come; the parent hands the rest
        # to a fresh worker. The messages still waiting here are not the current one's
        # memory: its limit is raised by their size (one read is freed as it is done).
        pending = list(reversed(task[1]))
        del task
        while pending:
            one = pending.pop()
            held = sum(len(t[1]) for t in pending if len(t) > 1 and isinstance(t[1], bytes))
            if not _answer(conn, one, held, each=True):
                return


def _answer(conn: Connection, task: tuple[Any, ...], held: int = 0, *,
            each: bool = False) -> bool:
    """Run one task and send its answer; False when the worker must stop (in a batch
    of tasks, ``each``, the answer is then ("stopped", why))."""
    failed = "stopped" if each else "rejected"
    try:
        conn.send(_handle(task, held))
    except _OutOfMemory as exc:
        with contextlib.suppress(BaseException):
            conn.send((failed, str(exc)))
        return False
    except MemoryError:  # while sending a large result
        with contextlib.suppress(BaseException):
            conn.send((failed, "the parsed message is too large to hand over"))
        return False
    except BaseException as exc:
        if each:  # unanswered, the parent would hand this task to the next worker again
            with contextlib.suppress(BaseException):
                conn.send((failed, f"the message could not be read ({type(exc).__name__})"))
        return False
    return True


def _context(start_method: str | None) -> BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if start_method is None:
        start_method = "forkserver" if "forkserver" in methods else "spawn"
    if start_method == "fork":
        raise ValueError("workers are never started with plain fork (unsafe with threads)")
    context = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        # Preload only what the workers need, not the GUI program's __main__ (the
        # classifier with its rules compiled: a worker lives for max_tasks_per_child).
        context.set_forkserver_preload(["caseapp.intake.worker", "caseapp.intake.extract",
                                        "caseapp.intake.worker_preload"])
    return context


class _Worker:
    def __init__(self, context: BaseContext) -> None:
        parent_end, child_end = context.Pipe(duplex=True)
        self.conn: Connection = parent_end
        self.process: BaseProcess = context.Process(  # type: ignore[attr-defined]
            target=worker_main, args=(child_end,), name="caseapp-mail-worker", daemon=True
        )
        self.process.start()
        child_end.close()
        self.tasks = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self, *, wait: float = 1.0) -> None:
        """Ask the worker to finish; kill it if it does not."""
        with contextlib.suppress(Exception):
            self.conn.send(None)
        self.process.join(wait)
        self.kill()

    def kill(self) -> None:
        try:
            if self.process.is_alive():
                with contextlib.suppress(Exception):
                    self.process.kill()
            self.process.join(5)
        except ValueError:
            return  # closed already, by the pool shutting down on another thread
        with contextlib.suppress(Exception):
            self.conn.close()
        with contextlib.suppress(Exception):
            self.process.close()

    def describe_death(self) -> str:
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"


class MailParser:
    """A small pool of parser processes; use as a context manager, or call :meth:`close`.

    :meth:`parse` is thread-safe: up to ``workers`` messages are parsed at the same time.
    Each worker is replaced after ``max_tasks_per_child`` messages (memory fragmentation
    from hostile input does not accumulate), after a timeout, and after any crash.
    """

    def __init__(
        self,
        limits: MailLimits = DEFAULT_LIMITS,
        *,
        workers: int | None = None,
        max_tasks_per_child: int = 200,
        start_method: str | None = None,
    ) -> None:
        self.limits = limits
        self._size = max(1, workers if workers is not None else min(2, os.cpu_count() or 1))
        self._max_tasks = max(1, max_tasks_per_child)
        self._context = _context(start_method)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self._size)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False

    def __enter__(self) -> MailParser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- public --------------------------------------------------------------------

    def parse(self, raw: bytes, limits: MailLimits | None = None) -> ParsedMail:
        """Parse one message; raises only :class:`MailRejected`."""
        result = self._parse(raw, limits, classify=False)
        if not isinstance(result, ParsedMail):
            raise MailRejected("the parser gave no result")
        return result

    def parse_classified(self, raw: bytes, limits: MailLimits | None = None
                         ) -> tuple[ParsedMail, Proposal]:
        """Parse one message and classify it (:func:`caseapp.intake.classify.classify`
        of its subject, text and sender), both in the worker, under the same limits: the
        classifier's time is not spent in this process. Raises only :class:`MailRejected`."""
        from caseapp.intake.classify import Proposal

        result = self._parse(raw, limits, classify=True)
        if not (isinstance(result, tuple) and len(result) == 2
                and isinstance(result[0], ParsedMail) and isinstance(result[1], Proposal)):
            raise MailRejected("the parser gave no result")
        return result[0], result[1]

    def parse_classified_each(self, raws: Sequence[bytes], limits: MailLimits | None = None
                              ) -> Iterator[tuple[ParsedMail, Proposal] | MailRejected]:
        """:meth:`parse_classified` for several messages, handed to one worker at once.

        One answer per message, in order, each as soon as the worker has it: the parsed
        message and its proposal, or the :class:`MailRejected` saying why it cannot be
        read. The worker goes from one message to the next without waiting for this
        process, whose threads may be slow to answer while it is busy storing. A message
        that overruns the time limit or kills its worker is refused alone; the messages
        after it go to a fresh worker. Raises only :class:`ParserUnavailable`.
        """
        from caseapp.intake.classify import Proposal
        from caseapp.intake.prescan import prescan

        limits = limits or self.limits
        tasks: list[tuple[Any, ...] | MailRejected] = []
        for raw in raws:
            data = bytes(raw)
            try:
                prescan(data, limits)
            except MailRejected as exc:
                tasks.append(exc)
            else:
                tasks.append(("parse", data, limits, True))
        answers = self._run_each([t for t in tasks if isinstance(t, tuple)], limits.timeout_s)
        try:
            for task in tasks:
                if isinstance(task, MailRejected):
                    yield task
                    continue
                status, value = next(answers)
                if status == "rejected":
                    yield MailRejected(str(value))
                elif status == "unavailable":
                    raise ParserUnavailable(str(value))
                elif (isinstance(value, tuple) and len(value) == 2
                      and isinstance(value[0], ParsedMail) and isinstance(value[1], Proposal)):
                    yield value[0], value[1]
                else:
                    yield MailRejected("the parser gave no result")
            next(answers, None)  # lets the worker go back to the pool now
        finally:
            # Stopped early (closed, or ParserUnavailable, whose traceback would keep this
            # frame and so the worker and its slot): the worker is given up now.
            answers.close()

    def _parse(self, raw: bytes, limits: MailLimits | None, *, classify: bool) -> Any:
        from caseapp.intake.prescan import prescan

        limits = limits or self.limits
        raw = bytes(raw)
        prescan(raw, limits)
        return self._run(("parse", raw, limits, classify), limits.timeout_s)

    def convert_msg(self, data: bytes, limits: MailLimits | None = None) -> bytes:
        """An Outlook .msg file as MIME bytes; raises only :class:`MailRejected`."""
        limits = limits or self.limits
        if len(data) > limits.max_bytes:
            raise MailRejected(
                f"the Outlook file is larger than {limits.max_bytes // (1024 * 1024)} MB"
            )
        result = self._run(("msg", bytes(data), limits), limits.timeout_s)
        if not isinstance(result, bytes):
            raise MailRejected("the Outlook file gave no message")
        return result

    def worker_pids(self) -> list[int]:
        """Process ids of the running workers, idle or busy (for monitoring and tests)."""
        with self._lock:
            workers = [*self._idle, *self._busy]
        return [w.pid for w in workers if w.pid is not None and w.alive()]

    def busy_pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._busy if w.pid is not None]

    def close(self) -> None:
        """Stop all workers (busy ones are killed); later calls to parse are refused."""
        with self._lock:
            self._closed = True
            workers = [*self._idle, *self._busy]
            self._idle.clear()
        for worker in workers:
            worker.stop(wait=0.5)

    # -- internals -----------------------------------------------------------------

    def _run(self, task: tuple[Any, ...], timeout: float) -> Any:
        if not self._slots.acquire(timeout=max(timeout, 0.0) + 60):
            raise ParserUnavailable("the mail parser is too busy; try again")
        try:
            status, value = self._attempt(task, timeout)
        finally:
            self._slots.release()
        if status == "rejected":
            raise MailRejected(str(value))
        if status == "unavailable":
            raise ParserUnavailable(str(value))
        return value

    def _attempt(self, task: tuple[Any, ...], timeout: float) -> tuple[str, Any]:
        for attempt in (1, 2):
            worker = self._checkout()
            try:
                worker.conn.send(task)
            except (BrokenPipeError, EOFError, OSError) as exc:
                # It died while idle: the task never started, so a fresh worker may take it.
                self._discard(worker)
                if attempt == 2:
                    raise ParserUnavailable("the parser process could not be reached") from exc
                continue
            try:
                answer: tuple[str, Any] = self._receive(worker, timeout)
            except BaseException:
                self._discard(worker)
                raise
            self._checkin(worker)
            return answer
        raise AssertionError("unreachable")

    def _run_each(self, tasks: list[tuple[Any, ...]], timeout: float
                  ) -> Generator[tuple[str, Any], None, None]:
        """The answers to ``tasks``, run in order by one worker at a time (see
        :meth:`parse_classified_each`); a worker that dies or overruns answers for its
        task with ("rejected", why)."""
        if not tasks:
            return
        if not self._slots.acquire(timeout=max(timeout, 0.0) + 60):
            raise ParserUnavailable("the mail parser is too busy; try again")
        try:
            left, unreachable = tasks, 0
            while left:
                worker = self._checkout()
                try:
                    worker.conn.send(("each", left))
                except (BrokenPipeError, EOFError, OSError) as exc:
                    # It died while idle: nothing started, so a fresh worker may take them.
                    self._discard(worker)
                    unreachable += 1
                    if unreachable == 2:
                        raise ParserUnavailable(
                            "the parser process could not be reached") from exc
                    continue
                unreachable = done = 0
                held: _Worker | None = worker  # until all its answers are in
                try:
                    while done < len(left):
                        try:
                            answer: tuple[str, Any] = self._receive(worker, timeout)
                        except MailRejected as exc:  # it died or overran on this one
                            self._discard(worker)
                            held, answer = None, ("rejected", exc.reason)
                        else:
                            if answer[0] == "stopped":  # refused, and the worker exits
                                self._discard(worker)
                                held, answer = None, ("rejected", answer[1])
                        done += 1
                        if held is not None and done == len(left):
                            self._checkin(worker, done)
                            held = None
                        yield answer
                        if held is None and done < len(left):
                            break
                finally:
                    if held is not None:  # answers still to come: not for anyone now
                        self._discard(worker)
                left = left[done:]
        finally:
            self._slots.release()

    def _checkout(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise ParserUnavailable("the mail parser has been shut down")
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    self._busy.add(worker)
                    return worker
                worker.kill()
        try:
            worker = _Worker(self._context)
        except Exception as exc:
            raise ParserUnavailable(f"no parser process could be started ({exc})") from exc
        with self._lock:
            self._busy.add(worker)
        return worker

    def _checkin(self, worker: _Worker, tasks: int = 1) -> None:
        worker.tasks += tasks
        with self._lock:
            self._busy.discard(worker)
            keep = not self._closed and worker.tasks < self._max_tasks and worker.alive()
            if keep:
                self._idle.append(worker)
        if not keep:
            worker.stop()

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
        worker.kill()

    def _receive(self, worker: _Worker, timeout: float) -> Any:
        try:
            ready = worker.conn.poll(timeout)
        except (EOFError, OSError):
            ready = True  # recv below reports it
        if not ready:
            raise MailRejected(f"reading the message took longer than {timeout:g} s")
        try:
            return worker.conn.recv()
        except (EOFError, OSError) as exc:
            try:
                worker.process.join(1)
                death = worker.describe_death()
            except ValueError:  # closed meanwhile: the pool shut down on another thread
                raise ParserUnavailable("the mail parser stopped (shut down); try again") \
                    from exc
            if self._closed or worker.process.exitcode == 1:
                # Shut down by us (the window closing), or a worker that could not run at
                # all: the message is not to blame, so it must not go to quarantine.
                raise ParserUnavailable(
                    f"the mail parser stopped ({'shut down' if self._closed else death}); "
                    "try again") from exc
            raise MailRejected(
                f"the parser process stopped while reading the message ({death})"
            ) from exc
