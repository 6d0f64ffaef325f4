"""A private PostgreSQL server for the test run: initdb + pg_ctl on 127.0.0.1.

If CASEAPP_TEST_POSTGRES_URL is set (e.g. by .ci/test), that server is used instead.
Nothing is mocked: when no server can be had, the PostgreSQL tests fail with the reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_port


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


@dataclass
class PostgresServer:
    url: str
    data_dir: Path | None = None
    bin_dir: Path | None = None
    run_as: str | None = None

    def stop(self) -> None:
        if self.data_dir is None or self.bin_dir is None:
            return
        _run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate",
              "stop"], self.run_as, check=False)
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def _run(args: list[str], user: str | None, check: bool = True) -> None:
    if user:
        args = ["runuser", "-u", user, "--", *args]
    subprocess.run(args, check=check, capture_output=True, text=True, timeout=120)


def start() -> PostgresServer:
    external = os.environ.get("CASEAPP_TEST_POSTGRES_URL")
    if external:
        return PostgresServer(url=external)
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise RuntimeError(
            "PostgreSQL is not installed (no pg_ctl). Run the README's test command, which "
            "installs it, or set CASEAPP_TEST_POSTGRES_URL."
        )
    run_as = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    base = Path(tempfile.mkdtemp(prefix="caseapp-pg-"))
    data_dir = base / "data"
    if run_as:
        shutil.chown(base, user=run_as)
    port = free_port()
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "caseapp", "-A", "trust",
              "-E", "UTF8", "--no-sync"], run_as)
        options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={base} " \
                  "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        _run([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-o", options, "-w", "-l",
              str(base / "log"), "start"], run_as)
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"Could not start PostgreSQL: {error.stderr or error.stdout}") from error
    return PostgresServer(
        url=f"postgresql+psycopg://caseapp@127.0.0.1:{port}/postgres",
        data_dir=data_dir,
        bin_dir=bin_dir,
        run_as=run_as,
    )
