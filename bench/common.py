"""What the benchmarks share: percentiles, the figures of the summary table, the machine.

A benchmark module's ``run(...)`` returns a :class:`Section`: its markdown lines for
bench/RESULTS.md and the :class:`Figure` rows it contributes to the summary table at the
top (bench.run_all).
"""

from __future__ import annotations

import importlib
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# The case databases are encrypted (caseapp.db.cipher), their keys kept in a keyring. The
# benchmarks' databases are generated, so their keys are kept in a file beside them, by
# the tests' file keyring (tests/keyring_test_backend.py): never a desk's. Set before any
# keyring use; bench.run_all points it at --data; child processes inherit it.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "tests.keyring_test_backend.TestOnlyKeyring")
os.environ.setdefault("CASEAPP_TEST_KEYRING_FILE", "/tmp/caseapp-bench/keyring.json")


def use_keys_in(data: Path) -> None:
    """Keep the generated databases' keys in ``data``/keyring.json."""
    os.environ["CASEAPP_TEST_KEYRING_FILE"] = str(data / "keyring.json")


def open_cases(path: Path, *, read_only: bool = True, check_same_thread: bool = True) -> Any:
    """A DB-API connection to the (encrypted) case database at ``path``, keyed."""
    from caseapp.db import cipher

    return cipher.connect(path, cipher.read_key(path), read_only=read_only,
                          check_same_thread=check_same_thread)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (the value below which ``share`` of the values lie)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: list[float]) -> float:
    return percentile(values, 0.95)


def ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as took: ...`` then ``took[0]`` is the seconds it took."""
    took: list[float] = []
    started = time.perf_counter()
    try:
        yield took
    finally:
        took.append(time.perf_counter() - started)


def fmt_ms(value: float) -> str:
    if value != value:  # NaN
        return "–"
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms" if value < 100 else \
        f"{value:,.0f} ms"


def fmt_ratio(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return "–"
    return f"{value:.2f}×" if value < 10 else f"{value:.0f}×"


def ratio(mine: float, base: float) -> float:
    return mine / base if base > 0 else float("nan")


@dataclass(frozen=True)
class Figure:
    """One row of the summary table."""

    name: str
    value: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    passed: bool | None = None  # None: no target (informative)
    missed: str = ""  # which part of the target was missed

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "–"
        if self.passed:
            return "pass"
        return "**FAIL**" + (f" ({self.missed})" if self.missed else "")


@dataclass
class Section:
    """A benchmark's section of bench/RESULTS.md and its rows of the summary table."""

    title: str
    lines: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


def summary_table(figures: list[Figure]) -> list[str]:
    lines = ["| figure | value | baseline | ratio | target | result |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {f.name} | {f.value} | {f.baseline} | {f.ratio} | {f.target} | "
              f"{f.verdict} |" for f in figures]
    return lines


# --- the machine -----------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> str:
    try:
        found = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        if found:
            return f"{int(found.group(1)) / 1024 / 1024:.0f} GB"
    except OSError:
        pass
    return "?"


def _os_name() -> str:
    try:
        found = re.search(r'PRETTY_NAME="([^"]+)"', Path("/etc/os-release").read_text())
        if found:
            return f"{found.group(1)}, Linux {platform.release()}"
    except OSError:
        pass
    return platform.platform()


def load_average() -> str:
    try:
        one, five, _fifteen = os.getloadavg()
        return f"{one:.1f} / {five:.1f}"
    except OSError:
        return "?"


def machine_lines(postgres_version: str | None, load_at_start: str = "") -> list[str]:
    """The machine, as a markdown list."""
    try:
        import PySide6
        qt = PySide6.__version__
    except ImportError:  # pragma: no cover - the window benchmark needs it anyway
        qt = "?"
    try:
        import sqlalchemy
        sa = sqlalchemy.__version__
    except ImportError:  # pragma: no cover
        sa = "?"
    return [
        f"- Date: {datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} cores, shared with other work (load "
        f"average, 1 / 5 min: {load_at_start or '?'} at the start, {load_average()} at the "
        "end)",
        f"- RAM: {_ram_gb()}; OS: {_os_name()}",
        f"- Python {platform.python_version()}, {_sqlcipher_version()}, "
        f"PostgreSQL {postgres_version or 'not measured'}, SQLAlchemy {sa}, PySide6 {qt}",
        f"- Code: {_git_describe()}",
    ]


def _sqlcipher_version() -> str:
    """The case databases' engine: SQLCipher's own SQLite (not the stdlib's)."""
    try:
        import sqlcipher3

        connection = sqlcipher3.connect(":memory:")
        try:
            sqlite = connection.execute("SELECT sqlite_version()").fetchone()[0]
            cipher = connection.execute("PRAGMA cipher_version").fetchone()[0]
        finally:
            connection.close()
        return f"SQLCipher {cipher} (SQLite {sqlite})"
    except Exception:  # pragma: no cover - the benchmarks open encrypted databases
        return f"SQLite {sqlite3.sqlite_version}"


def _git_describe() -> str:
    try:
        root = Path(__file__).resolve().parent.parent
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                "caseapp", "ui", "resources"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"commit {head}" + (" with uncommitted changes in caseapp/ui/resources"
                                   if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def interleaved(calls: list[tuple[str, Callable[[], object]]], times: dict[str, list[float]]
                ) -> dict[str, object]:
    """Run each call once, in order, appending its milliseconds to ``times[name]``."""
    results: dict[str, object] = {}
    for name, call in calls:
        started = time.perf_counter()
        results[name] = call()
        times.setdefault(name, []).append(ms_since(started))
    return results


class Breakdown:
    """Where a call spends its time: wraps functions of the project (by module and name;
    ``module:Class`` for a method; one that no longer exists is left out) and adds up the
    milliseconds spent in each, from any thread, per label."""

    def __init__(self, parts: Sequence[tuple[str, str, str]]) -> None:
        self.parts = parts
        self.current: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> Breakdown:
        for label, where, attribute in self.parts:
            module_name, _, class_name = where.partition(":")
            owner: Any = importlib.import_module(module_name)
            if class_name:
                owner = getattr(owner, class_name, None)
            original = getattr(owner, attribute, None) if owner is not None else None
            if original is None:
                continue
            self._saved.append((owner, attribute, original))
            setattr(owner, attribute, self._wrap(label, original))
        return self

    def _wrap(self, label: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                took = (time.perf_counter() - started) * 1000
                with self._lock:
                    self.current[label] = self.current.get(label, 0.0) + took
                    self.calls[label] = self.calls.get(label, 0) + 1
        return timed

    def __exit__(self, *_exc: object) -> None:
        for owner, attribute, original in reversed(self._saved):
            setattr(owner, attribute, original)
        self._saved.clear()

    def take(self) -> dict[str, float]:
        with self._lock:
            taken, self.current = self.current, {}
            self.calls = {}
        return taken
