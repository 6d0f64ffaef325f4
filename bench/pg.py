"""A private PostgreSQL server for the benchmarks: initdb + pg_ctl in a folder of their own
(kept in --data, so the generated database is reused by the next run), on a free port of
127.0.0.1, stopped by its PID when the benchmark ends, whatever happens.

The distribution's own cluster is never touched. As root, the server runs as the
``postgres`` user (initdb refuses root).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SETTINGS = {
    # Durability off: the data is generated and can be generated again.
    "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
    # A server sized for a shared case database on a small machine.
    "shared_buffers": "512MB", "maintenance_work_mem": "512MB", "work_mem": "16MB",
    "effective_cache_size": "4GB", "max_wal_size": "4GB",
}


def bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our child that exited) counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    except OSError:
        return False


@dataclass
class Server:
    base: Path  # holds data/, the socket and the log
    port: int
    pid: int
    version: str

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://caseapp@127.0.0.1:{self.port}/bench"

    def stop(self) -> None:
        """Fast shutdown by the postmaster's PID (SIGINT), then SIGQUIT if it lingers."""
        if not _alive(self.pid):
            return
        os.kill(self.pid, signal.SIGINT)
        deadline = time.monotonic() + 60
        while _alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(self.pid):
            os.kill(self.pid, signal.SIGQUIT)
            deadline = time.monotonic() + 10
            while _alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.1)


def _run(args: list[str], user: str | None) -> subprocess.CompletedProcess[str]:
    if user:
        args = ["runuser", "-u", user, "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=300)


def start(base: Path) -> Server:
    """Start the server of ``base`` (initdb first if it has none); returns it running."""
    binaries = bin_dir()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (no pg_ctl): run bash .ci/setup.")
    run_as = "postgres" if os.geteuid() == 0 else None
    data = base / "data"
    base.mkdir(parents=True, exist_ok=True)
    if run_as:
        shutil.chown(base, user=run_as)
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(data, ignore_errors=True)
        _run([str(binaries / "initdb"), "-D", str(data), "-U", "caseapp", "-A", "trust",
              "-E", "UTF8", "--no-sync"], run_as)
    stale = data / "postmaster.pid"
    if stale.exists():
        pid = int(stale.read_text().split()[0])
        if _alive(pid):
            raise RuntimeError(f"A PostgreSQL server (PID {pid}) already runs on {data}; "
                               "another benchmark is using it.")
    port = free_port()
    options = " ".join([f"-c listen_addresses=127.0.0.1 -p {port}",
                        f"-c unix_socket_directories={base}",
                        *(f"-c {key}={value}" for key, value in SETTINGS.items())])
    try:
        _run([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-t", "120",
              "-l", str(base / "log"), "start"], run_as)
    except subprocess.CalledProcessError as error:
        tail = ""
        with contextlib.suppress(OSError):
            tail = (base / "log").read_text()[-2000:]
        raise RuntimeError(f"Could not start PostgreSQL: {error.stderr or error.stdout}\n"
                           f"{tail}") from error
    pid = int((data / "postmaster.pid").read_text().split()[0])
    version = _run([str(binaries / "postgres"), "--version"], None).stdout.strip()
    found = re.search(r"\(PostgreSQL\) (\S+)", version)
    server = Server(base, port, pid, found.group(1) if found else version or "?")
    atexit.register(server.stop)
    _ensure_database(server)
    return server


def _ensure_database(server: Server) -> None:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=server.port, user="caseapp",
                         dbname="postgres", autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = 'bench'"
                              ).fetchone() is None:
            connection.execute("CREATE DATABASE bench")


@contextlib.contextmanager
def running(base: Path) -> Iterator[Server]:
    """The server of ``base`` for the duration of the block; stopped by PID after it,
    on an error or on SIGTERM too."""
    server = start(base)
    previous = signal.getsignal(signal.SIGTERM)

    def terminate(_signum: int, _frame: object) -> None:
        raise SystemExit("terminated")

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield server
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
