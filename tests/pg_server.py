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


TLS_HOST = "127.0.0.2"
"""The TLS server's address: on this machine, yet no loopback name caseapp knows (its
LOOPBACK), so the desk treats it as a server on another machine: verify-full TLS."""


@dataclass
class TlsPostgresServer:
    server: PostgresServer
    port: int
    password: str
    ca_file: Path

    def url(self, host: str = TLS_HOST, **query: str) -> str:
        """The desk's address of the server (no password: that is in the keyring)."""
        params = "&".join(f"{key}={value}" for key, value in query.items())
        return (f"postgresql+psycopg://caseapp@{host}:{self.port}/postgres"
                + (f"?{params}" if params else ""))


def start_tls(password: str) -> TlsPostgresServer:
    """A private server that takes only TLS connections with a password (scram), on
    127.0.0.1 and TLS_HOST, its certificate signed by a CA made for the run and naming
    TLS_HOST only."""
    from tests.certificates import make_certificates

    bin_dir = _bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (no pg_ctl): run the README's test "
                           "command, which installs it.")
    run_as = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="caseapp-pgtls-"))
    data_dir = base / "data"
    ca_file = make_certificates(base / "tls", names=(f"IP:{TLS_HOST}",))
    if run_as:
        for path in (base, base / "tls", *(base / "tls").iterdir()):
            shutil.chown(path, user=run_as)
    (base / "tls" / "server.key").chmod(0o600)
    port = free_port()
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "caseapp", "-A", "trust",
              "-E", "UTF8", "--no-sync"], run_as)
        # Only TLS with a password over the network; the socket (setting the password).
        (data_dir / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all all 127.0.0.0/8 scram-sha-256\n"
            "hostnossl all all 0.0.0.0/0 reject\n")
        options = (f"-c listen_addresses=127.0.0.1,{TLS_HOST} -p {port} "
                   f"-c unix_socket_directories={base} -c fsync=off "
                   f"-c ssl=on -c ssl_cert_file={base}/tls/server.crt "
                   f"-c ssl_key_file={base}/tls/server.key")
        _run([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-o", options, "-w", "-l",
              str(base / "log"), "start"], run_as)
        _run([str(bin_dir / "psql"), "-h", str(base), "-p", str(port), "-U", "caseapp",
              "-d", "postgres", "-c", f"ALTER USER caseapp PASSWORD '{password}'"], run_as)
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"Could not start PostgreSQL with TLS: "
                           f"{error.stderr or error.stdout}") from error
    server = PostgresServer(url="", data_dir=data_dir, bin_dir=bin_dir, run_as=run_as)
    return TlsPostgresServer(server, port, password, ca_file)
